//! What the compute threads and the progress thread share: the mailbox, the links (each
//! behind its own lock, so either thread can move its bytes), and the wake-up paths.

use crate::error::{Error, ErrorClass, Result};
use crate::link::Link;
use crate::mailbox::Mailbox;
use crate::notifier::{Notifier, Park};
use crate::request::{Outcome, Request};
use crate::stats::Stats;
use crate::token::{ProgressToken, BELL};
use crossbeam_channel::Sender;
use std::io::ErrorKind;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Work only the progress thread may start.
pub enum Command {
    /// Say goodbye on every link, flush, half-close, and exit once every peer has done the same.
    Finalize,
}

pub struct Shared {
    pub rank: usize,
    pub size: usize,
    pub max_frame: u64,
    pub mailbox: Mutex<Mailbox>,
    pub notifier: Notifier,
    /// Communication statistics, counted always and reported only with `PARTYLINE_STATS`.
    pub stats: Stats,
    /// Links holding a large unexpected message back for its receive (see `receive.rs`).
    pub deferrals: AtomicUsize,
    /// Bytes read from and written to the links so far: a waiting thread keeps polling while
    /// this moves (see `spin.rs`).
    pub moved: AtomicU64,
    links: Vec<Option<Mutex<Link>>>,
    pub token: ProgressToken,
    commands: Sender<Command>,
    waker: mio::Waker,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update leaves the state consistent before anything that can panic, so a panic
    // elsewhere while a lock was held does not make it unusable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        rank: usize,
        size: usize,
        max_frame: u64,
        mailbox: Mailbox,
        notifier: Notifier,
        links: Vec<Option<Link>>,
        token: ProgressToken,
        commands: Sender<Command>,
        waker: mio::Waker,
    ) -> Shared {
        let links = links.into_iter().map(|l| l.map(Mutex::new)).collect();
        let stats = Stats::new(size);
        Shared {
            rank,
            size,
            max_frame,
            mailbox: Mutex::new(mailbox),
            notifier,
            stats,
            deferrals: AtomicUsize::new(0),
            moved: AtomicU64::new(0),
            links,
            token,
            commands,
            waker,
        }
    }

    pub fn mailbox(&self) -> MutexGuard<'_, Mailbox> {
        lock(&self.mailbox)
    }

    /// Runs `f` on the link to `peer` under its lock; an error fails that link (and every
    /// operation waiting on it), never the caller. False if there is no such link.
    /// Lock order: a link, then the mailbox; never the other way round.
    pub fn with_link(&self, peer: usize, f: impl FnOnce(&mut Link, &Shared) -> Result<()>) -> bool {
        let Some(Some(m)) = self.links.get(peer) else { return false };
        self.run_on(&mut lock(m), f);
        true
    }

    /// Like `with_link`, but skips a link another thread is busy with.
    pub fn try_with_link(&self, peer: usize, f: impl FnOnce(&mut Link, &Shared) -> Result<()>) {
        if let Some(Some(m)) = self.links.get(peer) {
            if let Ok(mut link) = m.try_lock() {
                self.run_on(&mut link, f);
            }
        }
    }

    fn run_on(&self, link: &mut Link, f: impl FnOnce(&mut Link, &Shared) -> Result<()>) {
        if link.failed {
            return;
        }
        if let Err(e) = f(link, self) {
            report(&e);
            link.fail(e, self);
            self.token.bury(link.peer);
        }
    }

    /// Moves whatever bytes are ready on every link, from a waiting compute thread.
    pub fn progress_links(&self) {
        self.token.touch();
        self.expire_deferrals();
        for peer in 0..self.size {
            self.try_with_link(peer, |link, sh| link.pump(sh));
        }
    }

    /// Buffers the large unexpected messages that have waited long enough for their receive.
    pub fn expire_deferrals(&self) {
        if self.deferrals.load(SeqCst) > 0 {
            for peer in 0..self.size {
                self.try_with_link(peer, |link, sh| link.resume(sh));
            }
        }
    }

    /// The longest a thread watching the links may sleep (`None`: no limit), shortened while a
    /// deferred message needs a timer to be buffered in time.
    pub fn nap_cap(&self, nap: Option<Duration>) -> Option<Duration> {
        if self.deferrals.load(SeqCst) > 0 {
            Some(nap.map_or(crate::receive::DEFER_MAX, |n| n.min(crate::receive::DEFER_MAX)))
        } else {
            nap
        }
    }

    pub fn all_links_closed(&self) -> bool {
        self.open_links().is_empty()
    }

    /// Ranks whose link is still open (for `MPI_Finalize`: they have not said goodbye yet).
    pub fn open_links(&self) -> Vec<usize> {
        self.links.iter().flatten().map(|m| lock(m)).filter(|l| !l.is_closed()).map(|l| l.peer).collect()
    }

    /// Hands a command to the progress thread and wakes it.
    pub fn command(&self, cmd: Command) -> Result<()> {
        if let Some(e) = self.notifier.poisoned() {
            return Err(e.clone());
        }
        self.commands.send(cmd).map_err(|_| {
            crate::error::err!(
                Intern,
                "the partyline communication thread has stopped; no more communication is possible"
            )
        })?;
        self.waker.wake().map_err(|e| crate::error::err!(Intern, "cannot wake the partyline communication thread: {e}"))
    }

    /// Wakes the progress thread (to write frames a burst left queued, `Link::hold`, or to
    /// tick while it stands aside).
    pub fn wake_progress(&self) {
        // A failed wake leaves the work to the next wait or tick; nothing else can be done.
        let _ = self.waker.wake();
    }

    /// Completes a request and wakes its waiter.
    pub fn complete(&self, req: &Request, outcome: Outcome) {
        req.complete(outcome);
        self.notifier.notify();
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
            self.with_link(event.token().0, |link, sh| link.pump(sh));
        }
        self.token.release(watch);
        true
    }
}

/// A dead peer is reported where the program waits on it; anything else (a malformed
/// frame, a protocol violation) is logged here too, since no wait may ever see it.
fn report(e: &Error) {
    if e.class == ErrorClass::ProcAborted {
        crate::log::info(&e.message);
    } else {
        crate::log::warn(&format!("dropping the link: {}", e.message));
    }
}
