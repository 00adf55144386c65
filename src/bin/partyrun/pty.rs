//! Pseudo-terminals for the ranks' stdout: C stdio line-buffers a terminal, so lines printed before a crash reach us.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Both ends of a pseudo-terminal: the slave becomes a process's stdout, we read the master.
pub struct Pty {
    pub master: File,
    pub slave: OwnedFd,
}

/// Opens a pty pair. Both ends are close-on-exec and neither becomes anyone's controlling
/// terminal; the slave is in raw mode, so bytes pass unchanged ("\n" stays "\n", no echo).
///
/// Whoever hands the slave to a child must close its own copy right after spawning: the
/// master reports end of file only once every copy of the slave is closed.
pub fn open() -> io::Result<Pty> {
    // SAFETY: posix_openpt takes flags only; a non-negative result is a new fd that we own.
    let fd = unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and nothing else owns it.
    let master = unsafe { File::from_raw_fd(fd) };
    // SAFETY: plain calls on an fd we own.
    if unsafe { libc::grantpt(fd) } != 0 || unsafe { libc::unlockpt(fd) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: `name` is writable for its whole length, which we pass; on success ptsname_r
    // leaves a NUL-terminated path in it.
    let rc = unsafe { libc::ptsname_r(fd, name.as_mut_ptr(), name.len()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    // SAFETY: `name` holds a NUL-terminated path (checked above); open only reads it.
    let slave = unsafe { libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
    if slave < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `slave` was just opened and nothing else owns it.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    make_raw(&slave)?;
    Ok(Pty { master, slave })
}

/// Turns off every translation (OPOST/ONLCR, ECHO, ICANON, ...): the slave carries bytes, not a session.
fn make_raw(slave: &OwnedFd) -> io::Result<()> {
    let mut attrs = std::mem::MaybeUninit::<libc::termios>::uninit();
    // SAFETY: tcgetattr fills `attrs` on success, checked before assume_init; cfmakeraw and
    // tcsetattr only read and write that initialised struct.
    unsafe {
        if libc::tcgetattr(slave.as_raw_fd(), attrs.as_mut_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut attrs = attrs.assume_init();
        libc::cfmakeraw(&mut attrs);
        if libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &attrs) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Reads a pty master. Once every copy of the slave has closed, Linux returns what is still
/// buffered and then EIO, which this reports as end of file.
pub struct MasterReader(pub File);

impl AsRawFd for MasterReader {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }
}

impl Read for MasterReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read(buf) {
            Err(e) if e.raw_os_error() == Some(libc::EIO) => Ok(0),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn output_written_before_the_slave_closes_is_read_then_end_of_file() {
        let pty = open().unwrap();
        // SAFETY: isatty only inspects the fd.
        assert_eq!(unsafe { libc::isatty(pty.slave.as_raw_fd()) }, 1);
        let mut slave = File::from(pty.slave);
        slave.write_all(b"Runtime Setup...OK\r\nno newline").unwrap();
        drop(slave);
        let mut reader = MasterReader(pty.master);
        let mut got = Vec::new();
        reader.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"Runtime Setup...OK\r\nno newline");
        assert_eq!(reader.read(&mut [0; 16]).unwrap(), 0);
    }

    #[test]
    fn every_byte_value_passes_unchanged_in_bulk() {
        let pty = open().unwrap();
        let want: Vec<u8> = (0..=255u8).cycle().take(256 * 16 * 1024).collect(); // 4 MiB
        let data = want.clone();
        let mut slave = File::from(pty.slave);
        // More than the pty buffers: the writer needs a concurrent reader.
        let writer = std::thread::spawn(move || slave.write_all(&data));
        let mut got = Vec::new();
        MasterReader(pty.master).read_to_end(&mut got).unwrap();
        writer.join().unwrap().unwrap();
        assert_eq!(got.len(), want.len());
        assert!(got == want, "bytes changed in the pty");
    }
}
