//! Wakes compute threads waiting for completions: poll briefly (`spin.rs`), then block on the sockets or
//! a condvar; poisoned on fatal failure.

use crate::error::{Error, Result};
use crate::spin::{SpinPolicy, Spun};
use crate::sync::lock;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A waiter's way to block on the links' sockets themselves (see `token.rs`).
pub trait Park {
    /// Blocks until a socket event, the bell or `nap`. `still` runs once the bell is armed and
    /// says whether to block at all. False if this thread cannot watch the sockets (another does).
    fn park(&self, nap: Duration, still: &mut dyn FnMut() -> bool) -> bool;

    /// A wait begins (before any spinning): the sockets are about to be watched by waiters.
    fn enter(&self);

    /// A count that grows whenever bytes move on the links: polling goes on while it does.
    fn activity(&self) -> u64 {
        0
    }
}

pub struct Notifier {
    epoch: AtomicU64,
    /// Threads asleep on the condvar.
    waiters: AtomicUsize,
    /// Rung by `notify` while a waiter blocks on the sockets (`armed`).
    bell: Option<mio::Waker>,
    armed: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
    poison: OnceLock<Error>,
    spin: SpinPolicy,
}

impl Notifier {
    pub fn new(spin: Duration) -> Notifier {
        Notifier::with_bell(spin, None)
    }

    /// A notifier that also rings `bell` for a waiter blocked on the sockets (see `Park`).
    pub fn with_bell(spin: Duration, bell: Option<mio::Waker>) -> Notifier {
        Notifier {
            epoch: AtomicU64::new(0),
            waiters: AtomicUsize::new(0),
            bell,
            armed: AtomicBool::new(false),
            lock: Mutex::new(()),
            cv: Condvar::new(),
            poison: OnceLock::new(),
            spin: SpinPolicy::new(spin),
        }
    }

    /// Called after any state a waiter may be watching has changed. Never call it while
    /// holding a lock that a waiter's `ready` closure takes.
    pub fn notify(&self) {
        self.epoch.fetch_add(1, SeqCst);
        if self.armed.load(SeqCst) {
            if let Some(bell) = &self.bell {
                // A failed ring leaves the watcher to its nap; nothing else can be done here.
                let _ = bell.wake();
            }
        }
        if self.waiters.load(SeqCst) > 0 {
            let _guard = lock(&self.lock);
            self.cv.notify_all();
        }
    }

    /// Makes every current and future wait fail with `error` (the first poison wins).
    pub fn poison(&self, error: Error) {
        let _ = self.poison.set(error);
        self.notify();
    }

    pub fn poisoned(&self) -> Option<&Error> {
        self.poison.get()
    }

    /// Called by a `Park` that is about to block: from now on `notify` rings the bell.
    pub fn arm(&self) {
        self.armed.store(true, SeqCst);
    }

    /// Called by a `Park` before it lets another thread watch.
    pub fn disarm(&self) {
        self.armed.store(false, SeqCst);
    }

    /// Waits until `ready` yields a value. `ready` runs without any lock of ours held.
    pub fn wait<T>(&self, ready: impl FnMut() -> Option<T>) -> Result<T> {
        self.wait_parked(ready, None)
    }

    /// Like `wait`, blocking through `park` when it can (see `Park`).
    pub fn wait_parked<T>(&self, ready: impl FnMut() -> Option<T>, park: Option<&dyn Park>) -> Result<T> {
        self.wait_deadline(ready, None, park).map(|v| v.expect("an unbounded wait only returns with a value"))
    }

    /// Like `wait`, but gives up with `Ok(None)` after `timeout`.
    pub fn wait_for<T>(
        &self,
        ready: impl FnMut() -> Option<T>,
        timeout: Duration,
        park: Option<&dyn Park>,
    ) -> Result<Option<T>> {
        self.wait_deadline(ready, Some(Instant::now() + timeout), park)
    }

    fn wait_deadline<T>(
        &self,
        mut ready: impl FnMut() -> Option<T>,
        deadline: Option<Instant>,
        park: Option<&dyn Park>,
    ) -> Result<Option<T>> {
        let mut watched = false;
        let result = self.wait_inner(&mut ready, deadline, park, &mut watched);
        if watched && self.waiters.load(SeqCst) > 0 {
            // Hand the sockets on: a thread asleep on the condvar may now watch them.
            let _guard = lock(&self.lock);
            self.cv.notify_all();
        }
        result
    }

    fn wait_inner<T>(
        &self,
        ready: &mut impl FnMut() -> Option<T>,
        deadline: Option<Instant>,
        park: Option<&dyn Park>,
        watched: &mut bool,
    ) -> Result<Option<T>> {
        if let Some(p) = park {
            p.enter();
        }
        let activity = || park.map_or(0, |p| p.activity());
        let polled = self.spin.spin(
            || match ready() {
                Some(v) => Some(Ok(v)),
                None => self.poisoned().map(|e| Err(e.clone())),
            },
            activity,
        );
        if let Spun::Ready(result) = polled {
            return result.map(Some);
        }
        loop {
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Ok(None);
            }
            // The cap is only a safety net; wake-ups come from `notify`.
            let nap = deadline.map_or(Duration::from_millis(200), |d| (d - now).min(Duration::from_millis(200)));
            let seen = self.epoch.load(SeqCst);
            let value = ready();
            let mut parked = false;
            if value.is_none() && self.poisoned().is_none() {
                if let Some(p) = park {
                    parked = p.park(nap, &mut || {
                        self.arm();
                        self.epoch.load(SeqCst) == seen && self.poisoned().is_none()
                    });
                    *watched |= parked;
                }
            }
            if value.is_none() && !parked {
                // `seen` predates the `ready` above, so a notify since then keeps us awake.
                self.waiters.fetch_add(1, SeqCst);
                if self.poisoned().is_none() {
                    let guard = lock(&self.lock);
                    if self.epoch.load(SeqCst) == seen {
                        let _ = self.cv.wait_timeout(guard, nap);
                    }
                }
                self.waiters.fetch_sub(1, SeqCst);
            }
            if let Some(v) = value {
                return Ok(Some(v));
            }
            if let Some(e) = self.poisoned() {
                return Err(e.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorClass;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    #[test]
    fn wakes_a_parked_waiter() {
        let n = Arc::new(Notifier::new(Duration::ZERO));
        let flag = Arc::new(AtomicBool::new(false));
        let (n2, f2) = (n.clone(), flag.clone());
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            f2.store(true, SeqCst);
            n2.notify();
        });
        n.wait(|| flag.load(SeqCst).then_some(())).unwrap();
        t.join().unwrap();
    }

    #[test]
    fn poison_fails_waits() {
        let n = Notifier::new(Duration::ZERO);
        n.poison(Error::new(ErrorClass::Intern, "thread died"));
        let e = n.wait(|| None::<()>).unwrap_err();
        assert_eq!(e.message, "thread died");
    }
}
