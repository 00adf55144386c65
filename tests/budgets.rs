//! Bounded memory on both sides (issue 13): a sender that runs far ahead of a busy receiver
//! is held to PARTYLINE_SEND_LIMIT instead of copying without end.

mod common;

use common::*;

/// 16,384 blocking sends of 16 KiB (256 MiB) to a rank that computes for 2 s before it
/// receives: before the send budget, the sender's memory grew by all of it.
#[test]
fn a_sender_far_ahead_of_its_receiver_stays_within_its_budget() {
    let bin = compile("tests/c/flood.c");
    let opts = ["-x", "PARTYLINE_SEND_LIMIT=8M", "-x", "PARTYLINE_UNEXPECTED_LIMIT=8M"];
    let out = run(partyrun_cmd_with(&opts, 2, &bin, &["16384", "16384"]), "flood", secs(120));
    out.assert_success();
    out.assert_stdout_contains("flood received 16384");
    let line = out.stdout.lines().find(|l| l.starts_with("flood sender peak rss")).expect("the sender's report");
    let kib: u64 = line.split_whitespace().nth(4).and_then(|v| v.parse().ok()).expect("a number of KiB");
    // The budget (8 MiB) plus the process's own baseline (libraries, threads, link buffers:
    // about 20 MiB); far below the 256 MiB an unbounded sender copies.
    assert!(kib < 64 << 10, "the sender peaked at {kib} KiB: {}", out.describe());
}
