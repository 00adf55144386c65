//! A rank on another host, from partyrun's side: its SSH session to `partyrun --remote-agent`, the frames coming back, and what to say when it fails.

use crate::job::Exit;
use crate::protocol::{self, Frame, Spec};
use crate::Fatal;
use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// Lines of SSH's own stderr kept for the report when a session fails.
const SSH_LINES: usize = 8;
/// How long the frames may trail the SSH process's exit.
const FRAMES_DRAIN: Duration = Duration::from_secs(2);

#[derive(Default)]
struct State {
    /// The rendezvous address the agent gave the rank, once it said hello.
    hello: Option<String>,
    failed: Option<(i32, String)>,
    exit: Option<(Exit, String)>,
    ssh_said: VecDeque<String>,
    frames_done: bool,
    /// SSH's stderr closed: everything it said about a failure has been read.
    ssh_done: bool,
    /// partyrun gave up waiting for the agent's hello; the text says why.
    overdue: Option<String>,
}

impl State {
    /// The agent said hello, or the session ended without one.
    fn answered(&self) -> bool {
        self.hello.is_some() || self.frames_done
    }
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn update(&self, f: impl FnOnce(&mut State)) {
        if let Ok(mut s) = self.state.lock() {
            f(&mut s);
        }
        self.changed.notify_all();
    }

    /// The state once `done` holds for it, or once `limit` has passed; `None` if a thread
    /// holding the lock panicked.
    fn wait_for(&self, limit: Duration, done: impl Fn(&State) -> bool) -> Option<MutexGuard<'_, State>> {
        let state = self.state.lock().ok()?;
        let (state, _) = self.changed.wait_timeout_while(state, limit, |s| !done(s)).ok()?;
        Some(state)
    }
}

/// How a remote rank ended, as far as partyrun can tell.
pub struct Outcome {
    pub exit: Exit,
    /// The rank's exit report, as its library wrote it on its host.
    pub report: Option<String>,
    /// Why partyrun itself could not run the rank there (unreachable host, missing program...).
    pub note: Option<String>,
}

pub struct Remote {
    pub host: String,
    shared: Arc<Shared>,
    /// Kept open for the rank's lifetime: closing it tells the agent to stop the rank.
    _session: Arc<Mutex<ChildStdin>>,
    answer_within: Duration,
    hello_by: Instant,
}

/// What a remote rank's start needs besides its spec.
pub struct Start<'a> {
    pub agent: &'a [String],
    pub host: &'a str,
    pub rank: usize,
    /// How long the host may take to answer before partyrun gives up on it.
    pub answer_within: Duration,
    /// Where the rank's stdout and stderr go (partyrun's output forwarders).
    pub stdout: Box<dyn Write + Send>,
    pub stderr: Box<dyn Write + Send>,
    /// partyrun's stdin is relayed to this rank.
    pub stdin: bool,
}

impl Remote {
    /// Starts `partyrun --remote-agent` on the host through the launch agent and sends it the spec.
    /// Returns the local pid of the agent command (ssh), which the supervisor reaps and signals.
    pub fn start(start: Start<'_>, spec: &Spec) -> Result<(libc::pid_t, Remote), Fatal> {
        let exe = std::env::current_exe()
            .map_err(|e| Fatal::new(1, format!("cannot find partyrun's own path, which remote hosts run: {e}")))?;
        let remote_command = format!("{} --remote-agent", crate::compat::shell_quote(&exe.to_string_lossy()));
        let mut cmd = Command::new(&start.agent[0]);
        cmd.args(&start.agent[1..]).arg(start.host).arg(&remote_command);
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: runs in the forked child before exec; only async-signal-safe calls (prctl, getppid).
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(move || crate::job::die_with_parent(parent));
        }
        let agent_name = start.agent[0].clone();
        let mut child = cmd.spawn().map_err(|e| {
            Fatal::new(
                1,
                format!("cannot run the launch agent {agent_name:?} for rank {} on {}: {e}", start.rank, start.host),
            )
        })?;
        let pid = child.id() as libc::pid_t;
        let shared = Arc::new(Shared::default());
        let (Some(mut session), Some(frames), Some(ssh_err)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(Fatal::new(1, "the launch agent's pipes are missing".into()));
        };
        // A host that cannot be reached closes this pipe; that shows up as the agent's exit.
        let _ = protocol::write_spec(&mut session, spec);
        let session = Arc::new(Mutex::new(session));
        let spawn = |name: String, f: Box<dyn FnOnce() + Send>| {
            thread::Builder::new()
                .name(name)
                .spawn(f)
                .map(drop)
                .map_err(|e| Fatal::new(1, format!("cannot start a thread for rank {}'s session: {e}", start.rank)))
        };
        let s = shared.clone();
        let (out, err) = (start.stdout, start.stderr);
        spawn(format!("rank{}-frames", start.rank), Box::new(move || read_frames(frames, out, err, &s)))?;
        let s = shared.clone();
        spawn(format!("rank{}-ssh", start.rank), Box::new(move || read_ssh_stderr(ssh_err, &s)))?;
        if start.stdin {
            let s = session.clone();
            spawn(format!("rank{}-stdin", start.rank), Box::new(move || relay_stdin(&s)))?;
        }
        let (answer_within, hello_by) = (start.answer_within, Instant::now() + start.answer_within);
        Ok((pid, Remote { host: start.host.to_string(), shared, _session: session, answer_within, hello_by }))
    }

    /// The rendezvous address the agent used, once it said hello; waits up to `limit`.
    pub fn coordinator(&self, limit: Duration) -> Option<String> {
        self.shared.wait_for(limit, State::answered)?.hello.clone()
    }

    /// True once the agent said hello, or the session is over.
    pub fn answered(&self) -> bool {
        self.shared.state.lock().is_ok_and(|s| s.answered())
    }

    /// What is known of a session that gave no hello: the agent's reason, or SSH's last words.
    pub fn silence(&self) -> String {
        // SSH's own words may trail the end of the frames.
        let Some(state) = self.shared.wait_for(FRAMES_DRAIN, |s| !s.frames_done || s.ssh_done) else {
            return String::new();
        };
        match &state.failed {
            Some((_, why)) => why.clone(),
            None if state.ssh_said.is_empty() => "no answer".into(),
            None => state.ssh_said.iter().cloned().collect::<Vec<_>>().join("; "),
        }
    }

    /// True (once) when the host has not answered in time: the caller then kills the session.
    pub fn give_up_if_silent(&self, now: Instant) -> bool {
        let Ok(mut state) = self.shared.state.lock() else { return false };
        if now < self.hello_by || state.answered() || state.overdue.is_some() {
            return false;
        }
        let secs = self.answer_within.as_secs_f64();
        state.overdue = Some(format!("{} did not answer within {secs:.0} s", self.host));
        true
    }

    /// How the rank ended, once its session process exited with `session_exit`.
    pub fn outcome(&self, rank: usize, session_exit: Exit) -> Outcome {
        let Some(state) = self.shared.wait_for(FRAMES_DRAIN, |s| s.frames_done && s.ssh_done) else {
            return Outcome { exit: session_exit, report: None, note: None };
        };
        if let Some((exit, report)) = state.exit.clone() {
            return Outcome { exit, report: Some(report).filter(|r| !r.is_empty()), note: None };
        }
        if let Some((status, why)) = state.failed.clone() {
            return Outcome {
                exit: Exit::Code(status),
                report: None,
                note: Some(format!("rank {rank} on {}: {why}", self.host)),
            };
        }
        let said = state.ssh_said.iter().cloned().collect::<Vec<_>>().join("; ");
        let said = if said.is_empty() { format!("the launch agent {}", session_exit.describe()) } else { said };
        let note = if let Some(why) = state.overdue.clone() {
            format!("cannot start rank {rank}: {why} (PARTYLINE_CONNECT_TIMEOUT); it said: {said}")
        } else if state.hello.is_some() {
            format!("lost the session to rank {rank} on {} before the rank's exit was reported: {said}", self.host)
        } else {
            format!("cannot start rank {rank} on {}: {said}{}", self.host, hint(&said, session_exit))
        };
        Outcome { exit: session_exit, report: None, note: Some(note) }
    }
}

/// What to do about the usual ways a session fails to start.
fn hint(said: &str, exit: Exit) -> String {
    let hint = if said.contains("Host key verification failed") || said.contains("host key") {
        "; the host's key is not in your known_hosts: check it and add it (for example by running `ssh HOST` once)"
    } else if said.contains("Permission denied") {
        "; ssh could not log in without a password: install your public key on the host (ssh-copy-id)"
    } else if exit == Exit::Code(127) || said.contains("not found") || said.contains("No such file") {
        "; partyline must be installed at the same path as here on every host"
    } else if said.contains("Could not resolve") || said.contains("timed out") || said.contains("refused") {
        "; check the host name and that sshd runs there"
    } else {
        ""
    };
    hint.to_string()
}

fn read_frames(frames: impl Read, mut out: Box<dyn Write + Send>, mut err: Box<dyn Write + Send>, shared: &Shared) {
    let mut frames = BufReader::new(frames);
    // A write error to a forwarder means our own output is gone: keep reading, for the exit.
    loop {
        match Frame::read_from(&mut frames) {
            Ok(Some(Frame::Stdout(b))) => drop(out.write_all(&b)),
            Ok(Some(Frame::Stderr(b))) => drop(err.write_all(&b)),
            Ok(Some(Frame::Hello { version, coordinator })) => {
                if version != protocol::VERSION {
                    let why = format!("the host runs partyline {version} but this partyrun is {}; install the same partyline version on every host", protocol::VERSION);
                    shared.update(|s| s.failed = Some((1, why)));
                    break;
                }
                shared.update(|s| s.hello = Some(coordinator));
            }
            Ok(Some(Frame::Failed { status, why })) => shared.update(|s| s.failed = Some((status, why))),
            Ok(Some(Frame::Exit { code, signal, report })) => {
                let exit = if signal != 0 { Exit::Signal(signal) } else { Exit::Code(code) };
                shared.update(|s| s.exit = Some((exit, report)));
            }
            Ok(Some(Frame::Stdin(_) | Frame::StdinEnd)) => {}
            Ok(None) => break,
            Err(e) => {
                let why = format!("garbled session ({e}); is something on the host printing to stdout at login?");
                shared.update(|s| s.ssh_said.push_back(why));
                break;
            }
        }
    }
    drop((out, err)); // ends the forwarders' input
    shared.update(|s| s.frames_done = true);
}

fn read_ssh_stderr(ssh_err: impl Read, shared: &Shared) {
    for line in BufReader::new(ssh_err).lines() {
        let Ok(line) = line else { break };
        let line = line.trim().to_string();
        if line.is_empty() {
            continue;
        }
        shared.update(|s| {
            if s.ssh_said.len() == SSH_LINES {
                s.ssh_said.pop_front();
            }
            s.ssh_said.push_back(line);
        });
    }
    shared.update(|s| s.ssh_done = true);
}

/// Relays partyrun's stdin to the rank, then says it ended; the session itself stays open.
fn relay_stdin(session: &Mutex<ChildStdin>) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut input = io::stdin();
    loop {
        let frame = match input.read(&mut buf) {
            Ok(0) | Err(_) => Frame::StdinEnd,
            Ok(n) => Frame::Stdin(buf[..n].to_vec()),
        };
        let end = frame == Frame::StdinEnd;
        let sent = session.lock().map(|mut s| frame.write_to(&mut *s).is_ok()).unwrap_or(false);
        if end || !sent {
            return;
        }
    }
}
