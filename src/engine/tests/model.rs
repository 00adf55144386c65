//! Property test: random interleavings of posts, sends, partial reads and time checked against a plain list-based MPI matcher.
//!
//! Rank 0 sends, rank 1 receives, and the link between them may break and be re-established
//! at any point (bytes in flight are lost, both sides replay). The reference sees the same
//! events in the same order:
//! receives as they are posted, and messages as their headers arrive. To know when a header
//! arrives, reads are cut at header ends, so each header completes as the last byte of one
//! `received` call (payload bytes are still split anywhere). Then MPI's rule decides alone: a
//! message goes to the earliest posted receive that matches it, and a receive takes the
//! earliest arrived message that matches it.

use super::*;
use crate::error::ErrorClass;
use crate::wire::HEADER_LEN;
use proptest::prelude::*;

const LARGE: std::ops::Range<usize> = (256 << 10)..(300 << 10);
/// What the final wildcard receives hold: any message whole.
const FLUSH_CAP: usize = 300 << 10;

#[derive(Debug, Clone)]
enum Op {
    Post {
        any_source: bool,
        tag: Option<i32>,
        context: u64,
        cap: usize,
    },
    Send {
        tag: i32,
        context: u64,
        len: usize,
        sync: bool,
    },
    /// Up to this many bytes from rank 0 to rank 1 (and every ack back).
    Move {
        bytes: usize,
    },
    /// Time passes; the driver's deferral timer fires.
    Advance {
        micros: u64,
    },
    /// The connection breaks, losing what is in flight, and a new one replaces it.
    Reconnect,
}

fn op() -> impl Strategy<Value = Op> {
    let cap = prop_oneof![Just(0), 0..64usize, Just(100 << 10), Just(FLUSH_CAP)];
    let post = (any::<bool>(), prop::option::of(0..3i32), 0..2u64, cap)
        .prop_map(|(any_source, tag, context, cap)| Op::Post { any_source, tag, context, cap });
    let len = prop_oneof![4 => 0..64usize, 3 => 0..(100usize << 10), 1 => LARGE];
    let send = (0..3i32, 0..2u64, len, prop::bool::weighted(0.25)).prop_map(|(tag, context, len, sync)| Op::Send {
        tag,
        context,
        len,
        sync,
    });
    let bytes = prop_oneof![Just(1), Just(7), Just(HEADER_LEN), 1..70_000usize, Just(ALL)];
    prop_oneof![
        3 => post,
        3 => send,
        4 => bytes.prop_map(|bytes| Op::Move { bytes }),
        1 => (0..5000u64).prop_map(|micros| Op::Advance { micros }),
        1 => Just(Op::Reconnect),
    ]
}

#[derive(Debug, Clone, Copy)]
struct Msg {
    tag: i32,
    context: u64,
    len: usize,
}

#[derive(Debug, Clone, Copy)]
struct Want {
    source: Option<i32>,
    tag: Option<i32>,
    context: u64,
}

impl Want {
    fn takes(&self, m: &Msg) -> bool {
        self.context == m.context && self.source.is_none_or(|s| s == 0) && self.tag.is_none_or(|t| t == m.tag)
    }
}

/// MPI matching as two plain lists, in order.
#[derive(Default)]
struct Reference {
    posted: Vec<(usize, Want)>,
    unexpected: Vec<usize>,
    /// Which message each receive got, by posting order.
    got: Vec<Option<usize>>,
}

impl Reference {
    fn post(&mut self, want: Want, msgs: &[Msg]) {
        let r = self.got.len();
        match self.unexpected.iter().position(|&m| want.takes(&msgs[m])) {
            Some(at) => self.got.push(Some(self.unexpected.remove(at))),
            None => {
                self.got.push(None);
                self.posted.push((r, want));
            }
        }
    }

    fn arrive(&mut self, m: usize, msgs: &[Msg]) {
        match self.posted.iter().position(|(_, want)| want.takes(&msgs[m])) {
            Some(at) => self.got[self.posted.remove(at).0] = Some(m),
            None => self.unexpected.push(m),
        }
    }
}

struct Run {
    pair: Pair,
    reference: Reference,
    msgs: Vec<Msg>,
    sends: Vec<Arc<Request>>,
    recvs: Vec<(Recv, usize)>,
    /// (message, where its header ends) in the current byte stream to rank 1: from the
    /// first message rank 1 had not fully received when the connection was last replaced.
    frames: Vec<(usize, usize)>,
    next_frame: usize,
    stream_len: usize,
    /// Bytes of that stream rank 1 has read.
    consumed: usize,
    /// Messages whose header the reference has seen arrive (a replayed header is not news).
    arrived: usize,
}

impl Run {
    fn post(&mut self, want: Want, cap: usize) {
        let pattern = Pattern { context: want.context, source: want.source, tag: want.tag };
        self.recvs.push((self.pair.recv(1, pattern, cap).expect("rank 0 is alive"), cap));
        self.reference.post(want, &self.msgs);
    }

    fn send(&mut self, tag: i32, context: u64, len: usize, sync: bool) {
        let data = pattern_bytes(self.msgs.len() as u32, len);
        let mode = match (sync, len) {
            (true, _) => Mode::Sync,
            (false, 0..=1000) => Mode::Eager,
            (false, l) if l >= LARGE.start => Mode::Lent,
            _ => Mode::Tracked,
        };
        self.sends.push(self.pair.send(0, tag, context, &data, mode));
        self.frames.push((self.msgs.len(), self.stream_len + HEADER_LEN));
        self.msgs.push(Msg { tag, context, len });
        self.stream_len += HEADER_LEN + len;
    }

    /// Replaces the connection: the new stream to rank 1 starts with the first message it
    /// had not fully received.
    fn reconnect(&mut self) {
        self.pair.reconnect().expect("replay is consistent");
        let first = self.pair.sides[1].peer.received_count() as usize;
        self.frames.clear();
        let mut offset = 0;
        for m in first..self.msgs.len() {
            self.frames.push((m, offset + HEADER_LEN));
            offset += HEADER_LEN + self.msgs[m].len;
        }
        self.next_frame = 0;
        self.stream_len = offset;
        self.consumed = 0;
    }

    /// Moves up to `max` bytes to rank 1, cutting reads at header ends so the reference
    /// learns of each arrival right after the call that completed its header.
    fn deliver(&mut self, max: usize) -> usize {
        self.pair.write(0, max);
        let mut total = 0;
        while total < max {
            let (msg, next_end) = self.frames.get(self.next_frame).copied().unwrap_or((usize::MAX, usize::MAX));
            let step = (max - total).min(next_end - self.consumed);
            let n = self.pair.read(1, step, ALL).expect("the stream is well formed");
            self.consumed += n;
            total += n;
            if self.consumed == next_end {
                if msg >= self.arrived {
                    self.reference.arrive(msg, &self.msgs);
                    self.arrived = msg + 1;
                }
                self.next_frame += 1;
            } else if n < step {
                break;
            }
        }
        self.pair.write(1, ALL);
        total + self.pair.read(0, ALL, ALL).expect("acks are well formed")
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Post { any_source, tag, context, cap } => {
                self.post(Want { source: (!any_source).then_some(0), tag, context }, cap)
            }
            Op::Send { tag, context, len, sync } => self.send(tag, context, len, sync),
            Op::Move { bytes } => {
                self.deliver(bytes);
            }
            Op::Advance { micros } => {
                self.pair.advance(Duration::from_micros(micros));
                self.pair.run(1, |p, ctx, _| p.resume(ctx)).expect("resuming never fails here");
            }
            Op::Reconnect => self.reconnect(),
        }
    }

    /// Posts a wildcard receive for every message not matched yet, then moves every byte.
    fn flush(&mut self) {
        let taken: Vec<usize> = self.reference.got.iter().flatten().copied().collect();
        for context in 0..2 {
            let left = (0..self.msgs.len()).filter(|m| self.msgs[*m].context == context && !taken.contains(m));
            for _ in 0..left.count() {
                self.post(Want { source: None, tag: None, context }, FLUSH_CAP);
            }
        }
        while self.deliver(ALL) > 0 {}
        assert_eq!(self.consumed, self.stream_len, "every byte was read");
    }

    fn check(&self) {
        for (r, ((recv, cap), want)) in self.recvs.iter().zip(&self.reference.got).enumerate() {
            let Some(m) = *want else {
                assert!(!recv.req.is_done(), "receive {r} matched, the reference says nothing matches it");
                continue;
            };
            let msg = self.msgs[m];
            let outcome = recv.outcome().unwrap_or_else(|| panic!("receive {r} should have got message {m}"));
            let count = msg.len.min(*cap);
            assert_eq!((outcome.source, outcome.tag, outcome.count), (0, msg.tag, count as u64), "receive {r}");
            let truncated = outcome.error.map(|e| e.class);
            assert_eq!(truncated, (msg.len > *cap).then_some(ErrorClass::Truncate), "receive {r}");
            let sent = pattern_bytes(m as u32, msg.len);
            assert!(recv.data()[..count] == sent[..count], "receive {r} holds message {m}'s bytes");
        }
        for (i, send) in self.sends.iter().enumerate() {
            let outcome = send.outcome().unwrap_or_else(|| panic!("send {i} never completed"));
            assert_eq!((outcome.count, outcome.error), (self.msgs[i].len as u64, None), "send {i}");
        }
        let open = self.reference.got.iter().filter(|g| g.is_none()).count();
        assert_eq!(self.pair.queued(1), (open, 0));
        assert_eq!(self.pair.budget_used(1), 0);
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_engine_matches_like_the_reference(
        budget in prop_oneof![Just(ROOMY), Just(64u64 << 10), Just(400u64 << 10)],
        pipe_cap in prop_oneof![Just(usize::MAX), Just(16usize << 10)],
        ops in prop::collection::vec(op(), 1..40),
    ) {
        let mut pair = Pair::with_budgets(ROOMY, budget);
        pair.pipe_cap = pipe_cap;
        let mut run = Run {
            pair,
            reference: Reference::default(),
            msgs: Vec::new(),
            sends: Vec::new(),
            recvs: Vec::new(),
            frames: Vec::new(),
            next_frame: 0,
            stream_len: 0,
            consumed: 0,
            arrived: 0,
        };
        for op in &ops {
            run.apply(op);
        }
        run.flush();
        run.check();
    }
}
