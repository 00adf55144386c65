//! Diagnostics on stderr, each line prefixed with the rank so interleaved output stays readable.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

static RANK: AtomicI64 = AtomicI64::new(-1);
static VERBOSE: AtomicBool = AtomicBool::new(false);

pub fn set_rank(rank: usize, verbose: bool) {
    RANK.store(rank as i64, Ordering::Relaxed);
    VERBOSE.store(verbose, Ordering::Relaxed);
}

fn prefix() -> String {
    match RANK.load(Ordering::Relaxed) {
        r if r >= 0 => format!("partyline[rank {r}]"),
        _ => "partyline".into(),
    }
}

fn emit(level: &str, msg: &str) {
    // One write per line, so lines from several threads do not interleave.
    let line = format!("{}: {level}{msg}\n", prefix());
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

pub fn error(msg: &str) {
    emit("error: ", msg);
}

pub fn warn(msg: &str) {
    emit("warning: ", msg);
}

pub fn info(msg: &str) {
    if VERBOSE.load(Ordering::Relaxed) {
        emit("", msg);
    }
}
