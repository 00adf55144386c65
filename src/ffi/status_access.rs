//! Writing and reading a status's fields for generalized requests and layered libraries: `MPI_Status_set_*` and `MPI_Status_get_*`.

use super::abi::{MPI_Count, MPI_Datatype, MPI_Status};
use super::boundary::out;
use super::handles;
use super::state::state;
use super::status;
use crate::error::{err, Result};
use std::ffi::c_int;

/// The caller's status, to be changed in place.
fn status_mut<'a>(s: *mut MPI_Status) -> Result<&'a mut MPI_Status> {
    if s.is_null() {
        return Err(err!(Arg, "the status argument is NULL (MPI_STATUS_IGNORE cannot be set)"));
    }
    // SAFETY: non-null, and points to the caller's MPI_Status (MPI's contract).
    Ok(unsafe { &mut *s })
}

fn status_ref<'a>(s: *const MPI_Status) -> Result<&'a MPI_Status> {
    if s.is_null() {
        return Err(err!(Arg, "the status argument is NULL (MPI_STATUS_IGNORE cannot be queried)"));
    }
    // SAFETY: non-null, and points to the caller's MPI_Status (MPI's contract).
    Ok(unsafe { &*s })
}

/// Makes `s` report `count` elements of `datatype` (as a byte count, which is what
/// `MPI_Get_count`/`MPI_Get_elements` read back).
fn set_elements(s: *mut MPI_Status, datatype: MPI_Datatype, count: MPI_Count) -> Result<()> {
    let t = handles::datatype(state()?, datatype)?;
    let bytes = t.bytes(count)?;
    status::set_bytes(status_mut(s)?, bytes as u64);
    Ok(())
}

ffi_fn! {
    fn MPI_Status_set_elements(status: *mut MPI_Status, datatype: MPI_Datatype, count: c_int) -> c_int {
        set_elements(status, datatype, count.into())
    }
}

ffi_fn! {
    fn MPI_Status_set_elements_x(status: *mut MPI_Status, datatype: MPI_Datatype, count: MPI_Count) -> c_int {
        set_elements(status, datatype, count)
    }
}

ffi_fn! {
    fn MPI_Status_set_elements_c(status: *mut MPI_Status, datatype: MPI_Datatype, count: MPI_Count) -> c_int {
        set_elements(status, datatype, count)
    }
}

ffi_fn! {
    fn MPI_Status_set_cancelled(status: *mut MPI_Status, flag: c_int) -> c_int {
        status::set_cancelled(status_mut(status)?, flag != 0);
        Ok(())
    }
}

ffi_fn! {
    fn MPI_Status_set_source(status: *mut MPI_Status, source: c_int) -> c_int {
        status_mut(status)?.MPI_SOURCE = source;
        Ok(())
    }
}

ffi_fn! {
    fn MPI_Status_set_tag(status: *mut MPI_Status, tag: c_int) -> c_int {
        status_mut(status)?.MPI_TAG = tag;
        Ok(())
    }
}

ffi_fn! {
    fn MPI_Status_set_error(status: *mut MPI_Status, error: c_int) -> c_int {
        status_mut(status)?.MPI_ERROR = error;
        Ok(())
    }
}

ffi_fn! {
    fn MPI_Status_get_source(status: *const MPI_Status, source: *mut c_int) -> c_int {
        out(source, status_ref(status)?.MPI_SOURCE, "source")
    }
}

ffi_fn! {
    fn MPI_Status_get_tag(status: *const MPI_Status, tag: *mut c_int) -> c_int {
        out(tag, status_ref(status)?.MPI_TAG, "tag")
    }
}

ffi_fn! {
    fn MPI_Status_get_error(status: *const MPI_Status, error: *mut c_int) -> c_int {
        out(error, status_ref(status)?.MPI_ERROR, "error")
    }
}
