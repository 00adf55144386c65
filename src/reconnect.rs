//! Re-establishing broken links: the higher rank dials the lower one again with backoff (the direction that worked at `MPI_Init`), the lower one pokes the higher one's port (to hurry it, and to learn whether it still runs), and both give up at PARTYLINE_RECONNECT_TIMEOUT.
//!
//! Threads here only connect and greet; what a new connection means for the link is decided
//! by the progress thread, which receives every outcome as a `Relink`.

use crate::bundle::{Bundle, Joiner};
use crate::channel::Channel;
use crate::config::Config;
use crate::conn::Conn;
use crate::engine::LinkBreak;
use crate::error::Error;
use crate::handshake::{Greeting, Hello};
use crate::link::dead_link;
use crate::listener::{hand_off, Handoff, Listener};
use crate::sync::lock;
use crate::tls::Tls;
use crossbeam_channel::Sender;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod attempt;
pub use attempt::Opened;
use attempt::{Attempt, Dialer};

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
    /// The connections the link to `peer` (over the connection of `epoch`) is to widen onto
    /// are open (`Relinker::widen`): it may switch to them, for `cause`.
    Widened { peer: usize, opened: Opened, epoch: u64, cause: String },
    /// They could not be opened: the link keeps its connection.
    NotWidened { peer: usize, streams: usize, why: String },
}

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
    /// Per peer, connections opened for a widening that the link's next break resumes on, and
    /// the epoch of the connection they replace.
    opened: Vec<Mutex<Option<(u64, Opened)>>>,
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
            opened: (0..cfg.size).map(|_| Mutex::new(None)).collect(),
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

    /// Opens `streams` connections to `peer` beside the link's one (of `epoch`), in the
    /// background: the link switches to them when they are ready (`Relink::Widened`), so it
    /// pauses only for the resume. Only the dialing rank widens.
    pub fn widen(&self, peer: usize, streams: usize, epoch: u64, cause: String) {
        let (cfg, tls, me, epochs) = (self.cfg.clone(), self.tls.clone(), self.me.clone(), self.epochs.clone());
        let (events, wake) = (self.events.clone(), self.wake.clone());
        let spawned = std::thread::Builder::new().name("partyline-widen".into()).spawn(move || {
            let dialer = Dialer { cfg: &cfg, tls: tls.as_deref(), me: &me, peer, epochs: &epochs };
            let started = Instant::now();
            let event = match dialer.open(streams, cfg.handshake_timeout) {
                Ok(opened) => {
                    let cause = format!("{cause}; they opened in {:.3} s", started.elapsed().as_secs_f64());
                    Relink::Widened { peer, opened, epoch, cause }
                }
                Err(failure) => Relink::NotWidened { peer, streams, why: failure.why().to_string() },
            };
            Self::report(&events, &wake, event);
        });
        if let Err(e) = spawned {
            let why = format!("cannot start a thread to open them ({e})");
            Self::report(&self.events, &self.wake, Relink::NotWidened { peer, streams, why });
        }
    }

    /// Keeps `opened` for the next break of the link to `peer` over the connection of `epoch`.
    pub fn hold_opened(&self, peer: usize, epoch: u64, opened: Opened) {
        *lock(&self.opened[peer]) = Some((epoch, opened));
    }

    /// The connections held for a break of the link to `peer` over the connection of `epoch`;
    /// any held for another connection are dropped.
    pub fn take_opened(&self, peer: usize, epoch: u64) -> Option<Opened> {
        let held = lock(&self.opened[peer]).take();
        match held {
            Some((held, opened)) if held == epoch => Some(opened),
            Some((_, stale)) => {
                stale.withdraw();
                None
            }
            None => None,
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
            opened: self.take_opened(peer, epoch),
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
    // A dialing rank withdrawing connections it opened to widen a link that has moved on.
    if let Greeting::Reject(_) = greeting {
        return Ok(None);
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
