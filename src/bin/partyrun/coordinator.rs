//! `partyrun --coordinator ADDR -n N`: serves the rendezvous of one job whose parties run elsewhere, then exits.

use crate::args::{parse_ranks, parse_timeout};
use crate::report;
use clap::{CommandFactory, Parser};
use partyline::rendezvous::{serve, Expected, Rendezvous};
use std::ffi::OsString;
use std::net::TcpListener;
use std::time::Duration;

/// Defaults shared with the parties (PARTYLINE_CONNECT_TIMEOUT, PARTYLINE_HANDSHAKE_TIMEOUT).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const GREETING_TIMEOUT: Duration = Duration::from_secs(5);

const AFTER_HELP: &str = "\
Every party sets PARTYLINE_COORDINATOR to an address that reaches ADDR and
PARTYLINE_COORDINATOR_ROLE=external. Once all N ranks have registered, each gets the table of
every rank's address, the coordinator prints it and exits 0. If a rank has not registered within
--timeout, the coordinator tells the waiting parties which ranks are missing and exits 1.

--job-id defaults to PARTYLINE_JOB_ID, else \"default\"; --timeout to PARTYLINE_CONNECT_TIMEOUT, else 30.";

#[derive(Parser, Debug)]
#[command(
    name = "partyrun --coordinator",
    version = concat!("(partyline) ", env!("CARGO_PKG_VERSION")),
    about = "Serve the rendezvous of one job: collect each party's address, hand out the table, exit",
    override_usage = "partyrun --coordinator ADDR -n N [--job-id ID] [--timeout SECS]",
    after_help = AFTER_HELP
)]
struct Cli {
    /// host:port to listen on, e.g. 0.0.0.0:7000
    #[arg(long, value_name = "ADDR")]
    coordinator: String,

    /// Number of ranks in the job, 1 to 64 (also -np, -c, --n)
    #[arg(short = 'n', long = "np", short_alias = 'c', alias = "n", value_name = "N",
          value_parser = parse_ranks, allow_negative_numbers = true)]
    ranks: usize,

    /// Job id the parties must present (their PARTYLINE_JOB_ID)
    #[arg(long, value_name = "ID")]
    job_id: Option<String>,

    /// Give up after SECS seconds if a rank has not registered
    #[arg(long, value_name = "SECS", value_parser = parse_timeout, allow_negative_numbers = true)]
    timeout: Option<Duration>,
}

/// Options the coordinator accepts that take a value, so `-n 3 --coordinator X` is recognised too.
const VALUED: &[&str] = &["-n", "-np", "--np", "-c", "--n", "--job-id", "-job-id", "--timeout", "-timeout"];

/// True when argv asks for the coordinator: `--coordinator` among the leading options, before
/// anything that could be a program name (whose own arguments may say `--coordinator`).
pub fn requested(argv: &[OsString]) -> bool {
    let mut it = argv.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(arg) = it.next() {
        let name = arg.split('=').next().unwrap_or("");
        if name == "--coordinator" || name == "-coordinator" {
            return true;
        }
        if arg == "--" || !arg.starts_with('-') {
            return false;
        }
        if VALUED.contains(&arg.as_ref()) {
            it.next();
        }
    }
    false
}

/// Runs the coordinator; returns the exit status.
pub fn main(argv: Vec<OsString>) -> i32 {
    let mut cmd = Cli::command();
    cmd.build();
    // `partyrun --coordinator --help` would otherwise read as a missing ADDR.
    if argv.iter().skip(1).any(|a| a == "--help" || a == "-h") {
        let _ = cmd.print_long_help();
        return 0;
    }
    let cli = match Cli::try_parse_from(crate::argv::normalize(&cmd, argv)) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let (job_id, timeout) = match settings(&cli) {
        Ok(s) => s,
        Err(message) => {
            report(message);
            return 2;
        }
    };
    let listener = match TcpListener::bind(&cli.coordinator) {
        Ok(l) => l,
        Err(e) => {
            report(format_args!("cannot listen on {}: {e}; is another process using the port?", cli.coordinator));
            return 1;
        }
    };
    let local = listener.local_addr().map_or_else(|_| cli.coordinator.clone(), |a| a.to_string());
    report(format_args!("coordinator for job {job_id:?} ({} ranks) listening on {local}", cli.ranks));
    let rv = Rendezvous {
        listener: &listener,
        address: cli.coordinator.clone(),
        expected: Expected { job_id, size: cli.ranks },
        timeout,
        greeting_timeout: GREETING_TIMEOUT,
        raise: "raise --timeout on partyrun --coordinator and PARTYLINE_CONNECT_TIMEOUT on the parties".into(),
    };
    match serve(&rv, None) {
        Ok(table) => {
            for (rank, addr) in table.iter().enumerate() {
                println!("rank {rank} {addr}");
            }
            report(format_args!("rendezvous complete: the table went to all {} ranks", table.len()));
            0
        }
        Err(e) => {
            report(&e.message);
            1
        }
    }
}

/// The job id and timeout: from the options, else the parties' own variables, else their defaults.
fn settings(cli: &Cli) -> Result<(String, Duration), String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let job_id = cli.job_id.clone().or_else(|| env("PARTYLINE_JOB_ID")).unwrap_or_else(|| "default".into());
    if job_id.len() > 255 {
        return Err("the job id is longer than 255 bytes".into());
    }
    let timeout = match (cli.timeout, env("PARTYLINE_CONNECT_TIMEOUT")) {
        (Some(t), _) => t,
        (None, Some(v)) => {
            parse_timeout(&v).map_err(|e| format!("PARTYLINE_CONNECT_TIMEOUT={v:?}: {e}; fix it or pass --timeout"))?
        }
        (None, None) => DEFAULT_TIMEOUT,
    };
    Ok((job_id, timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<OsString> {
        std::iter::once("partyrun").chain(args.iter().copied()).map(OsString::from).collect()
    }

    #[test]
    fn recognised_only_among_leading_options() {
        assert!(requested(&argv(&["--coordinator", "0.0.0.0:7000", "-n", "3"])));
        assert!(requested(&argv(&["-n", "3", "--timeout", "9", "--coordinator=0.0.0.0:7000"])));
        assert!(requested(&argv(&["-np", "3", "-coordinator", "h:1"])));
        assert!(!requested(&argv(&["-n", "3", "./prog", "--coordinator", "h:1"])));
        assert!(!requested(&argv(&["-n", "3", "--", "--coordinator"])));
        assert!(!requested(&argv(&["-n", "3", "./prog"])));
    }

    #[test]
    fn options_parse() {
        let mut cmd = Cli::command();
        cmd.build();
        let parse = |args: &[&str]| Cli::try_parse_from(crate::argv::normalize(&cmd, argv(args)));
        let cli = parse(&["--coordinator", "0.0.0.0:7000", "-np", "3", "--timeout", "2.5"]).unwrap();
        assert_eq!((cli.ranks, cli.timeout), (3, Some(Duration::from_millis(2500))));
        assert!(parse(&["--coordinator", "h:1"]).is_err(), "-n is required");
        assert!(parse(&["--coordinator", "h:1", "-n", "65"]).is_err());
    }
}
