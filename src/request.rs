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

/// Work to do as a request completes, before anyone sees it done: a non-contiguous receive
/// scatters its data into the caller's memory, a packed send frees its copy, a joined request
/// (send-receive, flush) counts its parts.
struct Continuation(Box<dyn FnOnce(&Outcome) + Send>);

impl std::fmt::Debug for Continuation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Continuation")
    }
}

#[derive(Debug)]
pub struct Request {
    done: AtomicBool,
    /// Run in order as the outcome is recorded (see `then`).
    next: Mutex<Vec<Continuation>>,
    /// Whether `next` was ever set: spares every other completion a lock.
    has_next: AtomicBool,
    /// Payload bytes moved so far; a blocking send watches it to spot a stalled link.
    progress: AtomicU64,
    outcome: Mutex<Option<Outcome>>,
    /// A nonblocking collective's request, which MPI does not let `MPI_Cancel` touch.
    collective: bool,
}

impl Request {
    fn make(collective: bool) -> Arc<Request> {
        Arc::new(Request {
            done: AtomicBool::new(false),
            next: Mutex::new(Vec::new()),
            has_next: AtomicBool::new(false),
            progress: AtomicU64::new(0),
            outcome: Mutex::new(None),
            collective,
        })
    }

    pub fn new() -> Arc<Request> {
        Request::make(false)
    }

    /// The request of a nonblocking collective.
    pub fn collective() -> Arc<Request> {
        Request::make(true)
    }

    pub fn is_collective(&self) -> bool {
        self.collective
    }

    pub fn completed(outcome: Outcome) -> Arc<Request> {
        let r = Request::new();
        r.complete(outcome);
        r
    }

    /// Records the outcome; the first completion wins, so a late failure cannot overwrite it.
    /// The continuations run first, so no waiter sees the request done before they have.
    /// Callers notify waiters afterwards.
    pub fn complete(&self, outcome: Outcome) -> bool {
        let mut slot = lock(&self.outcome);
        if slot.is_some() {
            return false;
        }
        if self.has_next.load(Ordering::SeqCst) {
            for f in std::mem::take(&mut *lock(&self.next)) {
                (f.0)(&outcome);
            }
        }
        *slot = Some(outcome);
        self.done.store(true, Ordering::SeqCst);
        true
    }

    /// Runs `f` with the outcome as the request completes, on the completing thread, or now if
    /// it already has; either way before `is_done` can be seen true by a waiter that has not
    /// already seen it. Each runs exactly once; `f` must not touch this request.
    pub fn then(&self, f: impl FnOnce(&Outcome) + Send + 'static) {
        let slot = lock(&self.outcome);
        match &*slot {
            Some(done) => f(done),
            None => {
                lock(&self.next).push(Continuation(Box::new(f)));
                self.has_next.store(true, Ordering::SeqCst);
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
