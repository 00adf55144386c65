//! Links over a bad network: heartbeats and the silence timeout on a fake clock, acknowledgements releasing the replay window and lent sends, the send budget, checksums, replay after a reconnect, and the goodbye handshake.

use super::*;
use crate::error::ErrorClass;
use crate::wire::HEADER_LEN;

const TIMEOUT: Duration = Duration::from_secs(60);

fn timers(pair: &mut Pair, s: usize) -> Result<()> {
    pair.run(s, |p, ctx, _| p.on_timer(ctx.now, ctx.fx))
}

#[test]
fn an_idle_link_sends_heartbeats_and_so_never_times_out() {
    let mut pair = Pair::new();
    for _ in 0..20 {
        pair.advance(TIMEOUT / 4);
        timers(&mut pair, 0).unwrap();
        timers(&mut pair, 1).unwrap();
        pair.settle(ALL).unwrap();
    }
    assert!(pair.sides.iter().all(|s| s.failure.is_none()), "five timeouts passed with heartbeats only");
}

#[test]
fn a_silent_peer_breaks_the_link_after_the_timeout_naming_it() {
    let mut pair = Pair::new();
    pair.repairs = true;
    pair.advance(TIMEOUT - Duration::from_millis(1));
    timers(&mut pair, 1).unwrap();
    pair.advance(Duration::from_millis(1));
    let e = timers(&mut pair, 1).unwrap_err();
    assert_eq!(e.class, ErrorClass::ProcAborted);
    assert_eq!(pair.broke.as_deref(), Some("no traffic from rank 0 for 60 s"));
    assert!(!pair.sides[1].peer.is_failed(), "a break is repaired, not fatal");
}

#[test]
fn a_link_waiting_for_a_receive_does_not_count_its_silence() {
    let mut pair = Pair::with_budgets(ROOMY, 1024);
    pair.send(0, 1, 0, &pattern_bytes(1, 100 << 10), Mode::Tracked);
    pair.settle(ALL).unwrap();
    assert!(pair.sides[1].peer.is_stalled());
    for _ in 0..3 {
        pair.advance(TIMEOUT);
        timers(&mut pair, 1).unwrap();
    }
    let r = pair.recv(1, pat(Some(0), Some(1)), 100 << 10).unwrap();
    pair.settle(ALL).unwrap();
    assert_eq!(r.data(), &pattern_bytes(1, 100 << 10)[..]);
}

#[test]
fn acknowledgements_release_the_window_and_complete_lent_sends() {
    let mut pair = Pair::new();
    let lent = pair.send(0, 1, 0, &pattern_bytes(2, 200 << 10), Mode::Lent);
    for i in 0..10 {
        pair.send(0, 2, 0, &pattern_bytes(i, 100), Mode::Eager);
    }
    pair.write(0, ALL);
    assert!(!lent.is_done(), "written is not received: the buffer may be needed for a replay");
    assert!(pair.sides[0].peer.held() > 10 * 100, "the eager copies stay until acknowledged");
    let r = pair.recv(1, pat(Some(0), Some(1)), 200 << 10).unwrap();
    pair.settle(ALL).unwrap();
    assert!(lent.is_done() && r.req.is_done());
    assert_eq!(pair.sides[0].peer.held(), 0, "everything acknowledged, nothing kept");
}

#[test]
fn past_the_send_budget_there_is_no_room_to_copy() {
    let settings = LinkSettings { send_budget: 64 << 10, ..SETTINGS };
    let mut pair = Pair::with_settings(ROOMY, ROOMY, settings);
    assert!(pair.sides[0].peer.has_room(32 << 10));
    pair.send(0, 1, 0, &[1; 60 << 10], Mode::Tracked);
    assert!(!pair.sides[0].peer.has_room(32 << 10), "60 KiB held of 64");
    pair.settle(ALL).unwrap();
    // One small frame is acknowledged lazily: with the next traffic, or at the next timer.
    assert!(!pair.sides[0].peer.has_room(32 << 10));
    timers(&mut pair, 1).unwrap();
    pair.settle(ALL).unwrap();
    assert!(pair.sides[0].peer.has_room(32 << 10), "acknowledged: released");
}

#[test]
fn a_corrupted_payload_breaks_the_link_and_the_replay_repairs_it() {
    let mut pair = Pair::new();
    pair.repairs = true;
    let data = pattern_bytes(3, 50 << 10);
    let r = pair.recv(1, pat(Some(0), Some(4)), data.len()).unwrap();
    pair.send(0, 4, 0, &data, Mode::Tracked);
    pair.write(0, ALL);
    let at = HEADER_LEN + 1000;
    pair.sides[1].inbound.bytes[at] ^= 0x20;
    let e = pair.read(1, ALL, ALL).unwrap_err();
    assert!(e.message.contains("failed its CRC32C checksum"), "{e}");
    assert!(!r.req.is_done(), "the corrupted message is not delivered");
    pair.reconnect().unwrap();
    pair.settle(ALL).unwrap();
    assert_eq!(r.data(), &data[..], "the replay delivered it intact, once");
}

#[test]
fn a_break_mid_message_resumes_into_the_same_receive_and_loses_nothing() {
    let mut pair = Pair::new();
    let big = pattern_bytes(5, 300 << 10);
    let direct = pair.recv(1, pat(Some(0), Some(1)), big.len()).unwrap();
    pair.send(0, 1, 0, &big, Mode::Lent);
    for i in 0..5 {
        pair.send(0, 2, 0, &pattern_bytes(10 + i, 3000), Mode::Eager);
    }
    pair.write(0, 100 << 10);
    pair.read(1, ALL, 4096).unwrap();
    pair.reconnect().unwrap();
    pair.write(0, 50 << 10);
    pair.read(1, ALL, 7).unwrap();
    pair.reconnect().unwrap();
    pair.settle(ALL).unwrap();
    assert_eq!(direct.data(), &big[..]);
    for i in 0..5 {
        let r = pair.recv(1, pat(Some(0), Some(2)), 3000).unwrap();
        assert_eq!(r.data(), &pattern_bytes(10 + i, 3000)[..], "message {i} once, in order");
    }
    assert_eq!(pair.queued(1), (0, 0), "no duplicate arrived");
    assert_eq!(pair.totals(1, 0).messages_received, 6);
}

#[test]
fn a_replayed_frame_with_another_header_is_refused() {
    let mut pair = Pair::new();
    pair.send(0, 1, 0, &[9; 200], Mode::Eager);
    pair.write(0, HEADER_LEN + 10);
    pair.read(1, ALL, ALL).unwrap();
    pair.sides[0].inbound = Pipe::default();
    pair.sides[1].inbound = Pipe::default();
    let theirs = pair.sides[0].peer.received_count();
    pair.run(1, |p, ctx, _| p.reconnected(theirs, ctx.now, ctx.fx).map_err(Fault::Fatal)).unwrap();
    // Instead of replaying frame 0, rank 0 sends a different frame 0.
    let mut other = FrameHeader::data(0, 7, 0, 200, 0);
    other.crc = crc32c::crc32c(&[9; 200]);
    pair.inject(1, &other.encode(true));
    let e = pair.read(1, ALL, ALL).unwrap_err();
    assert!(e.message.contains("replayed frame 0 with a different header"), "{e}");
}

#[test]
fn a_resume_from_a_frame_we_no_longer_keep_is_refused() {
    let mut pair = Pair::new();
    pair.send(0, 1, 0, b"x", Mode::Eager);
    pair.settle(ALL).unwrap();
    timers(&mut pair, 1).unwrap();
    pair.settle(ALL).unwrap();
    let e = pair.run(0, |p, ctx, _| p.reconnected(0, ctx.now, ctx.fx).map_err(Fault::Fatal)).unwrap_err();
    assert!(e.message.contains("expecting frame 0, but frame 1 is the oldest kept here"), "{e}");
}

#[test]
fn both_goodbyes_acknowledged_close_both_sides() {
    let mut pair = Pair::new();
    pair.send(0, 1, 0, b"last words", Mode::Eager);
    for s in 0..2 {
        pair.run(s, |p, ctx, _| {
            p.say_goodbye(ctx.fx);
            Ok(())
        })
        .unwrap();
    }
    pair.settle(ALL).unwrap();
    assert!(pair.sides.iter().all(|s| s.peer.is_closed()), "both half-closed and saw the other's end");
    assert!(pair.sides.iter().all(|s| s.failure.is_none()));
}
