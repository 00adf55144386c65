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

/// A collective's work, run once on the thread that runs it (the caller's or a worker).
pub type Work = Box<dyn FnOnce(&Runtime) -> Result<()> + Send>;

/// A collective ready to run: its communicator's collective context and the work itself.
pub struct Job {
    pub context: u64,
    pub run: Work,
}

/// One communicator's posted collectives.
#[derive(Default)]
struct Lane {
    queue: VecDeque<(Job, Arc<Request>)>,
    /// The worker has taken a job and not yet finished it.
    running: bool,
}

impl Lane {
    fn idle(&self) -> bool {
        self.queue.is_empty() && !self.running
    }
}

#[derive(Default)]
struct Lanes {
    /// Lanes with a worker, by collective context; a worker removes its lane as it leaves.
    by_context: BTreeMap<u64, Lane>,
    /// `MPI_Finalize` has begun: workers leave as soon as their queue is empty.
    stopping: bool,
}

/// The lanes of every communicator and their worker threads.
pub struct Executor {
    lanes: Mutex<Lanes>,
    /// Rung when work is queued or stopping begins (workers sleep on it while idle).
    work: Condvar,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

/// The process's executor (there is one runtime per process).
pub static EXECUTOR: Executor = Executor {
    lanes: Mutex::new(Lanes { by_context: BTreeMap::new(), stopping: false }),
    work: Condvar::new(),
    workers: Mutex::new(Vec::new()),
};

impl Executor {
    /// Queues `job` behind the communicator's earlier collectives; the request completes when
    /// it has run, with its error if it failed.
    pub fn submit(&'static self, rt: &'static Runtime, job: Job) -> Result<Arc<Request>> {
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
    pub fn settle(&self, rt: &Runtime, context: u64) -> Result<()> {
        rt.wait_until(|| lock(&self.lanes).by_context.get(&context).is_none_or(Lane::idle).then_some(()))
    }

    /// `MPI_Finalize`: lets every posted collective finish, then ends the workers.
    pub fn finish(&self, rt: &Runtime) -> Result<()> {
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
    fn serve(&self, rt: &Runtime, context: u64) {
        while let Some((job, req)) = self.next(context) {
            let result = catch_unwind(AssertUnwindSafe(|| (job.run)(rt))).unwrap_or_else(|panic| {
                Err(err!(Intern, "a nonblocking collective panicked: {}", panic_message(&*panic)))
            });
            if let Some(lane) = lock(&self.lanes).by_context.get_mut(&context) {
                lane.running = false;
            }
            req.complete(result.err().map_or_else(Outcome::empty, Outcome::failed));
            // After the lock is released: waiters' readiness checks take it.
            rt.shared.notifier.notify();
        }
    }

    /// The lane's next job, waiting up to `LINGER` for one; `None` when the worker should leave
    /// (its lane is then removed, so the next post starts a new worker).
    fn next(&self, context: u64) -> Option<(Job, Arc<Request>)> {
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
