//! Nonblocking data-moving collectives at the C boundary: `MPI_Ibarrier`, `MPI_Ibcast`, gathers, scatters and all-to-alls.
//!
//! Each takes its blocking twin's arguments, checks them now (so a bad argument fails the call,
//! not the request), and queues the same work on the communicator's collective worker
//! (collective/executor.rs). The buffers stay the caller's until the request completes.

use super::abi::{MPI_Comm, MPI_Datatype, MPI_Request};
use super::boundary::{blame, out};
use super::collective as coll;
use super::collective_jobs as jobs;
use super::comm::barrier;
use super::handles;
use super::p2p::new_handle;
use super::state::{state, State};
use crate::collective::executor::{Job, EXECUTOR};
use crate::comm::Comm;
use crate::error::{err, Result};
use std::ffi::{c_int, c_void};
use std::sync::Arc;

/// The state and communicator of a call that hands the caller a collective's request
/// (nonblocking or persistent), once the request argument is known to be usable.
pub fn collective_request(comm: MPI_Comm, request: *mut MPI_Request) -> Result<(&'static State, Arc<Comm>)> {
    blame(comm as usize);
    let st = state()?;
    if request.is_null() {
        return Err(err!(Arg, "the request argument is NULL; pass the address of an MPI_Request"));
    }
    Ok((st, handles::comm(st, comm)?))
}

/// Starts a collective on the communicator's worker and hands its request to the caller.
pub fn nonblocking(
    comm: MPI_Comm,
    request: *mut MPI_Request,
    prepare: impl FnOnce(&'static State) -> Result<Job>,
) -> Result<()> {
    let (st, c) = collective_request(comm, request)?;
    let job = prepare(st)?;
    let req = EXECUTOR.submit(&st.rt, job)?;
    out(request, new_handle(st, Some((req, None)), c, comm as usize, None)?, "request")
}

ffi_fn! {
    fn MPI_Ibarrier(comm: MPI_Comm, request: *mut MPI_Request) -> c_int {
        nonblocking(comm, request, |st| barrier(st, comm))
    }
}

ffi_fn! {
    fn MPI_Ibcast(
        buffer: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, |st| coll::bcast(st, buffer, count, datatype, root, comm))
    }
}

ffi_fn! {
    fn MPI_Igather(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, jobs::gather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, root, comm))
    }
}

ffi_fn! {
    fn MPI_Igatherv(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const c_int,
        displs: *const c_int,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, jobs::gatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, root, comm))
    }
}

ffi_fn! {
    fn MPI_Iscatter(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, jobs::scatter(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, root, comm))
    }
}

ffi_fn! {
    fn MPI_Iscatterv(
        sendbuf: *const c_void,
        sendcounts: *const c_int,
        displs: *const c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, jobs::scatterv(sendbuf, sendcounts, displs, sendtype, recvbuf, recvcount, recvtype, root, comm))
    }
}

ffi_fn! {
    fn MPI_Iallgather(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, jobs::allgather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm))
    }
}

ffi_fn! {
    fn MPI_Iallgatherv(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const c_int,
        displs: *const c_int,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, jobs::allgatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, comm))
    }
}

ffi_fn! {
    fn MPI_Ialltoall(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, jobs::alltoall(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm))
    }
}

ffi_fn! {
    fn MPI_Ialltoallv(
        sendbuf: *const c_void,
        sendcounts: *const c_int,
        sdispls: *const c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const c_int,
        rdispls: *const c_int,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, jobs::alltoallv(sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls, recvtype, comm))
    }
}
