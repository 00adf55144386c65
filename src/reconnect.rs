//! Re-establishing broken links: the higher rank dials the lower one again with backoff (the direction that worked at `MPI_Init`), the lower one pokes the higher one's port (to hurry it, and to learn whether it still runs), and both give up at PARTYLINE_RECONNECT_TIMEOUT.
//!
//! Threads here only connect and greet; what a new connection means for the link is decided
//! by the progress thread, which receives every outcome as a `Relink`.

use crate::bundle::{dial_extras, Bundle, JoinFailure, Joiner};
use crate::channel::Channel;
use crate::config::Config;
use crate::conn::Conn;
use crate::engine::LinkBreak;
use crate::error::Error;
use crate::handshake::{Greeting, Hello, Join, Resume};
use crate::link::dead_link;
use crate::listener::{hand_off, resolve, Handoff, Listener};
use crate::tls::Tls;
use crossbeam_channel::Sender;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What became of a reconnect attempt, for the progress thread.
pub enum Relink {
    /// We dialed: a new connection to `peer`, which has received `received` of our frames.
    Dialed { peer: usize, bundle: Bundle, received: u64, epoch: u64 },
    /// `peer` dialed us: answer with our count once the link is ready for it.
    Incoming { peer: usize, bundle: Bundle, received: u64, epoch: u64 },
    /// A lower rank saw our link to it (over the connection of `epoch`) break: dial it again.
    Poked { peer: usize, epoch: u64 },
    /// The link cannot be re-established.
    Dead { peer: usize, why: Error },
}

/// The longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

pub struct Relinker {
    cfg: Config,
    tls: Option<Arc<Tls>>,
    me: Hello,
    /// Holds the extra streams of links that higher ranks re-establish.
    joiner: Arc<Joiner>,
    /// Per peer, how many streams its link has (a reconnect opens as many again), and, while
    /// a link reopens to widen (`set_streams`), how many it had before (0 otherwise).
    streams: Arc<Vec<AtomicUsize>>,
    widened_from: Arc<Vec<AtomicUsize>>,
    events: Sender<Relink>,
    wake: Arc<mio::Waker>,
    /// Per peer, bumped whenever its link is restored or declared dead, so that attempts
    /// still running for an older break stop.
    generation: Arc<Vec<AtomicU64>>,
    /// The last epoch each dialed link proposed.
    epochs: Arc<Vec<AtomicU64>>,
}

impl Relinker {
    pub fn new(
        cfg: &Config,
        tls: Option<Arc<Tls>>,
        me: Hello,
        joiner: Arc<Joiner>,
        streams: Vec<usize>,
        events: Sender<Relink>,
        wake: Arc<mio::Waker>,
    ) -> Relinker {
        let counters = || Arc::new((0..cfg.size).map(|_| AtomicU64::new(0)).collect::<Vec<_>>());
        let widened_from = Arc::new(streams.iter().map(|_| AtomicUsize::new(0)).collect());
        let streams = Arc::new(streams.into_iter().map(AtomicUsize::new).collect());
        Relinker {
            cfg: cfg.clone(),
            tls,
            me,
            joiner,
            streams,
            widened_from,
            events,
            wake,
            generation: counters(),
            epochs: counters(),
        }
    }

    fn report(events: &Sender<Relink>, wake: &mio::Waker, event: Relink) {
        // The receiver goes away only when the job ends; nothing is waiting for this then.
        let _ = events.send(event);
        let _ = wake.wake();
    }

    /// Who we are, as the greetings say it.
    pub fn me(&self) -> &Hello {
        &self.me
    }

    /// The link to `peer` reopens with `count` streams from its next reconnect on; if that
    /// reconnect cannot open them all, it goes back to the count it had.
    pub fn set_streams(&self, peer: usize, count: usize) {
        if let (Some(streams), Some(before)) = (self.streams.get(peer), self.widened_from.get(peer)) {
            before.store(streams.swap(count, SeqCst), SeqCst);
        }
    }

    /// The link to `peer` is settled (restored or dead): attempts for it stop.
    pub fn settled(&self, peer: usize) {
        self.generation[peer].fetch_add(1, SeqCst);
    }

    /// Accepts reconnects and pokes for the rest of the job.
    pub fn listen(&self, listener: Listener) {
        let (cfg, tls, me, joiner) = (self.cfg.clone(), self.tls.clone(), self.me.clone(), self.joiner.clone());
        let (events, wake) = (self.events.clone(), self.wake.clone());
        // Non-blocking, as bootstrap accepted on it (the sockets are shared with its clone): one
        // thread waits on both the TCP and the Unix socket.
        if let Err(e) = listener.set_nonblocking(true) {
            crate::log::warn(&format!("cannot accept reconnects ({e}); broken links will not be repaired"));
            return;
        }
        let spawned = std::thread::Builder::new().name("partyline-relink".into()).spawn(move || {
            let pending = Arc::new(AtomicUsize::new(0));
            loop {
                let (stream, from) = match listener.accept() {
                    Ok(accepted) => accepted,
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted) => {
                        listener.wait();
                        continue;
                    }
                    Err(e) => {
                        // Out of descriptors, say: do not spin on it.
                        crate::log::warn_repeated("failed accepts", &format!("accepting a reconnect failed: {e}"));
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                };
                let (cfg, tls, me, events, wake) = (cfg.clone(), tls.clone(), me.clone(), events.clone(), wake.clone());
                let joiner = joiner.clone();
                let greeted = move || match answer(stream, &cfg, tls.as_deref(), &me, &joiner) {
                    Ok(Some(event)) => Self::report(&events, &wake, event),
                    Ok(None) => {}
                    Err(why) => crate::log::warn_repeated(
                        "refused reconnects",
                        &format!("refused a reconnect from {from}: {why}"),
                    ),
                };
                if let Handoff::Busy = hand_off(&pending, "partyline-regreet", greeted) {
                    crate::log::warn_repeated(
                        "refused reconnects",
                        "refused a reconnect: too many handshakes in progress",
                    );
                }
            }
        });
        if let Err(e) = spawned {
            crate::log::warn(&format!("cannot accept reconnects ({e}); broken links will not be repaired"));
        }
    }

    /// A link broke. The higher rank dials; the lower one pokes.
    pub fn broken(&self, broke: LinkBreak) {
        let LinkBreak { peer, received, epoch, since, cause } = broke;
        let generation = self.generation[peer].load(SeqCst);
        let attempt = Attempt {
            peer,
            cfg: self.cfg.clone(),
            tls: self.tls.clone(),
            me: self.me.clone(),
            received,
            epoch,
            deadline: since + self.cfg.reconnect_timeout,
            cause,
            still: self.generation.clone(),
            generation,
            epochs: self.epochs.clone(),
            streams: self.streams.get(peer).map_or(1, |s| s.load(SeqCst)),
            narrower: self.widened_from.get(peer).map(|w| w.swap(0, SeqCst)).filter(|n| *n > 0),
            counts: self.streams.clone(),
        };
        let (events, wake) = (self.events.clone(), self.wake.clone());
        let spawned = std::thread::Builder::new().name("partyline-redial".into()).spawn(move || {
            let mut attempt = attempt;
            if let Some(event) = attempt.run() {
                Self::report(&events, &wake, event);
            }
        });
        if let Err(e) = spawned {
            let why = dead_link(self.cfg.rank, peer, &format!("cannot start a thread to reconnect ({e})"));
            Self::report(&self.events, &self.wake, Relink::Dead { peer, why });
        }
    }
}

/// One broken link's attempts to come back.
struct Attempt {
    peer: usize,
    cfg: Config,
    tls: Option<Arc<Tls>>,
    me: Hello,
    received: u64,
    /// The broken connection's epoch (a poke names it, so a stale one is ignored).
    epoch: u64,
    deadline: Instant,
    cause: String,
    still: Arc<Vec<AtomicU64>>,
    generation: u64,
    epochs: Arc<Vec<AtomicU64>>,
    streams: usize,
    /// The count before the link reopened to widen: where the extra streams cannot be opened,
    /// the link goes back to it (in `counts`, for later reconnects) rather than fail.
    narrower: Option<usize>,
    counts: Arc<Vec<AtomicUsize>>,
}

impl Attempt {
    fn run(&mut self) -> Option<Relink> {
        let peer = self.peer;
        let mut backoff = Duration::from_millis(20);
        let mut last = String::from("no attempt finished");
        let mut answered = false;
        loop {
            if self.still[peer].load(SeqCst) != self.generation {
                return None;
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let alive = if answered {
                    format!("; rank {peer} still runs (it answered), so the network between the two ranks failed")
                } else {
                    String::new()
                };
                let why = format!(
                    "{}; it could not be re-established within {} s (PARTYLINE_RECONNECT_TIMEOUT; last attempt: {last}){alive}",
                    self.cause,
                    self.cfg.reconnect_timeout.as_secs_f64()
                );
                return Some(Relink::Dead { peer, why: dead_link(self.cfg.rank, peer, &why) });
            }
            match self.once(left) {
                Ok(event) => return Some(event),
                Err(Gone(why)) => return Some(Relink::Dead { peer, why: dead_link(self.cfg.rank, peer, &why) }),
                Err(Retry(why)) => last = why,
                Err(Narrow(why)) => {
                    let narrower = self.narrower.take().unwrap_or(1);
                    crate::log::info(&format!(
                        "could not open {} connections to rank {peer} ({why}); the link keeps {narrower}",
                        self.streams
                    ));
                    self.streams = narrower;
                    if let Some(count) = self.counts.get(peer) {
                        count.store(narrower, SeqCst);
                    }
                    continue;
                }
                Err(Answered(why)) => {
                    answered = true;
                    last = why;
                }
            }
            std::thread::sleep(backoff.min(self.deadline.saturating_duration_since(Instant::now())));
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One connection: a resume if we dial, a poke if the peer does.
    fn once(&self, left: Duration) -> Result<Relink, Failure> {
        let peer = self.peer;
        let addr = resolve(&self.cfg.peers[peer]).map_err(|e| Retry(e.to_string()))?;
        let conn = match crate::dial::dial(addr, left.min(Duration::from_secs(2)), self.cfg.local_links) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                return Err(Gone(format!(
                    "{}; rank {peer} is gone: its port {addr} refuses connections, so it exited or crashed without calling MPI_Finalize",
                    self.cause
                )))
            }
            other => other.map_err(|e| Retry(e.to_string()))?,
        };
        // The greeting's small writes must not wait for delayed acknowledgements (40 ms each).
        conn.set_nodelay();
        let deadline = Instant::now() + self.cfg.handshake_timeout.min(left.max(Duration::from_millis(200)));
        let dialing = self.cfg.rank > peer;
        let epoch = if dialing { self.epochs[peer].fetch_add(1, SeqCst) + 1 } else { self.epoch };
        let who = format!("rank {peer}");
        // A dialed link's extra streams go first, so the peer holds them when the resume comes.
        let more = if dialing {
            let join =
                Join { hello: self.me.clone(), target: peer as u32, epoch, index: 0, count: self.streams as u32 };
            dial_extras(addr, self.cfg.local_links, self.tls.as_deref(), peer, &join, deadline).map_err(|e| {
                let why = match e {
                    JoinFailure::Refused(why) => format!("{who} refused an extra stream: {why}"),
                    JoinFailure::Failed(why) => why,
                };
                if self.narrower.is_some() {
                    Narrow(why)
                } else {
                    Retry(why)
                }
            })?
        } else {
            Vec::new()
        };
        let mut channel = Channel::connect(conn, deadline, self.tls.as_deref(), peer)
            .map_err(|e| Retry(crate::tls::explain(&who, &e)))?;
        let mine = Resume { hello: self.me.clone(), target: peer as u32, epoch, received: self.received };
        if !dialing {
            Greeting::Poke(mine).write_to(&mut channel, &who).map_err(|e| Retry(e.message))?;
            return match Greeting::read_from(&mut channel, &who).map_err(|e| Retry(e.message))? {
                // It runs; whether it dials back is up to it. Keep poking until it does.
                Greeting::Accept(_) => Err(Answered(format!("rank {peer} runs but has not reconnected yet"))),
                Greeting::Reject(why) => Err(Retry(format!("rank {peer} refused the poke: {why}"))),
                _ => Err(Retry(format!("rank {peer} answered the poke with something else"))),
            };
        }
        Greeting::Resume(mine).write_to(&mut channel, &who).map_err(|e| Retry(e.message))?;
        match Greeting::read_from(&mut channel, &who).map_err(|e| Retry(e.message))? {
            Greeting::Resumed(r) if r.hello.rank as usize == peer && r.epoch == epoch => Ok(Relink::Dialed {
                peer,
                bundle: Bundle { first: channel, more, checksums: false },
                received: r.received,
                epoch,
            }),
            Greeting::Reject(why) => Err(Retry(format!("rank {peer} refused: {why}"))),
            _ => Err(Retry(format!("rank {peer} answered the reconnect with something else"))),
        }
    }
}

enum Failure {
    /// Worth another attempt.
    Retry(String),
    /// Worth another attempt, and the peer answered: it still runs.
    Answered(String),
    /// The peer is gone for good.
    Gone(String),
    /// The extra streams of a link that reopens to widen could not be opened: go back to the
    /// count it had, at once.
    Narrow(String),
}
use Failure::{Answered, Gone, Narrow, Retry};

/// Reads a reconnecting or poking party's greeting on our listener and checks that it
/// belongs to this job and is who it claims to be. `Ok(None)`: a connection that closed
/// without a word (another party's liveness check).
fn answer(
    stream: Conn,
    cfg: &Config,
    tls: Option<&Tls>,
    me: &Hello,
    joiner: &Joiner,
) -> Result<Option<Relink>, String> {
    stream.set_nonblocking(false).map_err(|e| e.to_string())?;
    stream.set_nodelay();
    let mut first = [0u8; 1];
    if matches!(stream.peek(&mut first), Ok(0)) {
        return Ok(None);
    }
    let deadline = Instant::now() + cfg.handshake_timeout;
    let mut channel = Channel::accept(stream, deadline, tls).map_err(|e| e.to_string())?;
    let greeting = Greeting::read_from(&mut channel, "a reconnecting party").map_err(|e| e.message)?;
    if let Greeting::Join(join) = greeting {
        return joiner.admit(join, channel, me, tls).map(|()| None);
    }
    let (Greeting::Resume(r) | Greeting::Poke(r)) = &greeting else {
        return Err("it did not open with a reconnect greeting (the job has started already)".into());
    };
    let claimed = r.hello.rank as usize;
    let mut refusal = me.mismatch(&r.hello);
    if refusal.is_none() && r.target as usize != cfg.rank {
        refusal = Some(format!("it wants rank {}, but this is rank {}", r.target, cfg.rank));
    }
    let dialing = matches!(greeting, Greeting::Resume(_));
    if refusal.is_none() && dialing != (claimed > cfg.rank) {
        refusal = Some(format!("rank {claimed} may not {} rank {}", if dialing { "dial" } else { "poke" }, cfg.rank));
    }
    if refusal.is_none() {
        refusal = channel.check_rank(tls, claimed).err();
    }
    let mut more = Vec::new();
    if refusal.is_none() && dialing {
        match joiner.take(claimed, r.epoch) {
            Ok(streams) => more = streams,
            Err(why) => refusal = Some(why),
        }
    }
    if let Some(why) = refusal {
        let _ = Greeting::Reject(why.clone()).write_to(&mut channel, "a reconnecting party");
        return Err(format!("it claimed rank {claimed}: {why}"));
    }
    Ok(Some(match greeting {
        Greeting::Resume(r) => Relink::Incoming {
            peer: claimed,
            bundle: Bundle { first: channel, more, checksums: false },
            received: r.received,
            epoch: r.epoch,
        },
        _ => {
            // Tell the poking rank that we run; it keeps waiting for our dial.
            let _ = Greeting::Accept(me.clone()).write_to(&mut channel, "a poking party");
            Relink::Poked { peer: claimed, epoch: r.epoch }
        }
    }))
}

#[cfg(test)]
mod tests;
