//! The process's matching state: posted receives, unexpected messages with their memory budget, each peer's liveness, and the links that wait for a receive or for room.

use super::matching::{Envelope, MatchEngine, Pattern};
use super::stall::{defer_limit, Stall, DEFER_MIN};
use super::{sent, Effects};
use crate::buffer::RecvBuf;
use crate::error::{err, Error, Result};
use crate::request::{Outcome, Request};
use std::sync::Arc;
use std::time::Instant;

#[path = "matched.rs"]
mod matched;
pub use matched::Matched;

/// A receive waiting for its message.
#[derive(Debug)]
pub struct PostedRecv {
    pub req: Arc<Request>,
    pub buf: RecvBuf,
}

impl PostedRecv {
    /// Copies a whole message in, reporting truncation as MPI does: as many bytes as fit,
    /// and `MPI_ERR_TRUNCATE` in the status.
    pub fn fill(mut self, env: &Envelope, data: &[u8]) -> (Arc<Request>, Outcome) {
        let n = data.len().min(self.buf.len());
        self.buf.bytes_mut()[..n].copy_from_slice(&data[..n]);
        let outcome = self.outcome(env, data.len() as u64);
        (self.req, outcome)
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

/// A buffered message taken by a receive: the copy into the user's buffer happens after the
/// mailbox is unlocked (`deliver`), so a large copy does not hold up the links.
pub struct Delivery {
    recv: PostedRecv,
    env: Envelope,
    data: Vec<u8>,
}

impl Delivery {
    pub fn deliver(self) -> (Arc<Request>, Outcome) {
        self.recv.fill(&self.env, &self.data)
    }
}

/// How far an unexpected message has got.
#[derive(Debug)]
enum Stage {
    /// Wholly received into memory we own.
    Buffered(Vec<u8>),
    /// Its payload is streaming in on the link right now.
    Arriving,
    /// Only the header is in: its link waits for a receive or for budget.
    Stalled,
}

/// Who must be told when a synchronous send is matched.
#[derive(Debug)]
enum SyncNotice {
    None,
    /// A remote sender: acknowledge this frame sequence number to it.
    Remote(u64),
    /// A send to ourselves: complete its request.
    Local(Arc<Request>),
}

#[derive(Debug)]
struct Unexpected {
    peer: usize,
    len: u64,
    sync: SyncNotice,
    stage: Stage,
    /// A receive that matched while the payload was still arriving or stalled.
    claimed: Option<PostedRecv>,
    /// Taken out of matching by a matched probe (`MPI_Mprobe`): only the receive given its
    /// message handle may take it.
    reserved: bool,
}

impl Unexpected {
    /// Whether an ordinary receive or probe may still match it.
    fn open(&self) -> bool {
        self.claimed.is_none() && !self.reserved
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerState {
    Alive,
    /// Said goodbye at its `MPI_Finalize`; it will send nothing more.
    Finished,
    Failed(Error),
}

/// Where an arriving message's payload goes.
#[derive(Debug)]
pub enum Arrival {
    /// A posted receive matched: straight into its buffer.
    Direct(PostedRecv),
    /// Into memory of our own, as unexpected message `id` (budget reserved).
    Buffer { id: u64 },
    /// Nowhere yet: the link waits (unexpected message `id`).
    Stall { id: u64 },
    /// An empty message, complete already.
    Done,
}

/// What a stalled link may do now.
#[derive(Debug)]
pub enum Resumption {
    Direct(PostedRecv),
    Buffer,
    Wait,
}

/// Whether a receive matched at once.
pub enum Posting {
    /// Queued, with this id for cancelling.
    Waiting(u64),
    /// Matched a message still arriving or stalled; it completes when its payload is in.
    Claimed,
    /// Matched a buffered message: copy it in (after unlocking).
    Ready(Delivery),
}

pub struct Mailbox {
    matcher: MatchEngine<PostedRecv, Unexpected>,
    budget_used: u64,
    budget_limit: u64,
    peers: Vec<PeerState>,
    stalls: Vec<Option<Stall>>,
}

impl Mailbox {
    pub fn new(size: usize, budget_limit: u64) -> Mailbox {
        Mailbox {
            matcher: MatchEngine::new(),
            budget_used: 0,
            budget_limit,
            peers: vec![PeerState::Alive; size],
            stalls: vec![None; size],
        }
    }

    /// Why nothing more can come from `peer`, if so.
    pub fn peer_error(&self, peer: usize) -> Option<Error> {
        match self.peers.get(peer)? {
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

    /// Bytes of unexpected messages held now.
    pub fn budget_used(&self) -> u64 {
        self.budget_used
    }

    fn reserve(&mut self, len: u64) -> bool {
        if self.budget_used + len > self.budget_limit {
            return false;
        }
        self.budget_used += len;
        true
    }

    /// Frees `len` bytes of budget: every link stalled for room may fit now.
    fn release(&mut self, len: u64, fx: &mut Effects) {
        self.budget_used = self.budget_used.saturating_sub(len);
        fx.resume.extend(self.stalled_links());
    }

    /// Every stalled link: room was freed, and any of them may fit now.
    fn stalled_links(&self) -> impl Iterator<Item = usize> + '_ {
        self.stalls.iter().enumerate().filter(|(_, s)| s.is_some()).map(|(p, _)| p)
    }

    /// Posts a receive: it takes the earliest matching unexpected message not yet claimed, or
    /// waits in the queue. `pattern.source` is a world rank.
    pub fn post_recv(&mut self, pattern: Pattern, recv: PostedRecv, fx: &mut Effects) -> Result<Posting> {
        let found = self.matcher.find_unexpected(&pattern, Unexpected::open).map(|(id, env, _)| (id, env));
        let Some((id, env)) = found else {
            if let Some(why) = pattern.source.and_then(|s| self.peer_error(s as usize)) {
                return Err(why);
            }
            return Ok(Posting::Waiting(self.matcher.post(pattern, recv)));
        };
        Ok(self.take_unexpected(env, id, recv, fx))
    }

    /// A matched synchronous send's sender may now complete: tell it, once.
    fn notify_sync(u: &mut Unexpected, fx: &mut Effects) {
        match std::mem::replace(&mut u.sync, SyncNotice::None) {
            SyncNotice::None => {}
            SyncNotice::Local(send) => fx.complete(send, sent(u.len)),
            SyncNotice::Remote(seq) => fx.acks.push((u.peer, seq)),
        }
    }

    /// Receive `recv` takes unexpected message `id` (which must exist): at once if buffered,
    /// else as its claim, completed when the payload is in.
    fn take_unexpected(&mut self, env: Envelope, id: u64, recv: PostedRecv, fx: &mut Effects) -> Posting {
        let u = self.matcher.unexpected_mut(env.context, id).expect("the caller found it");
        Self::notify_sync(u, fx);
        if !matches!(u.stage, Stage::Buffered(_)) {
            if matches!(u.stage, Stage::Stalled) {
                fx.resume.push(u.peer);
            }
            u.claimed = Some(recv);
            return Posting::Claimed;
        }
        let u = self.matcher.remove_unexpected(env.context, id).expect("just found");
        self.release(u.len, fx);
        let Stage::Buffered(data) = u.stage else { unreachable!("checked above") };
        Posting::Ready(Delivery { recv, env, data })
    }

    /// Withdraws a posted receive that has not matched yet.
    pub fn cancel(&mut self, context: u64, id: u64) -> Option<PostedRecv> {
        self.matcher.cancel(context, id)
    }

    /// The envelope and length of the earliest matching unclaimed message, if one has arrived.
    pub fn probe(&mut self, pattern: &Pattern) -> Result<Option<(Envelope, u64)>> {
        if let Some((_, env, u)) = self.matcher.find_unexpected(pattern, Unexpected::open) {
            return Ok(Some((env, u.len)));
        }
        match pattern.source.and_then(|s| self.peer_error(s as usize)) {
            Some(why) => Err(why),
            None => Ok(None),
        }
    }

    /// A message this process sends to itself. Held unexpected, it counts against the budget
    /// like any other; `sync`: a synchronous send, completed when a receive takes the message.
    /// Returns the receive it matched at once, if any, for the copy.
    pub fn send_to_self(
        &mut self,
        env: Envelope,
        data: &[u8],
        sync: Option<Arc<Request>>,
    ) -> Result<Option<(PostedRecv, Option<Arc<Request>>)>> {
        if let Some(recv) = self.matcher.arrive(&env) {
            return Ok(Some((recv, sync)));
        }
        let len = data.len() as u64;
        if !self.reserve(len) {
            return Err(err!(
                NoMem,
                "a send of {len} bytes from rank {} to itself finds no matching receive, and holding it would exceed the \
                 {} bytes allowed for unexpected messages ({} in use); post the receive first, or raise \
                 PARTYLINE_UNEXPECTED_LIMIT",
                env.source,
                self.budget_limit,
                self.budget_used
            ));
        }
        let sync = sync.map_or(SyncNotice::None, SyncNotice::Local);
        let peer = env.source as usize;
        let msg = Unexpected { peer, len, sync, stage: Stage::Buffered(data.to_vec()), claimed: None, reserved: false };
        self.matcher.push_unexpected(env, msg);
        Ok(None)
    }

    /// A data frame's header arrived from `peer`: match it, or hold it as unexpected.
    /// `sync`: the sender waits for an acknowledgement of frame `seq` once it is matched.
    pub fn arrive(&mut self, peer: usize, env: Envelope, len: u64, sync: Option<u64>, now: Instant) -> Arrival {
        if let Some(recv) = self.matcher.arrive(&env) {
            return Arrival::Direct(recv);
        }
        let sync = sync.map_or(SyncNotice::None, SyncNotice::Remote);
        let mut msg = Unexpected { peer, len, sync, stage: Stage::Arriving, claimed: None, reserved: false };
        if len == 0 {
            msg.stage = Stage::Buffered(Vec::new());
            self.matcher.push_unexpected(env, msg);
            return Arrival::Done;
        }
        if len < DEFER_MIN && self.reserve(len) {
            return Arrival::Buffer { id: self.matcher.push_unexpected(env, msg) };
        }
        msg.stage = Stage::Stalled;
        let id = self.matcher.push_unexpected(env, msg);
        self.stalls[peer] = Some(Stall { len, deferred_since: (len >= DEFER_MIN).then_some(now) });
        Arrival::Stall { id }
    }

    /// A message that streams into our memory was claimed by a receive meanwhile: take the
    /// receive out, so the rest of the payload goes straight into its buffer. Its room is
    /// free again, so links stalled for room may continue.
    pub fn take_claim(&mut self, context: u64, id: u64, fx: &mut Effects) -> Option<PostedRecv> {
        let recv = self.matcher.unexpected_mut(context, id)?.claimed.take()?;
        let u = self.matcher.remove_unexpected(context, id).expect("just found");
        self.release(u.len, fx);
        Some(recv)
    }

    /// The whole payload of unexpected message `id` is in `data`. If a receive claimed it
    /// meanwhile, that receive is returned (with the data back) for the copy.
    pub fn buffered(
        &mut self,
        context: u64,
        id: u64,
        data: Vec<u8>,
        fx: &mut Effects,
    ) -> Option<(PostedRecv, Vec<u8>)> {
        if let Some(recv) = self.take_claim(context, id, fx) {
            return Some((recv, data));
        }
        if let Some(u) = self.matcher.unexpected_mut(context, id) {
            u.stage = Stage::Buffered(data);
        }
        None
    }

    /// Whether `peer`'s stalled message (unexpected `id`) can continue: into a receive that
    /// claimed it, or into our memory once its deferral is over and the budget has room.
    pub fn resume(&mut self, peer: usize, context: u64, id: u64, now: Instant) -> Resumption {
        let Some(stall) = self.stalls[peer] else { return Resumption::Wait };
        let Some(u) = self.matcher.unexpected_mut(context, id) else { return Resumption::Wait };
        if u.claimed.is_some() {
            let recv = u.claimed.take().expect("checked");
            self.matcher.remove_unexpected(context, id);
            self.stalls[peer] = None;
            return Resumption::Direct(recv);
        }
        if stall.deferred_since.is_some_and(|t| now.saturating_duration_since(t) < defer_limit(stall.len)) {
            return Resumption::Wait;
        }
        if !self.reserve(stall.len) {
            // No room: an ordinary stall from now on, resumed by a receive or free budget.
            self.stalls[peer] = Some(Stall { deferred_since: None, ..stall });
            return Resumption::Wait;
        }
        if let Some(u) = self.matcher.unexpected_mut(context, id) {
            u.stage = Stage::Arriving;
        }
        self.stalls[peer] = None;
        Resumption::Buffer
    }

    /// Whether any link holds a large message back for its receive (and so needs a timer).
    pub fn has_deferrals(&self) -> bool {
        self.stalls.iter().flatten().any(|s| s.deferred_since.is_some())
    }

    /// When the earliest deferred message must be buffered, if any is deferred.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.stalls.iter().flatten().filter_map(|s| s.deferred_since.map(|t| t + defer_limit(s.len))).min()
    }

    /// Marks `peer` gone and takes out every receive that can now never complete:
    /// posted ones naming it (or any source, when `fail_wildcards`), and claimed
    /// messages from it that were still arriving. Room they held lets stalled links continue.
    pub fn bury_peer(
        &mut self,
        peer: usize,
        state: PeerState,
        fail_wildcards: bool,
        fx: &mut Effects,
    ) -> Vec<PostedRecv> {
        self.peers[peer] = state;
        self.stalls[peer] = None;
        let src = peer as i32;
        let mut doomed =
            self.matcher.drain_posted(|p: &Pattern| p.source == Some(src) || (fail_wildcards && p.source.is_none()));
        let incomplete = self.matcher.drain_unexpected(|u| u.peer == peer && !matches!(u.stage, Stage::Buffered(_)));
        for u in incomplete {
            if matches!(u.stage, Stage::Arriving) {
                self.release(u.len, fx);
            }
            doomed.extend(u.claimed);
        }
        doomed
    }

    /// Counts of posted receives and unexpected messages (for tests and diagnostics).
    pub fn queued(&self) -> (usize, usize) {
        (self.matcher.posted_len(), self.matcher.unexpected_len())
    }
}
