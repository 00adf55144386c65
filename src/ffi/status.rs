//! Filling `MPI_Status` from a completed operation, and reading counts back out of it.

use super::abi::{self, MPI_Datatype, MPI_Status};
use super::boundary::out;
use super::handles;
use super::state::state;
use crate::comm::Comm;
use crate::request::{Outcome, PROC_NULL};
use std::ffi::c_int;

/// Status slots used by partyline in `MPI_internal`: the byte count (low, high) and cancelled.
const COUNT_LO: usize = 0;
const COUNT_HI: usize = 1;
const CANCELLED: usize = 2;

/// MPI's empty status, for null and inactive requests.
pub fn empty() -> MPI_Status {
    MPI_Status {
        MPI_SOURCE: abi::MPI_ANY_SOURCE,
        MPI_TAG: abi::MPI_ANY_TAG,
        MPI_ERROR: abi::MPI_SUCCESS,
        MPI_internal: [0; 5],
    }
}

/// The status of an operation with MPI_PROC_NULL.
pub fn proc_null() -> MPI_Status {
    MPI_Status { MPI_SOURCE: abi::MPI_PROC_NULL, ..empty() }
}

/// The status of `outcome`, with the source as a rank of `comm`.
pub fn of(outcome: &Outcome, comm: &Comm) -> MPI_Status {
    let source = match outcome.source {
        PROC_NULL => abi::MPI_PROC_NULL,
        w => comm.peer_rank_of_world(w as usize).map_or(abi::MPI_ANY_SOURCE, |r| r as c_int),
    };
    let mut s = empty();
    s.MPI_SOURCE = source;
    s.MPI_TAG = outcome.tag;
    s.MPI_ERROR = outcome.error.as_ref().map_or(abi::MPI_SUCCESS, |e| e.class.code());
    s.MPI_internal[COUNT_LO] = outcome.count as u32 as c_int;
    s.MPI_internal[COUNT_HI] = (outcome.count >> 32) as u32 as c_int;
    s.MPI_internal[CANCELLED] = outcome.cancelled as c_int;
    s
}

/// Writes a status unless the caller passed MPI_STATUS_IGNORE.
pub fn write(ptr: *mut MPI_Status, s: MPI_Status) {
    if !ptr.is_null() {
        // SAFETY: non-null statuses point to a writable MPI_Status (MPI's contract).
        unsafe { ptr.write(s) };
    }
}

/// Sets the byte count a status reports (`MPI_Status_set_elements`).
pub fn set_bytes(s: &mut MPI_Status, n: u64) {
    s.MPI_internal[COUNT_LO] = n as u32 as c_int;
    s.MPI_internal[COUNT_HI] = (n >> 32) as u32 as c_int;
}

/// Sets whether a status reports a cancelled operation (`MPI_Status_set_cancelled`).
pub fn set_cancelled(s: &mut MPI_Status, cancelled: bool) {
    s.MPI_internal[CANCELLED] = cancelled as c_int;
}

fn bytes(s: &MPI_Status) -> u64 {
    (s.MPI_internal[COUNT_LO] as u32 as u64) | ((s.MPI_internal[COUNT_HI] as u32 as u64) << 32)
}

/// Reads a caller's status argument.
fn read(status: *const MPI_Status) -> crate::error::Result<MPI_Status> {
    if status.is_null() {
        return Err(crate::error::err!(Arg, "the status argument is NULL (MPI_STATUS_IGNORE cannot be queried)"));
    }
    // SAFETY: non-null, points to a status filled by an earlier call (MPI's contract).
    Ok(unsafe { status.read() })
}

/// The byte count a caller's status records.
pub fn received_bytes(status: *const MPI_Status) -> crate::error::Result<u64> {
    Ok(bytes(&read(status)?))
}

fn clamp(n: Option<u64>) -> c_int {
    n.and_then(|n| c_int::try_from(n).ok()).unwrap_or(abi::MPI_UNDEFINED)
}

ffi_fn! {
    fn MPI_Get_count(status: *const MPI_Status, datatype: MPI_Datatype, count: *mut c_int) -> c_int {
        let t = handles::datatype(state()?, datatype)?;
        let n = clamp(t.count_of(bytes(&read(status)?)));
        out(count, n, "count")
    }
}

ffi_fn! {
    fn MPI_Get_elements(status: *const MPI_Status, datatype: MPI_Datatype, count: *mut c_int) -> c_int {
        let t = handles::datatype(state()?, datatype)?;
        let n = clamp(t.elements_of(bytes(&read(status)?)));
        out(count, n, "count")
    }
}

ffi_fn! {
    fn MPI_Test_cancelled(status: *const MPI_Status, flag: *mut c_int) -> c_int {
        let cancelled = read(status)?.MPI_internal[CANCELLED];
        out(flag, (cancelled != 0) as c_int, "flag")
    }
}
