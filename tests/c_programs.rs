//! Runs the C test programs (tests/c, tests/cxx) and C examples under partyrun with 1 to 8 ranks over real TCP.

mod common;

use common::*;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Rank counts every general-purpose program runs with.
const RANKS: &[usize] = &[1, 2, 3, 4, 8];

/// Serialises the memory-hungry programs (huge, sizes, ring_blocking) so two
/// of them never run at once under cargo's parallel test threads.
fn heavy() -> MutexGuard<'static, ()> {
    static HEAVY: Mutex<()> = Mutex::new(());
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Compile tests/c/<name>.c and run it with each rank count, expecting `PASS <name>`.
fn run_program(name: &str, runs: &[(usize, &[&str])], timeout: Duration) {
    let bin = compile(&format!("tests/c/{name}.c"));
    for &(n, args) in runs {
        let out = partyrun_run(n, &bin, args, timeout);
        out.assert_pass(name);
        println!("ok: {} ({:.2} s)", out.what, out.elapsed.as_secs_f64());
    }
}

fn all_ranks(name: &str, timeout: Duration) {
    let runs: Vec<(usize, &[&str])> = RANKS.iter().map(|&n| (n, &[][..])).collect();
    run_program(name, &runs, timeout);
}

#[test]
fn order() {
    all_ranks("order", secs(60));
}

#[test]
fn sizes() {
    let _g = heavy();
    // Up to 256 MiB (between ranks 0 and 1) for small jobs; 16 MiB with 8 ranks.
    run_program("sizes", &[(1, &[]), (2, &[]), (3, &[]), (4, &[]), (8, &["16777216"])], secs(120));
}

#[test]
fn many_requests() {
    all_ranks("many_requests", secs(90));
}

#[test]
fn ring_blocking() {
    let _g = heavy();
    all_ranks("ring_blocking", secs(120));
}

#[test]
fn requests() {
    all_ranks("requests", secs(60));
}

#[test]
fn modes() {
    all_ranks("modes", secs(60));
}

#[test]
fn env() {
    all_ranks("env", secs(60));
}

#[test]
fn comm() {
    all_ranks("comm", secs(60));
}

/// Rank counts of the group and topology programs: 5 adds an odd size that is not a square.
fn groups_ranks(name: &str) {
    let runs: Vec<(usize, &[&str])> = [1, 2, 3, 4, 5, 8].iter().map(|&n| (n, &[][..])).collect();
    run_program(name, &runs, secs(60));
}

#[test]
fn groups() {
    groups_ranks("groups");
}

#[test]
fn topology() {
    groups_ranks("topology");
}

#[test]
fn threads() {
    all_ranks("threads", secs(60));
}

#[test]
fn huge() {
    let _g = heavy();
    run_program("huge", &[(2, &[])], secs(240));
}

/// A peer that dies (`_exit(7)`) makes survivors' receives fail instead of
/// hanging; partyrun reports the dead rank's status.
#[test]
fn killed_peer_exit() {
    let bin = compile("tests/c/killed_peer.c");
    for n in [3, 2] {
        let out = killed_peer_run(&bin, n, "exit");
        assert_eq!(out.code(), Some(7), "partyrun should exit with rank 1's status 7: {}", out.describe());
        assert_survivors(&out, n);
    }
}

/// Same with SIGKILL: the kernel closes the sockets, nobody says goodbye.
#[test]
fn killed_peer_sigkill() {
    let bin = compile("tests/c/killed_peer.c");
    let out = killed_peer_run(&bin, 3, "kill");
    assert!(!out.status.success(), "a killed rank must fail the job: {}", out.describe());
    assert_survivors(&out, 3);
}

/// With MPI_ERRORS_ARE_FATAL the survivor's MPI_Recv ends the process with a
/// message naming the dead rank.  Run by hand so the survivor's own stderr is
/// checked, not the launcher's report about rank 1.
#[test]
fn killed_peer_fatal() {
    let bin = compile("tests/c/killed_peer.c");
    let out = killed_peer_run(&bin, 3, "fatal");
    assert!(!out.status.success(), "{}", out.describe());
    assert!(!out.stderr.contains("under MPI_ERRORS_ARE_FATAL"), "MPI_Waitall returned: {}", out.describe());
    out.assert_stderr_contains("rank 1");

    let mut ports = RankPorts::reserve(2);
    let job = format!("fatal-{}", std::process::id());
    let ranks: Vec<Running> = (0..2)
        .map(|r| spawn(rank_cmd_on(&bin, &["fatal"], r, &mut ports, &job, 20.0), format!("killed_peer fatal rank {r}")))
        .collect();
    let outs = wait_all(ranks, secs(60));
    assert_eq!(outs[1].code(), Some(7), "{}", outs[1].describe());
    let survivor = &outs[0];
    assert!(!survivor.status.success(), "survivor must not exit 0: {}", survivor.describe());
    assert_ne!(survivor.code(), Some(3), "MPI_Waitall returned instead of aborting: {}", survivor.describe());
    survivor.assert_stderr_contains("rank 1");
}

fn killed_peer_run(bin: &std::path::Path, n: usize, mode: &str) -> Output {
    // A long kill grace: survivors need a moment to notice and report.
    let cmd = partyrun_cmd_with(&["--kill-grace", "10"], n, bin, &[mode]);
    run(cmd, format!("partyrun -n {n} killed_peer {mode}"), secs(60))
}

fn assert_survivors(out: &Output, n: usize) {
    for r in (0..n).filter(|&r| r != 1) {
        // From a status's MPI_ERROR: the full story, not only the class.
        out.assert_stdout_contains(&format!(
            "rank {r}: detected failure of peer 1: MPI_ERR_PROC_ABORTED: peer process failed or exited: "
        ));
        let line = out.stdout.lines().find(|l| l.starts_with(&format!("rank {r}: detected"))).unwrap_or_default();
        assert!(line.contains("rank 1") && line.contains("lost"), "no rank or cause in {line:?}");
        out.assert_stdout_contains(&format!("rank {r}: MPI_Finalize returned"));
    }
    out.assert_stdout_contains("PASS killed_peer");
}

/// MPI_Abort(MPI_COMM_WORLD, 5) ends every rank, even those blocked forever (a rank left
/// blocked would keep the job running until `partyrun_run` kills it and fails the test).
#[test]
fn abort() {
    let bin = compile("tests/c/abort.c");
    for n in [3, 2, 1] {
        let out = partyrun_run(n, &bin, &[], secs(30));
        assert_eq!(out.code(), Some(5), "MPI_Abort's code must be the job's status: {}", out.describe());
        for bad in ["MPI_Recv returned", "MPI_Abort returned"] {
            assert!(!out.stderr.contains(bad), "a rank survived the abort: {}", out.describe());
        }
        out.assert_stdout_contains(&format!("rank {}: calling MPI_Abort", n - 1));
    }
}

#[test]
fn cxx_header() {
    let bin = compile("tests/cxx/header.cpp");
    for n in [2, 1] {
        partyrun_run(n, &bin, &[], secs(30)).assert_pass("header");
    }
}

#[test]
fn example_hello() {
    let bin = compile("c-examples/hello.c");
    for n in [1, 3, 8] {
        let out = partyrun_run(n, &bin, &[], secs(30));
        out.assert_success();
        for r in 0..n {
            out.assert_stdout_contains(&format!("Hello from rank {r} of {n} on "));
        }
        assert_eq!(out.stdout.lines().filter(|l| l.starts_with("Hello from rank")).count(), n, "{}", out.describe());
    }
}

#[test]
fn example_ring() {
    let bin = compile("c-examples/ring.c");
    for n in [1, 3, 8] {
        let out = partyrun_run(n, &bin, &["-q"], secs(90));
        out.assert_success();
        out.assert_stdout_contains(&format!("ring: {n} ranks"));
        out.assert_stdout_contains("(a) ");
        out.assert_stdout_contains("(b) ");
        // Quick mode exchanges arrays of 10^3, 10^4 and 10^5 elements.
        let batched: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| l.starts_with("(c)") && l.contains(" int64: "))
            .filter_map(|l| l.split_whitespace().nth(1))
            .collect();
        assert_eq!(batched, ["1000", "10000", "100000"], "{}", out.describe());
        assert!(out.stdout.lines().any(|l| l.trim() == "ring: OK"), "{}", out.describe());
    }
}

#[test]
fn errors_misc() {
    run_program("errors_misc", &[(1, &[]), (2, &[])], secs(60));
}

/// `congestion.c` at 3 ranks under partyrun with `local_links` as PARTYLINE_LOCAL_LINKS.
fn congestion_run(local_links: &str) -> Output {
    let bin = compile("tests/c/congestion.c");
    let mut cmd = partyrun_cmd(3, &bin, &[]);
    cmd.env("PARTYLINE_LOCAL_LINKS", local_links).env("PARTYLINE_VERBOSE", "1");
    let out = run(cmd, format!("PARTYLINE_LOCAL_LINKS={local_links} partyrun -n 3 congestion"), secs(90));
    out.assert_success();
    out
}

/// Ranks on one host link over Unix sockets: every one of them, though all dial at once, since
/// the launcher binds each rank's Unix socket before starting any (a rank that found none would
/// fall back to TCP).
#[test]
fn ranks_on_one_host_link_over_unix_sockets() {
    let out = congestion_run("unix");
    for r in 0..3 {
        out.assert_stdout_contains(&format!("rank {r} links:\n"));
        for peer in (0..3).filter(|&p| p != r) {
            out.assert_stderr_contains(&format!(
                "partyline[rank {r}]: the link to rank {peer} runs over a Unix socket on this host"
            ));
        }
    }
}

/// Derived datatypes: vector, struct, indexed, subarray, resized and MPI_DOUBLE_INT around a
/// ring; counts and elements; pack/unpack; envelope/contents; collectives on a vector type.
#[test]
fn datatypes() {
    all_ranks("datatypes", secs(60));
}

/// Runs a program at 1, 2 and 3 ranks (calls whose cost does not grow with the job).
fn few_ranks(name: &str) {
    run_program(name, &[(1, &[]), (2, &[]), (3, &[])], secs(60));
}

#[test]
fn attributes() {
    few_ranks("attributes");
}

#[test]
fn errhandler() {
    few_ranks("errhandler");
}

#[test]
fn info() {
    few_ranks("info");
}

#[test]
fn icollectives() {
    let runs: Vec<(usize, &[&str])> = [1, 2, 3, 4, 5, 8].iter().map(|&n| (n, &[][..])).collect();
    run_program("icollectives", &runs, secs(120));
}

/// MPI 4 persistent collectives (`MPI_Xxx_init`): restarted with new data, mixed with point-to-point
/// and blocking collectives, and their error paths.
#[test]
fn pcollectives() {
    let runs: Vec<(usize, &[&str])> = [1, 2, 3, 4, 5].iter().map(|&n| (n, &[][..])).collect();
    run_program("pcollectives", &runs, secs(120));
}

/// A peer dies under pending nonblocking collectives: the survivors' requests fail, naming it.
#[test]
fn icoll_dead_peer() {
    let bin = compile("tests/c/icoll_dead_peer.c");
    for n in [3, 2] {
        let cmd = partyrun_cmd_with(&["--kill-grace", "10"], n, &bin, &[]);
        let out = run(cmd, format!("partyrun -n {n} icoll_dead_peer"), secs(60));
        assert_eq!(out.code(), Some(7), "partyrun should exit with rank 1's status 7: {}", out.describe());
        for r in (0..n).filter(|&r| r != 1) {
            out.assert_stdout_contains(&format!("rank {r}: pending collective failed: MPI_ERR_PROC_ABORTED"));
            out.assert_stdout_contains(&format!("rank {r}: later collective failed too"));
        }
        out.assert_stdout_contains("PASS icoll_dead_peer");
    }
}

#[test]
fn mprobe() {
    all_ranks("mprobe", secs(60));
}

#[test]
fn p2p_more() {
    all_ranks("p2p_more", secs(60));
}

/// MPC engines' MPI_THREAD_MULTIPLE: T threads with large exchanges to both ring neighbours.
#[test]
fn thread_exchange() {
    let _heavy = heavy();
    let runs: &[(usize, &[&str])] =
        &[(3, &["1"]), (3, &["2"]), (3, &["4"]), (3, &["8"]), (2, &["4"]), (1, &["2"]), (4, &["2", "2"])];
    run_program("thread_exchange", runs, secs(120));
}

/// A function partyline does not implement (src/ffi/unsupported/) returns MPI_ERR_UNSUPPORTED_OPERATION
/// through the error handler, names itself and its feature family, and writes no output argument.
#[test]
fn unsupported() {
    run_program("unsupported", &[(1, &[]), (2, &[])], secs(60));
}

/// Every large-count (`_c`) collective, blocking and nonblocking, against local expectations.
#[test]
fn large_count_coll() {
    let runs: Vec<(usize, &[&str])> = [1, 2, 3, 4].iter().map(|&n| (n, &[][..])).collect();
    run_program("large_count_coll", &runs, secs(60));
}

/// Links of several TCP connections each (`PARTYLINE_STREAMS`; `auto` chooses that only across a
/// WAN) carry message order, every size, blocking rings and threaded exchanges intact.
#[test]
fn striped_links() {
    let _g = heavy();
    let runs: &[(&str, &[usize], &[&str])] = &[
        ("order", &[2, 3, 4], &[]),
        ("sizes", &[2, 3], &["16777216"]),
        ("ring_blocking", &[2, 3, 4], &[]),
        ("thread_exchange", &[2, 3], &["4"]),
        ("mprobe", &[2, 4], &[]),
    ];
    for &(name, counts, args) in runs {
        let bin = compile(&format!("tests/c/{name}.c"));
        for &n in counts {
            let mut cmd = partyrun_cmd(n, &bin, args);
            cmd.env("PARTYLINE_STREAMS", "3");
            let out = run(cmd, format!("{name} -n {n} over 3 streams per link"), secs(120));
            out.assert_pass(name);
            println!("ok: {} ({:.2} s)", out.what, out.elapsed.as_secs_f64());
        }
    }
}

#[test]
fn sessions() {
    // Only sessions, never MPI_Init; then MPI_Init mixed with two sessions, one outliving it.
    let runs: Vec<(usize, &[&str])> = [1, 2, 3, 4, 5].iter().map(|&n| (n, &[][..])).collect();
    run_program("sessions", &runs, secs(120));
    run_program("sessions_mixed", &runs, secs(120));
}

/// Generalized requests: callbacks, completion from another thread, errors, cancel and free order.
#[test]
fn grequest() {
    run_program("grequest", &[(1, &[]), (2, &[])], secs(120));
}

/// Partitioned point-to-point: rounds, orders, threads, different cuts at the two ends, errors.
#[test]
fn partitioned() {
    run_program("partitioned", &[(2, &[]), (3, &[]), (4, &[])], secs(120));
}

/// F90 datatypes by precision and range, value-index pair types, predefined names, large contents.
#[test]
fn datatype_f90() {
    run_program("datatype_f90", &[(1, &[])], secs(60));
}

/// MPI_Type_create_darray(_c): every virtual rank's share against a local enumeration.
#[test]
fn darray() {
    run_program("darray", &[(1, &[])], secs(60));
}

/// MPI_Alltoallw and its I- and _c forms with non-contiguous datatypes, a different one per peer.
#[test]
fn alltoallw_types() {
    run_program("alltoallw_types", &[(1, &[]), (2, &[]), (3, &[]), (4, &[])], secs(120));
}

#[test]
fn intercomm() {
    let runs: Vec<(usize, &[&str])> = [2, 3, 4, 5].iter().map(|&n| (n, &[][..])).collect();
    run_program("intercomm", &runs, secs(120));
}
