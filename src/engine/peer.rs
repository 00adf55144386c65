//! One link's protocol state: its send queue and receive state, its goodbye handshake, and what failing it means for the requests that wait on it.

use super::mailbox::PeerState;
use super::rx::Rx;
use super::tx::{Tx, MAX_BATCH};
use super::{Ctx, Effects};
use crate::buffer::Payload;
use crate::error::{err, Error};
use crate::request::{Outcome, Request};
use crate::stats::Stats;
use crate::sync::lock;
use crate::wire::{FrameHeader, FrameKind};
use std::io::IoSlice;
use std::sync::Arc;
use std::time::Instant;

pub struct Peer {
    pub(super) peer: usize,
    rank: usize,
    pub(super) max_frame: u64,
    pub(super) tx: Tx,
    pub(super) rx: Rx,
    goodbye_sent: bool,
    shut: bool,
    pub(super) goodbye_received: bool,
    pub(super) eof: bool,
    failed: bool,
}

impl Peer {
    /// The link from `rank` (this process) to `peer`; frames longer than `max_frame` are refused.
    pub fn new(rank: usize, peer: usize, max_frame: u64) -> Peer {
        Peer {
            peer,
            rank,
            max_frame,
            tx: Tx::new(peer),
            rx: Rx::new(),
            goodbye_sent: false,
            shut: false,
            goodbye_received: false,
            eof: false,
            failed: false,
        }
    }

    /// The rank at the other end.
    pub fn peer_rank(&self) -> usize {
        self.peer
    }

    pub fn is_failed(&self) -> bool {
        self.failed
    }

    /// Finished with, for `MPI_Finalize`: both directions closed, or broken.
    pub fn is_closed(&self) -> bool {
        self.failed || (self.shut && self.eof)
    }

    /// Frames are queued, or the goodbye's half-close is still due.
    pub fn has_output(&self) -> bool {
        !self.tx.is_empty() || self.wants_shutdown()
    }

    /// Everything, goodbye included, is written: the driver should half-close the link now.
    pub fn wants_shutdown(&self) -> bool {
        self.goodbye_sent && !self.shut && self.tx.is_empty()
    }

    /// The driver half-closed the link.
    pub fn shut_down(&mut self) {
        self.shut = true;
    }

    /// Whether the link waits for a receive or for room before it reads on.
    pub fn is_stalled(&self) -> bool {
        self.rx.is_stalled()
    }

    /// Queues a frame; a closed or failed link fails the send's request instead.
    pub fn send(&mut self, header: FrameHeader, payload: Payload, req: Option<Arc<Request>>, fx: &mut Effects) {
        if self.failed || self.goodbye_sent {
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

    /// Queues the goodbye frame: after it, this side sends nothing and half-closes.
    pub fn say_goodbye(&mut self, fx: &mut Effects) {
        let bye = FrameHeader::control(FrameKind::Goodbye, self.rank as i32, 0);
        self.send(bye, Payload::empty(), None, fx);
    }

    /// Tells the sender that its synchronous send `seq` matched.
    pub fn queue_ack(&mut self, seq: u64, fx: &mut Effects) {
        let ack = FrameHeader::control(FrameKind::SyncAck, self.rank as i32, seq);
        self.send(ack, Payload::empty(), None, fx);
    }

    /// See `Tx::hold`: whether a nonblocking eager send just queued may wait for the next ones.
    pub fn hold(&mut self, now: Instant) -> Option<bool> {
        self.tx.hold(now)
    }

    pub fn burst_send_done(&mut self, now: Instant) {
        self.tx.burst_send_done(now);
    }

    /// The bytes to write next; returns how many slices it filled.
    pub fn output<'a>(&'a self, slices: &mut [IoSlice<'a>; 2 * MAX_BATCH]) -> usize {
        self.tx.output(slices)
    }

    /// `n` bytes of `output` were written.
    pub fn wrote(&mut self, n: usize, stats: &Stats, fx: &mut Effects) {
        self.tx.wrote(n, stats, fx);
    }

    /// Lets a blocking send return although its link is stuck: its unsent rest is copied.
    pub fn detach(&mut self, req: &Arc<Request>, fx: &mut Effects) -> bool {
        self.tx.detach(req, fx)
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
