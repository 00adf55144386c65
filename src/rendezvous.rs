//! Rendezvous mode: each party registers its mesh address with one coordinator and gets every rank's address back.
//!
//! Wire protocol (all integers little-endian), one TCP connection per party:
//! party → coordinator `Register` (version, job id, rank, size, advertised `host:port` or empty plus the
//! bound port); coordinator → party `Status` (bitmap of registered ranks) whenever it changes, then
//! either `Table` (every rank's address, in rank order), `Refuse` (why this party is turned away) or
//! `Fail` (the timeout, naming the missing ranks). See `message` for the framing.

mod coordinator;
mod message;

pub use coordinator::{serve, Rendezvous};
pub use message::{missing, timed_out, Expected, Message, ReadError, Registration, RENDEZVOUS_VERSION};

use crate::config::{is_host_port, Config, CoordinatorRole};
use crate::error::{err, Error, Result};
use crate::listener::{bind_listener, resolve, Listener};
use crate::log;
use std::io::ErrorKind;
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A waiting party gives the coordinator this long past its own deadline to send its verdict,
/// which names the missing ranks from the coordinator's complete view.
const VERDICT_GRACE: Duration = Duration::from_secs(1);

/// Binds this party's mesh listener and meets the others; returns the listener and every rank's
/// address in rank order. The listener is bound first so the port advertised is the one listened on.
pub fn meet(cfg: &Config) -> Result<(Listener, Vec<String>)> {
    let coordinator =
        cfg.coordinator.as_deref().ok_or_else(|| err!(Intern, "rendezvous started without PARTYLINE_COORDINATOR"))?;
    let expected = Expected { job_id: cfg.job_id.clone(), size: cfg.size };
    if cfg.coordinator_role == CoordinatorRole::Rank0 && cfg.rank == 0 {
        // Rank 0 keeps the coordinator's socket as its mesh listener: the others reach it where
        // they registered, so one open port (one firewall rule) serves both.
        let listener = bind_listener(cfg, &any_address_with_port_of(coordinator))?;
        let rv = Rendezvous {
            listener: listener.tcp(),
            address: coordinator.to_string(),
            expected,
            timeout: cfg.connect_timeout,
            greeting_timeout: cfg.handshake_timeout,
            raise: "raise PARTYLINE_CONNECT_TIMEOUT".into(),
        };
        let own = cfg.advertise.clone().unwrap_or_else(|| coordinator.to_string());
        let table = serve(&rv, Some((0, own)))?;
        return Ok((listener, table));
    }
    let listener = bind_listener(cfg, "0.0.0.0:0")?;
    let port =
        listener.local_addr().map_err(|e| err!(Other, "rank {} cannot read its listening port: {e}", cfg.rank))?.port();
    let me = Registration {
        version: RENDEZVOUS_VERSION,
        job_id: cfg.job_id.clone(),
        rank: cfg.rank as u32,
        size: cfg.size as u32,
        advertise: cfg.advertise.clone(),
        port,
    };
    let table = register(cfg, coordinator, &me)?;
    log::info(&format!("rendezvous at {coordinator}: table {}", table.join(",")));
    Ok((listener, table))
}

/// `0.0.0.0:P` (or `[::]:P`) for a coordinator at `host:P`: its public address may not be local (NAT).
fn any_address_with_port_of(coordinator: &str) -> String {
    let (host, port) = coordinator.rsplit_once(':').unwrap_or(("", "0"));
    if host.starts_with('[') {
        format!("[::]:{port}")
    } else {
        format!("0.0.0.0:{port}")
    }
}

/// How one registration attempt ended, short of the table.
enum Attempt {
    /// The coordinator was not reachable or went away: try again until the deadline.
    Retry(String),
    Fatal(Error),
}

/// What the party has learned so far, for the message if it gives up.
struct Heard {
    /// The registered ranks in the coordinator's last status, once registered.
    status: Option<u64>,
    last_error: Option<String>,
}

/// Registers with the coordinator, retrying with backoff until PARTYLINE_CONNECT_TIMEOUT.
fn register(cfg: &Config, coordinator: &str, me: &Registration) -> Result<Vec<String>> {
    let deadline = Instant::now() + cfg.connect_timeout;
    let mut heard = Heard { status: None, last_error: None };
    let mut backoff = Duration::from_millis(5);
    while Instant::now() < deadline {
        match attempt(cfg, coordinator, me, deadline, &mut heard) {
            Ok(table) => return Ok(table),
            Err(Attempt::Fatal(e)) => return Err(e),
            Err(Attempt::Retry(why)) => heard.last_error = Some(why),
        }
        std::thread::sleep(backoff.min(deadline.saturating_duration_since(Instant::now())));
        backoff = (backoff * 2).min(Duration::from_millis(500));
    }
    Err(give_up(cfg, coordinator, &heard))
}

fn give_up(cfg: &Config, coordinator: &str, heard: &Heard) -> Error {
    let secs = cfg.connect_timeout.as_secs_f64();
    let last = heard.last_error.as_deref().unwrap_or("no attempt finished");
    match heard.status {
        Some(bits) => {
            let message = timed_out(coordinator, secs, &missing(bits, cfg.size), "raise PARTYLINE_CONNECT_TIMEOUT");
            match &heard.last_error {
                Some(e) => err!(Other, "{message} (as of the coordinator's last report; since then: {e})"),
                None => err!(Other, "{message}"),
            }
        }
        None => err!(Other, "rank {} could not register with the coordinator at {coordinator} within {secs:.1} s (last error: {last}); check that the coordinator (rank 0, or partyrun --coordinator with PARTYLINE_COORDINATOR_ROLE=external) is running there, or raise PARTYLINE_CONNECT_TIMEOUT", cfg.rank),
    }
}

fn attempt(
    cfg: &Config,
    coordinator: &str,
    me: &Registration,
    deadline: Instant,
    heard: &mut Heard,
) -> std::result::Result<Vec<String>, Attempt> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    let mut stream = resolve(coordinator)
        .and_then(|addr| TcpStream::connect_timeout(&addr, remaining.min(Duration::from_secs(2))))
        .map_err(|e| Attempt::Retry(e.to_string()))?;
    let _ = stream.set_write_timeout(Some(cfg.handshake_timeout));
    Message::Register(me.clone())
        .write_to(&mut stream)
        .map_err(|e| Attempt::Retry(format!("cannot send the registration: {e}")))?;
    let mut answered = false;
    loop {
        let wait = (deadline + VERDICT_GRACE).saturating_duration_since(Instant::now());
        let _ = stream.set_read_timeout(Some(wait.max(Duration::from_millis(1))));
        let fatal = |message: String| Attempt::Fatal(err!(Other, "{message}"));
        match Message::read_from(&mut stream) {
            Ok(Message::Status(bits)) => {
                heard.status = Some(bits);
                heard.last_error = None;
                answered = true;
            }
            Ok(Message::Table(table)) => return check_table(cfg, coordinator, table).map_err(fatal),
            Ok(Message::Refuse(why)) => {
                return Err(fatal(format!("the coordinator at {coordinator} refused rank {}: {why}", me.rank)))
            }
            Ok(Message::Fail(why)) => return Err(fatal(why)),
            Ok(Message::Register(_)) => {
                return Err(fatal(format!("{coordinator} answered with a registration; PARTYLINE_COORDINATOR must be the address of rank 0's or partyrun --coordinator's rendezvous port")))
            }
            Err(ReadError::Io(e)) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(Attempt::Fatal(give_up(cfg, coordinator, heard)))
            }
            // Dropped before any answer: an overloaded or restarting coordinator; after one,
            // it went away and may come back. Either way, register again.
            Err(ReadError::Io(e)) if answered => {
                return Err(Attempt::Retry(format!("the coordinator closed the connection after rank {} registered ({e}); did it exit?", me.rank)))
            }
            Err(ReadError::Io(e)) => {
                return Err(Attempt::Retry(format!("the coordinator closed the connection without answering ({e})")))
            }
            Err(ReadError::Malformed(why)) => {
                return Err(fatal(format!("{coordinator} sent something that is not a rendezvous answer ({why}); PARTYLINE_COORDINATOR must be the address of rank 0's or partyrun --coordinator's rendezvous port")))
            }
        }
    }
}

fn check_table(cfg: &Config, coordinator: &str, table: Vec<String>) -> std::result::Result<Vec<String>, String> {
    if table.len() != cfg.size {
        return Err(format!(
            "the coordinator at {coordinator} sent {} addresses for PARTYLINE_SIZE={}; is it serving another job?",
            table.len(),
            cfg.size
        ));
    }
    match table.iter().position(|a| !is_host_port(a)) {
        Some(r) => Err(format!(
            "the coordinator at {coordinator} sent {:?} as rank {r}'s address, which is not host:port",
            table[r]
        )),
        None => Ok(table),
    }
}
