//! Broken and closing links: hostile frames, goodbye and end of stream, a link failing mid-message, a peer's abort, and detaching a send stuck on a stalled link.

use super::*;
use crate::error::ErrorClass;
use crate::wire::{FrameKind, HEADER_LEN};

/// A raw header as it would appear on the wire, with its sequence number set by hand.
fn raw(mut header: FrameHeader, seq: u64) -> [u8; HEADER_LEN] {
    header.seq = seq;
    header.encode(true)
}

fn failed_with(outcome: Option<Outcome>, class: ErrorClass) -> Error {
    let e = outcome.expect("completed").error.expect("failed");
    assert_eq!(e.class, class, "{e}");
    e
}

#[test]
fn a_malformed_header_fails_the_link_and_its_receives() {
    let mut pair = Pair::new();
    let specific = pair.recv(1, pat(Some(0), None), 8).unwrap();
    let wildcard = pair.recv(1, pat(None, None), 8).unwrap();
    let mut bad = raw(FrameHeader::data(0, 0, 0, 4, 0), 0);
    bad[0] = 0x55;
    // A forged header, not a corrupted one: its checksum is right.
    let sum = crc32c::crc32c(&bad[..HEADER_LEN - 4]);
    bad[HEADER_LEN - 4..].copy_from_slice(&sum.to_le_bytes());
    pair.inject(1, &bad);
    let e = pair.read(1, ALL, ALL).unwrap_err();
    assert!(e.message.contains("from rank 0: bad magic"), "{e}");
    assert_eq!(failed_with(specific.outcome(), ErrorClass::Other), e);
    assert_eq!(failed_with(wildcard.outcome(), ErrorClass::Other), e);
    assert!(pair.sides[1].peer.is_failed());
    assert_eq!(pair.recv(1, pat(Some(0), None), 8).err(), Some(e), "later receives fail at once");
}

#[test]
fn a_sequence_gap_fails_the_link() {
    let mut pair = Pair::new();
    pair.send(0, 0, 0, b"fine", Mode::Eager);
    pair.settle(ALL).unwrap();
    pair.inject(1, &raw(FrameHeader::data(0, 0, 0, 0, 0), 5));
    let e = pair.read(1, ALL, ALL).unwrap_err();
    assert!(e.message.contains("sequence number 5 where 1 was expected"), "{e}");
}

#[test]
fn an_ack_of_an_unknown_frame_fails_the_link() {
    let mut pair = Pair::new();
    pair.inject(0, &raw(FrameHeader::control(FrameKind::SyncAck, 1, 99), 0));
    let e = pair.read(0, ALL, ALL).unwrap_err();
    assert!(e.message.contains("rank 1: acknowledgement of unknown frame 99"), "{e}");
}

#[test]
fn a_frame_after_goodbye_fails_the_link() {
    let mut pair = Pair::new();
    let _ = pair.run(0, |p, ctx, _| {
        p.say_goodbye(ctx.fx);
        Ok(())
    });
    pair.write(0, ALL);
    pair.sides[1].inbound.closed = false;
    pair.inject(1, &raw(FrameHeader::data(0, 0, 0, 0, 0), 1));
    let e = pair.read(1, ALL, ALL).unwrap_err();
    assert!(e.message.contains("rank 0: a frame after its goodbye"), "{e}");
}

#[test]
fn goodbye_then_end_of_stream_finishes_the_peer_cleanly() {
    let mut pair = Pair::new();
    let from_0 = pair.recv(1, pat(Some(0), Some(1)), 8).unwrap();
    let wildcard = pair.recv(1, pat(None, Some(1)), 8).unwrap();
    pair.send(0, 2, 0, b"last", Mode::Eager);
    let _ = pair.run(0, |p, ctx, _| {
        p.say_goodbye(ctx.fx);
        Ok(())
    });
    let late = pair.send(0, 3, 0, b"late", Mode::Tracked);
    failed_with(late.outcome(), ErrorClass::ProcAborted);
    pair.settle(1).unwrap();
    assert!(pair.sides[1].failure.is_none());
    let e = failed_with(from_0.outcome(), ErrorClass::ProcAborted);
    assert!(e.message.contains("rank 0 has already called MPI_Finalize"), "{e}");
    assert!(!wildcard.req.is_done(), "a finished peer fails only the receives naming it");
    let kept = pair.recv(1, pat(Some(0), Some(2)), 8).unwrap();
    assert_eq!(&kept.data()[..4], b"last", "what it sent before its goodbye is still received");
    assert_eq!(pair.recv(1, pat(Some(0), None), 8).err(), Some(e.clone()));
    assert_eq!(pair.sides[1].mailbox.lock().unwrap().probe(&pat(Some(0), None)).err(), Some(e));
    assert!(!pair.sides[0].peer.has_output(), "rank 0 wrote its goodbye and half-closed");
}

#[test]
fn end_of_stream_mid_frame_is_an_error_naming_the_rank() {
    let mut pair = Pair::new();
    let r = pair.recv(1, pat(None, None), 100).unwrap();
    pair.send(0, 0, 0, &[5; 100], Mode::Eager);
    pair.write(0, HEADER_LEN + 10);
    pair.sides[1].inbound.closed = true;
    let e = pair.read(1, ALL, 3).unwrap_err();
    assert_eq!(e.class, ErrorClass::ProcAborted);
    assert!(e.message.contains("rank 0 closed the connection without saying goodbye"), "{e}");
    assert_eq!(failed_with(r.outcome(), ErrorClass::ProcAborted), e);
}

#[test]
fn end_of_stream_without_goodbye_fails_even_at_a_frame_boundary() {
    let mut pair = Pair::new();
    pair.sides[1].inbound.closed = true;
    let e = pair.read(1, ALL, ALL).unwrap_err();
    assert!(e.message.contains("without saying goodbye"), "{e}");
    assert!(pair.sides[1].mailbox.lock().unwrap().failed_peers().iter().any(|(p, _)| *p == 0));
}

#[test]
fn a_link_failing_mid_message_fails_everything_waiting_on_it() {
    let mut pair = Pair::new();
    let data = pattern_bytes(1, 64 << 10);
    let direct = pair.recv(1, pat(Some(0), Some(0)), data.len()).unwrap();
    let wildcard = pair.recv(1, pat(None, Some(9)), 8).unwrap();
    pair.send(0, 4, 0, b"buffered", Mode::Eager);
    pair.send(0, 0, 0, &data, Mode::Lent);
    let sync = pair.send(1, 0, 0, b"sync", Mode::Sync);
    pair.write(1, ALL);
    let queued = pair.send(1, 0, 0, &[3; 1000], Mode::Tracked);
    pair.write(0, 3 * HEADER_LEN);
    pair.read(1, ALL, ALL).unwrap();
    assert!(!direct.req.is_done());
    pair.sides[1].inbound.closed = true;
    let e = pair.read(1, ALL, ALL).unwrap_err();
    for req in [&direct.req, &wildcard.req, &sync, &queued] {
        assert_eq!(failed_with(req.outcome(), ErrorClass::ProcAborted), e);
    }
    let buffered = pair.recv(1, pat(None, Some(4)), 8).unwrap();
    assert_eq!(buffered.data(), b"buffered", "a message fully in before the failure is still received");
    let why = pair.sides[1].mailbox.lock().unwrap().peer_error(0);
    assert_eq!(why, Some(e), "what a later send to rank 0 is refused with");
}

#[test]
fn an_abort_frame_asks_the_driver_to_end_the_process() {
    let mut pair = Pair::new();
    let _ = pair.run(0, |p, ctx, _| {
        p.send(FrameHeader::control(FrameKind::Abort, 0, 7), Payload::empty(), None, ctx.fx);
        Ok(())
    });
    pair.settle(ALL).unwrap();
    assert_eq!(pair.sides[1].abort, Some((0, 7)));
}

#[test]
fn detaching_a_stuck_lent_send_copies_its_unsent_rest() {
    let mut pair = Pair::with_budgets(ROOMY, 1000);
    pair.pipe_cap = 5000;
    let data = pattern_bytes(2, 64 << 10);
    let send = pair.send(0, 0, 0, &data, Mode::Lent);
    pair.settle(ALL).unwrap();
    assert!(!send.is_done() && pair.sides[1].peer.is_stalled());
    let mut fx = Effects::default();
    assert!(pair.sides[0].peer.detach(&send, &mut fx));
    pair.apply(0, fx);
    assert_eq!(send.outcome().unwrap().count, data.len() as u64, "the caller may reuse its buffer");
    let r = pair.recv(1, pat(None, None), data.len()).unwrap();
    pair.settle(ALL).unwrap();
    assert_eq!(r.data(), &data[..], "the copy continues exactly where the lent buffer stopped");
    assert_eq!(pair.totals(0, 1).messages_sent, 1);
}

#[test]
fn a_sync_send_is_never_detached() {
    let mut pair = Pair::with_budgets(ROOMY, 1000);
    pair.pipe_cap = 5000;
    let send = pair.send(0, 0, 0, &[1; 20_000], Mode::Sync);
    pair.settle(ALL).unwrap();
    let mut fx = Effects::default();
    assert!(pair.sides[0].peer.detach(&send, &mut fx));
    assert!(fx.is_empty() && !send.is_done(), "it completes only when matched");
    assert!(!pair.sides[0].peer.detach(&Request::new(), &mut fx), "not queued here");
}

#[test]
fn a_detached_send_leaves_no_budget_behind_once_acknowledged() {
    let mut pair = Pair::with_budgets(ROOMY, 1000);
    pair.pipe_cap = 5000;
    let data = pattern_bytes(3, 64 << 10);
    let send = pair.send(0, 0, 0, &data, Mode::Lent);
    pair.settle(ALL).unwrap();
    let mut fx = Effects::default();
    assert!(pair.sides[0].peer.detach(&send, &mut fx));
    pair.apply(0, fx);
    let r = pair.recv(1, pat(None, None), data.len()).unwrap();
    pair.settle(ALL).unwrap();
    pair.advance(Duration::from_secs(1)); // the timer sends the last acknowledgement
    pair.settle(ALL).unwrap();
    assert_eq!(r.data(), &data[..]);
    assert_eq!(pair.sides[0].peer.held(), 0, "every copy and its bookkeeping released");
}
