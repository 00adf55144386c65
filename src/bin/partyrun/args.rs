//! Command-line parsing for the launcher: Open MPI–style `mpirun` forms mapped onto clap.

use clap::{ArgAction, CommandFactory, Parser};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Most ranks partyline supports in one job.
pub const MAX_RANKS: usize = 64;

/// Variables partyrun sets per rank; `-x` may not override them.
const RESERVED: &[&str] = &[
    "PARTYLINE_RANK",
    "PARTYLINE_SIZE",
    "PARTYLINE_PEERS",
    "PARTYLINE_LISTEN_FD",
    "PARTYLINE_LOCAL_LISTEN_FD",
    "PARTYLINE_LISTEN",
    "PARTYLINE_HOSTFILE",
    "PARTYLINE_LAUNCHER",
    "PARTYLINE_COORDINATOR",
    "PARTYLINE_COORDINATOR_ROLE",
    "PARTYLINE_ADVERTISE",
    "PARTYLINE_EXIT_REPORT",
    "OMPI_COMM_WORLD_RANK",
    "OMPI_COMM_WORLD_SIZE",
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "PMI_RANK",
    "PMI_SIZE",
];

const AFTER_HELP: &str = "\
Options end at PROGRAM: everything after it is passed to PROGRAM unchanged (`--` also ends them).
Open MPI spellings with one dash (-np 4, -x VAR, -oversubscribe) are accepted.

Each rank gets PARTYLINE_RANK, PARTYLINE_SIZE, PARTYLINE_PEERS (127.0.0.1:port,... in rank order),
PARTYLINE_LISTEN_FD and PARTYLINE_LOCAL_LISTEN_FD (its already-listening TCP and Unix sockets), PARTYLINE_JOB_ID (random unless already set),
PARTYLINE_LAUNCHER=partyrun, PARTYLINE_EXIT_REPORT (a file where the library notes that the rank
ends because another rank failed), and OMPI_COMM_WORLD_RANK/SIZE/LOCAL_RANK and PMI_RANK/SIZE for scripts.
Rank 0 reads partyrun's stdin; the other ranks get /dev/null.

With --host, --hostfile (--machinefile, -f), ranks fill the hosts' slots in order. Ranks on other
hosts start through `ssh HOST` (batch mode, your own ssh config and keys; or --launch-agent), run
the same program path in the same directory, and find each other through partyrun's rendezvous.
Between hosts, links use TLS with a CA partyrun makes for the job, unless --tls-dir, --tls-psk or
--insecure says otherwise; each rank's key travels over its own SSH channel. partyline must be
installed at the same path on every host.
`partyrun --coordinator ADDR -n N` serves one job's rendezvous (see `partyrun --coordinator --help`).

Exit status: that of the first rank to fail (128+N if killed by signal N), not counting ranks that
only ended because another rank failed; 124 on --timeout,
128+N if partyrun is stopped by signal N, 127 if PROGRAM cannot be executed, 2 for usage errors.";

#[derive(Parser, Debug)]
#[command(
    name = "partyrun",
    version = concat!("(partyline) ", env!("CARGO_PKG_VERSION")),
    about = "Start and supervise the ranks of a program linked against partyline, on this host or several",
    override_usage = "partyrun [OPTIONS] -n N PROGRAM [ARGS]...",
    after_help = AFTER_HELP
)]
struct Cli {
    /// Number of ranks to start, 1 to 64 (also -np, -c, --n) [default: 1]
    #[arg(short = 'n', long = "np", short_alias = 'c', alias = "n", value_name = "N",
          value_parser = parse_ranks, allow_negative_numbers = true)]
    ranks: Option<usize>,

    /// Set VAR=VALUE in every rank, or pass VAR on from partyrun's environment (repeatable)
    #[arg(short = 'x', value_name = "VAR[=VALUE]", action = ArgAction::Append,
          value_parser = clap::value_parser!(OsString))]
    export: Vec<OsString>,

    /// Prefix every line of each rank's stdout and stderr with "[rank N] "
    #[arg(long = "tag-output", visible_alias = "prefix-rank")]
    tag_output: bool,

    /// Kill the whole job after SECS seconds and exit with status 124
    #[arg(long, value_name = "SECS", value_parser = parse_timeout, allow_negative_numbers = true)]
    timeout: Option<Duration>,

    /// After a rank fails, wait this long for the others to exit before SIGTERM (SIGKILL 1 s later)
    #[arg(long, value_name = "SECS", default_value = "2", value_parser = parse_grace,
          allow_negative_numbers = true)]
    kill_grace: Duration,

    /// Encrypt and authenticate the links with TLS, using the CA and per-rank certificates
    /// that `partyrun certs --out DIR` wrote
    #[arg(long, value_name = "DIR", value_parser = clap::value_parser!(PathBuf))]
    tls_dir: Option<PathBuf>,

    /// Encrypt and authenticate the links with TLS keyed by the pre-shared key in FILE
    /// (`partyrun certs --psk FILE` writes one)
    #[arg(long, value_name = "FILE", value_parser = clap::value_parser!(PathBuf), conflicts_with = "tls_dir")]
    tls_psk: Option<PathBuf>,

    /// Send plaintext between hosts: no encryption, no authentication (warns)
    #[arg(long, conflicts_with_all = ["tls_dir", "tls_psk"])]
    insecure: bool,

    /// Allow more ranks than the hosts have slots (they go round the hosts again)
    #[arg(long)]
    oversubscribe: bool,

    /// Accepted for Open MPI compatibility; has no effect
    #[arg(long)]
    allow_run_as_root: bool,

    /// Hosts to run on, comma-separated; NAME:N gives NAME N slots (repeatable)
    #[arg(short = 'H', long = "host", value_name = "HOSTS", action = ArgAction::Append)]
    host: Vec<String>,

    /// A file of hosts, one per line: NAME, NAME:N or NAME slots=N; # starts a comment (also
    /// --machinefile, and Hydra's -f)
    #[arg(short = 'f', long, visible_alias = "machinefile", value_name = "FILE", action = ArgAction::Append,
          value_parser = clap::value_parser!(PathBuf))]
    hostfile: Vec<PathBuf>,

    /// Start remote ranks with CMD instead of ssh, called as CMD HOST COMMAND... [env: PARTYLINE_RSH]
    #[arg(long, value_name = "CMD")]
    launch_agent: Option<String>,

    /// The address (HOST or HOST:PORT) at which the remote ranks reach partyrun [default: the
    /// address each SSH connection came from]
    #[arg(long, value_name = "ADDR")]
    launcher_address: Option<String>,

    /// Run the ranks in DIR [default: partyrun's working directory, on every host]
    #[arg(long, visible_alias = "wd", value_name = "DIR", value_parser = clap::value_parser!(OsString))]
    wdir: Option<OsString>,

    /// An Open MPI setting; plm_rsh_agent and oob/btl_tcp_if_include are used, others ignored (repeatable)
    #[arg(long, num_args = 2, value_names = ["KEY", "VALUE"], action = ArgAction::Append)]
    mca: Vec<String>,

    /// Hydra's form of -x NAME=VALUE (also -env) (repeatable)
    #[arg(long, visible_alias = "env", num_args = 2, value_names = ["NAME", "VALUE"], action = ArgAction::Append,
          value_parser = clap::value_parser!(OsString))]
    genv: Vec<OsString>,

    /// The program to start in every rank, and its arguments
    #[arg(value_name = "PROGRAM", trailing_var_arg = true,
          value_parser = clap::value_parser!(OsString))]
    command: Vec<OsString>,
}

/// How the links between the ranks are protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tls {
    /// Nothing asked: plaintext on one host; across hosts, a CA made for this job.
    Default,
    Dir(PathBuf),
    Psk(PathBuf),
    /// `--insecure`: plaintext even across hosts.
    Insecure,
}

/// A validated launch request.
#[derive(Debug)]
pub struct Config {
    pub ranks: usize,
    /// The host of every rank, when some rank runs on another host; `None` for a local job.
    pub hosts: Option<Vec<String>>,
    /// argv prefix that starts a command on a host (`ssh ...`), called as `AGENT... HOST COMMAND`.
    pub launch_agent: Vec<String>,
    pub launcher_address: Option<String>,
    /// The interface (or CIDR) from `--mca oob_tcp_if_include`, for the launcher's address.
    pub interface: Option<String>,
    pub wdir: Option<OsString>,
    /// PARTYLINE_CONNECT_TIMEOUT as the ranks will read it; hosts must answer within it.
    pub connect_timeout: Duration,
    pub tls: Tls,
    /// Lines to print before starting (options accepted but ignored, plaintext across hosts).
    pub warnings: Vec<String>,
    /// `-x` settings, resolved to name and value.
    pub exports: Vec<(OsString, OsString)>,
    pub tag_output: bool,
    pub timeout: Option<Duration>,
    pub kill_grace: Duration,
    pub program: OsString,
    pub args: Vec<OsString>,
}

#[derive(Debug)]
pub enum ArgsError {
    /// Clap's own report (including --help and --version); it knows its exit status.
    Clap(clap::Error),
    /// A usage error found after parsing; exit status 2.
    Usage(String),
}

pub(crate) fn parse_ranks(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_RANKS).contains(&n) => Ok(n),
        _ => Err(format!("partyline supports 1 to {MAX_RANKS} ranks")),
    }
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| "expected a number of seconds such as 30 or 0.5".to_string())
}

pub(crate) fn parse_timeout(s: &str) -> Result<Duration, String> {
    match parse_seconds(s)? {
        d if d.is_zero() => Err("the timeout must be more than 0 seconds".to_string()),
        d => Ok(d),
    }
}

fn parse_grace(s: &str) -> Result<Duration, String> {
    parse_seconds(s)
}

/// Splits `-x` settings, reading bare names from `lookup` (partyrun's environment).
fn resolve_exports(
    exports: &[OsString],
    lookup: impl Fn(&OsStr) -> Option<OsString>,
) -> Result<Vec<(OsString, OsString)>, String> {
    let mut out = Vec::with_capacity(exports.len());
    for x in exports {
        let bytes = x.as_bytes();
        let (name, value) = match bytes.iter().position(|&b| b == b'=') {
            Some(i) => (OsStr::from_bytes(&bytes[..i]), Some(OsStr::from_bytes(&bytes[i + 1..]))),
            None => (x.as_os_str(), None),
        };
        if name.is_empty() {
            return Err(format!("-x {x:?}: expected VAR or VAR=VALUE"));
        }
        if let Some(r) = RESERVED.iter().find(|r| OsStr::new(r) == name) {
            if r.starts_with("PARTYLINE_COORDINATOR") || *r == "PARTYLINE_ADVERTISE" {
                return Err(format!("-x {r}: partyrun wires its local ranks with PARTYLINE_PEERS; rendezvous mode is for parties started by hand"));
            }
            return Err(format!("-x {r}: partyrun sets {r} itself for every rank"));
        }
        let value = match value {
            Some(v) => v.to_os_string(),
            None => lookup(name).ok_or_else(|| {
                let n = name.to_string_lossy();
                format!("-x {n}: {n} is not set in partyrun's environment (use -x {n}=VALUE to set it)")
            })?,
        };
        out.push((name.to_os_string(), value));
    }
    Ok(out)
}

/// The absolute path of a `--tls-dir` that holds the CA and every rank's certificate and key.
fn tls_dir(dir: &Path, ranks: usize) -> Result<PathBuf, String> {
    let dir = std::path::absolute(dir).map_err(|e| format!("--tls-dir {}: {e}", dir.display()))?;
    let wanted = std::iter::once("ca.pem".to_string())
        .chain((0..ranks).flat_map(|r| [format!("rank-{r}.pem"), format!("rank-{r}.key")]));
    let missing: Vec<String> = wanted.filter(|f| !dir.join(f).is_file()).collect();
    if !missing.is_empty() {
        return Err(format!(
            "--tls-dir {} lacks {}; create the files with: partyrun certs --parties {ranks} --out {}",
            dir.display(),
            missing.join(", "),
            dir.display()
        ));
    }
    Ok(dir)
}

fn psk_file(file: &Path) -> Result<PathBuf, String> {
    let file = std::path::absolute(file).map_err(|e| format!("--tls-psk {}: {e}", file.display()))?;
    if !file.is_file() {
        return Err(format!("--tls-psk {}: no such file; create one with partyrun certs --psk FILE", file.display()));
    }
    Ok(file)
}

/// `ssh` in batch mode (never a password prompt), with SSH's own connect timeout set to
/// PARTYLINE_CONNECT_TIMEOUT, so an unreachable host is reported within it.
fn default_agent(connect_timeout: Duration) -> Vec<String> {
    let secs = connect_timeout.as_secs_f64().ceil().max(1.0) as u64;
    let opts = ["-x", "-T", "-o", "BatchMode=yes", "-o"].map(String::from);
    std::iter::once("ssh".to_string()).chain(opts).chain([format!("ConnectTimeout={secs}")]).collect()
}

/// The ranks' PARTYLINE_CONNECT_TIMEOUT: a -x setting, else partyrun's own environment, else 30 s.
fn connect_timeout(exports: &[(OsString, OsString)], read_var: &impl Fn(&str) -> Option<String>) -> Duration {
    let exported = exports.iter().rev().find(|(k, _)| k == "PARTYLINE_CONNECT_TIMEOUT");
    let value =
        exported.and_then(|(_, v)| v.to_str().map(str::to_string)).or_else(|| read_var("PARTYLINE_CONNECT_TIMEOUT"));
    let secs = value.and_then(|v| v.trim().parse::<f64>().ok()).filter(|s| s.is_finite() && *s > 0.0);
    Duration::from_secs_f64(secs.unwrap_or(30.0))
}

/// The host of each rank from --host and the host files, or `None` when no host was given.
fn placement(cli: &Cli) -> Result<Option<Vec<String>>, ArgsError> {
    let mut hosts = Vec::new();
    for list in &cli.host {
        hosts.extend(crate::hosts::parse_list(list).map_err(ArgsError::Usage)?);
    }
    for file in &cli.hostfile {
        let text = std::fs::read_to_string(file)
            .map_err(|e| ArgsError::Usage(format!("cannot read the host file {}: {e}", file.display())))?;
        hosts.extend(crate::hosts::parse_file(&text, &file.display().to_string()).map_err(ArgsError::Usage)?);
    }
    if hosts.is_empty() {
        return Ok(None);
    }
    crate::hosts::place(&hosts, cli.ranks, cli.oversubscribe).map(Some).map_err(ArgsError::Usage)
}

/// Parses argv (including argv[0]); `lookup` reads partyrun's environment for `-x VAR`.
pub fn parse(
    argv: impl IntoIterator<Item = OsString>,
    lookup: impl Fn(&OsStr) -> Option<OsString>,
) -> Result<Config, ArgsError> {
    let read_var =
        |name: &str| lookup(OsStr::new(name)).and_then(|v| v.into_string().ok()).filter(|v| !v.trim().is_empty());
    let mut cmd = Cli::command();
    cmd.build();
    let argv = crate::argv::normalize(&cmd, argv.into_iter().collect());
    let cli = Cli::try_parse_from(argv).map_err(ArgsError::Clap)?;
    let mut settings = cli.export.clone();
    settings.extend(crate::compat::env_pairs(&cli.genv));
    let exports = resolve_exports(&settings, &lookup).map_err(ArgsError::Usage)?;
    let mca = crate::compat::mca(&cli.mca);
    let mut warnings: Vec<String> = crate::compat::ignored_warning(&mca).into_iter().collect();
    let hosts = placement(&cli)?;
    let ranks = match &hosts {
        Some(h) => h.len(),
        None => cli.ranks.unwrap_or(1),
    };
    let tls = match (&cli.tls_dir, &cli.tls_psk) {
        (Some(dir), _) => Tls::Dir(tls_dir(dir, ranks).map_err(ArgsError::Usage)?),
        (None, Some(file)) => Tls::Psk(psk_file(file).map_err(ArgsError::Usage)?),
        (None, None) if cli.insecure => Tls::Insecure,
        (None, None) => Tls::Default,
    };
    let remote = hosts.as_ref().is_some_and(|h| h.iter().any(|host| !crate::hosts::is_local(host)));
    let hosts = hosts.filter(|_| remote);
    if tls == Tls::Insecure && remote {
        warnings.push("--insecure: the links between hosts are plaintext, unencrypted and unauthenticated; anyone on the path can read and alter the shares".into());
    }
    let connect_timeout = connect_timeout(&exports, &read_var);
    let agent = cli.launch_agent.clone().or(mca.launch_agent.clone()).or_else(|| read_var("PARTYLINE_RSH"));
    let launch_agent = match agent {
        Some(a) => crate::compat::agent_words(&a).map_err(ArgsError::Usage)?,
        // SSH gets the ranks' own timeout, so an unreachable host is reported within it.
        None => default_agent(connect_timeout),
    };
    let mut command = cli.command.into_iter();
    let program = command
        .next()
        .ok_or_else(|| ArgsError::Usage("no program given; usage: partyrun -n N PROGRAM [ARGS]...".to_string()))?;
    Ok(Config {
        ranks,
        hosts,
        launch_agent,
        launcher_address: cli.launcher_address,
        interface: mca.interface,
        wdir: cli.wdir,
        connect_timeout,
        tls,
        warnings,
        exports,
        tag_output: cli.tag_output,
        timeout: cli.timeout,
        kill_grace: cli.kill_grace,
        program,
        args: command.collect(),
    })
}

#[cfg(test)]
mod tests;
