//! Runs the collective-operation C programs (tests/c/coll_*.c) under partyrun with 1, 2, 3, 4 and 7 ranks.

mod common;

use common::*;

/// Rank counts: the trivial job, powers of two, the three-party case and an odd size.
const RANKS: &[usize] = &[1, 2, 3, 4, 7];

fn run_program(name: &str) {
    let bin = compile(&format!("tests/c/{name}.c"));
    for &n in RANKS {
        let out = partyrun_run(n, &bin, &[], secs(60));
        out.assert_pass(name);
        println!("ok: {} ({:.2} s)", out.what, out.elapsed.as_secs_f64());
    }
}

/// Broadcast, gather, scatter, allgather and all-to-all, their v and in-place variants, on
/// world, dup and split communicators, and argument errors.
#[test]
fn coll_data() {
    run_program("coll_data");
}

/// Every predefined operation on every C type it applies to, MPI_ERR_OP on every other pair.
#[test]
fn coll_ops() {
    run_program("coll_ops");
}

/// Reduce, allreduce, reduce-scatter, scan and exscan: in place, user operations (a
/// non-commutative one included), derived types, large vectors, sub-communicators.
#[test]
fn coll_reduce() {
    run_program("coll_reduce");
}
