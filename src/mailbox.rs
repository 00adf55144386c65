//! The state shared by the compute and progress threads: posted receives, unexpected
//! messages with their memory budget, and each peer's liveness.

use crate::buffer::UserBuf;
use crate::error::{err, Error};
use crate::matching::{Envelope, MatchEngine, Pattern};
use crate::request::{Outcome, Request};
use std::sync::Arc;

/// A receive waiting for its message.
#[derive(Debug)]
pub struct PostedRecv {
    pub req: Arc<Request>,
    pub buf: UserBuf,
}

impl PostedRecv {
    /// Copies a whole message in, reporting truncation as MPI does: as many bytes as fit,
    /// and `MPI_ERR_TRUNCATE` in the status.
    pub fn fill(&self, env: &Envelope, data: &[u8]) -> Outcome {
        let n = data.len().min(self.buf.len());
        self.buf.bytes_mut(0)[..n].copy_from_slice(&data[..n]);
        self.outcome(env, data.len() as u64)
    }

    /// The outcome once a message of `len` bytes has been written (and cut to fit).
    pub fn outcome(&self, env: &Envelope, len: u64) -> Outcome {
        let cap = self.buf.len() as u64;
        Outcome {
            source: env.source,
            tag: env.tag,
            count: len.min(cap),
            error: (len > cap).then(|| {
                err!(
                    Truncate,
                    "message truncated: rank {} sent {len} bytes with tag {} but the receive buffer holds {cap} bytes",
                    env.source,
                    env.tag
                )
            }),
            cancelled: false,
        }
    }
}

/// How far an unexpected message has got.
#[derive(Debug)]
pub enum Stage {
    /// Wholly received into memory we own.
    Buffered(Vec<u8>),
    /// Its payload is streaming in on the link right now.
    Arriving,
    /// Only the header is in: the budget was full, so the link waits for a receive or for room.
    Stalled,
}

/// Who must be told when a synchronous send is matched.
#[derive(Debug)]
pub enum SyncNotice {
    None,
    /// A remote sender: acknowledge this frame sequence number to it.
    Remote(u64),
    /// A send to ourselves: complete its request.
    Local(Arc<Request>),
}

#[derive(Debug)]
pub struct Unexpected {
    pub peer: usize,
    pub len: u64,
    pub sync: SyncNotice,
    pub stage: Stage,
    /// A receive that matched while the payload was still arriving or stalled.
    pub claimed: Option<PostedRecv>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerState {
    Alive,
    /// Said goodbye at its `MPI_Finalize`; it will send nothing more.
    Finished,
    Failed(Error),
}

pub struct Mailbox {
    pub engine: MatchEngine<PostedRecv, Unexpected>,
    pub budget_used: u64,
    pub budget_limit: u64,
    pub peers: Vec<PeerState>,
    /// Peers whose link waits for budget or a matching receive.
    pub stalled: Vec<bool>,
}

impl Mailbox {
    pub fn new(size: usize, budget_limit: u64) -> Mailbox {
        Mailbox {
            engine: MatchEngine::new(),
            budget_used: 0,
            budget_limit,
            peers: vec![PeerState::Alive; size],
            stalled: vec![false; size],
        }
    }

    /// Why nothing more can come from `peer`, if so.
    pub fn peer_error(&self, peer: usize) -> Option<Error> {
        match &self.peers[peer] {
            PeerState::Alive => None,
            PeerState::Finished => Some(err!(
                ProcAborted,
                "rank {peer} has already called MPI_Finalize; it will send or receive nothing more"
            )),
            PeerState::Failed(e) => Some(e.clone()),
        }
    }

    /// The peers whose link failed rather than closing with a goodbye, with why.
    pub fn failed_peers(&self) -> Vec<(usize, Error)> {
        let failed = self.peers.iter().enumerate();
        failed.filter_map(|(p, s)| if let PeerState::Failed(e) = s { Some((p, e.clone())) } else { None }).collect()
    }

    pub fn reserve(&mut self, len: u64) -> bool {
        if self.budget_used + len > self.budget_limit {
            return false;
        }
        self.budget_used += len;
        true
    }

    pub fn release(&mut self, len: u64) {
        self.budget_used = self.budget_used.saturating_sub(len);
    }

    /// Marks `peer` gone and takes out every receive that can now never complete:
    /// posted ones naming it (or any source, when `fail_wildcards`), and claimed
    /// messages from it that were still arriving.
    pub fn bury_peer(&mut self, peer: usize, state: PeerState, fail_wildcards: bool) -> Vec<PostedRecv> {
        self.peers[peer] = state;
        self.stalled[peer] = false;
        let src = peer as i32;
        let mut doomed =
            self.engine.drain_posted(|p: &Pattern| p.source == Some(src) || (fail_wildcards && p.source.is_none()));
        let incomplete = self.engine.drain_unexpected(|u| u.peer == peer && !matches!(u.stage, Stage::Buffered(_)));
        for u in incomplete {
            if !matches!(u.stage, Stage::Stalled) {
                self.release(u.len);
            }
            doomed.extend(u.claimed);
        }
        doomed
    }
}
