//! The MPI tool interface (MPI_T) with no variables: tools that probe it find none and carry on.
//!
//! MPI_T calls return MPI_T_ERR_* codes and never invoke an error handler, so they are declared
//! `-> std::ffi::c_int`, which `ffi_fn!` takes as a value function (see export.rs).

use super::abi::{self, MPI_Aint, MPI_Datatype, MPI_Info, MPI_T_enum};
use std::ffi::{c_char, c_int};
use std::sync::atomic::{AtomicU32, Ordering};

/// Initialisations not yet matched by MPI_T_finalize (MPI_T may be initialised repeatedly).
static OPEN: AtomicU32 = AtomicU32::new(0);

fn initialized() -> bool {
    OPEN.load(Ordering::SeqCst) > 0
}

/// Writes `value` to a count output; the code to return.
pub(super) fn count(ptr: *mut c_int, value: c_int) -> c_int {
    if !initialized() {
        return abi::MPI_T_ERR_NOT_INITIALIZED;
    }
    if ptr.is_null() {
        return abi::MPI_T_ERR_INVALID;
    }
    // SAFETY: non-null, and MPI's contract makes it point to a writable int.
    unsafe { ptr.write(value) };
    abi::MPI_SUCCESS
}

/// `code`, once MPI_T is initialised (before, every call is MPI_T_ERR_NOT_INITIALIZED).
fn unless_uninitialized(code: c_int) -> c_int {
    if initialized() {
        code
    } else {
        abi::MPI_T_ERR_NOT_INITIALIZED
    }
}

/// Every index is invalid, as there are no variables, categories, events or sources.
pub(super) fn no_such_index() -> c_int {
    unless_uninitialized(abi::MPI_T_ERR_INVALID_INDEX)
}

/// Every name is unknown, for the same reason.
pub(super) fn no_such_name() -> c_int {
    unless_uninitialized(abi::MPI_T_ERR_INVALID_NAME)
}

/// Every handle is invalid: none can be made.
pub(super) fn no_such_handle() -> c_int {
    unless_uninitialized(abi::MPI_T_ERR_INVALID_HANDLE)
}

/// Performance-variable sessions are not provided (there are no variables to read in one).
pub(super) fn not_supported() -> c_int {
    unless_uninitialized(abi::MPI_T_ERR_NOT_SUPPORTED)
}

ffi_fn! {
    fn MPI_T_init_thread(required: c_int, provided: *mut c_int) -> std::ffi::c_int {
        let level = match required {
            abi::MPI_THREAD_SINGLE | abi::MPI_THREAD_FUNNELED | abi::MPI_THREAD_SERIALIZED | abi::MPI_THREAD_MULTIPLE => required,
            _ => return abi::MPI_T_ERR_INVALID,
        };
        if provided.is_null() {
            return abi::MPI_T_ERR_INVALID;
        }
        OPEN.fetch_add(1, Ordering::SeqCst);
        // SAFETY: non-null, and MPI's contract makes it point to a writable int.
        unsafe { provided.write(level) };
        abi::MPI_SUCCESS
    }
}

ffi_fn! {
    fn MPI_T_finalize() -> std::ffi::c_int {
        match OPEN.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)) {
            Ok(_) => abi::MPI_SUCCESS,
            Err(_) => abi::MPI_T_ERR_NOT_INITIALIZED,
        }
    }
}

ffi_fn! {
    fn MPI_T_cvar_get_num(num_cvar: *mut c_int) -> std::ffi::c_int {
        count(num_cvar, 0)
    }
}

ffi_fn! {
    fn MPI_T_pvar_get_num(num_pvar: *mut c_int) -> std::ffi::c_int {
        count(num_pvar, 0)
    }
}

ffi_fn! {
    fn MPI_T_category_get_num(num_cat: *mut c_int) -> std::ffi::c_int {
        count(num_cat, 0)
    }
}

ffi_fn! {
    fn MPI_T_source_get_num(num_sources: *mut c_int) -> std::ffi::c_int {
        count(num_sources, 0)
    }
}

ffi_fn! {
    fn MPI_T_event_get_num(num_events: *mut c_int) -> std::ffi::c_int {
        count(num_events, 0)
    }
}

ffi_fn! {
    fn MPI_T_cvar_get_info(
        cvar_index: c_int,
        name: *mut c_char,
        name_len: *mut c_int,
        verbosity: *mut c_int,
        datatype: *mut MPI_Datatype,
        enumtype: *mut MPI_T_enum,
        desc: *mut c_char,
        desc_len: *mut c_int,
        bind: *mut c_int,
        scope: *mut c_int,
    ) -> std::ffi::c_int {
        let _ = (cvar_index, name, name_len, verbosity, datatype, enumtype, desc, desc_len, bind, scope);
        no_such_index()
    }
}

ffi_fn! {
    fn MPI_T_pvar_get_info(
        pvar_index: c_int,
        name: *mut c_char,
        name_len: *mut c_int,
        verbosity: *mut c_int,
        var_class: *mut c_int,
        datatype: *mut MPI_Datatype,
        enumtype: *mut MPI_T_enum,
        desc: *mut c_char,
        desc_len: *mut c_int,
        bind: *mut c_int,
        readonly: *mut c_int,
        continuous: *mut c_int,
        atomic: *mut c_int,
    ) -> std::ffi::c_int {
        let _ = (pvar_index, name, name_len, verbosity, var_class, datatype, enumtype, desc, desc_len, bind);
        let _ = (readonly, continuous, atomic);
        no_such_index()
    }
}

ffi_fn! {
    fn MPI_T_category_get_info(
        cat_index: c_int,
        name: *mut c_char,
        name_len: *mut c_int,
        desc: *mut c_char,
        desc_len: *mut c_int,
        num_cvars: *mut c_int,
        num_pvars: *mut c_int,
        num_categories: *mut c_int,
    ) -> std::ffi::c_int {
        let _ = (cat_index, name, name_len, desc, desc_len, num_cvars, num_pvars, num_categories);
        no_such_index()
    }
}

ffi_fn! {
    fn MPI_T_event_get_info(
        event_index: c_int,
        name: *mut c_char,
        name_len: *mut c_int,
        verbosity: *mut c_int,
        array_of_datatypes: *mut MPI_Datatype,
        array_of_displacements: *mut MPI_Aint,
        num_elements: *mut c_int,
        enumtype: *mut MPI_T_enum,
        info: *mut MPI_Info,
        desc: *mut c_char,
        desc_len: *mut c_int,
        bind: *mut c_int,
    ) -> std::ffi::c_int {
        let _ = (event_index, name, name_len, verbosity, array_of_datatypes, array_of_displacements, num_elements);
        let _ = (enumtype, info, desc, desc_len, bind);
        no_such_index()
    }
}
