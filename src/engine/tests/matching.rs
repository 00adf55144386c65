//! MPI matching through the whole engine: posted versus unexpected arrival, wildcards, non-overtaking order, contexts, cancel, probe, zero-length messages and truncation.

use super::*;
use crate::engine::matching::Envelope;
use crate::error::ErrorClass;

/// Sends `msgs` (tag, payload) from rank 0 and moves them all to rank 1.
fn deliver(pair: &mut Pair, msgs: &[(i32, Vec<u8>)]) {
    for (tag, data) in msgs {
        pair.send(0, *tag, 0, data, Mode::Eager);
    }
    pair.settle(ALL).unwrap();
}

#[test]
fn message_for_a_posted_receive_lands_in_its_buffer() {
    let mut pair = Pair::new();
    let r = pair.recv(1, pat(Some(0), Some(3)), 16).unwrap();
    assert!(r.ticket.is_some() && !r.req.is_done());
    deliver(&mut pair, &[(3, b"hello".to_vec())]);
    let outcome = r.ok();
    assert_eq!((outcome.source, outcome.tag, outcome.count), (0, 3, 5));
    assert_eq!(&r.data()[..5], b"hello");
    assert_eq!((pair.queued(1), pair.budget_used(1)), ((0, 0), 0), "nothing was held");
}

#[test]
fn message_arriving_first_waits_unexpected_until_its_receive() {
    let mut pair = Pair::new();
    deliver(&mut pair, &[(3, b"early".to_vec())]);
    assert_eq!((pair.queued(1), pair.budget_used(1)), ((0, 1), 5));
    let r = pair.recv(1, pat(Some(0), Some(3)), 16).unwrap();
    assert!(r.ticket.is_none(), "matched at once");
    assert_eq!((r.ok().count, &r.data()[..5]), (5, &b"early"[..]));
    assert_eq!((pair.queued(1), pair.budget_used(1)), ((0, 0), 0), "budget returned");
}

#[test]
fn messages_from_one_sender_never_overtake_each_other() {
    let mut pair = Pair::new();
    let msgs: Vec<_> = (0..5u8).map(|i| (7, vec![i; 3])).collect();
    deliver(&mut pair, &msgs[..2]);
    let recvs: Vec<_> = (0..5).map(|_| pair.recv(1, pat(None, None), 3).unwrap()).collect();
    deliver(&mut pair, &msgs[2..]);
    for (i, r) in recvs.iter().enumerate() {
        assert_eq!(r.data(), &[i as u8; 3], "receive {i} got message {i}");
    }
}

#[test]
fn wildcard_receive_takes_the_earliest_arrived_message() {
    let mut pair = Pair::new();
    deliver(&mut pair, &[(5, b"a".to_vec()), (2, b"b".to_vec()), (5, b"c".to_vec())]);
    let any = pair.recv(1, pat(None, None), 1).unwrap();
    let any_tag = pair.recv(1, pat(Some(0), None), 1).unwrap();
    let tag5 = pair.recv(1, pat(None, Some(5)), 1).unwrap();
    assert_eq!((any.data(), any_tag.data(), tag5.data()), (&b"a"[..], &b"b"[..], &b"c"[..]));
    assert_eq!((any.ok().tag, any_tag.ok().tag, tag5.ok().tag), (5, 2, 5));
}

#[test]
fn a_tagged_receive_skips_earlier_messages_with_other_tags() {
    let mut pair = Pair::new();
    deliver(&mut pair, &[(1, b"one".to_vec()), (2, b"two".to_vec())]);
    let two = pair.recv(1, pat(Some(0), Some(2)), 8).unwrap();
    assert_eq!(&two.data()[..3], b"two");
    let one = pair.recv(1, pat(None, None), 8).unwrap();
    assert_eq!((one.ok().tag, &one.data()[..3]), (1, &b"one"[..]));
}

#[test]
fn the_earliest_posted_matching_receive_wins_over_later_specific_ones() {
    let mut pair = Pair::new();
    let specific_other_tag = pair.recv(1, pat(Some(0), Some(9)), 4).unwrap();
    let wildcard = pair.recv(1, pat(None, Some(4)), 4).unwrap();
    let specific = pair.recv(1, pat(Some(0), Some(4)), 4).unwrap();
    deliver(&mut pair, &[(4, b"1st".to_vec()), (4, b"2nd".to_vec())]);
    assert_eq!(&wildcard.data()[..3], b"1st", "posted before the specific receive");
    assert_eq!(&specific.data()[..3], b"2nd");
    assert!(!specific_other_tag.req.is_done());
}

#[test]
fn contexts_never_mix() {
    let mut pair = Pair::new();
    let in_ctx1 = pair.recv(1, Pattern { context: 1, source: None, tag: None }, 4).unwrap();
    pair.send(0, 0, 0, b"ctx0", Mode::Eager);
    pair.settle(ALL).unwrap();
    assert!(!in_ctx1.req.is_done(), "a context-0 message never matches a context-1 receive");
    assert_eq!(pair.queued(1), (1, 1));
    pair.send(0, 0, 1, b"ctx1", Mode::Eager);
    pair.settle(ALL).unwrap();
    assert_eq!(in_ctx1.data(), b"ctx1");
    let in_ctx0 = pair.recv(1, pat(None, None), 4).unwrap();
    assert_eq!(in_ctx0.data(), b"ctx0");
}

#[test]
fn a_cancelled_receive_leaves_the_message_unexpected() {
    let mut pair = Pair::new();
    let r = pair.recv(1, pat(Some(0), None), 4).unwrap();
    assert!(pair.cancel(1, &r));
    assert!(r.outcome().unwrap().cancelled);
    assert!(!pair.cancel(1, &r), "cancelling twice finds nothing");
    deliver(&mut pair, &[(0, b"kept".to_vec())]);
    assert_eq!(pair.queued(1), (0, 1));
}

#[test]
fn a_matched_receive_cannot_be_cancelled() {
    let mut pair = Pair::new();
    let r = pair.recv(1, pat(None, None), 4).unwrap();
    deliver(&mut pair, &[(0, b"data".to_vec())]);
    assert!(!pair.cancel(1, &r));
    assert!(!r.ok().cancelled);
}

#[test]
fn probe_reports_the_earliest_match_without_taking_it() {
    let mut pair = Pair::new();
    let probe = |pair: &Pair, p: Pattern| pair.sides[1].mailbox.lock().unwrap().probe(&p).unwrap();
    assert_eq!(probe(&pair, pat(None, None)), None);
    deliver(&mut pair, &[(8, vec![1; 10]), (9, vec![2; 20])]);
    let env = |tag| Envelope { context: 0, source: 0, tag };
    assert_eq!(probe(&pair, pat(None, None)), Some((env(8), 10)));
    assert_eq!(probe(&pair, pat(Some(0), Some(9))), Some((env(9), 20)));
    assert_eq!(probe(&pair, pat(None, None)), Some((env(8), 10)), "probing took nothing");
    pair.recv(1, pat(None, Some(8)), 10).unwrap();
    assert_eq!(probe(&pair, pat(None, None)), Some((env(9), 20)));
}

#[test]
fn zero_length_messages_match_both_ways() {
    let mut pair = Pair::new();
    let posted = pair.recv(1, pat(Some(0), Some(1)), 0).unwrap();
    deliver(&mut pair, &[(1, Vec::new()), (2, Vec::new())]);
    assert_eq!(posted.ok().count, 0);
    assert_eq!(pair.queued(1), (0, 1));
    let late = pair.recv(1, pat(Some(0), Some(2)), 8).unwrap();
    assert_eq!((late.ok().count, late.ok().tag), (0, 2));
    assert_eq!(pair.totals(1, 0).messages_received, 2);
}

#[test]
fn truncation_into_a_posted_buffer_keeps_what_fits() {
    let mut pair = Pair::new();
    let r = pair.recv(1, pat(None, None), 4).unwrap();
    deliver(&mut pair, &[(0, b"too long".to_vec()), (0, b"next".to_vec())]);
    let outcome = r.outcome().unwrap();
    assert_eq!((outcome.count, r.data()), (4, &b"too "[..]));
    let e = outcome.error.expect("truncated");
    assert_eq!(e.class, ErrorClass::Truncate);
    assert!(e.message.contains("rank 0 sent 8 bytes"), "{e}");
    let next = pair.recv(1, pat(None, None), 4).unwrap();
    assert_eq!(next.data(), b"next", "the cut bytes did not spill into the next message");
}

#[test]
fn truncation_of_a_buffered_message() {
    let mut pair = Pair::new();
    deliver(&mut pair, &[(0, vec![9; 100])]);
    let r = pair.recv(1, pat(None, None), 10).unwrap();
    let outcome = r.outcome().unwrap();
    assert_eq!((outcome.count, outcome.error.unwrap().class), (10, ErrorClass::Truncate));
    assert_eq!(r.data(), &[9; 10]);
    assert_eq!(pair.budget_used(1), 0);
}

#[test]
fn truncation_of_a_large_direct_read() {
    let mut pair = Pair::new();
    let data = pattern_bytes(3, 100 << 10);
    let r = pair.recv(1, pat(None, None), 40 << 10).unwrap();
    let cut = pair.recv(1, pat(None, None), 0).unwrap();
    pair.send(0, 0, 0, &data, Mode::Tracked);
    pair.send(0, 0, 0, b"after", Mode::Eager);
    pair.settle(ALL).unwrap();
    assert_eq!(r.outcome().unwrap().count, 40 << 10);
    assert_eq!(r.data(), &data[..40 << 10]);
    assert_eq!(cut.outcome().unwrap().error.unwrap().class, ErrorClass::Truncate, "a 0-byte buffer cuts 5 bytes");
}
