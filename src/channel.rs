//! A new connection during bootstrap: plain or TLS, blocking, with one deadline for the whole
//! handshake; once the peer is accepted it becomes the link's `Transport`.

use crate::conn::Conn;
use crate::tls::session::{Endpoint, Session};
use crate::tls::transport::TlsTcp;
use crate::tls::Tls;
use crate::transport::{Plain, Transport};
use rustls::client::UnbufferedClientConnection;
use rustls::server::UnbufferedServerConnection;
use std::io::{self, IoSlice, Read, Write};
use std::time::Instant;

/// A socket whose every read and write fails once `deadline` has passed, so a peer that dribbles
/// bytes cannot hold a handshake open longer than the handshake timeout.
pub struct Deadline {
    pub conn: Conn,
    pub deadline: Instant,
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
        self.conn.set_read_timeout(Some(left))?;
        self.conn.set_write_timeout(Some(left))
    }
}

impl Read for Deadline {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.arm()?;
        self.conn.read(buf)
    }
}

impl Write for Deadline {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.arm()?;
        self.conn.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.conn.flush()
    }
}

/// A connection during the greeting. A TLS session keeps going as the link's transport, with
/// whatever it has read past the greeting (the peer may send frames right after it).
pub enum Channel {
    Plain(Deadline),
    Client(Box<Session<UnbufferedClientConnection, Deadline>>),
    Server(Box<Session<UnbufferedServerConnection, Deadline>>),
}

impl Channel {
    /// Wraps `conn`; with `tls`, runs the handshake as the client of rank `peer` first.
    pub fn connect(conn: Conn, deadline: Instant, tls: Option<&Tls>, peer: usize) -> io::Result<Channel> {
        let io = Deadline { conn, deadline };
        let Some(tls) = tls else { return Ok(Channel::Plain(io)) };
        let conn = tls.connect(peer).map_err(|e| io::Error::other(e.message))?;
        let mut session = Box::new(Session::new(conn, io));
        session.handshake()?;
        Ok(Channel::Client(session))
    }

    /// Wraps an accepted `conn`; with `tls`, runs the handshake as the server first. A plaintext
    /// greeting is refused in plaintext, so a party without TLS learns why.
    pub fn accept(conn: Conn, deadline: Instant, tls: Option<&Tls>) -> io::Result<Channel> {
        let mut io = Deadline { conn, deadline };
        let mut first = [0u8; 8];
        let peeked = io.arm().and_then(|()| io.conn.peek(&mut first));
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
        let mut session = Box::new(Session::new(conn, io));
        if let Err(e) = session.handshake() {
            linger(session.io_mut());
            return Err(e);
        }
        Ok(Channel::Server(session))
    }

    pub fn conn(&self) -> &Conn {
        match self {
            Channel::Plain(io) => &io.conn,
            Channel::Client(s) => &s.io().conn,
            Channel::Server(s) => &s.io().conn,
        }
    }

    /// With TLS, whether the peer's certificate is issued for `rank` (a client's claim; a
    /// server's identity was checked during the handshake).
    pub fn check_rank(&self, tls: Option<&Tls>, rank: usize) -> Result<(), String> {
        match (self, tls) {
            (Channel::Server(s), Some(tls)) => tls.check_client_rank(s.connection(), rank),
            _ => Ok(()),
        }
    }

    pub fn is_tls(&self) -> bool {
        !matches!(self, Channel::Plain(_))
    }

    /// The link's transport, non-blocking from here on.
    pub fn into_transport(self) -> io::Result<Box<dyn Transport>> {
        Ok(match self {
            Channel::Plain(io) => Box::new(Plain::new(io.conn.into_stream()?)),
            Channel::Client(s) => Box::new(take_over(*s)?),
            Channel::Server(s) => Box::new(take_over(*s)?),
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
            Channel::Client(s) => s.write_vectored(&[IoSlice::new(buf)]).map_err(explained),
            Channel::Server(s) => s.write_vectored(&[IoSlice::new(buf)]).map_err(explained),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Channel::Plain(io) => io.flush(),
            Channel::Client(s) => s.push().map_err(explained),
            Channel::Server(s) => s.push().map_err(explained),
        }
    }
}

/// The session, moved to its socket made non-blocking.
fn take_over<C: Endpoint>(session: Session<C, Deadline>) -> io::Result<TlsTcp<C>> {
    session.with_io(|io| io.conn.into_stream())
}

/// Half-closes after a failed handshake and reads what the client still sends, so our alert
/// reaches it instead of being discarded by a reset.
fn linger(io: &mut Deadline) {
    let _ = io.conn.shutdown(std::net::Shutdown::Write);
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
