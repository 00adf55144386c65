//! Each nonblocking collective's job, prepared from its C arguments: one builder shared by the `MPI_I*` form (run once) and the persistent `MPI_*_init` form (run at every start), in both count widths.
//!
//! A builder only captures the arguments; the returned preparation reads them (checks handles,
//! lays out the buffers, stages non-contiguous data) each time it runs. Collectives whose
//! preparation is a single call (`bcast`, the reductions, `barrier`) call it directly instead.

use super::abi::{MPI_Comm, MPI_Datatype};
use super::alltoallw::per_peer;
use super::collective as coll;
use super::collective_args::{even, varying, Wide};
use super::neighbor::{self, same_block};
use super::state::State;
use crate::collective::executor::Job;
use crate::error::Result;
use std::ffi::{c_int, c_void};

/// A collective's preparation: the arguments it captured, checked and turned into a job.
pub trait Prepare: Fn(&'static State) -> Result<Job> + Copy + 'static {}

impl<F: Fn(&'static State) -> Result<Job> + Copy + 'static> Prepare for F {}

pub fn gather(
    sendbuf: *const c_void,
    sendcount: impl Wide,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: impl Wide,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
) -> impl Prepare {
    move |st| {
        coll::gather(st, sendbuf, sendcount, sendtype, root, comm, |st, n| even(st, recvbuf, recvcount, recvtype, n))
    }
}

pub fn gatherv(
    sendbuf: *const c_void,
    sendcount: impl Wide,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcounts: *const impl Wide,
    displs: *const impl Wide,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
) -> impl Prepare {
    move |st| {
        coll::gather(st, sendbuf, sendcount, sendtype, root, comm, |st, n| {
            varying(st, recvbuf, recvcounts, displs, recvtype, n)
        })
    }
}

pub fn scatter(
    sendbuf: *const c_void,
    sendcount: impl Wide,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: impl Wide,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
) -> impl Prepare {
    move |st| {
        coll::scatter(st, recvbuf, recvcount, recvtype, root, comm, |st, n| even(st, sendbuf, sendcount, sendtype, n))
    }
}

pub fn scatterv(
    sendbuf: *const c_void,
    sendcounts: *const impl Wide,
    displs: *const impl Wide,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: impl Wide,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
) -> impl Prepare {
    move |st| {
        coll::scatter(st, recvbuf, recvcount, recvtype, root, comm, |st, n| {
            varying(st, sendbuf, sendcounts, displs, sendtype, n)
        })
    }
}

pub fn allgather(
    sendbuf: *const c_void,
    sendcount: impl Wide,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: impl Wide,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
) -> impl Prepare {
    move |st| coll::allgather(st, sendbuf, sendcount, sendtype, comm, |st, n| even(st, recvbuf, recvcount, recvtype, n))
}

pub fn allgatherv(
    sendbuf: *const c_void,
    sendcount: impl Wide,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcounts: *const impl Wide,
    displs: *const impl Wide,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
) -> impl Prepare {
    move |st| {
        coll::allgather(st, sendbuf, sendcount, sendtype, comm, |st, n| {
            varying(st, recvbuf, recvcounts, displs, recvtype, n)
        })
    }
}

pub fn alltoall(
    sendbuf: *const c_void,
    sendcount: impl Wide,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: impl Wide,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
) -> impl Prepare {
    move |st| {
        coll::alltoall(
            st,
            sendbuf,
            comm,
            |st, n| even(st, sendbuf, sendcount, sendtype, n),
            |st, n| even(st, recvbuf, recvcount, recvtype, n),
        )
    }
}

pub fn alltoallv(
    sendbuf: *const c_void,
    sendcounts: *const impl Wide,
    sdispls: *const impl Wide,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcounts: *const impl Wide,
    rdispls: *const impl Wide,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
) -> impl Prepare {
    move |st| {
        coll::alltoall(
            st,
            sendbuf,
            comm,
            |st, n| varying(st, sendbuf, sendcounts, sdispls, sendtype, n),
            |st, n| varying(st, recvbuf, recvcounts, rdispls, recvtype, n),
        )
    }
}

pub fn alltoallw(
    sendbuf: *const c_void,
    sendcounts: *const impl Wide,
    sdispls: *const impl Wide,
    sendtypes: *const MPI_Datatype,
    recvbuf: *mut c_void,
    recvcounts: *const impl Wide,
    rdispls: *const impl Wide,
    recvtypes: *const MPI_Datatype,
    comm: MPI_Comm,
) -> impl Prepare {
    move |st| {
        coll::alltoall(
            st,
            sendbuf,
            comm,
            |st, n| per_peer(st, sendbuf, sendcounts, sdispls, sendtypes, n),
            |st, n| per_peer(st, recvbuf, recvcounts, rdispls, recvtypes, n),
        )
    }
}

/// The neighbour collectives name their C function (`call`) in their errors.
pub fn neighbor_allgather(
    sendbuf: *const c_void,
    sendcount: impl Wide,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: impl Wide,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
    call: &'static str,
) -> impl Prepare {
    move |st| {
        let send = |st: &State, n| same_block(st, sendbuf, sendcount, sendtype, n);
        let recv = |st: &State, n| even(st, recvbuf, recvcount, recvtype, n);
        neighbor::prepare(st, comm, sendbuf, recvbuf, send, recv, call)
    }
}

pub fn neighbor_allgatherv(
    sendbuf: *const c_void,
    sendcount: impl Wide,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcounts: *const impl Wide,
    displs: *const impl Wide,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
    call: &'static str,
) -> impl Prepare {
    move |st| {
        let send = |st: &State, n| same_block(st, sendbuf, sendcount, sendtype, n);
        let recv = |st: &State, n| varying(st, recvbuf, recvcounts, displs, recvtype, n);
        neighbor::prepare(st, comm, sendbuf, recvbuf, send, recv, call)
    }
}

pub fn neighbor_alltoall(
    sendbuf: *const c_void,
    sendcount: impl Wide,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: impl Wide,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
    call: &'static str,
) -> impl Prepare {
    move |st| {
        let send = |st: &State, n| even(st, sendbuf, sendcount, sendtype, n);
        let recv = |st: &State, n| even(st, recvbuf, recvcount, recvtype, n);
        neighbor::prepare(st, comm, sendbuf, recvbuf, send, recv, call)
    }
}

pub fn neighbor_alltoallv(
    sendbuf: *const c_void,
    sendcounts: *const impl Wide,
    sdispls: *const impl Wide,
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcounts: *const impl Wide,
    rdispls: *const impl Wide,
    recvtype: MPI_Datatype,
    comm: MPI_Comm,
    call: &'static str,
) -> impl Prepare {
    move |st| {
        let send = |st: &State, n| varying(st, sendbuf, sendcounts, sdispls, sendtype, n);
        let recv = |st: &State, n| varying(st, recvbuf, recvcounts, rdispls, recvtype, n);
        neighbor::prepare(st, comm, sendbuf, recvbuf, send, recv, call)
    }
}

pub fn neighbor_alltoallw(
    sendbuf: *const c_void,
    sendcounts: *const impl Wide,
    sdispls: *const impl Wide,
    sendtypes: *const MPI_Datatype,
    recvbuf: *mut c_void,
    recvcounts: *const impl Wide,
    rdispls: *const impl Wide,
    recvtypes: *const MPI_Datatype,
    comm: MPI_Comm,
    call: &'static str,
) -> impl Prepare {
    move |st| {
        let send = |st: &State, n| per_peer(st, sendbuf, sendcounts, sdispls, sendtypes, n);
        let recv = |st: &State, n| per_peer(st, recvbuf, recvcounts, rdispls, recvtypes, n);
        neighbor::prepare(st, comm, sendbuf, recvbuf, send, recv, call)
    }
}
