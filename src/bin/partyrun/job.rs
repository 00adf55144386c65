//! Starting the ranks of a job: a pre-bound listening socket each, and no way to outlive partyrun.

use crate::args::Config;
use crate::environment::{self, JobEnv};
use crate::output::{Forwarders, Stream};
use crate::pty::{self, MasterReader};
use crate::reports::ReportDir;
use crate::Fatal;
use std::ffi::OsStr;
use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// How a rank ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    /// Reaped elsewhere, status unknown; cannot happen unless the system misbehaves.
    Lost,
}

impl Exit {
    pub fn failed(self) -> bool {
        self != Exit::Code(0)
    }

    /// partyrun's exit status for this outcome, as a shell would report it.
    pub fn status(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
            Exit::Lost => 1,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Exit::Code(c) => format!("exited with status {c}"),
            Exit::Signal(s) => format!("was killed by {}", crate::signals::describe(s)),
            Exit::Lost => "disappeared without an exit status".to_string(),
        }
    }
}

pub struct Rank {
    pub pid: libc::pid_t,
    pub exit: Option<Exit>,
}

/// The ranks started so far, and the threads copying their output to ours.
pub struct Job {
    pub ranks: Vec<Rank>,
    pub forwarders: Option<Forwarders>,
}

impl Job {
    pub fn new() -> Job {
        Job { ranks: Vec::new(), forwarders: None }
    }

    /// Starts every rank, each told where to leave its exit report if `reports` is given. On
    /// error, `self` holds the ranks already started, for the caller to stop.
    pub fn start(&mut self, cfg: &Config, reports: Option<&ReportDir>) -> Result<(), Fatal> {
        let listeners = (0..cfg.ranks)
            .map(|_| TcpListener::bind("127.0.0.1:0"))
            .collect::<io::Result<Vec<_>>>()
            .map_err(|e| Fatal::new(1, format!("cannot listen on a port of 127.0.0.1: {e}")))?;
        let addrs = listeners
            .iter()
            .map(TcpListener::local_addr)
            .collect::<io::Result<Vec<SocketAddr>>>()
            .map_err(|e| Fatal::new(1, format!("cannot read a listening socket's port: {e}")))?;
        let given_id = cfg
            .exports
            .iter()
            .rev()
            .find(|(k, _)| k == "PARTYLINE_JOB_ID")
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var_os("PARTYLINE_JOB_ID"));
        let env = JobEnv::new(&addrs, environment::job_id(given_id));
        for (rank, listener) in listeners.iter().enumerate() {
            self.spawn(cfg, &env, rank, listener.as_raw_fd(), reports)?;
        }
        // `listeners` drops here: the ranks hold the only copies now.
        Ok(())
    }

    fn spawn(
        &mut self,
        cfg: &Config,
        env: &JobEnv,
        rank: usize,
        listen_fd: RawFd,
        reports: Option<&ReportDir>,
    ) -> Result<(), Fatal> {
        let mut cmd = Command::new(&cfg.program);
        cmd.args(&cfg.args);
        for stale in environment::STALE {
            cmd.env_remove(stale);
        }
        cmd.envs(cfg.exports.iter().map(|(k, v)| (k, v)));
        cmd.envs(env.rank_vars(rank, listen_fd));
        if let Some(reports) = reports {
            cmd.env(environment::EXIT_REPORT, reports.path(rank));
        }
        // Like mpirun: only rank 0 reads our stdin, so ranks do not compete for it.
        cmd.stdin(if rank == 0 { Stdio::inherit() } else { Stdio::null() });
        // stdout is a pty when we can open one: C stdio then flushes each line instead of
        // losing a buffer's worth when the rank crashes. Without one, stdout is as before.
        let master = match pty::open() {
            Ok(pty) => {
                cmd.stdout(Stdio::from(pty.slave));
                Some(pty.master)
            }
            Err(_) => {
                if cfg.tag_output {
                    cmd.stdout(Stdio::piped());
                }
                None
            }
        };
        if cfg.tag_output {
            cmd.stderr(Stdio::piped());
        }
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: the closure runs in the forked child before exec and only makes
        // async-signal-safe system calls (prctl, getppid, fcntl); it allocates nothing.
        unsafe {
            cmd.pre_exec(move || prepare_child(parent, listen_fd));
        }
        let spawned = cmd.spawn();
        // `cmd` holds our copy of the pty slave: close it now, or the master never sees end of file.
        drop(cmd);
        let mut child = spawned.map_err(|e| exec_failure(&cfg.program, rank, &e))?;
        self.ranks.push(Rank { pid: child.id() as libc::pid_t, exit: None });
        let out: Option<Box<dyn Read + Send>> = match master {
            Some(master) => Some(Box::new(MasterReader(master))),
            None => child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
        };
        self.forward(rank, out, child.stderr.take(), cfg.tag_output)
            .map_err(|e| Fatal::new(1, format!("cannot start a thread to copy rank {rank}'s output: {e}")))?;
        // Dropping `child` neither kills nor waits for it: the supervisor reaps it by pid.
        Ok(())
    }

    /// Starts the threads copying a rank's `out` (with `tag` prefixed line by line, else raw)
    /// and `err` (always prefixed: it is only captured with --tag-output).
    fn forward(
        &mut self,
        rank: usize,
        out: Option<impl Read + Send + 'static>,
        err: Option<impl Read + Send + 'static>,
        tag: bool,
    ) -> io::Result<()> {
        if out.is_none() && err.is_none() {
            return Ok(());
        }
        let forwarders = self.forwarders.get_or_insert_with(Forwarders::new);
        if let Some(out) = out {
            if tag {
                forwarders.start(rank, out, Stream::Stdout)?;
            } else {
                forwarders.start_raw(rank, out)?;
            }
        }
        if let Some(err) = err {
            forwarders.start(rank, err, Stream::Stderr)?;
        }
        Ok(())
    }
}

/// Runs in the child between fork and exec.
fn prepare_child(parent: libc::pid_t, listen_fd: RawFd) -> io::Result<()> {
    // SAFETY: plain system calls on integers; no memory is shared or allocated.
    unsafe {
        // If partyrun dies, even by SIGKILL, the kernel kills the rank. (The signal follows
        // the forking thread: partyrun spawns from its main thread, which lives until exit.)
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
        // partyrun may have died before the prctl took effect.
        if libc::getppid() != parent {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        // std opens every fd close-on-exec; let this rank's own listener, and only it, through.
        let flags = libc::fcntl(listen_fd, libc::F_GETFD);
        if flags < 0 || libc::fcntl(listen_fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn exec_failure(program: &OsStr, rank: usize, e: &io::Error) -> Fatal {
    let name = program.to_string_lossy();
    match e.raw_os_error() {
        // Failures to fork, not to exec: the program itself may be fine.
        Some(libc::EAGAIN | libc::ENOMEM) => Fatal::new(1, format!("cannot start rank {rank}: {e}")),
        _ => {
            let why = match e.kind() {
                io::ErrorKind::NotFound if !program.as_bytes().contains(&b'/') => {
                    "command not found in PATH".to_string()
                }
                io::ErrorKind::NotFound => "no such file".to_string(),
                io::ErrorKind::PermissionDenied => "permission denied (is it an executable file?)".to_string(),
                _ => e.to_string(),
            };
            Fatal::new(127, format!("cannot execute {name}: {why}"))
        }
    }
}
