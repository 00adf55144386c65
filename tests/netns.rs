//! Runs the ring example across three network namespaces joined by a bridge (real addresses, no
//! loopback, so TLS is required unless plaintext is asked for), and cuts a rank off mid-run.

mod common;

use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

/// Namespaces created by this test; deleted on drop, even after a panic.
/// Deleting a namespace also removes the veth ends inside it.
struct Namespaces(Vec<String>);

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in self.0.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// Three rank namespaces, each with one veth end 10.77.X.(i+1)/24, the other
/// ends enslaved to a bridge in a fourth namespace: all traffic stays inside.
/// Names are `partyline-PID-TAG-...`, so tests of one process do not collide.
fn setup(nss: &mut Namespaces, tag: &str, subnet: u32) -> Result<Vec<String>, String> {
    let pid = std::process::id();
    let br = format!("partyline-{pid}-{tag}-br");
    ip(&["netns", "add", &br])?;
    nss.0.push(br.clone());
    ip(&["-n", &br, "link", "set", "lo", "up"])?;
    ip(&["-n", &br, "link", "add", "br0", "type", "bridge"])?;
    let _ = ip(&["-n", &br, "link", "set", "br0", "type", "bridge", "forward_delay", "0"]);
    ip(&["-n", &br, "link", "set", "br0", "up"])?;
    let mut addrs = Vec::new();
    for i in 0..3 {
        let ns = format!("partyline-{pid}-{tag}-{i}");
        ip(&["netns", "add", &ns])?;
        nss.0.push(ns.clone());
        let (host, eth) = (format!("h{i}"), format!("e{i}"));
        ip(&["-n", &br, "link", "add", &host, "type", "veth", "peer", "name", &eth])?;
        ip(&["-n", &br, "link", "set", &eth, "netns", &ns])?;
        ip(&["-n", &br, "link", "set", &host, "master", "br0"])?;
        ip(&["-n", &br, "link", "set", &host, "up"])?;
        let addr = format!("10.77.{subnet}.{}", i + 1);
        ip(&["-n", &ns, "addr", "add", &format!("{addr}/24"), "dev", &eth])?;
        ip(&["-n", &ns, "link", "set", &eth, "up"])?;
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        addrs.push(addr);
    }
    Ok(addrs)
}

/// The three namespaces and the bridge for test `tag`, and the ranks' addresses; None (with the
/// reason printed) where namespaces cannot be made here. Build what the test runs first, so a
/// build failure leaves no namespaces behind.
fn namespaces(tag: &str) -> Option<(Namespaces, Vec<String>)> {
    if !namespaces_usable("netns test") {
        return None;
    }
    let mut nss = Namespaces(Vec::new());
    let subnet = std::process::id() % 200;
    match setup(&mut nss, tag, subnet) {
        Ok(addrs) => Some((nss, addrs)),
        Err(e) if nss.0.is_empty() => {
            println!("skipping netns test: {e}");
            None
        }
        // `ip netns add` worked, so namespaces are supported: this is a real failure.
        Err(e) => panic!("network namespace setup failed: {e}"),
    }
}

/// `partyrun certs` for three parties into a directory of this test process.
fn certs(tag: &str) -> String {
    let certs = build_dir().join(format!("netns-certs-{tag}-{}", std::process::id()));
    let mut c = Command::new(partyrun());
    c.args(["certs", "--parties", "3", "--out"]).arg(&certs);
    run(c, "partyrun certs", secs(30)).assert_success();
    certs.to_string_lossy().into_owned()
}

#[test]
fn ring_across_namespaces() {
    let ring = compile("c-examples/ring.c");
    let Some((nss, addrs)) = namespaces("ring") else { return };
    let peers = addrs.iter().map(|a| format!("{a}:7000")).collect::<Vec<_>>().join(",");
    let job = format!("netns-{}", std::process::id());
    let tls_dir = certs("ring");
    let ring_in = |nss: &Namespaces, extra: &[(&str, &str)], what: &str| -> Vec<Output> {
        let ranks: Vec<Running> = (0..3)
            .map(|r| {
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", &nss.0[r + 1]]).arg(&ring).arg("-q");
                set_rank_env(&mut cmd, r, 3, &peers, &job, 20.0);
                cmd.envs(extra.iter().copied());
                spawn(cmd, format!("ring -q rank {r} in {} ({what})", nss.0[r + 1]))
            })
            .collect();
        wait_all(ranks, secs(120))
    };

    // Links between hosts are encrypted by default: plaintext needs an explicit opt-in.
    for out in ring_in(&nss, &[], "no TLS configured") {
        assert_ne!(out.code(), Some(0), "{}", out.describe());
        out.assert_stderr_contains("not on this host, and partyline encrypts links between hosts");
    }

    let outs = ring_in(&nss, &[("PARTYLINE_TLS_DIR", &tls_dir)], "TLS");
    for out in &outs {
        out.assert_success();
    }
    outs[0].assert_stdout_contains("ring: 3 ranks");
    assert!(outs[0].stdout.lines().any(|l| l.trim() == "ring: OK"), "{}", outs[0].describe());
    println!("{}", outs[0].stdout);

    for out in ring_in(&nss, &[("PARTYLINE_INSECURE", "1")], "plaintext by opt-in") {
        out.assert_success();
        out.assert_stderr_contains("unencrypted and unauthenticated (PARTYLINE_INSECURE=1)");
    }
    drop(nss);
}

/// Links that leave the host over a short path (here a veth bridge, well under 5 ms) use BBR
/// where the kernel offers it (PARTYLINE_CONGESTION unset); `system` keeps the kernel's default.
/// (Loopback links keep the default: below; long paths start on cubic:
/// tests/long_path.rs.)
#[test]
fn links_across_hosts_use_bbr() {
    let bin = compile("tests/c/congestion.c");
    let allowed = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_allowed_congestion_control").unwrap_or_default();
    let Some((nss, addrs)) = namespaces("cc") else { return };
    // The hosts' default is reno (always built in), so that BBR can only come from partyline
    // (this machine's own default may well be BBR). The setting is per network namespace.
    for ns in &nss.0[1..] {
        ip(&["netns", "exec", ns, "sysctl", "-qw", "net.ipv4.tcp_congestion_control=reno"]).expect("set reno");
    }
    let default = "reno".to_string();
    let peers = addrs.iter().map(|a| format!("{a}:7000")).collect::<Vec<_>>().join(",");
    let job = format!("netns-cc-{}", std::process::id());
    for (setting, want) in [(None, "bbr"), (Some("system"), default.trim())] {
        let ranks: Vec<Running> = (0..3)
            .map(|r| {
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", &nss.0[r + 1]]).arg(&bin);
                set_rank_env(&mut cmd, r, 3, &peers, &job, 20.0);
                cmd.env("PARTYLINE_INSECURE", "1");
                if let Some(s) = setting {
                    cmd.env("PARTYLINE_CONGESTION", s);
                }
                spawn(cmd, format!("congestion rank {r} ({setting:?})"))
            })
            .collect();
        let want = if want == "bbr" && !allowed.split_whitespace().any(|a| a == "bbr") { default.trim() } else { want };
        for (r, out) in wait_all(ranks, secs(120)).into_iter().enumerate() {
            out.assert_success();
            out.assert_stdout_contains(&format!("rank {r} links: {want} {want}\n"));
        }
    }
    drop(nss);
}

/// TCP links over loopback (PARTYLINE_LOCAL_LINKS=tcp, PARTYLINE_CONGESTION unset) keep the
/// host's default congestion control: nothing is lost there, and BBR's pacing would only cost CPU.
/// Run in a namespace whose default is reno, since this machine's own default may be BBR.
#[test]
fn loopback_links_keep_the_default_congestion_control() {
    let bin = compile("tests/c/congestion.c");
    let Some((nss, _)) = namespaces("lo") else { return };
    let host = &nss.0[1];
    ip(&["netns", "exec", host, "sysctl", "-qw", "net.ipv4.tcp_congestion_control=reno"]).expect("set reno");
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", host]).arg(partyrun()).args(["-n", "3", "--"]).arg(&bin);
    clear_partyline_env(&mut cmd);
    cmd.env("PARTYLINE_LOCAL_LINKS", "tcp").env("PARTYLINE_VERBOSE", "1");
    let out = run(cmd, format!("partyrun -n 3 congestion in {host} (PARTYLINE_LOCAL_LINKS=tcp)"), secs(90));
    out.assert_success();
    for r in 0..3 {
        out.assert_stdout_contains(&format!("rank {r} links: reno reno\n"));
        out.assert_stderr_contains(&format!(
            "partyline[rank {r}]: the link to rank {} runs over 1 TCP connection",
            (r + 1) % 3
        ));
    }
    drop(nss);
}

/// Rounds of the partition runs, and the round after which rank 2 is cut off: far from the end,
/// so the job cannot finish without the link.
const ROUNDS: usize = 100;
const CUT_AFTER: usize = 10;

/// Runs exchange.c across the namespaces and, once rank 0 has finished round CUT_AFTER, takes rank
/// 2's veth down in the bridge namespace: a silent partition (no RST, no FIN). With `heal`, the
/// veth comes up again after that long. Waits for every rank, each for at most `bound` after the
/// cut. Returns None where namespaces are unavailable.
fn exchange_partitioned(
    tag: &str,
    tls: bool,
    heal: Option<Duration>,
    env: &[(&str, &str)],
    bound: Duration,
) -> Option<Vec<Output>> {
    let bin = compile("tests/c/exchange.c");
    let (nss, addrs) = namespaces(tag)?;
    let peers = addrs.iter().map(|a| format!("{a}:7000")).collect::<Vec<_>>().join(",");
    let job = format!("netns-{tag}-{}", std::process::id());
    let security = if tls { ("PARTYLINE_TLS_DIR", certs(tag)) } else { ("PARTYLINE_INSECURE", "1".to_string()) };
    let rounds = ROUNDS.to_string();
    let ranks: Vec<Running> = (0..3)
        .map(|r| {
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "exec", &nss.0[r + 1]]).arg(&bin).args([rounds.as_str(), "-p"]);
            set_rank_env(&mut cmd, r, 3, &peers, &job, 20.0);
            cmd.env(security.0, &security.1).envs(env.iter().copied());
            spawn(cmd, format!("exchange rank {r} in {} ({tag})", nss.0[r + 1]))
        })
        .collect();
    ranks[0].wait_for_stdout(&format!("exchange rank 0 round {CUT_AFTER}\n"), secs(60));
    let (bridge, veth) = (&nss.0[0], "h2");
    ip(&["-n", bridge, "link", "set", veth, "down"]).expect("take rank 2's veth down");
    let cut = Instant::now();
    // Rank 0 had not begun round ROUNDS-2, so its data for it has yet to cross to rank 2.
    let late = format!("exchange rank 0 round {}\n", ROUNDS - 3);
    assert!(!ranks[0].stdout_so_far().contains(&late), "the job ran past round {} before the cut", ROUNDS - 3);
    if let Some(d) = heal {
        std::thread::sleep(d);
        ip(&["-n", bridge, "link", "set", veth, "up"]).expect("bring rank 2's veth up again");
    }
    let outs = ranks
        .into_iter()
        .map(|r| {
            let limit = cut.saturating_duration_since(r.started()) + bound;
            r.wait(limit)
        })
        .collect();
    drop(nss);
    Some(outs)
}

/// A partition shorter than the reconnect window: the links break (link timeout 3 s), come back
/// when the veth does, and the job completes with every byte checked.
fn healed_partition(tls: bool) {
    let env = [("PARTYLINE_LINK_TIMEOUT", "3"), ("PARTYLINE_RECONNECT_TIMEOUT", "30")];
    let tag = if tls { "heal-tls" } else { "heal" };
    let Some(outs) = exchange_partitioned(tag, tls, Some(Duration::from_secs(5)), &env, secs(120)) else { return };
    println!("{tag}: rank 0 ran {:.1} s in all, a 5 s partition included", outs[0].elapsed.as_secs_f64());
    for (r, out) in outs.iter().enumerate() {
        out.assert_success();
        out.assert_stdout_contains(&format!("exchange OK rank {r} rounds {ROUNDS}"));
    }
}

/// A partition that never heals: every rank exits non-zero within link timeout + reconnect
/// timeout + 5 s of the cut, naming the lost link(s).
fn lasting_partition(tls: bool) {
    let env = [("PARTYLINE_LINK_TIMEOUT", "2"), ("PARTYLINE_RECONNECT_TIMEOUT", "3")];
    let tag = if tls { "cut-tls" } else { "cut" };
    let Some(outs) = exchange_partitioned(tag, tls, None, &env, secs(2 + 3 + 5)) else { return };
    for out in &outs {
        assert!(matches!(out.code(), Some(c) if c != 0), "expected a non-zero exit: {}", out.describe());
        out.assert_stderr_contains("between rank");
    }
}

#[test]
fn healed_partition_is_survived_plaintext() {
    healed_partition(false);
}

#[test]
fn healed_partition_is_survived_tls() {
    healed_partition(true);
}

#[test]
fn lasting_partition_is_fatal_and_named_plaintext() {
    lasting_partition(false);
}

#[test]
fn lasting_partition_is_fatal_and_named_tls() {
    lasting_partition(true);
}
