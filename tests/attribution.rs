//! Launcher attribution (issue 13): when one rank fails, partyrun names that rank and returns its
//! status, not that of a rank that only ended because of it.

mod common;

use common::*;

/// Runs per failure mode; the failing rank rotates over 0, 1, 2.
const RUNS: usize = 10;

/// `partyrun -n 3 fail_one FAILING MODE`, checked to blame rank FAILING with `status`, described
/// in partyrun's one line as `what`.
fn expect_blamed(failing: usize, mode: &str, status: i32, what: &str) {
    let bin = compile("tests/c/fail_one.c");
    let out = partyrun_run(3, &bin, &[&failing.to_string(), mode], secs(60));
    assert_eq!(out.code(), Some(status), "rank {failing} failed ({mode}): {}", out.describe());
    let lines: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("partyrun: rank ")).collect();
    assert_eq!(lines.len(), 1, "partyrun should blame exactly one rank: {}", out.describe());
    let named = format!("partyrun: rank {failing} (pid ");
    assert!(lines[0].starts_with(&named) && lines[0].contains(what), "wrong culprit: {}", out.describe());
}

#[test]
fn a_rank_that_exits_is_blamed() {
    for run in 0..RUNS {
        expect_blamed(run % 3, "exit", 3, ") exited with status 3");
    }
}

#[test]
fn a_rank_that_is_killed_is_blamed() {
    for run in 0..RUNS {
        expect_blamed(run % 3, "kill", 137, ") was killed by signal 9 (SIGKILL)");
    }
}

/// The aborting rank tells the others before it exits itself, so their collateral exits (with the
/// same status) come first: only their exit reports tell partyrun to look further.
#[test]
fn a_rank_that_aborts_is_blamed_though_the_others_exit_first() {
    for failing in 0..3 {
        expect_blamed(failing, "abort", 3, ") exited with status 3");
    }
}
