//! Communication statistics (`PARTYLINE_STATS`): always-on relaxed counters, reported at `MPI_Finalize`.

use crate::config::{Config, StatsDestination};
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The path a rank writes: every `%r` replaced by the rank, so ranks sharing a directory
/// do not overwrite each other.
pub fn path_for(template: &str, rank: usize) -> String {
    template.replace("%r", &rank.to_string())
}

/// One peer's counters, on a cache line of its own: different threads move different links.
#[derive(Default)]
#[repr(align(64))]
struct PeerCounters {
    messages_sent: AtomicU64,
    bytes_sent: AtomicU64,
    messages_received: AtomicU64,
    bytes_received: AtomicU64,
    reconnects: AtomicU64,
    widenings: AtomicU64,
    down_nanos: AtomicU64,
}

/// The live counters. Relaxed atomics: each is an independent tally, read only at the end,
/// after the communication thread has been joined.
pub struct Stats {
    peers: Box<[PeerCounters]>,
    largest_sent: AtomicU64,
    largest_received: AtomicU64,
    blocking_waits: AtomicU64,
    blocked_nanos: AtomicU64,
}

fn raise(max: &AtomicU64, len: u64) {
    // A plain load first: the read-modify-write is only paid when a new maximum appears.
    if len > max.load(Relaxed) {
        max.fetch_max(len, Relaxed);
    }
}

impl Stats {
    pub fn new(size: usize) -> Stats {
        Stats {
            peers: (0..size).map(|_| PeerCounters::default()).collect(),
            largest_sent: AtomicU64::new(0),
            largest_received: AtomicU64::new(0),
            blocking_waits: AtomicU64::new(0),
            blocked_nanos: AtomicU64::new(0),
        }
    }

    /// A user or internal message of `len` payload bytes left for `peer`.
    pub fn sent(&self, peer: usize, len: u64) {
        if let Some(p) = self.peers.get(peer) {
            p.messages_sent.fetch_add(1, Relaxed);
            p.bytes_sent.fetch_add(len, Relaxed);
            raise(&self.largest_sent, len);
        }
    }

    /// A message of `len` payload bytes arrived in full from `peer`.
    pub fn received(&self, peer: usize, len: u64) {
        if let Some(p) = self.peers.get(peer) {
            p.messages_received.fetch_add(1, Relaxed);
            p.bytes_received.fetch_add(len, Relaxed);
            raise(&self.largest_received, len);
        }
    }

    /// The link to `peer` was re-established after being down for `down_for`: after a break,
    /// or to run over more connections (`widened`).
    pub fn reconnected(&self, peer: usize, down_for: Duration, widened: bool) {
        if let Some(p) = self.peers.get(peer) {
            let count = if widened { &p.widenings } else { &p.reconnects };
            count.fetch_add(1, Relaxed);
            p.down_nanos.fetch_add(down_for.as_nanos() as u64, Relaxed);
        }
    }

    /// A call that has to wait starts; the wait is counted and timed when the guard drops.
    pub fn blocked(&self) -> Blocked<'_> {
        Blocked { stats: self, since: Instant::now() }
    }

    /// The counters now, with the job's identity and wall time.
    pub fn summary(&self, rank: usize, job_id: &str, wall: Duration) -> Summary {
        let peers = self
            .peers
            .iter()
            .map(|p| PeerTotals {
                messages_sent: p.messages_sent.load(Relaxed),
                bytes_sent: p.bytes_sent.load(Relaxed),
                messages_received: p.messages_received.load(Relaxed),
                bytes_received: p.bytes_received.load(Relaxed),
                reconnects: p.reconnects.load(Relaxed),
                widenings: p.widenings.load(Relaxed),
                down: Duration::from_nanos(p.down_nanos.load(Relaxed)),
            })
            .collect();
        Summary {
            rank,
            job_id: job_id.to_string(),
            wall,
            peers,
            largest_sent: self.largest_sent.load(Relaxed),
            largest_received: self.largest_received.load(Relaxed),
            blocking_waits: self.blocking_waits.load(Relaxed),
            blocked: Duration::from_nanos(self.blocked_nanos.load(Relaxed)),
        }
    }
}

/// Counts one blocking wait and its wall time when dropped (also on an error return).
pub struct Blocked<'a> {
    stats: &'a Stats,
    since: Instant,
}

impl Drop for Blocked<'_> {
    fn drop(&mut self) {
        self.stats.blocking_waits.fetch_add(1, Relaxed);
        self.stats.blocked_nanos.fetch_add(self.since.elapsed().as_nanos() as u64, Relaxed);
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerTotals {
    pub messages_sent: u64,
    pub bytes_sent: u64,
    pub messages_received: u64,
    pub bytes_received: u64,
    /// Times the link was re-established after breaking, times it moved to more connections
    /// (`Link::widen_on_loss`), and how long it was down for either, in all.
    pub reconnects: u64,
    pub widenings: u64,
    pub down: Duration,
}

/// A finished snapshot, rendered as text or JSON.
#[derive(Debug, Clone)]
pub struct Summary {
    pub rank: usize,
    pub job_id: String,
    /// From entering `MPI_Init` to entering `MPI_Finalize`.
    pub wall: Duration,
    /// Indexed by world rank; our own entry holds the self-sends.
    pub peers: Vec<PeerTotals>,
    pub largest_sent: u64,
    pub largest_received: u64,
    pub blocking_waits: u64,
    pub blocked: Duration,
}

impl Summary {
    fn total(&self) -> PeerTotals {
        self.peers.iter().fold(PeerTotals::default(), |t, p| PeerTotals {
            messages_sent: t.messages_sent + p.messages_sent,
            bytes_sent: t.bytes_sent + p.bytes_sent,
            messages_received: t.messages_received + p.messages_received,
            bytes_received: t.bytes_received + p.bytes_received,
            reconnects: t.reconnects + p.reconnects,
            widenings: t.widenings + p.widenings,
            down: t.down + p.down,
        })
    }

    /// One JSON object; every string goes through `json_string`.
    pub fn to_json(&self) -> String {
        let counts = |p: &PeerTotals| {
            format!(
                "\"messages_sent\": {}, \"bytes_sent\": {}, \"messages_received\": {}, \"bytes_received\": {}, \"reconnects\": {}, \"widenings\": {}, \"down_seconds\": {:.6}",
                p.messages_sent,
                p.bytes_sent,
                p.messages_received,
                p.bytes_received,
                p.reconnects,
                p.widenings,
                p.down.as_secs_f64()
            )
        };
        let mut s = String::from("{\n");
        let _ = writeln!(s, "  \"rank\": {},", self.rank);
        let _ = writeln!(s, "  \"size\": {},", self.peers.len());
        let _ = writeln!(s, "  \"job_id\": {},", json_string(&self.job_id));
        let _ = writeln!(s, "  \"wall_seconds\": {:.6},", self.wall.as_secs_f64());
        let _ = writeln!(s, "  \"blocking_waits\": {},", self.blocking_waits);
        let _ = writeln!(s, "  \"blocked_seconds\": {:.6},", self.blocked.as_secs_f64());
        let _ = writeln!(s, "  \"largest_message_sent\": {},", self.largest_sent);
        let _ = writeln!(s, "  \"largest_message_received\": {},", self.largest_received);
        let _ = writeln!(s, "  \"total\": {{{}}},", counts(&self.total()));
        s.push_str("  \"peers\": [");
        for (rank, p) in self.peers.iter().enumerate() {
            let sep = if rank == 0 { "" } else { "," };
            let _ = write!(s, "{sep}\n    {{\"rank\": {rank}, {}}}", counts(p));
        }
        s.push_str("\n  ]\n}\n");
        s
    }

    /// The stderr block: one line per peer with traffic, each prefixed like our diagnostics.
    pub fn to_text(&self) -> String {
        // The same prefix as `log`, so the block reads like the other partyline lines.
        let prefix = format!("partyline[rank {}]: ", self.rank);
        let mut lines =
            vec![format!("communication statistics, MPI_Init to MPI_Finalize {:.6} s:", self.wall.as_secs_f64())];
        let traffic = |p: &PeerTotals| {
            let counted = [(p.reconnects, "reconnect"), (p.widenings, "widening")];
            let counted: Vec<String> = counted.iter().filter(|(n, _)| *n > 0).map(|(n, w)| plural(*n, w)).collect();
            let reconnects = match counted.as_slice() {
                [] => String::new(),
                some => format!(", {} (down {:.3} s)", some.join(", "), p.down.as_secs_f64()),
            };
            format!(
                "sent {} ({} B), received {} ({} B){reconnects}",
                plural(p.messages_sent, "message"),
                p.bytes_sent,
                plural(p.messages_received, "message"),
                p.bytes_received
            )
        };
        for (rank, p) in self.peers.iter().enumerate().filter(|(_, p)| **p != PeerTotals::default()) {
            let own = if rank == self.rank { " (self)" } else { "" };
            lines.push(format!("  rank {rank}{own}: {}", traffic(p)));
        }
        lines.push(format!("  total: {}", traffic(&self.total())));
        lines.push(format!("  largest message: sent {} B, received {} B", self.largest_sent, self.largest_received));
        let share = match self.wall.as_secs_f64() {
            w if w > 0.0 => format!(" ({:.1}% of the wall time)", 100.0 * self.blocked.as_secs_f64() / w),
            _ => String::new(),
        };
        lines.push(format!(
            "  blocking waits: {}, blocked {:.6} s{share}",
            self.blocking_waits,
            self.blocked.as_secs_f64()
        ));
        lines.iter().map(|l| format!("{prefix}{l}\n")).collect()
    }
}

fn plural(n: u64, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// A JSON string literal: quotes, backslashes and control characters escaped.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Reports the statistics if `PARTYLINE_STATS` asks for them; `wall` runs from `MPI_Init` to `MPI_Finalize`.
pub fn at_finalize(config: &Config, stats: &Stats, wall: Duration) {
    if let Some(dest) = &config.stats {
        let summary = stats.summary(config.rank, &config.job_id, wall);
        report(dest, &summary, config.size, config.launched_locally);
    }
}

/// Reports `summary` where `dest` says. Never fails: a file that cannot be written, or a
/// value we cannot read, becomes a warning and the report goes to stderr instead.
pub fn report(dest: &StatsDestination, summary: &Summary, size: usize, launched_locally: bool) {
    let text = match dest {
        StatsDestination::Stderr => summary.to_text(),
        StatsDestination::Invalid(v) => {
            crate::log::warn(&format!(
                "PARTYLINE_STATS={v:?} is not 1, 0 or a file path (one containing '/' or ending in .json); \
                 printing the communication statistics here instead"
            ));
            summary.to_text()
        }
        StatsDestination::Json(template) => {
            if size > 1 && launched_locally && !template.contains("%r") && summary.rank == 0 {
                crate::log::warn(&format!(
                    "PARTYLINE_STATS={template:?} has no %r, so every rank writes the same file; \
                     put %r in the name for one file per rank"
                ));
            }
            let path = path_for(template, summary.rank);
            match std::fs::write(&path, summary.to_json()) {
                Ok(()) => return,
                Err(e) => {
                    crate::log::warn(&format!(
                        "cannot write the communication statistics to {path:?} (PARTYLINE_STATS): {e}; \
                         printing them here instead"
                    ));
                    summary.to_text()
                }
            }
        }
    };
    // One write for the whole block, so another thread's line cannot split it.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Summary {
        let stats = Stats::new(3);
        stats.sent(1, 70000);
        stats.sent(1, 8);
        stats.received(2, 70002);
        stats.sent(0, 300);
        stats.received(0, 300);
        stats.sent(7, 1); // no such rank: ignored rather than a panic
        stats.reconnected(2, Duration::from_millis(40), true);
        stats.reconnected(2, Duration::from_millis(460), false);
        drop(stats.blocked());
        stats.summary(0, "job \"q\"\\\n\u{1}é", Duration::from_millis(1500))
    }

    #[test]
    fn one_file_per_rank() {
        assert_eq!(path_for("/d/s-%r.json", 12), "/d/s-12.json");
    }

    #[test]
    fn counts_and_maxima() {
        let s = sample();
        assert_eq!(s.peers[1], PeerTotals { messages_sent: 2, bytes_sent: 70008, ..PeerTotals::default() });
        let down = Duration::from_millis(500);
        let two = PeerTotals {
            messages_received: 1,
            bytes_received: 70002,
            reconnects: 1,
            widenings: 1,
            down,
            ..PeerTotals::default()
        };
        assert_eq!(s.peers[2], two);
        assert_eq!(
            s.peers[0],
            PeerTotals {
                messages_sent: 1,
                bytes_sent: 300,
                messages_received: 1,
                bytes_received: 300,
                ..PeerTotals::default()
            }
        );
        assert_eq!((s.largest_sent, s.largest_received, s.blocking_waits), (70000, 70002, 1));
    }

    #[test]
    fn json_escapes_strings() {
        assert_eq!(json_string("a\"b\\c\nd\te\u{1f}é"), "\"a\\\"b\\\\c\\nd\\te\\u001fé\"");
    }

    #[test]
    fn json_rendering() {
        let json = sample().to_json();
        assert!(json.starts_with("{\n  \"rank\": 0,\n  \"size\": 3,\n"), "{json}");
        assert!(json.contains("\"job_id\": \"job \\\"q\\\"\\\\\\n\\u0001é\",\n"), "{json}");
        assert!(json.contains("\"wall_seconds\": 1.500000,\n"), "{json}");
        assert!(json.contains("\"largest_message_sent\": 70000,\n  \"largest_message_received\": 70002,\n"), "{json}");
        assert!(json.contains(
            "{\"rank\": 1, \"messages_sent\": 2, \"bytes_sent\": 70008, \"messages_received\": 0, \"bytes_received\": 0, \"reconnects\": 0, \"widenings\": 0, \"down_seconds\": 0.000000}"
        ));
        assert!(json.contains("\"total\": {\"messages_sent\": 3, \"bytes_sent\": 70308, \"messages_received\": 2,"));
        assert!(json.trim_end().ends_with("\n  ]\n}"), "{json}");
        // Balanced brackets outside strings, and no raw control characters inside them.
        let (mut depth, mut in_str, mut escaped) = (0i32, false, false);
        for c in json.chars() {
            match (in_str, c) {
                (true, _) if escaped => escaped = false,
                (true, '\\') => escaped = true,
                (true, '"') => in_str = false,
                (true, c) => assert!(c as u32 >= 0x20, "raw control character in a string: {json}"),
                (false, '"') => in_str = true,
                (false, '{' | '[') => depth += 1,
                (false, '}' | ']') => depth -= 1,
                _ => {}
            }
            assert!(depth >= 0);
        }
        assert_eq!((depth, in_str), (0, false));
    }

    #[test]
    fn text_rendering() {
        let text = sample().to_text();
        assert!(text.lines().all(|l| l.starts_with("partyline[rank 0]: ")), "{text}");
        assert!(text.contains("  rank 0 (self): sent 1 message (300 B), received 1 message (300 B)\n"), "{text}");
        assert!(text.contains("  rank 1: sent 2 messages (70008 B), received 0 messages (0 B)\n"), "{text}");
        let two =
            "  rank 2: sent 0 messages (0 B), received 1 message (70002 B), 1 reconnect, 1 widening (down 0.500 s)\n";
        assert!(text.contains(two), "{text}");
        assert!(text.contains("  largest message: sent 70000 B, received 70002 B\n"), "{text}");
        assert!(text.contains("  blocking waits: 1, blocked "), "{text}");
    }
}
