//! Reconnect attempts against a scripted peer: a link that reopens to widen goes back to the count it had when the peer refuses its extra streams, and one whose count the user set keeps trying.

use super::*;
use crate::handshake::PROTOCOL_VERSION;
use std::net::TcpListener;

fn hello(rank: u32) -> Hello {
    Hello { version: PROTOCOL_VERSION, job_id: "j".into(), rank, size: 2, checks: false }
}

/// Rank 0 of a job of two at a loopback port: it refuses every extra stream (counting them in
/// `refused`) and answers a resume as having received 7 frames.
fn refusing_peer(refused: Arc<AtomicUsize>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        // A thread per connection: the resume's connection opens first and greets last.
        for stream in listener.incoming().flatten() {
            let refused = refused.clone();
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(10);
                let Ok(mut channel) = Channel::accept(Conn::Tcp(stream), deadline, None) else { return };
                match Greeting::read_from(&mut channel, "rank 1") {
                    Ok(Greeting::Join(_)) => {
                        refused.fetch_add(1, SeqCst);
                        let why = "no room for more connections".to_string();
                        let _ = Greeting::Reject(why).write_to(&mut channel, "rank 1");
                    }
                    Ok(Greeting::Resume(r)) => {
                        let mine = Resume { hello: hello(0), target: 1, epoch: r.epoch, received: 7 };
                        let _ = Greeting::Resumed(mine).write_to(&mut channel, "rank 1");
                    }
                    _ => {}
                }
            });
        }
    });
    addr
}

/// Rank 1's attempt to re-establish its link to rank 0 at `addr` with `streams`.
fn attempt(addr: String, streams: usize, narrower: Option<usize>, within: Duration) -> Attempt {
    let cfg = Config {
        rank: 1,
        size: 2,
        peers: vec![addr, "127.0.0.1:1".into()],
        local_links: crate::socket_settings::LocalLinks::Tcp,
        // Generous, for machines under load: the peer answers at once anyway.
        handshake_timeout: Duration::from_secs(10),
        ..Config::for_tests()
    };
    let counters = || Arc::new(vec![AtomicU64::new(0), AtomicU64::new(0)]);
    Attempt {
        peer: 0,
        cfg,
        tls: None,
        me: hello(1),
        received: 0,
        epoch: 0,
        deadline: Instant::now() + within,
        cause: "the link was reopened to widen it".into(),
        still: counters(),
        generation: 0,
        epochs: counters(),
        streams,
        narrower,
        counts: Arc::new(vec![AtomicUsize::new(streams), AtomicUsize::new(0)]),
    }
}

#[test]
fn a_widening_the_peer_refuses_goes_back_to_the_count_before() {
    let refused = Arc::new(AtomicUsize::new(0));
    let mut widening = attempt(refusing_peer(refused.clone()), 8, Some(1), Duration::from_secs(30));
    match widening.run() {
        Some(Relink::Dialed { bundle, received, .. }) => {
            assert_eq!(bundle.count(), 1, "back to one connection");
            assert_eq!(received, 7);
        }
        _ => panic!("the link should be re-established over one connection"),
    }
    assert!(refused.load(SeqCst) >= 1, "the extra streams were tried first");
    assert_eq!(widening.counts[0].load(SeqCst), 1, "later reconnects open one");
}

#[test]
fn a_count_the_user_set_is_not_given_up() {
    let refused = Arc::new(AtomicUsize::new(0));
    let mut fixed = attempt(refusing_peer(refused.clone()), 8, None, Duration::from_secs(2));
    match fixed.run() {
        Some(Relink::Dead { why, .. }) => {
            assert!(why.message.contains("could not be re-established"), "{}", why.message)
        }
        _ => panic!("without a count to go back to, the attempt keeps its count until the deadline"),
    }
    assert!(refused.load(SeqCst) >= 1);
    assert_eq!(fixed.counts[0].load(SeqCst), 8);
}
