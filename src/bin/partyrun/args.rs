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
PARTYLINE_LISTEN_FD (its already-listening socket), PARTYLINE_JOB_ID (random unless already set),
PARTYLINE_LAUNCHER=partyrun, PARTYLINE_EXIT_REPORT (a file where the library notes that the rank
ends because another rank failed), and OMPI_COMM_WORLD_RANK/SIZE/LOCAL_RANK and PMI_RANK/SIZE for scripts.
Rank 0 reads partyrun's stdin; the other ranks get /dev/null.

partyrun starts local ranks only. For several hosts, start each party by hand with
PARTYLINE_RANK, PARTYLINE_SIZE and PARTYLINE_PEERS (or PARTYLINE_COORDINATOR) set (see the README).
`partyrun --coordinator ADDR -n N` serves one job's rendezvous (see `partyrun --coordinator --help`).

Exit status: that of the first rank to fail (128+N if killed by signal N), not counting ranks that
only ended because another rank failed; 124 on --timeout,
128+N if partyrun is stopped by signal N, 127 if PROGRAM cannot be executed, 2 for usage errors.";

#[derive(Parser, Debug)]
#[command(
    name = "partyrun",
    version = concat!("(partyline) ", env!("CARGO_PKG_VERSION")),
    about = "Start and supervise the local ranks of a program linked against partyline",
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

    /// Accepted for Open MPI compatibility; has no effect
    #[arg(long)]
    oversubscribe: bool,

    /// Accepted for Open MPI compatibility; has no effect
    #[arg(long)]
    allow_run_as_root: bool,

    /// Not supported: partyrun starts local ranks only
    #[arg(short = 'H', long = "host", value_name = "HOSTS", action = ArgAction::Append)]
    host: Vec<String>,

    /// Not supported: partyrun starts local ranks only
    #[arg(long, value_name = "FILE", action = ArgAction::Append)]
    hostfile: Vec<OsString>,

    /// Not supported: partyrun starts local ranks only
    #[arg(long, value_name = "FILE", action = ArgAction::Append)]
    machinefile: Vec<OsString>,

    /// The program to start in every rank, and its arguments
    #[arg(value_name = "PROGRAM", trailing_var_arg = true,
          value_parser = clap::value_parser!(OsString))]
    command: Vec<OsString>,
}

/// A validated launch request.
#[derive(Debug)]
pub struct Config {
    pub ranks: usize,
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

/// Parses argv (including argv[0]); `lookup` reads partyrun's environment for `-x VAR`.
pub fn parse(
    argv: impl IntoIterator<Item = OsString>,
    lookup: impl Fn(&OsStr) -> Option<OsString>,
) -> Result<Config, ArgsError> {
    let mut cmd = Cli::command();
    cmd.build();
    let argv = crate::argv::normalize(&cmd, argv.into_iter().collect());
    let cli = Cli::try_parse_from(argv).map_err(ArgsError::Clap)?;
    let hosts_given = !cli.host.is_empty() || !cli.hostfile.is_empty() || !cli.machinefile.is_empty();
    if hosts_given {
        return Err(ArgsError::Usage(
            "--host, --hostfile and --machinefile are not supported: partyrun launches local ranks \
             only. To run on several hosts, start each party by hand with PARTYLINE_RANK, \
             PARTYLINE_SIZE and PARTYLINE_PEERS set (see the README)"
                .to_string(),
        ));
    }
    let mut exports = resolve_exports(&cli.export, lookup).map_err(ArgsError::Usage)?;
    let ranks = cli.ranks.unwrap_or(1);
    if let Some(dir) = &cli.tls_dir {
        exports.push(("PARTYLINE_TLS_DIR".into(), tls_dir(dir, ranks).map_err(ArgsError::Usage)?.into()));
    }
    if let Some(file) = &cli.tls_psk {
        let file =
            std::path::absolute(file).map_err(|e| ArgsError::Usage(format!("--tls-psk {}: {e}", file.display())))?;
        if !file.is_file() {
            return Err(ArgsError::Usage(format!(
                "--tls-psk {}: no such file; create one with partyrun certs --psk FILE",
                file.display()
            )));
        }
        exports.push(("PARTYLINE_TLS_PSK_FILE".into(), file.into()));
    }
    let mut command = cli.command.into_iter();
    let program = command
        .next()
        .ok_or_else(|| ArgsError::Usage("no program given; usage: partyrun -n N PROGRAM [ARGS]...".to_string()))?;
    Ok(Config {
        ranks,
        exports,
        tag_output: cli.tag_output,
        timeout: cli.timeout,
        kill_grace: cli.kill_grace,
        program,
        args: command.collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &OsStr) -> Option<OsString> {
        (name == "SET_VAR").then(|| "from-env".into())
    }

    fn parse_ok(args: &[&str]) -> Config {
        let argv = std::iter::once("mpirun").chain(args.iter().copied()).map(OsString::from);
        match parse(argv, env) {
            Ok(c) => c,
            Err(e) => panic!("{args:?} failed: {e:?}"),
        }
    }

    fn usage_err(args: &[&str]) -> String {
        let argv = std::iter::once("partyrun").chain(args.iter().copied()).map(OsString::from);
        match parse(argv, env) {
            Err(ArgsError::Usage(m)) => m,
            Err(ArgsError::Clap(e)) => {
                assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
                e.to_string()
            }
            Ok(c) => panic!("{args:?} should fail, got {c:?}"),
        }
    }

    #[test]
    fn rank_count_forms() {
        for form in [
            &["-n", "3"][..],
            &["-np", "3"],
            &["--np", "3"],
            &["--np=3"],
            &["-np=3"],
            &["-c", "3"],
            &["--n", "3"],
            &["-n3"],
            &["-n=3"],
        ] {
            let mut args = form.to_vec();
            args.push("./prog");
            let c = parse_ok(&args);
            assert_eq!((c.ranks, c.program.to_str()), (3, Some("./prog")), "{form:?}");
        }
        assert_eq!(parse_ok(&["./prog"]).ranks, 1);
    }

    #[test]
    fn bad_rank_counts() {
        for n in ["0", "65", "-1", "abc", ""] {
            let msg = usage_err(&["-n", n, "./prog"]);
            assert!(msg.contains("1 to 64 ranks"), "{n}: {msg}");
        }
    }

    #[test]
    fn trailing_program_args_are_not_options() {
        let c = parse_ok(&["-np", "2", "./prog", "-x", "foo", "-n", "9", "--timeout", "--"]);
        assert_eq!(c.ranks, 2);
        assert!(c.exports.is_empty());
        assert_eq!(c.args, ["-x", "foo", "-n", "9", "--timeout", "--"]);
        let c = parse_ok(&["-n", "2", "--", "-prog", "--help"]);
        assert_eq!((c.program.to_str(), c.args.len()), (Some("-prog"), 1));
    }

    #[test]
    fn export_forms() {
        let c = parse_ok(&["-x", "A=1", "-x", "SET_VAR", "-xB=x=y", "-x", "EMPTY=", "prog"]);
        let got: Vec<_> = c.exports.iter().map(|(k, v)| (k.to_str().unwrap(), v.to_str().unwrap())).collect();
        assert_eq!(got, [("A", "1"), ("SET_VAR", "from-env"), ("B", "x=y"), ("EMPTY", "")]);
        assert!(usage_err(&["-x", "UNSET_VAR", "prog"]).contains("UNSET_VAR is not set"));
        assert!(usage_err(&["-x", "=1", "prog"]).contains("VAR=VALUE"));
        assert!(usage_err(&["-x", "PARTYLINE_RANK=1", "prog"]).contains("sets PARTYLINE_RANK"));
    }

    #[test]
    fn flags_and_times() {
        let c = parse_ok(&[
            "--oversubscribe",
            "-allow-run-as-root",
            "--prefix-rank",
            "--timeout",
            "1.5",
            "--kill-grace=0",
            "prog",
        ]);
        assert!(c.tag_output);
        assert_eq!(c.timeout, Some(Duration::from_millis(1500)));
        assert_eq!(c.kill_grace, Duration::ZERO);
        assert_eq!(parse_ok(&["prog"]).kill_grace, Duration::from_secs(2));
        assert!(parse_ok(&["-tag-output", "prog"]).tag_output);
        for bad in [&["--timeout", "0", "p"][..], &["--timeout", "x", "p"], &["--kill-grace", "-1", "p"]] {
            usage_err(bad);
        }
    }

    #[test]
    fn hosts_are_rejected() {
        for form in [
            &["-H", "a,b"][..],
            &["--host", "a"],
            &["-host", "a"],
            &["--hostfile", "f"],
            &["-hostfile", "f"],
            &["--machinefile", "f"],
        ] {
            let mut args = form.to_vec();
            args.extend(["-n", "2", "prog"]);
            let msg = usage_err(&args);
            assert!(msg.contains("local ranks only") && msg.contains("PARTYLINE_PEERS"), "{msg}");
        }
    }

    #[test]
    fn missing_program_and_unknown_options() {
        assert!(usage_err(&["-n", "2"]).contains("no program given"));
        assert!(usage_err(&["--bogus", "prog"]).contains("--bogus"));
    }

    #[test]
    fn help_and_version_exit_zero() {
        for flag in ["--help", "-h", "--version", "-V"] {
            match parse([OsString::from("mpiexec"), flag.into()], env) {
                Err(ArgsError::Clap(e)) => assert_eq!(e.exit_code(), 0, "{flag}"),
                other => panic!("{flag}: {other:?}"),
            }
        }
        let Err(ArgsError::Clap(e)) = parse(["mpirun".into(), "--version".into()], env) else {
            panic!("--version did not stop parsing")
        };
        assert_eq!(e.to_string().trim(), concat!("partyrun (partyline) ", env!("CARGO_PKG_VERSION")));
    }
}
