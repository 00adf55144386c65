//! Runs the ring example across three network namespaces joined by a bridge: real addresses, no loopback.

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

    let ranks: Vec<Running> = (0..3)
        .map(|r| {
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "exec", &nss.0[r + 1]]).arg(&ring).arg("-q");
            set_rank_env(&mut cmd, r, 3, &peers, &job, 20.0);
            spawn(cmd, format!("ring -q rank {r} in {}", nss.0[r + 1]))
        })
        .collect();
    let outs = wait_all(ranks, secs(120));
    for out in &outs {
        out.assert_success();
    }
    outs[0].assert_stdout_contains("ring: 3 ranks");
    assert!(outs[0].stdout.lines().any(|l| l.trim() == "ring: OK"), "{}", outs[0].describe());
    println!("{}", outs[0].stdout);
    drop(nss);
}
