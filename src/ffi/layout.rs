//! Non-contiguous buffers at the C boundary: a caller's (buf, count, datatype) whose data has gaps, packed before it is sent and unpacked when it arrives.

use super::abi;
use super::handles;
use super::region::Region;
use super::state::State;
use crate::datatype::Datatype;
use crate::error::{err, Result};
use crate::request::Request;
use crate::typemap::{pack, Shared};
use std::ffi::c_void;
use std::sync::Arc;

/// `count` items of a type map at `base` in the caller's memory.
#[derive(Debug, Clone)]
pub struct Layout {
    base: *mut u8,
    count: usize,
    map: Shared,
}

// SAFETY: an address, a count and an immutable type map; the memory is only touched through
// the unsafe methods below, under MPI's buffer rules, wherever the layout travels.
unsafe impl Send for Layout {}

impl Layout {
    pub fn new(base: *const c_void, count: usize, t: &Datatype) -> Layout {
        Layout { base: base.cast_mut().cast(), count, map: t.map.clone() }
    }

    /// Bytes of data (packed).
    pub fn len(&self) -> usize {
        self.map.size * self.count
    }

    /// The data, gathered.
    ///
    /// # Safety
    /// MPI's rules for a send buffer: the type map's bytes are valid for reads.
    pub unsafe fn gather(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.len()];
        // SAFETY: the caller's promise.
        unsafe { pack::pack(&self.map, self.count, self.base, &mut out) };
        out
    }

    /// Scatters `data` (at most `len()` bytes; fewer fill the first items) into place.
    ///
    /// # Safety
    /// MPI's rules for a receive buffer: the type map's bytes are valid for writes and
    /// touched by nothing else.
    pub unsafe fn scatter(&self, data: &[u8]) {
        // SAFETY: the caller's promise.
        unsafe { pack::unpack(&self.map, self.count, self.base, data) };
    }
}

/// A message buffer: the caller's memory itself for a contiguous type (no copy), or a layout
/// to pack from / unpack into (the region is then empty; the layout knows the length).
pub fn message(
    st: &State,
    buf: *const c_void,
    count: abi::MPI_Count,
    dtype: abi::MPI_Datatype,
) -> Result<(Region, Option<Layout>)> {
    let t = handles::datatype(st, dtype)?;
    let bytes = t.packed(count)?;
    if bytes > isize::MAX as usize {
        return Err(err!(Count, "count {count} makes a message of {bytes} bytes, more than memory can hold"));
    }
    if t.dense {
        return Ok((handles::region_of(&t, buf, bytes)?, None));
    }
    // MPI_BOTTOM (NULL) is a valid base for absolute addresses, so only the type map speaks.
    Ok((Region::new(std::ptr::null_mut(), 0), Some(Layout::new(buf, count as usize, &t))))
}

/// A packed copy of a send's data that lives until `req` completes.
pub fn keep_until_done(req: &Arc<Request>, data: Vec<u8>) {
    req.then(move |_| drop(data));
}

/// A receive buffer for `layout`: a temporary one, scattered into place as `req` completes.
pub fn scatter_when_done(req: &Arc<Request>, layout: Layout, temp: Vec<u8>) {
    req.then(move |outcome| {
        if !outcome.cancelled {
            let got = (outcome.count as usize).min(temp.len());
            // SAFETY: MPI's contract: the receive buffer stays valid and untouched by the caller
            // until the receive completes, which is now.
            unsafe { layout.scatter(&temp[..got]) };
        }
    });
}

/// Error for calls that take only contiguous datatypes.
pub fn contiguous_only(what: &str) -> crate::error::Error {
    err!(Type, "{what} takes only contiguous datatypes (no gaps or padding); pack the data with MPI_Pack first")
}
