//! Engine tests: two in-memory engine sides joined by byte pipes, a fake clock, and the driver's handling of `Effects` without threads.
//!
//! `Pair` plays the part of `link`, `shared` and `runtime` for ranks 0 and 1: it copies the
//! bytes a side's `Peer` offers into a pipe (as a socket write would), feeds them to the other
//! side in chunks the test chooses (as socket reads would), and carries out the engine's
//! effects the way `Shared::apply` does. Time is `t0` plus what a test advances, never a sleep.

mod budget;
mod failure;
mod flow;
mod liveness;
mod matching;
mod model;
mod mprobe;
mod path;
mod selfsend;

use super::mailbox::{Mailbox, PostedRecv, Posting};
use super::matching::Pattern;
use super::{Ctx, Effects, LinkSettings, Peer, MAX_BATCH};
use crate::buffer::{Payload, RecvBuf, SendBuf};
use crate::error::{err, Error, Fault, Result};
use crate::request::{Outcome, Request};
use crate::stats::{PeerTotals, Stats};
use crate::wire::{FrameHeader, FLAG_SYNC};
use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Large enough never to refuse a test's frame.
pub const MAX_FRAME: u64 = 1 << 40;
/// An unexpected-message budget no test reaches unless it means to.
pub const ROOMY: u64 = 1 << 30;
/// The links' settings in tests: plaintext (checksums on), a roomy send budget, 60 s timeout.
pub const SETTINGS: LinkSettings =
    LinkSettings { max_frame: MAX_FRAME, send_budget: ROOMY, link_timeout: Duration::from_secs(60), checksums: true };

/// A link fault as the test sees it: a break (which this harness does not repair) is an error
/// of class ProcAborted with the break's cause as its message.
pub fn fault_error(f: Fault) -> Error {
    match f {
        Fault::Fatal(e) => e,
        Fault::Break(cause) => err!(ProcAborted, "{cause}"),
    }
}

/// Read "everything": as many bytes as the pipe holds.
pub const ALL: usize = usize::MAX;

/// Bytes written toward one side and not read yet: the socket between the two.
#[derive(Default)]
pub struct Pipe {
    bytes: VecDeque<u8>,
    /// The writer half-closed after its goodbye: once drained, reads see end of stream.
    closed: bool,
}

/// One process: its matching state, its counters and its link to the other rank.
pub struct Side {
    pub mailbox: Mutex<Mailbox>,
    pub stats: Stats,
    pub peer: Peer,
    /// Why the link failed, as the driver would have logged it.
    pub failure: Option<Error>,
    /// A peer's `MPI_Abort` the driver would have ended the process for.
    pub abort: Option<(usize, i32)>,
    inbound: Pipe,
}

/// How a test send is transmitted (the runtime's send modes, reduced to what the engine sees).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Copied, complete at once; the engine tracks no request.
    Eager,
    /// A tracked request over a copy: completes when written.
    Tracked,
    /// Sent from the caller's (leaked) buffer: completes when acknowledged, or on detach.
    Lent,
    /// Synchronous: completes when written and acknowledged.
    Sync,
}

/// A posted receive and the memory it fills.
pub struct Recv {
    pub req: Arc<Request>,
    /// The id for cancelling, while it waits in the queue.
    pub ticket: Option<u64>,
    pub context: u64,
    mem: Vec<u8>,
}

impl Recv {
    /// The buffer's bytes; only once the request completed, when the engine holds it no more.
    pub fn data(&self) -> &[u8] {
        assert!(self.req.is_done(), "reading a receive buffer the engine may still write");
        &self.mem
    }

    pub fn outcome(&self) -> Option<Outcome> {
        self.req.outcome()
    }

    /// The completed outcome, which must be a success.
    pub fn ok(&self) -> Outcome {
        let outcome = self.outcome().expect("the receive has completed");
        assert!(outcome.error.is_none(), "receive failed: {outcome:?}");
        outcome
    }
}

pub struct Pair {
    pub t0: Instant,
    pub now: Instant,
    pub sides: [Side; 2],
    /// Bytes a pipe holds before its writer must wait (the sockets' buffers), for backpressure.
    pub pipe_cap: usize,
    /// A break is left for `reconnect` to repair (as with a reconnector), instead of failing
    /// the link (as without one).
    pub repairs: bool,
    /// The last break's cause, when `repairs` is on.
    pub broke: Option<String>,
}

/// A payload whose every byte says which message it belongs to and where in it it sits.
pub fn pattern_bytes(seed: u32, len: usize) -> Vec<u8> {
    (0..len).map(|i| (seed.wrapping_mul(31).wrapping_add(i as u32 * 7) % 251) as u8).collect()
}

pub fn pat(source: Option<i32>, tag: Option<i32>) -> Pattern {
    Pattern { context: 0, source, tag }
}

impl Pair {
    pub fn new() -> Pair {
        Pair::with_budgets(ROOMY, ROOMY)
    }

    /// Ranks 0 and 1 with these unexpected-message budgets.
    pub fn with_budgets(budget0: u64, budget1: u64) -> Pair {
        Pair::with_settings(budget0, budget1, SETTINGS)
    }

    /// Ranks 0 and 1 with these unexpected-message budgets and link settings.
    pub fn with_settings(budget0: u64, budget1: u64, settings: LinkSettings) -> Pair {
        let t0 = Instant::now();
        let side = |rank: usize, budget| Side {
            mailbox: Mutex::new(Mailbox::new(2, budget)),
            stats: Stats::new(2),
            peer: Peer::new(rank, 1 - rank, settings, t0),
            failure: None,
            abort: None,
            inbound: Pipe::default(),
        };
        Pair {
            t0,
            now: t0,
            sides: [side(0, budget0), side(1, budget1)],
            pipe_cap: usize::MAX,
            repairs: false,
            broke: None,
        }
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    /// Runs an engine call on side `s` as `Shared::run_on` does: a failed link is skipped,
    /// an error fails the link; then the effects are carried out.
    pub fn run<R>(
        &mut self,
        s: usize,
        f: impl FnOnce(&mut Peer, &mut Ctx, &mut Pipe) -> std::result::Result<R, Fault>,
    ) -> Result<R> {
        let mut fx = Effects::default();
        let side = &mut self.sides[s];
        if let Some(why) = &side.failure {
            return Err(why.clone());
        }
        let mut ctx = Ctx { mailbox: &side.mailbox, stats: &side.stats, now: self.now, fx: &mut fx };
        let result = f(&mut side.peer, &mut ctx, &mut side.inbound);
        if let (Err(Fault::Break(cause)), true) = (&result, self.repairs) {
            self.broke = Some(cause.clone());
        }
        let result = result.map_err(fault_error);
        if let (Err(e), false) = (&result, self.broke.is_some() && self.repairs) {
            side.peer.fail(e.clone(), &mut ctx);
            side.failure = Some(e.clone());
        }
        self.apply(s, fx);
        result
    }

    /// Carries out effects on side `s` as `Shared::apply` does.
    pub fn apply(&mut self, s: usize, fx: Effects) {
        if let Some(abort) = fx.abort {
            self.sides[s].abort.get_or_insert(abort);
        }
        for (req, outcome) in fx.completions {
            req.complete(outcome);
        }
        for (peer, seq) in fx.acks {
            assert_eq!(peer, 1 - s, "acks go to the other rank");
            let _ = self.run(s, |p, ctx, _| {
                p.queue_ack(seq, ctx.fx);
                Ok(())
            });
        }
        for peer in fx.resume {
            assert_eq!(peer, 1 - s, "only the link to the other rank can stall");
            let _ = self.run(s, |p, ctx, _| p.resume(ctx));
        }
    }

    /// Queues a message from side `s` to the other; the request completes as `mode` says.
    pub fn send(&mut self, s: usize, tag: i32, context: u64, data: &[u8], mode: Mode) -> Arc<Request> {
        let req = Request::new();
        let flags = if mode == Mode::Sync { FLAG_SYNC } else { 0 };
        let header = FrameHeader::data(s as i32, tag, context, data.len() as u64, flags);
        let payload = match mode {
            Mode::Lent => Payload::Lent(SendBuf::from_slice(Box::leak(data.to_vec().into_boxed_slice()))),
            _ => Payload::copy_of(data),
        };
        let tracked = (mode != Mode::Eager).then(|| req.clone());
        let _ = self.run(s, |p, ctx, _| {
            p.send(header, payload, tracked, ctx.fx);
            Ok(())
        });
        if mode == Mode::Eager {
            req.complete(super::sent(data.len() as u64));
        }
        req
    }

    /// Posts a receive of `cap` bytes on side `s`, as `Runtime::irecv` does.
    pub fn recv(&mut self, s: usize, pattern: Pattern, cap: usize) -> Result<Recv> {
        let req = Request::new();
        let mut mem = vec![0u8; cap];
        // SAFETY: `mem` moves into the returned `Recv` with its heap block in place, and the
        // test reads it only through `Recv::data`, after the request completed, when the engine
        // no longer holds the `RecvBuf`.
        let buf = unsafe { RecvBuf::new(mem.as_mut_ptr(), cap) };
        let mut fx = Effects::default();
        let posting =
            self.sides[s].mailbox.lock().unwrap().post_recv(pattern, PostedRecv { req: req.clone(), buf }, &mut fx);
        let ticket = match posting? {
            Posting::Waiting(id) => Some(id),
            Posting::Claimed => None,
            Posting::Ready(delivery) => {
                let (req, outcome) = delivery.deliver();
                fx.complete(req, outcome);
                None
            }
        };
        self.apply(s, fx);
        Ok(Recv { req, ticket, context: pattern.context, mem })
    }

    /// Withdraws a waiting receive, as `Runtime::cancel` does; true if it was cancelled.
    pub fn cancel(&mut self, s: usize, recv: &Recv) -> bool {
        let Some(id) = recv.ticket else { return false };
        let Some(posted) = self.sides[s].mailbox.lock().unwrap().cancel(recv.context, id) else { return false };
        posted.req.complete(Outcome { cancelled: true, ..Outcome::empty() });
        true
    }

    /// Writes up to `max` bytes of side `s`'s queued output into the pipe toward the other
    /// side (less if the pipe is full), then half-closes after a goodbye as `Link::flush` does.
    pub fn write(&mut self, s: usize, max: usize) -> usize {
        let room = self.pipe_cap.saturating_sub(self.sides[1 - s].inbound.bytes.len());
        let limit = max.min(room);
        let mut out = Vec::new();
        let mut slices = [IoSlice::new(&[]); 2 * MAX_BATCH];
        let count = self.sides[s].peer.output(&mut slices, usize::MAX);
        for slice in &slices[..count] {
            let take = (limit - out.len()).min(slice.len());
            out.extend_from_slice(&slice[..take]);
        }
        let n = out.len();
        self.sides[1 - s].inbound.bytes.extend(out);
        if n > 0 {
            let _ = self.run(s, |p, ctx, _| {
                p.wrote(n, ctx);
                Ok(())
            });
        }
        if self.sides[s].peer.wants_shutdown() {
            self.sides[s].peer.shut_down();
            self.sides[1 - s].inbound.closed = true;
        }
        n
    }

    /// Reads up to `max` bytes from the pipe into side `s`, at most `chunk` per `received`
    /// call, as `Link::read` does; stops when the link stalls or the pipe is empty, and reports
    /// end of stream once a half-closed pipe is drained.
    pub fn read(&mut self, s: usize, max: usize, chunk: usize) -> Result<usize> {
        let mut total = 0;
        while total < max {
            let left = max - total;
            let step = self.run(s, |peer, ctx, pipe| {
                let Some(space) = peer.recv_space(ctx) else { return Ok(0) };
                if pipe.bytes.is_empty() {
                    if pipe.closed {
                        peer.end_of_stream(ctx)?;
                    }
                    return Ok(0);
                }
                assert!(!space.is_empty(), "the engine offered no room to read into");
                let n = space.len().min(chunk).min(left).min(pipe.bytes.len());
                for (dst, src) in space[..n].iter_mut().zip(pipe.bytes.drain(..n)) {
                    *dst = src;
                }
                peer.received(n, ctx)?;
                Ok(n)
            })?;
            if step == 0 {
                break;
            }
            total += step;
        }
        // As `Link::read` does after a batch of reads.
        self.run(s, |peer, ctx, _| Ok(peer.acknowledge_if_due(ctx.fx)))?;
        Ok(total)
    }

    /// The connection breaks and a new one replaces it: what is in flight either way is lost,
    /// and each side learns how many frames the other received, as the reconnect greeting
    /// says, and replays the rest.
    pub fn reconnect(&mut self) -> Result<()> {
        for side in &mut self.sides {
            side.inbound = Pipe::default();
        }
        let received = [self.sides[0].peer.received_count(), self.sides[1].peer.received_count()];
        for s in 0..2 {
            let theirs = received[1 - s];
            self.run(s, |p, ctx, _| p.reconnected(theirs, ctx.now, ctx.fx).map_err(Fault::Fatal))?;
        }
        Ok(())
    }

    /// Side `s` reads whatever arrives next as is, e.g. a raw or hostile frame.
    pub fn inject(&mut self, s: usize, bytes: &[u8]) {
        self.sides[s].inbound.bytes.extend(bytes.iter().copied());
    }

    /// Moves every byte both ways, `chunk` bytes per read, until nothing moves (acks included).
    pub fn settle(&mut self, chunk: usize) -> Result<()> {
        loop {
            let mut moved = 0;
            for s in 0..2 {
                moved += self.write(s, ALL);
                if self.sides[1 - s].failure.is_none() {
                    moved += self.read(1 - s, ALL, chunk)?;
                }
            }
            if moved == 0 {
                return Ok(());
            }
        }
    }

    /// Bytes written toward side `s` and not read yet.
    pub fn in_flight(&self, s: usize) -> usize {
        self.sides[s].inbound.bytes.len()
    }

    pub fn totals(&self, s: usize, peer: usize) -> PeerTotals {
        self.sides[s].stats.summary(s, "test", Duration::ZERO).peers[peer]
    }

    pub fn budget_used(&self, s: usize) -> u64 {
        self.sides[s].mailbox.lock().unwrap().budget_used()
    }

    /// (posted receives, unexpected messages) on side `s`.
    pub fn queued(&self, s: usize) -> (usize, usize) {
        self.sides[s].mailbox.lock().unwrap().queued()
    }
}
