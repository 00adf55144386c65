//! TLS credentials handed to a rank in memory: anonymous files (memfd) the rank inherits and reads as `/proc/self/fd/N`, never a file on disk.

use crate::protocol::Credentials;
use std::ffi::OsString;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A rank's credentials as inheritable descriptors, and the variables that point the library at them.
pub struct SecretFds {
    fds: Vec<OwnedFd>,
    pub vars: Vec<(&'static str, OsString)>,
}

impl SecretFds {
    pub fn new(creds: &Credentials) -> io::Result<SecretFds> {
        let mut out = SecretFds { fds: Vec::new(), vars: Vec::new() };
        match creds {
            Credentials::Certs { ca, cert, key } => {
                out.add("PARTYLINE_TLS_CA", "partyline-ca", ca)?;
                out.add("PARTYLINE_TLS_CERT", "partyline-cert", cert)?;
                out.add("PARTYLINE_TLS_KEY", "partyline-key", key)?;
            }
            Credentials::PreShared(psk) => out.add("PARTYLINE_TLS_PSK_FILE", "partyline-psk", psk)?,
        }
        Ok(out)
    }

    fn add(&mut self, var: &'static str, name: &str, bytes: &[u8]) -> io::Result<()> {
        let fd = memfd(name, bytes)?;
        self.vars.push((var, format!("/proc/self/fd/{}", fd.as_raw_fd()).into()));
        self.fds.push(fd);
        Ok(())
    }

    /// The descriptors the child must inherit (cleared of close-on-exec between fork and exec).
    pub fn raw(&self) -> Vec<RawFd> {
        self.fds.iter().map(AsRawFd::as_raw_fd).collect()
    }
}

/// An anonymous in-memory file holding `bytes`, close-on-exec until a child is let through.
fn memfd(name: &str, bytes: &[u8]) -> io::Result<OwnedFd> {
    let cname = std::ffi::CString::new(name).map_err(io::Error::other)?;
    // SAFETY: memfd_create reads the NUL-terminated name and returns a new descriptor or -1.
    let fd = unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by memfd_create and is owned by nothing else.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut file = std::fs::File::from(owned);
    file.write_all(bytes)?;
    Ok(OwnedFd::from(file))
}

/// Lets `fds` through exec: runs in the forked child, so only async-signal-safe calls.
pub fn inherit(fds: &[RawFd]) -> io::Result<()> {
    for &fd in fds {
        // SAFETY: fcntl on an integer descriptor; no memory is touched.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        // SAFETY: as above.
        if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_read_back_through_proc() {
        let creds = Credentials::Certs { ca: b"CA".to_vec(), cert: b"CERT".to_vec(), key: b"KEY".to_vec() };
        let secret = SecretFds::new(&creds).unwrap();
        let read: Vec<Vec<u8>> = secret.vars.iter().map(|(_, path)| std::fs::read(path).unwrap()).collect();
        assert_eq!(read, [b"CA".to_vec(), b"CERT".to_vec(), b"KEY".to_vec()]);
        assert_eq!(secret.raw().len(), 3);
    }
}
