//! The unexpected-message budget on each side, links stalled for it and resumed, backpressure on the sender, and large messages deferred for their receive.

use super::*;
use crate::engine::mailbox::Arrival;
use crate::engine::matching::Envelope;
use crate::engine::stall::{defer_limit, DEFER_MAX, DEFER_MIN};
use crate::wire::HEADER_LEN;

/// Resumes side `s`'s stalled link, as the driver's deferral timer (`expire_deferrals`) does.
fn expire(pair: &mut Pair, s: usize) {
    pair.run(s, |p, ctx, _| p.resume(ctx)).unwrap();
}

#[test]
fn a_message_over_budget_stalls_its_link_until_a_receive_claims_it() {
    let mut pair = Pair::with_budgets(ROOMY, 10_000);
    let big = pattern_bytes(1, 20_000);
    pair.send(0, 1, 0, &big, Mode::Tracked);
    pair.send(0, 2, 0, b"behind", Mode::Eager);
    pair.write(0, ALL);
    pair.read(1, HEADER_LEN + 100, ALL).unwrap();
    assert!(pair.sides[1].peer.is_stalled());
    assert_eq!(pair.read(1, ALL, ALL).unwrap(), 0, "a stalled link reads nothing");
    assert_eq!((pair.budget_used(1), pair.queued(1)), (0, (0, 1)), "only the header is in");
    let r = pair.recv(1, pat(None, Some(1)), big.len()).unwrap();
    pair.settle(ALL).unwrap();
    assert_eq!(r.data(), &big[..], "straight into the receive, past the budget");
    let behind = pair.recv(1, pat(None, Some(2)), 6).unwrap();
    assert_eq!(behind.data(), b"behind");
}

#[test]
fn a_stalled_message_already_read_into_the_stage_completes_on_resume() {
    let mut pair = Pair::with_budgets(ROOMY, 1000);
    let big = pattern_bytes(2, 4000);
    pair.send(0, 0, 0, &big, Mode::Tracked);
    pair.send(0, 1, 0, b"next", Mode::Eager);
    pair.write(0, ALL);
    pair.read(1, ALL, ALL).unwrap();
    assert!(pair.sides[1].peer.is_stalled());
    assert_eq!(pair.in_flight(1), 0, "every byte is in the stage already; no more will come");
    let r = pair.recv(1, pat(None, Some(0)), big.len()).unwrap();
    assert_eq!(r.data(), &big[..], "completed by the resume itself");
    assert_eq!(pair.queued(1), (0, 1), "and the frame behind it parsed");
}

#[test]
fn freed_budget_resumes_a_link_stalled_for_room() {
    let mut pair = Pair::with_budgets(ROOMY, 10_000);
    pair.send(0, 1, 0, &[1; 6000], Mode::Eager);
    pair.send(0, 2, 0, &[2; 6000], Mode::Eager);
    pair.settle(4096).unwrap();
    assert!(pair.sides[1].peer.is_stalled());
    assert_eq!(pair.budget_used(1), 6000);
    let first = pair.recv(1, pat(None, Some(1)), 6000).unwrap();
    assert_eq!(first.data(), &[1; 6000]);
    pair.settle(4096).unwrap();
    assert!(!pair.sides[1].peer.is_stalled());
    assert_eq!(pair.budget_used(1), 6000, "the second message buffered in the room the first freed");
    let second = pair.recv(1, pat(None, None), 6000).unwrap();
    assert_eq!(second.data(), &[2; 6000]);
}

#[test]
fn a_stalled_receiver_holds_up_a_lent_send_until_its_receive_is_posted() {
    let mut pair = Pair::with_budgets(ROOMY, 1000);
    pair.pipe_cap = 4096;
    let data = pattern_bytes(3, 64 << 10);
    let send = pair.send(0, 0, 0, &data, Mode::Lent);
    pair.settle(ALL).unwrap();
    assert!(pair.sides[1].peer.is_stalled());
    assert_eq!(pair.in_flight(1), 4096, "the pipe is full: backpressure reaches the sender");
    assert!(!send.is_done());
    let r = pair.recv(1, pat(None, None), data.len()).unwrap();
    pair.settle(ALL).unwrap();
    assert_eq!((send.outcome().unwrap().count, r.data()), (data.len() as u64, &data[..]));
}

#[test]
fn each_side_counts_only_its_own_budget() {
    let mut pair = Pair::with_budgets(50_000, 10_000);
    pair.send(0, 0, 0, &[1; 20_000], Mode::Eager);
    pair.send(1, 0, 0, &[2; 20_000], Mode::Eager);
    pair.settle(ALL).unwrap();
    assert!(pair.sides[1].peer.is_stalled() && !pair.sides[0].peer.is_stalled());
    assert_eq!((pair.budget_used(0), pair.budget_used(1)), (20_000, 0));
}

#[test]
fn the_deferral_limit_grows_with_size_up_to_a_cap() {
    assert_eq!(defer_limit(0), DEFER_MAX);
    assert!(defer_limit(DEFER_MIN) > DEFER_MAX);
    assert!(defer_limit(64 << 20) > defer_limit(DEFER_MIN));
    assert_eq!(defer_limit(u64::MAX), Duration::from_millis(100));
}

#[test]
fn a_large_unexpected_message_waits_in_the_socket_until_its_deferral_ends() {
    let mut pair = Pair::new();
    let data = pattern_bytes(4, DEFER_MIN as usize);
    pair.send(0, 0, 0, &data, Mode::Tracked);
    pair.write(0, ALL);
    pair.read(1, HEADER_LEN, ALL).unwrap();
    let due = pair.now + defer_limit(DEFER_MIN);
    {
        let mb = pair.sides[1].mailbox.lock().unwrap();
        assert!(mb.has_deferrals());
        assert_eq!(mb.poll_timeout(), Some(due));
    }
    pair.now = due - Duration::from_micros(1);
    expire(&mut pair, 1);
    assert!(pair.sides[1].peer.is_stalled(), "not yet");
    assert_eq!(pair.budget_used(1), 0);
    pair.now = due;
    expire(&mut pair, 1);
    assert!(!pair.sides[1].peer.is_stalled());
    assert_eq!(pair.sides[1].mailbox.lock().unwrap().poll_timeout(), None);
    pair.settle(ALL).unwrap();
    assert_eq!(pair.budget_used(1), DEFER_MIN, "buffered after all");
    let r = pair.recv(1, pat(None, None), data.len()).unwrap();
    assert_eq!(r.data(), &data[..]);
}

#[test]
fn a_deferred_message_read_into_a_full_stage_resumes_without_a_false_end_of_stream() {
    let mut pair = Pair::new();
    let data = pattern_bytes(5, DEFER_MIN as usize);
    pair.send(0, 0, 0, &data, Mode::Tracked);
    pair.send(0, 1, 0, b"next", Mode::Eager);
    pair.write(0, ALL);
    pair.read(1, ALL, ALL).unwrap();
    assert!(pair.sides[1].peer.is_stalled());
    pair.advance(defer_limit(DEFER_MIN));
    expire(&mut pair, 1);
    pair.settle(ALL).unwrap();
    assert!(pair.sides[1].failure.is_none(), "{:?}", pair.sides[1].failure);
    let r = pair.recv(1, pat(None, Some(0)), data.len()).unwrap();
    assert_eq!(r.data(), &data[..]);
    assert_eq!(pair.queued(1), (0, 1));
}

#[test]
fn a_deferred_message_claimed_in_time_skips_our_memory() {
    let mut pair = Pair::new();
    let data = pattern_bytes(6, 300 << 10);
    pair.send(0, 0, 0, &data, Mode::Tracked);
    pair.write(0, ALL);
    pair.read(1, 5000, ALL).unwrap();
    assert!(pair.sides[1].peer.is_stalled());
    pair.advance(DEFER_MAX / 2);
    let r = pair.recv(1, pat(None, None), data.len()).unwrap();
    pair.settle(ALL).unwrap();
    assert_eq!(r.data(), &data[..]);
    assert_eq!(pair.budget_used(1), 0);
    assert!(!pair.sides[1].mailbox.lock().unwrap().has_deferrals());
}

#[test]
fn a_deferral_that_ends_without_room_becomes_an_ordinary_stall() {
    let mut pair = Pair::with_budgets(ROOMY, 100_000);
    let data = pattern_bytes(7, DEFER_MIN as usize);
    pair.send(0, 0, 0, &data, Mode::Tracked);
    pair.write(0, ALL);
    pair.read(1, HEADER_LEN, ALL).unwrap();
    pair.advance(Duration::from_secs(1));
    expire(&mut pair, 1);
    assert!(pair.sides[1].peer.is_stalled());
    assert!(!pair.sides[1].mailbox.lock().unwrap().has_deferrals(), "no timer needed any more");
    let r = pair.recv(1, pat(None, None), data.len()).unwrap();
    pair.settle(ALL).unwrap();
    assert_eq!(r.data(), &data[..]);
}

/// Three ranks, at the mailbox: rank 2's message stalls for room that rank 1's message holds.
/// When a receive that claimed rank 1's message takes it, the room is free again, and rank 2's
/// link must be told to resume, or a receive for a later message from rank 2 hangs.
#[test]
fn budget_freed_by_a_claimed_arrival_resumes_other_stalled_links() {
    let now = Instant::now();
    let mut mb = Mailbox::new(3, 100_000);
    let env = |source| Envelope { context: 0, source, tag: 0 };
    let Arrival::Buffer { id } = mb.arrive(1, env(1), 60_000, None, now) else { panic!("room for it") };
    assert!(matches!(mb.arrive(2, env(2), 60_000, None, now), Arrival::Stall { .. }));
    let recv = PostedRecv { req: Request::new(), buf: RecvBuf::from_slice(Box::leak(Box::new([]))) };
    let mut fx = Effects::default();
    assert!(matches!(mb.post_recv(pat(Some(1), None), recv, &mut fx), Ok(Posting::Claimed)));
    let mut fx = Effects::default();
    assert!(mb.buffered(0, id, vec![0; 60_000], &mut fx).is_some());
    assert_eq!(mb.budget_used(), 0);
    assert_eq!(fx.resume, vec![2], "rank 2's link must retry");
}

/// As above, with rank 1 failing mid-arrival: the room its message held is free again.
#[test]
fn budget_freed_by_a_failed_peer_resumes_other_stalled_links() {
    let now = Instant::now();
    let mut mb = Mailbox::new(3, 100_000);
    let env = |source| Envelope { context: 0, source, tag: 0 };
    assert!(matches!(mb.arrive(1, env(1), 60_000, None, now), Arrival::Buffer { .. }));
    assert!(matches!(mb.arrive(2, env(2), 60_000, None, now), Arrival::Stall { .. }));
    let why = crate::error::Error::new(crate::error::ErrorClass::ProcAborted, "gone");
    let mut fx = Effects::default();
    assert!(mb.bury_peer(1, crate::engine::PeerState::Failed(why), true, &mut fx).is_empty());
    assert_eq!(mb.budget_used(), 0);
    assert_eq!(fx.resume, vec![2], "rank 2's link must retry");
}
