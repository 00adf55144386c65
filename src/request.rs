//! A request's completion state, shared by the compute thread that waits and the thread that completes it.

use crate::error::Error;
use crate::sync::lock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Source value of a status that describes no message (`MPI_PROC_NULL`).
pub const PROC_NULL: i32 = -3;
/// Tag value of a status that describes no message (`MPI_ANY_TAG`).
pub const ANY_TAG: i32 = -2;

/// What a completed request reports. `source` is a world rank until the C boundary translates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub source: i32,
    pub tag: i32,
    /// Bytes received (or sent).
    pub count: u64,
    pub error: Option<Error>,
    pub cancelled: bool,
}

impl Outcome {
    pub fn empty() -> Outcome {
        Outcome { source: PROC_NULL, tag: ANY_TAG, count: 0, error: None, cancelled: false }
    }

    pub fn failed(error: Error) -> Outcome {
        Outcome { error: Some(error), ..Outcome::empty() }
    }
}

#[derive(Debug)]
pub struct Request {
    done: AtomicBool,
    /// Payload bytes moved so far; a blocking send watches it to spot a stalled link.
    progress: AtomicU64,
    outcome: Mutex<Option<Outcome>>,
    /// Runs once the outcome is recorded (see `then`): how a joined request learns its parts are done.
    next: Mutex<Vec<Continuation>>,
    /// Whether `next` was ever set: spares every other completion a lock.
    has_next: AtomicBool,
}

struct Continuation(Box<dyn FnOnce(&Outcome) + Send>);

impl std::fmt::Debug for Continuation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Continuation")
    }
}

impl Request {
    pub fn new() -> Arc<Request> {
        Arc::new(Request {
            done: AtomicBool::new(false),
            progress: AtomicU64::new(0),
            outcome: Mutex::new(None),
            next: Mutex::new(Vec::new()),
            has_next: AtomicBool::new(false),
        })
    }

    pub fn completed(outcome: Outcome) -> Arc<Request> {
        let r = Request::new();
        r.complete(outcome);
        r
    }

    /// Records the outcome; the first completion wins, so a late failure cannot overwrite it.
    /// Callers notify waiters afterwards.
    pub fn complete(&self, outcome: Outcome) -> bool {
        let mut slot = lock(&self.outcome);
        if slot.is_some() {
            return false;
        }
        *slot = Some(outcome);
        self.done.store(true, Ordering::SeqCst);
        drop(slot);
        if self.has_next.load(Ordering::SeqCst) {
            self.run_next();
        }
        true
    }

    /// Runs `f` with the outcome once the request completes (at once if it has), on the
    /// completing thread, before waiters are woken. Each continuation runs exactly once (two
    /// flushes may watch the same buffered send).
    pub fn then(&self, f: impl FnOnce(&Outcome) + Send + 'static) {
        lock(&self.next).push(Continuation(Box::new(f)));
        self.has_next.store(true, Ordering::SeqCst);
        // Completed meanwhile: whichever of `complete` and this takes a continuation runs it.
        if self.is_done() {
            self.run_next();
        }
    }

    fn run_next(&self) {
        let next = std::mem::take(&mut *lock(&self.next));
        if let Some(outcome) = self.outcome() {
            for f in next {
                (f.0)(&outcome);
            }
        }
    }

    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }

    /// The outcome, once done.
    pub fn outcome(&self) -> Option<Outcome> {
        if !self.is_done() {
            return None;
        }
        lock(&self.outcome).clone()
    }

    pub fn add_progress(&self, bytes: u64) {
        self.progress.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn progress(&self) -> u64 {
        self.progress.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorClass;

    #[test]
    fn first_completion_wins() {
        let r = Request::new();
        assert!(!r.is_done() && r.outcome().is_none());
        let mut ok = Outcome::empty();
        ok.count = 8;
        assert!(r.complete(ok.clone()));
        assert!(!r.complete(Outcome::failed(Error::new(ErrorClass::Other, "late"))));
        assert_eq!(r.outcome(), Some(ok));
    }
}
