//! End-to-end tests of the partyrun binary; every process they start has a hard time limit.

mod common;

use common::secs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// No test run may take longer than this; partyrun is SIGKILLed (and so are its ranks) after it.
/// Ranks meant to be stopped sleep an hour, so a job that is not stopped fails here.
fn hard_limit() -> Duration {
    secs(120)
}

/// A running partyrun, its output going to files so that processes left behind cannot block us.
struct Launch {
    child: Child,
    dir: PathBuf,
    started: Instant,
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    dir: PathBuf,
}

impl Drop for Outcome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn scratch_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("partyrun-test-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

impl Launch {
    /// Starts partyrun with `args`; `$T` in the ranks names a scratch directory.
    fn start(args: &[&str], env: &[(&str, &str)]) -> Launch {
        let dir = scratch_dir();
        let file = |name: &str| std::fs::File::create(dir.join(name)).expect("create output file");
        let child = Command::new(env!("CARGO_BIN_EXE_partyrun"))
            .args(args)
            .env_remove("PARTYLINE_JOB_ID")
            .env("T", &dir)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(file("stdout"))
            .stderr(file("stderr"))
            .spawn()
            .expect("spawn partyrun");
        Launch { child, dir, started: Instant::now() }
    }

    fn wait(mut self) -> Outcome {
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for partyrun") {
                break status;
            }
            if self.started.elapsed() > hard_limit() {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("partyrun did not finish within {:?}", hard_limit());
            }
            sleep(Duration::from_millis(5));
        };
        let read = |name: &str| std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        Outcome {
            code: status.code(),
            stdout: read("stdout"),
            stderr: read("stderr"),
            elapsed: self.started.elapsed(),
            dir: self.dir.clone(),
        }
    }
}

fn partyrun(args: &[&str]) -> Outcome {
    Launch::start(args, &[]).wait()
}

/// `words` split at spaces, then `tail` as it is.
fn argv<'a>(words: &'a str, tail: &[&'a str]) -> Vec<&'a str> {
    words.split_whitespace().chain(tail.iter().copied()).collect()
}

/// `partyrun OPTIONS sh -c SCRIPT`.
fn sh(options: &str, script: &str) -> Outcome {
    partyrun(&argv(options, &["sh", "-c", script]))
}

impl Outcome {
    /// Checks the exit status and that stderr mentions each of `needles`.
    fn expect(&self, code: i32, needles: &[&str]) -> &Self {
        assert_eq!(self.code, Some(code), "stderr: {} (after {:?})", self.stderr, self.elapsed);
        for needle in needles {
            assert!(self.stderr.contains(needle), "no {needle:?} in stderr: {}", self.stderr);
        }
        self
    }
}

fn sorted_lines(s: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = s.lines().collect();
    lines.sort_unstable();
    lines
}

/// Polls `check` until it returns something, failing the test after a generous limit.
fn eventually<R>(what: &str, mut check: impl FnMut() -> Option<R>) -> R {
    let start = Instant::now();
    loop {
        if let Some(r) = check() {
            return r;
        }
        assert!(start.elapsed() < secs(60), "{what}");
        sleep(Duration::from_millis(10));
    }
}

/// Waits until the ranks have written `n` pid files into `dir`; returns the pids.
fn rank_pids(dir: &Path, n: usize) -> Vec<u32> {
    eventually("ranks did not start", || {
        let pids: Vec<u32> = (0..n)
            .filter_map(|r| std::fs::read_to_string(dir.join(format!("pid{r}"))).ok())
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        (pids.len() == n).then_some(pids)
    })
}

/// True once `pid` has exited (gone, or a zombie awaiting its new parent).
fn is_dead(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit(')').next().and_then(|r| r.split_whitespace().next());
    matches!(state, None | Some("Z"))
}

const WRITE_PID: &str = "echo $$ > $T/pid$PARTYLINE_RANK.tmp && mv $T/pid$PARTYLINE_RANK.tmp $T/pid$PARTYLINE_RANK";

#[test]
fn ranks_get_the_environment_contract() {
    let script = "echo $PARTYLINE_RANK $PARTYLINE_SIZE $PARTYLINE_PEERS $PARTYLINE_JOB_ID \
        $PARTYLINE_LAUNCHER $OMPI_COMM_WORLD_RANK $OMPI_COMM_WORLD_SIZE \
        $OMPI_COMM_WORLD_LOCAL_RANK $PMI_RANK $PMI_SIZE";
    let out = sh("-n 3", script);
    out.expect(0, &[]);
    let lines = sorted_lines(&out.stdout);
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    let first: Vec<&str> = lines[0].split(' ').collect();
    let (peers, job_id) = (first[2], first[3]);
    let mut ports: Vec<u16> =
        peers.split(',').map(|p| p.strip_prefix("127.0.0.1:").unwrap().parse().unwrap()).collect();
    ports.sort_unstable();
    ports.dedup();
    assert!(ports.len() == 3 && ports[0] > 0, "{peers}");
    assert!(job_id.len() == 16 && job_id.bytes().all(|b| b.is_ascii_hexdigit()), "{job_id}");
    for (rank, line) in lines.iter().enumerate() {
        let r = rank.to_string();
        let want = [&*r, "3", peers, job_id, "partyrun", &*r, "3", &*r, &*r, "3"].join(" ");
        assert_eq!(*line, want);
    }
}

#[test]
fn job_id_and_exports_pass_through() {
    let args = argv("-n 2 -x FOO=a=b -x PARTYRUN_TEST_VAR sh -c", &["echo $PARTYLINE_JOB_ID $FOO $PARTYRUN_TEST_VAR"]);
    let env = [("PARTYLINE_JOB_ID", "myjob"), ("PARTYRUN_TEST_VAR", "exported")];
    let out = Launch::start(&args, &env).wait();
    out.expect(0, &[]);
    assert_eq!(sorted_lines(&out.stdout), ["myjob a=b exported"; 2]);

    sh("-x PARTYRUN_SURELY_UNSET", "true").expect(2, &["PARTYRUN_SURELY_UNSET is not set"]);
}

#[test]
fn program_arguments_are_not_options() {
    let out = partyrun(&argv("-np 1 sh -c", &["echo \"$@\"", "sh", "-x", "y", "-n", "3", "--timeout"]));
    out.expect(0, &[]);
    assert_eq!(out.stdout, "-x y -n 3 --timeout\n");
}

#[test]
fn first_failure_sets_the_exit_status() {
    sh("-n 3", "exit $((PARTYLINE_RANK==1 ? 3 : 0))").expect(3, &["rank 1 (pid ", "exited with status 3"]);
    let script = "[ $PARTYLINE_RANK = 0 ] && kill -9 $$; exec sleep 3600";
    sh("-n 2 --kill-grace 0.1", script).expect(137, &["rank 0 (pid ", "killed by signal 9 (SIGKILL)"]);
}

#[test]
fn a_failing_rank_stops_the_others() {
    let script = "[ $PARTYLINE_RANK = 1 ] && exit 3; exec sleep 3600";
    sh("-n 3 --kill-grace 0.2", script).expect(3, &["exited with status 3; stopping the other ranks"]);

    // Ranks that ignore SIGTERM are SIGKILLed; sleeps that are not exec'd are children of
    // the ranks, and must not survive them either. Rank 1 fails once the others are set up.
    let script = "trap '' TERM
        if [ $PARTYLINE_RANK = 1 ]; then
            while [ ! -s $T/child0 ] || [ ! -s $T/child2 ]; do sleep 0.01; done
            exit 3
        fi
        sleep 3600 &
        echo $$ $! > $T/tmp$PARTYLINE_RANK && mv $T/tmp$PARTYLINE_RANK $T/child$PARTYLINE_RANK
        wait";
    let out = sh("-n 3 --kill-grace 0", script);
    out.expect(3, &[]);
    let read = |r: usize| std::fs::read_to_string(out.dir.join(format!("child{r}"))).unwrap_or_default();
    let pids: Vec<u32> = [read(0), read(2)]
        .iter()
        .flat_map(|s| s.split_whitespace().map(|p| p.parse().unwrap()).collect::<Vec<_>>())
        .collect();
    assert_eq!(pids.len(), 4, "the sleeps did not start");
    assert!(pids.iter().all(|&p| is_dead(p)), "left behind: {pids:?}");
}

#[test]
fn kill_grace_lets_the_others_finish() {
    // Rank 0 finishes only after partyrun has seen rank 1 fail, so only the grace lets it.
    let script = "[ $PARTYLINE_RANK = 1 ] && exit 3
        until grep -q 'stopping the other ranks' $T/stderr; do sleep 0.01; done; echo finished";
    let out = sh("-n 2 --kill-grace 600", script);
    out.expect(3, &[]);
    assert_eq!(out.stdout, "finished\n");
}

#[test]
fn timeout_kills_the_job() {
    partyrun(&argv("--timeout 0.5 -n 2 sleep 3600", &[])).expect(124, &["timed out after 0.5 s"]);
}

#[test]
fn tag_output_prefixes_every_line() {
    let out = sh("--tag-output -n 2", "echo out$PARTYLINE_RANK; echo err$PARTYLINE_RANK >&2; printf 'no newline'");
    out.expect(0, &[]);
    let want = ["[rank 0] no newline", "[rank 0] out0", "[rank 1] no newline", "[rank 1] out1"];
    assert_eq!(sorted_lines(&out.stdout), want);
    assert_eq!(sorted_lines(&out.stderr), ["[rank 0] err0", "[rank 1] err1"]);
    assert_eq!(partyrun(&["--prefix-rank", "echo", "hi"]).stdout, "[rank 0] hi\n");
}

#[test]
fn output_printed_before_a_crash_is_kept() {
    // Without a pty, stdio fully buffers a pipe and the abort would discard rank 1's line.
    let program = common::compile("tests/c/print_then_abort.c");
    let program = program.to_str().expect("UTF-8 path");
    for options in ["-n 3", "--tag-output -n 3"] {
        let out = partyrun(&argv(options, &[program]));
        out.expect(134, &["rank 1 (pid ", "SIGABRT"]);
        let tag = |r: usize| if options.contains("tag") { format!("[rank {r}] ") } else { String::new() };
        let want: Vec<String> =
            (0..3).map(|r| format!("{}Runtime Setup...OK rank {r} (stdout is a terminal)", tag(r))).collect();
        assert_eq!(sorted_lines(&out.stdout), want, "{options}");
    }
}

#[test]
fn ranks_see_a_terminal_that_passes_bytes_unchanged() {
    let out = sh("-n 2", "[ -t 1 ] && echo tty$PARTYLINE_RANK");
    out.expect(0, &[]);
    assert_eq!(sorted_lines(&out.stdout), ["tty0", "tty1"]);

    // Every byte value, \r and \n among them, 5 MiB in all: partyrun's stdout gets exactly that.
    let data: Vec<u8> = (0..=255u8).cycle().take(256 * 20 * 1024).collect();
    let input = scratch_dir();
    let file = input.join("data");
    std::fs::write(&file, &data).expect("write data");
    let out = Launch::start(&argv("-n 1 sh -c", &["cat \"$DATA\""]), &[("DATA", file.to_str().unwrap())]).wait();
    let _ = std::fs::remove_dir_all(&input);
    out.expect(0, &[]);
    let got = std::fs::read(out.dir.join("stdout")).expect("read stdout");
    assert_eq!(got.len(), data.len());
    assert!(got == data, "partyrun changed the bytes");
}

/// Its TCP listener and, beside it, its Unix socket for ranks on this host.
#[test]
fn each_rank_inherits_only_its_own_listeners() {
    let out = sh(
        "-n 3",
        "echo $(ls -l /proc/self/fd | grep -c socket:) $(readlink /proc/self/fd/$PARTYLINE_LISTEN_FD) $(readlink /proc/self/fd/$PARTYLINE_LOCAL_LISTEN_FD)",
    );
    out.expect(0, &[]);
    let lines = sorted_lines(&out.stdout);
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    for line in &lines {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields[0], "2", "each rank should see exactly its two sockets: {line}");
        assert!(fields[1..].iter().all(|f| f.starts_with("socket:[")) && fields.len() == 3, "{line}");
    }

    if !Command::new("python3").args(["-c", "pass"]).status().is_ok_and(|s| s.success()) {
        eprintln!("python3 not found; skipping the listening-socket check");
        return;
    }
    let py = r#"
import os, socket
rank, size = int(os.environ["PARTYLINE_RANK"]), int(os.environ["PARTYLINE_SIZE"])
peers = os.environ["PARTYLINE_PEERS"].split(",")
s = socket.socket(fileno=int(os.environ["PARTYLINE_LISTEN_FD"]))
assert s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
assert "127.0.0.1:%d" % s.getsockname()[1] == peers[rank]
u = socket.socket(socket.AF_UNIX, fileno=int(os.environ["PARTYLINE_LOCAL_LISTEN_FD"]))
assert u.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
assert u.getsockname() == b"\0partyline/" + peers[rank].encode(), u.getsockname()
host, port = peers[(rank + 1) % size].split(":")
out = socket.create_connection((host, int(port)), timeout=60)
s.settimeout(60)
s.accept()  # stay until our own peer has connected, so its listener is still open
print("ok", rank)
"#;
    let out = partyrun(&["-n", "3", "python3", "-c", py]);
    out.expect(0, &[]);
    assert_eq!(sorted_lines(&out.stdout), ["ok 0", "ok 1", "ok 2"]);
}

fn start_sleepers() -> (Launch, Vec<u32>) {
    let script = format!("{WRITE_PID}; exec sleep 3600");
    let launch = Launch::start(&argv("-n 2 sh -c", &[&script]), &[]);
    let pids = rank_pids(&launch.dir, 2);
    (launch, pids)
}

#[test]
fn signals_to_partyrun_stop_the_job() {
    let (launch, pids) = start_sleepers();
    let sent = Command::new("kill").args(["-TERM", &launch.child.id().to_string()]).status();
    assert!(sent.is_ok_and(|s| s.success()));
    launch.wait().expect(143, &["received SIGTERM; stopping all ranks"]);
    assert!(pids.iter().all(|&p| is_dead(p)));
}

#[test]
fn ranks_die_with_a_killed_partyrun() {
    let (mut launch, pids) = start_sleepers();
    launch.child.kill().expect("SIGKILL partyrun");
    let _ = launch.child.wait();
    eventually("ranks outlived partyrun", || pids.iter().all(|&p| is_dead(p)).then_some(()));
    let _ = std::fs::remove_dir_all(&launch.dir);
}

#[test]
fn processes_left_behind_are_stopped() {
    let out = sh("-n 1", "sleep 3600 & echo $! > $T/orphan; exit 0");
    out.expect(0, &[]);
    let orphan = std::fs::read_to_string(out.dir.join("orphan")).unwrap();
    assert!(is_dead(orphan.trim().parse().unwrap()));
}

#[test]
fn unusable_programs_and_arguments() {
    partyrun(&["-n", "2", "./surely-not-a-program"]).expect(127, &["cannot execute ./surely-not-a-program"]);
    for n in ["0", "65", "x"] {
        sh(&format!("-n {n}"), "true").expect(2, &["1 to 64 ranks"]);
    }
    partyrun(&["-n", "2"]).expect(2, &["no program given"]);
    sh("--host a,b -n 3", "true").expect(2, &["3 ranks asked for", "2 slots", "--oversubscribe"]);
    for hosts in ["--hostfile /nonexistent/f", "-machinefile /nonexistent/f", "-f /nonexistent/f"] {
        sh(hosts, "true").expect(2, &["cannot read the host file /nonexistent/f"]);
    }
}

/// Scripts written for Open MPI or MPICH pass their options: those with a meaning work, the
/// others are named once and ignored. Hosts that are this machine make a local job (no SSH).
#[test]
fn other_launchers_options_work_for_a_local_job() {
    let out = partyrun(&argv(
        "--mca btl tcp,self --mca btl_tcp_if_include lo -mca pml ob1 -genv A 1 -env B 2 -n 2",
        &["sh", "-c", "echo $A$B"],
    ));
    out.expect(0, &["ignoring --mca btl tcp,self, --mca pml ob1: Open MPI settings that have no meaning"]);
    assert_eq!(sorted_lines(&out.stdout), ["12", "12"]);
    let out = partyrun(&argv("--host localhost:2,127.0.0.1 --wdir /tmp", &["sh", "-c", "echo $PARTYLINE_RANK $(pwd)"]));
    out.expect(0, &[]);
    assert_eq!(sorted_lines(&out.stdout), ["0 /tmp", "1 /tmp", "2 /tmp"]);
}

/// A host whose session never answers (here a launch agent that only sleeps) is given up after
/// PARTYLINE_CONNECT_TIMEOUT (plus a margin for SSH), with the rank and host named.
#[test]
fn a_host_that_never_answers_is_given_up() {
    let dir = scratch_dir();
    let agent = dir.join("silent-agent");
    std::fs::write(&agent, "#!/bin/sh\nexec sleep 3600\n").expect("write the agent script");
    std::fs::set_permissions(&agent, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let agent = agent.to_str().expect("utf-8 path");
    let out = partyrun(&["--launch-agent", agent, "--host", "far", "-x", "PARTYLINE_CONNECT_TIMEOUT=1", "true"]);
    out.expect(128 + 9, &["cannot start rank 0: far did not answer within 6 s"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The remote agent checks the launcher's version before reading anything else, and refuses
/// another version with a message that says what to do.
#[test]
fn the_remote_agent_refuses_another_version() {
    let mut greeting = b"PARTYAG\x01".to_vec();
    let version = b"0.0.0-elsewhere";
    greeting.extend_from_slice(&(version.len() as u32).to_le_bytes());
    greeting.extend_from_slice(version);
    let mut child = Command::new(env!("CARGO_BIN_EXE_partyrun"))
        .arg("--remote-agent")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn partyrun --remote-agent");
    std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), &greeting).expect("send the greeting");
    let out = child.wait_with_output().expect("wait for the agent");
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("is 0.0.0-elsewhere; install the same partyline version on every host"), "{said}");

    let out = Command::new(env!("CARGO_BIN_EXE_partyrun"))
        .arg("--remote-agent")
        .stdin(Stdio::null())
        .output()
        .expect("run partyrun --remote-agent");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--remote-agent"), "{out:?}");
}

#[test]
fn version_and_help() {
    let out = partyrun(&["--version"]);
    out.expect(0, &[]);
    assert_eq!(out.stdout.trim(), concat!("partyrun (partyline) ", env!("CARGO_PKG_VERSION")));
    let out = partyrun(&["--help"]);
    out.expect(0, &[]);
    assert!(out.stdout.contains("--tag-output") && out.stdout.contains("--oversubscribe"));
}
