//! partyrun, also installed as mpirun and mpiexec: starts and supervises a job's ranks, on this host or across hosts over SSH.

mod agent;
mod args;
mod argv;
mod blame;
mod certs;
mod cluster;
mod compat;
mod coordinator;
mod environment;
mod hosts;
mod job;
mod output;
mod protocol;
mod pty;
mod reaper;
mod remote;
mod reports;
mod secret;
mod signals;
mod supervisor;

use std::fmt::Display;
use std::io::Write;
use std::time::Duration;

/// How long to keep copying the ranks' output after the last one exits, for what is still in the ptys or pipes.
const OUTPUT_DRAIN: Duration = Duration::from_secs(1);

/// An error that ends partyrun with `status` after reporting `message`.
pub struct Fatal {
    pub status: i32,
    pub message: String,
}

impl Fatal {
    pub fn new(status: i32, message: String) -> Fatal {
        Fatal { status, message }
    }
}

/// Writes "partyrun: <message>" to stderr. Never panics: if stderr is gone, so is the message.
/// One write, so that the line cannot be split by the ranks' own output on the same stderr.
pub fn report(message: impl Display) {
    let line = format!("partyrun: {message}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

fn main() {
    // Subcommands (`partyrun --coordinator ...` and `partyrun certs ...`) are dispatched
    // here, before the launcher's own parsing, which treats the first word that is not an option
    // as the program to run.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if certs::requested(&argv) {
        std::process::exit(certs::main(argv));
    }
    if coordinator::requested(&argv) {
        std::process::exit(coordinator::main(argv));
    }
    if agent::requested(&argv) {
        std::process::exit(agent::main());
    }
    let cfg = match args::parse(argv, |name| std::env::var_os(name)) {
        Ok(cfg) => cfg,
        Err(args::ArgsError::Clap(e)) => e.exit(),
        Err(args::ArgsError::Usage(message)) => {
            report(message);
            std::process::exit(2);
        }
    };
    std::process::exit(run(&cfg));
}

fn run(cfg: &args::Config) -> i32 {
    for warning in &cfg.warnings {
        report(warning);
    }
    if let Err(e) = signals::install() {
        report(format_args!("cannot install signal handlers: {e}"));
        return 1;
    }
    // Without it (Linux before 3.4) a rank's own children may outlive an aborted job;
    // everything else still works, so carry on.
    let _ = reaper::adopt_orphans();
    // Without it partyrun can still run the job, but may blame a rank that only ended because
    // another one failed.
    let reports = reports::ReportDir::create()
        .inspect_err(|e| report(format_args!("cannot create a directory for the ranks' exit reports: {e}")))
        .ok();
    let mut job = job::Job::new();
    let status = match job.start(cfg, reports.as_ref()) {
        Ok(()) => supervisor::supervise(&mut job.ranks, cfg.timeout, cfg.kill_grace, reports.as_ref()),
        Err(fatal) => {
            report(&fatal.message);
            supervisor::stop_all(&mut job.ranks);
            fatal.status
        }
    };
    reaper::kill_leftovers();
    if let Some(forwarders) = job.forwarders.take() {
        forwarders.finish(OUTPUT_DRAIN);
    }
    status
}
