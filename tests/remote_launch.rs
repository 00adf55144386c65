//! `partyrun --host/--hostfile` across three hosts, each a network namespace running a real sshd: TLS by default, output and exit status, stopping, and the errors people hit.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// `partyrun ARGS...` in the launcher namespace, with plain `ssh` from PATH using the test's config.
fn partyrun_in(hosts: &SshHosts, args: &[&str]) -> Command {
    let mut cmd = hosts.in_launcher(&partyrun());
    clear_partyline_env(&mut cmd);
    cmd.args(args);
    cmd
}

fn host_list(hosts: &SshHosts) -> String {
    hosts.names().join(",")
}

/// Waits until no process but sshd's listener is left on any host.
fn assert_nothing_left(hosts: &SshHosts, after: &str) {
    for i in 0..3 {
        poll(&format!("host h{i} to be empty {after}"), secs(30), || {
            let left = hosts.leftover_processes(i);
            // sshd's per-session processes may linger a moment after the session ended.
            left.iter().all(|(_, cmd)| cmd.starts_with("sshd")).then_some(())
        });
        let left = hosts.leftover_processes(i);
        assert!(left.iter().all(|(_, c)| !c.contains("partyrun") && !c.contains("linger")), "h{i}: {left:?}");
    }
}

#[test]
fn ring_mpc_and_marker_across_hosts_encrypted_by_default() {
    let (ring, marker, mpc) = (compile("c-examples/ring.c"), compile("tests/c/marker.c"), mpc_example());
    let sealed = compile("tests/c/keys_sealed.c");
    let Some(hosts) = SshHosts::new("tls", 3) else { return };
    let list = host_list(&hosts);
    let mut capture = None;
    for (program, pass) in [(&ring, "ring"), (&mpc, ""), (&marker, "PASS marker")] {
        if program == &marker {
            capture = Some(hosts.capture());
        }
        let mut cmd = partyrun_in(&hosts, &["--host", &list, "-n", "3"]);
        cmd.arg(program);
        let out = run(cmd, format!("partyrun --host {list} {}", program.display()), secs(120));
        out.assert_success();
        assert!(out.stdout.contains(pass), "{}", out.describe());
    }
    let captured = capture.expect("the marker ran").stop();
    // Each rank got its CA, certificate and key as three in-memory files, which its own
    // children do not inherit.
    let mut cmd = partyrun_in(&hosts, &["--host", &list, "-n", "3"]);
    cmd.arg(&sealed);
    let out = run(cmd, "partyrun --host ... keys_sealed", secs(120));
    out.assert_success();
    for r in 0..3 {
        assert!(out.stdout.contains(&format!("rank {r}: 3 sealed key files")), "{}", out.describe());
    }
    let needle = b"PARTYLINE-PLAINTEXT-MARKER";
    assert!(
        !captured.windows(needle.len()).any(|w| w == needle),
        "the marker crossed the test network in plaintext ({} bytes captured)",
        captured.len()
    );
    // Over 12 MB went round the ring: even in 64 KiB offloaded segments, with their
    // acknowledgements, hundreds of frames crossed this network.
    let frames = pcap_records(&captured);
    assert!(frames > 200, "the capture saw only {frames} frames; was the traffic on this network?");
}

/// The number of packet records in a pcap file (a 24-byte header, then records each with a
/// 16-byte header whose third word is the captured length).
fn pcap_records(pcap: &[u8]) -> usize {
    let (mut at, mut n) = (24, 0);
    while at + 16 <= pcap.len() {
        let len = u32::from_le_bytes(pcap[at + 8..at + 12].try_into().expect("4 bytes")) as usize;
        at += 16 + len;
        n += 1;
    }
    n
}

#[test]
fn a_remote_failure_is_the_jobs_exit_status_and_names_rank_and_host() {
    let fail = compile("tests/c/fail_one.c");
    let Some(hosts) = SshHosts::new("fail", 3) else { return };
    let mut cmd = partyrun_in(&hosts, &["--host", &host_list(&hosts), "-n", "3"]);
    cmd.arg(&fail).args(["1", "exit"]);
    let out = run(cmd, "partyrun --host ... fail_one 1 exit", secs(120));
    assert_eq!(out.code(), Some(3), "{}", out.describe());
    assert!(out.stderr.contains("rank 1 on h1 exited with status 3"), "{}", out.describe());
    assert_nothing_left(&hosts, "after the job failed");
}

#[test]
fn stopping_partyrun_leaves_no_rank_on_any_host() {
    let linger = compile("tests/c/linger.c");
    let Some(hosts) = SshHosts::new("stop", 3) else { return };
    let list = host_list(&hosts);
    for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGINT, "SIGINT"), (libc::SIGKILL, "SIGKILL")] {
        let mut cmd = partyrun_in(&hosts, &["--host", &list, "-n", "3", "--tag-output"]);
        cmd.arg(&linger);
        let job = spawn(cmd, format!("partyrun --host {list} linger ({name})"));
        for r in 0..3 {
            job.wait_for_stdout(&format!("[rank {r}] ready rank {r}"), secs(120));
        }
        let pid = job.pid().expect("partyrun runs") as libc::pid_t;
        // SAFETY: kill(2) on the pid of a child we have not reaped.
        unsafe { libc::kill(pid, signal) };
        if signal == libc::SIGKILL {
            // Only the remote watchdogs can clean up now: partyrun had no chance to.
            drop(job);
        } else {
            let out = job.wait(secs(60));
            assert_eq!(out.code(), Some(128 + signal), "{}", out.describe());
        }
        assert_nothing_left(&hosts, &format!("after {name} to partyrun"));
    }
}

#[test]
fn host_files_mca_pairs_and_a_launch_agent() {
    let ring = compile("c-examples/ring.c");
    let Some(hosts) = SshHosts::new("forms", 3) else { return };
    let file = build_dir().join(format!("hostfile-{}", std::process::id()));
    std::fs::write(&file, format!("# the test's hosts\n{} slots=1\n{}:1\n{}\n", "h0", "h1", "h2")).unwrap();
    let agent = format!("/usr/bin/ssh -F {}", hosts.ssh_config().display());
    let mut cmd = hosts.in_launcher(&partyrun());
    clear_partyline_env(&mut cmd);
    // No ssh wrapper on PATH: only the launch agent knows the test's config.
    cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd.args(["-n", "3", "-f"]).arg(&file).args(["--mca", "btl", "tcp,self", "--launch-agent", &agent]).arg(&ring);
    let out = run(cmd, "partyrun -f hostfile --mca btl tcp,self --launch-agent ... ring", secs(120));
    out.assert_success();
    assert!(out.stderr.contains("ignoring --mca btl tcp,self"), "{}", out.describe());
    let _ = std::fs::remove_file(&file);

    // A job with a rank here (the launcher's namespace) and two on other hosts: the local rank
    // registers from the address the hosts reach this one at, and gets its credentials in memory.
    let mut cmd = partyrun_in(&hosts, &["--host", "localhost,h1,h2", "-n", "3", "--tag-output"]);
    cmd.arg(&ring);
    let out = run(cmd, "partyrun --host localhost,h1,h2 ring", secs(120));
    out.assert_success();
    assert!(out.stdout.contains("[rank 0] ring"), "{}", out.describe());

    // Orq's form: the interface the ranks use, Open MPI style; partyrun then gives the ranks
    // that interface's address for its rendezvous.
    let orq = ["--mca", "btl_tcp_if_include", "br0", "--mca", "oob_tcp_if_include", "br0"];
    let mut cmd = partyrun_in(&hosts, &["-n", "3", "--host", &host_list(&hosts)]);
    cmd.args(orq).arg(&ring);
    let out = run(cmd, "partyrun --mca btl_tcp_if_include br0 --mca oob_tcp_if_include br0 ring", secs(120));
    out.assert_success();
    assert!(!out.stderr.contains("ignoring"), "{}", out.describe());

    // --insecure: plaintext between hosts, and partyrun says so.
    let mut cmd = partyrun_in(&hosts, &["--host", &host_list(&hosts), "--insecure"]);
    cmd.arg(&ring);
    let out = run(cmd, "partyrun --insecure ring", secs(120));
    out.assert_success();
    assert!(out.stderr.contains("--insecure: the links between hosts are plaintext"), "{}", out.describe());

    // The ranks reach partyrun at an address the user gives.
    let mut cmd = partyrun_in(&hosts, &["--host", &host_list(&hosts), "--launcher-address", hosts.launcher_addr()]);
    cmd.arg(&ring);
    run(cmd, "partyrun --launcher-address ... ring", secs(120)).assert_success();
}

#[test]
fn stdin_reaches_a_remote_rank_0_and_output_survives_an_abort() {
    let (echo, abort) = (compile("tests/c/stdin_echo.c"), compile("tests/c/print_then_abort.c"));
    let Some(hosts) = SshHosts::new("io", 3) else { return };
    let list = host_list(&hosts);
    let mut cmd = hosts.in_launcher(Path::new("sh"));
    clear_partyline_env(&mut cmd);
    let script = format!(
        "printf 'hello over ssh\\nline two\\n' | {} --host {list} -n 3 {}",
        partyrun().display(),
        echo.display()
    );
    cmd.args(["-c", &script]);
    let out = run(cmd, "printf ... | partyrun --host ... stdin_echo", secs(120));
    out.assert_success();
    assert!(out.stdout.contains("rank 0 read 24 bytes in 2 lines, first: hello over ssh"), "{}", out.describe());

    // -x settings and --wdir reach the remote rank; without --wdir it runs where partyrun does.
    let script = "echo \"$GREETING from $(pwd)\"";
    let cmd = partyrun_in(&hosts, &["--host", "h1", "--wdir", "/tmp", "-x", "GREETING=hi there", "sh", "-c", script]);
    let out = run(cmd, "partyrun --host h1 --wdir /tmp -x GREETING=...", secs(120));
    out.assert_success();
    assert_eq!(out.stdout.trim(), "hi there from /tmp", "{}", out.describe());
    let mut cmd = partyrun_in(&hosts, &["--host", "h2", "-x", "GREETING=hello", "sh", "-c", script]);
    cmd.current_dir(build_dir());
    let out = run(cmd, "partyrun --host h2 -x GREETING=...", secs(120));
    assert_eq!(out.stdout.trim(), format!("hello from {}", build_dir().display()), "{}", out.describe());

    let mut cmd = partyrun_in(&hosts, &["--host", &list, "-n", "3"]);
    cmd.arg(&abort);
    let out = run(cmd, "partyrun --host ... print_then_abort", secs(120));
    assert!(!out.status.success(), "{}", out.describe());
    assert!(
        out.stdout.contains("Runtime Setup...OK rank 1"),
        "the line printed before the abort is lost: {}",
        out.describe()
    );
}

#[test]
fn errors_name_the_host_and_what_to_do() {
    let ring = compile("c-examples/ring.c");
    let Some(hosts) = SshHosts::new("errors", 3) else { return };
    // An unknown host key.
    let agent = format!("/usr/bin/ssh -F {}", hosts.ssh_config_unknown_hosts().display());
    let mut cmd = partyrun_in(&hosts, &["--host", &host_list(&hosts), "-n", "3", "--launch-agent", &agent]);
    cmd.arg(&ring);
    let out = run(cmd, "partyrun with unknown host keys", secs(120));
    assert!(!out.status.success(), "{}", out.describe());
    assert!(
        out.stderr.contains("Host key verification failed") && out.stderr.contains("known_hosts"),
        "{}",
        out.describe()
    );
    assert!(
        out.stderr.contains("on h0") || out.stderr.contains("on h1") || out.stderr.contains("on h2"),
        "{}",
        out.describe()
    );

    // A program that is not there.
    let mut cmd = partyrun_in(&hosts, &["--host", "h1", "-n", "1", "/nonexistent/program"]);
    cmd.arg("x");
    let out = run(cmd, "partyrun --host h1 /nonexistent/program", secs(120));
    assert_eq!(out.code(), Some(127), "{}", out.describe());
    assert!(
        out.stderr.contains("cannot execute /nonexistent/program") && out.stderr.contains("h1"),
        "{}",
        out.describe()
    );

    // A host nobody answers at: reported within the connect timeout, with SSH's own words.
    let subnet = hosts.addrs()[0].rsplit_once('.').map(|(net, _)| net.to_string()).unwrap();
    let nobody = format!("{subnet}.99");
    let mut cmd = partyrun_in(&hosts, &["--host", &nobody, "-n", "1", "-x", "PARTYLINE_CONNECT_TIMEOUT=2"]);
    cmd.arg(&ring);
    let out = run(cmd, format!("partyrun --host {nobody}"), secs(120));
    assert!(!out.status.success(), "{}", out.describe());
    assert!(
        out.stderr.contains(&format!("cannot start rank 0 on {nobody}")) && out.stderr.contains("ssh"),
        "{}",
        out.describe()
    );
}

/// More ranks on one host than sshd lets log in at once (MaxStartups 10 by default): they start
/// in waves, and every rank runs.
#[test]
fn many_ranks_on_one_host() {
    let hello = compile("c-examples/hello.c");
    let Some(hosts) = SshHosts::new("many", 3) else { return };
    let mut cmd = partyrun_in(&hosts, &["--host", "h0:11,h1:1", "-n", "12", "--tag-output"]);
    cmd.arg(&hello);
    let out = run(cmd, "partyrun --host h0:11,h1:1 -n 12 hello", secs(240));
    out.assert_success();
    for r in 0..12 {
        assert!(out.stdout.contains(&format!("[rank {r}] ")), "rank {r} printed nothing: {}", out.describe());
    }
}
