//! The progress token: whether the progress thread or a waiting compute thread watches the links' sockets.
//!
//! An arrival should wake exactly one thread: the one that needs it. While compute threads are
//! waiting, one of them blocks in its own epoll on every link and the progress thread takes the
//! links out of its epoll; once no thread has waited for a whole tick (the program computes),
//! the progress thread puts them back and moves bytes alone.

use crate::error::{err, Result};
use crate::sync::lock;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token as Key};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The waiters' epoll key of the doorbell that `Notifier::notify` rings.
pub(crate) const BELL: Key = Key(usize::MAX - 1);

/// How often the progress thread, while it stands aside, checks whether the waits have stopped.
pub(crate) const TICK: Duration = Duration::from_millis(1);

/// The waiters' own poller: every link, edge-triggered for readable and writable, and the bell.
pub struct Watch {
    pub poll: Poll,
    pub events: Events,
}

pub struct ProgressToken {
    watch: Mutex<Watch>,
    /// The links' sockets (by rank; none while the link is down), as registered with both
    /// pollers. A reconnect swaps in the new sockets. Changed only under `hand`.
    fds: Mutex<Vec<Vec<RawFd>>>,
    /// The waiters' registry, usable without their lock.
    watch_registry: Registry,
    /// The progress thread's registry.
    progress: Registry,
    /// Serializes handing the links between the two pollers.
    hand: Mutex<()>,
    /// True while a compute thread owns the links (they are out of the progress thread's epoll).
    aside: AtomicBool,
    /// True while a compute thread is inside `park`.
    watching: AtomicBool,
    /// Counts waits' checks, so the progress thread sees whether any happened during a tick.
    touches: AtomicU64,
}

impl ProgressToken {
    /// `fds` must already be registered with `progress` (the progress thread's registry), each
    /// with its rank as key; `watch` must hold the bell under `BELL`.
    pub fn new(watch: Poll, fds: Vec<Vec<RawFd>>, progress: Registry) -> Result<ProgressToken> {
        for (peer, link) in fds.iter().enumerate() {
            for fd in link {
                watch
                    .registry()
                    .register(&mut SourceFd(fd), Key(peer), Interest::READABLE | Interest::WRITABLE)
                    .map_err(|e| err!(Other, "cannot watch the link to rank {peer}: {e}"))?;
            }
        }
        let watch_registry =
            watch.registry().try_clone().map_err(|e| err!(Intern, "cannot share the waiters' poller: {e}"))?;
        Ok(ProgressToken {
            watch: Mutex::new(Watch { poll: watch, events: Events::with_capacity(64) }),
            fds: Mutex::new(fds),
            watch_registry,
            progress,
            hand: Mutex::new(()),
            aside: AtomicBool::new(false),
            watching: AtomicBool::new(false),
            touches: AtomicU64::new(0),
        })
    }

    /// A wait checked its requests: the progress thread keeps standing aside for another tick.
    pub fn touch(&self) {
        self.touches.fetch_add(1, SeqCst);
    }

    pub fn touches(&self) -> u64 {
        self.touches.load(SeqCst)
    }

    /// Whether the progress thread currently stands aside.
    pub fn is_aside(&self) -> bool {
        self.aside.load(SeqCst)
    }

    pub fn is_watched(&self) -> bool {
        self.watching.load(SeqCst)
    }

    /// The link to `peer` is down (broken or failed): no poller reports its sockets any more.
    /// Called while the sockets are still open.
    pub fn bury(&self, peer: usize) {
        let _hand = lock(&self.hand);
        let Some(link) = lock(&self.fds).get_mut(peer).map(std::mem::take) else { return };
        self.forget(&link);
    }

    /// Neither poller reports these sockets any more (one that never watched one just says so).
    fn forget(&self, link: &[RawFd]) {
        for fd in link {
            let _ = self.progress.deregister(&mut SourceFd(fd));
            let _ = self.watch_registry.deregister(&mut SourceFd(fd));
        }
    }

    /// The link to `peer` is back on new sockets: both pollers watch them, the progress
    /// thread's only while it owns the links.
    pub fn revive(&self, peer: usize, link: Vec<RawFd>) -> Result<()> {
        let _hand = lock(&self.hand);
        let mut fds = lock(&self.fds);
        let Some(slot) = fds.get_mut(peer) else { return Ok(()) };
        let progress_too = !self.aside.load(SeqCst);
        for (i, fd) in link.iter().enumerate() {
            if let Err(e) = self.register(*fd, peer, progress_too) {
                // The link stays down: leave neither poller watching part of its sockets.
                self.forget(&link[..i]);
                return Err(e);
            }
        }
        *slot = link;
        Ok(())
    }

    /// Has the watching poller, and the progress thread's if `progress_too`, watch one socket
    /// of the link to `peer`; on failure neither does.
    fn register(&self, fd: RawFd, peer: usize, progress_too: bool) -> Result<()> {
        let both = Interest::READABLE | Interest::WRITABLE;
        let watched = self.watch_registry.register(&mut SourceFd(&fd), Key(peer), both);
        watched.map_err(|e| err!(Other, "cannot watch the new link to rank {peer}: {e}"))?;
        if progress_too {
            if let Err(e) = self.progress.register(&mut SourceFd(&fd), Key(peer), both) {
                let _ = self.watch_registry.deregister(&mut SourceFd(&fd));
                return Err(err!(Other, "cannot poll the new link to rank {peer}: {e}"));
            }
        }
        Ok(())
    }

    /// Becomes the one compute thread that watches the sockets, taking the links from the
    /// progress thread if it has them (and waking it so it starts ticking). None if another
    /// compute thread watches already.
    pub fn claim(&self, wake_progress: impl FnOnce()) -> Option<MutexGuard<'_, Watch>> {
        let watch = self.watch.try_lock().ok()?;
        {
            // Under the hand lock, so the progress thread cannot take the links back between
            // the two steps.
            let _hand = lock(&self.hand);
            self.watching.store(true, SeqCst);
        }
        self.step_aside(wake_progress);
        Some(watch)
    }

    /// Takes the links out of the progress thread's epoll (a wait begins), waking it so it
    /// starts ticking; nothing to do if it stands aside already.
    pub fn step_aside(&self, wake_progress: impl FnOnce()) {
        if self.aside.load(SeqCst) {
            return;
        }
        let hand = lock(&self.hand);
        if !self.aside.swap(true, SeqCst) {
            for fd in lock(&self.fds).iter().flatten() {
                let _ = self.progress.deregister(&mut SourceFd(fd));
            }
            drop(hand);
            wake_progress();
        }
    }

    /// Ends a `claim`: the progress thread still stands aside until a tick passes without waits.
    pub fn release(&self, watch: MutexGuard<'_, Watch>) {
        self.watching.store(false, SeqCst);
        drop(watch);
    }

    /// The progress thread takes the links back, unless a compute thread watches them right
    /// now (`force`: at `MPI_Finalize`, regardless). True if it has them.
    pub fn take_over(&self, force: bool) -> bool {
        let _hand = lock(&self.hand);
        if !self.aside.load(SeqCst) {
            return true;
        }
        if !force && self.watching.load(SeqCst) {
            return false;
        }
        for (peer, link) in lock(&self.fds).iter().enumerate() {
            for fd in link {
                // Registering reports whatever is ready already, so nothing that arrived
                // meanwhile is missed.
                let _ = self.progress.register(&mut SourceFd(fd), Key(peer), Interest::READABLE | Interest::WRITABLE);
            }
        }
        self.aside.store(false, SeqCst);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_failed_revive_leaves_no_socket_of_the_link_watched() {
        let progress = Poll::new().unwrap();
        let token =
            ProgressToken::new(Poll::new().unwrap(), vec![Vec::new()], progress.registry().try_clone().unwrap())
                .unwrap();
        let (good, _other) = std::os::unix::net::UnixStream::pair().unwrap();
        let not_a_socket = -1;
        let err = token.revive(0, vec![good.as_raw_fd(), not_a_socket]).unwrap_err();
        assert!(err.to_string().contains("rank 0"), "{err}");
        assert!(lock(&token.fds)[0].is_empty(), "the link stays down");
        // Registering the good socket again succeeds only if the failed revive let go of it.
        let both = Interest::READABLE | Interest::WRITABLE;
        token.watch_registry.register(&mut SourceFd(&good.as_raw_fd()), Key(0), both).unwrap();
        progress.registry().register(&mut SourceFd(&good.as_raw_fd()), Key(0), both).unwrap();

        let (fresh, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
        token.revive(0, vec![fresh.as_raw_fd()]).unwrap();
        assert_eq!(lock(&token.fds)[0], vec![fresh.as_raw_fd()]);
    }
}
