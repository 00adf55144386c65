//! Runs the ring example across three network namespaces joined by a bridge: real addresses, no
//! loopback, so TLS is required unless plaintext is asked for.

mod common;

use common::*;
use std::process::Command;

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

/// Run `ip args...`; Err carries the command and its stderr.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("cannot run ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("`ip {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// Three rank namespaces, each with one veth end 10.77.X.(i+1)/24, the other
/// ends enslaved to a bridge in a fourth namespace: all traffic stays inside.
fn setup(nss: &mut Namespaces, subnet: u32) -> Result<Vec<String>, String> {
    let pid = std::process::id();
    let br = format!("partyline-{pid}-br");
    ip(&["netns", "add", &br])?;
    nss.0.push(br.clone());
    ip(&["-n", &br, "link", "set", "lo", "up"])?;
    ip(&["-n", &br, "link", "add", "br0", "type", "bridge"])?;
    let _ = ip(&["-n", &br, "link", "set", "br0", "type", "bridge", "forward_delay", "0"]);
    ip(&["-n", &br, "link", "set", "br0", "up"])?;
    let mut addrs = Vec::new();
    for i in 0..3 {
        let ns = format!("partyline-{pid}-{i}");
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

#[test]
fn ring_across_namespaces() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipping netns test: not running as root");
        return;
    }
    if let Err(e) = ip(&["netns", "list"]) {
        println!("skipping netns test: {e}");
        return;
    }
    // Build before creating anything, so a build failure leaves no namespaces.
    let ring = compile("c-examples/ring.c");

    let mut nss = Namespaces(Vec::new());
    let subnet = std::process::id() % 200;
    let addrs = match setup(&mut nss, subnet) {
        Ok(a) => a,
        Err(e) if nss.0.is_empty() => {
            println!("skipping netns test: {e}");
            return;
        }
        Err(e) => {
            // `ip netns add` worked, so namespaces are supported: this is a real failure.
            panic!("network namespace setup failed: {e}");
        }
    };
    let peers = addrs.iter().map(|a| format!("{a}:7000")).collect::<Vec<_>>().join(",");
    let job = format!("netns-{}", std::process::id());
    let certs = build_dir().join(format!("netns-certs-{}", std::process::id()));
    let made = run(
        {
            let mut c = Command::new(partyrun());
            c.args(["certs", "--parties", "3", "--out"]).arg(&certs);
            c
        },
        "partyrun certs",
        secs(30),
    );
    made.assert_success();
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

    let tls_dir = certs.to_string_lossy().into_owned();
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
