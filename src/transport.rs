//! The transport seam: every byte of a link passes through a `Transport`, so encryption or
//! reconnect-with-replay can be added without touching framing or matching.
//! `PlainTcp` and `TlsTcp` (rustls) are the two in use.

use mio::net::TcpStream;
use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;

pub trait Transport: Send {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    /// Sends end-of-stream after everything written so far.
    fn shutdown_write(&mut self) -> io::Result<()>;
    /// The socket to register with the poller.
    fn socket(&mut self) -> &mut TcpStream;
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
        self.stream.write_vectored(bufs)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.stream.shutdown(Shutdown::Write)
    }

    fn socket(&mut self) -> &mut TcpStream {
        &mut self.stream
    }
}

/// How much ciphertext one `read` takes from the socket: rustls itself reads at most a record
/// at a time, which would cost a system call per 16 KiB of a large exchange.
const INBOUND_CHUNK: usize = 256 * 1024;

/// TLS 1.3 over TCP. Encryption runs wherever the link is driven: on the communication thread,
/// or on a waiting compute thread that progresses its own links.
pub struct TlsTcp {
    stream: TcpStream,
    conn: rustls::Connection,
    inbound: Vec<u8>,
    /// `inbound[start..end]` is ciphertext read from the socket but not yet given to rustls.
    start: usize,
    end: usize,
    close_sent: bool,
}

impl TlsTcp {
    pub fn new(stream: std::net::TcpStream, conn: rustls::Connection) -> io::Result<TlsTcp> {
        stream.set_nonblocking(true)?;
        let stream = TcpStream::from_std(stream);
        Ok(TlsTcp { stream, conn, inbound: vec![0; INBOUND_CHUNK], start: 0, end: 0, close_sent: false })
    }

    /// Feeds buffered ciphertext to rustls, reading more from the socket when none is left.
    fn take_in(&mut self) -> io::Result<()> {
        if self.start == self.end {
            let n = self.stream.read(&mut self.inbound)?;
            (self.start, self.end) = (0, n);
            if n == 0 {
                // End of stream: rustls then reports a clean close or a truncation.
                self.conn.read_tls(&mut io::empty())?;
                return Ok(());
            }
        }
        let mut pending = &self.inbound[self.start..self.end];
        let before = pending.len();
        self.conn.read_tls(&mut pending)?;
        self.start += before - pending.len();
        self.conn.process_new_packets().map_err(|e| {
            // Tell the peer why before the link is dropped; it may not be listening any more.
            let _ = self.conn.write_tls(&mut self.stream);
            io::Error::new(io::ErrorKind::InvalidData, e)
        })?;
        Ok(())
    }

    fn push(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut self.stream)? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }
}

impl Transport for TlsTcp {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.take_in()?,
                done => return done,
            }
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        // Back-pressure: take no more plaintext while earlier records are still queued.
        self.push()?;
        let n = self.conn.writer().write_vectored(bufs)?;
        match self.push() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
            _ => {}
        }
        if n == 0 && bufs.iter().any(|b| !b.is_empty()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        if !self.close_sent {
            self.conn.send_close_notify();
            self.close_sent = true;
        }
        self.push()?;
        self.stream.shutdown(Shutdown::Write)
    }

    fn socket(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    fn pending_output(&self) -> bool {
        self.conn.wants_write()
    }

    fn flush_pending(&mut self) -> io::Result<()> {
        self.push()
    }
}
