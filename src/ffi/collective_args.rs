//! A collective's buffer arguments at the C boundary: MPI_IN_PLACE, counts of either width, and the per-rank blocks of the v variants.

use super::abi::{self, MPI_Aint, MPI_Count, MPI_Datatype};
use super::handles;
use super::region::Region;
use super::staging;
use super::state::State;
use crate::collective::blocks;
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
