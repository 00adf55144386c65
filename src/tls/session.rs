//! One TLS 1.3 session over one socket, run by rustls's unbuffered API: rustls does the
//! handshake, seals and opens every record, and sends and answers KeyUpdate; this module only
//! moves ciphertext between the socket and two reused buffers.

pub use super::endpoint::Endpoint;
use super::sink::{sealing, Sink};
use rustls::unbuffered::{AppDataRecord, ConnectionState, EncodeError, UnbufferedStatus};
use std::io::{self, IoSlice, Read, Write};

/// The largest plaintext a record carries (RFC 8446 §5.1).
pub const MAX_PLAINTEXT: usize = 1 << 14;
/// The largest record rustls takes in (TLS 1.2's limit, above TLS 1.3's 2^14 + 256 + 5).
const MAX_RECORD: usize = 5 + MAX_PLAINTEXT + 2048;
/// What sealing adds to each record: header, content type, AEAD tag.
const RECORD_OVERHEAD: usize = 5 + 1 + 16;
/// How much ciphertext one read takes from the socket.
const INBOUND_CHUNK: usize = 256 * 1024;
/// How much plaintext one write seals before it goes to the socket.
pub(super) const OUTBOUND_CHUNK: usize = 256 * 1024;
/// Room for what rustls queues by itself: handshake flights, a KeyUpdate, alerts.
const CONTROL_ROOM: usize = 64 * 1024;

/// A TLS session on the socket `io` (blocking during the greeting, non-blocking on a link).
pub struct Session<C, S> {
    conn: C,
    io: S,
    /// Ciphertext read and not yet released by rustls: `inbound[start..end]`.
    inbound: Vec<u8>,
    start: usize,
    end: usize,
    /// Sealed records not yet on the socket: `outbound[sent..filled]`.
    outbound: Vec<u8>,
    sent: usize,
    filled: usize,
    /// Small pieces of a write, gathered into one record.
    gather: Vec<u8>,
    /// Plaintext rustls opened that no read has taken yet: `opened[taken..]`. It holds the
    /// rest of a record longer than the read, and records rustls opened before it would let
    /// us seal (it hands them out in order); so it never outgrows one `inbound`.
    opened: Vec<u8>,
    taken: usize,
    peer_closed: bool,
    close_sent: bool,
    /// The error that ended the session; every later call reports it.
    failed: Option<rustls::Error>,
}

/// What the caller wants from one turn of rustls's state machine.
enum Job<'a, 'b> {
    /// Nothing but progress (the handshake, or an alert after a failure).
    Idle,
    /// Plaintext into `dest[filled..]`.
    Read { dest: &'a mut [u8], filled: usize },
    /// Seal what `bufs` hold, at most `OUTBOUND_CHUNK` bytes; `taken` counts them.
    Seal { bufs: &'a [IoSlice<'b>], taken: usize },
    /// Queue a close_notify alert.
    Close,
}

/// What a turn did.
#[derive(Debug, PartialEq, Eq)]
enum Turn {
    /// An application data record was opened.
    Opened,
    /// A record rustls made itself was encoded into `outbound`.
    Encoded,
    /// What was encoded must reach the peer before it can answer.
    Transmit,
    /// Traffic may flow; the job's write (if any) is done, and no whole record is buffered.
    Ready,
    /// The handshake needs the peer's next flight.
    NeedInput,
    /// The peer sent close_notify.
    PeerClosed,
    /// Both ends sent close_notify: nothing more can go either way.
    Closed,
}

/// A TLS error as an I/O error that keeps rustls's error inside, so `tls::hint` can name it.
pub fn broken(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

pub(super) fn internal(what: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("TLS session: {what} (a partyline bug; please report it)"))
}

impl<C: Endpoint, S: Read + Write> Session<C, S> {
    pub fn new(conn: C, io: S) -> Session<C, S> {
        let records = OUTBOUND_CHUNK / MAX_PLAINTEXT + 2;
        Session {
            conn,
            io,
            inbound: vec![0; INBOUND_CHUNK + MAX_RECORD],
            start: 0,
            end: 0,
            outbound: vec![0; OUTBOUND_CHUNK + records * RECORD_OVERHEAD + CONTROL_ROOM],
            sent: 0,
            filled: 0,
            gather: Vec::with_capacity(MAX_PLAINTEXT),
            opened: Vec::new(),
            taken: 0,
            peer_closed: false,
            close_sent: false,
            failed: None,
        }
    }

    pub fn connection(&self) -> &C {
        &self.conn
    }

    pub fn io(&self) -> &S {
        &self.io
    }

    pub fn io_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// The same session on another socket (the same connection, made non-blocking).
    pub fn with_io<T>(self, io: impl FnOnce(S) -> io::Result<T>) -> io::Result<Session<C, T>> {
        let Session {
            conn,
            io: old,
            inbound,
            start,
            end,
            outbound,
            sent,
            filled,
            gather,
            opened,
            taken,
            peer_closed,
            close_sent,
            failed,
        } = self;
        let io = io(old)?;
        Ok(Session {
            conn,
            io,
            inbound,
            start,
            end,
            outbound,
            sent,
            filled,
            gather,
            opened,
            taken,
            peer_closed,
            close_sent,
            failed,
        })
    }

    /// Runs the handshake to its end. On failure, the alert rustls queued goes to the peer.
    pub fn handshake(&mut self) -> io::Result<()> {
        loop {
            let turn = match self.turn(&mut Job::Idle) {
                Ok(turn) => turn,
                Err(e) => return Err(self.fail(e)),
            };
            match turn {
                Turn::Opened | Turn::Encoded => {}
                Turn::Transmit => self.push()?,
                // A TLS 1.3 server may send before the client's last flight; it is not done yet.
                Turn::Ready if !self.conn.state().is_handshaking() => return self.push(),
                Turn::Ready | Turn::NeedInput => {
                    self.push()?;
                    self.fill()?;
                }
                Turn::PeerClosed | Turn::Closed => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the peer closed its TLS session during the handshake",
                    ))
                }
            }
        }
    }

    /// Reads plaintext; `Ok(0)` once the peer's close_notify has come and all before it is read.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.taken < self.opened.len() {
            let n = buf.len().min(self.opened.len() - self.taken);
            buf[..n].copy_from_slice(&self.opened[self.taken..self.taken + n]);
            self.taken += n;
            return Ok(n);
        }
        if self.peer_closed {
            return Ok(0);
        }
        if self.start == self.end {
            // Nothing for rustls to look at: ask the socket first (a turn costs as much as a
            // small record's cipher).
            self.fill()?;
        }
        let mut job = Job::Read { dest: buf, filled: 0 };
        loop {
            let turn = self.turn(&mut job);
            let Job::Read { dest, filled } = &job else { unreachable!("the job stays a read") };
            match turn {
                Err(e) => return Err(self.fail(e)),
                // With the buffer empty, the next turn could only report that.
                Ok(Turn::Opened) if *filled < dest.len() && self.start < self.end => {}
                Ok(Turn::Opened) => return Ok(*filled),
                Ok(Turn::Encoded) => {}
                Ok(Turn::Transmit) => self.push_some()?,
                Ok(Turn::PeerClosed | Turn::Closed) => {
                    self.peer_closed = true;
                    return Ok(*filled);
                }
                Ok(Turn::Ready | Turn::NeedInput) if *filled > 0 => return Ok(*filled),
                Ok(Turn::Ready | Turn::NeedInput) => self.fill()?,
            }
        }
    }

    /// Seals up to `OUTBOUND_CHUNK` bytes of `bufs` and sends what the socket takes. Takes
    /// nothing (`WouldBlock`) while earlier records are still waiting for the socket.
    pub fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.push()?;
        let mut job = Job::Seal { bufs, taken: 0 };
        self.until_ready(&mut job)?;
        let Job::Seal { taken, .. } = job else { unreachable!("the job stays a seal") };
        self.push_some()?;
        Ok(taken)
    }

    /// Queues close_notify (once) and sends it with everything before it.
    pub fn close_notify(&mut self) -> io::Result<()> {
        if !self.close_sent {
            self.until_ready(&mut Job::Close)?;
            self.close_sent = true;
        }
        self.push()
    }

    pub fn pending_output(&self) -> bool {
        self.sent < self.filled
    }

    /// Writes sealed records to the socket; `WouldBlock` if some must wait.
    pub fn push(&mut self) -> io::Result<()> {
        while self.sent < self.filled {
            match self.io.write(&self.outbound[self.sent..self.filled]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        (self.sent, self.filled) = (0, 0);
        Ok(())
    }

    /// `push`, where records left for later are no error (`pending_output` reports them).
    fn push_some(&mut self) -> io::Result<()> {
        match self.push() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            other => other,
        }
    }

    /// Turns rustls's state machine until it lets this side send, doing `job` then; records
    /// opened on the way wait in `opened`.
    fn until_ready(&mut self, job: &mut Job<'_, '_>) -> io::Result<()> {
        loop {
            match self.turn(job) {
                Err(e) => return Err(self.fail(e)),
                Ok(Turn::Ready) => return Ok(()),
                Ok(Turn::Opened | Turn::Encoded | Turn::Transmit) => {}
                Ok(Turn::PeerClosed) => self.peer_closed = true,
                Ok(Turn::Closed) => {
                    return Err(io::Error::new(io::ErrorKind::BrokenPipe, "the TLS session is closed both ways"))
                }
                Ok(Turn::NeedInput) => return Err(internal("sending before the handshake finished")),
            }
        }
    }

    /// Ends the session after `e`: sends the alert rustls queued for it, if the socket takes
    /// it now, and keeps rustls from looking at the offending bytes again (it would try to send
    /// a second fatal alert).
    fn fail(&mut self, e: io::Error) -> io::Error {
        // rustls hands out what it queued before it reads any further input.
        if self.conn.state().wants_write() && matches!(self.turn(&mut Job::Idle), Ok(Turn::Encoded)) {
            let _ = self.push();
        }
        let tls = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()).cloned();
        self.failed = Some(tls.unwrap_or_else(|| rustls::Error::General(e.to_string())));
        e
    }

    /// Reads more ciphertext, first moving what is left to the front if the tail is short.
    fn fill(&mut self) -> io::Result<()> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.inbound.len() - self.end < MAX_RECORD {
            self.inbound.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
        }
        if self.end == self.inbound.len() {
            return Err(broken(rustls::Error::InvalidMessage(rustls::InvalidMessage::MessageTooLarge)));
        }
        let n = self.io.read(&mut self.inbound[self.end..])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed the connection without a TLS close_notify",
            ));
        }
        self.end += n;
        Ok(())
    }

    /// One turn: rustls takes the buffered ciphertext as far as its next state, and this side
    /// does what that state asks, `job` included where it fits.
    fn turn(&mut self, job: &mut Job<'_, '_>) -> io::Result<Turn> {
        if let Some(e) = &self.failed {
            return Err(broken(e.clone()));
        }
        let Session { conn, inbound, start, end, outbound, filled, gather, opened, taken, .. } = self;
        let UnbufferedStatus { mut discard, state } = conn.process(&mut inbound[*start..*end]);
        // In a closure so that `discard` applies whatever happens.
        let act = || -> io::Result<Turn> {
            Ok(match state.map_err(broken)? {
                ConnectionState::ReadTraffic(mut traffic) => {
                    while let Some(record) = traffic.next_record() {
                        let AppDataRecord { discard: more, payload } = record.map_err(broken)?;
                        discard += more;
                        if *taken == opened.len() {
                            opened.clear();
                            *taken = 0;
                        }
                        let rest = match job {
                            Job::Read { dest, filled: got } if opened.is_empty() => {
                                let n = payload.len().min(dest.len() - *got);
                                dest[*got..*got + n].copy_from_slice(&payload[..n]);
                                *got += n;
                                &payload[n..]
                            }
                            _ => payload,
                        };
                        opened.extend_from_slice(rest);
                    }
                    Turn::Opened
                }
                ConnectionState::EncodeTlsData(mut data) => {
                    let n = match data.encode(&mut outbound[*filled..]) {
                        Ok(n) => n,
                        Err(EncodeError::InsufficientSize(short)) => {
                            // Only rustls's own records land here, a few at a time: make room.
                            outbound.resize(*filled + short.required_size, 0);
                            data.encode(&mut outbound[*filled..]).map_err(internal)?
                        }
                        Err(e) => return Err(internal(e)),
                    };
                    *filled += n;
                    Turn::Encoded
                }
                // Done once it is in `outbound`: whatever is sealed later goes out after it.
                ConnectionState::TransmitTlsData(data) => {
                    data.done();
                    Turn::Transmit
                }
                ConnectionState::WriteTraffic(mut traffic) => {
                    let sink = Sink { traffic: &mut traffic, outbound, filled };
                    match job {
                        Job::Seal { bufs, taken } => *taken += sink.seal(bufs, gather)?,
                        Job::Close => {
                            let Sink { traffic, outbound, filled } = sink;
                            *filled += traffic.queue_close_notify(&mut outbound[*filled..]).map_err(sealing)?;
                        }
                        Job::Idle | Job::Read { .. } => {}
                    }
                    Turn::Ready
                }
                ConnectionState::BlockedHandshake => Turn::NeedInput,
                ConnectionState::PeerClosed => Turn::PeerClosed,
                ConnectionState::Closed => Turn::Closed,
                _ => return Err(internal("rustls reached a state partyline does not use (early data)")),
            })
        };
        let turn = act();
        *start += discard;
        turn
    }
}
