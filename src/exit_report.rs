//! Tells the launcher that this process is ending because of another rank, so it can blame the right one.
//!
//! When one rank dies, the others lose their links to it and end too, often with the same or
//! a similar status and sometimes before the launcher has seen the original failure. A
//! launcher that only sees exit statuses cannot tell the cause from the collateral damage.
//!
//! Contract: a launcher that wants to know sets `PARTYLINE_EXIT_REPORT` to a path, one per
//! rank, in a directory it owns (partyrun uses a private temporary directory). Before ending the
//! process because of another rank's failure, the library creates that file and writes one line:
//!
//! ```text
//! collateral <rank|-> <why>
//! ```
//!
//! where `<rank>` is the rank that caused it, when known, and `<why>` is a one-line reason. A rank
//! that fails for its own reasons (a crash, `exit(3)`, its own `MPI_Abort`) writes nothing.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

/// The environment variable naming this rank's report file.
pub const VAR: &str = "PARTYLINE_EXIT_REPORT";

/// Records that the process is about to end because of `cause_rank` (if known). Best effort:
/// never panics, ignores I/O errors, and does nothing when `PARTYLINE_EXIT_REPORT` is unset.
pub fn collateral(cause_rank: Option<usize>, why: &str) {
    let Some(path) = std::env::var_os(VAR).filter(|p| !p.is_empty()) else {
        return;
    };
    let line = format_line(cause_rank, why);
    // create_new: never overwrite a file that is already there, should the variable leak to a
    // program it was not meant for; and the first report is the one that counts anyway.
    let file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
    if let Ok(mut file) = file {
        let _ = file.write_all(line.as_bytes());
    }
}

/// The report line: the reason is kept to one line, so the file is always one record.
fn format_line(cause_rank: Option<usize>, why: &str) -> String {
    let rank = cause_rank.map_or_else(|| "-".to_string(), |r| r.to_string());
    let why: String = why.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    format!("collateral {rank} {why}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_report() {
        assert_eq!(format_line(Some(2), "rank 2 called MPI_Abort"), "collateral 2 rank 2 called MPI_Abort\n");
        assert_eq!(format_line(None, "lost\nrank 1"), "collateral - lost rank 1\n");
    }
}
