//! Blocking neighbour collectives (`MPI_Neighbor_allgather`, `MPI_Neighbor_alltoall`) over a communicator's topology.

use super::abi::{MPI_Comm, MPI_Count, MPI_Datatype};
use super::boundary::blame;
use super::collective::{count, in_place, items, Wide};
use super::handles;
use super::staging::{self, Mode, Scope};
use super::state::state;
use super::topology::topology_of;
use crate::collective::{blocks, neighbor};
use crate::error::{err, Result};
use std::ffi::{c_int, c_void};

/// The shared body: `send(n)` gives the blocks for `n` destinations.
fn run(
    comm: MPI_Comm,
    sendbuf: *const c_void,
    send: impl FnOnce(usize) -> (i64, bool),
    sendtype: MPI_Datatype,
    recvbuf: *mut c_void,
    recvcount: impl Wide,
    recvtype: MPI_Datatype,
    call: &str,
) -> Result<()> {
    blame(comm as usize);
    let st = state()?;
    let c = super::collective::settled(st, comm)?;
    let _staging = Scope::new(Mode::Packed);
    let topology = topology_of(st, comm).ok_or_else(|| {
        err!(Topology, "{call}: the communicator has no topology; make one with MPI_Cart_create, MPI_Graph_create or MPI_Dist_graph_create_adjacent")
    })?;
    if in_place(sendbuf) || in_place(recvbuf) {
        return Err(err!(Buffer, "{call}: MPI_IN_PLACE is not allowed in neighbour collectives"));
    }
    let n = neighbor::Neighbors::of(&topology, c.rank)?;
    let (sends, same_block) = send(n.destinations.len());
    let sendbuf = items(st, sendbuf, sends, sendtype)?;
    let recvs = count(recvcount)?.checked_mul(n.sources.len() as i64);
    let recvs = recvs.ok_or_else(|| err!(Count, "{call}: recvcount times the number of neighbours overflows"))?;
    let recvbuf = items(st, recvbuf, recvs, recvtype)?;
    // SAFETY: MPI's contract: the caller's buffers stay valid, and the receive buffer untouched
    // by anything else, for the whole blocking call; send and receive buffers may not overlap.
    let (out, into) = unsafe { (sendbuf.bytes(), recvbuf.bytes_mut()) };
    let out_blocks: Vec<&[u8]> = if same_block {
        vec![out; n.destinations.len()]
    } else {
        blocks::split(out, &blocks::uniform(out.len() / n.destinations.len().max(1), n.destinations.len()))?
    };
    let mut in_blocks =
        blocks::split_mut(into, &blocks::uniform(into.len() / n.sources.len().max(1), n.sources.len()))?;
    staging::detach().finish(neighbor::exchange(&st.rt, &c, &n, &out_blocks, &mut in_blocks))
}

ffi_fn! {
    fn MPI_Neighbor_allgather(sendbuf: *const c_void, sendcount: c_int, sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: c_int, recvtype: MPI_Datatype, comm: MPI_Comm) -> c_int {
        let count = handles::count(sendcount)? as i64;
        run(comm, sendbuf, |_| (count, true), sendtype, recvbuf, recvcount, recvtype, "MPI_Neighbor_allgather")
    }
}

ffi_fn! {
    fn MPI_Neighbor_alltoall(sendbuf: *const c_void, sendcount: c_int, sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: c_int, recvtype: MPI_Datatype, comm: MPI_Comm) -> c_int {
        let count = handles::count(sendcount)? as i64;
        run(comm, sendbuf, |n| (count * n as i64, false), sendtype, recvbuf, recvcount, recvtype, "MPI_Neighbor_alltoall")
    }
}

ffi_fn! {
    fn MPI_Neighbor_allgather_c(sendbuf: *const c_void, sendcount: MPI_Count, sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: MPI_Count, recvtype: MPI_Datatype, comm: MPI_Comm) -> c_int {
        let count = count(sendcount)?;
        run(comm, sendbuf, |_| (count, true), sendtype, recvbuf, recvcount, recvtype, "MPI_Neighbor_allgather_c")
    }
}

ffi_fn! {
    fn MPI_Neighbor_alltoall_c(sendbuf: *const c_void, sendcount: MPI_Count, sendtype: MPI_Datatype, recvbuf: *mut c_void, recvcount: MPI_Count, recvtype: MPI_Datatype, comm: MPI_Comm) -> c_int {
        let count = count(sendcount)?;
        let sends = move |n: usize| (count.saturating_mul(n as i64), false);
        run(comm, sendbuf, sends, sendtype, recvbuf, recvcount, recvtype, "MPI_Neighbor_alltoall_c")
    }
}
