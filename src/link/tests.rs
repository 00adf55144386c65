//! The byte pump against a scripted transport: short reads and writes, would-block, resets and end of stream; and the state of a link that widens.

use super::Link;
use crate::buffer::{Payload, RecvBuf};
use crate::engine::mailbox::Posting;
use crate::engine::matching::Pattern;
use crate::engine::{Ctx, Effects, Mailbox, Peer, PostedRecv};
use crate::request::Request;
use crate::stats::Stats;
use crate::transport::Transport;
use crate::wire::{FrameHeader, FrameKind};
use std::collections::VecDeque;
use std::io::{self, ErrorKind, IoSlice};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What the next read returns.
enum Step {
    Bytes(Vec<u8>),
    WouldBlock,
    Fail(ErrorKind),
    Eof,
}

/// A transport that plays back `reads` in order (each `Bytes` at most `chunk` bytes at a time)
/// and accepts at most `write_chunk` bytes per write, recording them.
struct Script {
    reads: VecDeque<Step>,
    chunk: usize,
    write_chunk: usize,
    written: Vec<u8>,
    write_error: Option<ErrorKind>,
    shut: bool,
    /// Only for `socket()`: a real connected stream the pump never reads or writes.
    stream: crate::conn::Stream,
}

impl Script {
    fn new(reads: Vec<Step>, chunk: usize, write_chunk: usize) -> Script {
        // Bound and connected at once and kept open: nothing here waits on a port number.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback listener");
        let stream = TcpStream::connect(listener.local_addr().expect("its address")).expect("connect");
        let stream = crate::conn::Conn::Tcp(stream).into_stream().expect("nonblocking");
        Script { reads: reads.into(), chunk, write_chunk, written: Vec::new(), write_error: None, shut: false, stream }
    }
}

impl Transport for Script {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        assert!(!buf.is_empty(), "the pump offered an empty buffer, which reads as end of stream");
        match self.reads.pop_front() {
            None | Some(Step::WouldBlock) => Err(ErrorKind::WouldBlock.into()),
            Some(Step::Fail(kind)) => Err(kind.into()),
            Some(Step::Eof) => Ok(0),
            Some(Step::Bytes(mut bytes)) => {
                let n = bytes.len().min(buf.len()).min(self.chunk);
                buf[..n].copy_from_slice(&bytes[..n]);
                if n < bytes.len() {
                    self.reads.push_front(Step::Bytes(bytes.split_off(n)));
                }
                Ok(n)
            }
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if let Some(kind) = self.write_error {
            return Err(kind.into());
        }
        let mut room = self.write_chunk;
        let mut n = 0;
        for b in bufs {
            let take = b.len().min(room);
            self.written.extend_from_slice(&b[..take]);
            room -= take;
            n += take;
        }
        Ok(n)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shut = true;
        Ok(())
    }

    fn socket(&mut self) -> &mut crate::conn::Stream {
        &mut self.stream
    }
}

/// Rank 0's side of a link to rank 1, with the engine state the driver keeps beside it.
struct Harness {
    mailbox: Mutex<Mailbox>,
    stats: Stats,
    moved: Arc<AtomicU64>,
}

impl Harness {
    fn new() -> Harness {
        Harness { mailbox: Mutex::new(Mailbox::new(2, 1 << 20)), stats: Stats::new(2), moved: Arc::default() }
    }

    fn link(&self, script: Script) -> Link {
        let settings = crate::engine::LinkSettings {
            max_frame: 1 << 30,
            send_budget: 1 << 30,
            link_timeout: std::time::Duration::from_secs(60),
            checksums: true,
        };
        Link::new(Peer::new(0, 1, settings, Instant::now()), Box::new(script), self.moved.clone(), 0, None)
    }

    /// Runs `f` as `Shared::with_link` would, returning the effects and the call's result.
    fn run(
        &self,
        link: &mut Link,
        f: impl FnOnce(&mut Link, &mut Ctx) -> std::result::Result<(), crate::error::Fault>,
    ) -> (Effects, std::result::Result<(), crate::error::Fault>) {
        let mut fx = Effects::default();
        let mut ctx = Ctx { mailbox: &self.mailbox, stats: &self.stats, now: Instant::now(), fx: &mut fx };
        let result = f(link, &mut ctx);
        (fx, result)
    }

    /// Posts a receive of any tag from rank 1 into a leaked buffer of `len` bytes.
    fn post(&self, len: usize) -> (Arc<Request>, &'static [u8]) {
        let buf: &'static mut [u8] = Box::leak(vec![0u8; len].into_boxed_slice());
        let view: *const [u8] = buf;
        let req = Request::new();
        let recv = PostedRecv { req: req.clone(), buf: RecvBuf::from_slice(buf) };
        let pattern = Pattern { context: 1, source: Some(1), tag: None };
        let mut fx = Effects::default();
        let posting = self.mailbox.lock().unwrap().post_recv(pattern, recv, &mut fx).expect("rank 1 is alive");
        assert!(matches!(posting, Posting::Waiting(_)));
        // SAFETY: the buffer is leaked, so it lives on; the test reads it only after the
        // receive completed, when the engine no longer writes it.
        (req, unsafe { &*view })
    }
}

/// The wire bytes of a data frame from rank 1 with sequence number `seq`.
fn frame(seq: u64, tag: i32, payload: &[u8]) -> Vec<u8> {
    let mut h = FrameHeader::data(1, tag, 1, payload.len() as u64, 0);
    h.seq = seq;
    h.crc = crc32c::crc32c(payload);
    let mut bytes = h.encode(true).to_vec();
    bytes.extend_from_slice(payload);
    bytes
}

fn goodbye(seq: u64) -> Vec<u8> {
    let mut h = FrameHeader::control(FrameKind::Goodbye, 1, 0);
    h.seq = seq;
    h.encode(true).to_vec()
}

/// The cause of a break; panics on anything else.
fn broke(result: std::result::Result<(), crate::error::Fault>) -> String {
    match result {
        Err(crate::error::Fault::Break(cause)) => cause,
        other => panic!("expected the link to break, got {other:?}"),
    }
}

fn complete(fx: Effects) {
    for (req, outcome) in fx.completions {
        req.complete(outcome);
    }
}

#[test]
fn a_frame_read_one_byte_at_a_time_between_would_blocks_lands_in_the_posted_receive() {
    let h = Harness::new();
    let (req, buf) = h.post(5);
    let bytes = frame(0, 9, b"hello");
    let mut steps = Vec::new();
    for b in &bytes {
        steps.push(Step::Bytes(vec![*b]));
        steps.push(Step::WouldBlock);
    }
    let mut link = h.link(Script::new(steps, 1, usize::MAX));
    for _ in 0..bytes.len() {
        let (fx, result) = h.run(&mut link, |l, ctx| l.pump(ctx));
        result.expect("no error");
        complete(fx);
    }
    let outcome = req.outcome().expect("complete");
    assert_eq!((outcome.tag, outcome.count, buf), (9, 5, &b"hello"[..]));
    assert_eq!(h.moved.load(Relaxed), bytes.len() as u64, "every byte read is counted for the poll window");
}

#[test]
fn a_large_payload_read_in_chunks_arrives_whole_in_the_receive_buffer() {
    let h = Harness::new();
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let (req, buf) = h.post(payload.len());
    let mut link = h.link(Script::new(vec![Step::Bytes(frame(0, 1, &payload))], 4096, usize::MAX));
    let (fx, result) = h.run(&mut link, |l, ctx| l.read(ctx));
    result.expect("no error");
    complete(fx);
    assert_eq!(req.outcome().expect("complete").count, payload.len() as u64);
    assert_eq!(buf, &payload[..]);
}

#[test]
fn short_writes_deliver_every_frame_and_complete_the_sends() {
    let h = Harness::new();
    let mut link = h.link(Script::new(vec![], 1, 7));
    let reqs: Vec<_> = (0..3).map(|_| Request::new()).collect();
    let (fx, result) = h.run(&mut link, |l, ctx| {
        for (i, req) in reqs.iter().enumerate() {
            let header = FrameHeader::data(0, i as i32, 1, 30, 0);
            l.peer.send(header, Payload::copy_of(&[i as u8; 30]), Some(req.clone()), ctx.fx);
        }
        l.flush(ctx)
    });
    result.expect("no error");
    assert_eq!(fx.completions.len(), 3, "all three frames were written");
    assert!(!link.has_output());
}

#[test]
fn a_reset_breaks_the_link_for_a_reconnect() {
    let h = Harness::new();
    let mut link = h.link(Script::new(vec![Step::Fail(ErrorKind::ConnectionReset)], 64, usize::MAX));
    let (_, result) = h.run(&mut link, |l, ctx| l.read(ctx));
    assert!(broke(result).contains("reset"));
}

#[test]
fn end_of_stream_mid_frame_is_a_failure_but_after_a_goodbye_a_clean_finish() {
    let h = Harness::new();
    let cut = frame(0, 1, b"abcdef")[..20].to_vec();
    let mut link = h.link(Script::new(vec![Step::Bytes(cut), Step::Eof], 64, usize::MAX));
    let (_, result) = h.run(&mut link, |l, ctx| l.read(ctx));
    assert!(broke(result).contains("rank 1 closed the connection without saying goodbye"));

    let h = Harness::new();
    let (req, _) = h.post(4);
    let mut link = h.link(Script::new(vec![Step::Bytes(goodbye(0)), Step::Eof], 64, usize::MAX));
    let (fx, result) = h.run(&mut link, |l, ctx| l.read(ctx));
    result.expect("a goodbye then end of stream is clean");
    complete(fx);
    let why = req.outcome().expect("the receive from a finished rank fails").error.expect("an error");
    assert!(why.message.contains("already called MPI_Finalize"), "{why}");
}

#[test]
fn a_transport_that_accepts_nothing_or_fails_writing_is_an_error() {
    let h = Harness::new();
    let mut link = h.link(Script::new(vec![], 64, 0));
    let (_, result) = h.run(&mut link, |l, ctx| {
        l.peer.send(FrameHeader::data(0, 1, 1, 4, 0), Payload::copy_of(b"abcd"), None, ctx.fx);
        l.flush(ctx)
    });
    assert!(broke(result).contains("accepts no more data"));

    let mut script = Script::new(vec![], 64, usize::MAX);
    script.write_error = Some(ErrorKind::BrokenPipe);
    let mut link = h.link(script);
    let (_, result) = h.run(&mut link, |l, ctx| {
        l.peer.send(FrameHeader::data(0, 1, 1, 4, 0), Payload::copy_of(b"abcd"), None, ctx.fx);
        l.flush(ctx)
    });
    assert!(broke(result).contains("pipe"));
}

#[test]
fn a_goodbye_half_closes_only_after_everything_before_it_is_written() {
    let h = Harness::new();
    let mut link = h.link(Script::new(vec![], 64, 10));
    let (_, result) = h.run(&mut link, |l, ctx| {
        l.peer.send(FrameHeader::data(0, 1, 1, 100, 0), Payload::copy_of(&[1; 100]), None, ctx.fx);
        l.peer.say_goodbye(ctx.fx);
        Ok(())
    });
    result.expect("queued");
    let mut flushes = 0;
    while link.has_output() {
        let (_, result) = h.run(&mut link, |l, ctx| l.flush(ctx));
        result.expect("no error");
        flushes += 1;
        assert!(flushes < 100, "the queue never drained");
    }
    assert!(!link.peer.is_closed(), "no half-close before the peer's goodbye and acknowledgement");
}

#[test]
fn after_both_goodbyes_are_acknowledged_the_link_half_closes_and_finishes() {
    let h = Harness::new();
    // Rank 1 has received both our frames (ack 2), says goodbye, and closes.
    let mut bye = FrameHeader::control(FrameKind::Goodbye, 1, 0);
    bye.ack = 2;
    let reads = vec![Step::Bytes(bye.encode(true).to_vec()), Step::Eof];
    let mut link = h.link(Script::new(reads, 64, usize::MAX));
    let (_, result) = h.run(&mut link, |l, ctx| {
        l.peer.send(FrameHeader::data(0, 1, 1, 4, 0), Payload::copy_of(b"abcd"), None, ctx.fx);
        l.peer.say_goodbye(ctx.fx);
        l.flush(ctx)?;
        l.read(ctx)?;
        l.flush(ctx)
    });
    result.expect("a clean goodbye");
    assert!(link.peer.is_closed(), "both goodbyes through: half-closed and finished");
}

#[test]
fn a_posted_send_writes_only_its_start_on_a_link_that_leaves_the_host() {
    let h = Harness::new();
    let (small, large) = (100 << 10, 1 << 20);
    let whole = (2 * crate::wire::HEADER_LEN + small + large) as u64;
    for leaves_host in [true, false] {
        let mut link = h.link(Script::new(vec![], 1, 64 << 10));
        link.leaves_host = leaves_host;
        h.moved.store(0, Relaxed);
        let mut left = None;
        let (_, result) = h.run(&mut link, |l, ctx| {
            for (tag, len) in [(1, small), (2, large)] {
                let header = FrameHeader::data(0, tag, 1, len as u64, 0);
                l.peer.send(header, Payload::copy_of(&vec![7; len]), None, ctx.fx);
            }
            left = Some(l.flush_posted(ctx)?);
            Ok(())
        });
        result.expect("no error");
        if leaves_host {
            // The small frame fits the budget; the large one would be checksummed whole
            // before its first byte, so the communication thread does that too.
            assert_eq!(left, Some(true), "the rest is the communication thread's");
            assert_eq!(h.moved.load(Relaxed), (crate::wire::HEADER_LEN + small) as u64);
            let (_, result) = h.run(&mut link, |l, ctx| l.flush(ctx));
            result.expect("no error");
        } else {
            assert_eq!(left, Some(false), "within one host the caller writes it all");
        }
        assert!(!link.has_output());
        assert_eq!(h.moved.load(Relaxed), whole);
    }
}

#[test]
fn a_widening_breaks_only_the_connection_it_was_opened_for() {
    let h = Harness::new();
    let mut link = h.link(Script::new(vec![], 64, usize::MAX));
    let (_, result) = h.run(&mut link, |l, _| l.break_to_widen(8, 1, "for another connection".into()));
    assert!(result.is_ok() && link.is_up(), "the connection of epoch 1 is not this one (0)");
    assert_eq!(link.take_widening(), None);
    let (_, result) = h.run(&mut link, |l, _| l.break_to_widen(8, 0, "it loses packets".into()));
    assert_eq!(broke(result), "it loses packets");
    assert_eq!(link.take_widening(), Some(8));
}

#[test]
fn a_widened_link_keeps_its_old_connection_until_the_new_ones_take_over() {
    let h = Harness::new();
    let mut link = h.link(Script::new(vec![], 64, usize::MAX));
    link.break_off(Instant::now(), true);
    assert!(!link.is_up());
    assert!(link.is_widened_by(8), "one connection retired, eight to come");
    assert!(!link.is_widened_by(1), "one for one is no widening");
    let (_, result) = h.run(&mut link, |l, ctx| l.restore(Box::new(Script::new(vec![], 64, usize::MAX)), 0, 1, ctx));
    result.expect("restored");
    assert!(link.is_up() && !link.is_widened_by(8), "the retired connection is closed once the new ones run");
}

#[test]
fn an_ordinary_break_retires_nothing_and_the_peer_marks_a_widening_only_for_more() {
    let h = Harness::new();
    let mut link = h.link(Script::new(vec![], 64, usize::MAX));
    assert!(!link.mark_widening(1), "one connection replacing one");
    assert!(link.mark_widening(8), "eight replacing one");
    assert_eq!(link.take_widening(), Some(8));
    link.break_off(Instant::now(), false);
    assert!(!link.is_widened_by(8), "a broken connection is closed, not retired");
}
