//! Persistent collectives (MPI 4.1 §6.13): `MPI_Barrier_init`, `MPI_Bcast_init`, ... and the reductions, each a setup (persistent_setup.rs) of the preparation its `MPI_I*` form runs.

use super::abi::{MPI_Comm, MPI_Datatype, MPI_Info, MPI_Op, MPI_Request};
use super::collective as coll;
use super::collective_jobs as jobs;
use super::comm::barrier;
use super::persistent_setup::{peers, persistent, persistent_copying};
use super::reduce;
use std::ffi::{c_int, c_void};

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
