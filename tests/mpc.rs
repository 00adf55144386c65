//! Builds c-examples/mpc (three-party replicated secret sharing in Secrecy's style) and runs it under partyrun.

mod common;

use common::*;

/// Run mpc with three ranks, each output line tagged with its rank.
fn run_tagged(args: &[&str]) -> Output {
    let cmd = partyrun_cmd_with(&["--tag-output"], 3, &mpc_example(), args);
    run(cmd, format!("partyrun --tag-output -n 3 mpc {}", args.join(" ")), secs(180))
}

/// Success, the final `mpc: OK`, and Alice (rank 0) alone learning 875.
fn assert_mpc_ok(out: &Output) {
    out.assert_success();
    out.assert_stdout_contains("[rank 0] mpc: OK: ");
    out.assert_stdout_contains("[rank 0] Alice learns 875\n");
    for line in out.stdout.lines().chain(out.stderr.lines()) {
        if line.contains("875") || line.contains("Alice") {
            assert!(line.starts_with("[rank 0] "), "a rank other than Alice's printed `{line}`: {}", out.describe());
        }
    }
}

/// Batched circuits over Isend/Irecv plus the element-wise blocking 8-byte
/// exchanges, every result checked against rank 0's plaintext.
#[test]
fn mpc_three_parties() {
    let out = run_tagged(&["-n", "20000", "-e", "300"]);
    assert_mpc_ok(&out);
    for phase in ["equality", "less-than", "multiply"] {
        for mode in ["batched Isend/Irecv", "element-wise Send/Recv"] {
            let found = out.stdout.lines().any(|l| l.contains(phase) && l.contains(mode));
            assert!(found, "no `{phase}` line for {mode}: {}", out.describe());
        }
    }
    println!("ok: {} ({:.2} s)", out.what, out.elapsed.as_secs_f64());
}

/// Whole-array exchanges with blocking MPI_Send to the predecessor first:
/// 160 KB and 320 KB messages, where Open MPI deadlocks.
#[test]
fn mpc_blocking_ring_above_eager_limit() {
    let out = run_tagged(&["-n", "20000", "-b", "-e", "20"]);
    assert_mpc_ok(&out);
    out.assert_stdout_contains("batched blocking Send/Recv");
}

/// The protocol is for three parties exactly; any other size says so.
#[test]
fn mpc_needs_exactly_three_parties() {
    for n in [2, 4] {
        let out = partyrun_run(n, &mpc_example(), &[], secs(60));
        assert!(!out.status.success(), "mpc must fail with {n} ranks: {}", out.describe());
        out.assert_stderr_contains(&format!("mpc needs exactly 3 parties, got {n}"));
        assert!(!out.stdout.contains("mpc: OK"), "{}", out.describe());
    }
}

/// A corrupted share (-F: rank 2 flips a bit) is caught by rank 0's check.
#[test]
fn mpc_detects_a_corrupted_share() {
    let out = partyrun_run(3, &mpc_example(), &["-n", "1000", "-e", "0", "-F"], secs(60));
    assert!(!out.status.success(), "a corrupted share must fail the job: {}", out.describe());
    out.assert_stderr_contains("MISMATCH in equality at element 500 of 1000");
    assert!(!out.stdout.contains("mpc: OK"), "{}", out.describe());
}
