//! Persistent collectives (MPI 4.1 §6.13, `MPI_Barrier_init`, `MPI_Bcast_init`, ...): set up once, each `MPI_Start` runs the same collective as its `MPI_I*` form.
//!
//! `*_init` runs the collective's preparation (collective_jobs.rs) once to check the arguments,
//! so a bad one fails the call, and keeps it. Each start runs it again, reading the buffers as
//! they are then, and queues the job on the communicator's collective worker behind its earlier
//! collectives, which keeps MPI's collective order. Completion makes the request inactive again
//! (completion.rs), ready for the next start; it may be freed only while inactive.

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
use std::ffi::{c_int, c_void};
use std::sync::Arc;

/// A preparation kept in the request table, which any thread may start.
struct Kept<F>(F);

// SAFETY: a preparation holds only the `*_init` arguments: handle values, counts, and pointers to
// the caller's buffers and count, displacement and datatype arrays. MPI requires those to stay
// valid, and the arrays unchanged, until the request is freed, and the buffers untouched while
// the request is active; running the preparation only reads the arrays, and MPI_Start refuses a
// second start while the job from the first still runs, so no two jobs share the buffers.
unsafe impl<F> Send for Kept<F> {}
// SAFETY: as for Send: calling the preparation through `&self` only reads what it holds.
unsafe impl<F> Sync for Kept<F> {}

impl<F: Prepare> Kept<F> {
    fn prepare(&self, st: &'static State) -> Result<Job> {
        (self.0)(st)
    }
}

/// `*_init`: checks the arguments now and hands the caller an inactive persistent request.
pub fn persistent(comm: MPI_Comm, info: MPI_Info, request: *mut MPI_Request, prepare: impl Prepare) -> Result<()> {
    // partyline takes no hints for collectives, so the info is not read.
    let _ = info;
    blame(comm as usize);
    let st = state()?;
    if request.is_null() {
        return Err(err!(Arg, "the request argument is NULL; pass the address of an MPI_Request"));
    }
    let c = handles::comm(st, comm)?;
    // The job itself is dropped unrun: its staged copies go with it, nothing is written back.
    prepare(st)?;
    let kept = Kept(prepare);
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
        persistent(comm, info, request, jobs::gatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, root, comm))
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
        persistent(comm, info, request, jobs::scatterv(sendbuf, sendcounts, displs, sendtype, recvbuf, recvcount, recvtype, root, comm))
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
        persistent(comm, info, request, jobs::allgatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, comm))
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
        persistent(comm, info, request, jobs::alltoallv(sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls, recvtype, comm))
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
        persistent(comm, info, request, jobs::alltoallw(sendbuf, sendcounts, sdispls, sendtypes, recvbuf, recvcounts, rdispls, recvtypes, comm))
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
        persistent(comm, info, request, move |st| reduce::reduce_scatter(st, sendbuf, recvbuf, recvcounts, datatype, op, comm))
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
