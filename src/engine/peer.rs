//! One link's protocol state: its send queue and receive state, acknowledgements, liveness (heartbeats and the silence timeout), replay after a reconnect, its goodbye handshake, and what failing it means for the requests that wait on it.

use super::mailbox::PeerState;
use super::rx::Rx;
use super::tx::{Tx, MAX_BATCH};
use super::{Ctx, Effects};
use crate::buffer::Payload;
use crate::error::{err, Error, Fault};
use crate::request::{Outcome, Request};
use crate::sync::lock;
use crate::wire::{FrameHeader, FrameKind};
use std::io::IoSlice;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Frames received and not yet acknowledged before an acknowledgement goes out on its own.
const ACK_EVERY: u64 = 32;

/// What every link of a job shares (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct LinkSettings {
    /// Frames longer than this are refused (PARTYLINE_MAX_FRAME).
    pub max_frame: u64,
    /// Bytes of copies a link may hold (PARTYLINE_SEND_LIMIT).
    pub send_budget: u64,
    /// Silence after which the link is broken (PARTYLINE_LINK_TIMEOUT).
    pub link_timeout: Duration,
    /// CRC32C on every frame: plaintext links (TLS authenticates its records already).
    pub checksums: bool,
}

impl LinkSettings {
    /// An idle link sends a heartbeat this often: four chances before the peer's timeout.
    pub fn heartbeat(&self) -> Duration {
        self.link_timeout / 4
    }
}

pub struct Peer {
    pub(super) peer: usize,
    rank: usize,
    pub(super) max_frame: u64,
    pub(super) checksums: bool,
    link_timeout: Duration,
    heartbeat: Duration,
    pub(super) tx: Tx,
    pub(super) rx: Rx,
    goodbye_sent: bool,
    shut: bool,
    pub(super) goodbye_received: bool,
    pub(super) eof: bool,
    failed: bool,
    last_heard: Instant,
    last_sent: Instant,
}

impl Peer {
    /// The link from `rank` (this process) to `peer`, opened at `now`.
    pub fn new(rank: usize, peer: usize, settings: LinkSettings, now: Instant) -> Peer {
        Peer {
            peer,
            rank,
            max_frame: settings.max_frame,
            checksums: settings.checksums,
            link_timeout: settings.link_timeout,
            heartbeat: settings.heartbeat(),
            tx: Tx::new(peer, settings.send_budget, settings.checksums),
            rx: Rx::new(),
            goodbye_sent: false,
            shut: false,
            goodbye_received: false,
            eof: false,
            failed: false,
            last_heard: now,
            last_sent: now,
        }
    }

    /// The rank at the other end.
    pub fn peer_rank(&self) -> usize {
        self.peer
    }

    pub fn is_failed(&self) -> bool {
        self.failed
    }

    /// Finished with, for `MPI_Finalize`: both directions closed, or broken for good.
    pub fn is_closed(&self) -> bool {
        self.failed || (self.shut && self.eof)
    }

    /// Frames are queued, or the goodbye's half-close is still due.
    pub fn has_output(&self) -> bool {
        !self.tx.is_empty() || self.wants_shutdown()
    }

    /// Both goodbyes are through and acknowledged both ways (or the peer has closed after
    /// its goodbye, so nothing more can be acknowledged): the driver should half-close.
    pub fn wants_shutdown(&self) -> bool {
        let settled = self.goodbye_received && self.tx.is_settled() && self.tx.ack_sent() >= self.rx.complete;
        self.goodbye_sent && !self.shut && self.tx.is_empty() && (settled || self.eof)
    }

    /// Either side has said goodbye: the link is on its way to closing.
    pub fn saying_goodbye(&self) -> bool {
        self.goodbye_sent || self.goodbye_received
    }

    /// The driver half-closed the link.
    pub fn shut_down(&mut self) {
        self.shut = true;
    }

    /// Whether the link waits for a receive or for room before it reads on.
    pub fn is_stalled(&self) -> bool {
        self.rx.is_stalled()
    }

    /// Whether a copy of `len` more bytes fits this link's send budget (PARTYLINE_SEND_LIMIT).
    pub fn has_room(&self, len: u64) -> bool {
        self.tx.has_room(len)
    }

    /// Bytes of copies this link holds (queued, or written and not yet acknowledged).
    pub fn held(&self) -> u64 {
        self.tx.held()
    }

    /// Queues a frame; a closed or failed link fails the send's request instead.
    pub fn send(&mut self, header: FrameHeader, payload: Payload, req: Option<Arc<Request>>, fx: &mut Effects) {
        let closed = match header.kind {
            FrameKind::Ack => self.shut,
            _ => self.goodbye_sent,
        };
        if self.failed || closed {
            if let Some(req) = req {
                let why = err!(ProcAborted, "cannot send to rank {}: the link is closed", self.peer);
                fx.complete(req, Outcome::failed(why));
            }
            return;
        }
        if header.kind == FrameKind::Goodbye {
            self.goodbye_sent = true;
        }
        self.tx.push(header, payload, req);
    }

    /// Queues the goodbye frame: after it, this side sends only acknowledgements.
    pub fn say_goodbye(&mut self, fx: &mut Effects) {
        let bye = FrameHeader::control(FrameKind::Goodbye, self.rank as i32, 0);
        self.send(bye, Payload::empty(), None, fx);
    }

    /// Tells the sender that its synchronous send `seq` matched.
    pub fn queue_ack(&mut self, seq: u64, fx: &mut Effects) {
        let ack = FrameHeader::control(FrameKind::SyncAck, self.rank as i32, seq);
        self.send(ack, Payload::empty(), None, fx);
    }

    /// Tells the peer that the job lost its link to `lost` for good, and why.
    pub fn notify_link_down(&mut self, lost: usize, why: &str, fx: &mut Effects) {
        let text = &why.as_bytes()[..why.len().min(crate::wire::MAX_NOTICE as usize)];
        let mut header = FrameHeader::control(FrameKind::LinkDown, self.rank as i32, lost as u64);
        header.len = text.len() as u64;
        self.send(header, Payload::copy_of(text), None, fx);
    }

    /// Queues a bare acknowledgement (also the heartbeat).
    fn acknowledge_now(&mut self, fx: &mut Effects) {
        self.rx.ack_now = false;
        let ack = FrameHeader::control(FrameKind::Ack, self.rank as i32, 0);
        self.send(ack, Payload::empty(), None, fx);
    }

    /// After a batch of reads: acknowledges at once if a sender waits on it, or if enough
    /// frames came in to free a good part of its window. True if something was queued.
    pub fn acknowledge_if_due(&mut self, fx: &mut Effects) -> bool {
        let unacked = self.rx.complete.saturating_sub(self.tx.ack_sent());
        if unacked == 0 {
            self.rx.ack_now = false;
        }
        let due = unacked > 0 && (self.rx.ack_now || unacked >= ACK_EVERY);
        if due && self.tx.is_empty() {
            self.acknowledge_now(fx);
        }
        due
    }

    /// The link's timers at `now`: a heartbeat (carrying the acknowledgement) when it has sent
    /// nothing for a while or owes one, and a `Break` when the peer has been silent for the
    /// link timeout. A link waiting for a receive reads nothing, so it cannot hear the peer:
    /// its silence does not count.
    pub fn on_timer(&mut self, now: Instant, fx: &mut Effects) -> Result<(), Fault> {
        if self.failed || self.eof {
            return Ok(());
        }
        if self.is_stalled() {
            self.last_heard = now;
        }
        let silent = now.saturating_duration_since(self.last_heard);
        if silent >= self.link_timeout {
            return Err(Fault::Break(format!("no traffic from rank {} for {} s", self.peer, silent.as_secs())));
        }
        let owed = self.rx.complete > self.tx.ack_sent();
        let quiet = now.saturating_duration_since(self.last_sent) >= self.heartbeat;
        if (owed || quiet) && self.tx.is_empty() && !self.shut {
            self.acknowledge_now(fx);
        }
        Ok(())
    }

    /// When the next timer is due (heartbeat or timeout), for the driver's poll timeout.
    pub fn next_timer(&self) -> Instant {
        (self.last_sent + self.heartbeat).min(self.last_heard + self.link_timeout)
    }

    pub(super) fn heard(&mut self, now: Instant) {
        self.last_heard = now;
    }

    /// Releases every written frame as an acknowledgement of all of them would (benchmarks
    /// whose far end only drains the socket).
    pub fn acknowledged_all(&mut self, fx: &mut Effects) {
        let _ = self.tx.acknowledge(self.tx.written_count(), fx);
    }

    /// Sequenced frames fully received from the peer: where a replay must resume.
    pub fn received_count(&self) -> u64 {
        self.rx.complete
    }

    /// A new connection replaces the broken one at `now`; the peer has received `received`
    /// of our frames. The rest are written again, in order, and a frame we were receiving
    /// is expected again from its start.
    pub fn reconnected(&mut self, received: u64, now: Instant, fx: &mut Effects) -> Result<(), Error> {
        self.tx.rewind(received, fx)?;
        self.rx.rewind();
        self.shut = false;
        self.last_heard = now;
        self.last_sent = now;
        Ok(())
    }

    /// See `Tx::hold`: whether a nonblocking eager send just queued may wait for the next ones.
    pub fn hold(&mut self, now: Instant) -> Option<bool> {
        self.tx.hold(now)
    }

    pub fn burst_send_done(&mut self, now: Instant) {
        self.tx.burst_send_done(now);
    }

    /// The next `limit` bytes (at most) to write, their headers carrying our current
    /// acknowledgement; returns how many slices it filled.
    pub fn output<'a>(&'a mut self, slices: &mut [IoSlice<'a>; 2 * MAX_BATCH], limit: usize) -> usize {
        self.tx.prepare(self.rx.complete, limit);
        self.tx.output(slices, limit)
    }

    /// `n` bytes of `output` were written.
    pub fn wrote(&mut self, n: usize, ctx: &mut Ctx) {
        self.last_sent = ctx.now;
        self.tx.wrote(n, ctx.stats, ctx.fx);
    }

    /// Lets a blocking send return although its link is stuck, by copying its message if the
    /// send budget has room; false if it must keep waiting.
    pub fn detach(&mut self, req: &Arc<Request>, fx: &mut Effects) -> bool {
        self.tx.detach(req, fx)
    }

    /// The path's round-trip time (see `Tx::set_path_rtt`).
    pub fn set_path_rtt(&mut self, rtt: std::time::Duration) {
        self.tx.set_path_rtt(rtt);
    }

    /// Fails everything pending on this link and marks the peer gone. The driver closes the
    /// socket.
    pub fn fail(&mut self, why: Error, ctx: &mut Ctx) {
        if self.failed {
            return;
        }
        self.failed = true;
        let mut reqs = self.tx.drain_requests();
        if let Some(recv) = self.rx.take_direct() {
            reqs.push(recv.req);
        }
        let doomed = lock(ctx.mailbox).bury_peer(self.peer, PeerState::Failed(why.clone()), true, ctx.fx);
        reqs.extend(doomed.into_iter().map(|r| r.req));
        for req in reqs {
            ctx.fx.complete(req, Outcome::failed(why.clone()));
        }
        ctx.fx.changed = true;
    }

    /// The peer finished cleanly; receives still waiting on it alone can never match.
    pub(super) fn finished(&mut self, ctx: &mut Ctx) {
        let (doomed, why) = {
            let mut mb = lock(ctx.mailbox);
            let doomed = mb.bury_peer(self.peer, PeerState::Finished, false, ctx.fx);
            (doomed, mb.peer_error(self.peer).expect("just marked finished"))
        };
        for recv in doomed {
            ctx.fx.complete(recv.req, Outcome::failed(why.clone()));
        }
        ctx.fx.changed = true;
    }
}
