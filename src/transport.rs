//! The transport seam: every byte of a link passes through a `Transport`, so encryption or
//! reconnect-with-replay can be added without touching framing or matching.
//! `PlainTcp` here and `tls::transport::TlsTcp` are the two in use.

use mio::net::TcpStream;
use std::io::{self, IoSlice, Read};
use std::net::Shutdown;

pub trait Transport: Send {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    /// Sends end-of-stream after everything written so far.
    fn shutdown_write(&mut self) -> io::Result<()>;
    /// The (first) connection: its address and its kernel's view of the path.
    fn socket(&mut self) -> &mut TcpStream;
    /// Every connection the link uses, for the pollers (several when striped).
    fn sockets(&mut self) -> Vec<&mut TcpStream> {
        vec![self.socket()]
    }
    /// Bytes accepted by `write_vectored` but not yet on the socket (TLS records).
    fn pending_output(&self) -> bool {
        false
    }
    /// Moves pending output to the socket; `WouldBlock` when it cannot all go now.
    fn flush_pending(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Plain TCP: the default on loopback and inside one trusted network.
pub struct PlainTcp {
    stream: TcpStream,
}

impl PlainTcp {
    pub fn new(stream: std::net::TcpStream) -> io::Result<PlainTcp> {
        stream.set_nonblocking(true)?;
        Ok(PlainTcp { stream: TcpStream::from_std(stream) })
    }
}

impl Transport for PlainTcp {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        send_vectored(&self.stream, bufs)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.stream.shutdown(Shutdown::Write)
    }

    fn socket(&mut self) -> &mut TcpStream {
        &mut self.stream
    }
}

/// `writev` with `MSG_NOSIGNAL`: a write to a connection the peer has reset fails with EPIPE
/// instead of raising SIGPIPE, which would end a C program (only Rust's own `main` ignores it).
fn send_vectored(stream: &TcpStream, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    // SAFETY: msghdr is plain integers and pointers, for which all zeroes is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // IoSlice is ABI-compatible with iovec on Unix (its documented guarantee).
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len().min(libc::UIO_MAXIOV as usize) as _;
    // SAFETY: `msg` points at `bufs`, which outlive the call; sendmsg only reads them.
    let sent = unsafe { libc::sendmsg(stream.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}
