//! Running test processes: captured output, hard timeouts, and no orphans left behind.

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A finished process with everything it printed.
#[derive(Debug)]
pub struct Output {
    pub what: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Output {
    /// The exit code, or None when killed by a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// A readable account for assertion messages: status, time and both outputs.
    pub fn describe(&self) -> String {
        let status = match (self.status.code(), self.status.signal()) {
            (Some(c), _) => format!("exit code {c}"),
            (None, Some(s)) => format!("killed by signal {s}"),
            _ => format!("{}", self.status),
        };
        format!(
            "{} ended with {} after {:.2} s\n--- stdout ---\n{}\n--- stderr ---\n{}\n--------------",
            self.what,
            status,
            self.elapsed.as_secs_f64(),
            self.stdout,
            self.stderr
        )
    }

    pub fn assert_success(&self) {
        assert!(self.status.success(), "expected success: {}", self.describe());
    }

    /// Exit 0 and the `PASS <name>` line of the C test programs.
    pub fn assert_pass(&self, name: &str) {
        self.assert_success();
        let want = format!("PASS {name}");
        assert!(self.stdout.lines().any(|l| l.trim() == want), "missing `{want}` in stdout: {}", self.describe());
    }

    pub fn assert_stdout_contains(&self, needle: &str) {
        assert!(self.stdout.contains(needle), "missing `{needle}` in stdout: {}", self.describe());
    }

    pub fn assert_stderr_contains(&self, needle: &str) {
        assert!(self.stderr.contains(needle), "missing `{needle}` in stderr: {}", self.describe());
    }
}

/// A started process (in its own process group) whose output is being collected.
/// Dropping it kills the process and all its descendants.
pub struct Running {
    what: String,
    child: Option<Child>,
    stdout: Arc<Collected>,
    stderr: Arc<Collected>,
    started: Instant,
}

/// One output stream as read so far, readable while the process runs.
#[derive(Default)]
struct Collected {
    /// The bytes, and whether the pipe has closed.
    state: Mutex<(Vec<u8>, bool)>,
    grew: Condvar,
}

impl Collected {
    /// Waits until `done` holds for what was read (or the pipe closed, or `limit` passed);
    /// returns the text and whether the pipe has closed.
    fn wait_until(&self, limit: Duration, done: impl Fn(&[u8]) -> bool) -> (String, bool) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (state, _) = self
            .grew
            .wait_timeout_while(state, limit, |(bytes, closed)| !*closed && !done(bytes))
            .unwrap_or_else(|e| e.into_inner());
        (String::from_utf8_lossy(&state.0).into_owned(), state.1)
    }
}

fn collect(mut r: impl Read + Send + 'static) -> Arc<Collected> {
    let collected = Arc::new(Collected::default());
    let sink = collected.clone();
    thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            let n = r.read(&mut buf).unwrap_or(0);
            let mut state = sink.state.lock().unwrap_or_else(|e| e.into_inner());
            if n == 0 {
                state.1 = true;
            } else {
                state.0.extend_from_slice(&buf[..n]);
            }
            sink.grew.notify_all();
            if n == 0 {
                return;
            }
        }
    });
    collected
}

/// Start `cmd` with captured stdout/stderr; `what` names it in messages.
pub fn spawn(mut cmd: Command, what: impl Into<String>) -> Running {
    let what = what.into();
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {what} ({cmd:?}): {e}"));
    let stdout = collect(child.stdout.take().expect("piped stdout"));
    let stderr = collect(child.stderr.take().expect("piped stderr"));
    Running { what, child: Some(child), stdout, stderr, started: Instant::now() }
}

/// Run `cmd` to completion, killing it (and failing the test) after `timeout`.
pub fn run(cmd: Command, what: impl Into<String>, timeout: Duration) -> Output {
    spawn(cmd, what).wait(timeout)
}

impl Running {
    /// Wait until `timeout` after the start; on expiry kill everything and panic.
    pub fn wait(mut self, timeout: Duration) -> Output {
        let deadline = self.started + timeout;
        let mut child = self.child.take().expect("not yet waited");
        let status = loop {
            match child.try_wait().expect("try_wait") {
                Some(st) => break Some(st),
                None if Instant::now() >= deadline => break None,
                None => thread::sleep(Duration::from_millis(10)),
            }
        };
        let elapsed = self.started.elapsed();
        let Some(status) = status else {
            kill_tree(child.id());
            let _ = child.wait();
            let (out, err) = self.drain(Duration::from_secs(5));
            panic!(
                "TIMEOUT: {} did not finish within {:.0} s and was killed\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.what,
                timeout.as_secs_f64(),
                out,
                err
            );
        };
        // Stragglers left in the process group would keep the pipes open.
        let (stdout, stderr) = self.drain(Duration::from_secs(10));
        let leftover = kill_group(child.id());
        let out = Output { what: self.what.clone(), status, stdout, stderr, elapsed };
        assert!(!leftover, "{} exited but left processes behind (killed now): {}", self.what, out.describe());
        out
    }

    /// Collect both outputs, waiting at most `limit` for the pipes to close.
    fn drain(&self, limit: Duration) -> (String, String) {
        let get = |c: &Collected| match c.wait_until(limit, |_| false) {
            (text, true) => text,
            (text, false) => format!("{text}\n<output pipe still open: a descendant process is holding it>"),
        };
        (get(&self.stdout), get(&self.stderr))
    }

    /// Waits until the process has written `needle` to stderr, so a test can act on what a
    /// process has done rather than on how long it has run. Fails the test if the process
    /// closes its stderr first or `limit` passes (a safety net against hangs).
    pub fn wait_for_stderr(&self, needle: &str, limit: Duration) {
        let (text, _) = self.stderr.wait_until(limit, |b| String::from_utf8_lossy(b).contains(needle));
        assert!(text.contains(needle), "{} did not write `{needle}` to stderr; it wrote:\n{text}", self.what);
    }

    /// Waits until the process has written `needle` to stdout (read as it comes), so a test can
    /// act when a program reports progress. Fails the test if the process closes its stdout first
    /// or `limit` passes.
    pub fn wait_for_stdout(&self, needle: &str, limit: Duration) {
        let (text, _) = self.stdout.wait_until(limit, |b| String::from_utf8_lossy(b).contains(needle));
        assert!(text.contains(needle), "{} did not write `{needle}` to stdout; it wrote:\n{text}", self.what);
    }

    /// What the process has written to stdout so far.
    pub fn stdout_so_far(&self) -> String {
        self.stdout.wait_until(Duration::ZERO, |_| true).0
    }

    /// When the process was started: a deadline counted from some later event is
    /// `event - started() + allowance` as `wait`'s timeout.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The process id, while it runs (to signal it: a pause, say).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True once the process has exited (its status is kept for `wait`).
    pub fn exited(&mut self) -> bool {
        let child = self.child.as_mut().expect("not yet waited");
        child.try_wait().expect("try_wait").is_some()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_tree(child.id());
            let _ = child.wait();
        }
    }
}

/// SIGKILL the process group `pgid`; true if anything was still in it.
fn kill_group(pgid: u32) -> bool {
    // SAFETY: plain kill(2) on a process group id we created.
    unsafe { libc::kill(-(pgid as libc::pid_t), libc::SIGKILL) == 0 }
}

/// SIGKILL `pid`, its process group and every descendant found in /proc
/// (ranks may have been moved to process groups of their own).
pub fn kill_tree(pid: u32) {
    let mut parent_of: HashMap<u32, u32> = HashMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { continue };
            // "pid (comm) state ppid ...": comm may contain spaces, so split after ')'.
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else { continue };
            if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|v| v.parse().ok()) {
                parent_of.insert(p, ppid);
            }
        }
    }
    let mut victims = vec![pid];
    let mut i = 0;
    while i < victims.len() {
        let v = victims[i];
        victims.extend(parent_of.iter().filter(|&(_, &pp)| pp == v).map(|(&c, _)| c));
        i += 1;
    }
    kill_group(pid);
    for v in victims {
        // SAFETY: kill(2) on processes descended from the one we started.
        unsafe {
            libc::kill(v as libc::pid_t, libc::SIGKILL);
        }
    }
}

/// Wait for several processes that share one deadline; if any times out, the
/// others are killed too (by the drop of the remaining handles).
pub fn wait_all(running: Vec<Running>, timeout: Duration) -> Vec<Output> {
    running.into_iter().map(|r| r.wait(timeout)).collect()
}
