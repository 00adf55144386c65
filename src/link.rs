//! One peer's link, owned by the progress thread: batched writes out, failure handling, and
//! the receive state (see `receive.rs`).

use crate::buffer::Payload;
use crate::error::{err, Error, Result};
use crate::mailbox::PeerState;
use crate::receive::Rx;
use crate::request::{Outcome, Request};
use crate::shared::Shared;
use crate::transport::Transport;
use crate::wire::{FrameHeader, FrameKind, FLAG_SYNC, HEADER_LEN};
use std::collections::{HashMap, VecDeque};
use std::io::{ErrorKind, IoSlice};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// Frames written per `writev`, so many small messages share one system call.
const MAX_BATCH: usize = 64;

/// Nonblocking small sends on one link this close together (the caller's time between them,
/// not ours) are rapid: RATE's loop issues one every ~0.3 us.
const BURST_GAP: std::time::Duration = std::time::Duration::from_micros(2);
/// A burst starts at this many rapid sends in a row: a rank running ahead in ASYNC's ring
/// also sends rapidly a few times, and holding those frames only added a wake-up of the
/// progress thread per send (98% of its holds woke it, ASYNC 35 -> 38 us per round).
const BURST_MIN: u32 = 4;

pub struct OutFrame {
    /// Payload bytes written before a detach replaced `payload` with the unsent rest.
    sent_before: usize,
    header: [u8; HEADER_LEN],
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

pub struct Link {
    pub peer: usize,
    pub transport: Box<dyn Transport>,
    out: VecDeque<OutFrame>,
    next_out_seq: u64,
    pub(crate) next_in_seq: u64,
    pub(crate) rx: Rx,
    awaiting_ack: HashMap<u64, AckWait>,
    /// When the last nonblocking eager send was done here (see `hold`).
    last_burst_send: Option<std::time::Instant>,
    /// How many sends in a row came within `BURST_GAP` of the previous one.
    burst_run: u32,
    pub goodbye_sent: bool,
    pub shut: bool,
    pub(crate) goodbye_received: bool,
    pub eof: bool,
    pub failed: bool,
}

impl Link {
    pub fn new(peer: usize, transport: Box<dyn Transport>) -> Link {
        Link {
            peer,
            transport,
            out: VecDeque::new(),
            next_out_seq: 0,
            next_in_seq: 0,
            rx: Rx::new(),
            awaiting_ack: HashMap::new(),
            last_burst_send: None,
            burst_run: 0,
            goodbye_sent: false,
            shut: false,
            goodbye_received: false,
            eof: false,
            failed: false,
        }
    }

    /// Finished with, for `MPI_Finalize`: both directions closed, or broken.
    pub fn is_closed(&self) -> bool {
        self.failed || (self.shut && self.eof)
    }

    pub fn has_output(&self) -> bool {
        !self.out.is_empty() || (self.goodbye_sent && !self.shut) || self.transport.pending_output()
    }

    pub fn enqueue(&mut self, mut header: FrameHeader, payload: Payload, req: Option<Arc<Request>>, sh: &Shared) {
        if self.failed || self.goodbye_sent {
            if let Some(req) = req {
                let why = err!(ProcAborted, "cannot send to rank {}: the link is closed", self.peer);
                sh.complete(&req, Outcome::failed(why));
            }
            return;
        }
        header.seq = self.next_out_seq;
        self.next_out_seq += 1;
        let sync_seq = (header.flags & FLAG_SYNC != 0).then_some(header.seq);
        if let (Some(seq), Some(req)) = (sync_seq, &req) {
            let len = payload.len() as u64;
            self.awaiting_ack.insert(seq, AckWait { req: req.clone(), len, written: false, acked: false });
        }
        if header.kind == FrameKind::Goodbye {
            self.goodbye_sent = true;
        }
        self.out.push_back(OutFrame { sent_before: 0, header: header.encode(), payload, written: 0, req, sync_seq });
    }

    /// Queues the goodbye frame: after it, this side sends nothing and half-closes.
    pub fn say_goodbye(&mut self, sh: &Shared) {
        let bye = FrameHeader::control(FrameKind::Goodbye, sh.rank as i32, 0);
        self.enqueue(bye, Payload::Owned(bytes::Bytes::new()), None, sh);
    }

    /// Called right after a nonblocking eager send is queued: inside a burst of them, leaves
    /// it queued so that up to `MAX_BATCH` frames share one `writev` (one system call and one
    /// TCP segment instead of one per 8-byte message). `Some(first)` means held, and `first`
    /// that the queue was empty before, so the progress thread must be told; `None`: flush now.
    /// A burst's first `BURST_MIN` sends are never held; waits flush held frames.
    pub fn hold(&mut self) -> Option<bool> {
        let queued = self.out.len();
        let rapid = self.last_burst_send.is_some_and(|t| t.elapsed() < BURST_GAP);
        self.burst_run = if rapid { self.burst_run.saturating_add(1) } else { 0 };
        (self.burst_run >= BURST_MIN && queued < MAX_BATCH).then_some(queued == 1)
    }

    /// A nonblocking eager send is done with this link (queued, held or written): the gap to
    /// the next one is the caller's own time, not our system call's.
    pub fn burst_send_done(&mut self) {
        self.last_burst_send = Some(std::time::Instant::now());
    }

    /// Reads what the socket has ready, then writes what is queued: a waiting thread's turn.
    pub fn pump(&mut self, sh: &Shared) -> Result<()> {
        self.on_readable(sh)?;
        if self.has_output() {
            self.flush(sh)?;
        }
        Ok(())
    }

    /// Writes as much queued output as the socket takes.
    pub fn flush(&mut self, sh: &Shared) -> Result<()> {
        while !self.out.is_empty() {
            // On the stack: a heap vector here was one allocation per flush, i.e. per message.
            let mut slices = [IoSlice::new(&[]); 2 * MAX_BATCH];
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
            let mut n = match self.transport.write_vectored(&slices[..count]) {
                Ok(0) => return Err(err!(ProcAborted, "the link to rank {} accepts no more data", self.peer)),
                Ok(n) => {
                    sh.moved.fetch_add(n as u64, Relaxed);
                    n
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(lost(self.peer, &e)),
            };
            while n > 0 {
                let front = self.out.front_mut().expect("bytes written belong to queued frames");
                let take = n.min(front.total() - front.written);
                front.written += take;
                n -= take;
                if let Some(req) = &front.req {
                    req.add_progress(take as u64);
                }
                if front.written == front.total() {
                    let done = self.out.pop_front().expect("front exists");
                    self.frame_written(done, sh);
                }
            }
            while self.out.front().is_some_and(|f| f.total() == f.written) {
                let done = self.out.pop_front().expect("front exists");
                self.frame_written(done, sh);
            }
        }
        match self.transport.flush_pending() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(lost(self.peer, &e)),
            Ok(()) => {}
        }
        if self.goodbye_sent && !self.shut {
            match self.transport.shutdown_write() {
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() != ErrorKind::NotConnected => return Err(lost(self.peer, &e)),
                _ => self.shut = true,
            }
        }
        Ok(())
    }

    fn frame_written(&mut self, f: OutFrame, sh: &Shared) {
        let len = f.message_len();
        // Byte 1 is the kind: only messages count, not control frames (acks, goodbye, abort).
        if f.header[1] == FrameKind::Data as u8 {
            sh.stats.sent(self.peer, len);
        }
        match (f.sync_seq, f.req) {
            (Some(seq), _) => {
                if let Some(w) = self.awaiting_ack.get_mut(&seq) {
                    w.written = true;
                    if w.acked {
                        self.finish_sync(seq, sh);
                    }
                }
            }
            (None, Some(req)) => sh.complete(&req, sent(len)),
            (None, None) => {}
        }
    }

    /// The receiver matched our synchronous send with this sequence number.
    pub(crate) fn acknowledged(&mut self, seq: u64, sh: &Shared) -> Result<()> {
        let w = self.awaiting_ack.get_mut(&seq).ok_or_else(|| {
            err!(Other, "malformed frame from rank {}: acknowledgement of unknown frame {seq}", self.peer)
        })?;
        w.acked = true;
        if w.written {
            self.finish_sync(seq, sh);
        }
        Ok(())
    }

    fn finish_sync(&mut self, seq: u64, sh: &Shared) {
        if let Some(w) = self.awaiting_ack.remove(&seq) {
            sh.complete(&w.req, sent(w.len));
        }
    }

    /// Swaps a queued send's borrowed buffer for a copy, completing its request; returns
    /// false if the request is not queued here.
    pub fn detach(&mut self, req: &Arc<Request>, sh: &Shared) -> bool {
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
            sh.complete(&req, sent(len));
        }
        true
    }

    /// Fails everything pending on this link and marks the peer gone.
    pub fn fail(&mut self, why: Error, sh: &Shared) {
        if self.failed {
            return;
        }
        self.failed = true;
        let _ = close_socket(self);
        crate::log::info(&format!("link to rank {} closed: {why}", self.peer));
        if self.rx.is_deferred() {
            sh.deferrals.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        }
        let mut reqs: Vec<Arc<Request>> = self.out.drain(..).filter_map(|f| f.req).collect();
        reqs.extend(self.awaiting_ack.drain().map(|(_, w)| w.req));
        if let Some(recv) = self.rx.take_direct() {
            reqs.push(recv.req);
        }
        let doomed = sh.mailbox().bury_peer(self.peer, PeerState::Failed(why.clone()), true);
        reqs.extend(doomed.into_iter().map(|r| r.req));
        for req in reqs {
            req.complete(Outcome::failed(why.clone()));
        }
        sh.notifier.notify();
    }

    /// The peer finished cleanly; receives still waiting on it alone can never match.
    pub(crate) fn finished(&mut self, sh: &Shared) {
        let (doomed, why) = {
            let mut mb = sh.mailbox();
            let doomed = mb.bury_peer(self.peer, PeerState::Finished, false);
            (doomed, mb.peer_error(self.peer).expect("just marked finished"))
        };
        for recv in doomed {
            recv.req.complete(Outcome::failed(why.clone()));
        }
        sh.notifier.notify();
    }
}

fn close_socket(link: &mut Link) -> std::io::Result<()> {
    // Closing our side too makes a peer still writing to us see the failure promptly.
    link.transport.socket().shutdown(std::net::Shutdown::Both)
}

fn sent(len: u64) -> Outcome {
    Outcome { count: len, ..Outcome::empty() }
}

/// The error for a broken connection, naming the peer.
pub fn lost(peer: usize, e: &std::io::Error) -> Error {
    if let Some(why) = crate::tls::hint(e) {
        return err!(ProcAborted, "the TLS link to rank {peer} failed: {why}");
    }
    err!(ProcAborted, "lost the connection to rank {peer} ({e}); it exited or crashed without calling MPI_Finalize")
}
