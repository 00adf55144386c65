//! The matching engine with 10,000 posted receives and with 10,000 unexpected messages.
//!
//! Each measured step keeps the queue at 10,000 entries: what one step removes it puts back,
//! so the numbers include one `post` (or `push_unexpected`) besides the operation named.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use partyline::engine::matching::{Envelope, MatchEngine, Pattern};
use std::collections::VecDeque;
use std::hint::black_box;
use std::time::Duration;

const N: i32 = 10_000;
const CTX: u64 = 7;

fn env(source: i32, tag: i32) -> Envelope {
    Envelope { context: CTX, source, tag }
}

fn pat(source: Option<i32>, tag: Option<i32>) -> Pattern {
    Pattern { context: CTX, source, tag }
}

fn posted(c: &mut Criterion) {
    let mut g = c.benchmark_group("matching/posted_10k");
    g.measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500)).sample_size(30);

    // Identical receives: the arrival takes the first (FIFO); the receive is posted again.
    g.bench_function("arrive_first", |b| {
        let mut m: MatchEngine<u32, ()> = MatchEngine::new();
        for i in 0..N {
            m.post(pat(Some(1), Some(0)), i as u32);
        }
        let e = env(1, 0);
        b.iter(|| {
            let p = m.arrive(black_box(&e)).expect("matches");
            m.post(pat(Some(1), Some(0)), p)
        });
    });

    // Distinct tags: the arrival matches only the last receive, after scanning the others.
    g.bench_function("arrive_last", |b| {
        let mut m: MatchEngine<u32, ()> = MatchEngine::new();
        for i in 0..N {
            m.post(pat(Some(1), Some(i)), i as u32);
        }
        let e = env(1, N - 1);
        b.iter(|| {
            let p = m.arrive(black_box(&e)).expect("matches");
            m.post(pat(Some(1), Some(N - 1)), p)
        });
    });

    // Any-source receives with other tags, then one MPI_ANY_SOURCE/MPI_ANY_TAG receive at the end.
    g.bench_function("arrive_wildcard_last", |b| {
        let mut m: MatchEngine<u32, ()> = MatchEngine::new();
        for i in 0..N - 1 {
            m.post(pat(None, Some(i)), i as u32);
        }
        m.post(pat(None, None), u32::MAX);
        let e = env(3, N + 1);
        b.iter(|| {
            let p = m.arrive(black_box(&e)).expect("matches");
            m.post(pat(None, None), p)
        });
    });

    // Post 10,000 identical receives, then 10,000 arrivals take them in posting order.
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("fifo_post_then_drain", |b| {
        let mut m: MatchEngine<u32, ()> = MatchEngine::new();
        let e = env(1, 0);
        b.iter(|| {
            for i in 0..N as u32 {
                m.post(pat(Some(1), Some(0)), i);
            }
            for i in 0..N as u32 {
                assert_eq!(m.arrive(black_box(&e)), Some(i));
            }
        });
    });
    g.finish();
}

fn unexpected(c: &mut Criterion) {
    let mut g = c.benchmark_group("matching/unexpected_10k");
    g.measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500)).sample_size(30);

    let fill = || {
        let mut m: MatchEngine<(), u32> = MatchEngine::new();
        let ids: VecDeque<u64> = (0..N).map(|i| m.push_unexpected(env(1, i), i as u32)).collect();
        (m, ids)
    };

    for (name, tag) in [("first", 0), ("last", N - 1)] {
        g.bench_with_input(BenchmarkId::new("find", name), &tag, |b, &tag| {
            let (mut m, _) = fill();
            let p = pat(Some(1), Some(tag));
            b.iter(|| m.find_unexpected(black_box(&p), |_| true).map(|(id, _, _)| id).expect("found"));
        });
    }

    // A receive's whole path: find the earliest match, then take it out; the message is re-queued.
    g.bench_function("find_remove/first", |b| {
        let (mut m, _) = fill();
        let p = pat(Some(1), None);
        b.iter(|| {
            let (id, e, _) = m.find_unexpected(black_box(&p), |_| true).expect("found");
            let u = m.remove_unexpected(CTX, id).expect("present");
            m.push_unexpected(e, u)
        });
    });
    g.bench_function("find_remove/last", |b| {
        let (mut m, _) = fill();
        let p = pat(Some(1), Some(N - 1));
        b.iter(|| {
            let (id, e, _) = m.find_unexpected(black_box(&p), |_| true).expect("found");
            let u = m.remove_unexpected(CTX, id).expect("present");
            m.push_unexpected(e, u)
        });
    });

    // Removal by id alone (the id is already known, as after a probe).
    g.bench_function("remove/first", |b| {
        let (mut m, mut ids) = fill();
        b.iter(|| {
            let id = ids.pop_front().expect("queued");
            let u = m.remove_unexpected(CTX, black_box(id)).expect("present");
            ids.push_back(m.push_unexpected(env(1, u as i32), u));
        });
    });
    g.bench_function("remove/last", |b| {
        let (mut m, mut ids) = fill();
        b.iter(|| {
            let id = ids.pop_back().expect("queued");
            let u = m.remove_unexpected(CTX, black_box(id)).expect("present");
            ids.push_back(m.push_unexpected(env(1, u as i32), u));
        });
    });
    g.finish();
}

criterion_group!(benches, posted, unexpected);
criterion_main!(benches);
