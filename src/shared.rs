//! What the compute threads and the progress thread share: the engine's mailbox, the links (each behind its own lock, so either thread can move its bytes), and the wake-up paths.

use crate::config::{Config, LinkSocket};
use crate::engine::stall::DEFER_MAX;
use crate::engine::{Ctx, Effects, LinkBreak, LinkSettings, Mailbox, Peer};
use crate::error::{Error, ErrorClass, Fault, Result};
use crate::link::{dead_link, Link};
use crate::notifier::{Notifier, Park};
use crate::reconnect::Relinker;
use crate::socket_settings::Streams;
use crate::stats::Stats;
use crate::sync::lock;
use crate::token::{ProgressToken, BELL};
use crate::transport::Transport;
use crossbeam_channel::Sender;
use std::io::ErrorKind;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Work only the progress thread may start.
pub enum Command {
    /// Say goodbye on every link, flush, half-close, and exit once every peer has done the same.
    Finalize,
}

/// How compute threads reach the progress thread: its command queue and its poller's waker.
pub struct ProgressHandle {
    pub commands: Sender<Command>,
    pub waker: Arc<mio::Waker>,
}

pub struct Shared {
    pub rank: usize,
    pub size: usize,
    mailbox: Mutex<Mailbox>,
    pub notifier: Notifier,
    /// Communication statistics, counted always and reported only with `PARTYLINE_STATS`.
    pub stats: Stats,
    /// Bytes read from and written to the links so far (see `Link`).
    moved: Arc<AtomicU64>,
    links: Vec<Option<Mutex<Link>>>,
    pub token: ProgressToken,
    progress: ProgressHandle,
    /// Repairs broken links (none for a singleton).
    relinker: Option<Relinker>,
    /// Whether a lost link ends the process (the world's error handler is
    /// MPI_ERRORS_ARE_FATAL) or only fails the waits (MPI_ERRORS_RETURN).
    fatal_errors: AtomicBool,
    job_failed: AtomicBool,
    link_socket: LinkSocket,
}

mod relink;

impl Shared {
    /// `transports[r]` carries the link to rank r (none to ourselves).
    pub fn new(
        config: &Config,
        transports: Vec<Option<(Box<dyn Transport>, LinkSettings)>>,
        notifier: Notifier,
        token: ProgressToken,
        progress: ProgressHandle,
        relinker: Option<Relinker>,
    ) -> Shared {
        let moved = Arc::new(AtomicU64::new(0));
        let now = Instant::now();
        let links = transports.into_iter().enumerate().map(|(peer, t)| {
            t.map(|(t, settings)| {
                let peer = Peer::new(config.rank, peer, settings, now);
                let widens = config.streams == Streams::Auto && config.rank > peer.peer_rank() && relinker.is_some();
                let link =
                    Link::new(peer, t, moved.clone(), config.send_buffer_growth(), config.congestion.after_loss());
                Mutex::new(link.widening_on_loss(widens))
            })
        });
        let links = links.collect();
        Shared {
            rank: config.rank,
            size: config.size,
            mailbox: Mutex::new(Mailbox::new(config.size, config.unexpected_limit)),
            notifier,
            stats: Stats::new(config.size),
            moved,
            links,
            token,
            progress,
            relinker,
            fatal_errors: AtomicBool::new(true),
            job_failed: AtomicBool::new(false),
            link_socket: config.link_socket(),
        }
    }

    pub fn mailbox(&self) -> MutexGuard<'_, Mailbox> {
        lock(&self.mailbox)
    }

    /// Runs `f` on the link to `peer` under its lock, then carries out what the engine decided
    /// (outside the lock). An error fails that link (and every operation waiting on it), never
    /// the caller. False if there is no such link.
    /// Lock order: a link, then the mailbox; never the other way round.
    pub fn with_link(&self, peer: usize, f: impl FnOnce(&mut Link, &mut Ctx) -> LinkResult) -> bool {
        let Some(Some(m)) = self.links.get(peer) else { return false };
        let fx = self.run_on(&mut lock(m), f);
        self.apply(fx);
        true
    }

    /// Like `with_link`, but skips a link another thread is busy with.
    pub fn try_with_link(&self, peer: usize, f: impl FnOnce(&mut Link, &mut Ctx) -> LinkResult) {
        if let Some(Some(m)) = self.links.get(peer) {
            let Ok(mut link) = m.try_lock() else { return };
            let fx = self.run_on(&mut link, f);
            drop(link);
            self.apply(fx);
        }
    }

    fn run_on(&self, link: &mut Link, f: impl FnOnce(&mut Link, &mut Ctx) -> LinkResult) -> Effects {
        let mut fx = Effects::default();
        if link.peer.is_failed() {
            return fx;
        }
        let mut ctx = Ctx { mailbox: &self.mailbox, stats: &self.stats, now: Instant::now(), fx: &mut fx };
        let peer = link.peer.peer_rank();
        match f(link, &mut ctx) {
            Ok(()) => {}
            Err(Fault::Break(cause)) if self.relinker.is_some() => self.break_link(link, cause, &mut ctx),
            Err(fault) => {
                let why = match fault {
                    Fault::Fatal(e) => e,
                    Fault::Break(cause) => dead_link(self.rank, peer, &cause),
                };
                report(&why);
                self.token.bury(peer);
                link.peer.fail(why.clone(), &mut ctx);
                link.close();
                ctx.fx.lost.push((peer, why));
            }
        }
        fx
    }

    /// Closes a link's broken connection and asks for a new one; what is queued stays for the
    /// replay. Under the link's lock.
    fn break_link(&self, link: &mut Link, cause: String, ctx: &mut Ctx) {
        let peer = link.peer.peer_rank();
        let widening = link.take_widening();
        match (widening, &self.relinker) {
            (Some(streams), Some(relinker)) => {
                relinker.set_streams(peer, streams);
                crate::log::info(&format!("the link to rank {peer} reopens: {cause}"));
            }
            _ => crate::log::info(&format!("the link to rank {peer} broke ({cause}); re-establishing it")),
        }
        // Out of the pollers while the socket is still open.
        self.token.bury(peer);
        link.break_off(ctx.now, widening.is_some());
        let received = link.peer.received_count();
        ctx.fx.broken.push(LinkBreak { peer, received, epoch: link.epoch, since: ctx.now, cause });
    }

    /// Carries out an engine decision: ends the process on a peer's abort, completes requests,
    /// sends acknowledgements, resumes stalled links, and wakes the waiters. Never called with
    /// a link locked.
    pub fn apply(&self, fx: Effects) {
        if fx.is_empty() {
            return;
        }
        // Before the failed requests wake their waiters, and before a peer's abort that a
        // lost link caused (its notice came first): under a fatal handler the process
        // ends here, with the lost link as the reason, not a waiter's second-hand error.
        for (peer, why) in fx.lost {
            self.link_lost(peer, why);
        }
        if let Some(notice) = fx.job_failure {
            self.link_down_reported(notice);
        }
        if let Some((peer, code)) = fx.abort {
            crate::log::error(&format!("rank {peer} called MPI_Abort with error code {code}; ending this process too"));
            crate::exit_report::collateral(Some(peer), &format!("rank {peer} called MPI_Abort({code})"));
            std::process::exit(code);
        }
        let wake = fx.changed || !fx.completions.is_empty();
        for (req, outcome) in fx.completions {
            req.complete(outcome);
        }
        if wake {
            self.notifier.notify();
        }
        for (peer, seq) in fx.acks {
            self.with_link(peer, |link, ctx| {
                link.peer.queue_ack(seq, ctx.fx);
                link.flush(ctx)
            });
        }
        for peer in fx.resume {
            self.with_link(peer, |link, ctx| link.resume(ctx));
        }
        for broke in fx.broken {
            if let Some(relinker) = &self.relinker {
                relinker.broken(broke);
            }
        }
    }

    /// Whether a copy of `len` more bytes fits the send budget of the link to `peer`.
    pub fn has_room(&self, peer: usize, len: u64) -> bool {
        let Some(Some(m)) = self.links.get(peer) else { return true };
        lock(m).peer.has_room(len)
    }

    /// Moves whatever bytes are ready on every link, from a waiting compute thread.
    pub fn progress_links(&self) {
        self.token.touch();
        self.expire_deferrals();
        for peer in 0..self.size {
            self.try_with_link(peer, |link, ctx| link.pump(ctx));
        }
    }

    /// Buffers the large unexpected messages that have waited long enough for their receive.
    pub fn expire_deferrals(&self) {
        if self.mailbox().has_deferrals() {
            for peer in 0..self.size {
                self.try_with_link(peer, |link, ctx| link.resume(ctx));
            }
        }
    }

    /// The longest a thread watching the links may sleep (`None`: no limit), shortened while a
    /// deferred message needs a timer to be buffered in time (the engine's poll timeout).
    pub fn nap_cap(&self, nap: Option<Duration>) -> Option<Duration> {
        match self.mailbox().poll_timeout() {
            Some(_) => Some(nap.map_or(DEFER_MAX, |n| n.min(DEFER_MAX))),
            None => nap,
        }
    }

    pub fn all_links_closed(&self) -> bool {
        self.open_links().is_empty()
    }

    /// Ranks whose link is still open (for `MPI_Finalize`: they have not said goodbye yet).
    pub fn open_links(&self) -> Vec<usize> {
        let links = self.links.iter().flatten().map(|m| lock(m));
        links.filter(|l| !l.peer.is_closed()).map(|l| l.peer.peer_rank()).collect()
    }

    /// Hands a command to the progress thread and wakes it.
    pub fn command(&self, cmd: Command) -> Result<()> {
        if let Some(e) = self.notifier.poisoned() {
            return Err(e.clone());
        }
        self.progress.commands.send(cmd).map_err(|_| {
            crate::error::err!(
                Intern,
                "the partyline communication thread has stopped; no more communication is possible"
            )
        })?;
        self.progress
            .waker
            .wake()
            .map_err(|e| crate::error::err!(Intern, "cannot wake the partyline communication thread: {e}"))
    }

    /// Wakes the progress thread (to write frames a burst left queued, `Tx::hold`, or to
    /// tick while it stands aside).
    pub fn wake_progress(&self) {
        // A failed wake leaves the work to the next wait or tick; nothing else can be done.
        let _ = self.progress.waker.wake();
    }
}

impl Park for Shared {
    fn activity(&self) -> u64 {
        self.moved.load(Relaxed)
    }

    fn enter(&self) {
        self.token.touch();
        self.token.step_aside(|| self.wake_progress());
    }

    /// Blocks in the waiters' epoll on every link, with the progress thread standing aside, so
    /// an arrival wakes only this thread; it then moves the ready links' bytes itself.
    fn park(&self, nap: Duration, still: &mut dyn FnMut() -> bool) -> bool {
        // The wake: the progress thread ticks from now on; without it, it would sleep with no
        // links to watch.
        let Some(mut watch) = self.token.claim(|| self.wake_progress()) else {
            return false;
        };
        watch.events.clear();
        if still() {
            let w = &mut *watch;
            match w.poll.poll(&mut w.events, self.nap_cap(Some(nap))) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => crate::log::warn(&format!("waiting on the links failed ({e}); falling back to naps")),
            }
        }
        self.notifier.disarm();
        for event in watch.events.iter().filter(|e| e.token() != BELL) {
            // Blocking: the event may be the only notice of these bytes.
            self.with_link(event.token().0, |link, ctx| link.pump(ctx));
        }
        self.token.release(watch);
        true
    }
}

/// What a link operation may end in: a break (repaired by reconnecting) or a fatal fault.
pub type LinkResult = std::result::Result<(), Fault>;

/// A dead peer is reported where the program waits on it; anything else (a malformed
/// frame, a protocol violation) is logged here too, since no wait may ever see it.
fn report(e: &Error) {
    if e.class == ErrorClass::ProcAborted {
        crate::log::info(&e.message);
    } else {
        crate::log::warn(&format!("dropping the link: {}", e.message));
    }
}
