//! The setup behind every persistent collective (`MPI_Xxx_init`): what the init call checks and keeps, and what `MPI_Start` runs.
//!
//! `*_init` runs the collective's preparation (collective_jobs.rs) once to check the arguments,
//! so a bad one fails the call, and keeps it. Each start runs it again, reading the buffers as
//! they are then, and queues the job on the communicator's collective worker behind its earlier
//! collectives, which keeps MPI's collective order. Completion makes the request inactive again
//! (completion.rs), ready for the next start; it may be freed only while inactive.
//!
//! The count, displacement and datatype arrays are the exception: they are copied at init and
//! the copies kept with the request. Other MPIs read them once, at init, and callers rely on it
//! (mpi4py frees `Allgatherv_init`'s and `Reduce_scatter_init`'s count arrays as the call returns).

use super::abi::{MPI_Comm, MPI_Info, MPI_Request};
use super::boundary::out;
use super::collective_jobs::Prepare;
use super::handles;
use super::p2p::new_handle;
use super::state::{Persistent, Restart, State};
use crate::collective::executor::{Job, EXECUTOR};
use crate::error::Result;
use crate::request::Request;
use std::any::Any;
use std::ffi::c_int;
use std::sync::Arc;

/// Copies of one `*_init` call's count, displacement and datatype arrays.
#[derive(Default)]
pub struct Arrays(Vec<Box<dyn Any>>);

impl Arrays {
    /// A copy of the `len` entries at `ptr`, which stays put while the request lives; NULL stays
    /// NULL, for the preparation to refuse as the `MPI_I*` form does.
    pub fn copy<T: Copy + 'static>(&mut self, ptr: *const T, len: usize) -> *const T {
        if ptr.is_null() {
            return ptr;
        }
        // SAFETY: MPI's contract: during the call, the array has an entry per peer (`len`).
        let kept: Box<[T]> = unsafe { std::slice::from_raw_parts(ptr, len) }.into();
        let at = kept.as_ptr();
        self.0.push(Box::new(kept));
        at
    }
}

/// The entries of a per-rank array: the communicator's size, or none at a rank other than
/// `root`, where MPI makes the array insignificant (it may be anything, NULL too).
pub fn peers(st: &State, comm: MPI_Comm, root: Option<c_int>) -> Result<usize> {
    let c = handles::comm(st, comm)?;
    Ok(match root {
        Some(root) if crate::collective::root(&c, root)? != c.rank => 0,
        _ => c.size(),
    })
}

/// A preparation kept in the request table, which any thread may start, with the arrays it reads.
struct Kept<F> {
    prepare: F,
    /// Owned here only: the preparation reads the copies through the pointers it captured.
    _arrays: Arrays,
}

// SAFETY: a preparation holds only the `*_init` arguments: handle values, counts, pointers to the
// caller's buffers and to the array copies in `Arrays`, which nothing writes. MPI requires the
// buffers to stay valid until the request is freed, and untouched while it is active; running the
// preparation only reads the arrays, and MPI_Start refuses a second start while the job from the
// first still runs, so no two jobs share the buffers.
unsafe impl<F> Send for Kept<F> {}
// SAFETY: as for Send: calling the preparation through `&self` only reads what it holds.
unsafe impl<F> Sync for Kept<F> {}

impl<F: Prepare> Kept<F> {
    fn prepare(&self, st: &'static State) -> Result<Job> {
        (self.prepare)(st)
    }
}

/// `*_init` of a collective without arrays: checks the arguments now and hands the caller an
/// inactive persistent request.
pub fn persistent(comm: MPI_Comm, info: MPI_Info, request: *mut MPI_Request, prepare: impl Prepare) -> Result<()> {
    persistent_copying(comm, info, request, |_, _| Ok(prepare))
}

/// `*_init` of a collective with arrays: `setup` copies them into `Arrays` and returns the
/// preparation that reads the copies.
pub fn persistent_copying<P: Prepare>(
    comm: MPI_Comm,
    info: MPI_Info,
    request: *mut MPI_Request,
    setup: impl FnOnce(&'static State, &mut Arrays) -> Result<P>,
) -> Result<()> {
    // partyline takes no hints for collectives, so the info is not read.
    let _ = info;
    let (st, c) = super::icollective::collective_request(comm, request)?;
    let mut arrays = Arrays::default();
    let prepare = setup(st, &mut arrays)?;
    // The job itself is dropped unrun: its staged copies go with it, nothing is written back.
    prepare(st)?;
    let kept = Kept { prepare, _arrays: arrays };
    let restart: Restart = Arc::new(move |st| kept.prepare(st));
    out(request, new_handle(st, None, c, comm as usize, Some(Persistent::Collective(restart)))?, "request")
}

/// `MPI_Start` of a persistent collective: its job, prepared now from the buffers as they are,
/// queued behind the communicator's earlier collectives.
pub fn start(st: &'static State, restart: &Restart) -> Result<Arc<Request>> {
    EXECUTOR.submit(&st.rt, restart(st)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_are_copied_and_stay_put() {
        let mut arrays = Arrays::default();
        let mut counts = vec![3i64, 1, 4];
        let kept = arrays.copy(counts.as_ptr(), counts.len());
        counts.fill(-1);
        drop(counts);
        for _ in 0..100 {
            arrays.copy([7u8; 5].as_ptr(), 5); // more copies must not move the first
        }
        // SAFETY: `kept` points to the 3 entries copied into `arrays`, which is still alive.
        assert_eq!(unsafe { std::slice::from_raw_parts(kept, 3) }, &[3, 1, 4]);
        assert!(arrays.copy(std::ptr::null::<i32>(), 4).is_null(), "NULL stays NULL");
    }
}
