//! Rendezvous mode with real processes on loopback: rank 0 or `partyrun --coordinator` hands out the peer table.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

/// Rendezvous variables `clear_partyline_env` does not know about.
const RENDEZVOUS_VARS: &[&str] =
    &["PARTYLINE_COORDINATOR", "PARTYLINE_COORDINATOR_ROLE", "PARTYLINE_ADVERTISE", "PARTYLINE_HANDSHAKE_TIMEOUT"];

fn hello() -> PathBuf {
    compile("c-examples/hello.c")
}

fn job(case: &str) -> String {
    format!("rdv-{case}-{}", std::process::id())
}

/// Where rank 0 serves the rendezvous: a port reserved for it, handed over when rank 0 starts.
struct Rank0Port(RankPorts);

impl Rank0Port {
    fn reserve() -> Rank0Port {
        Rank0Port(RankPorts::reserve(1))
    }

    fn address(&self) -> String {
        self.0.peers()
    }

    /// `party` for rank `r`, with the port if it is rank 0.
    fn party(&mut self, program: &Path, args: &[&str], r: usize, size: usize, job: &str) -> Command {
        let mut cmd = party(program, args, r, size, &self.address(), job, Role::Rank0);
        if r == 0 {
            self.0.hand_to(0, &mut cmd);
        }
        cmd
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    Rank0,
    External,
}

/// A party started by hand in rendezvous mode; nothing but the coordinator's address is given.
fn party(program: &Path, args: &[&str], rank: usize, size: usize, coordinator: &str, job: &str, role: Role) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args);
    clear_partyline_env(&mut cmd);
    for v in RENDEZVOUS_VARS {
        cmd.env_remove(v);
    }
    cmd.env("PARTYLINE_RANK", rank.to_string())
        .env("PARTYLINE_SIZE", size.to_string())
        .env("PARTYLINE_COORDINATOR", coordinator)
        .env("PARTYLINE_JOB_ID", job)
        .env("PARTYLINE_CONNECT_TIMEOUT", "20");
    if role == Role::External {
        cmd.env("PARTYLINE_COORDINATOR_ROLE", "external");
    }
    cmd
}

fn coordinator_cmd(address: &str, size: usize, job: &str, timeout: u32) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_partyrun"));
    clear_partyline_env(&mut cmd);
    cmd.args(["--coordinator", address, "-n", &size.to_string(), "--job-id", job, "--timeout", &timeout.to_string()]);
    cmd
}

fn assert_hello_job(outs: &[Output], size: usize) {
    for (r, out) in outs.iter().enumerate() {
        out.assert_success();
        out.assert_stdout_contains(&format!("Hello from rank {r} of {size} on "));
    }
}

/// A small xorshift: random start orders and garbage bytes without a dependency.
fn xorshift(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// Starts ranks in `order`, `delays_ms[i]` apart, and returns their handles in rank order.
fn start_in_order(
    order: &[usize],
    delays_ms: &[u64],
    mut make: impl FnMut(usize) -> Command,
    what: &str,
) -> Vec<Running> {
    let mut slots: Vec<Option<Running>> = (0..order.len()).map(|_| None).collect();
    for (&rank, &delay) in order.iter().zip(delays_ms) {
        thread::sleep(Duration::from_millis(delay));
        slots[rank] = Some(spawn(make(rank), format!("{what} rank {rank} (start order {order:?})")));
    }
    slots.into_iter().map(|r| r.expect("every rank started")).collect()
}

#[test]
fn rank0_coordinator_in_any_start_order() {
    let bin = hello();
    // The coordinator (rank 0) last, so the others must retry until it listens.
    let mut coordinator = Rank0Port::reserve();
    let job1 = job("order");
    let make = |r| coordinator.party(&bin, &[], r, 3, &job1);
    let ranks = start_in_order(&[2, 1, 0], &[0, 300, 300], make, "hello");
    assert_hello_job(&wait_all(ranks, secs(60)), 3);

    // Then a random order with random delays, running the ring exchange over the mesh.
    let ring = compile("c-examples/ring.c");
    let mut seed = Instant::now().elapsed().as_nanos() as u64 ^ (u64::from(std::process::id()) << 20) | 1;
    let mut order = vec![0, 1, 2];
    for i in (1..order.len()).rev() {
        order.swap(i, xorshift(&mut seed) as usize % (i + 1));
    }
    let delays: Vec<u64> = (0..3).map(|_| xorshift(&mut seed) % 400).collect();
    let mut coordinator = Rank0Port::reserve();
    let job2 = job("ring");
    let make = |r| coordinator.party(&ring, &["-q"], r, 3, &job2);
    let outs = wait_all(start_in_order(&order, &delays, make, "ring -q"), secs(90));
    outs.iter().for_each(Output::assert_success);
    assert!(outs[0].stdout.lines().any(|l| l.trim() == "ring: OK"), "order {order:?}: {}", outs[0].describe());
}

#[test]
fn external_coordinator_serves_and_exits() {
    let bin = hello();
    // partyrun --coordinator and rank 2 (PARTYLINE_LISTEN) bind these themselves.
    let address = own_loopback_address();
    let job = job("external");
    // Rank 1 starts before the coordinator exists; rank 2 names its own address.
    let listen = own_loopback_address();
    let own_port = listen.rsplit_once(':').expect("host:port").1;
    let mut ranks = vec![spawn(party(&bin, &[], 1, 3, &address, &job, Role::External), "hello rank 1 (external)")];
    thread::sleep(Duration::from_millis(300));
    let coordinator = spawn(coordinator_cmd(&address, 3, &job, 30), "partyrun --coordinator");
    // A stranger on the coordinator's port must not disturb it.
    if let Some(mut s) = connect_retry(&address, Duration::from_secs(5)) {
        let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    ranks.insert(0, spawn(party(&bin, &[], 0, 3, &address, &job, Role::External), "hello rank 0 (external)"));
    let mut two = party(&bin, &[], 2, 3, &address, &job, Role::External);
    // As the last rank, rank 2 accepts no one: its advertised name is published, never dialled.
    two.env("PARTYLINE_LISTEN", &listen).env("PARTYLINE_ADVERTISE", format!("localhost:{own_port}"));
    ranks.push(spawn(two, "hello rank 2 (external, advertised)"));
    assert_hello_job(&wait_all(ranks, secs(60)), 3);
    let out = coordinator.wait(secs(30));
    out.assert_success();
    out.assert_stdout_contains(&format!("rank 2 localhost:{own_port}"));
    out.assert_stdout_contains("rank 0 127.0.0.1:");
}

/// Only ranks 0 and 1 of 3 start: everyone waiting gives up after the timeout, naming rank 2.
#[test]
fn missing_party_is_named_by_everyone() {
    let bin = hello();
    // Everyone names rank 2 only if ranks 0 and 1 have registered before the timeout: a generous one.
    let timeout = secs(8).as_secs() as u32;
    let mut rank0_port = Rank0Port::reserve();
    let jobs = [Role::Rank0, Role::External].map(|role| {
        let job = job(if role == Role::Rank0 { "missing-rank0" } else { "missing-external" });
        let address = if role == Role::Rank0 { rank0_port.address() } else { own_loopback_address() };
        let coordinator =
            (role == Role::External).then(|| spawn(coordinator_cmd(&address, 3, &job, timeout), "coordinator"));
        let ranks: Vec<Running> = (0..2)
            .map(|r| {
                let mut cmd = party(&bin, &[], r, 3, &address, &job, role);
                if role == Role::Rank0 && r == 0 {
                    rank0_port.0.hand_to(0, &mut cmd);
                }
                cmd.env("PARTYLINE_CONNECT_TIMEOUT", timeout.to_string());
                spawn(cmd, format!("hello rank {r} of 3, rank 2 absent"))
            })
            .collect();
        (ranks, coordinator)
    });
    for (ranks, coordinator) in jobs {
        let mut outs = wait_all(ranks, secs(60));
        outs.extend(coordinator.map(|c| c.wait(secs(60))));
        for out in &outs {
            assert!(matches!(out.code(), Some(c) if c != 0), "expected a clean failure: {}", out.describe());
            out.assert_stderr_contains("rank(s) 2 never registered");
            assert!(!out.stdout.contains("Hello from"), "{}", out.describe());
        }
    }
}

#[test]
fn conflicting_or_bad_configuration_fails_at_once() {
    let bin = hello();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("PARTYLINE_PEERS", "127.0.0.1:1,127.0.0.1:2")], "PARTYLINE_PEERS and PARTYLINE_COORDINATOR are both set"),
        (&[("PARTYLINE_COORDINATOR_ROLE", "boss")], "PARTYLINE_COORDINATOR_ROLE=\"boss\""),
        (&[("PARTYLINE_COORDINATOR", "nowhere")], "PARTYLINE_COORDINATOR=\"nowhere\" is not host:port"),
        (&[("PARTYLINE_ADVERTISE", "10.0.0.1")], "PARTYLINE_ADVERTISE"),
    ];
    for (vars, needle) in cases {
        let mut cmd = party(&bin, &[], 1, 2, "127.0.0.1:9", &job("conflict"), Role::Rank0);
        // Reported at once: a rank that went on to wait for the coordinator would wait an hour,
        // and `run` would kill it and fail the test.
        cmd.env("PARTYLINE_CONNECT_TIMEOUT", "3600").envs(vars.iter().copied());
        let out = run(cmd, format!("hello with {vars:?}"), secs(30));
        assert!(matches!(out.code(), Some(c) if c != 0), "{}", out.describe());
        out.assert_stderr_contains(needle);
    }
}

/// Two parties claim rank 1: whichever registers second is refused at once, and the job runs
/// with the first. (Which one comes second is up to the scheduler, so either may be.)
#[test]
fn duplicate_rank_is_refused_and_the_job_goes_on() {
    let bin = hello();
    let mut coordinator = Rank0Port::reserve();
    let job = job("duplicate");
    let mut make = |r| {
        let mut cmd = coordinator.party(&bin, &[], r, 3, &job);
        // The admitted rank 1 must outwait the refused one, however slowly that one runs.
        cmd.env("PARTYLINE_CONNECT_TIMEOUT", secs(60).as_secs().to_string());
        cmd
    };
    let zero = spawn(make(0), "hello rank 0");
    let mut ones = vec![spawn(make(1), "hello rank 1 (first start)"), spawn(make(1), "hello rank 1 (second start)")];
    // The refused party exits; the admitted one waits for rank 2, which has not started.
    let until = Instant::now() + secs(60);
    let refused = loop {
        if let Some(i) = (0..2).find(|&i| ones[i].exited()) {
            break i;
        }
        assert!(Instant::now() < until, "neither rank 1 was refused");
        thread::sleep(Duration::from_millis(10));
    };
    let impostor = ones.remove(refused).wait(secs(30));
    assert!(matches!(impostor.code(), Some(c) if c != 0), "{}", impostor.describe());
    impostor.assert_stderr_contains("refused rank 1: rank 1 is already registered");
    let ranks = vec![zero, ones.remove(0), spawn(make(2), "hello rank 2")];
    assert_hello_job(&wait_all(ranks, secs(60)), 3);
}

/// Connects to `address`, retrying while the coordinator starts.
fn connect_retry(address: &str, limit: Duration) -> Option<TcpStream> {
    let addr: SocketAddr = address.parse().expect("a socket address");
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            return Some(s);
        }
        thread::sleep(Duration::from_millis(20));
    }
    None
}

/// A registration for another job, framed by hand as the protocol describes it.
fn foreign_registration() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&1u32.to_le_bytes()); // rank
    body.extend_from_slice(&3u32.to_le_bytes()); // size
    body.extend_from_slice(&4242u16.to_le_bytes()); // port
    for text in ["some-other-job", ""] {
        body.extend_from_slice(&(text.len() as u16).to_le_bytes());
        body.extend_from_slice(text.as_bytes());
    }
    let mut msg = b"PARTYRV\x01".to_vec();
    msg.extend_from_slice(&1u16.to_le_bytes());
    msg.extend_from_slice(&[1, 0]);
    msg.extend_from_slice(&(body.len() as u32).to_le_bytes());
    msg.extend_from_slice(&body);
    msg
}

/// Strangers at rank 0's coordinator port (random bytes, idle, connect-and-close, a foreign
/// job's registration) are refused and logged; the job still runs.
#[test]
fn garbage_clients_at_the_coordinator() {
    let bin = hello();
    let mut coordinator = Rank0Port::reserve();
    let address = coordinator.address();
    let job = job("garbage");
    let mut make = |r| {
        let mut cmd = coordinator.party(&bin, &[], r, 3, &job);
        cmd.env("PARTYLINE_HANDSHAKE_TIMEOUT", "1");
        cmd
    };
    let mut ranks = vec![spawn(make(0), "hello rank 0 (coordinator, garbage clients)")];
    let mut strangers = Vec::new();
    let mut noisy = connect_retry(&address, secs(10)).expect("rank 0 never listened on the coordinator address");
    let mut seed = 0x9E37_79B9_u64;
    let noise: Vec<u8> = (0..4096).map(|_| xorshift(&mut seed) as u8).collect();
    let _ = noisy.write_all(&noise);
    strangers.push(noisy);
    strangers.extend(connect_retry(&address, Duration::from_secs(1))); // idle: never writes
    drop(connect_retry(&address, Duration::from_secs(1))); // connect and close at once
    let mut foreign = connect_retry(&address, Duration::from_secs(1)).expect("connect");
    foreign.write_all(&foreign_registration()).expect("send a foreign registration");
    let _ = foreign.set_read_timeout(Some(secs(30)));
    let mut answer = Vec::new();
    let _ = foreign.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.contains("job id differs") && answer.contains("some-other-job"),
        "answer to a foreign job: {answer:?}"
    );

    ranks.extend((1..3).map(|r| spawn(make(r), format!("hello rank {r} (garbage clients)"))));
    let outs = wait_all(ranks, secs(60));
    assert_hello_job(&outs, 3);
    outs[0].assert_stderr_contains("refused the connection from");
    drop(strangers);
}
