//! The large-count (`_c`) forms of the persistent collectives: the same preparations as the `int`
//! forms (persistent_collective.rs), with counts as `MPI_Count` and displacements as `MPI_Aint`.

use super::abi::{MPI_Aint, MPI_Comm, MPI_Count, MPI_Datatype, MPI_Info, MPI_Op, MPI_Request};
use super::collective as coll;
use super::collective_jobs as jobs;
use super::persistent_setup::{peers, persistent, persistent_copying};
use super::reduce;
use std::ffi::{c_int, c_void};

ffi_fn! {
    fn MPI_Bcast_init_c(
        buffer: *mut c_void,
        count: MPI_Count,
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
    fn MPI_Gather_init_c(
        sendbuf: *const c_void,
        sendcount: MPI_Count,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: MPI_Count,
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
    fn MPI_Gatherv_init_c(
        sendbuf: *const c_void,
        sendcount: MPI_Count,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const MPI_Count,
        displs: *const MPI_Aint,
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
    fn MPI_Scatter_init_c(
        sendbuf: *const c_void,
        sendcount: MPI_Count,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: MPI_Count,
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
    fn MPI_Scatterv_init_c(
        sendbuf: *const c_void,
        sendcounts: *const MPI_Count,
        displs: *const MPI_Aint,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: MPI_Count,
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
    fn MPI_Allgather_init_c(
        sendbuf: *const c_void,
        sendcount: MPI_Count,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: MPI_Count,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        persistent(comm, info, request, jobs::allgather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm))
    }
}

ffi_fn! {
    fn MPI_Allgatherv_init_c(
        sendbuf: *const c_void,
        sendcount: MPI_Count,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const MPI_Count,
        displs: *const MPI_Aint,
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
    fn MPI_Alltoall_init_c(
        sendbuf: *const c_void,
        sendcount: MPI_Count,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: MPI_Count,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        persistent(comm, info, request, jobs::alltoall(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm))
    }
}

ffi_fn! {
    fn MPI_Alltoallv_init_c(
        sendbuf: *const c_void,
        sendcounts: *const MPI_Count,
        sdispls: *const MPI_Aint,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const MPI_Count,
        rdispls: *const MPI_Aint,
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
    fn MPI_Alltoallw_init_c(
        sendbuf: *const c_void,
        sendcounts: *const MPI_Count,
        sdispls: *const MPI_Aint,
        sendtypes: *const MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const MPI_Count,
        rdispls: *const MPI_Aint,
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
    fn MPI_Reduce_init_c(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: MPI_Count,
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
    fn MPI_Allreduce_init_c(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: MPI_Count,
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
    fn MPI_Reduce_scatter_block_init_c(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        recvcount: MPI_Count,
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
    fn MPI_Reduce_scatter_init_c(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        recvcounts: *const MPI_Count,
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
    fn MPI_Scan_init_c(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: MPI_Count,
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
    fn MPI_Exscan_init_c(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: MPI_Count,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        persistent(comm, info, request, move |st| reduce::scan(st, sendbuf, recvbuf, count, datatype, op, comm, false))
    }
}
