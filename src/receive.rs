//! The receive side of a link: parse frames from the socket, match them, and write payloads
//! straight into posted buffers, or into budgeted unexpected-message memory.

use crate::error::{err, Result};
use crate::link::{lost, Link};
use crate::mailbox::{PostedRecv, Stage, SyncNotice, Unexpected};
use crate::matching::Envelope;
use crate::shared::Shared;
use crate::wire::{FrameHeader, FrameKind, FLAG_SYNC, HEADER_LEN};
use std::io::ErrorKind;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::time::{Duration, Instant};

/// Bytes read per system call for headers and small payloads.
const STAGE_LEN: usize = 256 << 10;
/// Payload left to read above which we read straight into the destination, skipping the stage.
const DIRECT_MIN: u64 = 32 << 10;
/// An unexpected message at least this long first waits in the socket for its receive (read
/// straight into the user's buffer once posted) instead of being copied into our memory.
const DEFER_MIN: u64 = 256 << 10;
/// How often deferred messages are checked, and the least time one may hold its link.
pub(crate) const DEFER_MAX: Duration = Duration::from_millis(2);
/// Bytes per second at which a deferred message earns more time (see `defer_limit`).
const DEFER_RATE: u64 = 1 << 30;
/// The longest any message may hold its link.
const DEFER_CAP: Duration = Duration::from_millis(100);

/// How long an unexpected message of `len` bytes may hold its link (later frames wait behind
/// it) before it is buffered after all, so no program can deadlock on it: 2 ms plus about the
/// time that reading it into a buffer would take anyway (1 GiB/s), at most 100 ms. A ring
/// exchange's next message often arrives a whole exchange before its receive is posted: with a
/// flat 2 ms, 4-7 of the 27 messages of a 10^7-element BATCH run were buffered (80 MB each).
fn defer_limit(len: u64) -> Duration {
    (DEFER_MAX + Duration::from_micros(len.saturating_mul(1_000_000) / DEFER_RATE)).min(DEFER_CAP)
}

pub(crate) enum Sink {
    /// Into the user's posted buffer; bytes past its end are dropped (truncation).
    Direct(PostedRecv),
    /// Into our own memory, as unexpected message `id`.
    Buffer { id: u64, data: Vec<u8> },
}

pub(crate) enum State {
    Header {
        buf: [u8; HEADER_LEN],
        filled: usize,
    },
    Payload {
        header: FrameHeader,
        sink: Sink,
        done: u64,
    },
    /// Header in, payload waiting for a receive or for budget (unexpected message `id`);
    /// `deferred`: since when a large message has waited for its receive (see `DEFER_MIN`).
    Stalled {
        header: FrameHeader,
        id: u64,
        deferred: Option<Instant>,
    },
}

pub(crate) struct Rx {
    state: State,
    stage: Vec<u8>,
    start: usize,
    end: usize,
}

impl Rx {
    pub fn new() -> Rx {
        Rx { state: State::Header { buf: [0; HEADER_LEN], filled: 0 }, stage: vec![0; STAGE_LEN], start: 0, end: 0 }
    }

    fn idle() -> State {
        State::Header { buf: [0; HEADER_LEN], filled: 0 }
    }

    /// The posted receive being filled right now, if any (for failing it).
    pub fn take_direct(&mut self) -> Option<PostedRecv> {
        match std::mem::replace(&mut self.state, Rx::idle()) {
            State::Payload { sink: Sink::Direct(r), .. } => Some(r),
            _ => None,
        }
    }

    /// Whether a large unexpected message is waiting in the socket for its receive.
    pub fn is_deferred(&self) -> bool {
        matches!(self.state, State::Stalled { deferred: Some(_), .. })
    }

    fn at_frame_boundary(&self) -> bool {
        matches!(self.state, State::Header { filled: 0, .. }) && self.start == self.end
    }
}

fn envelope(peer: usize, h: &FrameHeader) -> Envelope {
    Envelope { context: h.context, source: peer as i32, tag: h.tag }
}

impl Link {
    /// Reads until the socket is drained, the link stalls, or it closes.
    pub fn on_readable(&mut self, sh: &Shared) -> Result<()> {
        loop {
            let rx = &mut self.rx;
            match &mut rx.state {
                State::Stalled { .. } => return Ok(()),
                State::Header { buf, filled } => {
                    let n = (HEADER_LEN - *filled).min(rx.end - rx.start);
                    buf[*filled..*filled + n].copy_from_slice(&rx.stage[rx.start..rx.start + n]);
                    *filled += n;
                    rx.start += n;
                    if *filled < HEADER_LEN {
                        if !self.fill_stage(sh)? {
                            return Ok(());
                        }
                        continue;
                    }
                    let header = FrameHeader::decode(buf, self.peer, self.next_in_seq, sh.max_frame)?;
                    self.next_in_seq += 1;
                    self.rx.state = Rx::idle();
                    self.begin(header, sh)?;
                }
                State::Payload { header, sink, done } => {
                    let remaining = header.len - *done;
                    if remaining == 0 {
                        let State::Payload { header, sink, .. } = std::mem::replace(&mut rx.state, Rx::idle()) else {
                            unreachable!()
                        };
                        self.finish(header, sink, sh);
                        continue;
                    }
                    if rx.start < rx.end {
                        let n = (rx.end - rx.start).min(remaining as usize);
                        write_into(sink, *done, &rx.stage[rx.start..rx.start + n]);
                        rx.start += n;
                        *done += n as u64;
                        continue;
                    }
                    if remaining >= DIRECT_MIN {
                        adopt_claim(sink, *done, header, sh);
                        if let Some(dest) = direct_region(sink, *done, remaining) {
                            match self.transport.read(dest) {
                                Ok(0) => return self.closed(sh),
                                Ok(n) => {
                                    sh.moved.fetch_add(n as u64, Relaxed);
                                    if let State::Payload { done, .. } = &mut self.rx.state {
                                        *done += n as u64;
                                    }
                                    continue;
                                }
                                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                                Err(e) => return Err(lost(self.peer, &e)),
                            }
                        }
                    }
                    if !self.fill_stage(sh)? {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Reads more bytes into the stage; false when the socket has none now (or closed cleanly).
    fn fill_stage(&mut self, sh: &Shared) -> Result<bool> {
        let rx = &mut self.rx;
        if rx.start == rx.end {
            rx.start = 0;
            rx.end = 0;
        }
        loop {
            match self.transport.read(&mut self.rx.stage[self.rx.end..]) {
                Ok(0) => return self.closed(sh).map(|_| false),
                Ok(n) => {
                    sh.moved.fetch_add(n as u64, Relaxed);
                    self.rx.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(lost(self.peer, &e)),
            }
        }
    }

    /// End of stream: clean after the peer's goodbye at a frame boundary, a failure otherwise.
    fn closed(&mut self, sh: &Shared) -> Result<()> {
        if self.eof {
            return Ok(());
        }
        self.eof = true;
        if self.goodbye_received && self.rx.at_frame_boundary() {
            self.finished(sh);
            return Ok(());
        }
        Err(err!(
            ProcAborted,
            "lost the connection to rank {}: it exited or crashed without calling MPI_Finalize",
            self.peer
        ))
    }

    fn begin(&mut self, header: FrameHeader, sh: &Shared) -> Result<()> {
        if self.goodbye_received {
            return Err(err!(Other, "malformed stream from rank {}: a frame after its goodbye", self.peer));
        }
        match header.kind {
            FrameKind::Data => self.begin_data(header, sh),
            FrameKind::SyncAck => self.acknowledged(header.aux, sh),
            FrameKind::Goodbye => {
                self.goodbye_received = true;
                Ok(())
            }
            FrameKind::Abort => {
                crate::log::error(&format!(
                    "rank {} called MPI_Abort with error code {}; ending this process too",
                    self.peer, header.aux as i32
                ));
                std::process::exit(header.aux as i32)
            }
        }
    }

    fn begin_data(&mut self, header: FrameHeader, sh: &Shared) -> Result<()> {
        let env = envelope(self.peer, &header);
        let sync = header.flags & FLAG_SYNC != 0;
        let mut mb = sh.mailbox();
        if let Some(recv) = mb.engine.arrive(&env) {
            drop(mb);
            if sync {
                self.queue_ack(header.seq, sh);
            }
            self.rx.state = State::Payload { header, sink: Sink::Direct(recv), done: 0 };
            return Ok(());
        }
        let notice = if sync { SyncNotice::Remote(header.seq) } else { SyncNotice::None };
        let mut msg =
            Unexpected { peer: self.peer, len: header.len, sync: notice, stage: Stage::Arriving, claimed: None };
        if header.len == 0 {
            // Complete already: it never reaches `finish`, so it is counted here.
            sh.stats.received(self.peer, 0);
            msg.stage = Stage::Buffered(Vec::new());
            mb.engine.push_unexpected(env, msg);
        } else if header.len < DEFER_MIN && mb.reserve(header.len) {
            let id = mb.engine.push_unexpected(env, msg);
            drop(mb);
            let data = vec![0u8; header.len as usize];
            self.rx.state = State::Payload { header, sink: Sink::Buffer { id, data }, done: 0 };
            return Ok(());
        } else {
            msg.stage = Stage::Stalled;
            let id = mb.engine.push_unexpected(env, msg);
            mb.stalled[self.peer] = true;
            let deferred = (header.len >= DEFER_MIN).then(Instant::now);
            if deferred.is_some() {
                sh.deferrals.fetch_add(1, SeqCst);
            }
            self.rx.state = State::Stalled { header, id, deferred };
        }
        drop(mb);
        sh.notifier.notify();
        Ok(())
    }

    fn finish(&mut self, header: FrameHeader, sink: Sink, sh: &Shared) {
        sh.stats.received(self.peer, header.len);
        let env = envelope(self.peer, &header);
        match sink {
            Sink::Direct(recv) => {
                let outcome = recv.outcome(&env, header.len);
                sh.complete(&recv.req, outcome);
            }
            Sink::Buffer { id, data } => {
                let mut mb = sh.mailbox();
                let claimed = mb.engine.unexpected_mut(env.context, id).and_then(|u| u.claimed.take());
                match claimed {
                    Some(recv) => {
                        mb.engine.remove_unexpected(env.context, id);
                        mb.release(header.len);
                        drop(mb);
                        let outcome = recv.fill(&env, &data);
                        sh.complete(&recv.req, outcome);
                    }
                    None => {
                        if let Some(u) = mb.engine.unexpected_mut(env.context, id) {
                            u.stage = Stage::Buffered(data);
                        }
                        drop(mb);
                        sh.notifier.notify();
                    }
                }
            }
        }
    }

    /// Continues a stalled link once its message is claimed, or, when budget is free and it
    /// is not (or no longer) deferred, into our memory.
    pub fn resume(&mut self, sh: &Shared) -> Result<()> {
        let State::Stalled { header, id, deferred } = self.rx.state else {
            return Ok(());
        };
        let mut mb = sh.mailbox();
        let Some(u) = mb.engine.unexpected_mut(header.context, id) else {
            return Ok(());
        };
        let sink = if u.claimed.is_some() {
            let recv = u.claimed.take().expect("checked");
            mb.engine.remove_unexpected(header.context, id);
            Sink::Direct(recv)
        } else if deferred.is_some_and(|t| t.elapsed() < defer_limit(header.len)) {
            return Ok(());
        } else if mb.reserve(header.len) {
            if let Some(u) = mb.engine.unexpected_mut(header.context, id) {
                u.stage = Stage::Arriving;
            }
            Sink::Buffer { id, data: vec![0u8; header.len as usize] }
        } else {
            if deferred.is_some() {
                // No budget: an ordinary stall from now on, resumed by a receive or free budget.
                self.rx.state = State::Stalled { header, id, deferred: None };
                sh.deferrals.fetch_sub(1, SeqCst);
            }
            return Ok(());
        };
        mb.stalled[self.peer] = false;
        drop(mb);
        if deferred.is_some() {
            sh.deferrals.fetch_sub(1, SeqCst);
        }
        self.rx.state = State::Payload { header, sink, done: 0 };
        self.on_readable(sh)
    }

    pub(crate) fn queue_ack(&mut self, seq: u64, sh: &Shared) {
        let ack = FrameHeader::control(FrameKind::SyncAck, sh.rank as i32, seq);
        self.enqueue(ack, crate::buffer::Payload::Owned(bytes::Bytes::new()), None, sh);
    }
}

/// A large unexpected message still arriving into our memory was claimed by a receive
/// meanwhile: copy what is in over and read the rest straight into the receive's buffer,
/// instead of buffering it all and copying it at the end.
fn adopt_claim(sink: &mut Sink, done: u64, header: &FrameHeader, sh: &Shared) {
    let Sink::Buffer { id, .. } = sink else { return };
    let recv = {
        let mut mb = sh.mailbox();
        let Some(recv) = mb.engine.unexpected_mut(header.context, *id).and_then(|u| u.claimed.take()) else {
            return;
        };
        mb.engine.remove_unexpected(header.context, *id);
        mb.release(header.len);
        recv
    };
    let Sink::Buffer { data, .. } = std::mem::replace(sink, Sink::Direct(recv)) else { unreachable!() };
    if let Sink::Direct(r) = sink {
        let dest = r.buf.bytes_mut(0);
        let n = (done as usize).min(dest.len());
        dest[..n].copy_from_slice(&data[..n]);
    }
}

fn write_into(sink: &mut Sink, at: u64, bytes: &[u8]) {
    let dest: &mut [u8] = match sink {
        Sink::Direct(r) => r.buf.bytes_mut(0),
        Sink::Buffer { data, .. } => data,
    };
    let at = at as usize;
    if at < dest.len() {
        let n = bytes.len().min(dest.len() - at);
        dest[at..at + n].copy_from_slice(&bytes[..n]);
    }
}

/// Where the next payload bytes can be read to directly, if they have a home (truncated
/// bytes do not: they go through the stage and are dropped).
fn direct_region(sink: &mut Sink, done: u64, remaining: u64) -> Option<&mut [u8]> {
    let dest: &mut [u8] = match sink {
        Sink::Direct(r) => r.buf.bytes_mut(0),
        Sink::Buffer { data, .. } => data,
    };
    let at = done as usize;
    (at < dest.len()).then(|| {
        let n = (dest.len() - at).min(remaining as usize);
        &mut dest[at..at + n]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deferred_message_holds_its_link_about_as_long_as_reading_it_takes() {
        assert_eq!(defer_limit(0), DEFER_MAX);
        let ms = |len: u64| defer_limit(len).as_secs_f64() * 1e3;
        assert!((2.2..2.3).contains(&ms(DEFER_MIN)), "{}", ms(DEFER_MIN));
        assert!((76.0..77.0).contains(&ms(80_000_000)), "{}", ms(80_000_000));
        assert_eq!(defer_limit(u64::MAX), DEFER_CAP);
    }
}
