//! The transport seam: every byte of a link passes through a `Transport`, so encryption or
//! reconnect-with-replay can be added without touching framing or matching.
//! `Plain` here and `tls::transport::TlsTcp` are the two in use, each over TCP or a Unix socket
//! (`conn::Stream`).

use crate::conn::Stream;
use std::io::{self, IoSlice, Read};
use std::net::Shutdown;

pub trait Transport: Send {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    /// Sends end-of-stream after everything written so far.
    fn shutdown_write(&mut self) -> io::Result<()>;
    /// The (first) connection: its address and its kernel's view of the path.
    fn socket(&mut self) -> &mut Stream;
    /// Every connection the link uses, for the pollers (several when striped).
    fn sockets(&mut self) -> Vec<&mut Stream> {
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

/// Plaintext: the default on loopback and inside one trusted network.
pub struct Plain {
    stream: Stream,
}

impl Plain {
    pub fn new(stream: Stream) -> Plain {
        Plain { stream }
    }
}

impl Transport for Plain {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.stream.send_vectored(bufs)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.stream.shutdown(Shutdown::Write)
    }

    fn socket(&mut self) -> &mut Stream {
        &mut self.stream
    }
}
