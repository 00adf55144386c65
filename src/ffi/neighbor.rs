//! Blocking neighbour collectives (`MPI_Neighbor_allgather(v)`, `MPI_Neighbor_alltoall(v,w)` and
//! their `_c` forms) over a communicator's topology.

use super::abi::{MPI_Aint, MPI_Comm, MPI_Count, MPI_Datatype};
use super::alltoallw::per_peer;
use super::collective::{blocking, job};
use super::collective_args::{count, even, in_place, items, varying, Layout, Wide};
use super::handles;
use super::staging::{Mode, Scope};
use super::state::State;
use super::topology::topology_of;
use crate::collective::executor::Job;
use crate::collective::{blocks, neighbor};
use crate::error::{err, Result};
use std::ffi::{c_int, c_void};

/// The shared work: `send(n)` lays out the blocks for `n` destinations, `recv(n)` those from
/// `n` sources; the exchange runs as a job, now (blocking) or on the communicator's worker.
pub(super) fn prepare(
    st: &State,
    comm: MPI_Comm,
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    send: impl FnOnce(&State, usize) -> Result<Layout>,
    recv: impl FnOnce(&State, usize) -> Result<Layout>,
    call: &str,
) -> Result<Job> {
    let c = handles::comm(st, comm)?;
    super::intercomm::intra_only(&c, call)?;
    let _staging = Scope::new(Mode::Packed);
    let topology = topology_of(st, comm).ok_or_else(|| {
        err!(Topology, "{call}: the communicator has no topology; make one with MPI_Cart_create, MPI_Graph_create or MPI_Dist_graph_create_adjacent")
    })?;
    if in_place(sendbuf) || in_place(recvbuf) {
        return Err(err!(Buffer, "{call}: MPI_IN_PLACE is not allowed in neighbour collectives"));
    }
    let n = neighbor::Neighbors::of(&topology, c.rank)?;
    let (send, recv) = (send(st, n.destinations.len())?, recv(st, n.sources.len())?);
    Ok(job(&c, move |rt, c| {
        // SAFETY: MPI's contract: the caller's buffers stay valid, and the receive buffer untouched
        // by anything else, until the operation completes; send and receive buffers may not overlap.
        let (out, into) = unsafe { (send.buf.bytes(), recv.buf.bytes_mut()) };
        let out_blocks = blocks::split(out, &send.ranges)?;
        let mut in_blocks = blocks::split_mut(into, &recv.ranges)?;
        neighbor::exchange(rt, c, &n, &out_blocks, &mut in_blocks)
    }))
}

/// A blocking neighbour collective (see `prepare`).
fn run(
    comm: MPI_Comm,
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    send: impl FnOnce(&State, usize) -> Result<Layout>,
    recv: impl FnOnce(&State, usize) -> Result<Layout>,
    call: &str,
) -> Result<()> {
    blocking(comm, |st| prepare(st, comm, sendbuf, recvbuf, send, recv, call))
}

/// The same `count` items to every one of `n` destinations (an allgather's send side).
pub(super) fn same_block(
    st: &State,
    buf: *const c_void,
    count: impl Wide,
    dtype: MPI_Datatype,
    n: usize,
) -> Result<Layout> {
    let buf = items(st, buf, self::count(count)?, dtype)?;
    Ok(Layout { ranges: vec![0..buf.len(); n], buf })
}

ffi_fn! {
    fn MPI_Neighbor_allgather(sendbuf: *const c_void, sendcount: c_int, sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: c_int, recvtype: MPI_Datatype, comm: MPI_Comm) -> c_int {
        let send = |st: &State, n| same_block(st, sendbuf, sendcount, sendtype, n);
        let recv = |st: &State, n| even(st, recvbuf, recvcount, recvtype, n);
        run(comm, sendbuf, recvbuf, send, recv, "MPI_Neighbor_allgather")
    }
}

ffi_fn! {
    fn MPI_Neighbor_allgather_c(sendbuf: *const c_void, sendcount: MPI_Count, sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: MPI_Count, recvtype: MPI_Datatype, comm: MPI_Comm) -> c_int {
        let send = |st: &State, n| same_block(st, sendbuf, sendcount, sendtype, n);
        let recv = |st: &State, n| even(st, recvbuf, recvcount, recvtype, n);
        run(comm, sendbuf, recvbuf, send, recv, "MPI_Neighbor_allgather_c")
    }
}

ffi_fn! {
    fn MPI_Neighbor_allgatherv(sendbuf: *const c_void, sendcount: c_int, sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcounts: *const c_int, displs: *const c_int, recvtype: MPI_Datatype, comm: MPI_Comm) -> c_int {
        let send = |st: &State, n| same_block(st, sendbuf, sendcount, sendtype, n);
        let recv = |st: &State, n| varying(st, recvbuf, recvcounts, displs, recvtype, n);
        run(comm, sendbuf, recvbuf, send, recv, "MPI_Neighbor_allgatherv")
    }
}

ffi_fn! {
    fn MPI_Neighbor_allgatherv_c(sendbuf: *const c_void, sendcount: MPI_Count, sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcounts: *const MPI_Count, displs: *const MPI_Aint, recvtype: MPI_Datatype, comm: MPI_Comm) -> c_int {
        let send = |st: &State, n| same_block(st, sendbuf, sendcount, sendtype, n);
        let recv = |st: &State, n| varying(st, recvbuf, recvcounts, displs, recvtype, n);
        run(comm, sendbuf, recvbuf, send, recv, "MPI_Neighbor_allgatherv_c")
    }
}

ffi_fn! {
    fn MPI_Neighbor_alltoall(sendbuf: *const c_void, sendcount: c_int, sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: c_int, recvtype: MPI_Datatype, comm: MPI_Comm) -> c_int {
        let send = |st: &State, n| even(st, sendbuf, sendcount, sendtype, n);
        let recv = |st: &State, n| even(st, recvbuf, recvcount, recvtype, n);
        run(comm, sendbuf, recvbuf, send, recv, "MPI_Neighbor_alltoall")
    }
}

ffi_fn! {
    fn MPI_Neighbor_alltoall_c(sendbuf: *const c_void, sendcount: MPI_Count, sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: MPI_Count, recvtype: MPI_Datatype, comm: MPI_Comm) -> c_int {
        let send = |st: &State, n| even(st, sendbuf, sendcount, sendtype, n);
        let recv = |st: &State, n| even(st, recvbuf, recvcount, recvtype, n);
        run(comm, sendbuf, recvbuf, send, recv, "MPI_Neighbor_alltoall_c")
    }
}

ffi_fn! {
    fn MPI_Neighbor_alltoallv(sendbuf: *const c_void, sendcounts: *const c_int, sdispls: *const c_int, sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcounts: *const c_int, rdispls: *const c_int, recvtype: MPI_Datatype, comm: MPI_Comm) -> c_int {
        let send = |st: &State, n| varying(st, sendbuf, sendcounts, sdispls, sendtype, n);
        let recv = |st: &State, n| varying(st, recvbuf, recvcounts, rdispls, recvtype, n);
        run(comm, sendbuf, recvbuf, send, recv, "MPI_Neighbor_alltoallv")
    }
}

ffi_fn! {
    fn MPI_Neighbor_alltoallv_c(sendbuf: *const c_void, sendcounts: *const MPI_Count, sdispls: *const MPI_Aint, sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcounts: *const MPI_Count, rdispls: *const MPI_Aint, recvtype: MPI_Datatype, comm: MPI_Comm) -> c_int {
        let send = |st: &State, n| varying(st, sendbuf, sendcounts, sdispls, sendtype, n);
        let recv = |st: &State, n| varying(st, recvbuf, recvcounts, rdispls, recvtype, n);
        run(comm, sendbuf, recvbuf, send, recv, "MPI_Neighbor_alltoallv_c")
    }
}

ffi_fn! {
    fn MPI_Neighbor_alltoallw(sendbuf: *const c_void, sendcounts: *const c_int, sdispls: *const MPI_Aint, sendtypes: *const MPI_Datatype, recvbuf: *mut c_void, recvcounts: *const c_int, rdispls: *const MPI_Aint, recvtypes: *const MPI_Datatype, comm: MPI_Comm) -> c_int {
        let send = |st: &State, n| per_peer(st, sendbuf, sendcounts, sdispls, sendtypes, n);
        let recv = |st: &State, n| per_peer(st, recvbuf, recvcounts, rdispls, recvtypes, n);
        run(comm, sendbuf, recvbuf, send, recv, "MPI_Neighbor_alltoallw")
    }
}

ffi_fn! {
    fn MPI_Neighbor_alltoallw_c(sendbuf: *const c_void, sendcounts: *const MPI_Count, sdispls: *const MPI_Aint, sendtypes: *const MPI_Datatype, recvbuf: *mut c_void, recvcounts: *const MPI_Count, rdispls: *const MPI_Aint, recvtypes: *const MPI_Datatype, comm: MPI_Comm) -> c_int {
        let send = |st: &State, n| per_peer(st, sendbuf, sendcounts, sdispls, sendtypes, n);
        let recv = |st: &State, n| per_peer(st, recvbuf, recvcounts, rdispls, recvtypes, n);
        run(comm, sendbuf, recvbuf, send, recv, "MPI_Neighbor_alltoallw_c")
    }
}
