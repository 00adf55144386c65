//! Data-moving collectives at the C boundary: broadcast, gather, scatter, allgather and all-to-all, with their v variants.
//!
//! Arguments MPI calls significant only at the root are read only at the root, so other ranks
//! may pass anything there, as MPI allows.

use super::abi::{self, MPI_Aint, MPI_Comm, MPI_Count, MPI_Datatype};
use super::boundary::blame;
use super::handles;
use super::region::Region;
use super::staging::{self, Mode, Scope};
use super::state::{state, State};
use crate::collective::executor::{Job, EXECUTOR};
use crate::collective::inter::buffers_read;
use crate::collective::{blocks, data};
use crate::comm::Comm;
use crate::error::{err, Result};
use crate::runtime::Runtime;
use std::ffi::{c_int, c_void};
use std::ops::Range;
use std::sync::Arc;

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

/// A count or displacement as C passes it: `int` in the classic calls, `MPI_Count` or
/// `MPI_Aint` in the large-count (`_c`) ones. Every form is read as one 64-bit value, so both
/// families share the code below.
pub trait Wide: Copy + 'static {
    fn wide(self) -> i64;
}

impl Wide for c_int {
    fn wide(self) -> i64 {
        self.into()
    }
}

impl Wide for MPI_Count {
    fn wide(self) -> i64 {
        self
    }
}

impl Wide for MPI_Aint {
    fn wide(self) -> i64 {
        self as i64
    }
}

/// A scalar count of either width, refused when negative.
pub fn count(count: impl Wide) -> Result<i64> {
    match count.wide() {
        n if n < 0 => Err(err!(Count, "count {n} is negative")),
        n => Ok(n),
    }
}

/// `n` blocks of `count` items of `dtype`, back to back from `buf`.
pub fn even(st: &State, buf: *const c_void, count: impl Wide, dtype: MPI_Datatype, n: usize) -> Result<Layout> {
    let count = self::count(count)?;
    let total = count
        .checked_mul(n as i64)
        .ok_or_else(|| err!(Count, "count {count} times {n} ranks overflows a 64-bit count"))?;
    let buf = items(st, buf, total, dtype)?;
    Ok(Layout { ranges: blocks::uniform(buf.len() / n.max(1), n), buf })
}

/// Reads a C array of `n` counts or displacements of either width.
pub fn ints<T: Wide>(ptr: *const T, n: usize, what: &str) -> Result<Vec<i64>> {
    if ptr.is_null() {
        return Err(err!(Arg, "the {what} array is NULL"));
    }
    // SAFETY: MPI's contract: the array has one entry per rank of the communicator.
    Ok(unsafe { std::slice::from_raw_parts(ptr, n) }.iter().map(|v| v.wide()).collect())
}

/// Blocks of `counts[r]` items of `dtype` at `displs[r]` items from `buf`, for every rank r.
pub fn varying(
    st: &State,
    buf: *const c_void,
    counts: *const impl Wide,
    displs: *const impl Wide,
    dtype: MPI_Datatype,
    n: usize,
) -> Result<Layout> {
    let (counts, displs) = (ints(counts, n, "counts")?, ints(displs, n, "displacements")?);
    if let Some((buf, ranges)) = staging::blocks(st, buf, &counts, &displs, dtype)? {
        return Ok(Layout { buf, ranges });
    }
    let t = handles::datatype(st, dtype)?;
    let mut spans = Vec::with_capacity(n);
    for (r, (&count, &displ)) in counts.iter().zip(&displs).enumerate() {
        if count < 0 {
            return Err(err!(Count, "the count for rank {r} is {count}, which is negative"));
        }
        let at = displ.checked_mul(t.extent as i64);
        let at = at.ok_or_else(|| err!(Count, "displacement {displ} for rank {r} overflows a byte offset"))?;
        spans.push((at, t.bytes(count)? as i64));
    }
    spanning(buf, &spans)
}

/// Blocks of `len` bytes at byte offset `at` from `buf`, one `(at, len)` per rank. The buffer
/// spans the blocks (offsets may be negative); empty blocks take no room.
pub fn spanning(buf: *const c_void, spans: &[(i64, i64)]) -> Result<Layout> {
    let used = spans.iter().filter(|(_, len)| *len > 0);
    let lo = used.clone().map(|(at, _)| *at).min().unwrap_or(0);
    let hi = used.map(|(at, len)| at + len).max().unwrap_or(0);
    // A NULL base is MPI_BOTTOM when the offsets are absolute addresses (all above 0); from 0
    // on it is a missing buffer.
    if hi > lo && buf.is_null() && lo <= 0 {
        return Err(err!(Buffer, "the buffer is NULL but the blocks span {} bytes from offset {lo}", hi - lo));
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
    count: impl Wide,
    dtype: MPI_Datatype,
    in_place_ok: bool,
) -> Result<Option<Region>> {
    match (in_place(buf), in_place_ok) {
        (true, true) => Ok(None),
        (true, false) => Err(err!(Buffer, "MPI_IN_PLACE is allowed here only at the root")),
        (false, _) => Ok(Some(items(st, buf, self::count(count)?, dtype)?)),
    }
}

fn comm_and_root(st: &State, comm: MPI_Comm, root: c_int) -> Result<(Arc<Comm>, usize)> {
    let c = handles::comm(st, comm)?;
    let r = super::intercomm::root(&c, root)?;
    Ok((c, r))
}

/// Work on `comm` as a job for either the blocking call or the nonblocking one. The buffers
/// staged for it (non-contiguous datatypes, see staging.rs) go with it and are written back into
/// place when the work succeeds.
pub fn job(comm: &Arc<Comm>, work: impl FnOnce(&Runtime, &Comm) -> Result<()> + Send + 'static) -> Job {
    let c = comm.clone();
    let staged = staging::detach();
    Job { context: c.coll_context(), run: Box::new(move |rt| staged.finish(work(rt, &c))) }
}

/// `comm`, once its pending nonblocking collectives have run: calls that send on the collective
/// context (communicator constructors) must come after them, in MPI's collective order.
pub fn settled(st: &State, comm: MPI_Comm) -> Result<Arc<Comm>> {
    let c = handles::comm(st, comm)?;
    EXECUTOR.settle(&st.rt, c.coll_context())?;
    Ok(c)
}

/// Runs a collective now, after the communicator's pending nonblocking ones (MPI's order).
pub fn blocking(comm: MPI_Comm, prepare: impl FnOnce(&'static State) -> Result<Job>) -> Result<()> {
    blame(comm as usize);
    let st = state()?;
    let job = prepare(st)?;
    EXECUTOR.settle(&st.rt, job.context)?;
    (job.run)(&st.rt)
}

/// `MPI_Bcast`'s work. In every collective's work below, MPI's contract keeps the caller's
/// buffers valid, the receive buffers untouched by anything else, and send and receive buffers
/// apart, until the operation completes (the blocking call returns or the request completes).
pub fn bcast(
    st: &State,
    buffer: *mut c_void,
    count: impl Wide,
    datatype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
) -> Result<Job> {
    let _staging = Scope::new(Mode::Packed);
    let (c, root) = comm_and_root(st, comm, root)?;
    let buf = match buffers_read(&c, root) {
        (false, false) => Region::new(std::ptr::null_mut(), 0),
        _ => items(st, buffer, self::count(count)?, datatype)?,
    };
    // SAFETY: MPI's contract (see `bcast`).
    Ok(job(&c, move |rt, c| data::bcast(rt, c, root, unsafe { buf.bytes_mut() })))
}

ffi_fn! {
    fn MPI_Bcast(buffer: *mut c_void, count: c_int, datatype: MPI_Datatype, root: c_int, comm: MPI_Comm) -> c_int {
        blocking(comm, |st| bcast(st, buffer, count, datatype, root, comm))
    }
}

/// `MPI_Gather(v)`'s work: `layout` describes the root's receive buffer.
pub fn gather(
    st: &State,
    sendbuf: *const c_void,
    sendcount: impl Wide,
    sendtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
    layout: impl FnOnce(&State, usize) -> Result<Layout>,
) -> Result<Job> {
    let _staging = Scope::new(Mode::Packed);
    let (c, root) = comm_and_root(st, comm, root)?;
    let (is_root, leaf) = buffers_read(&c, root);
    let send = if leaf { maybe_in_place(st, sendbuf, sendcount, sendtype, is_root)? } else { None };
    let recv = if is_root { Some(layout(st, c.peers().len())?) } else { None };
    Ok(job(&c, move |rt, c| {
        // SAFETY: MPI's contract (see `bcast`).
        let recv = recv.as_ref().map(|l| (unsafe { l.buf.bytes_mut() }, &l.ranges[..]));
        // SAFETY: MPI's contract (see `bcast`).
        data::gather(rt, c, root, send.map(|b| unsafe { b.bytes() }), recv)
    }))
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
        blocking(comm, |st| {
            gather(st, sendbuf, sendcount, sendtype, root, comm, |st, n| even(st, recvbuf, recvcount, recvtype, n))
        })
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
        blocking(comm, |st| {
            gather(st, sendbuf, sendcount, sendtype, root, comm, |st, n| {
                varying(st, recvbuf, recvcounts, displs, recvtype, n)
            })
        })
    }
}

/// `MPI_Scatter(v)`'s work: `layout` describes the root's send buffer.
pub fn scatter(
    st: &State,
    recvbuf: *mut c_void,
    recvcount: impl Wide,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
    layout: impl FnOnce(&State, usize) -> Result<Layout>,
) -> Result<Job> {
    let _staging = Scope::new(Mode::Packed);
    let (c, root) = comm_and_root(st, comm, root)?;
    let (is_root, leaf) = buffers_read(&c, root);
    let recv = if leaf { maybe_in_place(st, recvbuf, recvcount, recvtype, is_root)? } else { None };
    let send = if is_root { Some(layout(st, c.peers().len())?) } else { None };
    Ok(job(&c, move |rt, c| {
        // SAFETY: MPI's contract (see `bcast`).
        let send = send.as_ref().map(|l| (unsafe { l.buf.bytes() }, &l.ranges[..]));
        // SAFETY: MPI's contract (see `bcast`).
        data::scatter(rt, c, root, send, recv.map(|b| unsafe { b.bytes_mut() }))
    }))
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
        blocking(comm, |st| {
            scatter(st, recvbuf, recvcount, recvtype, root, comm, |st, n| even(st, sendbuf, sendcount, sendtype, n))
        })
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
        blocking(comm, |st| {
            scatter(st, recvbuf, recvcount, recvtype, root, comm, |st, n| {
                varying(st, sendbuf, sendcounts, displs, sendtype, n)
            })
        })
    }
}

/// `MPI_Allgather(v)`'s work: `layout` describes the receive buffer.
pub fn allgather(
    st: &State,
    sendbuf: *const c_void,
    sendcount: impl Wide,
    sendtype: MPI_Datatype,
    comm: MPI_Comm,
    layout: impl FnOnce(&State, usize) -> Result<Layout>,
) -> Result<Job> {
    let _staging = Scope::new(Mode::Packed);
    let c = handles::comm(st, comm)?;
    let send = maybe_in_place(st, sendbuf, sendcount, sendtype, true)?;
    let recv = layout(st, c.peers().len())?;
    Ok(job(&c, move |rt, c| {
        // SAFETY: MPI's contract (see `bcast`).
        let (send, buf) = unsafe { (send.map(|b| b.bytes()), recv.buf.bytes_mut()) };
        data::allgather(rt, c, send, buf, &recv.ranges)
    }))
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
        blocking(comm, |st| {
            allgather(st, sendbuf, sendcount, sendtype, comm, |st, n| even(st, recvbuf, recvcount, recvtype, n))
        })
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
        blocking(comm, |st| {
            allgather(st, sendbuf, sendcount, sendtype, comm, |st, n| {
                varying(st, recvbuf, recvcounts, displs, recvtype, n)
            })
        })
    }
}

/// `MPI_Alltoall(v)`'s work: `send` is skipped for MPI_IN_PLACE.
pub fn alltoall(
    st: &State,
    sendbuf: *const c_void,
    comm: MPI_Comm,
    send: impl FnOnce(&State, usize) -> Result<Layout>,
    recv: impl FnOnce(&State, usize) -> Result<Layout>,
) -> Result<Job> {
    let _staging = Scope::new(Mode::Packed);
    let c = handles::comm(st, comm)?;
    let send = if in_place(sendbuf) { None } else { Some(send(st, c.peers().len())?) };
    let recv = recv(st, c.peers().len())?;
    Ok(job(&c, move |rt, c| {
        // SAFETY: MPI's contract (see `bcast`).
        let send = send.as_ref().map(|l| (unsafe { l.buf.bytes() }, &l.ranges[..]));
        // SAFETY: MPI's contract (see `bcast`).
        data::alltoall(rt, c, send, unsafe { recv.buf.bytes_mut() }, &recv.ranges)
    }))
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
