//! Links across a path with a real round trip (issue 15): two network namespaces joined by bench/wan/forwarder.c with a 6 ms round trip and a 128 KiB send buffer maximum (one flow is held to 21 MB/s), where links of three TCP connections each (`PARTYLINE_STREAMS=3`) carry the ring intact and in order, plaintext and TLS, and `auto` keeps one, saying under a loss-based congestion control that it reopens over eight at its first loss, which it does on a path that drops 1% of packets; and a 20 ms path where a send buffer that holds the link back grows; and a 6 ms round trip that drops 1% of packets, where a connection under `auto` moves from cubic to BBR at its first retransmission.

mod common;

use common::*;
use std::io::BufRead;
use std::process::{Command, Stdio};

/// Namespaces and the forwarder of one test; both are gone on drop, even after a panic.
struct Path {
    names: Vec<String>,
    forwarder: Option<std::process::Child>,
}

impl Drop for Path {
    fn drop(&mut self) {
        if let Some(mut f) = self.forwarder.take() {
            let _ = f.kill();
            let _ = f.wait();
        }
        for ns in &self.names {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// bench/wan/forwarder.c, built once per test binary: the tests here run in parallel, and one
/// rebuilding it while another starts it made the start fail (EACCES on a file being written).
fn forwarder() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let forwarder = build_dir().join("wan-forwarder");
            let mut cc = Command::new("cc");
            cc.args(["-O2", "-Wall", "-Wextra", "-Werror"]).arg(root().join("bench/wan/forwarder.c"));
            cc.arg("-o").arg(&forwarder);
            run(cc, "cc bench/wan/forwarder.c", secs(120)).assert_success();
            forwarder
        })
        .clone()
}

/// Two party namespaces with addresses 10.81.X.1 and .2 whose packets cross the forwarder with
/// `one_way_ms` of delay each way, and `loss` (a fraction) of them dropped at random; None (with
/// the reason printed) where that cannot be built.
fn long_path(tag: &str, one_way_ms: f64, loss: f64) -> Option<(Path, Vec<String>)> {
    if !namespaces_usable("long-path test") || !std::path::Path::new("/dev/net/tun").exists() {
        println!("skipping long-path test: no namespaces or no /dev/net/tun");
        return None;
    }
    let forwarder = forwarder();
    let pid = std::process::id();
    let mut path = Path { names: Vec::new(), forwarder: None };
    for i in 0..2 {
        let ns = format!("partyline-{pid}-{tag}-{i}");
        ip(&["netns", "add", &ns]).expect("ip netns add");
        path.names.push(ns.clone());
        ip(&["-n", &ns, "link", "set", "lo", "up"]).expect("lo up");
        // What a flow's send buffer may grow to: 128 KiB per 6 ms round trip is 21 MB/s.
        ip(&["netns", "exec", &ns, "sysctl", "-qw", "net.ipv4.tcp_wmem=4096 16384 131072"]).expect("tcp_wmem");
    }
    let net = format!("10.81.{}", pid % 200);
    let mut child = Command::new(&forwarder)
        .args(["--ns", &path.names.join(","), "--delay-ms", &one_way_ms.to_string(), "--rate-mbit", "1000"])
        .args(["--loss", &loss.to_string(), "--seed", "1", "--net", &format!("{net}.0"), "--txqueuelen", "1000"])
        // No real-time priority: the tests share two cores with other programs.
        .args(["--rt-priority", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the forwarder");
    let mut ready = String::new();
    let _ = std::io::BufReader::new(child.stdout.take().expect("piped")).read_line(&mut ready);
    path.forwarder = Some(child);
    assert!(ready.starts_with("ready"), "the forwarder did not start: {ready:?}");
    let mut addrs = Vec::new();
    for (i, ns) in path.names.iter().enumerate() {
        let addr = format!("{net}.{}", i + 1);
        ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", "wan0"]).expect("address on wan0");
        ip(&["-n", ns, "link", "set", "wan0", "up"]).expect("wan0 up");
        addrs.push(addr);
    }
    Some((path, addrs))
}

/// Runs the ring example on both namespaces with `env`; every rank's output.
fn ring(path: &Path, addrs: &[String], env: &[(&str, &str)], what: &str) -> Vec<Output> {
    let outs = across(path, addrs, "c-examples/ring.c", &["-q"], env, what);
    assert!(outs[0].stdout.lines().any(|l| l.trim() == "ring: OK"), "{}", outs[0].describe());
    outs
}

/// Runs the program `src` with `args` on both namespaces with `env`; both ranks' output, each
/// checked to have succeeded.
fn across(path: &Path, addrs: &[String], src: &str, args: &[&str], env: &[(&str, &str)], what: &str) -> Vec<Output> {
    let bin = compile(src);
    let peers = addrs.iter().map(|a| format!("{a}:7000")).collect::<Vec<_>>().join(",");
    let job = format!("long-path-{}-{what}", std::process::id());
    let ranks: Vec<Running> = (0..2)
        .map(|r| {
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "exec", &path.names[r]]).arg(&bin).args(args);
            set_rank_env(&mut cmd, r, 2, &peers, &job, 30.0);
            cmd.env("PARTYLINE_VERBOSE", "1").envs(env.iter().copied());
            spawn(cmd, format!("{src} rank {r} ({what})"))
        })
        .collect();
    let outs = wait_all(ranks, secs(180));
    for out in &outs {
        out.assert_success();
    }
    outs
}

/// A directory of certificates for a 2-party job (`partyrun certs`), one per test.
fn certificates(test: &str) -> String {
    let certs = build_dir().join(format!("long-path-{test}-certs-{}", std::process::id()));
    let mut c = Command::new(partyrun());
    c.args(["certs", "--parties", "2", "--out"]).arg(&certs);
    run(c, "partyrun certs", secs(30)).assert_success();
    certs.to_string_lossy().into_owned()
}

#[test]
fn links_of_several_streams_cross_a_long_path_plaintext_and_tls() {
    let Some((path, addrs)) = long_path("streams", 3.0, 0.0) else { return };
    let certs = certificates("streams");

    for (env, what) in [
        (vec![("PARTYLINE_INSECURE", "1"), ("PARTYLINE_STREAMS", "3")], "plaintext"),
        (vec![("PARTYLINE_TLS_DIR", certs.as_str()), ("PARTYLINE_STREAMS", "3")], "tls"),
    ] {
        for (r, out) in ring(&path, &addrs, &env, what).iter().enumerate() {
            out.assert_stderr_contains(&format!("the link to rank {} runs over 3 TCP connections", 1 - r));
        }
    }
    let available = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_available_congestion_control").unwrap_or_default();
    if available.split_whitespace().any(|a| a == "bbr") {
        // (A link opens over one connection; should the emulator's queue overflow, one on a
        // loss-based algorithm would later reopen over eight, which the last test covers.)
        for (r, out) in ring(&path, &addrs, &[("PARTYLINE_INSECURE", "1")], "auto").iter().enumerate() {
            out.assert_stderr_contains(&format!("the link to rank {} runs over 1 TCP connection\n", 1 - r));
        }
    }
    // Reno is always built in; like cubic it halves its rate at every loss. The dialing rank
    // (1) says what to set; the user's own count is taken quietly.
    let reno = [("PARTYLINE_INSECURE", "1"), ("PARTYLINE_CONGESTION", "reno")];
    let outs = ring(&path, &addrs, &reno, "auto-reno");
    outs[1].assert_stderr_contains("the link to rank 0 runs over 1 TCP connection\n");
    outs[1].assert_stderr_contains("the link to rank 0 runs reno over a ");
    outs[1].assert_stderr_contains(" ms round trip on one TCP connection");
    outs[1].assert_stderr_contains("at its first loss it reopens over 8");
    let eight = [("PARTYLINE_INSECURE", "1"), ("PARTYLINE_CONGESTION", "reno"), ("PARTYLINE_STREAMS", "8")];
    for (r, out) in ring(&path, &addrs, &eight, "reno-8").iter().enumerate() {
        out.assert_stderr_contains(&format!("the link to rank {} runs over 8 TCP connections", 1 - r));
        assert!(!out.stderr.contains("one TCP connection"), "{}", out.describe());
    }
}

/// Over a 20 ms round trip, a 128 KiB send buffer carries about 6 MB/s: the link waits on it
/// nearly all the time it sends, and grows it past the kernel's autotuning maximum; it stops at
/// `PARTYLINE_SEND_BUFFER_MAX` and says so, and leaves a buffer the user set alone.
#[test]
fn a_send_buffer_that_holds_a_link_back_grows() {
    let Some((path, addrs)) = long_path("sndbuf", 10.0, 0.0) else { return };
    let grew = "waited on its TCP send buffer";
    let plain = [("PARTYLINE_INSECURE", "1")];
    for out in across(&path, &addrs, "tests/c/exchange.c", &["24"], &plain, "grows") {
        out.assert_stderr_contains(grew);
        out.assert_stderr_contains("grew it from");
    }
    let capped = [("PARTYLINE_INSECURE", "1"), ("PARTYLINE_SEND_BUFFER_MAX", "512K")];
    for out in across(&path, &addrs, "tests/c/exchange.c", &["12"], &capped, "capped") {
        out.assert_stderr_contains("PARTYLINE_SEND_BUFFER_MAX=524288: raise it for this path");
    }
    let pinned = [("PARTYLINE_INSECURE", "1"), ("PARTYLINE_SEND_BUFFER", "128K")];
    for out in across(&path, &addrs, "tests/c/exchange.c", &["4"], &pinned, "pinned") {
        assert!(!out.stderr.contains(grew), "a send buffer the user set stays: {}", out.describe());
    }
}

/// Under `auto`, a connection that leaves the host starts on cubic, which sends a round's
/// message at once where BBR would pace it, and moves to BBR once it loses a packet, where
/// cubic would halve its rate. With 1% loss, 8 MB each way loses dozens.
#[test]
fn a_connection_that_loses_packets_moves_to_bbr() {
    let Some((path, addrs)) = long_path("loss", 3.0, 0.01) else { return };
    let available = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_available_congestion_control").unwrap_or_default();
    let moved = if available.split_whitespace().any(|a| a == "bbr") { "it now runs bbr" } else { "cannot run bbr" };
    let plain = [("PARTYLINE_INSECURE", "1")];
    for (r, out) in across(&path, &addrs, "tests/c/exchange.c", &["8"], &plain, "auto").iter().enumerate() {
        out.assert_stderr_contains(&format!("connection 0 of the link to rank {} has retransmitted", 1 - r));
        out.assert_stderr_contains(moved);
    }
    // Traffic one way (rank 0 to rank 1, which dials): the losses are rank 0's, and rank 1 sees
    // them only as packets arriving out of order. Where BBR is to be had, rank 0 moves to it, and
    // the link is not reopened over several connections.
    if moved == "it now runs bbr" {
        let outs = across(&path, &addrs, "tests/c/flood.c", &["8", "1048576"], &plain, "one-way");
        outs[0].assert_stderr_contains(moved);
        for out in &outs {
            assert!(!out.stderr.contains("reopens"), "a link on BBR keeps one connection: {}", out.describe());
        }
    }
    let chosen = [("PARTYLINE_INSECURE", "1"), ("PARTYLINE_CONGESTION", "cubic"), ("PARTYLINE_STREAMS", "1")];
    for out in across(&path, &addrs, "tests/c/exchange.c", &["8"], &chosen, "cubic") {
        assert!(!out.stderr.contains("retransmitted"), "an algorithm the user chose stays: {}", out.describe());
    }
}

/// Under `PARTYLINE_STREAMS=auto`, a link of one connection whose congestion control halves its
/// rate at every loss (reno here; cubic on hosts without BBR) reopens over eight connections,
/// opened beside the live one, once it loses packets, and every byte of the exchange arrives
/// intact, plaintext and TLS; a count the user set stays. With 1% loss, 8 MB each way loses dozens.
#[test]
fn a_loss_based_link_that_loses_packets_reopens_over_eight_connections() {
    let Some((path, addrs)) = long_path("widen", 3.0, 0.01) else { return };
    let certs = certificates("widen");
    let reno = ("PARTYLINE_CONGESTION", "reno");
    for (security, what) in [(("PARTYLINE_INSECURE", "1"), "plaintext"), (("PARTYLINE_TLS_DIR", certs.as_str()), "tls")]
    {
        let stats = ("PARTYLINE_STATS", "1");
        let outs = across(&path, &addrs, "tests/c/exchange.c", &["8"], &[security, reno, stats], what);
        // Rank 1 dials the link, so it decides; both see it come back over eight.
        outs[1].assert_stderr_contains("the link to rank 0 reopens: its one TCP connection runs reno");
        // The accepting rank does not decide; it learns of it from the new connections.
        outs[0]
            .assert_stderr_contains("the link to rank 1 reopens: rank 1 moves it to 8 connections, opened beside it");
        assert!(
            !outs[0].stderr.contains("halves its rate"),
            "the accepting rank does not decide: {}",
            outs[0].describe()
        );
        for (r, out) in outs.iter().enumerate() {
            // The old connection stays open until the new ones take over, so neither rank sees
            // the switch as a break.
            assert!(!out.stderr.contains(" broke ("), "rank {r} saw a break: {}", out.describe());
            out.assert_stderr_contains(&format!("the link to rank {} is back after ", 1 - r));
            out.assert_stderr_contains(", over 8 TCP connections");
            // The statistics count a widening, not a reconnect.
            out.assert_stderr_contains(", 1 widening (down ");
            assert!(!out.stderr.contains(" reconnect"), "rank {r} counted a reconnect: {}", out.describe());
            for line in out.stderr.lines().filter(|l| l.contains("is back after")) {
                println!("{what}: {line}");
            }
        }
    }
    let one = [("PARTYLINE_INSECURE", "1"), reno, ("PARTYLINE_STREAMS", "1")];
    for out in across(&path, &addrs, "tests/c/exchange.c", &["8"], &one, "one") {
        assert!(!out.stderr.contains("reopens"), "a count the user set stays: {}", out.describe());
    }
}
