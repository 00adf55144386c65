//! A link's connections: the first one, which greets as before, and the extra streams that join it (see `stripe`); the dialing rank opens the extras first, the accepting rank holds them until the first arrives.

use crate::channel::Channel;
use crate::conn::Conn;
use crate::handshake::{Greeting, Hello, Join};
use crate::socket_settings::LocalLinks;
use crate::stripe::{Striped, MAX_STREAMS};
use crate::sync::lock;
use crate::tls::Tls;
use crate::transport::Transport;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Every connection of one link, stream 0 first.
pub struct Bundle {
    pub first: Channel,
    pub more: Vec<Channel>,
    /// Whether the link's plaintext frames carry checksums, as the greetings at `MPI_Init`
    /// agreed; a reconnected link keeps what it agreed then, so a reconnect's bundle leaves
    /// this false.
    pub checksums: bool,
}

impl Bundle {
    pub fn count(&self) -> usize {
        1 + self.more.len()
    }

    /// What the link runs over, for `PARTYLINE_VERBOSE`.
    pub fn describe(&self) -> String {
        let unix = self.conns().filter(|c| matches!(c, Conn::Unix(_))).count();
        match (self.count(), unix) {
            (1, 1) => "a Unix socket on this host".into(),
            (1, _) => "1 TCP connection".into(),
            (n, 0) => format!("{n} TCP connections"),
            (n, u) => format!("{n} connections, {u} of them Unix sockets on this host"),
        }
    }

    pub fn is_tls(&self) -> bool {
        self.first.is_tls()
    }

    pub fn conns(&self) -> impl Iterator<Item = &Conn> {
        std::iter::once(&self.first).chain(&self.more).map(Channel::conn)
    }

    /// The link's transport: the one connection, or all of them striped.
    pub fn into_transport(self) -> io::Result<Box<dyn Transport>> {
        if self.more.is_empty() {
            return self.first.into_transport();
        }
        let mut streams = vec![self.first.into_transport()?];
        for channel in self.more {
            streams.push(channel.into_transport()?);
        }
        Ok(Box::new(Striped::new(streams)))
    }
}

/// Why the extra streams could not be opened.
pub enum JoinFailure {
    /// The peer refused one, saying why: trying again will not help.
    Refused(String),
    /// The network failed or the peer dropped the connection: worth another attempt.
    Failed(String),
}

/// Extra streams one link dials at once: a long path costs each a few round trips (connect,
/// TLS, greeting), so one at a time made dozens take seconds; several links' dials together
/// stay within what an accepting rank handshakes at once (`listener::MAX_PENDING_HANDSHAKES`).
const DIALS_AT_ONCE: usize = 8;

/// Opens streams 1.. of `join.count` to `peer` at `addr` (on its Unix socket as `local` says,
/// see `dial`), each with its own TLS session (if any) and `Join` greeting, all before
/// `deadline`. The dialing rank calls this before its first connection greets, so the
/// accepting rank has them all when that greeting arrives.
pub fn dial_extras(
    addr: SocketAddr,
    local: LocalLinks,
    tls: Option<&Tls>,
    peer: usize,
    join: &Join,
    deadline: Instant,
) -> Result<Vec<Channel>, JoinFailure> {
    let indices: Vec<u32> = (1..join.count).collect();
    let mut streams = Vec::with_capacity(indices.len());
    for wave in indices.chunks(DIALS_AT_ONCE) {
        let dialed: Vec<Result<Channel, JoinFailure>> = std::thread::scope(|scope| {
            let dials: Vec<_> = wave
                .iter()
                .map(|&index| scope.spawn(move || dial_extra((addr, local), tls, peer, join, index, deadline)))
                .collect();
            dials
                .into_iter()
                .map(|dial| {
                    dial.join().unwrap_or_else(|_| {
                        Err(JoinFailure::Failed(format!("dialing an extra stream to rank {peer} panicked")))
                    })
                })
                .collect()
        });
        // A refusal says why trying again will not help: it wins over a network failure.
        let mut failure = None;
        for result in dialed {
            match result {
                Ok(channel) => streams.push(channel),
                Err(refused @ JoinFailure::Refused(_)) => return Err(refused),
                Err(failed) => failure = failure.or(Some(failed)),
            }
        }
        if let Some(failed) = failure {
            return Err(failed);
        }
    }
    Ok(streams)
}

/// Opens extra stream `index` of `join` (see `dial_extras`).
fn dial_extra(
    (addr, local): (SocketAddr, LocalLinks),
    tls: Option<&Tls>,
    peer: usize,
    join: &Join,
    index: u32,
    deadline: Instant,
) -> Result<Channel, JoinFailure> {
    let who = format!("rank {peer}");
    let failed =
        |what: &str, e: &dyn std::fmt::Display| JoinFailure::Failed(format!("extra stream to {who}: {what}: {e}"));
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(failed("the handshake timeout passed", &"PARTYLINE_HANDSHAKE_TIMEOUT"));
    }
    let conn = crate::dial::dial(addr, left.min(Duration::from_secs(2)), local).map_err(|e| failed("connect", &e))?;
    conn.set_nodelay();
    let mut channel =
        Channel::connect(conn, deadline, tls, peer).map_err(|e| failed("TLS", &crate::tls::explain(&who, &e)))?;
    let greeting = Greeting::Join(Join { index, ..join.clone() });
    greeting.write_to(&mut channel, &who).map_err(|e| failed("greeting", &e))?;
    match Greeting::read_from(&mut channel, &who).map_err(|e| failed("answer", &e))? {
        Greeting::Accept(theirs) if theirs.rank as usize == peer => Ok(channel),
        Greeting::Reject(why) => Err(JoinFailure::Refused(why)),
        _ => Err(JoinFailure::Refused(format!("{who} answered an extra stream with something else"))),
    }
}

/// Extra streams waiting for their link's first connection, by dialing rank.
#[derive(Default)]
pub struct Joiner {
    waiting: Mutex<HashMap<usize, Vec<(Join, Channel)>>>,
}

impl Joiner {
    /// Checks an extra stream greeted with `join` and holds it for its link, answering it;
    /// `me` is the accepting rank. Refusals are answered with the reason, and returned.
    pub fn admit(&self, join: Join, mut channel: Channel, me: &Hello, tls: Option<&Tls>) -> Result<(), String> {
        let rank = join.hello.rank;
        let refusal = me.mismatch(&join.hello).or_else(|| {
            if join.target != me.rank {
                return Some(format!("it wants rank {}, but this is rank {}", join.target, me.rank));
            }
            if rank <= me.rank {
                return Some(format!("rank {rank} may not open streams to rank {}: the higher rank dials", me.rank));
            }
            channel.check_rank(tls, rank as usize).err()
        });
        let who = format!("rank {rank}'s extra stream");
        if let Some(why) = refusal {
            let _ = Greeting::Reject(why.clone()).write_to(&mut channel, &who);
            return Err(format!("an extra stream claiming rank {rank}: {why}"));
        }
        // Answered while held, under the lock: once the dialing rank hears back, a greeting on
        // its stream 0 finds this stream here. The answer is a few dozen bytes into a new
        // socket's empty buffer, so the lock is not held waiting on the network.
        let mut waiting = lock(&self.waiting);
        let list = waiting.entry(rank as usize).or_default();
        // A retried dial sends its streams again; an older epoch's are stale.
        list.retain(|(j, _)| j.epoch > join.epoch || (j.epoch == join.epoch && j.index != join.index));
        if list.len() >= MAX_STREAMS {
            return Err(format!("rank {rank} opened more than {MAX_STREAMS} extra streams"));
        }
        list.push((join, channel));
        let (_, channel) = list.last_mut().expect("just pushed");
        if let Err(e) = Greeting::Accept(me.clone()).write_to(channel, &who) {
            list.pop();
            return Err(e.message);
        }
        Ok(())
    }

    /// The extra streams of `rank`'s link of `epoch`, in order (none for a link of one
    /// stream); an error if some are missing.
    pub fn take(&self, rank: usize, epoch: u64) -> Result<Vec<Channel>, String> {
        let mut waiting = lock(&self.waiting);
        let list = waiting.remove(&rank).unwrap_or_default();
        let (mut ours, later): (Vec<_>, Vec<_>) =
            list.into_iter().filter(|(j, _)| j.epoch >= epoch).partition(|(j, _)| j.epoch == epoch);
        if !later.is_empty() {
            waiting.insert(rank, later);
        }
        drop(waiting);
        let Some(count) = ours.first().map(|(j, _)| j.count) else { return Ok(Vec::new()) };
        ours.sort_by_key(|(j, _)| j.index);
        let indexes: Vec<u32> = ours.iter().map(|(j, _)| j.index).collect();
        if ours.iter().any(|(j, _)| j.count != count) || indexes != (1..count).collect::<Vec<_>>() {
            return Err(format!(
                "its link should have {count} streams, but streams {indexes:?} besides the first arrived; check for a proxy or load balancer that drops connections"
            ));
        }
        Ok(ours.into_iter().map(|(_, c)| c).collect())
    }
}
