//! Persistent collectives (MPI 4.1 §6.13, `MPI_Barrier_init`, `MPI_Bcast_init`, ...): set up once, each `MPI_Start` runs the same collective as its `MPI_I*` form.
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

use super::abi::{MPI_Comm, MPI_Datatype, MPI_Info, MPI_Op, MPI_Request};
use super::boundary::{blame, out};
use super::collective as coll;
use super::collective_jobs::{self as jobs, Prepare};
use super::comm::barrier;
use super::handles;
use super::p2p::new_handle;
use super::reduce;
use super::state::{state, Persistent, Restart, State};
use crate::collective::executor::{Job, EXECUTOR};
use crate::error::{err, Result};
use crate::request::Request;
use std::any::Any;
use std::ffi::{c_int, c_void};
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
    blame(comm as usize);
    let st = state()?;
    if request.is_null() {
        return Err(err!(Arg, "the request argument is NULL; pass the address of an MPI_Request"));
    }
    let c = handles::comm(st, comm)?;
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

ffi_fn! {
    fn MPI_Barrier_init(comm: MPI_Comm, info: MPI_Info, request: *mut MPI_Request) -> c_int {
        persistent(comm, info, request, move |st| barrier(st, comm))
    }
}

ffi_fn! {
    fn MPI_Bcast_init(
        buffer: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        persistent(comm, info, request, move |st| coll::bcast(st, buffer, count, datatype, root, comm))
    }
}

ffi_fn! {
    fn MPI_Gather_init(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        persistent(comm, info, request, jobs::gather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, root, comm))
    }
}

ffi_fn! {
    fn MPI_Gatherv_init(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const c_int,
        displs: *const c_int,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        persistent_copying(comm, info, request, |st, a| {
            let n = peers(st, comm, Some(root))?;
            Ok(jobs::gatherv(sendbuf, sendcount, sendtype, recvbuf, a.copy(recvcounts, n), a.copy(displs, n), recvtype, root, comm))
        })
    }
}

ffi_fn! {
    fn MPI_Scatter_init(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        persistent(comm, info, request, jobs::scatter(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, root, comm))
    }
}

ffi_fn! {
    fn MPI_Scatterv_init(
        sendbuf: *const c_void,
        sendcounts: *const c_int,
        displs: *const c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        persistent_copying(comm, info, request, |st, a| {
            let n = peers(st, comm, Some(root))?;
            Ok(jobs::scatterv(sendbuf, a.copy(sendcounts, n), a.copy(displs, n), sendtype, recvbuf, recvcount, recvtype, root, comm))
        })
    }
}

ffi_fn! {
    fn MPI_Allgather_init(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        persistent(comm, info, request, jobs::allgather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm))
    }
}

ffi_fn! {
    fn MPI_Allgatherv_init(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const c_int,
        displs: *const c_int,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        persistent_copying(comm, info, request, |st, a| {
            let n = peers(st, comm, None)?;
            Ok(jobs::allgatherv(sendbuf, sendcount, sendtype, recvbuf, a.copy(recvcounts, n), a.copy(displs, n), recvtype, comm))
        })
    }
}

ffi_fn! {
    fn MPI_Alltoall_init(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        persistent(comm, info, request, jobs::alltoall(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm))
    }
}

ffi_fn! {
    fn MPI_Alltoallv_init(
        sendbuf: *const c_void,
        sendcounts: *const c_int,
        sdispls: *const c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const c_int,
        rdispls: *const c_int,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        persistent_copying(comm, info, request, |st, a| {
            let n = peers(st, comm, None)?;
            Ok(jobs::alltoallv(sendbuf, a.copy(sendcounts, n), a.copy(sdispls, n), sendtype, recvbuf, a.copy(recvcounts, n), a.copy(rdispls, n), recvtype, comm))
        })
    }
}

ffi_fn! {
    fn MPI_Alltoallw_init(
        sendbuf: *const c_void,
        sendcounts: *const c_int,
        sdispls: *const c_int,
        sendtypes: *const MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const c_int,
        rdispls: *const c_int,
        recvtypes: *const MPI_Datatype,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        persistent_copying(comm, info, request, |st, a| {
            let n = peers(st, comm, None)?;
            Ok(jobs::alltoallw(sendbuf, a.copy(sendcounts, n), a.copy(sdispls, n), a.copy(sendtypes, n), recvbuf, a.copy(recvcounts, n), a.copy(rdispls, n), a.copy(recvtypes, n), comm))
        })
    }
}

ffi_fn! {
    fn MPI_Reduce_init(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        op: MPI_Op,
        root: c_int,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        persistent(comm, info, request, move |st| reduce::reduce(st, sendbuf, recvbuf, count, datatype, op, root, comm))
    }
}

ffi_fn! {
    fn MPI_Allreduce_init(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        persistent(comm, info, request, move |st| reduce::allreduce(st, sendbuf, recvbuf, count, datatype, op, comm))
    }
}

ffi_fn! {
    fn MPI_Reduce_scatter_block_init(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        recvcount: c_int,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        persistent(comm, info, request, move |st| reduce::reduce_scatter_block(st, sendbuf, recvbuf, recvcount, datatype, op, comm))
    }
}

ffi_fn! {
    fn MPI_Reduce_scatter_init(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        recvcounts: *const c_int,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        persistent_copying(comm, info, request, |st, a| {
            let recvcounts = a.copy(recvcounts, peers(st, comm, None)?);
            Ok(move |st| reduce::reduce_scatter(st, sendbuf, recvbuf, recvcounts, datatype, op, comm))
        })
    }
}

ffi_fn! {
    fn MPI_Scan_init(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        persistent(comm, info, request, move |st| reduce::scan(st, sendbuf, recvbuf, count, datatype, op, comm, true))
    }
}

ffi_fn! {
    fn MPI_Exscan_init(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        persistent(comm, info, request, move |st| reduce::scan(st, sendbuf, recvbuf, count, datatype, op, comm, false))
    }
}
