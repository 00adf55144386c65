//! Turning C handles and buffer arguments into core objects, with the checks MPI asks for.

use super::abi;
use super::region::Region;
use super::state::{decode, Kind, State};
use crate::comm::Comm;
use crate::datatype::Datatype;
use crate::error::{err, Result};
use crate::handle_table::Handle;
use crate::sync::lock;
use std::ffi::c_void;
use std::sync::Arc;

/// MPI_TAG_UB: tags travel as non-negative 32-bit integers.
pub const TAG_UB: i32 = i32::MAX;

/// The table slot of a communicator handle (the predefined ones live in slots 0 and 1).
pub fn comm_slot(value: usize) -> Option<Handle> {
    match value {
        v if v == abi::MPI_COMM_WORLD as usize => Some(Handle { index: 0, generation: 1 }),
        v if v == abi::MPI_COMM_SELF as usize => Some(Handle { index: 1, generation: 1 }),
        v => decode(Kind::Comm, v),
    }
}

pub fn comm(st: &State, value: abi::MPI_Comm) -> Result<Arc<Comm>> {
    let v = value as usize;
    if v == abi::MPI_COMM_NULL as usize {
        return Err(err!(Comm, "MPI_COMM_NULL is not a usable communicator"));
    }
    comm_slot(v)
        .and_then(|h| lock(&st.comms).get(h).map(|e| e.comm.clone()))
        .ok_or_else(|| err!(Comm, "invalid communicator handle {v:#x} (freed, or not a communicator)"))
}

pub fn datatype(st: &State, value: abi::MPI_Datatype) -> Result<Datatype> {
    let v = value as usize;
    if let Some(map) = super::datatype_maps::predefined_map(v) {
        return Ok(Datatype::new(map, true));
    }
    decode(Kind::Datatype, v)
        .and_then(|h| lock(&st.types).get(h).cloned())
        .ok_or_else(|| err!(Type, "invalid datatype handle {v:#x} (MPI_DATATYPE_NULL, freed, or not a datatype)"))
}

/// `bytes` of `t`'s items from `buf` (at its lower bound), for a type whose items tile memory.
pub fn region_of(t: &Datatype, buf: *const c_void, bytes: usize) -> Result<Region> {
    if bytes > 0 && buf.is_null() {
        return Err(err!(Buffer, "the buffer is NULL but the message has {bytes} bytes"));
    }
    // MPI's contract: `buf` holds the items and stays untouched by the caller until the
    // operation completes; a contiguous type's data starts at its lower bound.
    Ok(Region::new(buf.cast::<u8>().cast_mut().wrapping_offset(t.lb() as isize), bytes))
}

/// The caller's buffer of `count` items of `dtype`, whole extents, for calls that take types
/// whose items tile memory: predefined ones (pair types with their padding) and contiguous ones.
pub fn buffer(st: &State, buf: *const c_void, count: impl Into<i64>, dtype: abi::MPI_Datatype) -> Result<Region> {
    let t = datatype(st, dtype)?;
    if !tiles(dtype, &t) {
        return Err(super::layout::contiguous_only("this call"));
    }
    region_of(&t, buf, t.bytes(count.into())?)
}

/// Whether items of `t` lie back to back in memory from `buf` itself, data or padding, with
/// nothing between (collectives then cut the buffer at multiples of the extent).
pub fn tiles(dtype: abi::MPI_Datatype, t: &Datatype) -> bool {
    (t.dense && t.lb() == 0) || super::datatype_maps::predefined_map(dtype as usize).is_some()
}

/// A destination rank in `comm` (of its remote group, for an intercommunicator): its world
/// rank, or `None` for MPI_PROC_NULL.
pub fn dest(comm: &Comm, rank: i32) -> Result<Option<usize>> {
    if rank == abi::MPI_PROC_NULL {
        return Ok(None);
    }
    let n = comm.peers().len();
    let which = if comm.is_inter() { "the intercommunicator's remote group" } else { "the communicator" };
    usize::try_from(rank)
        .ok()
        .and_then(|r| comm.peer_world_rank(r))
        .map(Some)
        .ok_or_else(|| err!(Rank, "rank {rank} is out of range: {which} has {n} ranks (0 to {})", n as i64 - 1))
}

/// A source rank: `Ok(None)` for MPI_PROC_NULL, `Some(None)` for MPI_ANY_SOURCE.
pub fn source(comm: &Comm, rank: i32) -> Result<Option<Option<usize>>> {
    if rank == abi::MPI_ANY_SOURCE {
        return Ok(Some(None));
    }
    Ok(dest(comm, rank)?.map(Some))
}

pub fn send_tag(tag: i32) -> Result<i32> {
    if tag < 0 {
        return Err(err!(Tag, "tag {tag} is invalid for a send: tags run from 0 to MPI_TAG_UB ({TAG_UB})"));
    }
    Ok(tag)
}

/// A receive tag: `None` for MPI_ANY_TAG.
pub fn recv_tag(tag: i32) -> Result<Option<i32>> {
    match tag {
        t if t == abi::MPI_ANY_TAG => Ok(None),
        t if t >= 0 => Ok(Some(t)),
        t => Err(err!(Tag, "tag {t} is invalid for a receive: use 0 to MPI_TAG_UB or MPI_ANY_TAG")),
    }
}

pub fn count(count: i32) -> Result<i32> {
    if count < 0 {
        return Err(err!(Count, "count {count} is negative"));
    }
    Ok(count)
}
