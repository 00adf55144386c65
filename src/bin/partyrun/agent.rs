//! `partyrun --remote-agent`: runs under SSH on a rank's host, starts the rank as the launcher asks, relays its output and exit, and kills it when the session ends.
//!
//! The session's stdin is the watchdog: when it ends (partyrun stopped the job, died, or the
//! connection broke) the rank's process group gets SIGTERM, then SIGKILL.

use crate::environment::{self, EXIT_REPORT};
use crate::output::{readable_within, Source};
use crate::protocol::{self, Frame, Spec};
use crate::reports::ReportDir;
use crate::secret::{self, SecretFds};
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How long output may still arrive after the rank exited: its own children may hold the pipes.
const OUTPUT_DRAIN: Duration = Duration::from_secs(1);
/// Output is relayed in pieces of at most this much.
const CHUNK: usize = 64 * 1024;

/// True when argv is `partyrun --remote-agent`.
pub fn requested(argv: &[OsString]) -> bool {
    argv.get(1).is_some_and(|a| a == "--remote-agent")
}

/// Frames to the launcher, written whole under a lock, each in one system call: std's stdout
/// is line-buffered, which would cut binary output at every newline into many small writes to
/// the SSH channel. A failed write means the launcher is gone; the watchdog sees that on stdin
/// and stops the rank.
#[derive(Clone)]
struct Outbox(Arc<Mutex<Box<dyn Write + Send>>>);

impl Outbox {
    fn send(&self, frame: &Frame) {
        if let Ok(mut out) = self.0.lock() {
            let _ = frame.write_to(&mut *out);
        }
    }
}

pub fn main() -> i32 {
    let raw: Box<dyn Write + Send> = match io::stdout().as_fd().try_clone_to_owned() {
        Ok(fd) => Box::new(std::fs::File::from(fd)),
        Err(_) => Box::new(io::stdout()),
    };
    let outbox = Outbox(Arc::new(Mutex::new(raw)));
    let mut input = io::stdin();
    let version = match protocol::read_version(&mut input) {
        Ok(v) => v,
        Err(e) => {
            crate::report(format_args!("--remote-agent: {e}"));
            return 2;
        }
    };
    if version != protocol::VERSION {
        let exe = std::env::current_exe().map_or_else(|_| "partyrun".into(), |p| p.display().to_string());
        let why = format!(
            "the host has partyline {} ({exe}) but the launching partyrun is {version}; install the same partyline version on every host",
            protocol::VERSION
        );
        outbox.send(&Frame::Failed { status: 1, why });
        return 1;
    }
    let spec = match protocol::read_spec(&mut input) {
        Ok(s) => s,
        Err(e) => {
            outbox.send(&Frame::Failed { status: 1, why: format!("the launch request did not arrive whole: {e}") });
            return 1;
        }
    };
    let coordinator = match coordinator_address(&spec, std::env::var("SSH_CONNECTION").ok()) {
        Ok(a) => a,
        Err(why) => {
            outbox.send(&Frame::Failed { status: 1, why });
            return 1;
        }
    };
    outbox.send(&Frame::Hello { version: protocol::VERSION.into(), coordinator: coordinator.clone() });
    match run(&spec, &coordinator, input, &outbox) {
        Ok(status) => status,
        Err((status, why)) => {
            outbox.send(&Frame::Failed { status, why });
            status
        }
    }
}

/// Where the rank finds partyrun's rendezvous: the address the user gave, else the address this
/// SSH session came from (what this host demonstrably reaches partyrun at), else partyrun's guess.
fn coordinator_address(spec: &Spec, ssh_connection: Option<String>) -> Result<String, String> {
    let from_ssh = ssh_connection.and_then(|c| c.split_whitespace().next().map(str::to_string));
    let host = spec.coordinator_host.clone().or(from_ssh).or_else(|| spec.suggested_host.clone()).ok_or_else(|| {
        "cannot tell at which address this host reaches partyrun: SSH_CONNECTION is not set (is the launch agent ssh?); pass --launcher-address".to_string()
    })?;
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    Ok(if host.contains(':') {
        format!("[{host}]:{}", spec.coordinator_port)
    } else {
        format!("{host}:{}", spec.coordinator_port)
    })
}

fn run(spec: &Spec, coordinator: &str, input: io::Stdin, outbox: &Outbox) -> Result<i32, (i32, String)> {
    let fail = |what: String| (1, what);
    if let Err(e) = std::env::set_current_dir(&spec.wdir) {
        let dir = spec.wdir.to_string_lossy();
        return Err(fail(format!("cannot change to the directory {dir} ({e}); create it, or pass --wdir")));
    }
    let reports = ReportDir::create().ok();
    let secrets = spec
        .credentials
        .as_ref()
        .map(SecretFds::new)
        .transpose()
        .map_err(|e| fail(format!("cannot hold the TLS credentials in memory: {e}")))?;
    let pty = crate::pty::open().ok();
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args);
    for stale in environment::STALE {
        cmd.env_remove(stale);
    }
    cmd.envs(spec.env.iter().map(|(k, v)| (k, v)));
    cmd.envs(environment::rendezvous_vars(coordinator));
    if let Some(reports) = &reports {
        cmd.env(EXIT_REPORT, reports.path(spec.rank as usize));
    }
    if let Some(s) = &secrets {
        cmd.envs(s.vars.iter().map(|(k, v)| (k, v)));
    }
    cmd.stdin(if spec.forward_stdin { Stdio::piped() } else { Stdio::null() });
    match &pty {
        Some(p) => cmd.stdout(p.slave.try_clone().map_err(|e| fail(format!("cannot share a terminal: {e}")))?),
        None => cmd.stdout(Stdio::piped()),
    };
    cmd.stderr(Stdio::piped());
    let inherited = secrets.as_ref().map(SecretFds::raw).unwrap_or_default();
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the forked child before exec and makes only async-signal-safe
    // system calls (setpgid, prctl, getppid, fcntl); it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            // Its own process group, so that the watchdog stops the rank's children too.
            if libc::setpgid(0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            crate::job::die_with_parent(parent)?;
            secret::inherit(&inherited)
        });
    }
    let spawned = cmd.spawn();
    // `cmd` holds a copy of the terminal's slave: close it, or its end of file never comes.
    drop(cmd);
    let mut child = spawned.map_err(|e| {
        let f = crate::job::exec_failure(&spec.program, spec.rank as usize, &e);
        (f.status, f.message)
    })?;
    // Only the child may hold the terminal's slave now, so its end is our end of file.
    let master = pty.map(|p| p.master);
    drop(secrets); // the rank has its own copies
    let (done_tx, done_rx) = mpsc::channel();
    let stdout: Option<Box<dyn Source>> = match (master, child.stdout.take()) {
        (Some(m), _) => Some(Box::new(crate::pty::MasterReader(m))),
        (None, pipe) => pipe.map(|p| Box::new(p) as Box<dyn Source>),
    };
    let stderr = child.stderr.take().map(|p| Box::new(p) as Box<dyn Source>);
    let mut pumps = 0;
    for (source, wrap) in [(stdout, Frame::Stdout as fn(Vec<u8>) -> Frame), (stderr, Frame::Stderr)] {
        if let Some(source) = source {
            pump(source, outbox.clone(), wrap, done_tx.clone());
            pumps += 1;
        }
    }
    let reaped = Arc::new(AtomicBool::new(false));
    watch(input, child.stdin.take(), child.id() as libc::pid_t, spec.kill_grace_ms, reaped.clone());
    let status = wait(&mut child, &reaped).map_err(|e| fail(format!("cannot wait for the rank: {e}")))?;
    for _ in 0..pumps {
        if done_rx.recv_timeout(OUTPUT_DRAIN).is_err() {
            break;
        }
    }
    let report = reports.as_ref().and_then(|r| r.read_raw(spec.rank as usize)).unwrap_or_default();
    let (code, signal) = (status.code().unwrap_or(0), status.signal().unwrap_or(0));
    outbox.send(&Frame::Exit { code, signal, report });
    Ok(if signal != 0 { 128 + signal } else { code })
}

fn wait(child: &mut Child, reaped: &AtomicBool) -> io::Result<std::process::ExitStatus> {
    let status = child.wait();
    reaped.store(true, Ordering::SeqCst);
    status
}

/// Relays `source` to the launcher as frames made by `wrap`, until it ends.
/// Relays `source` to the launcher as frames made by `wrap`, until it ends. What is already
/// there is gathered into one frame (a pty hands out about 4 KiB per read): SSH carries a few
/// large writes much faster than many small ones.
fn pump(mut source: Box<dyn Source>, outbox: Outbox, wrap: fn(Vec<u8>) -> Frame, done: mpsc::Sender<()>) {
    let spawned = thread::Builder::new().name("agent-output".into()).spawn(move || {
        let mut buf = vec![0u8; CHUNK];
        let mut ended = false;
        while !ended {
            let mut filled = 0;
            loop {
                match source.read(&mut buf[filled..]) {
                    Ok(0) => ended = true,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => ended = true,
                }
                if ended || filled == buf.len() || !readable_within(source.as_raw_fd(), Duration::ZERO) {
                    break;
                }
            }
            if filled > 0 {
                outbox.send(&wrap(buf[..filled].to_vec()));
            }
        }
        let _ = done.send(());
    });
    if spawned.is_err() {
        crate::report("--remote-agent: cannot start a thread to relay output; the rank's output is lost");
    }
}

/// Feeds the rank's stdin from the launcher's frames; when the session ends, stops the rank.
fn watch(
    mut input: io::Stdin,
    mut stdin: Option<ChildStdin>,
    pgid: libc::pid_t,
    grace_ms: u32,
    reaped: Arc<AtomicBool>,
) {
    let watchdog = move || {
        loop {
            match Frame::read_from(&mut input) {
                Ok(Some(Frame::Stdin(bytes))) => {
                    if stdin.as_mut().is_some_and(|s| s.write_all(&bytes).is_err()) {
                        stdin = None; // the rank closed its stdin; drop what it will not read
                    }
                }
                Ok(Some(Frame::StdinEnd)) => stdin = None,
                Ok(Some(_)) => {} // nothing else is meant for the agent; ignore rather than die
                Ok(None) | Err(_) => break,
            }
        }
        drop(stdin);
        for (signal, then_wait) in [(libc::SIGTERM, grace_ms), (libc::SIGKILL, 0)] {
            if reaped.load(Ordering::SeqCst) {
                return;
            }
            // SAFETY: kill takes plain integers; the group is the rank's, which is not yet reaped.
            unsafe { libc::kill(-pgid, signal) };
            thread::sleep(Duration::from_millis(u64::from(then_wait)));
        }
    };
    if thread::Builder::new().name("agent-watchdog".into()).spawn(watchdog).is_err() {
        crate::report("--remote-agent: cannot start the watchdog thread; the rank will not stop with the session");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(host: Option<&str>, suggested: Option<&str>) -> Spec {
        Spec {
            rank: 0,
            program: "p".into(),
            args: vec![],
            env: vec![],
            wdir: "/".into(),
            coordinator_port: 7000,
            coordinator_host: host.map(String::from),
            suggested_host: suggested.map(String::from),
            credentials: None,
            forward_stdin: false,
            kill_grace_ms: 0,
        }
    }

    #[test]
    fn the_coordinator_is_where_the_session_came_from_unless_given() {
        let ssh = Some("10.1.0.254 50000 10.1.0.1 22".to_string());
        assert_eq!(coordinator_address(&spec(None, Some("x")), ssh.clone()).unwrap(), "10.1.0.254:7000");
        assert_eq!(coordinator_address(&spec(Some("gw"), None), ssh).unwrap(), "gw:7000");
        assert_eq!(coordinator_address(&spec(None, Some("10.2.0.1")), None).unwrap(), "10.2.0.1:7000");
        let v6 = Some("fe80::1 5 fe80::2 22".to_string());
        assert_eq!(coordinator_address(&spec(None, None), v6).unwrap(), "[fe80::1]:7000");
        assert!(coordinator_address(&spec(None, None), None).unwrap_err().contains("--launcher-address"));
    }
}
