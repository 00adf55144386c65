//! A link's connection: TCP, or a Unix-domain socket between two ranks on one host; blocking (`Conn`) while it greets, non-blocking (`Stream`) once the link polls it.
//!
//! Between ranks on one host a Unix-domain socket skips the TCP stack: on this machine a 1 MiB
//! exchange each way moved 1.2-1.3x the bytes of TCP over loopback, and an 8-byte ring round
//! took 8.8-10.3 us against 12.9-14.0 (bench/README.md). A rank whose listening address is
//! loopback (or any address) also listens on an abstract Unix socket named after that address
//! (`local_name`), and a rank dialing a loopback address tries that name first, so nothing new
//! is configured or exchanged. Abstract names live in the network namespace, as loopback
//! addresses do.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// A connection during the greeting.
pub enum Conn {
    Tcp(std::net::TcpStream),
    Unix(UnixStream),
}

/// A link's connection, polled.
pub enum Stream {
    Tcp(mio::net::TcpStream),
    Unix(mio::net::UnixStream),
}

/// Runs `$body` with `$s` bound to whichever socket `$conn` holds.
macro_rules! each {
    ($conn:expr, $s:ident => $body:expr) => {
        match $conn {
            Self::Tcp($s) => $body,
            Self::Unix($s) => $body,
        }
    };
}

/// What both enums do alike for both kinds of socket: read, shut down, tell where the
/// connection goes, and lend the descriptor.
macro_rules! common {
    ($kind:ty) => {
        impl $kind {
            pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
                each!(self, s => s.shutdown(how))
            }

            /// Whether the connection leaves this host; `None` where a TCP address cannot be read.
            pub fn leaves_host(&self) -> Option<bool> {
                match self {
                    Self::Tcp(s) => crate::socket_settings::leaves_host(s.local_addr().ok(), s.peer_addr().ok()),
                    Self::Unix(_) => Some(false),
                }
            }
        }

        impl Read for $kind {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                each!(self, s => s.read(buf))
            }
        }

        impl AsFd for $kind {
            fn as_fd(&self) -> BorrowedFd<'_> {
                each!(self, s => s.as_fd())
            }
        }

        impl AsRawFd for $kind {
            fn as_raw_fd(&self) -> RawFd {
                each!(self, s => s.as_raw_fd())
            }
        }
    };
}
common!(Conn);
common!(Stream);

impl Conn {
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        each!(self, s => s.set_read_timeout(timeout))
    }

    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        each!(self, s => s.set_write_timeout(timeout))
    }

    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        each!(self, s => s.set_nonblocking(nonblocking))
    }

    /// Small greeting writes must not wait for delayed acknowledgements (TCP only; best effort).
    pub fn set_nodelay(&self) {
        if let Conn::Tcp(s) = self {
            let _ = s.set_nodelay(true);
        }
    }

    /// Reads without consuming.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is valid for `buf.len()` writable bytes for the whole call.
        let n = unsafe { libc::recv(self.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_PEEK) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// The TCP connection, if this is one.
    pub fn tcp(&self) -> Option<&std::net::TcpStream> {
        match self {
            Conn::Tcp(s) => Some(s),
            Conn::Unix(_) => None,
        }
    }

    /// The connection made non-blocking, for the link's poller.
    pub fn into_stream(self) -> io::Result<Stream> {
        self.set_nonblocking(true)?;
        Ok(match self {
            Conn::Tcp(s) => Stream::Tcp(mio::net::TcpStream::from_std(s)),
            Conn::Unix(s) => Stream::Unix(mio::net::UnixStream::from_std(s)),
        })
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        each!(self, s => s.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream {
    /// `writev` with `MSG_NOSIGNAL`: a write to a connection the peer has closed fails with
    /// EPIPE instead of raising SIGPIPE, which would end a C program (only Rust's own `main`
    /// ignores it).
    pub fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        // SAFETY: msghdr is plain integers and pointers, for which all zeroes is a valid value.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        // IoSlice is ABI-compatible with iovec on Unix (its documented guarantee).
        msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
        msg.msg_iovlen = bufs.len().min(libc::UIO_MAXIOV as usize) as _;
        // SAFETY: `msg` points at `bufs`, which outlive the call; sendmsg only reads them.
        let sent = unsafe { libc::sendmsg(self.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if sent < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(sent as usize)
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.send_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl mio::event::Source for Stream {
    fn register(&mut self, registry: &mio::Registry, token: mio::Token, interests: mio::Interest) -> io::Result<()> {
        each!(self, s => s.register(registry, token, interests))
    }

    fn reregister(&mut self, registry: &mio::Registry, token: mio::Token, interests: mio::Interest) -> io::Result<()> {
        each!(self, s => s.reregister(registry, token, interests))
    }

    fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
        each!(self, s => s.deregister(registry))
    }
}

/// The abstract Unix socket name of a rank listening on `addr`.
pub fn local_name(addr: SocketAddr) -> String {
    format!("partyline/{addr}")
}

/// The address of the abstract Unix socket `name` (a leading NUL byte makes it abstract).
pub fn abstract_addr(name: &str) -> io::Result<socket2::SockAddr> {
    socket2::SockAddr::unix(format!("\0{name}"))
}

/// The names a rank listening on `addr` may also be reached at on this host: its own, and
/// those of the wildcard addresses on its port (a rank bound to any address listens there).
/// None for an address that is not loopback: a Unix socket cannot reach another host.
pub fn local_names(addr: SocketAddr) -> Vec<String> {
    if !addr.ip().to_canonical().is_loopback() {
        return Vec::new();
    }
    let port = addr.port();
    let any4 = SocketAddr::from(([0, 0, 0, 0], port));
    let any6 = SocketAddr::from(([0u16; 8], port));
    vec![local_name(addr), local_name(any4), local_name(any6)]
}

#[cfg(test)]
mod tests;
