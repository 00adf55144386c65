//! Starting the ranks of a job: a pre-bound listening socket each, and no way to outlive partyrun.

use crate::args::{Config, Tls};
use crate::environment::{self, JobEnv};
use crate::output::{Forwarders, Source, Stream};
use crate::protocol::Credentials;
use crate::pty::{self, MasterReader};
use crate::remote::Remote;
use crate::reports::ReportDir;
use crate::secret::SecretFds;
use crate::Fatal;
use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
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
    /// The rank's process, or for a rank on another host the local process of its session (ssh).
    pub pid: libc::pid_t,
    pub exit: Option<Exit>,
    pub remote: Option<Remote>,
    /// What partyrun itself found wrong, when that says more than the exit status.
    pub note: Option<String>,
}

/// Where a remote rank's relayed output is written.
pub type Sink = Box<dyn Write + Send>;

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
        if let Some(hosts) = &cfg.hosts {
            return crate::cluster::start(self, cfg, hosts, reports);
        }
        let listeners = (0..cfg.ranks)
            .map(|_| TcpListener::bind("127.0.0.1:0"))
            .collect::<io::Result<Vec<_>>>()
            .map_err(|e| Fatal::new(1, format!("cannot listen on a port of 127.0.0.1: {e}")))?;
        let addrs = listeners
            .iter()
            .map(TcpListener::local_addr)
            .collect::<io::Result<Vec<SocketAddr>>>()
            .map_err(|e| Fatal::new(1, format!("cannot read a listening socket's port: {e}")))?;
        let env = JobEnv::new(&addrs, environment::job_id(environment::given_job_id(&cfg.exports)));
        let tls: Vec<(OsString, OsString)> = match &cfg.tls {
            Tls::Dir(dir) => vec![("PARTYLINE_TLS_DIR".into(), dir.into())],
            Tls::Psk(file) => vec![("PARTYLINE_TLS_PSK_FILE".into(), file.into())],
            Tls::Insecure => vec![("PARTYLINE_INSECURE".into(), "1".into())],
            Tls::Default => vec![],
        };
        // Each rank's Unix socket for the others (the library's `conn`), bound before any rank
        // starts: one that dials at once finds it, instead of falling back to TCP.
        let locals: Vec<_> = addrs.iter().map(|&addr| partyline::listener::listen_local(addr)).collect();
        for (rank, listener) in listeners.iter().enumerate() {
            let fd = listener.as_raw_fd();
            let local = locals[rank].as_ref().map(|l| l.as_raw_fd());
            let mut vars: Vec<(OsString, OsString)> = tls.clone();
            vars.extend(env.rank_vars(rank, fd, local).into_iter().map(|(k, v)| (k.into(), v)));
            self.launch(cfg, rank, vars, [fd].into_iter().chain(local).collect(), reports)?;
        }
        // `listeners` and `locals` drop here: the ranks hold the only copies now.
        Ok(())
    }

    /// Starts a rank on this host with `vars` (besides the -x settings) and, if given, its TLS
    /// credentials in memory.
    pub fn spawn_rank(
        &mut self,
        cfg: &Config,
        rank: usize,
        mut vars: Vec<(OsString, OsString)>,
        credentials: Option<&Credentials>,
        reports: Option<&ReportDir>,
    ) -> Result<(), Fatal> {
        let secrets = credentials
            .map(SecretFds::new)
            .transpose()
            .map_err(|e| Fatal::new(1, format!("cannot hold rank {rank}'s TLS credentials in memory: {e}")))?;
        let fds = secrets.as_ref().map(SecretFds::raw).unwrap_or_default();
        vars.extend(secrets.iter().flat_map(|s| s.vars.iter().map(|(k, v)| (k.into(), v.clone()))));
        self.launch(cfg, rank, vars, fds, reports)
        // `secrets` drops here: the rank holds its own copies.
    }

    /// Registers a rank running on another host behind session process `pid`.
    pub fn add_remote(&mut self, pid: libc::pid_t, remote: Remote) {
        self.ranks.push(Rank { pid, exit: None, remote: Some(remote), note: None });
    }

    /// Pipes for a remote rank's relayed stdout and stderr, forwarded like a local rank's.
    pub fn output_pipes(&mut self, cfg: &Config, rank: usize) -> Result<(Sink, Sink), Fatal> {
        let fail = |e: io::Error| Fatal::new(1, format!("cannot set up rank {rank}'s output: {e}"));
        let (out_r, out_w) = UnixStream::pair().map_err(fail)?;
        let (err_r, err_w) = UnixStream::pair().map_err(fail)?;
        self.forward(rank, Some(out_r), Some(err_r), cfg.tag_output, true).map_err(fail)?;
        Ok((Box::new(out_w), Box::new(err_w)))
    }

    fn launch(
        &mut self,
        cfg: &Config,
        rank: usize,
        vars: Vec<(OsString, OsString)>,
        inherit: Vec<RawFd>,
        reports: Option<&ReportDir>,
    ) -> Result<(), Fatal> {
        let mut cmd = Command::new(&cfg.program);
        cmd.args(&cfg.args);
        for stale in environment::STALE {
            cmd.env_remove(stale);
        }
        cmd.envs(cfg.exports.iter().map(|(k, v)| (k, v)));
        cmd.envs(vars);
        if let Some(reports) = reports {
            cmd.env(environment::EXIT_REPORT, reports.path(rank));
        }
        if let Some(dir) = &cfg.wdir {
            cmd.current_dir(dir);
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
            cmd.pre_exec(move || {
                die_with_parent(parent)?;
                // std opens every fd close-on-exec; let this rank's own ones, and only them, through.
                crate::secret::inherit(&inherit)
            });
        }
        let spawned = cmd.spawn();
        // `cmd` holds our copy of the pty slave: close it now, or the master never sees end of file.
        drop(cmd);
        let mut child = spawned.map_err(|e| exec_failure(&cfg.program, rank, &e))?;
        self.ranks.push(Rank { pid: child.id() as libc::pid_t, exit: None, remote: None, note: None });
        let out: Option<Box<dyn Source>> = match master {
            Some(master) => Some(Box::new(MasterReader(master))),
            None => child.stdout.take().map(|p| Box::new(p) as Box<dyn Source>),
        };
        self.forward(rank, out, child.stderr.take(), cfg.tag_output, false)
            .map_err(|e| Fatal::new(1, format!("cannot start a thread to copy rank {rank}'s output: {e}")))?;
        // Dropping `child` neither kills nor waits for it: the supervisor reaps it by pid.
        Ok(())
    }

    /// Starts the threads copying a rank's `out` and `err`, prefixed line by line with `tag`,
    /// else raw. A local rank's stderr is only captured with --tag-output; a remote rank's
    /// (`raw_err`) always is, and is copied unchanged without it.
    fn forward(
        &mut self,
        rank: usize,
        out: Option<impl Source>,
        err: Option<impl Source>,
        tag: bool,
        raw_err: bool,
    ) -> io::Result<()> {
        if out.is_none() && err.is_none() {
            return Ok(());
        }
        let forwarders = self.forwarders.get_or_insert_with(Forwarders::new);
        if let Some(out) = out {
            if tag {
                forwarders.start(rank, out, Stream::Stdout)?;
            } else {
                forwarders.start_raw(rank, out, Stream::Stdout)?;
            }
        }
        if let Some(err) = err {
            if tag || !raw_err {
                forwarders.start(rank, err, Stream::Stderr)?;
            } else {
                forwarders.start_raw(rank, err, Stream::Stderr)?;
            }
        }
        Ok(())
    }
}

/// Runs in the child between fork and exec: the child dies with partyrun (or the agent).
pub fn die_with_parent(parent: libc::pid_t) -> io::Result<()> {
    // SAFETY: plain system calls on integers; no memory is shared or allocated.
    unsafe {
        // If partyrun dies, even by SIGKILL, the kernel kills the child. (The signal follows
        // the forking thread: partyrun spawns from its main thread, which lives until exit.)
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
        // partyrun may have died before the prctl took effect.
        if libc::getppid() != parent {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
    }
    Ok(())
}

pub fn exec_failure(program: &OsStr, rank: usize, e: &io::Error) -> Fatal {
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
