//! PARTYLINE_STATS end to end: tests/c/stats_traffic.c makes known traffic under partyrun; the JSON and text reports must match it.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Messages from tests/c/stats_traffic.c: 4 ring rounds plus 2 unexpected ones, to the successor.
const RING_MESSAGES: u64 = 6;
/// The most blocking waits a rank may count: its 4 ring receives and 3 more calls that can wait.
/// How many of them do block depends on the scheduler (a message may be there before its
/// receive is posted), so no minimum is asserted; src/stats.rs checks the counting itself.
const MAX_WAITS: u64 = 7;

/// Payload bytes rank `src` sends its successor: 0 + (8+src) + (4000+src) + (70000+src) + 0 + 100.
fn ring_bytes(src: usize) -> u64 {
    74108 + 3 * src as u64
}

/// A fresh directory for one run's report files.
fn report_dir(name: &str) -> PathBuf {
    let dir = build_dir().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the report directory");
    dir
}

fn traffic_run(n: usize, stats: &str) -> Output {
    let bin = compile("tests/c/stats_traffic.c");
    let mut cmd: Command = partyrun_cmd(n, &bin, &[]);
    cmd.env("PARTYLINE_STATS", stats);
    let out = run(cmd, format!("PARTYLINE_STATS={stats} partyrun -n {n} stats_traffic"), secs(60));
    out.assert_pass("stats_traffic");
    out
}

#[test]
fn json_reports_match_the_traffic() {
    for n in [3, 2] {
        let dir = report_dir(&format!("stats-json-{n}"));
        let template = dir.join("stats-%r.json");
        let out = traffic_run(n, template.to_str().expect("utf-8 path"));
        assert!(!out.stderr.contains("communication statistics"), "JSON mode printed a summary: {}", out.describe());
        for rank in 0..n {
            check_rank(&dir.join(format!("stats-{rank}.json")), rank, n);
        }
    }
}

fn check_rank(path: &Path, rank: usize, n: usize) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let json = Json::parse(&text).unwrap_or_else(|e| panic!("{} is not JSON ({e}):\n{text}", path.display()));
    let num = |key: &str| json.get(key).and_then(Json::num).unwrap_or_else(|| panic!("no number {key}:\n{text}"));
    let (succ, pred) = ((rank + 1) % n, (rank + n - 1) % n);
    assert_eq!(num("rank"), rank as f64, "{text}");
    assert_eq!(num("size"), n as f64, "{text}");
    assert_eq!(num("largest_message_sent"), (70000 + rank) as f64, "{text}");
    assert_eq!(num("largest_message_received"), (70000 + pred) as f64, "{text}");
    let waits = num("blocking_waits") as u64;
    assert!(waits <= MAX_WAITS, "blocking_waits {waits}, want at most {MAX_WAITS}: {text}");
    assert!(waits > 0 || num("blocked_seconds") == 0.0, "time blocked without a blocking wait: {text}");
    // Rank 0 alone sleeps 200 ms, and every token hop takes 30 ms: wall time covers them.
    assert!(num("wall_seconds") >= 0.2 && num("wall_seconds") >= num("blocked_seconds"), "{text}");
    assert!(json.get("job_id").and_then(Json::str).is_some_and(|id| !id.is_empty()), "{text}");

    let peers = match json.get("peers") {
        Some(Json::Arr(p)) => p,
        _ => panic!("no peers array:\n{text}"),
    };
    assert_eq!(peers.len(), n, "{text}");
    let mut total = [0u64; 4];
    for (peer, entry) in peers.iter().enumerate() {
        let mut want = [0u64; 4]; // messages sent, bytes sent, messages received, bytes received
        if peer == rank {
            want = [1, 300, 1, 300];
        }
        if peer == succ {
            want[0] += RING_MESSAGES;
            want[1] += ring_bytes(rank);
        }
        if peer == pred {
            want[2] += RING_MESSAGES;
            want[3] += ring_bytes(pred);
        }
        let got = ["messages_sent", "bytes_sent", "messages_received", "bytes_received"]
            .map(|k| entry.get(k).and_then(Json::num).unwrap_or_else(|| panic!("peer {peer}: no {k}:\n{text}")) as u64);
        assert_eq!(entry.get("rank").and_then(Json::num), Some(peer as f64), "{text}");
        assert_eq!(got, want, "rank {rank}, peer {peer}: {}", path.display());
        for i in 0..4 {
            total[i] += want[i];
        }
    }
    let t = json.get("total").unwrap_or_else(|| panic!("no total:\n{text}"));
    let got = ["messages_sent", "bytes_sent", "messages_received", "bytes_received"]
        .map(|k| t.get(k).and_then(Json::num).unwrap_or(-1.0) as u64);
    assert_eq!(got, total, "{text}");
}

#[test]
fn stderr_summary_has_a_line_per_peer() {
    let out = traffic_run(3, "1");
    for rank in 0..3usize {
        let (succ, pred) = ((rank + 1) % 3, (rank + 2) % 3);
        let p = format!("partyline[rank {rank}]: ");
        for line in [
            format!("{p}communication statistics, MPI_Init to MPI_Finalize "),
            format!("{p}  rank {rank} (self): sent 1 message (300 B), received 1 message (300 B)\n"),
            format!("{p}  rank {succ}: sent 6 messages ({} B), received 0 messages (0 B)\n", ring_bytes(rank)),
            format!("{p}  rank {pred}: sent 0 messages (0 B), received 6 messages ({} B)\n", ring_bytes(pred)),
            format!("{p}  largest message: sent {} B, received {} B\n", 70000 + rank, 70000 + pred),
            format!("{p}  blocking waits: "),
        ] {
            out.assert_stderr_contains(&line);
        }
    }
    let quiet = traffic_run(2, "0");
    assert!(!quiet.stderr.contains("communication statistics"), "PARTYLINE_STATS=0 printed: {}", quiet.describe());
}

/// A report that cannot be written, or a value that means nothing, warns and falls back to stderr.
#[test]
fn bad_destinations_warn_and_fall_back() {
    let out = traffic_run(2, "/nonexistent-partyline-dir/stats-%r.json");
    for rank in 0..2 {
        out.assert_stderr_contains(&format!(
            "partyline[rank {rank}]: warning: cannot write the communication statistics to \
             \"/nonexistent-partyline-dir/stats-{rank}.json\" (PARTYLINE_STATS): "
        ));
        out.assert_stderr_contains(&format!("partyline[rank {rank}]:   largest message: sent "));
    }
    let out = traffic_run(2, "bogus");
    out.assert_stderr_contains("partyline[rank 1]: warning: PARTYLINE_STATS=\"bogus\" is not 1, 0 or a file path");
    out.assert_stderr_contains("partyline[rank 1]:   blocking waits: ");
}

/// Just enough JSON to read the reports back, strictly (no trailing commas, no junk after the
/// value); the reports hold no `null`, `true` or `false`, so those are errors too.
#[derive(Debug)]
enum Json {
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn parse(text: &str) -> Result<Json, String> {
        let mut p = Parser { s: text.as_bytes(), i: 0 };
        let v = p.value()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("junk at byte {}", p.i));
        }
        Ok(v)
    }

    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn num(&self) -> Option<f64> {
        if let Json::Num(n) = self {
            Some(*n)
        } else {
            None
        }
    }

    fn str(&self) -> Option<&str> {
        if let Json::Str(s) = self {
            Some(s)
        } else {
            None
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Result<(), String> {
        self.ws();
        match self.s.get(self.i) {
            Some(&x) if x == c => {
                self.i += 1;
                Ok(())
            }
            other => Err(format!("expected {:?} at byte {}, found {:?}", c as char, self.i, other.map(|&b| b as char))),
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.ws();
        let rest = &self.s[self.i..];
        match rest.first() {
            Some(b'"') => self.string().map(Json::Str),
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Json::Arr(items));
                }
                loop {
                    items.push(self.value()?);
                    self.ws();
                    if self.s.get(self.i) == Some(&b',') {
                        self.i += 1;
                        continue;
                    }
                    self.eat(b']')?;
                    return Ok(Json::Arr(items));
                }
            }
            Some(b'{') => {
                self.i += 1;
                let mut fields = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Json::Obj(fields));
                }
                loop {
                    self.ws();
                    let key = self.string()?;
                    self.eat(b':')?;
                    fields.push((key, self.value()?));
                    self.ws();
                    if self.s.get(self.i) == Some(&b',') {
                        self.i += 1;
                        continue;
                    }
                    self.eat(b'}')?;
                    return Ok(Json::Obj(fields));
                }
            }
            _ => {
                let len = rest.iter().take_while(|c| c.is_ascii_digit() || b"+-.eE".contains(c)).count();
                let word = std::str::from_utf8(&rest[..len]).map_err(|e| e.to_string())?;
                let n = word.parse::<f64>().map_err(|_| format!("bad value at byte {}", self.i))?;
                self.i += len;
                Ok(Json::Num(n))
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.eat(b'"')?;
        let mut out = Vec::new();
        loop {
            let c = *self.s.get(self.i).ok_or("unterminated string")?;
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                b'\\' => {
                    let e = *self.s.get(self.i).ok_or("unterminated escape")?;
                    self.i += 1;
                    let ch = match e {
                        b'"' | b'\\' | b'/' => e as char,
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'u' => {
                            let hex = self.s.get(self.i..self.i + 4).ok_or("short \\u escape")?;
                            self.i += 4;
                            let code = u32::from_str_radix(std::str::from_utf8(hex).map_err(|e| e.to_string())?, 16)
                                .map_err(|e| e.to_string())?;
                            char::from_u32(code).ok_or("bad \\u escape")?
                        }
                        _ => return Err(format!("bad escape at byte {}", self.i)),
                    };
                    out.extend_from_slice(ch.to_string().as_bytes());
                }
                c if c < 0x20 => return Err(format!("raw control character at byte {}", self.i)),
                c => out.push(c),
            }
        }
    }
}
