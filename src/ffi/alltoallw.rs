//! `MPI_Alltoallw` and `MPI_Ialltoallw`: all-to-all with a datatype per peer and displacements in bytes.

use super::abi::{MPI_Comm, MPI_Datatype, MPI_Request};
use super::collective::{alltoall, blocking};
use super::collective_args::{ints, spanning, Layout, Wide};
use super::collective_jobs as jobs;
use super::handles;
use super::icollective::nonblocking;
use super::state::State;
use crate::error::{err, Result};
use std::ffi::{c_int, c_void};

/// Blocks of `counts[r]` items of `types[r]` at `displs[r]` bytes from `buf`, for every rank r.
pub(super) fn per_peer(
    st: &State,
    buf: *const c_void,
    counts: *const impl Wide,
    displs: *const impl Wide,
    types: *const MPI_Datatype,
    n: usize,
) -> Result<Layout> {
    let (counts, displs) = (ints(counts, n, "counts")?, ints(displs, n, "displacements")?);
    if types.is_null() {
        return Err(err!(Arg, "the datatypes array is NULL"));
    }
    // SAFETY: MPI's contract: the array has one datatype per rank of the communicator.
    let types = unsafe { std::slice::from_raw_parts(types, n) };
    let typed = types.iter().map(|&dtype| handles::datatype(st, dtype)).collect::<Result<Vec<_>>>()?;
    if typed.iter().zip(types).any(|(t, &dtype)| !handles::tiles(dtype, t)) {
        // A non-contiguous type somewhere: every block travels packed, staged for the call.
        let blocks = counts.iter().zip(&displs).zip(typed).map(|((&c, &d), t)| (c, d, t)).collect::<Vec<_>>();
        let (buf, ranges) = super::staging::typed_blocks(buf, &blocks)?;
        return Ok(Layout { buf, ranges });
    }
    let mut spans = Vec::with_capacity(n);
    for (r, ((&count, &displ), t)) in counts.iter().zip(&displs).zip(&typed).enumerate() {
        if count < 0 {
            return Err(err!(Count, "the count for rank {r} is {count}, which is negative"));
        }
        spans.push((displ, t.bytes(count)? as i64));
    }
    spanning(buf, &spans)
}

ffi_fn! {
    fn MPI_Alltoallw(
        sendbuf: *const c_void,
        sendcounts: *const c_int,
        sdispls: *const c_int,
        sendtypes: *const MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const c_int,
        rdispls: *const c_int,
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
    fn MPI_Ialltoallw(
        sendbuf: *const c_void,
        sendcounts: *const c_int,
        sdispls: *const c_int,
        sendtypes: *const MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const c_int,
        rdispls: *const c_int,
        recvtypes: *const MPI_Datatype,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        nonblocking(comm, request, jobs::alltoallw(sendbuf, sendcounts, sdispls, sendtypes, recvbuf, recvcounts, rdispls, recvtypes, comm))
    }
}
