//! Starts ranks by hand (no launcher) through the PARTYLINE_* environment contract, including broken configurations.

mod common;

use common::*;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

fn hello() -> PathBuf {
    compile("c-examples/hello.c")
}

fn job(case: &str) -> String {
    format!("{case}-{}", std::process::id())
}

/// Start `size` hello ranks with the given env and check every greeting.
fn assert_hello_job(outs: &[Output], size: usize) {
    for (r, out) in outs.iter().enumerate() {
        out.assert_success();
        out.assert_stdout_contains(&format!("Hello from rank {r} of {size} on "));
    }
}

#[test]
fn singleton_without_environment() {
    let mut cmd = Command::new(hello());
    clear_partyline_env(&mut cmd);
    let out = run(cmd, "hello as a singleton", secs(30));
    out.assert_success();
    out.assert_stdout_contains("Hello from rank 0 of 1 on ");
}

#[test]
fn three_ranks_by_hand() {
    let bin = hello();
    let mut ports = RankPorts::reserve(3);
    let job = job("byhand");
    let ranks = (0..3).map(|r| spawn(rank_cmd_on(&bin, &[], r, &mut ports, &job, 20.0), format!("hello rank {r}/3")));
    assert_hello_job(&wait_all(ranks.collect(), secs(60)), 3);
}

#[test]
fn three_ranks_from_hostfile() {
    let bin = hello();
    let mut ports = RankPorts::reserve(3);
    let file = build_dir().join("hostfile-3");
    let text: String = ports.ports().iter().map(|p| format!("127.0.0.1:{p}\n")).collect();
    std::fs::write(&file, text).expect("write hostfile");
    let job = job("hostfile");
    let ranks = (0..3)
        .map(|r| {
            let mut cmd = rank_cmd(&bin, &[], r, 3, "", &job, 20.0);
            cmd.env_remove("PARTYLINE_PEERS").env("PARTYLINE_HOSTFILE", &file);
            ports.hand_to(r, &mut cmd);
            spawn(cmd, format!("hello rank {r}/3 (hostfile)"))
        })
        .collect();
    assert_hello_job(&wait_all(ranks, secs(60)), 3);
}

#[test]
fn mismatched_job_ids_are_refused() {
    let bin = hello();
    let mut ports = RankPorts::reserve(2);
    let ids = [job("alpha"), job("bravo")];
    // Rank 0 names both ids only if rank 1 reaches it before its connect timeout: a generous one.
    let ranks = (0..2)
        .map(|r| {
            let cmd = rank_cmd_on(&bin, &[], r, &mut ports, &ids[r], secs(10).as_secs_f64());
            spawn(cmd, format!("hello rank {r} job {}", ids[r]))
        })
        .collect();
    let outs = wait_all(ranks, secs(40));
    for out in &outs {
        assert!(!out.status.success(), "a rank with the wrong job id must fail: {}", out.describe());
        assert!(!out.stdout.contains("Hello from"), "MPI_Init must not succeed: {}", out.describe());
    }
    let named = outs.iter().any(|o| {
        let e = o.stderr.to_lowercase();
        e.contains("job") && o.stderr.contains(&ids[0]) && o.stderr.contains(&ids[1])
    });
    assert!(named, "no rank's error names the job ids {ids:?}:\n{}\n{}", outs[0].describe(), outs[1].describe());
}

#[test]
fn rank_out_of_range() {
    let ports = RankPorts::reserve(3);
    let cmd = rank_cmd(&hello(), &[], 5, 3, &ports.peers(), &job("range"), NEVER);
    let out = run(cmd, "hello rank 5 of 3", secs(30));
    assert_config_error(&out, &["5", "3"]);
}

#[test]
fn too_few_peers_for_size() {
    let ports = RankPorts::reserve(2);
    let cmd = rank_cmd(&hello(), &[], 0, 3, &ports.peers(), &job("short"), NEVER);
    let out = run(cmd, "hello, 2 peers for size 3", secs(30));
    assert_config_error(&out, &[]);
    assert!(out.stderr.to_lowercase().contains("peers"), "error should name the peer list: {}", out.describe());
}

/// A connect timeout no test waits for: a rank that exits on its own with it did not wait for its peers.
const NEVER: f64 = 3600.0;

/// A configuration error fails fast, with a message and an exit code (no
/// crash by signal, no MPI_Init success). Fast: the ranks have a connect timeout of
/// `NEVER`, so one that waited for its peers would be killed by `run`'s time limit.
fn assert_config_error(out: &Output, needles: &[&str]) {
    assert!(matches!(out.code(), Some(c) if c != 0), "expected a clean non-zero exit: {}", out.describe());
    assert!(!out.stdout.contains("Hello from"), "{}", out.describe());
    for n in needles {
        out.assert_stderr_contains(n);
    }
}

/// Only one of two ranks is started: it must give up after the connect
/// timeout and name the missing rank and its address.  Both directions:
/// the missing rank would have accepted (0) or connected (1).
#[test]
fn unreachable_peer_times_out() {
    let bin = hello();
    for missing in [0usize, 1] {
        // The absent rank's port stays reserved and refuses connections, as a stopped party's would.
        let mut ports = RankPorts::reserve(2);
        let present = 1 - missing;
        let what = format!("hello rank {present}/2 with rank {missing} absent");
        let out = run(rank_cmd_on(&bin, &[], present, &mut ports, &job("lonely"), 1.0), what, secs(30));
        assert!(!out.status.success(), "{}", out.describe());
        out.assert_stderr_contains("1.0 s"); // gave up because PARTYLINE_CONNECT_TIMEOUT=1 passed
        let named = [format!("rank {missing}"), format!("rank(s) {missing}"), format!("ranks {missing}")];
        assert!(named.iter().any(|n| out.stderr.contains(n)), "stderr should name rank {missing}: {}", out.describe());
        out.assert_stderr_contains(&format!("127.0.0.1:{}", ports.ports()[missing]));
    }
}

/// Tiny deterministic byte generator for the garbage client.
fn garbage(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

/// Connect to `port`, retrying for up to `limit` while the rank starts listening.
fn connect_retry(port: u16, limit: Duration) -> Option<TcpStream> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            return Some(s);
        }
        thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Strangers connecting to the ranks' ports during bootstrap (random bytes,
/// connect-and-idle, connect-and-close) must not break or stall the job.
#[test]
fn garbage_clients_during_bootstrap() {
    let bin = hello();
    let mut ports = RankPorts::reserve(3);
    let (peers, numbers) = (ports.peers(), ports.ports().to_vec());
    let job = job("garbage");
    let mut ranks: Vec<Running> = (0..2)
        .map(|r| {
            spawn(rank_cmd_on(&bin, &[], r, &mut ports, &job, 20.0), format!("hello rank {r}/3 (garbage clients)"))
        })
        .collect();

    // Ranks 0 and 1 cannot finish bootstrap before rank 2 exists, so these
    // connections land in the middle of it.  Keep them open until the end.
    let mut strangers = Vec::new();
    let mut connected = 0;
    for (i, &port) in numbers[..2].iter().enumerate() {
        if let Some(mut s) = connect_retry(port, Duration::from_secs(5)) {
            connected += 1;
            let _ = s.write_all(&garbage(4096, 0x9E37_79B9 + i as u64));
            strangers.push(s);
        }
        if let Some(s) = connect_retry(port, Duration::from_secs(1)) {
            strangers.push(s); // idle: never writes
        }
        drop(connect_retry(port, Duration::from_secs(1))); // connect and close at once
    }
    assert!(connected > 0, "no rank was listening on {peers}: cannot exercise garbage clients");

    ranks.push(spawn(rank_cmd_on(&bin, &[], 2, &mut ports, &job, 20.0), "hello rank 2/3 (garbage clients)"));
    // The highest rank may have nothing listening (only lower ranks need to accept); try anyway.
    if let Some(mut s) = connect_retry(numbers[2], Duration::from_millis(500)) {
        let _ = s.write_all(&garbage(512, 7));
        strangers.push(s);
    }
    let outs = wait_all(ranks, secs(60));
    assert_hello_job(&outs, 3);
    drop(strangers);
}
