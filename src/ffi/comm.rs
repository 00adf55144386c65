//! Communicators: rank and size, dup/split/free/compare, attributes, and the barrier.

use super::abi::{self, MPI_Comm};
use super::boundary::{blame, out};
use super::handles::{self, comm_slot, TAG_UB};
use super::state::{decode, encode, state, CommEntry, Kind, State};
use crate::collective;
use crate::comm::Comm;
use crate::error::{err, Result};
use crate::sync::lock;
use std::ffi::{c_int, c_void};
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
fn register(st: &State, parent: MPI_Comm, comm: Comm) -> Result<MPI_Comm> {
    let mut comms = lock(&st.comms);
    let errhandler = comm_slot(parent as usize)
        .and_then(|h| comms.get(h))
        .map_or(abi::MPI_ERRORS_ARE_FATAL as usize, |e| e.errhandler);
    let h = comms.insert(CommEntry { comm: Arc::new(comm), errhandler });
    Ok(encode(Kind::Comm, h)? as MPI_Comm)
}

ffi_fn! {
    fn MPI_Comm_dup(comm: MPI_Comm, newcomm: *mut MPI_Comm) -> c_int {
        blame(comm as usize);
        let st = state()?;
        let c = handles::comm(st, comm)?;
        crate::collective::executor::EXECUTOR.settle(&st.rt, c.coll_context())?;
        let dup = collective::dup(&st.rt, &c)?;
        out(newcomm, register(st, comm, dup)?, "new communicator")
    }
}

ffi_fn! {
    fn MPI_Comm_split(comm: MPI_Comm, color: c_int, key: c_int, newcomm: *mut MPI_Comm) -> c_int {
        blame(comm as usize);
        let st = state()?;
        let c = handles::comm(st, comm)?;
        crate::collective::executor::EXECUTOR.settle(&st.rt, c.coll_context())?;
        let made = match collective::split(&st.rt, &c, color, key, abi::MPI_UNDEFINED)? {
            Some(sub) => register(st, comm, sub)?,
            None => abi::MPI_COMM_NULL,
        };
        out(newcomm, made, "new communicator")
    }
}

ffi_fn! {
    fn MPI_Comm_free(comm: *mut MPI_Comm) -> c_int {
        let st = state()?;
        if comm.is_null() {
            return Err(err!(Arg, "MPI_Comm_free: the communicator argument is NULL"));
        }
        // SAFETY: non-null, points to a communicator handle (MPI's contract).
        let value = unsafe { comm.read() } as usize;
        if value == super::boundary::world() || value == abi::MPI_COMM_SELF as usize {
            return Err(err!(Comm, "MPI_Comm_free: MPI_COMM_WORLD and MPI_COMM_SELF cannot be freed"));
        }
        let h = decode(Kind::Comm, value)
            .ok_or_else(|| err!(Comm, "MPI_Comm_free: invalid communicator handle {value:#x}"))?;
        lock(&st.comms)
            .remove(h)
            .ok_or_else(|| err!(Comm, "MPI_Comm_free: communicator {value:#x} was already freed"))?;
        out(comm, abi::MPI_COMM_NULL, "communicator")
    }
}

ffi_fn! {
    fn MPI_Comm_compare(comm1: MPI_Comm, comm2: MPI_Comm, result: *mut c_int) -> c_int {
        blame(comm1 as usize);
        let st = state()?;
        let (a, b) = (handles::comm(st, comm1)?, handles::comm(st, comm2)?);
        let verdict = if comm1 == comm2 {
            abi::MPI_IDENT
        } else if a.group == b.group {
            abi::MPI_CONGRUENT
        } else {
            let (mut x, mut y) = (a.group.to_vec(), b.group.to_vec());
            x.sort_unstable();
            y.sort_unstable();
            if x == y {
                abi::MPI_SIMILAR
            } else {
                abi::MPI_UNEQUAL
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

/// Values behind the predefined attributes; MPI hands out pointers to them.
static TAG_UB_VALUE: c_int = TAG_UB;
static HOST_VALUE: c_int = abi::MPI_PROC_NULL;
static IO_VALUE: c_int = abi::MPI_ANY_SOURCE;
static WTIME_IS_GLOBAL_VALUE: c_int = 0;
static LASTUSEDCODE_VALUE: c_int = abi::MPI_ERR_LASTCODE;
static UNIVERSE_SIZE_VALUE: std::sync::OnceLock<c_int> = std::sync::OnceLock::new();

ffi_fn! {
    fn MPI_Comm_get_attr(comm: MPI_Comm, comm_keyval: c_int, attribute_val: *mut c_void, flag: *mut c_int) -> c_int {
        blame(comm as usize);
        let st = state()?;
        handles::comm(st, comm)?;
        let value: Option<&'static c_int> = match comm_keyval {
            abi::MPI_TAG_UB => Some(&TAG_UB_VALUE),
            abi::MPI_HOST => Some(&HOST_VALUE),
            abi::MPI_IO => Some(&IO_VALUE),
            abi::MPI_WTIME_IS_GLOBAL => Some(&WTIME_IS_GLOBAL_VALUE),
            abi::MPI_LASTUSEDCODE => Some(&LASTUSEDCODE_VALUE),
            abi::MPI_UNIVERSE_SIZE => Some(UNIVERSE_SIZE_VALUE.get_or_init(|| st.rt.size() as c_int)),
            abi::MPI_APPNUM => None,
            k if k == abi::MPI_KEYVAL_INVALID || k < 0 => {
                return Err(err!(Keyval, "MPI_Comm_get_attr: invalid attribute key {k}"))
            }
            _ => None,
        };
        match value {
            Some(v) => {
                out(attribute_val as *mut *const c_int, v as *const c_int, "attribute value")?;
                out(flag, 1, "flag")
            }
            None => out(flag, 0, "flag"),
        }
    }
}
