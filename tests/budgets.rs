//! Bounded resources (issue 13): a sender that runs far ahead of a busy receiver is held to
//! PARTYLINE_SEND_LIMIT instead of copying without end, a ring beyond the budgets fails clearly,
//! and idle ranks leave the CPU alone.

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

/// Every rank sends 16 MiB before it receives, with both budgets at 1 MiB: nothing can copy
/// or buffer the message, so the ring would hang. Each rank gets an error that names the
/// setting to raise instead.
#[test]
fn a_blocking_ring_beyond_both_budgets_fails_naming_the_settings() {
    let bin = compile("tests/c/ring_blocking.c");
    let opts = [
        "-x",
        "PARTYLINE_SEND_LIMIT=1M",
        "-x",
        "PARTYLINE_UNEXPECTED_LIMIT=1M",
        "-x",
        "PARTYLINE_LINK_TIMEOUT=4",
        "--kill-grace",
        "10",
    ];
    let out = run(partyrun_cmd_with(&opts, 3, &bin, &["16777216"]), "ring beyond the budgets", secs(120));
    assert!(!out.status.success(), "the ring cannot complete: {}", out.describe());
    out.assert_stderr_contains("made no progress");
    out.assert_stderr_contains("raise PARTYLINE_SEND_LIMIT or PARTYLINE_UNEXPECTED_LIMIT");
}

/// The same ring with budgets that fit its largest message completes.
#[test]
fn a_blocking_ring_within_the_budgets_completes() {
    let bin = compile("tests/c/ring_blocking.c");
    let opts = ["-x", "PARTYLINE_SEND_LIMIT=2M", "-x", "PARTYLINE_UNEXPECTED_LIMIT=2M"];
    let out = run(partyrun_cmd_with(&opts, 3, &bin, &["1048576"]), "ring within the budgets", secs(120));
    out.assert_pass("ring_blocking");
}

/// A program that computes between MPI calls gets the cores: every rank of a 3-rank job
/// sleeping 2 s uses well under a second of CPU (heartbeats and timers only). A thread that
/// spun (as the reconnect listener once did, on a non-blocking socket) would use the 2 s.
#[test]
fn idle_ranks_use_almost_no_cpu() {
    let bin = compile("tests/c/idle.c");
    let out = partyrun_run(3, &bin, &[], secs(60));
    out.assert_success();
    for line in out.stdout.lines().filter(|l| l.starts_with("idle rank")) {
        let used: f64 = line.split_whitespace().nth(4).and_then(|v| v.parse().ok()).expect("CPU seconds");
        assert!(used < 0.5, "{line}: {}", out.describe());
    }
    assert_eq!(out.stdout.lines().filter(|l| l.starts_with("idle rank")).count(), 3, "{}", out.describe());
}
