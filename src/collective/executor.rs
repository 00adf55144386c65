//! Nonblocking collectives: a worker thread per communicator runs its posted collectives in order, apart from the caller.
//!
//! MPI has every rank start a communicator's collectives in the same order, blocking and
//! nonblocking alike, and matches them in that order. Running them one at a time in that order,
//! with the blocking algorithms, keeps them apart on the wire: a pair of ranks exchanges the
//! k-th collective's messages before the (k+1)-th's on the collective context, and matching
//! never lets a later message overtake an earlier one with the same source and tag, so two
//! collectives of one kind in flight at once cannot cross-match. A blocking collective first
//! waits for its communicator's queue to drain (`settle`), which keeps the order too.
//!
//! The worker of a communicator (its lane) starts with the first posted collective and leaves
//! after `LINGER` idle; `MPI_Finalize` drains every lane and joins the workers. The worker never
//! holds a lock while a collective waits for the network, and the caller's threads only post and
//! wait, as for point-to-point.

use crate::error::{err, Result};
use crate::request::{Outcome, Request};
use crate::runtime::Runtime;
use crate::sync::{lock, panic_message};
use std::collections::{BTreeMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long an idle worker waits for more work before its thread ends.
const LINGER: Duration = Duration::from_secs(2);

/// What the executor needs of the engine: waiting for a condition while the links progress,
/// and waking the threads that wait. The runtime in production; a plain spin in unit tests.
pub trait Engine: Sync + 'static {
    fn wait_until<T>(&self, ready: impl FnMut() -> Option<T>) -> Result<T>;
    fn wake_waiters(&self);
}

impl Engine for Runtime {
    fn wait_until<T>(&self, ready: impl FnMut() -> Option<T>) -> Result<T> {
        Runtime::wait_until(self, ready)
    }

    fn wake_waiters(&self) {
        self.shared.notifier.notify();
    }
}

/// A collective's work, run once on the thread that runs it (the caller's or a worker).
pub type Work<E = Runtime> = Box<dyn FnOnce(&E) -> Result<()> + Send>;

/// A collective ready to run: its communicator's collective context and the work itself.
pub struct Job<E = Runtime> {
    pub context: u64,
    pub run: Work<E>,
}

/// One communicator's posted collectives.
struct Lane<E> {
    queue: VecDeque<(Job<E>, Arc<Request>)>,
    /// The worker has taken a job and not yet finished it.
    running: bool,
}

impl<E> Default for Lane<E> {
    fn default() -> Self {
        Lane { queue: VecDeque::new(), running: false }
    }
}

impl<E> Lane<E> {
    fn idle(&self) -> bool {
        self.queue.is_empty() && !self.running
    }
}

struct Lanes<E> {
    /// Lanes with a worker, by collective context; a worker removes its lane as it leaves.
    by_context: BTreeMap<u64, Lane<E>>,
    /// `MPI_Finalize` has begun: workers leave as soon as their queue is empty.
    stopping: bool,
}

/// The lanes of every communicator and their worker threads.
pub struct Executor<E = Runtime> {
    lanes: Mutex<Lanes<E>>,
    /// Rung when work is queued or stopping begins (workers sleep on it while idle).
    work: Condvar,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

/// The process's executor (there is one runtime per process).
pub static EXECUTOR: Executor = Executor::new();

impl<E: Engine> Default for Executor<E> {
    fn default() -> Self {
        Executor::new()
    }
}

impl<E: Engine> Executor<E> {
    pub const fn new() -> Executor<E> {
        Executor {
            lanes: Mutex::new(Lanes { by_context: BTreeMap::new(), stopping: false }),
            work: Condvar::new(),
            workers: Mutex::new(Vec::new()),
        }
    }

    /// Queues `job` behind the communicator's earlier collectives; the request completes when
    /// it has run, with its error if it failed.
    pub fn submit(&'static self, rt: &'static E, job: Job<E>) -> Result<Arc<Request>> {
        let req = Request::collective();
        let context = job.context;
        let mut lanes = lock(&self.lanes);
        if lanes.stopping {
            return Err(err!(Other, "MPI_Finalize has begun; no collective can be started any more"));
        }
        let start_worker = !lanes.by_context.contains_key(&context);
        lanes.by_context.entry(context).or_default().queue.push_back((job, req.clone()));
        if start_worker {
            let spawned = std::thread::Builder::new()
                .name(format!("partyline-coll-{context:x}"))
                .spawn(move || self.serve(rt, context));
            match spawned {
                Ok(handle) => {
                    let mut workers = lock(&self.workers);
                    workers.retain(|w| !w.is_finished());
                    workers.push(handle);
                }
                Err(e) => {
                    lanes.by_context.remove(&context);
                    return Err(err!(NoMem, "cannot start a thread for nonblocking collectives: {e}"));
                }
            }
        } else {
            self.work.notify_all();
        }
        Ok(req)
    }

    /// Waits until the communicator with collective context `context` has no nonblocking
    /// collective queued or running, so a blocking one may start (MPI's collective order).
    pub fn settle(&self, rt: &E, context: u64) -> Result<()> {
        rt.wait_until(|| lock(&self.lanes).by_context.get(&context).is_none_or(Lane::idle).then_some(()))
    }

    /// `MPI_Finalize`: lets every posted collective finish, then ends the workers.
    pub fn finish(&self, rt: &E) -> Result<()> {
        let drained = rt.wait_until(|| lock(&self.lanes).by_context.values().all(Lane::idle).then_some(()));
        lock(&self.lanes).stopping = true;
        self.work.notify_all();
        let workers = std::mem::take(&mut *lock(&self.workers));
        for w in workers {
            // A worker's jobs never wait forever: a dead communication thread fails them.
            let _ = w.join();
        }
        drained
    }

    /// A worker's life: run its lane's jobs in order, completing each one's request.
    fn serve(&self, rt: &E, context: u64) {
        while let Some((job, req)) = self.next(context) {
            let result = catch_unwind(AssertUnwindSafe(|| (job.run)(rt))).unwrap_or_else(|panic| {
                Err(err!(Intern, "a nonblocking collective panicked: {}", panic_message(&*panic)))
            });
            if let Some(lane) = lock(&self.lanes).by_context.get_mut(&context) {
                lane.running = false;
            }
            req.complete(result.err().map_or_else(Outcome::empty, Outcome::failed));
            // After the lock is released: waiters' readiness checks take it.
            rt.wake_waiters();
        }
    }

    /// The lane's next job, waiting up to `LINGER` for one; `None` when the worker should leave
    /// (its lane is then removed, so the next post starts a new worker).
    fn next(&self, context: u64) -> Option<(Job<E>, Arc<Request>)> {
        let mut lanes = lock(&self.lanes);
        let mut waited = false;
        loop {
            let stopping = lanes.stopping;
            let lane = lanes.by_context.get_mut(&context)?;
            if let Some(job) = lane.queue.pop_front() {
                lane.running = true;
                return Some(job);
            }
            if stopping || waited {
                lanes.by_context.remove(&context);
                return None;
            }
            let (guard, timeout) = self.work.wait_timeout(lanes, LINGER).unwrap_or_else(|p| p.into_inner());
            lanes = guard;
            waited = timeout.timed_out();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorClass;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// An engine without links: waits poll and yield.
    struct Spin;

    impl Engine for Spin {
        fn wait_until<T>(&self, mut ready: impl FnMut() -> Option<T>) -> Result<T> {
            loop {
                if let Some(v) = ready() {
                    return Ok(v);
                }
                std::thread::yield_now();
            }
        }

        fn wake_waiters(&self) {}
    }

    fn executor() -> &'static Executor<Spin> {
        Box::leak(Box::new(Executor::new()))
    }

    fn job(context: u64, work: impl FnOnce(&Spin) -> Result<()> + Send + 'static) -> Job<Spin> {
        Job { context, run: Box::new(work) }
    }

    #[test]
    fn runs_each_communicators_collectives_in_posted_order() {
        let ex = executor();
        let log = Arc::new(Mutex::new(Vec::new()));
        let gate = Arc::new(AtomicBool::new(false));
        let mut reqs = Vec::new();
        for i in 0..20u64 {
            let (log, gate) = (log.clone(), gate.clone());
            reqs.push(
                ex.submit(
                    &Spin,
                    job(i % 2, move |_| {
                        // The first job holds its lane until the test has queued every job.
                        while i == 0 && !gate.load(Ordering::SeqCst) {
                            std::thread::yield_now();
                        }
                        lock(&log).push(i);
                        Ok(())
                    }),
                )
                .unwrap(),
            );
        }
        assert!(reqs.iter().all(|r| r.is_collective()));
        assert!(!reqs[0].is_done(), "held by the gate");
        gate.store(true, Ordering::SeqCst);
        ex.settle(&Spin, 0).unwrap();
        ex.settle(&Spin, 1).unwrap();
        assert!(reqs.iter().all(|r| r.outcome() == Some(Outcome::empty())));
        let log = lock(&log).clone();
        for lane in 0..2 {
            let ran: Vec<u64> = log.iter().copied().filter(|i| i % 2 == lane).collect();
            assert_eq!(ran, (0..20).filter(|i| i % 2 == lane).collect::<Vec<_>>(), "lane {lane} in order");
        }
        ex.finish(&Spin).unwrap();
    }

    #[test]
    fn settle_waits_for_the_running_collective() {
        let ex = executor();
        let gate = Arc::new(AtomicBool::new(false));
        let g = gate.clone();
        let req = ex
            .submit(
                &Spin,
                job(7, move |_| {
                    while !g.load(Ordering::SeqCst) {
                        std::thread::yield_now();
                    }
                    Ok(())
                }),
            )
            .unwrap();
        let settled = Arc::new(AtomicBool::new(false));
        let s = settled.clone();
        let waiter = std::thread::spawn(move || {
            ex.settle(&Spin, 7).unwrap();
            s.store(true, Ordering::SeqCst);
        });
        ex.settle(&Spin, 8).unwrap(); // another communicator: nothing to wait for
        std::thread::sleep(Duration::from_millis(50));
        assert!(!settled.load(Ordering::SeqCst), "settled while the collective still ran");
        gate.store(true, Ordering::SeqCst);
        waiter.join().unwrap();
        assert!(req.is_done());
        ex.finish(&Spin).unwrap();
    }

    #[test]
    fn failures_and_panics_complete_the_request_with_an_error() {
        let ex = executor();
        let failed = ex.submit(&Spin, job(1, |_| Err(err!(Truncate, "too long")))).unwrap();
        let panicked = ex.submit(&Spin, job(1, |_| panic!("boom"))).unwrap();
        let after = ex.submit(&Spin, job(1, |_| Ok(()))).unwrap();
        ex.settle(&Spin, 1).unwrap();
        assert_eq!(failed.outcome().unwrap().error.unwrap().class, ErrorClass::Truncate);
        let e = panicked.outcome().unwrap().error.unwrap();
        assert!(e.class == ErrorClass::Intern && e.message.contains("boom"), "{e:?}");
        assert_eq!(after.outcome(), Some(Outcome::empty()), "the lane goes on after a failure");
        ex.finish(&Spin).unwrap();
    }

    #[test]
    fn finish_drains_then_refuses_new_work() {
        let ex = executor();
        let ran = Arc::new(AtomicUsize::new(0));
        for c in 0..3 {
            let ran = ran.clone();
            ex.submit(
                &Spin,
                job(c, move |_| {
                    std::thread::sleep(Duration::from_millis(20));
                    ran.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }),
            )
            .unwrap();
        }
        ex.finish(&Spin).unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 3, "every posted collective ran before finish returned");
        assert!(lock(&ex.workers).is_empty());
        let refused = ex.submit(&Spin, job(0, |_| Ok(()))).unwrap_err();
        assert!(refused.message.contains("MPI_Finalize"), "{}", refused.message);
    }
}
