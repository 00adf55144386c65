//! The large-count (`_c`) forms of the blocking collectives: the same work as the `int` forms
//! (collective.rs, reduce.rs, alltoallw.rs), whose builders take either count width, with counts
//! as `MPI_Count` and displacements as `MPI_Aint`.

use super::abi::{MPI_Aint, MPI_Comm, MPI_Count, MPI_Datatype, MPI_Op};
use super::alltoallw::per_peer;
use super::collective::{allgather, alltoall, bcast, blocking, gather, scatter};
use super::collective_args::{even, varying};
use super::reduce::{allreduce, reduce, reduce_scatter, reduce_scatter_block, scan};
use std::ffi::{c_int, c_void};

ffi_fn! {
    fn MPI_Bcast_c(buffer: *mut c_void, count: MPI_Count, datatype: MPI_Datatype, root: c_int, comm: MPI_Comm) -> c_int {
        blocking(comm, |st| bcast(st, buffer, count, datatype, root, comm))
    }
}

ffi_fn! {
    fn MPI_Gather_c(
        sendbuf: *const c_void,
        sendcount: MPI_Count,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: MPI_Count,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| {
            gather(st, sendbuf, sendcount, sendtype, root, comm, |st, n| even(st, recvbuf, recvcount, recvtype, n))
        })
    }
}

ffi_fn! {
    fn MPI_Gatherv_c(
        sendbuf: *const c_void,
        sendcount: MPI_Count,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const MPI_Count,
        displs: *const MPI_Aint,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| {
            gather(st, sendbuf, sendcount, sendtype, root, comm, |st, n| {
                varying(st, recvbuf, recvcounts, displs, recvtype, n)
            })
        })
    }
}

ffi_fn! {
    fn MPI_Scatter_c(
        sendbuf: *const c_void,
        sendcount: MPI_Count,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: MPI_Count,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| {
            scatter(st, recvbuf, recvcount, recvtype, root, comm, |st, n| even(st, sendbuf, sendcount, sendtype, n))
        })
    }
}

ffi_fn! {
    fn MPI_Scatterv_c(
        sendbuf: *const c_void,
        sendcounts: *const MPI_Count,
        displs: *const MPI_Aint,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: MPI_Count,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| {
            scatter(st, recvbuf, recvcount, recvtype, root, comm, |st, n| {
                varying(st, sendbuf, sendcounts, displs, sendtype, n)
            })
        })
    }
}

ffi_fn! {
    fn MPI_Allgather_c(
        sendbuf: *const c_void,
        sendcount: MPI_Count,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: MPI_Count,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| {
            allgather(st, sendbuf, sendcount, sendtype, comm, |st, n| even(st, recvbuf, recvcount, recvtype, n))
        })
    }
}

ffi_fn! {
    fn MPI_Allgatherv_c(
        sendbuf: *const c_void,
        sendcount: MPI_Count,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const MPI_Count,
        displs: *const MPI_Aint,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| {
            allgather(st, sendbuf, sendcount, sendtype, comm, |st, n| {
                varying(st, recvbuf, recvcounts, displs, recvtype, n)
            })
        })
    }
}

ffi_fn! {
    fn MPI_Alltoall_c(
        sendbuf: *const c_void,
        sendcount: MPI_Count,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: MPI_Count,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| {
            alltoall(
                st,
                sendbuf,
                comm,
                |st, n| even(st, sendbuf, sendcount, sendtype, n),
                |st, n| even(st, recvbuf, recvcount, recvtype, n),
            )
        })
    }
}

ffi_fn! {
    fn MPI_Alltoallv_c(
        sendbuf: *const c_void,
        sendcounts: *const MPI_Count,
        sdispls: *const MPI_Aint,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const MPI_Count,
        rdispls: *const MPI_Aint,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| {
            alltoall(
                st,
                sendbuf,
                comm,
                |st, n| varying(st, sendbuf, sendcounts, sdispls, sendtype, n),
                |st, n| varying(st, recvbuf, recvcounts, rdispls, recvtype, n),
            )
        })
    }
}

ffi_fn! {
    fn MPI_Alltoallw_c(
        sendbuf: *const c_void,
        sendcounts: *const MPI_Count,
        sdispls: *const MPI_Aint,
        sendtypes: *const MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const MPI_Count,
        rdispls: *const MPI_Aint,
        recvtypes: *const MPI_Datatype,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| {
            alltoall(
                st,
                sendbuf,
                comm,
                |st, n| per_peer(st, sendbuf, sendcounts, sdispls, sendtypes, n),
                |st, n| per_peer(st, recvbuf, recvcounts, rdispls, recvtypes, n),
            )
        })
    }
}

ffi_fn! {
    fn MPI_Reduce_c(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: MPI_Count,
        datatype: MPI_Datatype,
        op: MPI_Op,
        root: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| reduce(st, sendbuf, recvbuf, count, datatype, op, root, comm))
    }
}

ffi_fn! {
    fn MPI_Allreduce_c(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: MPI_Count,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| allreduce(st, sendbuf, recvbuf, count, datatype, op, comm))
    }
}

ffi_fn! {
    fn MPI_Reduce_scatter_block_c(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        recvcount: MPI_Count,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| reduce_scatter_block(st, sendbuf, recvbuf, recvcount, datatype, op, comm))
    }
}

ffi_fn! {
    fn MPI_Reduce_scatter_c(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        recvcounts: *const MPI_Count,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| reduce_scatter(st, sendbuf, recvbuf, recvcounts, datatype, op, comm))
    }
}

ffi_fn! {
    fn MPI_Scan_c(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: MPI_Count,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| scan(st, sendbuf, recvbuf, count, datatype, op, comm, true))
    }
}

ffi_fn! {
    fn MPI_Exscan_c(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: MPI_Count,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| scan(st, sendbuf, recvbuf, count, datatype, op, comm, false))
    }
}
