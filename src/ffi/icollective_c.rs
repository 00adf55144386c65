//! The large-count (`_c`) forms of the nonblocking collectives: the same jobs as the `int` forms
//! (icollective.rs, ireduce.rs, alltoallw.rs), with counts as `MPI_Count` and displacements as `MPI_Aint`.

use super::abi::{MPI_Aint, MPI_Comm, MPI_Count, MPI_Datatype, MPI_Op, MPI_Request};
use super::collective as coll;
use super::collective_jobs as jobs;
use super::icollective::nonblocking;
use super::reduce;
use std::ffi::{c_int, c_void};

ffi_fn! {
    fn MPI_Ibcast_c(
        buffer: *mut c_void,
        count: MPI_Count,
        datatype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, |st| coll::bcast(st, buffer, count, datatype, root, comm))
    }
}

ffi_fn! {
    fn MPI_Igather_c(
        sendbuf: *const c_void,
        sendcount: MPI_Count,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: MPI_Count,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, jobs::gather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, root, comm))
    }
}

ffi_fn! {
    fn MPI_Igatherv_c(
        sendbuf: *const c_void,
        sendcount: MPI_Count,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const MPI_Count,
        displs: *const MPI_Aint,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, jobs::gatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, root, comm))
    }
}

ffi_fn! {
    fn MPI_Iscatter_c(
        sendbuf: *const c_void,
        sendcount: MPI_Count,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: MPI_Count,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, jobs::scatter(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, root, comm))
    }
}

ffi_fn! {
    fn MPI_Iscatterv_c(
        sendbuf: *const c_void,
        sendcounts: *const MPI_Count,
        displs: *const MPI_Aint,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: MPI_Count,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, jobs::scatterv(sendbuf, sendcounts, displs, sendtype, recvbuf, recvcount, recvtype, root, comm))
    }
}

ffi_fn! {
    fn MPI_Iallgather_c(
        sendbuf: *const c_void,
        sendcount: MPI_Count,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: MPI_Count,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, jobs::allgather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm))
    }
}

ffi_fn! {
    fn MPI_Iallgatherv_c(
        sendbuf: *const c_void,
        sendcount: MPI_Count,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const MPI_Count,
        displs: *const MPI_Aint,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, jobs::allgatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, comm))
    }
}

ffi_fn! {
    fn MPI_Ialltoall_c(
        sendbuf: *const c_void,
        sendcount: MPI_Count,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: MPI_Count,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, jobs::alltoall(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm))
    }
}

ffi_fn! {
    fn MPI_Ialltoallv_c(
        sendbuf: *const c_void,
        sendcounts: *const MPI_Count,
        sdispls: *const MPI_Aint,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const MPI_Count,
        rdispls: *const MPI_Aint,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, jobs::alltoallv(sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls, recvtype, comm))
    }
}

ffi_fn! {
    fn MPI_Ialltoallw_c(
        sendbuf: *const c_void,
        sendcounts: *const MPI_Count,
        sdispls: *const MPI_Aint,
        sendtypes: *const MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const MPI_Count,
        rdispls: *const MPI_Aint,
        recvtypes: *const MPI_Datatype,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, jobs::alltoallw(sendbuf, sendcounts, sdispls, sendtypes, recvbuf, recvcounts, rdispls, recvtypes, comm))
    }
}

ffi_fn! {
    fn MPI_Ireduce_c(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: MPI_Count,
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
    fn MPI_Iallreduce_c(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: MPI_Count,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, |st| reduce::allreduce(st, sendbuf, recvbuf, count, datatype, op, comm))
    }
}

ffi_fn! {
    fn MPI_Ireduce_scatter_block_c(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        recvcount: MPI_Count,
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
    fn MPI_Ireduce_scatter_c(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        recvcounts: *const MPI_Count,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, |st| reduce::reduce_scatter(st, sendbuf, recvbuf, recvcounts, datatype, op, comm))
    }
}

ffi_fn! {
    fn MPI_Iscan_c(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: MPI_Count,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, |st| reduce::scan(st, sendbuf, recvbuf, count, datatype, op, comm, true))
    }
}

ffi_fn! {
    fn MPI_Iexscan_c(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: MPI_Count,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, |st| reduce::scan(st, sendbuf, recvbuf, count, datatype, op, comm, false))
    }
}
