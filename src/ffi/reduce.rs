//! Reductions at the C boundary: reduce, allreduce, reduce-scatter, scan and exscan.

use super::abi::{self, MPI_Comm, MPI_Datatype, MPI_Op};
use super::boundary::blame;
use super::collective::{in_place, items, maybe_in_place};
use super::handles;
use super::op::{combiner, Combine};
use super::region::Region;
use super::staging::{Mode, Scope};
use super::state::{state, State};
use crate::collective::reduce::{self, Combiner};
use crate::collective::{self, blocks};
use crate::comm::Comm;
use crate::error::{err, Result};
use std::ffi::{c_int, c_void};
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
        blame(comm as usize);
        let st = state()?;
        let (c, combine, item) = setup(st, comm, datatype, op)?;
        let scope = Scope::new(Mode::Records);
        let root = collective::root(&c, root)?;
        let is_root = c.rank == root;
        let send = maybe_in_place(st, sendbuf, count, datatype, is_root)?;
        let recv = if is_root { Some(items(st, recvbuf, count.into(), datatype)?) } else { None };
        // SAFETY: MPI's contract: the caller's buffers stay valid, and the receive buffer untouched
        // by anything else, for the whole blocking call; send and receive buffers may not overlap.
        let (send, recv) = (send.as_ref().map(|b| unsafe { b.bytes() }), recv.as_ref().map(|b| unsafe { b.bytes_mut() }));
        scope.finish(reduce::reduce(&st.rt, &c, root, send, recv, &combiner_of(&combine, item)))
    }
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
        blame(comm as usize);
        let st = state()?;
        let (c, combine, item) = setup(st, comm, datatype, op)?;
        let scope = Scope::new(Mode::Records);
        let send = maybe_in_place(st, sendbuf, count, datatype, true)?;
        let recv = items(st, recvbuf, count.into(), datatype)?;
        // SAFETY: MPI's contract: the caller's buffers stay valid, and the receive buffer untouched
        // by anything else, for the whole blocking call; send and receive buffers may not overlap.
        let send = send.as_ref().map(|b| unsafe { b.bytes() });
        // SAFETY: MPI's contract: the caller's buffers stay valid, and the receive buffer untouched
        // by anything else, for the whole blocking call; send and receive buffers may not overlap.
        scope.finish(reduce::allreduce(&st.rt, &c, send, unsafe { recv.bytes_mut() }, &combiner_of(&combine, item)))
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

ffi_fn! {
    fn MPI_Reduce_scatter_block(
        sendbuf: *const c_void,
        recvbuf: *mut c_void,
        recvcount: c_int,
        datatype: MPI_Datatype,
        op: MPI_Op,
        comm: MPI_Comm,
    ) -> c_int {
        blame(comm as usize);
        let st = state()?;
        let (c, combine, item) = setup(st, comm, datatype, op)?;
        let scope = Scope::new(Mode::Records);
        let count = handles::count(recvcount)? as i64;
        let (send, recv) = scatter_buffers(st, sendbuf, recvbuf, count * c.size() as i64, count, datatype)?;
        let ranges = blocks::uniform(count as usize * item, c.size());
        // SAFETY: MPI's contract: the caller's buffers stay valid, and the receive buffer untouched
        // by anything else, for the whole blocking call; send and receive buffers may not overlap.
        let send = send.as_ref().map(|b| unsafe { b.bytes() });
        // SAFETY: MPI's contract: the caller's buffers stay valid, and the receive buffer untouched
        // by anything else, for the whole blocking call; send and receive buffers may not overlap.
        scope.finish(reduce::reduce_scatter(&st.rt, &c, send, unsafe { recv.bytes_mut() }, &ranges, &combiner_of(&combine, item)))
    }
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
        blame(comm as usize);
        let st = state()?;
        let (c, combine, item) = setup(st, comm, datatype, op)?;
        let scope = Scope::new(Mode::Records);
        if recvcounts.is_null() {
            return Err(err!(Arg, "the recvcounts array is NULL"));
        }
        // SAFETY: MPI's contract: one count per rank of the communicator.
        let counts = unsafe { std::slice::from_raw_parts(recvcounts, c.size()) };
        let mut ranges = Vec::with_capacity(counts.len());
        let mut at = 0;
        for (r, &count) in counts.iter().enumerate() {
            let count = usize::try_from(count).map_err(|_| err!(Count, "the count for rank {r} is {count}"))?;
            ranges.push(at..at + count * item);
            at += count * item;
        }
        let total = counts.iter().map(|&n| n as i64).sum();
        let (send, recv) = scatter_buffers(st, sendbuf, recvbuf, total, counts[c.rank] as i64, datatype)?;
        // SAFETY: MPI's contract: the caller's buffers stay valid, and the receive buffer untouched
        // by anything else, for the whole blocking call; send and receive buffers may not overlap.
        let send = send.as_ref().map(|b| unsafe { b.bytes() });
        // SAFETY: MPI's contract: the caller's buffers stay valid, and the receive buffer untouched
        // by anything else, for the whole blocking call; send and receive buffers may not overlap.
        scope.finish(reduce::reduce_scatter(&st.rt, &c, send, unsafe { recv.bytes_mut() }, &ranges, &combiner_of(&combine, item)))
    }
}

/// `MPI_Scan` and `MPI_Exscan`.
fn scan(
    sendbuf: *const c_void,
    recvbuf: *mut c_void,
    count: c_int,
    datatype: MPI_Datatype,
    op: MPI_Op,
    comm: MPI_Comm,
    inclusive: bool,
) -> Result<()> {
    blame(comm as usize);
    let st = state()?;
    let (c, combine, item) = setup(st, comm, datatype, op)?;
    let scope = Scope::new(Mode::Records);
    let send = maybe_in_place(st, sendbuf, count, datatype, true)?;
    let recv = items(st, recvbuf, count.into(), datatype)?;
    // SAFETY: MPI's contract: the caller's buffers stay valid, and the receive buffer untouched
    // by anything else, for the whole blocking call; send and receive buffers may not overlap.
    let send = send.as_ref().map(|b| unsafe { b.bytes() });
    // SAFETY: MPI's contract: the caller's buffers stay valid, and the receive buffer untouched
    // by anything else, for the whole blocking call; send and receive buffers may not overlap.
    scope.finish(reduce::scan(&st.rt, &c, send, unsafe { recv.bytes_mut() }, &combiner_of(&combine, item), inclusive))
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
        scan(sendbuf, recvbuf, count, datatype, op, comm, true)
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
        scan(sendbuf, recvbuf, count, datatype, op, comm, false)
    }
}
