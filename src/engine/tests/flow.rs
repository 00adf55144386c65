//! Bytes on the move: headers and payloads split anywhere, direct reads into user buffers, adopting a message mid-arrival, synchronous-send acknowledgements, burst holding and counters.

use super::*;
use crate::wire::HEADER_LEN;

#[test]
fn a_header_read_one_byte_at_a_time_parses() {
    let mut pair = Pair::new();
    let r = pair.recv(1, pat(None, None), 8).unwrap();
    pair.send(0, 4, 0, b"bytewise", Mode::Eager);
    pair.write(0, ALL);
    for _ in 0..HEADER_LEN - 1 {
        assert_eq!(pair.read(1, 1, 1).unwrap(), 1);
    }
    assert!(!r.req.is_done());
    pair.read(1, ALL, 1).unwrap();
    assert_eq!((r.data(), r.ok().tag), (&b"bytewise"[..], 4));
}

#[test]
fn frames_split_at_every_boundary_arrive_intact() {
    let data = pattern_bytes(1, 300);
    let total = 2 * (HEADER_LEN + data.len());
    for split in 0..=total {
        let mut pair = Pair::new();
        let first = pair.recv(1, pat(None, None), 300).unwrap();
        pair.send(0, 0, 0, &data, Mode::Eager);
        pair.send(0, 1, 0, &data[..200], Mode::Eager);
        assert_eq!(pair.write(0, ALL), total - 100);
        pair.read(1, split, ALL).unwrap();
        pair.read(1, ALL, ALL).unwrap();
        let second = pair.recv(1, pat(None, None), 300).unwrap();
        assert_eq!(first.data(), &data[..], "split at {split}");
        assert_eq!((second.ok().count, &second.data()[..200]), (200, &data[..200]), "split at {split}");
    }
}

#[test]
fn many_frames_in_one_read_and_in_odd_chunks() {
    for chunk in [1, 7, 4096, ALL] {
        let mut pair = Pair::new();
        let sent: Vec<_> = (0..40).map(|i| pattern_bytes(i, (i as usize * 13) % 90)).collect();
        for (i, data) in sent.iter().enumerate() {
            pair.send(0, i as i32, 0, data, Mode::Eager);
        }
        pair.settle(chunk).unwrap();
        for (i, data) in sent.iter().enumerate() {
            let r = pair.recv(1, pat(Some(0), None), 90).unwrap();
            assert_eq!((r.ok().tag, &r.data()[..data.len()]), (i as i32, &data[..]), "chunk {chunk}");
        }
    }
}

#[test]
fn a_large_posted_receive_is_read_straight_into_the_user_buffer() {
    let mut pair = Pair::new();
    let data = pattern_bytes(2, 64 << 10);
    let r = pair.recv(1, pat(None, None), data.len()).unwrap();
    pair.send(0, 0, 0, &data, Mode::Lent);
    pair.write(0, ALL);
    pair.read(1, HEADER_LEN, ALL).unwrap();
    let offered = pair.run(1, |p, ctx, _| Ok(p.recv_space(ctx).map(|s| (s.as_ptr(), s.len())))).unwrap();
    let (at, len) = offered.expect("not stalled");
    assert_eq!(len, data.len(), "the whole payload at once, not a stage-sized piece");
    assert_eq!(at, r.mem.as_ptr(), "the user's buffer itself");
    pair.read(1, ALL, ALL).unwrap();
    assert_eq!(r.data(), &data[..]);
}

#[test]
fn after_a_direct_payload_the_stage_offered_is_small_and_grows_back_while_reads_fill_it() {
    let mut pair = Pair::new();
    let large = pattern_bytes(3, 64 << 10);
    let r = pair.recv(1, pat(None, None), large.len()).unwrap();
    pair.send(0, 0, 0, &large, Mode::Lent);
    pair.write(0, ALL);
    pair.read(1, HEADER_LEN, ALL).unwrap();
    pair.read(1, ALL, ALL).unwrap();
    assert_eq!(r.data(), &large[..]);
    let offered = |pair: &mut Pair| pair.run(1, |p, ctx, _| Ok(p.recv_space(ctx).map(|s| s.len()))).unwrap();
    // The next large message's start must not be copied out of a full-size stage.
    assert_eq!(offered(&mut pair), Some(4 << 10));
    let small: Vec<_> = (0..200).map(|i| pattern_bytes(i, 1000)).collect();
    for (i, data) in small.iter().enumerate() {
        pair.send(0, i as i32, 0, data, Mode::Eager);
    }
    pair.write(0, ALL);
    pair.read(1, 4 << 10, ALL).unwrap();
    assert_eq!(offered(&mut pair), Some(8 << 10), "a read that filled the offer doubles it");
    pair.read(1, ALL, ALL).unwrap();
    let grown = offered(&mut pair).unwrap();
    assert!(grown >= 64 << 10, "back towards the full stage after a run of small frames, not {grown}");
    for (i, data) in small.iter().enumerate() {
        let got = pair.recv(1, pat(Some(0), Some(i as i32)), 1000).unwrap();
        pair.settle(ALL).unwrap();
        assert_eq!(got.data(), &data[..]);
    }
}

#[test]
fn a_large_unexpected_message_goes_through_the_stage_into_our_memory() {
    let mut pair = Pair::new();
    let data = pattern_bytes(5, 200 << 10);
    pair.send(0, 0, 0, &data, Mode::Tracked);
    pair.settle(7919).unwrap();
    assert_eq!(pair.budget_used(1), data.len() as u64, "buffered, under the deferral size");
    let r = pair.recv(1, pat(None, None), data.len()).unwrap();
    assert_eq!(r.data(), &data[..]);
    assert_eq!(pair.budget_used(1), 0);
}

#[test]
fn a_receive_adopts_a_large_message_mid_arrival() {
    let mut pair = Pair::new();
    let data = pattern_bytes(6, 200 << 10);
    pair.send(0, 0, 0, &data, Mode::Tracked);
    pair.write(0, ALL);
    pair.read(1, HEADER_LEN + 1000, ALL).unwrap();
    assert_eq!(pair.budget_used(1), data.len() as u64);
    let r = pair.recv(1, pat(None, None), data.len()).unwrap();
    assert!(r.ticket.is_none() && !r.req.is_done(), "claimed, payload still coming");
    let offered = pair.run(1, |p, ctx, _| Ok(p.recv_space(ctx).map(|s| s.len()))).unwrap();
    assert_eq!(offered, Some(data.len() - 1000), "the rest goes straight into the receive");
    assert_eq!(pair.budget_used(1), 0, "the buffer was given up");
    pair.read(1, ALL, ALL).unwrap();
    assert_eq!(r.data(), &data[..]);
}

#[test]
fn a_small_message_claimed_mid_arrival_completes_when_its_last_byte_arrives() {
    let mut pair = Pair::new();
    let data = pattern_bytes(7, 1000);
    pair.send(0, 3, 0, &data, Mode::Eager);
    pair.write(0, ALL);
    pair.read(1, HEADER_LEN + 10, ALL).unwrap();
    let r = pair.recv(1, pat(None, Some(3)), 1000).unwrap();
    assert!(!r.req.is_done());
    pair.read(1, ALL, 1).unwrap();
    assert_eq!((r.ok().tag, r.data()), (3, &data[..]));
    assert_eq!((pair.budget_used(1), pair.queued(1)), (0, (0, 0)));
}

#[test]
fn a_sync_send_completes_after_written_then_acked() {
    let mut pair = Pair::new();
    let r = pair.recv(1, pat(None, None), 4).unwrap();
    let s = pair.send(0, 0, 0, b"sync", Mode::Sync);
    pair.write(0, ALL);
    assert!(!s.is_done(), "written but not acknowledged");
    pair.read(1, ALL, ALL).unwrap();
    pair.write(1, ALL);
    pair.read(0, ALL, ALL).unwrap();
    assert_eq!((s.outcome().unwrap().count, r.data()), (4, &b"sync"[..]));
}

#[test]
fn a_sync_send_acked_before_its_last_byte_is_written_waits_for_it() {
    let mut pair = Pair::new();
    let data = pattern_bytes(8, 5000);
    let r = pair.recv(1, pat(None, None), data.len()).unwrap();
    let s = pair.send(0, 0, 0, &data, Mode::Sync);
    pair.write(0, HEADER_LEN + 100);
    pair.read(1, ALL, ALL).unwrap();
    pair.write(1, ALL);
    pair.read(0, ALL, ALL).unwrap();
    assert!(!s.is_done(), "acknowledged but not all written");
    pair.settle(ALL).unwrap();
    assert_eq!((s.outcome().unwrap().count, r.data()), (5000, &data[..]));
}

#[test]
fn an_unexpected_sync_send_is_acked_only_when_a_receive_takes_it() {
    let mut pair = Pair::new();
    let s = pair.send(0, 0, 0, b"wait", Mode::Sync);
    pair.settle(ALL).unwrap();
    assert!(!s.is_done(), "buffered at the receiver, not matched");
    let r = pair.recv(1, pat(None, None), 4).unwrap();
    assert!(!s.is_done());
    pair.settle(ALL).unwrap();
    assert!(s.outcome().unwrap().error.is_none());
    assert_eq!(r.data(), b"wait");
}

#[test]
fn burst_sends_are_held_after_the_first_few_rapid_ones() {
    let mut pair = Pair::new();
    let peer = &mut pair.sides[0].peer;
    let t = |us| pair.t0 + Duration::from_micros(us);
    let mut held = Vec::new();
    for i in 0..7u64 {
        peer.send(FrameHeader::data(0, 0, 0, 0, 0), Payload::empty(), None, &mut Effects::default());
        held.push(peer.hold(t(i)));
        peer.burst_send_done(t(i));
    }
    assert_eq!(held, [None, None, None, None, Some(false), Some(false), Some(false)]);
    peer.send(FrameHeader::data(0, 0, 0, 0, 0), Payload::empty(), None, &mut Effects::default());
    assert_eq!(peer.hold(t(100)), None, "a pause ends the burst");
}

#[test]
fn a_held_burst_into_an_empty_queue_asks_for_a_writer_and_a_full_batch_is_written() {
    let mut pair = Pair::new();
    let t0 = pair.t0;
    let burst_send = |pair: &mut Pair, us: u64| {
        let peer = &mut pair.sides[0].peer;
        peer.send(FrameHeader::data(0, 0, 0, 0, 0), Payload::empty(), None, &mut Effects::default());
        let held = peer.hold(t0 + Duration::from_micros(us));
        peer.burst_send_done(t0 + Duration::from_micros(us));
        held
    };
    for us in 0..4 {
        assert_eq!(burst_send(&mut pair, us), None);
    }
    pair.write(0, ALL);
    assert_eq!(burst_send(&mut pair, 4), Some(true), "first in an empty queue: a writer must come for it");
    let full = 3 + MAX_BATCH as u64;
    for us in 5..full {
        assert_eq!(burst_send(&mut pair, us), Some(false));
    }
    assert_eq!(burst_send(&mut pair, full), None, "still rapid, but a full batch is written at once");
}

#[test]
fn counters_count_messages_not_control_frames() {
    let mut pair = Pair::new();
    pair.send(0, 0, 0, &[1; 100], Mode::Sync);
    pair.send(0, 0, 0, &[], Mode::Eager);
    pair.send(1, 0, 0, &[2; 30], Mode::Eager);
    pair.settle(ALL).unwrap();
    pair.recv(1, pat(None, None), 100).unwrap();
    pair.settle(ALL).unwrap();
    let t = pair.totals(0, 1);
    assert_eq!((t.messages_sent, t.bytes_sent, t.messages_received, t.bytes_received), (2, 100, 1, 30));
    let t = pair.totals(1, 0);
    assert_eq!((t.messages_sent, t.bytes_sent, t.messages_received, t.bytes_received), (1, 30, 2, 100), "no ack");
}
