//! The hand-off between compute and progress threads: completions signalled through the
//! `Notifier` (with crossbeam-channel, which it replaced, as the baseline), and the send path
//! itself: frames queued with a link's engine `Peer` and written with `writev`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use partyline::buffer::Payload;
use partyline::conn::Conn;
use partyline::engine::{Ctx, Effects, LinkSettings, Mailbox, Peer};
use partyline::link::Link;
use partyline::notifier::Notifier;
use partyline::request::Request;
use partyline::stats::Stats;
use partyline::transport::Plain;
use partyline::wire::FrameHeader;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

fn short(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    g.measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500)).sample_size(20);
}

/// Ping-pong between two threads: each side publishes a counter and notifies; the other waits
/// on the same `Notifier` (as compute threads and the progress thread share one).
fn notifier_round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("handoff/round_trip");
    short(&mut g);
    for (name, spin) in [("notifier_spin_50us", Duration::from_micros(50)), ("notifier_park", Duration::ZERO)] {
        let n = Arc::new(Notifier::new(spin));
        let ping = Arc::new(AtomicU64::new(0));
        let pong = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let echo = {
            let (n, ping, pong, stop) = (n.clone(), ping.clone(), pong.clone(), stop.clone());
            thread::spawn(move || {
                let mut seen = 0;
                loop {
                    let v = n
                        .wait(|| {
                            let v = ping.load(SeqCst);
                            (v != seen || stop.load(SeqCst)).then_some(v)
                        })
                        .expect("not poisoned");
                    if stop.load(SeqCst) {
                        return;
                    }
                    seen = v;
                    pong.store(v, SeqCst);
                    n.notify();
                }
            })
        };
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    let v = ping.load(SeqCst) + 1;
                    ping.store(v, SeqCst);
                    n.notify();
                    n.wait(|| (pong.load(SeqCst) == v).then_some(())).expect("not poisoned");
                }
                start.elapsed()
            })
        });
        stop.store(true, SeqCst);
        n.notify();
        echo.join().expect("echo thread");
    }

    // The baseline: a round trip over two crossbeam channels.
    let (to_echo, echo_rx) = crossbeam_channel::unbounded::<u64>();
    let (echo_tx, back) = crossbeam_channel::unbounded::<u64>();
    let echo = thread::spawn(move || {
        for v in echo_rx {
            if echo_tx.send(v).is_err() {
                return;
            }
        }
    });
    g.bench_function("crossbeam_channel", |b| {
        b.iter(|| {
            to_echo.send(1).expect("echo alive");
            back.recv().expect("echo alive")
        })
    });
    drop(to_echo);
    echo.join().expect("echo thread");
    g.finish();
}

/// One-way: the sender signals `iters` completions while the other thread consumes them.
fn one_way(c: &mut Criterion) {
    let mut g = c.benchmark_group("handoff/one_way");
    short(&mut g);
    g.throughput(Throughput::Elements(1));
    g.bench_function("crossbeam_channel", |b| {
        b.iter_custom(|iters| {
            let (tx, rx) = crossbeam_channel::unbounded::<u64>();
            let start = Instant::now();
            let t = thread::spawn(move || rx.iter().count());
            for i in 0..iters {
                tx.send(i).expect("receiver alive");
            }
            drop(tx);
            assert_eq!(t.join().expect("receiver") as u64, iters);
            start.elapsed()
        })
    });
    g.bench_function("notifier_counter", |b| {
        b.iter_custom(|iters| {
            let n = Arc::new(Notifier::new(Duration::from_micros(50)));
            let done = Arc::new(AtomicU64::new(0));
            let start = Instant::now();
            let t = {
                let (n, done) = (n.clone(), done.clone());
                thread::spawn(move || n.wait(|| (done.load(SeqCst) == iters).then_some(())).expect("not poisoned"))
            };
            for _ in 0..iters {
                done.fetch_add(1, SeqCst);
                n.notify();
            }
            t.join().expect("waiter");
            start.elapsed()
        })
    });
    g.finish();
}

/// Rank 0's link to rank 1 over a loopback TCP pair; the other end is drained by a reader
/// thread until the link closes.
fn loopback() -> (Link, thread::JoinHandle<u64>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (mut server, _) = listener.accept().expect("accept");
    client.set_nodelay(true).expect("nodelay");
    let reader = thread::spawn(move || {
        let mut buf = vec![0u8; 256 << 10];
        let mut total = 0u64;
        loop {
            match server.read(&mut buf) {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n as u64,
            }
        }
    });
    let transport = Box::new(Plain::new(Conn::Tcp(client).into_stream().expect("transport")));
    let settings = LinkSettings {
        max_frame: 1 << 30,
        send_budget: 1 << 30,
        link_timeout: std::time::Duration::from_secs(60),
        checksums: true,
    };
    (Link::new(Peer::new(0, 1, settings, Instant::now()), transport, Arc::new(AtomicU64::new(0)), 0, None), reader)
}

/// Per-message cost of an eager send: copy the payload, make the request, queue the frame
/// with the link's engine, then one flush (`writev`) for the batch, completing each request.
fn link_send(c: &mut Criterion) {
    let mut g = c.benchmark_group("link/enqueue_flush_8B");
    short(&mut g);
    let (mut link, reader) = loopback();
    let mailbox = Mutex::new(Mailbox::new(2, 64 << 20));
    let stats = Stats::new(2);
    let data = [7u8; 8];
    for batch in [1u64, 16, 64] {
        g.throughput(Throughput::Elements(batch));
        g.bench_with_input(BenchmarkId::from_parameter(batch), &batch, |b, &batch| {
            b.iter(|| {
                let mut fx = Effects::default();
                let mut ctx = Ctx { mailbox: &mailbox, stats: &stats, now: Instant::now(), fx: &mut fx };
                for _ in 0..batch {
                    let header = FrameHeader::data(0, 3, 1, data.len() as u64, 0);
                    let payload = Payload::Owned(bytes::Bytes::copy_from_slice(&data));
                    link.peer.send(header, payload, Some(Request::new()), ctx.fx);
                }
                // A full socket returns early with output left; keep going as the reader drains.
                while link.has_output() {
                    link.flush(&mut ctx).expect("the link failed during the benchmark");
                }
                // The reader acknowledges nothing: release the window as its acknowledgement would.
                link.peer.acknowledged_all(ctx.fx);
                for (req, outcome) in fx.completions {
                    req.complete(outcome);
                }
            })
        });
    }
    g.finish();
    drop(link);
    assert!(reader.join().expect("reader") > 0);
}

criterion_group!(benches, notifier_round_trip, one_way, link_send);
criterion_main!(benches);
