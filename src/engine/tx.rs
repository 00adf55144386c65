//! The send side of one link: numbered frames queued for writing, the window of written frames kept until acknowledged (for replay after a reconnect), the send budget, bursts held for one `writev`, and synchronous sends awaiting their acknowledgement.

use super::{sent, Effects};
use crate::buffer::Payload;
use crate::error::{err, Error};
use crate::request::Request;
use crate::stats::Stats;
use crate::wire::{FrameHeader, FrameKind, FLAG_ACK_NOW, FLAG_SYNC, HEADER_LEN};
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

/// What a kept frame costs besides its payload (the queue entry, its header twice).
const FRAME_COST: u64 = 256;

struct OutFrame {
    header: FrameHeader,
    /// `header` encoded, with the acknowledgement current when its first byte was due.
    bytes: [u8; HEADER_LEN],
    /// The acknowledgement `bytes` carry, once encoded.
    encoded_ack: Option<u64>,
    payload: Payload,
    /// Whether `header.crc` holds the payload's checksum (or none is due): summed when the
    /// frame is first about to be written, by the thread that writes it, not when queued.
    summed: bool,
    written: usize,
    /// The send this frame completes: when written if the payload is our copy, when
    /// acknowledged if it is the caller's buffer (a replay may need it again).
    req: Option<Arc<Request>>,
}

impl OutFrame {
    fn total(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }

    /// Bytes of our own memory this frame holds (counted against the send budget): its
    /// bookkeeping, and its payload if that is our copy.
    fn held(&self) -> u64 {
        match self.payload {
            Payload::Lent(_) => FRAME_COST,
            _ => FRAME_COST + self.payload.len() as u64,
        }
    }

    fn is_lent(&self) -> bool {
        matches!(self.payload, Payload::Lent(_))
    }

    /// Replaces a borrowed payload by our copy; returns the bytes that adds to the budget used.
    fn take_copy(&mut self) -> u64 {
        let Payload::Lent(buf) = &self.payload else { return 0 };
        self.payload = Payload::Owned(bytes::Bytes::copy_from_slice(buf.bytes(0)));
        self.payload.len() as u64
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
    checksums: bool,
    out: VecDeque<OutFrame>,
    /// Written sequenced frames the peer has not acknowledged yet, oldest first.
    window: VecDeque<OutFrame>,
    next_seq: u64,
    /// Bytes of copies held in `out` and `window`, and the most allowed (PARTYLINE_SEND_LIMIT).
    held: u64,
    budget: u64,
    /// The acknowledgement the last header written carried.
    ack_sent: u64,
    awaiting_ack: HashMap<u64, AckWait>,
    /// When the last nonblocking eager send was done here (see `hold`).
    last_burst_send: Option<Instant>,
    /// How many sends in a row came within `BURST_GAP` of the previous one.
    burst_run: u32,
    /// Lent frames up to this size are copied once written, completing their sends then rather
    /// than at the acknowledgement (see `set_path_rtt`); 0 on short paths.
    copy_written_up_to: u64,
}

impl Tx {
    pub fn new(peer: usize, budget: u64, checksums: bool) -> Tx {
        Tx {
            peer,
            checksums,
            out: VecDeque::new(),
            window: VecDeque::new(),
            next_seq: 0,
            held: 0,
            budget,
            ack_sent: 0,
            awaiting_ack: HashMap::new(),
            last_burst_send: None,
            burst_run: 0,
            copy_written_up_to: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Every sequenced frame is written and acknowledged.
    pub fn is_settled(&self) -> bool {
        self.out.is_empty() && self.window.is_empty()
    }

    /// Whether a copy of `len` more bytes fits the send budget.
    pub fn has_room(&self, len: u64) -> bool {
        self.held.saturating_add(len) <= self.budget
    }

    pub fn held(&self) -> u64 {
        self.held
    }

    /// Sequenced frames fully written so far.
    pub fn written_count(&self) -> u64 {
        self.out.iter().find(|f| f.header.kind.is_sequenced()).map_or(self.next_seq, |f| f.header.seq)
    }

    pub fn ack_sent(&self) -> u64 {
        self.ack_sent
    }

    /// Numbers the frame (unless it is a bare acknowledgement) and queues it. A frame lent
    /// the caller's buffer asks for a prompt acknowledgement, which completes its send.
    pub fn push(&mut self, mut header: FrameHeader, payload: Payload, req: Option<Arc<Request>>) {
        if header.kind.is_sequenced() {
            header.seq = self.next_seq;
            self.next_seq += 1;
        }
        if matches!(payload, Payload::Lent(_)) && req.is_some() {
            header.flags |= FLAG_ACK_NOW;
        }
        if let (true, Some(req)) = (header.flags & FLAG_SYNC != 0, &req) {
            let len = payload.len() as u64;
            self.awaiting_ack.insert(header.seq, AckWait { req: req.clone(), len, written: false, acked: false });
        }
        let summed = !self.checksums || payload.is_empty();
        let frame = OutFrame { header, bytes: [0; HEADER_LEN], encoded_ack: None, payload, summed, written: 0, req };
        self.held += frame.held();
        if header.kind == FrameKind::Ack {
            // A bare acknowledgement goes out at the next frame boundary, not behind the queue.
            let at = usize::from(self.out.front().is_some_and(|f| f.written > 0));
            self.out.insert(at.min(self.out.len()), frame);
        } else {
            self.out.push_back(frame);
        }
    }

    /// See `Peer::hold`.
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

    /// Encodes the headers of the next `limit` bytes to write with the acknowledgement `ack`;
    /// a header already encoded with it is not encoded again (a flush calls this before every
    /// write). A payload is checksummed here, and only if all of it fits in what is left of
    /// `limit`: summing reads every byte, which a budgeted write must not pay for a large
    /// message (see `Link::flush_posted`); `output` stops at a frame not summed.
    pub fn prepare(&mut self, ack: u64, limit: usize) {
        let mut ahead = 0usize;
        for f in self.out.iter_mut().take(MAX_BATCH) {
            if ahead >= limit {
                break;
            }
            if f.written == 0 {
                if !f.summed {
                    if f.payload.len() > limit - ahead {
                        break;
                    }
                    f.header.crc = crc32c::crc32c(f.payload.bytes(0));
                    f.summed = true;
                }
                if f.encoded_ack != Some(ack) {
                    f.header.ack = ack;
                    f.bytes = f.header.encode(self.checksums);
                    f.encoded_ack = Some(ack);
                }
            }
            ahead = ahead.saturating_add(f.total() - f.written);
        }
    }

    /// The next bytes to write, at most `limit` of them, as up to `2 * MAX_BATCH` slices; returns
    /// how many it filled.
    pub fn output<'a>(&'a self, slices: &mut [IoSlice<'a>; 2 * MAX_BATCH], limit: usize) -> usize {
        let mut count = 0;
        let mut left = limit;
        for f in self.out.iter().take(MAX_BATCH) {
            if !f.summed {
                break;
            }
            let header = if f.written < HEADER_LEN { &f.bytes[f.written..] } else { &[][..] };
            let body = f.payload.bytes(f.written.saturating_sub(HEADER_LEN));
            for piece in [header, body] {
                let piece = &piece[..piece.len().min(left)];
                if !piece.is_empty() {
                    slices[count] = IoSlice::new(piece);
                    count += 1;
                    left -= piece.len();
                }
            }
            if left == 0 {
                break;
            }
        }
        count
    }

    /// `n` bytes of `output` reached the socket: finished frames move to the window.
    pub fn wrote(&mut self, mut n: usize, stats: &Stats, fx: &mut Effects) {
        while n > 0 {
            let Some(front) = self.out.front_mut() else { break };
            if front.written == 0 {
                self.ack_sent = self.ack_sent.max(front.header.ack);
            }
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

    fn frame_written(&mut self, mut f: OutFrame, stats: &Stats, fx: &mut Effects) {
        let len = f.payload.len() as u64;
        if f.header.kind == FrameKind::Data {
            stats.sent(self.peer, len);
        }
        if f.header.flags & FLAG_SYNC != 0 {
            if let Some(w) = self.awaiting_ack.get_mut(&f.header.seq) {
                w.written = true;
                if w.acked {
                    self.finish_sync(f.header.seq, fx);
                }
            }
            f.req = None;
        } else {
            if f.is_lent() && len <= self.copy_written_up_to && self.held.saturating_add(len) <= self.budget {
                self.held += f.take_copy();
            }
            if !f.is_lent() {
                if let Some(req) = f.req.take() {
                    fx.complete(req, sent(len));
                }
            }
        }
        if f.header.kind.is_sequenced() {
            self.window.push_back(f);
        }
    }

    /// The peer has received every frame before `upto`: release them, completing the sends
    /// that lent their buffers.
    pub fn acknowledge(&mut self, upto: u64, fx: &mut Effects) -> Result<(), Error> {
        if upto > self.next_seq {
            return Err(err!(
                Other,
                "malformed frame from rank {}: it acknowledges frame {upto}, but only {} were sent",
                self.peer,
                self.next_seq
            ));
        }
        while self.window.front().is_some_and(|f| f.header.seq < upto) {
            let f = self.window.pop_front().expect("front exists");
            self.held -= f.held();
            if let Some(req) = f.req {
                fx.complete(req, sent(f.payload.len() as u64));
            }
        }
        Ok(())
    }

    /// The receiver matched our synchronous send `seq`; false if no such send is waiting.
    pub fn sync_acknowledged(&mut self, seq: u64, fx: &mut Effects) -> bool {
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

    /// After a reconnect: the peer has received `received` frames. Releases those and queues
    /// the rest again from their first byte, in order; bare acknowledgements are dropped (a
    /// fresh one goes out with the next header).
    pub fn rewind(&mut self, received: u64, fx: &mut Effects) -> Result<(), Error> {
        self.acknowledge(received, fx)?;
        let mut queue: VecDeque<OutFrame> = self.window.drain(..).collect();
        queue.extend(self.out.drain(..).filter(|f| f.header.kind.is_sequenced()));
        let first = queue.front().map_or(self.next_seq, |f| f.header.seq);
        if first != received {
            return Err(err!(
                Other,
                "rank {} resumed the link expecting frame {received}, but frame {first} is the oldest kept here",
                self.peer
            ));
        }
        for f in queue.iter_mut() {
            f.written = 0;
        }
        self.out = queue;
        Ok(())
    }

    /// Copies a queued send's borrowed buffer so the caller may reuse it, completing its
    /// request; false if the request is not queued here or the copy does not fit the send
    /// budget. A synchronous send stays as it is. The whole message is copied: a replay may
    /// need the part already written.
    pub fn detach(&mut self, req: &Arc<Request>, fx: &mut Effects) -> bool {
        let mine = |f: &&mut OutFrame| f.req.as_ref().is_some_and(|r| Arc::ptr_eq(r, req));
        let room = self.budget.saturating_sub(self.held);
        let Some(f) = self.out.iter_mut().chain(self.window.iter_mut()).find(mine) else { return false };
        if f.header.flags & FLAG_SYNC != 0 {
            return true;
        }
        if f.is_lent() && f.payload.len() as u64 > room {
            return false;
        }
        self.held += f.take_copy();
        if let Some(req) = f.req.take() {
            fx.complete(req, sent(f.payload.len() as u64));
        }
        true
    }

    /// The path's round-trip time, as the kernel measures it. A send from the caller's buffer
    /// completes at the acknowledgement, a round trip after it was written: on loopback that is
    /// microseconds, across regions tens of milliseconds, during which the caller waits (a ring
    /// round of 64 KiB took three one-way delays instead of one). On a path of a millisecond or
    /// more, a written frame is copied instead, when the copy takes less than half the round
    /// trip (at a conservative 2 GB/s) and fits the send budget.
    pub fn set_path_rtt(&mut self, rtt: std::time::Duration) {
        const LONG_PATH: std::time::Duration = std::time::Duration::from_millis(1);
        const COPY_BYTES_PER_SEC: f64 = 2e9;
        self.copy_written_up_to =
            if rtt >= LONG_PATH { (rtt.as_secs_f64() / 2.0 * COPY_BYTES_PER_SEC) as u64 } else { 0 };
    }

    /// Takes every request still waiting on this link (it failed).
    pub fn drain_requests(&mut self) -> Vec<Arc<Request>> {
        let frames = self.out.drain(..).chain(self.window.drain(..));
        let mut reqs: Vec<Arc<Request>> = frames.filter_map(|f| f.req).collect();
        reqs.extend(self.awaiting_ack.drain().map(|(_, w)| w.req));
        self.held = 0;
        reqs
    }
}
