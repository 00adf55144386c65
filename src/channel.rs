//! A new connection during bootstrap: plain or TLS, blocking, with one deadline for the whole
//! handshake; once the peer is accepted it becomes the link's `Transport`.

use crate::tls::record::{RecordLayer, HEADER};
use crate::tls::transport::TlsTcp;
use crate::tls::Tls;
use crate::transport::{PlainTcp, Transport};
use rustls::{ClientConnection, ServerConnection, StreamOwned};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

/// A socket whose every read and write fails once `deadline` has passed, so a peer that dribbles
/// bytes cannot hold a handshake open longer than the handshake timeout.
pub struct Deadline {
    pub tcp: TcpStream,
    pub deadline: Instant,
    /// With TLS: reads stop at record boundaries (see `Records`).
    records: Option<Records>,
}

/// Where a TLS stream is within its current record. rustls must never hold part of a record
/// when the link takes over its keys, and the peer may already send frames after its
/// greeting; so during the handshake every read ends where a record ends.
#[derive(Default)]
struct Records {
    header: [u8; HEADER],
    have: usize,
    left: usize,
}

impl Records {
    /// How much of `buf` the next read may fill.
    fn limit(&self, buf: usize) -> usize {
        buf.min(if self.have < HEADER { HEADER - self.have } else { self.left })
    }

    fn advance(&mut self, got: &[u8]) {
        if self.have < HEADER {
            self.header[self.have..self.have + got.len()].copy_from_slice(got);
            self.have += got.len();
            if self.have == HEADER {
                self.left = u16::from_be_bytes([self.header[3], self.header[4]]) as usize;
            }
        } else {
            self.left -= got.len();
        }
        if self.have == HEADER && self.left == 0 {
            self.have = 0;
        }
    }
}

impl Deadline {
    fn arm(&self) -> io::Result<()> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the handshake took longer than the handshake timeout",
            ));
        }
        self.tcp.set_read_timeout(Some(left))?;
        self.tcp.set_write_timeout(Some(left))
    }
}

impl Read for Deadline {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.arm()?;
        let Some(records) = &mut self.records else { return self.tcp.read(buf) };
        let limit = records.limit(buf.len());
        let n = self.tcp.read(&mut buf[..limit])?;
        records.advance(&buf[..n]);
        Ok(n)
    }
}

impl Write for Deadline {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.arm()?;
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

pub enum Channel {
    Plain(Deadline),
    Client(Box<StreamOwned<ClientConnection, Deadline>>),
    Server(Box<StreamOwned<ServerConnection, Deadline>>),
}

impl Channel {
    /// Wraps `tcp`; with `tls`, runs the handshake as the client of rank `peer` first.
    pub fn connect(tcp: TcpStream, deadline: Instant, tls: Option<&Tls>, peer: usize) -> io::Result<Channel> {
        let Some(tls) = tls else { return Ok(Channel::Plain(Deadline { tcp, deadline, records: None })) };
        let io = Deadline { tcp, deadline, records: Some(Records::default()) };
        let conn = tls.connect(peer).map_err(|e| io::Error::other(e.message))?;
        let mut stream = StreamOwned::new(conn, io);
        while stream.conn.is_handshaking() {
            if let Err(e) = stream.conn.complete_io(&mut stream.sock) {
                send_alert(&mut stream.conn, &mut stream.sock);
                return Err(e);
            }
        }
        Ok(Channel::Client(Box::new(stream)))
    }

    /// Wraps an accepted `tcp`; with `tls`, runs the handshake as the server first. A plaintext
    /// greeting is refused in plaintext, so a party without TLS learns why.
    pub fn accept(tcp: TcpStream, deadline: Instant, tls: Option<&Tls>) -> io::Result<Channel> {
        let mut io = Deadline { tcp, deadline, records: tls.map(|_| Records::default()) };
        let mut first = [0u8; 8];
        let peeked = io.arm().and_then(|()| io.tcp.peek(&mut first));
        let Some(tls) = tls else {
            // A TLS record starts 0x16 0x03: a client with TLS configured, talking to us without.
            if matches!(peeked, Ok(n) if n >= 2) && first[..2] == [0x16, 0x03] {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "it speaks TLS but this party has no TLS configured; configure TLS on every party or on none",
                ));
            }
            return Ok(Channel::Plain(io));
        };
        if matches!(peeked, Ok(8)) && &first == crate::handshake::MAGIC {
            let why =
                "this party requires TLS but the connecting one has none; configure TLS on every party or on none";
            let _ = crate::handshake::Greeting::Reject(why.into()).write_to(&mut io, "a plaintext peer");
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "it sent a plaintext greeting, but this party requires TLS",
            ));
        }
        let conn = tls.accept().map_err(|e| io::Error::other(e.message))?;
        let mut stream = StreamOwned::new(conn, io);
        while stream.conn.is_handshaking() {
            if let Err(e) = stream.conn.complete_io(&mut stream.sock) {
                send_alert(&mut stream.conn, &mut stream.sock);
                linger(&mut stream.sock);
                return Err(e);
            }
        }
        Ok(Channel::Server(Box::new(stream)))
    }

    pub fn tcp(&self) -> &TcpStream {
        match self {
            Channel::Plain(io) => &io.tcp,
            Channel::Client(s) => &s.sock.tcp,
            Channel::Server(s) => &s.sock.tcp,
        }
    }

    /// With TLS, whether the peer's certificate is issued for `rank` (a client's claim; a
    /// server's identity was checked during the handshake).
    pub fn check_rank(&self, tls: Option<&Tls>, rank: usize) -> Result<(), String> {
        match (self, tls) {
            (Channel::Server(s), Some(tls)) => tls.check_client_rank(&s.conn, rank),
            _ => Ok(()),
        }
    }

    pub fn is_tls(&self) -> bool {
        !matches!(self, Channel::Plain(_))
    }

    /// The link's transport, non-blocking from here on.
    pub fn into_transport(self) -> io::Result<Box<dyn Transport>> {
        Ok(match self {
            Channel::Plain(io) => Box::new(PlainTcp::new(io.tcp)?),
            Channel::Client(s) => {
                let StreamOwned { conn, sock } = *s;
                Box::new(take_over(conn.into(), sock)?)
            }
            Channel::Server(s) => {
                let StreamOwned { conn, sock } = *s;
                Box::new(take_over(conn.into(), sock)?)
            }
        })
    }
}

impl Read for Channel {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Channel::Plain(io) => io.read(buf),
            Channel::Client(s) => s.read(buf).map_err(explained),
            Channel::Server(s) => s.read(buf).map_err(explained),
        }
    }
}

impl Write for Channel {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Channel::Plain(io) => io.write(buf),
            Channel::Client(s) => s.write(buf).map_err(explained),
            Channel::Server(s) => s.write(buf).map_err(explained),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Channel::Plain(io) => io.flush(),
            Channel::Client(s) => s.flush(),
            Channel::Server(s) => s.flush(),
        }
    }
}

/// Hands the link's records from rustls to `TlsTcp`, with whatever plaintext rustls has
/// already opened (frames the peer sent right after its greeting).
fn take_over(mut conn: rustls::Connection, mut io: Deadline) -> io::Result<TlsTcp> {
    while conn.wants_write() {
        conn.write_tls(&mut io)?;
    }
    let (mut early, mut chunk) = (Vec::new(), [0u8; 4096]);
    loop {
        match conn.reader().read(&mut chunk) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the peer closed its TLS session right after the greeting",
                ))
            }
            Ok(n) => early.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    let records = RecordLayer::take(conn)?;
    TlsTcp::new(io.tcp, records, early)
}

/// Sends the alert rustls queued when the handshake failed, so the peer learns why.
fn send_alert<C: std::ops::DerefMut<Target = rustls::ConnectionCommon<D>>, D>(conn: &mut C, io: &mut Deadline) {
    while conn.wants_write() {
        if !matches!(conn.write_tls(io), Ok(n) if n > 0) {
            break;
        }
    }
}

/// Half-closes after a failed handshake and reads what the client still sends, so our alert
/// reaches it instead of being discarded by a reset.
fn linger(io: &mut Deadline) {
    let _ = io.tcp.shutdown(std::net::Shutdown::Write);
    io.deadline = io.deadline.min(Instant::now() + std::time::Duration::from_millis(200));
    let mut sink = [0u8; 4096];
    while matches!(io.read(&mut sink), Ok(n) if n > 0) {}
}

/// A TLS failure during the greeting, with what to check (e.g. the peer refused our certificate).
fn explained(e: io::Error) -> io::Error {
    match crate::tls::hint(&e) {
        Some(why) => io::Error::new(e.kind(), why),
        None => e,
    }
}
