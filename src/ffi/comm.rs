//! Communicators: rank and size, dup/split/free/compare, attributes, and the barrier.

use super::abi::{self, MPI_Comm};
use super::boundary::{blame, out};
use super::handles::{self, comm_slot};
use super::state::{decode, encode, state, CommEntry, Kind, State};
use crate::collective;
use crate::comm::Comm;
use crate::error::{err, Result};
use crate::group::{Group, Likeness};
use crate::sync::lock;
use std::ffi::c_int;
use std::sync::Arc;

ffi_fn! {
    fn MPI_Comm_rank(comm: MPI_Comm, rank: *mut c_int) -> c_int {
        blame(comm as usize);
        out(rank, handles::comm(state()?, comm)?.rank as c_int, "rank")
    }
}

ffi_fn! {
    fn MPI_Comm_size(comm: MPI_Comm, size: *mut c_int) -> c_int {
        blame(comm as usize);
        out(size, handles::comm(state()?, comm)?.size() as c_int, "size")
    }
}

/// Registers a new communicator, inheriting the parent's error handler as MPI says.
pub(super) fn register(st: &State, parent: MPI_Comm, comm: Comm) -> Result<MPI_Comm> {
    let context = comm.context;
    let mut comms = lock(&st.comms);
    let parent_entry = comm_slot(parent as usize).and_then(|h| comms.get(h));
    let parent_context = parent_entry.map(|e| e.comm.context);
    let errhandler = parent_entry.map_or(abi::MPI_ERRORS_ARE_FATAL as usize, |e| e.errhandler);
    let h = comms.insert(CommEntry { comm: Arc::new(comm), errhandler, topology: None, name: None });
    drop(comms);
    let made = encode(Kind::Comm, h)? as MPI_Comm;
    // A communicator made from one derived from a session is derived from that session too.
    if let Some(p) = parent_context {
        super::session::derived(p, made as usize, context);
    }
    Ok(made)
}

/// Registers `dup` as a duplicate of `parent` (MPI_Comm_dup, _dup_with_info, _idup): its
/// topology comes along, and its attributes through their copy callbacks.
pub(super) fn register_duplicate(st: &State, parent: MPI_Comm, dup: Comm) -> Result<MPI_Comm> {
    let made = register(st, parent, dup)?;
    super::topology::inherit(st, parent, made);
    if let Err(e) = super::attribute::comm_duplicated(parent, made) {
        lock(&st.comms).remove(decode(Kind::Comm, made as usize).expect("just registered"));
        return Err(e);
    }
    Ok(made)
}

ffi_fn! {
    fn MPI_Comm_dup(comm: MPI_Comm, newcomm: *mut MPI_Comm) -> c_int {
        blame(comm as usize);
        let st = state()?;
        let c = super::collective::settled(st, comm)?;
        let dup = collective::dup(&st.rt, &c)?;
        out(newcomm, register_duplicate(st, comm, dup)?, "new communicator")
    }
}

ffi_fn! {
    fn MPI_Comm_split(comm: MPI_Comm, color: c_int, key: c_int, newcomm: *mut MPI_Comm) -> c_int {
        blame(comm as usize);
        let st = state()?;
        let c = super::collective::settled(st, comm)?;
        let split = if c.is_inter() { super::intercomm::split } else { collective::split };
        let made = match split(&st.rt, &c, color, key, abi::MPI_UNDEFINED)? {
            Some(sub) => register(st, comm, sub)?,
            None => abi::MPI_COMM_NULL,
        };
        out(newcomm, made, "new communicator")
    }
}

ffi_fn! {
    fn MPI_Comm_free(comm: *mut MPI_Comm) -> c_int {
        free(comm, "MPI_Comm_free", false)
    }
}

ffi_fn! {
    fn MPI_Comm_disconnect(comm: *mut MPI_Comm) -> c_int {
        free(comm, "MPI_Comm_disconnect", true)
    }
}

/// Frees `*comm` and sets it to MPI_COMM_NULL. `MPI_Comm_disconnect` (`settle`) first waits,
/// collectively, for its collectives and for every member to reach the call; its pending
/// point-to-point traffic must already be complete (as for any matched program).
fn free(comm: *mut MPI_Comm, call: &str, settle: bool) -> Result<()> {
    let st = state()?;
    if comm.is_null() {
        return Err(err!(Arg, "{call}: the communicator argument is NULL"));
    }
    // SAFETY: non-null, points to a communicator handle (MPI's contract).
    let value = unsafe { comm.read() } as usize;
    blame(value);
    if value == super::boundary::world() || value == abi::MPI_COMM_SELF as usize {
        return Err(err!(Comm, "{call}: MPI_COMM_WORLD and MPI_COMM_SELF cannot be freed"));
    }
    let h = decode(Kind::Comm, value).ok_or_else(|| err!(Comm, "{call}: invalid communicator handle {value:#x}"))?;
    if settle {
        let handle = value as MPI_Comm;
        super::collective::blocking(handle, |st| barrier(st, handle))?;
    }
    super::attribute::comm_freeing(value as MPI_Comm)?;
    lock(&st.comms).remove(h).ok_or_else(|| err!(Comm, "{call}: communicator {value:#x} was already freed"))?;
    out(comm, abi::MPI_COMM_NULL, "communicator")
}

ffi_fn! {
    fn MPI_Comm_compare(comm1: MPI_Comm, comm2: MPI_Comm, result: *mut c_int) -> c_int {
        blame(comm1 as usize);
        let st = state()?;
        let (a, b) = (handles::comm(st, comm1)?, handles::comm(st, comm2)?);
        // An intercommunicator's two groups are compared alike, and the weaker verdict holds.
        let likeness = |x: &[usize], y: &[usize]| Group::new(x.to_vec()).compare(&Group::new(y.to_vec()));
        let verdict = if comm1 == comm2 {
            abi::MPI_IDENT
        } else if a.is_inter() != b.is_inter() {
            abi::MPI_UNEQUAL
        } else {
            let remote = if a.is_inter() { likeness(a.peers(), b.peers()) } else { Likeness::Ident };
            match (likeness(&a.group, &b.group), remote) {
                (Likeness::Unequal, _) | (_, Likeness::Unequal) => abi::MPI_UNEQUAL,
                (Likeness::Ident, Likeness::Ident) => abi::MPI_CONGRUENT,
                _ => abi::MPI_SIMILAR,
            }
        };
        out(result, verdict, "result")
    }
}

ffi_fn! {
    fn MPI_Barrier(comm: MPI_Comm) -> c_int {
        super::collective::blocking(comm, |st| barrier(st, comm))
    }
}

/// `MPI_Barrier`'s work, for it and `MPI_Ibarrier`.
pub fn barrier(st: &State, comm: MPI_Comm) -> Result<crate::collective::executor::Job> {
    Ok(super::collective::job(&handles::comm(st, comm)?, collective::barrier))
}
