//! Data-moving collectives at the C boundary: broadcast, gather, scatter, allgather and all-to-all, with their v variants.
//!
//! Arguments MPI calls significant only at the root are read only at the root, so other ranks
//! may pass anything there, as MPI allows.

use super::abi::{self, MPI_Comm, MPI_Datatype};
use super::boundary::blame;
use super::handles;
use super::region::Region;
use super::staging::{self, Mode, Scope};
use super::state::{state, State};
use crate::collective::{self, blocks, data};
use crate::comm::Comm;
use crate::error::{err, Result};
use std::ffi::{c_int, c_void};
use std::ops::Range;

/// `MPI_IN_PLACE` passed as a buffer.
pub fn in_place(buf: *const c_void) -> bool {
    std::ptr::eq(buf, abi::MPI_IN_PLACE)
}

/// `count` items of `dtype` at `buf` (a count that may exceed `int`, as n blocks can).
/// A non-contiguous type's items are staged (see staging.rs).
pub fn items(st: &State, buf: *const c_void, count: i64, dtype: MPI_Datatype) -> Result<Region> {
    if let Some(staged) = staging::items(st, buf, count, dtype)? {
        return Ok(staged);
    }
    let t = handles::datatype(st, dtype)?;
    // MPI's contract: `buf` holds `count` items of `dtype` for the whole call.
    handles::region_of(&t, buf, t.bytes(count)?)
}

/// A buffer cut into one block per rank.
pub struct Layout {
    pub buf: Region,
    pub ranges: Vec<Range<usize>>,
}

/// `n` blocks of `count` items of `dtype`, back to back from `buf`.
fn even(st: &State, buf: *const c_void, count: c_int, dtype: MPI_Datatype, n: usize) -> Result<Layout> {
    handles::count(count)?;
    let buf = items(st, buf, count as i64 * n as i64, dtype)?;
    Ok(Layout { ranges: blocks::uniform(buf.len() / n, n), buf })
}

/// Reads a C array of `n` ints.
fn ints<'a>(ptr: *const c_int, n: usize, what: &str) -> Result<&'a [c_int]> {
    if ptr.is_null() {
        return Err(err!(Arg, "the {what} array is NULL"));
    }
    // SAFETY: MPI's contract: the array has one entry per rank of the communicator.
    Ok(unsafe { std::slice::from_raw_parts(ptr, n) })
}

/// Blocks of `counts[r]` items of `dtype` at `displs[r]` items from `buf`, for every rank r.
/// The buffer spans the blocks (displacements may be negative); empty blocks take no room.
fn varying(
    st: &State,
    buf: *const c_void,
    counts: *const c_int,
    displs: *const c_int,
    dtype: MPI_Datatype,
    n: usize,
) -> Result<Layout> {
    let (counts, displs) = (ints(counts, n, "counts")?, ints(displs, n, "displacements")?);
    if let Some((buf, ranges)) = staging::blocks(st, buf, counts, displs, dtype)? {
        return Ok(Layout { buf, ranges });
    }
    let t = handles::datatype(st, dtype)?;
    let mut spans = Vec::with_capacity(n);
    for (r, (&count, &displ)) in counts.iter().zip(displs).enumerate() {
        if count < 0 {
            return Err(err!(Count, "the count for rank {r} is {count}, which is negative"));
        }
        let len = t.bytes(count as i64)? as i64;
        spans.push((displ as i64 * t.extent as i64, len));
    }
    let used = spans.iter().filter(|(_, len)| *len > 0);
    let lo = used.clone().map(|(at, _)| *at).min().unwrap_or(0);
    let hi = used.map(|(at, len)| at + len).max().unwrap_or(0);
    if hi > lo && buf.is_null() {
        return Err(err!(Buffer, "the buffer is NULL but the blocks span {} bytes", hi - lo));
    }
    let base = buf.cast::<u8>().cast_mut().wrapping_offset(lo as isize);
    // MPI's contract: every block lies in the caller's buffer for the whole call, so
    // the span from the lowest block start to the highest block end does too.
    let buf = Region::new(base, (hi - lo) as usize);
    let ranges = spans
        .iter()
        .map(|&(at, len)| if len > 0 { (at - lo) as usize..(at - lo + len) as usize } else { 0..0 })
        .collect();
    Ok(Layout { buf, ranges })
}

/// A buffer of `count` items, or `None` for MPI_IN_PLACE where `in_place_ok` (it is not
/// allowed everywhere: a gather's non-root ranks, for one, must send something).
pub fn maybe_in_place(
    st: &State,
    buf: *const c_void,
    count: c_int,
    dtype: MPI_Datatype,
    in_place_ok: bool,
) -> Result<Option<Region>> {
    match (in_place(buf), in_place_ok) {
        (true, true) => Ok(None),
        (true, false) => Err(err!(Buffer, "MPI_IN_PLACE is allowed here only at the root")),
        (false, _) => Ok(Some(items(st, buf, handles::count(count)? as i64, dtype)?)),
    }
}

fn comm_and_root(st: &State, comm: MPI_Comm, root: c_int) -> Result<(std::sync::Arc<Comm>, usize)> {
    let c = handles::comm(st, comm)?;
    let r = collective::root(&c, root)?;
    Ok((c, r))
}

ffi_fn! {
    fn MPI_Bcast(buffer: *mut c_void, count: c_int, datatype: MPI_Datatype, root: c_int, comm: MPI_Comm) -> c_int {
        blame(comm as usize);
        let st = state()?;
        let (c, root) = comm_and_root(st, comm, root)?;
        let scope = Scope::new(Mode::Packed);
        let buf = items(st, buffer, handles::count(count)?.into(), datatype)?;
        // SAFETY: MPI's contract: the caller's buffers stay valid, and the receive buffer untouched
        // by anything else, for the whole blocking call; send and receive buffers may not overlap.
        scope.finish(data::bcast(&st.rt, &c, root, unsafe { buf.bytes_mut() }))
    }
}

/// `MPI_Gather` and `MPI_Gatherv`: `layout` describes the root's receive buffer.
fn gather(
    sendbuf: *const c_void,
    sendcount: c_int,
    sendtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
    layout: impl FnOnce(&State, usize) -> Result<Layout>,
) -> Result<()> {
    blame(comm as usize);
    let st = state()?;
    let scope = Scope::new(Mode::Packed);
    let (c, root) = comm_and_root(st, comm, root)?;
    let is_root = c.rank == root;
    let send = maybe_in_place(st, sendbuf, sendcount, sendtype, is_root)?;
    let recv = if is_root { Some(layout(st, c.size())?) } else { None };
    // SAFETY: MPI's contract: the caller's buffers stay valid, and the receive buffer untouched
    // by anything else, for the whole blocking call; send and receive buffers may not overlap.
    let recv = recv.as_ref().map(|l| (unsafe { l.buf.bytes_mut() }, &l.ranges[..]));
    // SAFETY: MPI's contract: the caller's buffers stay valid, and the receive buffer untouched
    // by anything else, for the whole blocking call; send and receive buffers may not overlap.
    scope.finish(data::gather(&st.rt, &c, root, send.as_ref().map(|b| unsafe { b.bytes() }), recv))
}

ffi_fn! {
    fn MPI_Gather(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        gather(sendbuf, sendcount, sendtype, root, comm, |st, n| even(st, recvbuf, recvcount, recvtype, n))
    }
}

ffi_fn! {
    fn MPI_Gatherv(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const c_int,
        displs: *const c_int,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        gather(sendbuf, sendcount, sendtype, root, comm, |st, n| {
            varying(st, recvbuf, recvcounts, displs, recvtype, n)
        })
    }
}

/// `MPI_Scatter` and `MPI_Scatterv`: `layout` describes the root's send buffer.
fn scatter(
    recvbuf: *mut c_void,
    recvcount: c_int,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
    layout: impl FnOnce(&State, usize) -> Result<Layout>,
) -> Result<()> {
    blame(comm as usize);
    let st = state()?;
    let scope = Scope::new(Mode::Packed);
    let (c, root) = comm_and_root(st, comm, root)?;
    let is_root = c.rank == root;
    let recv = maybe_in_place(st, recvbuf, recvcount, recvtype, is_root)?;
    let send = if is_root { Some(layout(st, c.size())?) } else { None };
    // SAFETY: MPI's contract: the caller's buffers stay valid, and the receive buffer untouched
    // by anything else, for the whole blocking call; send and receive buffers may not overlap.
    let send = send.as_ref().map(|l| (unsafe { l.buf.bytes() }, &l.ranges[..]));
    // SAFETY: MPI's contract: the caller's buffers stay valid, and the receive buffer untouched
    // by anything else, for the whole blocking call; send and receive buffers may not overlap.
    scope.finish(data::scatter(&st.rt, &c, root, send, recv.as_ref().map(|b| unsafe { b.bytes_mut() })))
}

ffi_fn! {
    fn MPI_Scatter(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        scatter(recvbuf, recvcount, recvtype, root, comm, |st, n| even(st, sendbuf, sendcount, sendtype, n))
    }
}

ffi_fn! {
    fn MPI_Scatterv(
        sendbuf: *const c_void,
        sendcounts: *const c_int,
        displs: *const c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        scatter(recvbuf, recvcount, recvtype, root, comm, |st, n| {
            varying(st, sendbuf, sendcounts, displs, sendtype, n)
        })
    }
}

/// `MPI_Allgather` and `MPI_Allgatherv`: `layout` describes the receive buffer.
fn allgather(
    sendbuf: *const c_void,
    sendcount: c_int,
    sendtype: MPI_Datatype,
    comm: MPI_Comm,
    layout: impl FnOnce(&State, usize) -> Result<Layout>,
) -> Result<()> {
    blame(comm as usize);
    let st = state()?;
    let scope = Scope::new(Mode::Packed);
    let c = handles::comm(st, comm)?;
    let send = maybe_in_place(st, sendbuf, sendcount, sendtype, true)?;
    let recv = layout(st, c.size())?;
    // SAFETY: MPI's contract: the caller's buffers stay valid, and the receive buffer untouched
    // by anything else, for the whole blocking call; send and receive buffers may not overlap.
    let done = data::allgather(
        &st.rt,
        &c,
        send.as_ref().map(|b| unsafe { b.bytes() }),
        unsafe { recv.buf.bytes_mut() },
        &recv.ranges,
    );
    scope.finish(done)
}

ffi_fn! {
    fn MPI_Allgather(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
    ) -> c_int {
        allgather(sendbuf, sendcount, sendtype, comm, |st, n| even(st, recvbuf, recvcount, recvtype, n))
    }
}

ffi_fn! {
    fn MPI_Allgatherv(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const c_int,
        displs: *const c_int,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
    ) -> c_int {
        allgather(sendbuf, sendcount, sendtype, comm, |st, n| {
            varying(st, recvbuf, recvcounts, displs, recvtype, n)
        })
    }
}

/// `MPI_Alltoall` and `MPI_Alltoallv`: `send` is skipped for MPI_IN_PLACE.
fn alltoall(
    sendbuf: *const c_void,
    comm: MPI_Comm,
    send: impl FnOnce(&State, usize) -> Result<Layout>,
    recv: impl FnOnce(&State, usize) -> Result<Layout>,
) -> Result<()> {
    blame(comm as usize);
    let st = state()?;
    let scope = Scope::new(Mode::Packed);
    let c = handles::comm(st, comm)?;
    let send = if in_place(sendbuf) { None } else { Some(send(st, c.size())?) };
    let recv = recv(st, c.size())?;
    // SAFETY: MPI's contract: the caller's buffers stay valid, and the receive buffer untouched
    // by anything else, for the whole blocking call; send and receive buffers may not overlap.
    let send = send.as_ref().map(|l| (unsafe { l.buf.bytes() }, &l.ranges[..]));
    // SAFETY: MPI's contract: the caller's buffers stay valid, and the receive buffer untouched
    // by anything else, for the whole blocking call; send and receive buffers may not overlap.
    scope.finish(data::alltoall(&st.rt, &c, send, unsafe { recv.buf.bytes_mut() }, &recv.ranges))
}

ffi_fn! {
    fn MPI_Alltoall(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
    ) -> c_int {
        alltoall(
            sendbuf,
            comm,
            |st, n| even(st, sendbuf, sendcount, sendtype, n),
            |st, n| even(st, recvbuf, recvcount, recvtype, n),
        )
    }
}

ffi_fn! {
    fn MPI_Alltoallv(
        sendbuf: *const c_void,
        sendcounts: *const c_int,
        sdispls: *const c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const c_int,
        rdispls: *const c_int,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
    ) -> c_int {
        alltoall(
            sendbuf,
            comm,
            |st, n| varying(st, sendbuf, sendcounts, sdispls, sendtype, n),
            |st, n| varying(st, recvbuf, recvcounts, rdispls, recvtype, n),
        )
    }
}
