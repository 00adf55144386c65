//! Smoke tests of the ssh hosts harness (tests/common/sshhosts.rs) that the multi-host launcher tests build on.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// Plain `ssh` (the PATH wrapper with the test's config) from the launcher namespace reaches each
/// host by its alias, and the remote command runs in that host's namespace.
#[test]
fn ssh_reaches_every_host() {
    let Some(hosts) = SshHosts::new("reach", 3) else { return };
    for (name, addr) in hosts.names().iter().zip(hosts.addrs()) {
        let mut cmd = hosts.in_launcher(Path::new("ssh"));
        cmd.args([name.as_str(), "hostname", "-I"]);
        let out = run(cmd, format!("ssh {name} hostname -I"), secs(60));
        out.assert_success();
        assert_eq!(out.stdout.split_whitespace().collect::<Vec<_>>(), [addr.as_str()], "{}", out.describe());
    }
}

#[test]
fn unknown_host_key_is_refused() {
    let Some(hosts) = SshHosts::new("unknown", 3) else { return };
    let mut cmd = hosts.in_launcher(Path::new("/usr/bin/ssh"));
    cmd.arg("-F").arg(hosts.ssh_config_unknown_hosts()).args(["h0", "true"]);
    let out = run(cmd, "ssh h0 true with no known host keys", secs(60));
    assert_eq!(out.code(), Some(255), "{}", out.describe());
    out.assert_stderr_contains("Host key verification failed");
}

/// A remote process shows up in leftover_processes, and dropping the hosts removes it with
/// everything else. (A remote `sleep` outlives its ssh client: without a tty nothing tells it the
/// client is gone, which is why the launcher has to watch for that itself.)
#[test]
fn session_end_leaves_no_process() {
    let Some(hosts) = SshHosts::new("session", 3) else { return };
    // The readiness probes' per-connection sshd processes may still be exiting.
    poll("host 0 to settle after the readiness probes", secs(30), || {
        hosts.leftover_processes(0).is_empty().then_some(())
    });
    let mut cmd = hosts.in_launcher(Path::new("ssh"));
    cmd.args(["h0", "sleep 1000"]);
    let client = spawn(cmd, "ssh h0 sleep 1000");
    let sleep = poll("the remote sleep in leftover_processes(0)", secs(60), || {
        hosts.leftover_processes(0).into_iter().find(|(_, cmdline)| cmdline == "sleep 1000").map(|(pid, _)| pid)
    });

    let namespaces: Vec<String> =
        std::iter::once(hosts.launcher_ns().to_string()).chain((0..3).map(|i| hosts.host_ns(i).to_string())).collect();
    let dir = hosts.ssh_config().parent().expect("the config is in the test directory").to_path_buf();
    drop(hosts);

    let listed = Command::new("ip").args(["netns", "list"]).output().expect("run ip netns list");
    let listed = String::from_utf8_lossy(&listed.stdout);
    for ns in &namespaces {
        assert!(!listed.lines().any(|l| l.split_whitespace().next() == Some(ns)), "{ns} survived: {listed}");
    }
    assert!(!dir.exists(), "{dir:?} survived");
    // Killed; a zombie waiting for its (new) parent to reap it is as gone as it gets.
    let state = std::fs::read_to_string(format!("/proc/{sleep}/stat")).unwrap_or_default();
    assert!(state.is_empty() || state.contains(") Z "), "the remote sleep {sleep} survived: {state}");
    // Every sshd of the hosts read its config from the deleted directory.
    let marker = dir.to_string_lossy().into_owned();
    for e in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        assert!(!String::from_utf8_lossy(&cmdline).contains(&marker), "{:?} survived: {cmdline:?}", e.file_name());
    }
    // The ssh client ran in the launcher namespace, so it was killed too.
    let out = client.wait(secs(30));
    assert!(!out.status.success(), "{}", out.describe());
}

/// The capture sees plaintext that one host sends another (bridged from port to port, not
/// addressed to the launcher), so it can show what does and does not cross the network in clear.
#[test]
fn capture_sees_traffic_between_hosts() {
    let Some(hosts) = SshHosts::new("capture", 3) else { return };
    let capture = hosts.capture();
    let marker = "PARTYLINE-SSHHOSTS-MARKER";
    let mut cmd = hosts.in_launcher(Path::new("ssh"));
    cmd.args(["h1", &format!("printf %s {marker} >/dev/udp/{}/9", hosts.addrs()[2])]);
    run(cmd, "ssh h1 to send a datagram to h2", secs(60)).assert_success();
    let bytes = capture.stop();
    assert!(bytes.windows(marker.len()).any(|w| w == marker.as_bytes()), "marker not captured ({} bytes)", bytes.len());
}
