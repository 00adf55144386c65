//! Nonblocking reductions at the C boundary: `MPI_Ireduce`, `MPI_Iallreduce`, reduce-scatters and scans.
//!
//! The blocking reductions' work (reduce.rs), queued on the communicator's collective worker by
//! `icollective::nonblocking`; user operations then run on that worker thread.

use super::abi::{MPI_Comm, MPI_Datatype, MPI_Op, MPI_Request};
use super::icollective::nonblocking;
use super::reduce;
use std::ffi::{c_int, c_void};

ffi_fn! {
    fn MPI_Ireduce(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        op: MPI_Op,
        root: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, |st| reduce::reduce(st, sendbuf, recvbuf, count, datatype, op, root, comm))
    }
}

ffi_fn! {
    fn MPI_Iallreduce(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, |st| reduce::allreduce(st, sendbuf, recvbuf, count, datatype, op, comm))
    }
}

ffi_fn! {
    fn MPI_Ireduce_scatter_block(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        recvcount: c_int,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, |st| {
            reduce::reduce_scatter_block(st, sendbuf, recvbuf, recvcount, datatype, op, comm)
        })
    }
}

ffi_fn! {
    fn MPI_Ireduce_scatter(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        recvcounts: *const c_int,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, |st| reduce::reduce_scatter(st, sendbuf, recvbuf, recvcounts, datatype, op, comm))
    }
}

ffi_fn! {
    fn MPI_Iscan(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, |st| reduce::scan(st, sendbuf, recvbuf, count, datatype, op, comm, true))
    }
}

ffi_fn! {
    fn MPI_Iexscan(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, |st| reduce::scan(st, sendbuf, recvbuf, count, datatype, op, comm, false))
    }
}
