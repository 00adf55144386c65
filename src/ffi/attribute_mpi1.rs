//! The MPI-1 attribute calls, deprecated since MPI-2 but still used: the communicator ones under their old names.

use super::abi::{self, MPI_Comm};
use super::attribute::{comm_delete_attr, comm_get_attr, comm_set_attr, copy_rule, create, free_keyval, Callbacks};
use crate::attribute::ObjectKind;
use std::ffi::{c_int, c_void};

ffi_fn! {
    fn MPI_Keyval_create(
        copy_fn: abi::MPI_Copy_function,
        delete_fn: abi::MPI_Delete_function,
        keyval: *mut c_int,
        extra_state: *mut c_void,
    ) -> c_int {
        let copy = copy_rule(copy_fn, copy_fn.map_or(0, |f| f as usize));
        create(ObjectKind::Comm, Callbacks::Comm(copy, delete_fn), extra_state, keyval)
    }
}

ffi_fn! {
    fn MPI_Keyval_free(keyval: *mut c_int) -> c_int {
        free_keyval(ObjectKind::Comm, keyval)
    }
}

ffi_fn! {
    fn MPI_Attr_put(comm: MPI_Comm, keyval: c_int, attribute_val: *mut c_void) -> c_int {
        comm_set_attr(comm, keyval, attribute_val)
    }
}

ffi_fn! {
    fn MPI_Attr_get(comm: MPI_Comm, keyval: c_int, attribute_val: *mut c_void, flag: *mut c_int) -> c_int {
        comm_get_attr(comm, keyval, attribute_val, flag)
    }
}

ffi_fn! {
    fn MPI_Attr_delete(comm: MPI_Comm, keyval: c_int) -> c_int {
        comm_delete_attr(comm, keyval)
    }
}
