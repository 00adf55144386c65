//! One end of a partitioned transfer and its rounds: the messages each MPI_Start/MPI_Pready sends or receives, and when a round is done.
//!
//! Design (MPI 4.1 ch. 4). The k-th `MPI_Psend_init` from rank a to rank b with tag t on a
//! communicator matches the k-th `MPI_Precv_init` at b from a with tag t (init order). Each such
//! pair gets a private context, hashed from the communicator's context, both world ranks, the
//! tag and k, so its traffic never meets any other messages. On that context:
//! - at init each end sends the other its cut (partition count and size, `partition::Cut`) on a
//!   hidden tag, and posts a receive for the other's;
//! - each send partition goes out as its own message, tagged with its index, the moment
//!   `MPI_Pready` marks it (no waiting for the others: that overlap is the point);
//! - the receiver, once it knows the sender's cut, posts one receive per send partition straight
//!   into its buffer at that partition's offset, so the ends may partition differently; a
//!   receive partition has arrived when every send partition overlapping it has
//!   (`partition::senders_of`).
//!
//! Messages on one (context, source, tag) never overtake each other, so round r+1's message
//! for a partition can only match round r+1's receive, even if it arrives early. A round is done
//! when all its partition messages are and the peer's cut has been checked against this end's:
//! different totals fail the round on both ends with a clear error, never wrong data.
//! The peer's cut may arrive after `MPI_Start`: the round then waits for it, and the receiver's
//! receives are posted by the cut's arrival (a request continuation, run outside every lock).
//! Continuations touch only atomics and the round's request, never a lock held while posting.

use super::region::Region;
use super::state::state;
use crate::comm::{derive_context, Comm};
use crate::engine::matching::Pattern;
use crate::error::{Error, Result};
use crate::partition::{self, Cut};
use crate::request::{Outcome, Request};
use crate::runtime::SendMode;
use crate::sync::lock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

/// Tags of the cut each end sends the other, above every partition index (partition messages
/// use tags from 0; the wire carries only non-negative tags).
const SENDER_CUT_TAG: i32 = i32::MAX;
const RECEIVER_CUT_TAG: i32 = i32::MAX - 1;
/// The most partitions a request may have, so partition tags stay below the cuts' tags.
pub const MAX_PARTITIONS: usize = RECEIVER_CUT_TAG as usize;

/// How many partitioned pairs each (communicator, sender, receiver, tag, side) has made, so the
/// k-th send init and the k-th receive init compute the same context.
static PAIRS_MADE: LazyLock<Mutex<HashMap<PairKey, u64>>> = LazyLock::new(Mutex::default);
/// (communicator context, sender world rank, receiver world rank, tag, whether the sending end).
type PairKey = (u64, usize, usize, i32, bool);

/// The other end, unless the peer is MPI_PROC_NULL.
struct Link {
    peer: usize,
    context: u64,
}

/// What is known of the peer's cut; a round started before it arrived waits in `pending`.
enum PeerCut {
    Unknown { pending: Option<Arc<Round>> },
    Known(Result<Cut>),
}

pub struct Endpoint {
    pub sends: bool,
    pub cut: Cut,
    buf: Region,
    link: Option<Link>,
    /// The status a finished round reports: the peer's world rank (or PROC_NULL) and the tag.
    status: Outcome,
    peer_cut: Mutex<PeerCut>,
    /// The latest round started (kept after it finishes, for MPI_Parrived on an inactive request).
    round: Mutex<Option<Arc<Round>>>,
}

// SAFETY: the only field that is not Sync is `buf`, an address and length that is only ever
// copied (Region is Copy); the bytes behind it are reached through Region's unsafe views, under
// MPI's buffer rules, exactly as when a region travels to another thread (Region is Send).
unsafe impl Sync for Endpoint {}

/// One MPI_Start to completion.
pub struct Round {
    pub request: Arc<Request>,
    /// Parts left: partition messages, plus one for the peer's cut being checked.
    remaining: AtomicUsize,
    /// Sender: partitions marked ready this round.
    ready: Vec<AtomicBool>,
    /// Receiver: send partitions received this round, sized once the sender's cut is known.
    arrived: OnceLock<(Cut, Vec<AtomicBool>)>,
    status: Outcome,
}

impl Round {
    /// Counts one part done (or fails the round); the last completes it.
    fn finish_part(&self, result: Result<()>) {
        let completed = match result {
            Err(e) => self.request.complete(Outcome::failed(e)),
            Ok(()) => self.remaining.fetch_sub(1, Ordering::SeqCst) == 1 && self.request.complete(self.status.clone()),
        };
        if completed {
            if let Ok(st) = state() {
                st.rt.shared.notifier.notify();
            }
        }
    }

    /// The round's error, if it failed.
    pub fn failure(&self) -> Option<Error> {
        self.request.outcome().and_then(|o| o.error)
    }
}

impl Endpoint {
    /// Makes one end and sends the peer this end's cut. `peer` is a world rank, `None` for MPI_PROC_NULL.
    pub fn open(
        comm: &Comm,
        me: usize,
        peer: Option<usize>,
        tag: i32,
        sends: bool,
        cut: Cut,
        buf: Region,
    ) -> Result<Arc<Endpoint>> {
        let status = match peer {
            Some(p) => Outcome { source: p as i32, tag, count: cut.total() as u64, ..Outcome::empty() },
            None => Outcome::empty(),
        };
        let link = peer.map(|p| {
            let (sender, receiver) = if sends { (me, p) } else { (p, me) };
            let mut made = lock(&PAIRS_MADE);
            let k = made.entry((comm.context, sender, receiver, tag, sends)).or_insert(0);
            *k += 1;
            const MARKER: u64 = u64::from_le_bytes(*b"partitio");
            Link {
                peer: p,
                context: derive_context(&[comm.context, MARKER, sender as u64, receiver as u64, tag as u32 as u64, *k]),
            }
        });
        let known = if link.is_none() { PeerCut::Known(Ok(cut)) } else { PeerCut::Unknown { pending: None } };
        let end =
            Arc::new(Endpoint { sends, cut, buf, link, status, peer_cut: Mutex::new(known), round: Mutex::new(None) });
        if let Some(link) = &end.link {
            let st = state()?;
            let (mine, theirs) =
                if sends { (SENDER_CUT_TAG, RECEIVER_CUT_TAG) } else { (RECEIVER_CUT_TAG, SENDER_CUT_TAG) };
            let mut incoming = vec![0u8; partition::ENCODED_LEN];
            let pattern = Pattern { context: link.context, source: Some(link.peer as i32), tag: Some(theirs) };
            // SAFETY: `incoming`'s heap block moves into the continuation below, which keeps it
            // alive, untouched, until the receive completes.
            let (req, _) =
                st.rt.irecv(pattern, unsafe { Region::new(incoming.as_mut_ptr(), incoming.len()).recv() })?;
            let weak = Arc::downgrade(&end);
            req.then(move |o| {
                let got = match &o.error {
                    Some(e) => Err(e.clone()),
                    None => Cut::decode(&incoming[..(o.count as usize).min(incoming.len())]),
                };
                if let Some(end) = weak.upgrade() {
                    end.peer_cut_arrived(got);
                }
            });
            let mut outgoing = cut.encode();
            let region = Region::new(outgoing.as_mut_ptr(), outgoing.len());
            // SAFETY: `outgoing` is kept until the send completes (keep_until_done).
            let sent = st.rt.isend(link.peer, link.context, mine, unsafe { region.send() }, SendMode::Standard)?;
            super::layout::keep_until_done(&sent, outgoing);
        }
        Ok(end)
    }

    fn what(&self) -> &'static str {
        if self.sends {
            "MPI_Psend_init"
        } else {
            "MPI_Precv_init"
        }
    }

    /// The peer's cut arrived: check it, then let a round waiting for it go on.
    fn peer_cut_arrived(&self, got: Result<Cut>) {
        let checked = got.and_then(|peer| self.cut.agrees_with(&peer, self.sends, self.what()).map(|()| peer));
        let pending = {
            let mut known = lock(&self.peer_cut);
            let pending = match &mut *known {
                PeerCut::Unknown { pending } => pending.take(),
                PeerCut::Known(_) => None,
            };
            *known = PeerCut::Known(checked.clone());
            pending
        };
        if let Some(round) = pending {
            self.go_on(&round, checked);
        }
    }

    /// A round whose peer cut is known: a receiver posts its receives; either counts the check done.
    fn go_on(&self, round: &Arc<Round>, peer: Result<Cut>) {
        let peer = match peer {
            Ok(p) => p,
            Err(e) => return round.finish_part(Err(e)),
        };
        if !self.sends {
            if let Err(e) = self.post_receives(round, peer) {
                return round.finish_part(Err(e));
            }
        }
        round.finish_part(Ok(()));
    }

    fn post_receives(&self, round: &Arc<Round>, sender: Cut) -> Result<()> {
        let arrived = (0..sender.partitions).map(|_| AtomicBool::new(false)).collect();
        let _ = round.arrived.set((sender, arrived));
        let Some(link) = &self.link else {
            return Ok(());
        };
        let st = state()?;
        round.remaining.fetch_add(sender.partitions, Ordering::SeqCst);
        for p in 0..sender.partitions {
            let bytes = sender.bytes_of(p);
            let region = self.buf.part(bytes.start, bytes.len());
            let pattern = Pattern { context: link.context, source: Some(link.peer as i32), tag: Some(p as i32) };
            // SAFETY: MPI's contract: the receive buffer stays valid and untouched by the caller
            // until the round completes; partitions are disjoint parts of it.
            let (req, _) = st.rt.irecv(pattern, unsafe { region.recv() })?;
            let r = round.clone();
            req.then(move |o| {
                if o.error.is_none() {
                    if let Some((_, arrived)) = r.arrived.get() {
                        arrived[p].store(true, Ordering::SeqCst);
                    }
                }
                r.finish_part(o.error.clone().map_or(Ok(()), Err));
            });
        }
        Ok(())
    }

    /// Begins a round (the caller has checked the request is inactive) and returns its request.
    pub fn start(&self) -> Arc<Round> {
        let parts = if self.sends { self.cut.partitions } else { 0 };
        let round = Arc::new(Round {
            request: Request::new(),
            remaining: AtomicUsize::new(parts + 1),
            ready: (0..if self.sends { self.cut.partitions } else { 0 }).map(|_| AtomicBool::new(false)).collect(),
            arrived: OnceLock::new(),
            status: self.status.clone(),
        });
        *lock(&self.round) = Some(round.clone());
        let known = {
            let mut known = lock(&self.peer_cut);
            match &mut *known {
                PeerCut::Unknown { pending } => {
                    *pending = Some(round.clone());
                    None
                }
                PeerCut::Known(k) => Some(k.clone()),
            }
        };
        if let Some(peer) = known {
            self.go_on(&round, peer);
        }
        round
    }

    pub fn current(&self) -> Option<Arc<Round>> {
        lock(&self.round).clone()
    }

    /// Sends partition `p` of `round` (the caller has checked `p` is in range).
    pub fn ready(&self, round: &Arc<Round>, p: usize) -> Result<()> {
        if round.ready[p].swap(true, Ordering::SeqCst) {
            return Err(crate::error::err!(Request, "MPI_Pready: partition {p} was already marked ready in this round; mark each partition once per MPI_Start"));
        }
        let Some(link) = &self.link else {
            round.finish_part(Ok(()));
            return Ok(());
        };
        let st = state()?;
        let bytes = self.cut.bytes_of(p);
        let region = self.buf.part(bytes.start, bytes.len());
        // SAFETY: MPI's contract: a partition marked ready stays valid and unwritten until the round completes.
        let sent = st.rt.isend(link.peer, link.context, p as i32, unsafe { region.send() }, SendMode::Standard);
        match sent {
            Ok(req) => {
                let r = round.clone();
                req.then(move |o| r.finish_part(o.error.clone().map_or(Ok(()), Err)));
                Ok(())
            }
            Err(e) => {
                round.finish_part(Err(e.clone()));
                Err(e)
            }
        }
    }

    /// Whether receive partition `q` of `round` is in the buffer.
    pub fn arrived(&self, round: &Round, q: usize) -> bool {
        if self.link.is_none() {
            return true;
        }
        let Some((sender, arrived)) = round.arrived.get() else { return false };
        partition::senders_of(sender, &self.cut, q).all(|p| arrived[p].load(Ordering::SeqCst))
    }
}
