//! Persistent neighbour collectives (`MPI_Neighbor_allgather(v)_init`, `MPI_Neighbor_alltoall(v,w)_init`
//! and their `_c` forms): the nonblocking ones' preparations (collective_jobs.rs), kept and run at each start.

use super::abi::{MPI_Aint, MPI_Comm, MPI_Count, MPI_Datatype, MPI_Info, MPI_Request};
use super::collective_jobs as jobs;
use super::handles;
use super::persistent_setup::{persistent, persistent_copying};
use super::state::State;
use super::topology::topology_of;
use crate::collective::neighbor::Neighbors;
use crate::error::Result;
use std::ffi::{c_int, c_void};

/// How many sources and destinations the calling rank has in `comm`'s topology: the lengths of
/// the per-neighbour arrays. None without a topology, which the preparation then refuses.
fn degrees(st: &State, comm: MPI_Comm) -> Result<(usize, usize)> {
    let Some(topology) = topology_of(st, comm) else { return Ok((0, 0)) };
    let n = Neighbors::of(&topology, handles::comm(st, comm)?.rank)?;
    Ok((n.sources.len(), n.destinations.len()))
}

ffi_fn! {
    fn MPI_Neighbor_allgather_init(
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
        persistent(comm, info, request, jobs::neighbor_allgather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm, "MPI_Neighbor_allgather_init"))
    }
}

ffi_fn! {
    fn MPI_Neighbor_allgather_init_c(
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
        persistent(comm, info, request, jobs::neighbor_allgather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm, "MPI_Neighbor_allgather_init_c"))
    }
}

ffi_fn! {
    fn MPI_Neighbor_allgatherv_init(
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
            let (sources, _) = degrees(st, comm)?;
            Ok(jobs::neighbor_allgatherv(sendbuf, sendcount, sendtype, recvbuf, a.copy(recvcounts, sources), a.copy(displs, sources), recvtype, comm, "MPI_Neighbor_allgatherv_init"))
        })
    }
}

ffi_fn! {
    fn MPI_Neighbor_allgatherv_init_c(
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
            let (sources, _) = degrees(st, comm)?;
            Ok(jobs::neighbor_allgatherv(sendbuf, sendcount, sendtype, recvbuf, a.copy(recvcounts, sources), a.copy(displs, sources), recvtype, comm, "MPI_Neighbor_allgatherv_init_c"))
        })
    }
}

ffi_fn! {
    fn MPI_Neighbor_alltoall_init(
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
        persistent(comm, info, request, jobs::neighbor_alltoall(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm, "MPI_Neighbor_alltoall_init"))
    }
}

ffi_fn! {
    fn MPI_Neighbor_alltoall_init_c(
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
        persistent(comm, info, request, jobs::neighbor_alltoall(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm, "MPI_Neighbor_alltoall_init_c"))
    }
}

ffi_fn! {
    fn MPI_Neighbor_alltoallv_init(
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
            let (sources, destinations) = degrees(st, comm)?;
            Ok(jobs::neighbor_alltoallv(sendbuf, a.copy(sendcounts, destinations), a.copy(sdispls, destinations), sendtype, recvbuf, a.copy(recvcounts, sources), a.copy(rdispls, sources), recvtype, comm, "MPI_Neighbor_alltoallv_init"))
        })
    }
}

ffi_fn! {
    fn MPI_Neighbor_alltoallv_init_c(
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
            let (sources, destinations) = degrees(st, comm)?;
            Ok(jobs::neighbor_alltoallv(sendbuf, a.copy(sendcounts, destinations), a.copy(sdispls, destinations), sendtype, recvbuf, a.copy(recvcounts, sources), a.copy(rdispls, sources), recvtype, comm, "MPI_Neighbor_alltoallv_init_c"))
        })
    }
}

ffi_fn! {
    fn MPI_Neighbor_alltoallw_init(
        sendbuf: *const c_void,
        sendcounts: *const c_int,
        sdispls: *const MPI_Aint,
        sendtypes: *const MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const c_int,
        rdispls: *const MPI_Aint,
        recvtypes: *const MPI_Datatype,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        persistent_copying(comm, info, request, |st, a| {
            let (sources, destinations) = degrees(st, comm)?;
            Ok(jobs::neighbor_alltoallw(sendbuf, a.copy(sendcounts, destinations), a.copy(sdispls, destinations), a.copy(sendtypes, destinations), recvbuf, a.copy(recvcounts, sources), a.copy(rdispls, sources), a.copy(recvtypes, sources), comm, "MPI_Neighbor_alltoallw_init"))
        })
    }
}

ffi_fn! {
    fn MPI_Neighbor_alltoallw_init_c(
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
            let (sources, destinations) = degrees(st, comm)?;
            Ok(jobs::neighbor_alltoallw(sendbuf, a.copy(sendcounts, destinations), a.copy(sdispls, destinations), a.copy(sendtypes, destinations), recvbuf, a.copy(recvcounts, sources), a.copy(rdispls, sources), a.copy(recvtypes, sources), comm, "MPI_Neighbor_alltoallw_init_c"))
        })
    }
}
