//! `TlsTcp`: a link's TLS transport once the handshake is done. Ciphertext is read into one
//! reused buffer and opened in place; plaintext is sealed into another reused buffer, many
//! records per `write`.

use super::record::{RecordLayer, ALERT, APPLICATION_DATA, HEADER, MAX_PLAINTEXT, MAX_RECORD};
use crate::transport::Transport;
use mio::net::TcpStream;
use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;

/// How much ciphertext one `read` takes from the socket.
const INBOUND_CHUNK: usize = 256 * 1024;
/// How much plaintext one `write_vectored` seals before it writes to the socket.
const OUTBOUND_CHUNK: usize = 256 * 1024;

/// TLS 1.3 over TCP. Encryption runs wherever the link is driven: on the communication thread,
/// or on a waiting compute thread that progresses its own links.
pub struct TlsTcp {
    stream: TcpStream,
    records: RecordLayer,
    /// Plaintext that arrived during the greeting, handed out before anything else.
    early: Vec<u8>,
    inbound: Vec<u8>,
    /// `inbound[plain.0..plain.1]` is opened plaintext not yet read; `inbound[start..end]` is
    /// ciphertext not yet opened.
    plain: (usize, usize),
    start: usize,
    end: usize,
    /// The peer's close_notify arrived: reads report end of stream.
    peer_closed: bool,
    /// Sealed records not yet on the socket: `outbound[sent..]`.
    outbound: Vec<u8>,
    sent: usize,
    close_sent: bool,
}

impl TlsTcp {
    pub fn new(stream: std::net::TcpStream, records: RecordLayer, early: Vec<u8>) -> io::Result<TlsTcp> {
        stream.set_nonblocking(true)?;
        Ok(TlsTcp {
            stream: TcpStream::from_std(stream),
            records,
            early,
            inbound: vec![0; INBOUND_CHUNK + MAX_RECORD],
            plain: (0, 0),
            start: 0,
            end: 0,
            peer_closed: false,
            outbound: Vec::with_capacity(
                OUTBOUND_CHUNK + OUTBOUND_CHUNK / MAX_PLAINTEXT * (MAX_RECORD - MAX_PLAINTEXT),
            ),
            sent: 0,
            close_sent: false,
        })
    }

    /// Opens the next whole record, reading from the socket when none is buffered. Ok(false):
    /// the stream ended cleanly.
    fn open_next(&mut self) -> io::Result<bool> {
        loop {
            if let Some(len) = RecordLayer::complete(&self.inbound[self.start..self.end])? {
                let record = &mut self.inbound[self.start..self.start + len];
                let (kind, range) = self.records.open(record)?;
                let base = self.start;
                self.start += len;
                if kind == ALERT {
                    let body = self.inbound[base + range.start..base + range.end].to_vec();
                    return self.alert(&body);
                }
                self.plain = (base + range.start, base + range.end);
                return Ok(true);
            }
            self.fill()?;
        }
    }

    /// The peer's alert: close_notify ends the stream; any other alert is its error.
    fn alert(&mut self, body: &[u8]) -> io::Result<bool> {
        match body {
            [_, 0] => {
                self.peer_closed = true;
                Ok(false)
            }
            [_, description] => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                rustls::Error::AlertReceived(rustls::AlertDescription::from(*description)),
            )),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                rustls::Error::InvalidMessage(rustls::InvalidMessage::MessageTooShort),
            )),
        }
    }

    /// Reads more ciphertext, first moving a partial record to the front if the tail is short.
    fn fill(&mut self) -> io::Result<()> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.inbound.len() - self.start < MAX_RECORD {
            self.inbound.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
        }
        self.plain = (0, 0);
        let n = self.stream.read(&mut self.inbound[self.end..])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed the connection without a TLS close_notify",
            ));
        }
        self.end += n;
        Ok(())
    }

    /// Writes sealed records to the socket; `WouldBlock` if some must wait.
    fn push(&mut self) -> io::Result<()> {
        while self.sent < self.outbound.len() {
            match self.stream.write(&self.outbound[self.sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.sent += n,
                Err(e) => return Err(e),
            }
        }
        self.outbound.clear();
        self.sent = 0;
        Ok(())
    }

    /// Seals up to `OUTBOUND_CHUNK` bytes of `bufs` into records; returns how many it took.
    fn seal(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut taken = 0;
        let mut pieces = bufs.iter().map(|b| &b[..]).filter(|b| !b.is_empty());
        let mut piece: &[u8] = pieces.next().unwrap_or(&[]);
        while !piece.is_empty() && taken < OUTBOUND_CHUNK {
            let start = self.outbound.len();
            self.outbound.extend_from_slice(&[0; HEADER]);
            let mut room = MAX_PLAINTEXT.min(OUTBOUND_CHUNK - taken);
            while room > 0 && !piece.is_empty() {
                let n = room.min(piece.len());
                self.outbound.extend_from_slice(&piece[..n]);
                (room, taken, piece) = (room - n, taken + n, &piece[n..]);
                if piece.is_empty() {
                    piece = pieces.next().unwrap_or(&[]);
                }
            }
            self.records.seal(&mut self.outbound, start, APPLICATION_DATA)?;
        }
        Ok(taken)
    }
}

impl Transport for TlsTcp {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.early.is_empty() {
            let n = buf.len().min(self.early.len());
            buf[..n].copy_from_slice(&self.early[..n]);
            self.early.drain(..n);
            return Ok(n);
        }
        while self.plain.0 == self.plain.1 {
            if self.peer_closed || !self.open_next()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.plain.1 - self.plain.0);
        buf[..n].copy_from_slice(&self.inbound[self.plain.0..self.plain.0 + n]);
        self.plain.0 += n;
        Ok(n)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        // Back-pressure: take no more plaintext while earlier records are still queued.
        self.push()?;
        let n = self.seal(bufs)?;
        match self.push() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
            _ => Ok(n),
        }
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        if !self.close_sent {
            // close_notify: a warning-level alert, description 0.
            self.records.seal_message(&mut self.outbound, ALERT, &[1, 0])?;
            self.close_sent = true;
        }
        self.push()?;
        self.stream.shutdown(Shutdown::Write)
    }

    fn socket(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    fn pending_output(&self) -> bool {
        self.sent < self.outbound.len()
    }

    fn flush_pending(&mut self) -> io::Result<()> {
        self.push()
    }
}
