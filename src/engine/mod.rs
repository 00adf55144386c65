//! The protocol engine: matching, budgets, per-link sequencing, receive state and completions, with no I/O and no clock of its own.
//!
//! In the style of quinn-proto, nothing here touches a socket, a thread or `Instant::now`:
//! the driver (`link`, `shared`, `runtime`, `progress`) reads bytes into the space a `Peer`
//! offers and reports how many arrived, writes the slices a `Peer` queues and reports how many
//! left, passes the time in, and carries out the `Effects` the engine returns (completing
//! requests, waking waiters, ending the process on a peer's abort) outside any lock.
//!
//! State is split the way it is locked: one `Mailbox` for the process (posted receives,
//! unexpected messages and their memory budget, each peer's liveness and stall) and one `Peer`
//! per link (its output queue, sequence numbers, acknowledgements and receive state), so links
//! move bytes in parallel and meet only briefly in the mailbox.

pub mod mailbox;
pub mod matching;
pub mod peer;
mod replay;
mod rx;
pub mod stall;
mod tx;

#[cfg(test)]
mod tests;

pub use mailbox::{Mailbox, PeerState, PostedRecv};
pub use peer::{LinkSettings, Peer};
pub use tx::MAX_BATCH;

use crate::request::{Outcome, Request};
use crate::stats::Stats;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What the driver must do after an engine call: complete these requests (waking their
/// waiters), send acknowledgements, resume stalled links, or end the process.
#[derive(Default)]
pub struct Effects {
    pub completions: Vec<(Arc<Request>, Outcome)>,
    /// Synchronous sends matched from the mailbox: (peer, frame sequence number) to acknowledge.
    pub acks: Vec<(usize, u64)>,
    /// Links whose stalled message may now continue (a receive matched it, or budget was freed).
    pub resume: Vec<usize>,
    /// A peer called `MPI_Abort` with this code: the process must end too.
    pub abort: Option<(usize, i32)>,
    /// Another rank reports that the job lost a link for good.
    pub job_failure: Option<LinkDown>,
    /// Links that broke and should be re-established.
    pub broken: Vec<LinkBreak>,
    /// Links lost for good, and why: the job fails.
    pub lost: Vec<(usize, crate::error::Error)>,
    /// Something a waiter may watch changed without completing a request (an unexpected
    /// message arrived, for probes).
    pub changed: bool,
}

impl Effects {
    pub fn complete(&mut self, req: Arc<Request>, outcome: Outcome) {
        self.completions.push((req, outcome));
    }

    pub fn is_empty(&self) -> bool {
        self.completions.is_empty()
            && self.acks.is_empty()
            && self.resume.is_empty()
            && self.abort.is_none()
            && self.job_failure.is_none()
            && self.broken.is_empty()
            && self.lost.is_empty()
            && !self.changed
    }
}

/// A link that broke: to `peer`, on which we had received `received` frames over the
/// connection of `epoch`, at `since`, for `cause`.
#[derive(Debug, Clone)]
pub struct LinkBreak {
    pub peer: usize,
    pub received: u64,
    pub epoch: u64,
    pub since: Instant,
    pub cause: String,
}

/// A rank's notice that the link between it and rank `lost` is gone for good, and why.
#[derive(Debug, Clone)]
pub struct LinkDown {
    pub reporter: usize,
    pub lost: usize,
    pub why: String,
}

/// What every per-link engine call needs from around it.
pub struct Ctx<'a> {
    pub mailbox: &'a Mutex<Mailbox>,
    pub stats: &'a Stats,
    pub now: Instant,
    pub fx: &'a mut Effects,
}

/// Outcome of a completed send of `len` bytes.
pub fn sent(len: u64) -> Outcome {
    Outcome { count: len, ..Outcome::empty() }
}
