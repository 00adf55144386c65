//! Diagnostics on stderr, each line prefixed with the rank so interleaved output stays readable.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static RANK: AtomicI64 = AtomicI64::new(-1);
static VERBOSE: AtomicBool = AtomicBool::new(false);

/// At most this many warnings of one kind are printed per window; the rest are counted.
pub const REPEAT_BURST: u32 = 5;
/// How long a window of repeated warnings lasts before its count is printed.
pub const REPEAT_WINDOW: Duration = Duration::from_secs(10);

static REPEATS: Mutex<Repeats> = Mutex::new(Repeats::new(REPEAT_WINDOW, REPEAT_BURST));

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

/// A warning that strangers can make us repeat at will (refused connections, failed accepts):
/// the first `REPEAT_BURST` of each `kind` per `REPEAT_WINDOW` are printed, the rest counted and
/// summed up in one line. `kind` names what repeats, in the plural ("refused connections"), as
/// the summary reads "... and 4,312 more refused connections in the last 10 s".
pub fn warn_repeated(kind: &'static str, msg: &str) {
    let mut repeats = REPEATS.lock().unwrap_or_else(|p| p.into_inner());
    let (summary, show) = repeats.note(kind, Instant::now());
    // Under the lock, so an old window's count is printed before the new window's lines.
    if let Some(summary) = summary {
        warn(&summary);
    }
    if show {
        warn(msg);
    }
}

/// Prints the count of every kind of repeated warning not yet summed up, e.g. when the loop that
/// logged them ends, so the last window's count is not lost.
pub fn flush_repeated() {
    let mut repeats = REPEATS.lock().unwrap_or_else(|p| p.into_inner());
    for summary in repeats.flush(Instant::now()) {
        warn(&summary);
    }
}

/// The counting behind `warn_repeated`, with the time passed in so it can be tested.
#[derive(Debug)]
pub struct Repeats {
    window: Duration,
    burst: u32,
    /// A handful of kinds at most, so a list is cheaper than a map (and constructible in a const).
    kinds: Vec<Window>,
}

#[derive(Debug)]
struct Window {
    kind: &'static str,
    started: Instant,
    shown: u32,
    hidden: u64,
}

impl Repeats {
    pub const fn new(window: Duration, burst: u32) -> Repeats {
        Repeats { window, burst, kinds: Vec::new() }
    }

    /// Notes one warning of `kind` at `now`. Returns the summary of an ended window, to print
    /// first, and whether to print this warning.
    pub fn note(&mut self, kind: &'static str, now: Instant) -> (Option<String>, bool) {
        let Some(i) = self.kinds.iter().position(|w| w.kind == kind) else {
            self.kinds.push(Window { kind, started: now, shown: 1, hidden: 0 });
            return (None, self.burst > 0);
        };
        let w = &mut self.kinds[i];
        if now.saturating_duration_since(w.started) >= self.window {
            let summary = summary(w, now);
            *w = Window { kind, started: now, shown: 1, hidden: 0 };
            return (summary, self.burst > 0);
        }
        if w.shown < self.burst {
            w.shown += 1;
            return (None, true);
        }
        w.hidden += 1;
        (None, false)
    }

    /// The summaries of every window with hidden warnings; every kind starts afresh after it.
    pub fn flush(&mut self, now: Instant) -> Vec<String> {
        self.kinds.drain(..).filter_map(|w| summary(&w, now)).collect()
    }
}

/// "... and 4,312 more refused connections in the last 10 s", or None if nothing was hidden.
fn summary(w: &Window, now: Instant) -> Option<String> {
    if w.hidden == 0 {
        return None;
    }
    // From the window's start to now: every hidden warning falls in it, however late the
    // summary is printed.
    let secs = now.saturating_duration_since(w.started).as_secs_f64().round().max(1.0);
    Some(format!("... and {} more {} in the last {secs:.0} s", thousands(w.hidden), w.kind))
}

/// 4312 as "4,312".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIND: &str = "refused connections";

    fn limiter() -> (Repeats, Instant) {
        (Repeats::new(Duration::from_secs(10), 5), Instant::now())
    }

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(4312), "4,312");
        assert_eq!(thousands(61_057), "61,057");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn a_burst_is_shown_then_the_rest_counted() {
        let (mut r, t0) = limiter();
        let shown: Vec<bool> = (0..8).map(|i| r.note(KIND, at(t0, i)).1).collect();
        assert_eq!(shown, [true, true, true, true, true, false, false, false]);
        assert!(r.note(KIND, at(t0, 9_999)).0.is_none(), "no summary before the window ends");
    }

    #[test]
    fn the_next_warning_after_the_window_brings_the_count() {
        let (mut r, t0) = limiter();
        for i in 0..4317 {
            r.note(KIND, at(t0, i));
        }
        let (summary, shown) = r.note(KIND, at(t0, 10_000));
        assert_eq!(summary.as_deref(), Some("... and 4,312 more refused connections in the last 10 s"));
        assert!(shown, "a new window starts with this warning, shown");
        let shown: Vec<bool> = (1..6).map(|i| r.note(KIND, at(t0, 10_000 + i)).1).collect();
        assert_eq!(shown, [true, true, true, true, false]);
    }

    #[test]
    fn a_quiet_window_ends_without_a_summary() {
        let (mut r, t0) = limiter();
        for i in 0..5 {
            r.note(KIND, at(t0, i));
        }
        assert_eq!(r.note(KIND, at(t0, 60_000)), (None, true));
    }

    #[test]
    fn a_late_summary_names_the_time_it_covers() {
        let (mut r, t0) = limiter();
        for i in 0..7 {
            r.note(KIND, at(t0, i));
        }
        let (summary, _) = r.note(KIND, at(t0, 95_000));
        assert_eq!(summary.as_deref(), Some("... and 2 more refused connections in the last 95 s"));
    }

    #[test]
    fn kinds_are_counted_apart() {
        let (mut r, t0) = limiter();
        for i in 0..6 {
            r.note(KIND, at(t0, i));
        }
        assert!(r.note("failed accepts", at(t0, 10)).1, "another kind has its own burst");
        assert_eq!(r.flush(at(t0, 3_000)), ["... and 1 more refused connections in the last 3 s"]);
    }

    #[test]
    fn flush_reports_once_and_starts_afresh() {
        let (mut r, t0) = limiter();
        for i in 0..9 {
            r.note(KIND, at(t0, i));
        }
        assert_eq!(r.flush(at(t0, 200)), ["... and 4 more refused connections in the last 1 s"]);
        assert!(r.flush(at(t0, 300)).is_empty());
        assert_eq!(r.note(KIND, at(t0, 400)), (None, true));
    }
}
