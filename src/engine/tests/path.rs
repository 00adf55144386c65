//! Long paths: a send from the caller's buffer completes when written (as a copy), not a round trip later at the acknowledgement.

use super::*;

#[test]
fn on_a_long_path_a_lent_send_completes_when_written() {
    let mut pair = Pair::new();
    pair.sides[0].peer.set_path_rtt(Duration::from_millis(40));
    let data = pattern_bytes(4, 256 << 10);
    let send = pair.send(0, 0, 0, &data, Mode::Lent);
    assert!(!send.is_done());
    while pair.write(0, ALL) > 0 {}
    assert_eq!(send.outcome().unwrap().count, data.len() as u64, "done before any acknowledgement");
    assert!(pair.sides[0].peer.held() >= data.len() as u64, "the copy is kept for a replay");
    let r = pair.recv(1, pat(None, None), data.len()).unwrap();
    pair.settle(ALL).unwrap();
    pair.advance(Duration::from_secs(1));
    pair.settle(ALL).unwrap();
    assert_eq!(r.data(), &data[..]);
    assert_eq!(pair.sides[0].peer.held(), 0, "released at the acknowledgement");
}

#[test]
fn on_a_short_path_a_lent_send_waits_for_its_acknowledgement() {
    let mut pair = Pair::new();
    pair.sides[0].peer.set_path_rtt(Duration::from_micros(50));
    let data = pattern_bytes(5, 256 << 10);
    let send = pair.send(0, 0, 0, &data, Mode::Lent);
    while pair.write(0, ALL) > 0 {}
    assert!(!send.is_done(), "no copy: the acknowledgement is microseconds away");
    let _r = pair.recv(1, pat(None, None), data.len()).unwrap();
    pair.settle(ALL).unwrap();
    assert!(send.is_done());
}

#[test]
fn a_copy_needs_room_in_the_budget_and_time_to_pay_off() {
    // 1 MiB over a 1 ms path: copying takes longer than half the round trip at 2 GB/s.
    let mut pair = Pair::new();
    pair.sides[0].peer.set_path_rtt(Duration::from_millis(1));
    let big = pair.send(0, 0, 0, &pattern_bytes(6, 1 << 20), Mode::Lent);
    while pair.write(0, ALL) > 0 {}
    assert!(!big.is_done());
    // A budget too small for the copy.
    let mut pair = Pair::with_settings(ROOMY, ROOMY, LinkSettings { send_budget: 64 << 10, ..SETTINGS });
    pair.sides[0].peer.set_path_rtt(Duration::from_millis(40));
    let send = pair.send(0, 0, 0, &pattern_bytes(7, 256 << 10), Mode::Lent);
    while pair.write(0, ALL) > 0 {}
    assert!(!send.is_done(), "beyond PARTYLINE_SEND_LIMIT the send waits for the acknowledgement");
    // A synchronous send still waits for its match.
    let mut pair = Pair::new();
    pair.sides[0].peer.set_path_rtt(Duration::from_millis(40));
    let sync = pair.send(0, 0, 0, &[1; 1000], Mode::Sync);
    while pair.write(0, ALL) > 0 {}
    assert!(!sync.is_done());
}
