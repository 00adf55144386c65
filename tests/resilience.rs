//! Links that survive the internet (issue 13): the link between ranks 0 and 1 runs through a fault-injecting proxy, and a reset, FIN or silent stall mid-run costs only a delay; a corrupted byte is retried in plaintext and fatal under TLS; a paused party is waited for; a permanent partition ends every rank, naming the link.

mod common;

use common::*;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Rounds of the exchange: each carries 1 MB each way over every link, so ~60 MB cross the proxy.
const ROUNDS: usize = 60;
/// Where faults fire: a third of the way into the run, rank 1 to rank 0.
const TRIGGER: u64 = 20 << 20;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Plain,
    Tls,
}

fn exchange() -> PathBuf {
    compile("tests/c/exchange.c")
}

/// TLS credentials for three parties, made once per test binary.
fn tls_dir() -> String {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = build_dir().join("resilience-certs");
        let _ = std::fs::remove_dir_all(&dir);
        let mut cmd = Command::new(partyrun());
        cmd.args(["certs", "--parties", "3", "--out"]).arg(&dir);
        run(cmd, "partyrun certs", secs(30)).assert_success();
        dir
    })
    .to_string_lossy()
    .into_owned()
}

/// A job of three exchange ranks started by hand in which rank 1 reaches rank 0 through a proxy
/// with `plan`; rank 0 listens on its real port, and rank 2 dials it there.
struct Job {
    proxy: FaultProxy,
    ranks: Vec<Running>,
}

fn start(name: &str, mode: Mode, plan: Vec<Planned>, env: &[(&str, &str)]) -> Job {
    let bin = exchange();
    let mut ports = RankPorts::reserve(3);
    let real = ports.ports().to_vec();
    let proxy = FaultProxy::start(SocketAddr::from(([127, 0, 0, 1], real[0])), plan);
    let job = format!("resilience-{name}-{mode:?}-{}", std::process::id());
    let rounds = ROUNDS.to_string();
    let ranks = (0..3)
        .map(|r| {
            let peers =
                if r == 1 { format!("{},{}", proxy.addr(), local_peers(&real[1..])) } else { local_peers(&real) };
            let mut cmd = rank_cmd(&bin, &[&rounds], r, 3, &peers, &job, 20.0);
            match mode {
                // The proxy stands for a path between hosts, where plaintext links check
                // their frames; on loopback they would not by default.
                Mode::Plain => cmd.env("PARTYLINE_INSECURE", "1").env("PARTYLINE_CHECKSUMS", "on"),
                Mode::Tls => cmd.env("PARTYLINE_TLS_DIR", tls_dir()),
            };
            cmd.envs(env.iter().copied());
            ports.hand_to(r, &mut cmd);
            spawn(cmd, format!("exchange rank {r}/3 ({name}, {mode:?})"))
        })
        .collect();
    Job { proxy, ranks }
}

/// Every rank exited 0 and printed its verdict (so every byte it received was checked).
fn assert_completed(outs: &[Output]) {
    for (r, out) in outs.iter().enumerate() {
        out.assert_success();
        out.assert_stdout_contains(&format!("exchange OK rank {r} rounds {ROUNDS}"));
    }
}

/// Every rank ended with an exit code of its own (not 0, not a signal).
fn assert_all_failed(outs: &[Output]) {
    for out in outs {
        assert!(matches!(out.code(), Some(c) if c != 0), "expected a non-zero exit: {}", out.describe());
    }
}

/// A fault the job must ride out: it completes, the fault fired, and (for a broken connection)
/// rank 1 dialled again through the proxy.
fn survives(name: &str, mode: Mode, fault: Fault, env: &[(&str, &str)]) {
    survives_on(name, mode, fault, env, 1);
}

/// `survives` with every link over `streams` TCP connections: the fault hits one of them, at a
/// point its share of the traffic reaches, and a break brings all of them back.
fn survives_on(name: &str, mode: Mode, fault: Fault, env: &[(&str, &str)], streams: usize) {
    let mut env = env.to_vec();
    env.push(("PARTYLINE_RECONNECT_TIMEOUT", "20"));
    env.push(("PARTYLINE_STATS", "1"));
    let count = streams.to_string();
    env.push(("PARTYLINE_STREAMS", &count));
    let trigger = TRIGGER / (2 * streams as u64 - 1);
    let job = start(name, mode, vec![fault.after(Dir::ClientToServer, trigger)], &env);
    let outs = wait_all(job.ranks, secs(120));
    let (accepted, fired) = (job.proxy.accepted(), job.proxy.fired());
    println!("{name} ({mode:?}): {accepted} connection(s) through the proxy, {fired} fault(s) fired");
    assert_completed(&outs);
    assert_eq!(fired, 1, "the {fault:?} never fired: the run ended before {trigger} B crossed the proxy");
    if matches!(fault, Fault::Reset | Fault::Fin) || matches!((fault, mode), (Fault::Corrupt, Mode::Plain)) {
        assert!(
            accepted >= 2 * streams,
            "the link of {streams} stream(s) came back without {streams} new connections through the proxy ({accepted} in all)"
        );
        // PARTYLINE_STATS counts it on both ends of the link.
        for out in &outs[..2] {
            out.assert_stderr_contains("reconnect (down ");
        }
    }
}

fn no_fault(mode: Mode) {
    let job = start("clean", mode, Vec::new(), &[]);
    let outs = wait_all(job.ranks, secs(120));
    assert_completed(&outs);
    let carried = job.proxy.forwarded(Dir::ClientToServer);
    assert!(job.proxy.accepted() >= 1, "rank 1 never dialled the proxy");
    assert!(carried >= (ROUNDS as u64) << 20, "only {carried} B went from rank 1 to rank 0 through the proxy");
    assert_eq!(job.proxy.fired(), 0);
}

#[test]
fn proxy_without_faults_carries_the_exchange_plaintext() {
    no_fault(Mode::Plain);
}

#[test]
fn proxy_without_faults_carries_the_exchange_tls() {
    no_fault(Mode::Tls);
}

#[test]
fn reset_is_survived_plaintext() {
    survives("reset", Mode::Plain, Fault::Reset, &[]);
}

#[test]
fn reset_is_survived_tls() {
    survives("reset", Mode::Tls, Fault::Reset, &[]);
}

#[test]
fn fin_without_goodbye_is_survived_plaintext() {
    survives("fin", Mode::Plain, Fault::Fin, &[]);
}

#[test]
fn fin_without_goodbye_is_survived_tls() {
    survives("fin", Mode::Tls, Fault::Fin, &[]);
}

#[test]
fn reset_of_one_stream_is_survived_plaintext() {
    survives_on("reset-striped", Mode::Plain, Fault::Reset, &[], 3);
}

#[test]
fn reset_of_one_stream_is_survived_tls() {
    survives_on("reset-striped", Mode::Tls, Fault::Reset, &[], 3);
}

/// A stall shorter than the link timeout is a pause, not a break.
const STALL: &[(&str, &str)] = &[("PARTYLINE_LINK_TIMEOUT", "30")];

#[test]
fn silent_stall_is_survived_plaintext() {
    survives("stall", Mode::Plain, Fault::Stall(Duration::from_secs(10)), STALL);
}

#[test]
fn silent_stall_is_survived_tls() {
    survives("stall", Mode::Tls, Fault::Stall(Duration::from_secs(10)), STALL);
}

/// One stream of three stalls: the others run ahead only as far as the reorder bound, and the
/// link resumes in order.
#[test]
fn stall_of_one_stream_is_survived_plaintext() {
    survives_on("stall-striped", Mode::Plain, Fault::Stall(Duration::from_secs(5)), STALL, 3);
}

/// Plaintext: the frame checksum catches the flipped byte and the frame is sent again, so every
/// byte the program checks is right.
#[test]
fn corrupted_byte_is_retried_plaintext() {
    survives("corrupt", Mode::Plain, Fault::Corrupt, &[]);
}

/// On a link of several streams the flipped byte may land in a chunk header (caught by its
/// own checksum) or in a frame: either way the link is re-established and the data is right.
#[test]
fn corrupted_byte_on_one_stream_is_retried_plaintext() {
    survives_on("corrupt-striped", Mode::Plain, Fault::Corrupt, &[], 3);
}

/// TLS: tampering is an attack, never retried; the job fails and says so.
#[test]
fn corrupted_byte_is_fatal_tls() {
    let env = [("PARTYLINE_RECONNECT_TIMEOUT", "20")];
    let job = start("corrupt", Mode::Tls, vec![Fault::Corrupt.after(Dir::ClientToServer, TRIGGER)], &env);
    let outs = wait_all(job.ranks, secs(120));
    assert_eq!(job.proxy.fired(), 1, "the corruption never fired: {}", outs[0].describe());
    assert_all_failed(&outs);
    let told = outs[..2].iter().any(|o| o.stderr.contains("altered in transit"));
    assert!(
        told,
        "neither rank 0 nor rank 1 says the traffic was altered:\n{}\n{}",
        outs[0].describe(),
        outs[1].describe()
    );
}

/// A partition that never heals: once the link timeout and the reconnect window have passed,
/// every rank ends, naming the lost link.
fn partition(mode: Mode) {
    const LINK: u64 = 2;
    const RECONNECT: u64 = 3;
    let env = [("PARTYLINE_LINK_TIMEOUT", "2"), ("PARTYLINE_RECONNECT_TIMEOUT", "3")];
    let job = start("partition", mode, vec![Fault::Blackhole.after(Dir::ClientToServer, TRIGGER)], &env);
    let fired = job.proxy.wait_fired(1, secs(60));
    let at = Instant::now();
    // The bound counts from the partition; each rank's hard timeout is measured from its start.
    let limit = |r: &Running| at.saturating_duration_since(r.started()) + secs(LINK + RECONNECT + 5);
    let outs: Vec<Output> = job
        .ranks
        .into_iter()
        .map(|r| {
            let l = limit(&r);
            r.wait(l)
        })
        .collect();
    assert!(fired, "the partition never started: {}", outs[0].describe());
    assert_all_failed(&outs);
    for out in &outs {
        out.assert_stderr_contains("between rank 0 and rank 1");
    }
}

#[test]
fn permanent_partition_is_fatal_and_named_plaintext() {
    partition(Mode::Plain);
}

#[test]
fn permanent_partition_is_fatal_and_named_tls() {
    partition(Mode::Tls);
}

// The proxy itself, between two sockets of this process: each fault does what it says, at its byte.

/// A connection through a proxy with `plan`: the client's end and the server's end.
fn through(plan: Vec<Planned>) -> (FaultProxy, TcpListener, TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a server for the proxy");
    let proxy = FaultProxy::start(listener.local_addr().unwrap(), plan);
    let client = TcpStream::connect(proxy.addr()).expect("connect to the proxy");
    let (server, _) = listener.accept().expect("the proxy dials the server");
    for s in [&client, &server] {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    }
    (proxy, listener, client, server)
}

fn bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + 3) as u8).collect()
}

fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    s.read_exact(&mut buf).expect("read what the proxy forwarded");
    buf
}

/// Nothing arrives on `s` for a while (the fault under test holds it back).
fn silent(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let quiet =
        matches!(s.read(&mut [0u8; 1]), Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    quiet
}

#[test]
fn proxy_reset_sends_rst_both_ways() {
    let (proxy, _l, mut c, mut s) = through(vec![Fault::Reset.after(Dir::ClientToServer, 1000)]);
    c.write_all(&bytes(1000)).unwrap();
    assert_eq!(read_n(&mut s, 1000), bytes(1000));
    for end in [&mut s, &mut c] {
        let got = end.read(&mut [0u8; 16]);
        assert!(matches!(&got, Err(e) if e.kind() == ErrorKind::ConnectionReset), "want a reset, got {got:?}");
    }
    assert_eq!((proxy.fired(), proxy.accepted()), (1, 1));
}

#[test]
fn proxy_fin_closes_both_ways_cleanly() {
    let (proxy, _l, mut c, mut s) = through(vec![Fault::Fin.after(Dir::ServerToClient, 500)]);
    s.write_all(&bytes(500)).unwrap();
    assert_eq!(read_n(&mut c, 500), bytes(500));
    for end in [&mut c, &mut s] {
        assert_eq!(end.read(&mut [0u8; 16]).expect("a clean end of stream"), 0);
    }
    assert_eq!(proxy.fired(), 1);
}

#[test]
fn proxy_corrupts_exactly_one_byte() {
    let (proxy, _l, mut c, mut s) = through(vec![Fault::Corrupt.after(Dir::ClientToServer, 100_000)]);
    let sent = bytes(300_000);
    c.write_all(&sent).unwrap();
    let got = read_n(&mut s, sent.len());
    let diff: Vec<usize> = (0..sent.len()).filter(|&i| got[i] != sent[i]).collect();
    assert_eq!(diff, vec![100_000]);
    assert_eq!(got[100_000], !sent[100_000]);
    assert_eq!(proxy.fired(), 1);
}

#[test]
fn proxy_stall_holds_both_ways_then_resumes() {
    let (proxy, _l, mut c, mut s) = through(vec![Fault::Stall(Duration::from_secs(3)).after(Dir::ClientToServer, 10)]);
    c.write_all(&bytes(20)).unwrap();
    assert_eq!(read_n(&mut s, 10), bytes(10));
    // The stall begins just after its 10th byte is passed on: written back once it is in force.
    assert!(proxy.wait_fired(1, secs(5)));
    s.write_all(b"back").unwrap();
    assert!(silent(&mut s) && silent(&mut c), "bytes crossed a stalled connection");
    assert_eq!(read_n(&mut s, 10), bytes(20)[10..]);
    assert_eq!(read_n(&mut c, 4), b"back");
    assert_eq!(proxy.fired(), 1);
}

#[test]
fn proxy_blackhole_swallows_everything_for_good() {
    let (proxy, listener, mut c, mut s) = through(vec![Fault::Blackhole.after(Dir::ClientToServer, 10)]);
    c.write_all(&bytes(20)).unwrap();
    assert_eq!(read_n(&mut s, 10), bytes(10));
    assert!(silent(&mut s), "bytes crossed the blackhole");
    // A new connection is accepted, but never reaches the server.
    let _again = TcpStream::connect(proxy.addr()).expect("the proxy still accepts");
    assert!(proxy.wait_fired(1, secs(5)));
    listener.set_nonblocking(true).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(listener.accept().is_err(), "the blackhole dialled the server");
    assert_eq!(proxy.accepted(), 2);
}

/// A party paused for less than the link timeout (a suspended VM, a long garbage collection)
/// comes back to a working job: its peers hear nothing from it meanwhile, and no link breaks.
#[test]
fn a_paused_party_is_survived_without_a_break() {
    let env = [("PARTYLINE_LINK_TIMEOUT", "10"), ("PARTYLINE_STATS", "1")];
    let job = start("pause", Mode::Plain, Vec::new(), &env);
    // Well into the run (counted in bytes through the proxy, not in time), stop rank 2 for 3 s.
    let limit = Instant::now() + secs(60);
    while job.proxy.forwarded(Dir::ClientToServer) < TRIGGER && Instant::now() < limit {
        std::thread::sleep(Duration::from_millis(5));
    }
    let pid = job.ranks[2].pid().expect("rank 2 runs") as i32;
    // SAFETY: kill takes plain integers; the pid is our child's, which is not reaped yet.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    std::thread::sleep(Duration::from_secs(3));
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    let outs = wait_all(job.ranks, secs(120));
    assert_completed(&outs);
    for out in &outs {
        assert!(!out.stderr.contains("reconnect (down "), "a pause is not a break: {}", out.describe());
    }
}
