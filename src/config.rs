//! Job configuration read from `PARTYLINE_*` environment variables, validated up front.

use crate::error::{err, Result};
pub use crate::socket_settings::{Checksums, Congestion, LinkSocket, LocalLinks, Streams};
use std::time::Duration;

/// Everything a party needs to join a job. See the README's configuration table.
#[derive(Debug, Clone)]
pub struct Config {
    pub rank: usize,
    pub size: usize,
    /// `host:port` of every rank, in rank order (empty for a singleton).
    pub peers: Vec<String>,
    pub job_id: String,
    /// A listening socket inherited from the launcher, if any.
    pub listen_fd: Option<i32>,
    /// The Unix socket the launcher bound beside `listen_fd` (`PARTYLINE_LOCAL_LISTEN_FD`),
    /// so ranks on this host that dial at once find it (see `conn`).
    pub local_listen_fd: Option<i32>,
    /// Bind address override (e.g. `0.0.0.0:7000` behind NAT); defaults to our `peers` entry,
    /// or in rendezvous mode to any port (the coordinator's port for a rank-0 coordinator).
    pub listen_addr: Option<String>,
    /// Rendezvous mode: the coordinator's `host:port`; `peers` then comes from it.
    pub coordinator: Option<String>,
    pub coordinator_role: CoordinatorRole,
    /// `host:port` the others should use to reach us (rendezvous mode); default: as the coordinator sees us.
    pub advertise: Option<String>,
    pub connect_timeout: Duration,
    pub handshake_timeout: Duration,
    pub unexpected_limit: u64,
    /// Bytes of copied sends (eager and blocking-send copies, and frames kept for replay) held
    /// per link; beyond it sends wait for the peer instead of copying (`PARTYLINE_SEND_LIMIT`).
    pub send_limit: u64,
    /// A link that carries nothing (not even a heartbeat) for this long is broken
    /// (`PARTYLINE_LINK_TIMEOUT`; see `DEFAULT_LINK_TIMEOUT`).
    pub link_timeout: Duration,
    /// How long both ends of a broken link try to re-establish it before the job fails
    /// (`PARTYLINE_RECONNECT_TIMEOUT`).
    pub reconnect_timeout: Duration,
    pub eager_limit: usize,
    pub socket_buffer: Option<usize>,
    pub send_buffer: Option<usize>,
    /// How far a link's send buffer may grow past the kernel's autotuning where it holds the
    /// link back (`PARTYLINE_SEND_BUFFER_MAX`; 0 never grows it; see `send_buffer`).
    pub send_buffer_max: usize,
    /// `PARTYLINE_CONGESTION`; see `Congestion`.
    pub congestion: Congestion,
    /// `PARTYLINE_CHECKSUMS`; see `Checksums`.
    pub checksums: Checksums,
    /// TCP connections per link (`PARTYLINE_STREAMS`); see `Streams`.
    pub streams: Streams,
    /// `PARTYLINE_LOCAL_LINKS`; see `LocalLinks`.
    pub local_links: LocalLinks,
    pub max_frame: u64,
    /// How long a wait polls the links before blocking on them; zero blocks at once
    /// (`PARTYLINE_SPIN_US`; see `DEFAULT_SPIN_US` and `spin.rs`).
    pub spin: Duration,
    pub verbose: bool,
    pub launched_locally: bool,
    /// Where to report the communication statistics at `MPI_Finalize` (`PARTYLINE_STATS`).
    pub stats: Option<StatsDestination>,
    /// TLS credentials, or plaintext (see `security`).
    pub security: crate::security::Security,
}

pub const MAX_RANKS: usize = 64;

/// Enough for 1 Gbit/s over 120 ms with BBR's window of two bandwidth-delay products and the
/// kernel's bookkeeping (about as much again); the kernel takes it only from links that need it.
pub const DEFAULT_SEND_BUFFER_MAX: u64 = 64 << 20;

/// Who serves the rendezvous (`PARTYLINE_COORDINATOR_ROLE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoordinatorRole {
    /// Rank 0 listens on the coordinator address and serves the table.
    Rank0,
    /// A `partyrun --coordinator` process serves; rank 0 registers like everyone else.
    External,
}

/// Where `PARTYLINE_STATS` sends the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsDestination {
    /// A text block on stderr.
    Stderr,
    /// A JSON file; `%r` in the path becomes the rank.
    Json(String),
    /// A value we cannot interpret: warned about at `MPI_Finalize`, then reported on stderr.
    Invalid(String),
}

impl StatsDestination {
    /// `0/off/no/false` (or unset) disable the report, `1/on/yes/true/stderr` print it, and a
    /// value with a `/` or ending in `.json` is a file path. Anything else is kept as invalid,
    /// so a typo costs a warning at the end rather than the job at the start.
    pub fn parse(value: &str) -> Option<StatsDestination> {
        let v = value.trim();
        match v {
            "" | "0" | "off" | "no" | "false" => None,
            "1" | "on" | "yes" | "true" | "stderr" => Some(StatsDestination::Stderr),
            _ if v.contains('/') || v.ends_with(".json") => Some(StatsDestination::Json(v.to_string())),
            _ => Some(StatsDestination::Invalid(v.to_string())),
        }
    }
}

/// True for `host:port` with a non-empty host and a numeric port (IPv6 hosts in brackets).
pub fn is_host_port(spec: &str) -> bool {
    matches!(spec.rsplit_once(':'), Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok())
}

/// Reads a variable; `None` when unset or empty.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse_num<T: std::str::FromStr>(name: &str, value: &str, what: &str) -> Result<T> {
    value.trim().parse().map_err(|_| err!(Arg, "{name}={value:?} is not {what}; fix or unset {name}"))
}

fn seconds(name: &str, default: f64) -> Result<Duration> {
    match var(name) {
        None => Ok(Duration::from_secs_f64(default)),
        Some(v) => {
            let secs: f64 = parse_num(name, &v, "a number of seconds")?;
            if !(secs.is_finite() && secs > 0.0 && secs < 1e7) {
                return Err(err!(Arg, "{name}={v:?} must be a positive number of seconds"));
            }
            Ok(Duration::from_secs_f64(secs))
        }
    }
}

/// Parses sizes like `65536`, `64K`, `256M`, `1G`.
pub fn parse_bytes(name: &str, value: &str) -> Result<u64> {
    let v = value.trim();
    let (digits, mult) = match v.char_indices().last() {
        Some((i, 'k' | 'K')) => (&v[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&v[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&v[..i], 1 << 30),
        _ => (v, 1),
    };
    let n: u64 = parse_num(name, digits, "a byte count such as 65536, 64K, 256M or 1G")?;
    n.checked_mul(mult).ok_or_else(|| err!(Arg, "{name}={value:?} is too large"))
}

fn bytes_or(name: &str, default: u64) -> Result<u64> {
    var(name).map_or(Ok(default), |v| parse_bytes(name, &v))
}

fn flag(name: &str) -> bool {
    matches!(var(name).as_deref(), Some("1" | "true" | "yes" | "on"))
}

impl Config {
    /// The socket options of every link.
    pub fn link_socket(&self) -> LinkSocket {
        LinkSocket {
            link_timeout: self.link_timeout,
            buffer: self.socket_buffer,
            send_buffer: self.send_buffer,
            congestion: self.congestion.clone(),
        }
    }

    /// How far links' send buffers may grow by measurement: not at all where the user set
    /// them (`PARTYLINE_SEND_BUFFER` or `PARTYLINE_SOCKET_BUFFER`).
    pub fn send_buffer_growth(&self) -> usize {
        if self.send_buffer.is_some() || self.socket_buffer.is_some() {
            return 0;
        }
        self.send_buffer_max
    }

    /// Reads the environment. With no rank or size set, the program runs as a singleton.
    pub fn from_env() -> Result<Config> {
        let rank_var = var("PARTYLINE_RANK");
        let size_var = var("PARTYLINE_SIZE");
        let (rank, size) = match (&rank_var, &size_var) {
            (None, None) => (0, 1),
            (Some(r), Some(s)) => {
                (parse_num("PARTYLINE_RANK", r, "a rank number")?, parse_num("PARTYLINE_SIZE", s, "a job size")?)
            }
            (Some(_), None) => {
                return Err(err!(
                    Arg,
                    "PARTYLINE_RANK is set but PARTYLINE_SIZE is not; set both (or neither, for a singleton)"
                ))
            }
            (None, Some(_)) => {
                return Err(err!(
                    Arg,
                    "PARTYLINE_SIZE is set but PARTYLINE_RANK is not; set both (or neither, for a singleton)"
                ))
            }
        };
        let coordinator = var("PARTYLINE_COORDINATOR").map(|c| c.trim().to_string());
        if coordinator.is_some() {
            // Two sources for the peer table would silently disagree; make the user pick one.
            if let Some(name) = ["PARTYLINE_PEERS", "PARTYLINE_HOSTFILE"].into_iter().find(|n| var(n).is_some()) {
                return Err(err!(Arg, "{name} and PARTYLINE_COORDINATOR are both set: unset {name} to find the parties through the coordinator, or unset PARTYLINE_COORDINATOR to use the fixed peer list"));
            }
        }
        let coordinator_role = match var("PARTYLINE_COORDINATOR_ROLE").map(|r| r.trim().to_ascii_lowercase()) {
            None => CoordinatorRole::Rank0,
            Some(r) if r == "rank0" => CoordinatorRole::Rank0,
            Some(r) if r == "external" => CoordinatorRole::External,
            Some(r) => {
                return Err(err!(Arg, "PARTYLINE_COORDINATOR_ROLE={r:?} is neither rank0 (rank 0 serves the rendezvous) nor external (a partyrun --coordinator process serves it)"))
            }
        };
        for name in ["PARTYLINE_COORDINATOR_ROLE", "PARTYLINE_ADVERTISE"] {
            if coordinator.is_none() && var(name).is_some() {
                return Err(err!(Arg, "{name} is set but PARTYLINE_COORDINATOR is not: {name} only applies to rendezvous mode; set PARTYLINE_COORDINATOR or unset {name}"));
            }
        }
        let peers = match (var("PARTYLINE_PEERS"), var("PARTYLINE_HOSTFILE")) {
            (Some(p), _) => p.split(',').map(|s| s.trim().to_string()).collect(),
            (None, Some(path)) => read_hostfile(&path)?,
            (None, None) => Vec::new(),
        };
        let fd = |name| var(name).map(|v| parse_num(name, &v, "a file descriptor number")).transpose();
        let (listen_fd, local_listen_fd) = (fd("PARTYLINE_LISTEN_FD")?, fd("PARTYLINE_LOCAL_LISTEN_FD")?);
        let config = Config {
            rank,
            size,
            peers,
            job_id: var("PARTYLINE_JOB_ID").unwrap_or_else(|| "default".into()),
            listen_fd,
            local_listen_fd,
            listen_addr: var("PARTYLINE_LISTEN"),
            coordinator,
            coordinator_role,
            advertise: var("PARTYLINE_ADVERTISE").map(|a| a.trim().to_string()),
            connect_timeout: seconds("PARTYLINE_CONNECT_TIMEOUT", 30.0)?,
            handshake_timeout: seconds("PARTYLINE_HANDSHAKE_TIMEOUT", 5.0)?,
            unexpected_limit: bytes_or("PARTYLINE_UNEXPECTED_LIMIT", 256 << 20)?,
            send_limit: bytes_or("PARTYLINE_SEND_LIMIT", DEFAULT_SEND_LIMIT)?,
            link_timeout: seconds("PARTYLINE_LINK_TIMEOUT", DEFAULT_LINK_TIMEOUT)?,
            reconnect_timeout: seconds("PARTYLINE_RECONNECT_TIMEOUT", DEFAULT_RECONNECT_TIMEOUT)?,
            eager_limit: bytes_or("PARTYLINE_EAGER_LIMIT", 16 << 10)? as usize,
            socket_buffer: var("PARTYLINE_SOCKET_BUFFER")
                .map(|v| parse_bytes("PARTYLINE_SOCKET_BUFFER", &v).map(|b| b as usize))
                .transpose()?,
            send_buffer: var("PARTYLINE_SEND_BUFFER")
                .map(|v| parse_bytes("PARTYLINE_SEND_BUFFER", &v).map(|b| b as usize))
                .transpose()?,
            send_buffer_max: bytes_or("PARTYLINE_SEND_BUFFER_MAX", DEFAULT_SEND_BUFFER_MAX)? as usize,
            congestion: Congestion::parse(var("PARTYLINE_CONGESTION").as_deref()).map_err(|e| err!(Arg, "{e}"))?,
            checksums: Checksums::parse(var("PARTYLINE_CHECKSUMS").as_deref()).map_err(|e| err!(Arg, "{e}"))?,
            streams: Streams::parse(var("PARTYLINE_STREAMS").as_deref()).map_err(|e| err!(Arg, "{e}"))?,
            local_links: LocalLinks::parse(var("PARTYLINE_LOCAL_LINKS").as_deref()).map_err(|e| err!(Arg, "{e}"))?,
            max_frame: bytes_or("PARTYLINE_MAX_FRAME", 1 << 40)?,
            spin: Duration::from_micros(bytes_or("PARTYLINE_SPIN_US", DEFAULT_SPIN_US)?),
            verbose: flag("PARTYLINE_VERBOSE"),
            launched_locally: var("PARTYLINE_LAUNCHER").is_some(),
            stats: var("PARTYLINE_STATS").and_then(|v| StatsDestination::parse(&v)),
            security: crate::security::Security::from_vars(rank, var)?,
        };
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<()> {
        if self.size == 0 || self.size > MAX_RANKS {
            return Err(err!(
                Arg,
                "PARTYLINE_SIZE={} is out of range: partyline runs 1 to {MAX_RANKS} ranks",
                self.size
            ));
        }
        if self.rank >= self.size {
            return Err(err!(
                Rank,
                "PARTYLINE_RANK={} is out of range for PARTYLINE_SIZE={}: ranks are 0 to {}",
                self.rank,
                self.size,
                self.size - 1
            ));
        }
        if let Some(coordinator) = &self.coordinator {
            return self.validate_rendezvous(coordinator);
        }
        if self.size > 1 && self.peers.len() != self.size {
            return Err(err!(Arg, "the peer list has {} entries but PARTYLINE_SIZE={}: give one host:port per rank in PARTYLINE_PEERS (comma-separated) or PARTYLINE_HOSTFILE", self.peers.len(), self.size));
        }
        for (rank, peer) in self.peers.iter().enumerate() {
            if !is_host_port(peer) {
                return Err(err!(
                    Arg,
                    "peer entry {rank} ({peer:?}) is not host:port; fix PARTYLINE_PEERS or the hostfile"
                ));
            }
        }
        self.validate_common()
    }

    /// Rendezvous mode: the peer table comes from the coordinator, so there must be none here.
    fn validate_rendezvous(&self, coordinator: &str) -> Result<()> {
        if !self.peers.is_empty() {
            return Err(err!(Arg, "a peer list and PARTYLINE_COORDINATOR are both given: unset PARTYLINE_PEERS and PARTYLINE_HOSTFILE to find the parties through the coordinator"));
        }
        if !is_host_port(coordinator) {
            return Err(err!(
                Arg,
                "PARTYLINE_COORDINATOR={coordinator:?} is not host:port (for example 10.0.0.1:7000)"
            ));
        }
        if let Some(a) = &self.advertise {
            if !is_host_port(a) || a.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>() == Ok(0)) {
                return Err(err!(Arg, "PARTYLINE_ADVERTISE={a:?} is not host:port with a non-zero port; give the address the other parties should connect to"));
            }
        }
        self.validate_common()
    }

    fn validate_common(&self) -> Result<()> {
        if self.link_timeout < Duration::from_secs(1) {
            return Err(err!(Arg, "PARTYLINE_LINK_TIMEOUT={} s is below 1 s: heartbeats (a quarter of it) could not keep a healthy but busy link alive; use at least 1 (default 60)", self.link_timeout.as_secs_f64()));
        }
        if self.eager_limit as u64 > self.max_frame {
            return Err(err!(Arg, "PARTYLINE_EAGER_LIMIT is larger than PARTYLINE_MAX_FRAME"));
        }
        if self.job_id.len() > 255 {
            return Err(err!(Arg, "PARTYLINE_JOB_ID is longer than 255 bytes"));
        }
        Ok(())
    }
}

/// 60 s: a party paused for 45 s (a suspended VM, a long garbage collection, a debugger) must
/// come back to a working job, with room for the heartbeat interval on top; and a real
/// partition is still reported within a minute rather than the kernel's two hours.
pub const DEFAULT_LINK_TIMEOUT: f64 = 60.0;
/// 60 s: long enough for a route flap, a NAT rebinding or a restarted load balancer to heal.
pub const DEFAULT_RECONNECT_TIMEOUT: f64 = 60.0;
/// 64 MiB per link: a blocking ring of messages up to this size completes without a receive
/// posted, and a 20 ms RTT link at 3 GB/s keeps its bandwidth-delay product in flight.
const DEFAULT_SEND_LIMIT: u64 = 64 << 20;

/// Polling before blocking saves a wake-up per message (2-rank ping-pong on an idle 2-core
/// machine: 50 us blocking at once, 5.6 us after a poll); `spin.rs` yields on every turn and
/// stops polling while other programs want the core. 100 us rather than 20: in 3-rank SYNC on
/// 2 idle cores, ~10% of waits outlasted 20 us and paid a wake-up (19.0 us a round against 25.1).
const DEFAULT_SPIN_US: u64 = 100;

/// A hostfile holds one `host:port` per line, in rank order; `#` starts a comment.
fn read_hostfile(path: &str) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| err!(Arg, "cannot read PARTYLINE_HOSTFILE={path:?}: {e}"))?;
    Ok(text.lines().map(|l| l.split('#').next().unwrap_or("").trim().to_string()).filter(|l| !l.is_empty()).collect())
}

#[cfg(test)]
impl Config {
    /// A job of three, rank 0, with every setting at its default: for unit tests to adjust.
    pub fn for_tests() -> Config {
        Config {
            rank: 0,
            size: 3,
            peers: vec!["a:1".into(), "b:2".into(), "[::1]:3".into()],
            job_id: "j".into(),
            listen_fd: None,
            local_listen_fd: None,
            listen_addr: None,
            coordinator: None,
            coordinator_role: CoordinatorRole::Rank0,
            advertise: None,
            connect_timeout: Duration::from_secs(1),
            handshake_timeout: Duration::from_secs(1),
            unexpected_limit: 1 << 20,
            send_limit: 1 << 20,
            link_timeout: Duration::from_secs(60),
            reconnect_timeout: Duration::from_secs(60),
            eager_limit: 1024,
            socket_buffer: None,
            send_buffer: None,
            send_buffer_max: DEFAULT_SEND_BUFFER_MAX as usize,
            congestion: Congestion::Auto,
            checksums: Checksums::Auto,
            streams: Streams::Auto,
            local_links: LocalLinks::Unix,
            max_frame: 1 << 30,
            spin: Duration::ZERO,
            verbose: false,
            launched_locally: false,
            stats: None,
            security: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests;
