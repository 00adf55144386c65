//! `partyrun certs`: creates a test CA and one certificate and key per party, or a pre-shared
//! key, for `partyrun --tls-dir` and for small deployments across hosts.

use crate::args::parse_ranks;
use crate::report;
use clap::Parser;
use partyline::security::DEFAULT_NAME_PATTERN;
use partyline::tls::authority::{random_psk, Authority};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

const AFTER_HELP: &str = "\
With --parties N --out DIR, writes DIR/ca.pem and DIR/ca.key (the CA), and for each rank R
DIR/rank-R.pem and DIR/rank-R.key, whose certificate is issued for the name rank-R.partyline
(or --name's pattern). Keys are written with mode 0600. Then:
  partyrun --tls-dir DIR -n N ./prog                       a local job over TLS
  PARTYLINE_TLS_DIR=DIR PARTYLINE_RANK=R ... ./prog       one party of a job across hosts
Give each host only ca.pem and its own rank's pair; keep ca.key offline.

With --psk FILE, writes a random pre-shared key (64 hex digits, mode 0600) instead. Every party
sets PARTYLINE_TLS_PSK_FILE to a copy of it.";

#[derive(Parser, Debug)]
#[command(
    name = "partyrun certs",
    about = "Create a CA and per-rank certificates, or a pre-shared key, for partyline's TLS",
    override_usage = "partyrun certs --parties N --out DIR [--days DAYS] [--name PATTERN]\n       partyrun certs --psk FILE",
    after_help = AFTER_HELP
)]
struct Cli {
    /// Number of parties (ranks 0 to N-1)
    #[arg(long, value_name = "N", value_parser = parse_ranks, required_unless_present = "psk")]
    parties: Option<usize>,

    /// Directory to write the files into (created if missing)
    #[arg(long, value_name = "DIR", required_unless_present = "psk")]
    out: Option<PathBuf>,

    /// Validity of the CA and the certificates, in days
    #[arg(long, value_name = "DAYS", default_value = "365", value_parser = clap::value_parser!(u32).range(1..=36500))]
    days: u32,

    /// Certificate name pattern; {rank} becomes the rank (set PARTYLINE_TLS_NAME to match)
    #[arg(long, value_name = "PATTERN", default_value = DEFAULT_NAME_PATTERN)]
    name: String,

    /// Write a random pre-shared key to FILE instead of certificates
    #[arg(long, value_name = "FILE", conflicts_with_all = ["parties", "out"])]
    psk: Option<PathBuf>,
}

/// True when argv is `partyrun certs ...`.
pub fn requested(argv: &[OsString]) -> bool {
    argv.get(1).is_some_and(|a| a == "certs")
}

pub fn main(argv: Vec<OsString>) -> i32 {
    let cli = match Cli::try_parse_from(argv.into_iter().skip(1)) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match run(&cli) {
        Ok(summary) => {
            println!("{summary}");
            0
        }
        Err(message) => {
            report(message);
            1
        }
    }
}

fn run(cli: &Cli) -> Result<String, String> {
    if let Some(path) = &cli.psk {
        write_secret(path, &format!("{}\n", random_psk().map_err(|e| e.message)?))?;
        return Ok(format!(
            "wrote a pre-shared key to {}; give every party a copy as PARTYLINE_TLS_PSK_FILE",
            path.display()
        ));
    }
    let (Some(parties), Some(out)) = (cli.parties, &cli.out) else {
        return Err("give --parties N and --out DIR, or --psk FILE".into());
    };
    if !cli.name.contains("{rank}") {
        return Err(format!("--name {:?} lacks {{rank}}: each rank needs its own name", cli.name));
    }
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let days = i64::from(cli.days);
    let ca = Authority::generate("partyline test CA", days).map_err(|e| e.message)?;
    write_public(&out.join("ca.pem"), &ca.cert_pem())?;
    write_secret(&out.join("ca.key"), &ca.key_pem())?;
    let now = time::OffsetDateTime::now_utc();
    for rank in 0..parties {
        let name = cli.name.replace("{rank}", &rank.to_string());
        let (cert, key) =
            ca.issue(&name, now - time::Duration::days(1), now + time::Duration::days(days)).map_err(|e| e.message)?;
        write_public(&out.join(format!("rank-{rank}.pem")), &cert)?;
        write_secret(&out.join(format!("rank-{rank}.key")), &key)?;
    }
    Ok(format!(
        "wrote a CA and certificates for ranks 0 to {} to {}, valid for {days} days; run with partyrun --tls-dir {} -n {parties} PROGRAM",
        parties - 1,
        out.display(),
        out.display()
    ))
}

fn write_public(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Writes a key readable by its owner only, replacing any older file.
fn write_secret(path: &Path, text: &str) -> Result<(), String> {
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    file.write_all(text.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
