//! The send side of one link: numbered frames queued for writing, bursts of small sends held for one `writev`, and synchronous sends awaiting their acknowledgement.

use super::{sent, Effects};
use crate::buffer::Payload;
use crate::request::Request;
use crate::stats::Stats;
use crate::wire::{FrameHeader, FrameKind, FLAG_SYNC, HEADER_LEN};
use std::collections::{HashMap, VecDeque};
use std::io::IoSlice;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Frames written per `writev`, so many small messages share one system call.
pub const MAX_BATCH: usize = 64;

/// Nonblocking small sends on one link this close together (the caller's time between them,
/// not ours) are rapid: RATE's loop issues one every ~0.3 us.
const BURST_GAP: Duration = Duration::from_micros(2);
/// A burst starts at this many rapid sends in a row: a rank running ahead in ASYNC's ring
/// also sends rapidly a few times, and holding those frames only added a wake-up of the
/// progress thread per send (98% of its holds woke it, ASYNC 35 -> 38 us per round).
const BURST_MIN: u32 = 4;

struct OutFrame {
    /// Payload bytes written before a detach replaced `payload` with the unsent rest.
    sent_before: usize,
    header: [u8; HEADER_LEN],
    kind: FrameKind,
    payload: Payload,
    written: usize,
    req: Option<Arc<Request>>,
    sync_seq: Option<u64>,
}

impl OutFrame {
    /// Header plus the whole message, including any prefix already sent and dropped.
    fn total(&self) -> usize {
        HEADER_LEN + self.sent_before + self.payload.len()
    }

    /// The message length as the receiver sees it.
    fn message_len(&self) -> u64 {
        (self.sent_before + self.payload.len()) as u64
    }
}

/// A synchronous send completes only when written and acknowledged, in either order.
struct AckWait {
    req: Arc<Request>,
    len: u64,
    written: bool,
    acked: bool,
}

pub(super) struct Tx {
    peer: usize,
    out: VecDeque<OutFrame>,
    next_seq: u64,
    awaiting_ack: HashMap<u64, AckWait>,
    /// When the last nonblocking eager send was done here (see `hold`).
    last_burst_send: Option<Instant>,
    /// How many sends in a row came within `BURST_GAP` of the previous one.
    burst_run: u32,
}

impl Tx {
    pub fn new(peer: usize) -> Tx {
        Tx {
            peer,
            out: VecDeque::new(),
            next_seq: 0,
            awaiting_ack: HashMap::new(),
            last_burst_send: None,
            burst_run: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Numbers the frame and queues it; a synchronous send also waits for its acknowledgement.
    pub fn push(&mut self, mut header: FrameHeader, payload: Payload, req: Option<Arc<Request>>) {
        header.seq = self.next_seq;
        self.next_seq += 1;
        let sync_seq = (header.flags & FLAG_SYNC != 0).then_some(header.seq);
        if let (Some(seq), Some(req)) = (sync_seq, &req) {
            let len = payload.len() as u64;
            self.awaiting_ack.insert(seq, AckWait { req: req.clone(), len, written: false, acked: false });
        }
        let kind = header.kind;
        self.out.push_back(OutFrame {
            sent_before: 0,
            header: header.encode(),
            kind,
            payload,
            written: 0,
            req,
            sync_seq,
        });
    }

    /// Called right after a nonblocking eager send is queued: inside a burst of them, leaves
    /// it queued so that up to `MAX_BATCH` frames share one `writev` (one system call and one
    /// TCP segment instead of one per 8-byte message). `Some(first)` means held, and `first`
    /// that the queue was empty before, so the driver must make sure a writer comes;
    /// `None`: write now. A burst's first `BURST_MIN` sends are never held.
    pub fn hold(&mut self, now: Instant) -> Option<bool> {
        let queued = self.out.len();
        let rapid = self.last_burst_send.is_some_and(|t| now.saturating_duration_since(t) < BURST_GAP);
        self.burst_run = if rapid { self.burst_run.saturating_add(1) } else { 0 };
        (self.burst_run >= BURST_MIN && queued < MAX_BATCH).then_some(queued == 1)
    }

    /// A nonblocking eager send is done with this link (queued, held or written) at `now`: the
    /// gap to the next one is the caller's own time, not our system call's.
    pub fn burst_send_done(&mut self, now: Instant) {
        self.last_burst_send = Some(now);
    }

    /// The next bytes to write, as up to `2 * MAX_BATCH` slices; returns how many it filled.
    pub fn output<'a>(&'a self, slices: &mut [IoSlice<'a>; 2 * MAX_BATCH]) -> usize {
        let mut count = 0;
        for f in self.out.iter().take(MAX_BATCH) {
            if f.written < HEADER_LEN {
                slices[count] = IoSlice::new(&f.header[f.written..]);
                count += 1;
            }
            let body = f.payload.bytes(f.written.saturating_sub(HEADER_LEN + f.sent_before));
            if !body.is_empty() {
                slices[count] = IoSlice::new(body);
                count += 1;
            }
        }
        count
    }

    /// `n` bytes of `output` reached the socket: finished frames complete their sends.
    pub fn wrote(&mut self, mut n: usize, stats: &Stats, fx: &mut Effects) {
        while n > 0 {
            let Some(front) = self.out.front_mut() else { break };
            let take = n.min(front.total() - front.written);
            front.written += take;
            n -= take;
            if let Some(req) = &front.req {
                req.add_progress(take as u64);
            }
            self.pop_finished(stats, fx);
        }
        self.pop_finished(stats, fx);
    }

    fn pop_finished(&mut self, stats: &Stats, fx: &mut Effects) {
        while self.out.front().is_some_and(|f| f.total() == f.written) {
            let done = self.out.pop_front().expect("front exists");
            self.frame_written(done, stats, fx);
        }
    }

    fn frame_written(&mut self, f: OutFrame, stats: &Stats, fx: &mut Effects) {
        let len = f.message_len();
        // Only messages count, not control frames (acks, goodbye, abort).
        if f.kind == FrameKind::Data {
            stats.sent(self.peer, len);
        }
        match (f.sync_seq, f.req) {
            (Some(seq), _) => {
                if let Some(w) = self.awaiting_ack.get_mut(&seq) {
                    w.written = true;
                    if w.acked {
                        self.finish_sync(seq, fx);
                    }
                }
            }
            (None, Some(req)) => fx.complete(req, sent(len)),
            (None, None) => {}
        }
    }

    /// The receiver matched our synchronous send `seq`; false if no such send is waiting.
    pub fn acknowledged(&mut self, seq: u64, fx: &mut Effects) -> bool {
        let Some(w) = self.awaiting_ack.get_mut(&seq) else { return false };
        w.acked = true;
        if w.written {
            self.finish_sync(seq, fx);
        }
        true
    }

    fn finish_sync(&mut self, seq: u64, fx: &mut Effects) {
        if let Some(w) = self.awaiting_ack.remove(&seq) {
            fx.complete(w.req, sent(w.len));
        }
    }

    /// Swaps a queued send's borrowed buffer for a copy of its unsent rest, completing its
    /// request; false if the request is not queued here. A synchronous send stays as it is.
    pub fn detach(&mut self, req: &Arc<Request>, fx: &mut Effects) -> bool {
        let Some(f) = self.out.iter_mut().find(|f| f.req.as_ref().is_some_and(|r| Arc::ptr_eq(r, req))) else {
            return false;
        };
        if f.sync_seq.is_some() {
            return true;
        }
        if let Payload::Lent(buf) = &f.payload {
            // Copy only what is still unsent: the prefix is already on the wire.
            let done = f.written.saturating_sub(HEADER_LEN);
            f.payload = Payload::Owned(bytes::Bytes::copy_from_slice(buf.bytes(done)));
            f.sent_before = done;
        }
        let len = f.message_len();
        if let Some(req) = f.req.take() {
            fx.complete(req, sent(len));
        }
        true
    }

    /// Takes every request still waiting on this link (it failed).
    pub fn drain_requests(&mut self) -> Vec<Arc<Request>> {
        let mut reqs: Vec<Arc<Request>> = self.out.drain(..).filter_map(|f| f.req).collect();
        reqs.extend(self.awaiting_ack.drain().map(|(_, w)| w.req));
        reqs
    }
}
