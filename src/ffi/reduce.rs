//! Reductions at the C boundary: reduce, allreduce, reduce-scatter, scan and exscan.

use super::abi::{self, MPI_Comm, MPI_Datatype, MPI_Op};
use super::collective::{blocking, job};
use super::collective_args::{count as coll_count, in_place, ints, items, maybe_in_place, Wide};
use super::handles;
use super::op::{combiner, Combine};
use super::region::Region;
use super::staging::{Mode, Scope};
use super::state::State;
use crate::collective::blocks;
use crate::collective::executor::Job;
use crate::collective::reduce::{self, Combiner};
use crate::comm::Comm;
use crate::error::{err, Result};
use crate::runtime::Runtime;
use std::ffi::{c_int, c_void};
use std::ops::Range;
use std::sync::Arc;

/// The communicator and the combining function of `op` on `datatype`, checked first so a bad
/// operation is reported before any data moves.
fn setup(st: &State, comm: MPI_Comm, datatype: MPI_Datatype, op: MPI_Op) -> Result<(Arc<Comm>, Combine, usize)> {
    let c = handles::comm(st, comm)?;
    let t = handles::datatype(st, datatype)?;
    let combine = combiner(st, op, datatype, &t)?;
    if handles::tiles(datatype, &t) {
        return Ok((c, combine, t.extent));
    }
    // Staged as records of the basic type (staging.rs): combine those.
    if op as usize >= abi::PREDEFINED_HANDLE_LIMIT {
        return Err(err!(
            Op,
            "a user-defined operation on a non-contiguous derived datatype is not supported; \
             reduce a contiguous type, or pack the data first"
        ));
    }
    let basic = t.basic.ok_or_else(|| err!(Op, "a reduction on a datatype mixing basic types is not defined"))?;
    let bt = handles::datatype(st, basic as MPI_Datatype)?;
    let combine = combiner(st, op, basic as MPI_Datatype, &bt)?;
    let per_item = t.size.checked_div(bt.size).unwrap_or(0);
    Ok((c, combine, per_item * bt.extent))
}

fn combiner_of(combine: &Combine, item: usize) -> Combiner<'_> {
    Combiner { apply: combine.as_ref(), item }
}

// In every reduction's work below, MPI's contract keeps the caller's buffers valid, the receive
// buffer untouched by anything else, and send and receive buffers apart, until the operation
// completes (the blocking call returns or the request completes).

/// `MPI_Reduce`'s work.
pub fn reduce(
    st: &State,
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: impl Wide,
    datatype: MPI_Datatype,
    op: MPI_Op,
    root: c_int,
    comm: MPI_Comm,
) -> Result<Job> {
    let _staging = Scope::new(Mode::Records);
    let c = handles::comm(st, comm)?;
    let root = super::intercomm::root(&c, root)?;
    if crate::collective::inter::buffers_read(&c, root) == (false, false) {
        // MPI_PROC_NULL on an intercommunicator: every other argument is insignificant.
        return Ok(job(&c, |_, _| Ok(())));
    }
    let (c, combine, item) = setup(st, comm, datatype, op)?;
    let (is_root, leaf) = crate::collective::inter::buffers_read(&c, root);
    let send = if leaf { maybe_in_place(st, sendbuf, count, datatype, is_root)? } else { None };
    let recv = if is_root { Some(items(st, recvbuf, coll_count(count)?, datatype)?) } else { None };
    Ok(job(&c, move |rt, c| {
        // SAFETY: MPI's contract (see above).
        let (send, recv) = unsafe { (send.map(|b| b.bytes()), recv.map(|b| b.bytes_mut())) };
        reduce::reduce(rt, c, root, send, recv, &combiner_of(&combine, item))
    }))
}

ffi_fn! {
    fn MPI_Reduce(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        op: MPI_Op,
        root: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| reduce(st, sendbuf, recvbuf, count, datatype, op, root, comm))
    }
}

/// The work of a reduction every rank receives whole, element by element (allreduce, scan):
/// the buffers are set up alike, and `run` is the algorithm.
fn elementwise(
    st: &State,
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: impl Wide,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
    run: impl FnOnce(&Runtime, &Comm, Option<&[u8]>, &mut [u8], &Combiner) -> Result<()> + Send + 'static,
) -> Result<Job> {
    let _staging = Scope::new(Mode::Records);
    let (c, combine, item) = setup(st, comm, datatype, op)?;
    let send = maybe_in_place(st, sendbuf, count, datatype, true)?;
    let recv = items(st, recvbuf, coll_count(count)?, datatype)?;
    Ok(job(&c, move |rt, c| {
        // SAFETY: MPI's contract (see above).
        let (send, recv) = unsafe { (send.map(|b| b.bytes()), recv.bytes_mut()) };
        run(rt, c, send, recv, &combiner_of(&combine, item))
    }))
}

/// `MPI_Allreduce`'s work.
pub fn allreduce(
    st: &State,
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: impl Wide,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
) -> Result<Job> {
    elementwise(st, sendbuf, recvbuf, count, datatype, op, comm, reduce::allreduce)
}

ffi_fn! {
    fn MPI_Allreduce(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| allreduce(st, sendbuf, recvbuf, count, datatype, op, comm))
    }
}

/// The input of a reduce-scatter (`total` items, or `None` for MPI_IN_PLACE) and its receive
/// buffer (`mine` items, or `total` in place, where the input is read from it).
fn scatter_buffers(
    st: &State,
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    total: i64,
    mine: i64,
    datatype: MPI_Datatype,
) -> Result<(Option<Region>, Region)> {
    if in_place(sendbuf) {
        return Ok((None, items(st, recvbuf, total, datatype)?));
    }
    Ok((Some(items(st, sendbuf, total, datatype)?), items(st, recvbuf, mine, datatype)?))
}

/// The reduce-scatter over `ranges` (byte ranges of the input, one per rank) once the buffers are known.
fn reduce_scatter_job(
    c: &Arc<Comm>,
    combine: Combine,
    item: usize,
    (send, recv): (Option<Region>, Region),
    ranges: Vec<Range<usize>>,
) -> Job {
    job(c, move |rt, c| {
        // SAFETY: MPI's contract (see above).
        let (send, recv) = unsafe { (send.map(|b| b.bytes()), recv.bytes_mut()) };
        reduce::reduce_scatter(rt, c, send, recv, &ranges, &combiner_of(&combine, item))
    })
}

/// `MPI_Reduce_scatter_block`'s work.
pub fn reduce_scatter_block(
    st: &State,
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    recvcount: impl Wide,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
) -> Result<Job> {
    let _staging = Scope::new(Mode::Records);
    let (c, combine, item) = setup(st, comm, datatype, op)?;
    let count = coll_count(recvcount)?;
    let total = count
        .checked_mul(c.size() as i64)
        .ok_or_else(|| err!(Count, "recvcount {count} times {} ranks overflows a 64-bit count", c.size()))?;
    let buffers = scatter_buffers(st, sendbuf, recvbuf, total, count, datatype)?;
    let ranges = blocks::uniform(count as usize * item, c.size());
    Ok(reduce_scatter_job(&c, combine, item, buffers, ranges))
}

ffi_fn! {
    fn MPI_Reduce_scatter_block(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        recvcount: c_int,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| reduce_scatter_block(st, sendbuf, recvbuf, recvcount, datatype, op, comm))
    }
}

/// `MPI_Reduce_scatter`'s work.
pub fn reduce_scatter(
    st: &State,
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    recvcounts: *const impl Wide,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
) -> Result<Job> {
    let _staging = Scope::new(Mode::Records);
    let (c, combine, item) = setup(st, comm, datatype, op)?;
    let counts = ints(recvcounts, c.size(), "recvcounts")?;
    let mut ranges = Vec::with_capacity(counts.len());
    let (mut at, mut total) = (0usize, 0i64);
    for (r, &count) in counts.iter().enumerate() {
        let n =
            usize::try_from(count).map_err(|_| err!(Count, "the count for rank {r} is {count}, which is negative"))?;
        let len = n.checked_mul(item).filter(|len| at.checked_add(*len).is_some());
        let len = len.ok_or_else(|| err!(Count, "the counts add up to more bytes than memory can hold"))?;
        ranges.push(at..at + len);
        (at, total) = (at + len, total + count);
    }
    let buffers = scatter_buffers(st, sendbuf, recvbuf, total, counts[c.rank], datatype)?;
    Ok(reduce_scatter_job(&c, combine, item, buffers, ranges))
}

ffi_fn! {
    fn MPI_Reduce_scatter(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        recvcounts: *const c_int,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| reduce_scatter(st, sendbuf, recvbuf, recvcounts, datatype, op, comm))
    }
}

/// `MPI_Scan`'s (`inclusive`) and `MPI_Exscan`'s work.
pub fn scan(
    st: &State,
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: impl Wide,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
    inclusive: bool,
) -> Result<Job> {
    super::intercomm::intra_only(&*handles::comm(st, comm)?, if inclusive { "MPI_Scan" } else { "MPI_Exscan" })?;
    elementwise(st, sendbuf, recvbuf, count, datatype, op, comm, move |rt, c, send, recv, combiner| {
        reduce::scan(rt, c, send, recv, combiner, inclusive)
    })
}

ffi_fn! {
    fn MPI_Scan(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| scan(st, sendbuf, recvbuf, count, datatype, op, comm, true))
    }
}

ffi_fn! {
    fn MPI_Exscan(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| scan(st, sendbuf, recvbuf, count, datatype, op, comm, false))
    }
}
