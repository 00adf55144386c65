//! Reconnect attempts against a scripted peer: a link that reopens to widen goes back to the count it had when the peer refuses its extra streams, one whose count the user set keeps trying, and a widening opens its connections before the link breaks (and withdraws them if it moved on).

use super::*;
use crate::handshake::{Resume, PROTOCOL_VERSION};
use std::net::TcpListener;

fn hello(rank: u32) -> Hello {
    Hello { version: PROTOCOL_VERSION, job_id: "j".into(), rank, size: 2, checks: false }
}

/// What the scripted rank 0 saw: connections, extra streams refused and taken, resumes.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    refused: AtomicUsize,
    joined: AtomicUsize,
    resumes: AtomicUsize,
    withdrawn: AtomicUsize,
}

/// Rank 0 of a job of two at a loopback port: it takes extra streams if `takes_extras`, else
/// refuses them, and answers a resume as having received 7 frames; `seen` counts it all.
fn scripted_peer(seen: Arc<Seen>, takes_extras: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        // A thread per connection: the resume's connection opens first and greets last.
        for stream in listener.incoming().flatten() {
            let seen = seen.clone();
            seen.connections.fetch_add(1, SeqCst);
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(10);
                let Ok(mut channel) = Channel::accept(Conn::Tcp(stream), deadline, None) else { return };
                match Greeting::read_from(&mut channel, "rank 1") {
                    Ok(Greeting::Join(_)) if takes_extras => {
                        seen.joined.fetch_add(1, SeqCst);
                        let _ = Greeting::Accept(hello(0)).write_to(&mut channel, "rank 1");
                        // Held open, as the joiner holds it, until the test ends.
                        let _ = Greeting::read_from(&mut channel, "rank 1");
                    }
                    Ok(Greeting::Join(_)) => {
                        seen.refused.fetch_add(1, SeqCst);
                        let why = "no room for more connections".to_string();
                        let _ = Greeting::Reject(why).write_to(&mut channel, "rank 1");
                    }
                    Ok(Greeting::Reject(_)) => {
                        seen.withdrawn.fetch_add(1, SeqCst);
                    }
                    Ok(Greeting::Resume(r)) => {
                        seen.resumes.fetch_add(1, SeqCst);
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

/// Rank 1 of a job of two whose rank 0 listens at `addr`.
fn rank_one(addr: String) -> Config {
    Config {
        rank: 1,
        size: 2,
        peers: vec![addr, "127.0.0.1:1".into()],
        local_links: crate::socket_settings::LocalLinks::Tcp,
        // Generous, for machines under load: the peer answers at once anyway.
        handshake_timeout: Duration::from_secs(10),
        ..Config::for_tests()
    }
}

/// Rank 1's attempt to re-establish its link to rank 0 at `addr` with `streams`.
fn attempt(addr: String, streams: usize, narrower: Option<usize>, within: Duration) -> Attempt {
    let cfg = rank_one(addr);
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
        opened: None,
    }
}

#[test]
fn a_widening_the_peer_refuses_goes_back_to_the_count_before() {
    let seen = Arc::new(Seen::default());
    let mut widening = attempt(scripted_peer(seen.clone(), false), 8, Some(1), Duration::from_secs(30));
    match widening.run() {
        Some(Relink::Dialed { bundle, received, .. }) => {
            assert_eq!(bundle.count(), 1, "back to one connection");
            assert_eq!(received, 7);
        }
        _ => panic!("the link should be re-established over one connection"),
    }
    assert!(seen.refused.load(SeqCst) >= 1, "the extra streams were tried first");
    assert_eq!(widening.counts[0].load(SeqCst), 1, "later reconnects open one");
}

#[test]
fn a_count_the_user_set_is_not_given_up() {
    let seen = Arc::new(Seen::default());
    let mut fixed = attempt(scripted_peer(seen.clone(), false), 8, None, Duration::from_secs(2));
    match fixed.run() {
        Some(Relink::Dead { why, .. }) => {
            assert!(why.message.contains("could not be re-established"), "{}", why.message)
        }
        _ => panic!("without a count to go back to, the attempt keeps its count until the deadline"),
    }
    assert!(seen.refused.load(SeqCst) >= 1);
    assert_eq!(fixed.counts[0].load(SeqCst), 8);
}

/// Rank 1's relinker, and the events it reports.
fn relinker(addr: String) -> (Relinker, crossbeam_channel::Receiver<Relink>) {
    let cfg = rank_one(addr);
    let (events, reports) = crossbeam_channel::unbounded();
    let poll = mio::Poll::new().unwrap();
    let wake = Arc::new(mio::Waker::new(poll.registry(), mio::Token(0)).unwrap());
    let joiner = Arc::new(Joiner::default());
    (Relinker::new(&cfg, None, hello(1), joiner, vec![1, 0], events, wake), reports)
}

fn next(reports: &crossbeam_channel::Receiver<Relink>) -> Relink {
    reports.recv_timeout(Duration::from_secs(60)).expect("the relinker reports within a minute")
}

#[test]
fn a_widening_opens_its_connections_before_the_link_breaks_and_resumes_on_them() {
    let seen = Arc::new(Seen::default());
    let (relinker, reports) = relinker(scripted_peer(seen.clone(), true));
    relinker.widen(0, 8, 0, "it loses packets".into());
    let Relink::Widened { peer: 0, opened, epoch: 0, cause } = next(&reports) else {
        panic!("the eight connections should open")
    };
    assert_eq!(opened.count(), 8);
    assert!(cause.starts_with("it loses packets; they opened in "), "{cause}");
    assert_eq!(seen.joined.load(SeqCst), 7, "the extra streams are held by the peer");
    assert_eq!(seen.resumes.load(SeqCst), 0, "nothing resumes before the link breaks");

    relinker.hold_opened(0, 0, opened);
    let since = Instant::now();
    relinker.broken(LinkBreak { peer: 0, received: 3, epoch: 0, since, cause: "widening".into() });
    match next(&reports) {
        Relink::Dialed { peer: 0, bundle, received: 7, .. } => assert_eq!(bundle.count(), 8),
        _ => panic!("the link should resume on the connections opened for it"),
    }
    assert_eq!(seen.connections.load(SeqCst), 8, "the break dialed nothing more");
    assert_eq!(seen.resumes.load(SeqCst), 1);
}

#[test]
fn a_widening_the_peer_refuses_leaves_the_link_alone() {
    let seen = Arc::new(Seen::default());
    let (relinker, reports) = relinker(scripted_peer(seen.clone(), false));
    relinker.widen(0, 8, 0, "it loses packets".into());
    match next(&reports) {
        Relink::NotWidened { peer: 0, streams: 8, why } => {
            assert!(why.contains("refused an extra stream: no room for more connections"), "{why}")
        }
        _ => panic!("the widening should fail"),
    }
    assert_eq!(seen.resumes.load(SeqCst), 0, "the link was never broken");
}

#[test]
fn connections_opened_for_another_connection_are_not_resumed_on() {
    let seen = Arc::new(Seen::default());
    let (relinker, reports) = relinker(scripted_peer(seen.clone(), true));
    relinker.widen(0, 8, 0, "it loses packets".into());
    let Relink::Widened { opened, .. } = next(&reports) else { panic!("the eight connections should open") };
    relinker.hold_opened(0, 0, opened);
    assert!(relinker.take_opened(0, 1).is_none(), "held for the connection of epoch 0, not 1");
    assert!(relinker.take_opened(0, 0).is_none(), "dropped when asked for another");
    // The peer hears that they are withdrawn (rather than seeing a reconnect fail).
    let waited = Instant::now();
    while seen.withdrawn.load(SeqCst) == 0 && waited.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!((seen.withdrawn.load(SeqCst), seen.resumes.load(SeqCst)), (1, 0));
}
