//! MPI_*_toint / MPI_*_fromint: handles as Fortran integers (predefined handles are their own value).
//!
//! These return a value, not an error code: declared `-> std::ffi::c_int`, so `ffi_fn!` takes
//! them for value functions (its error-code form matches the plain `-> c_int` only).

use super::abi::*;
use crate::handle_int::HandleInts;
use crate::sync::lock;
use std::sync::{LazyLock, Mutex};

static INTS: LazyLock<Mutex<HandleInts>> = LazyLock::new(Mutex::default);

/// The int of a handle; a handle past the 2^31 ints gets -1, which converts back to the null handle.
fn to_int(handle: usize) -> std::ffi::c_int {
    lock(&INTS).to_int(handle).unwrap_or(-1)
}

/// The handle of an int, or `null` for an int no handle was converted to.
fn from_int(i: std::ffi::c_int, null: usize) -> usize {
    lock(&INTS).from_int(i).unwrap_or(null)
}

ffi_fn! {
    fn MPI_Comm_toint(comm: MPI_Comm) -> std::ffi::c_int {
        to_int(comm as usize)
    }
}

ffi_fn! {
    fn MPI_Comm_fromint(comm: std::ffi::c_int) -> MPI_Comm {
        from_int(comm, MPI_COMM_NULL as usize) as MPI_Comm
    }
}

ffi_fn! {
    fn MPI_Errhandler_toint(errhandler: MPI_Errhandler) -> std::ffi::c_int {
        to_int(errhandler as usize)
    }
}

ffi_fn! {
    fn MPI_Errhandler_fromint(errhandler: std::ffi::c_int) -> MPI_Errhandler {
        from_int(errhandler, MPI_ERRHANDLER_NULL as usize) as MPI_Errhandler
    }
}

ffi_fn! {
    fn MPI_File_toint(file: MPI_File) -> std::ffi::c_int {
        to_int(file as usize)
    }
}

ffi_fn! {
    fn MPI_File_fromint(file: std::ffi::c_int) -> MPI_File {
        from_int(file, MPI_FILE_NULL as usize) as MPI_File
    }
}

ffi_fn! {
    fn MPI_Group_toint(group: MPI_Group) -> std::ffi::c_int {
        to_int(group as usize)
    }
}

ffi_fn! {
    fn MPI_Group_fromint(group: std::ffi::c_int) -> MPI_Group {
        from_int(group, MPI_GROUP_NULL as usize) as MPI_Group
    }
}

ffi_fn! {
    fn MPI_Info_toint(info: MPI_Info) -> std::ffi::c_int {
        to_int(info as usize)
    }
}

ffi_fn! {
    fn MPI_Info_fromint(info: std::ffi::c_int) -> MPI_Info {
        from_int(info, MPI_INFO_NULL as usize) as MPI_Info
    }
}

ffi_fn! {
    fn MPI_Message_toint(message: MPI_Message) -> std::ffi::c_int {
        to_int(message as usize)
    }
}

ffi_fn! {
    fn MPI_Message_fromint(message: std::ffi::c_int) -> MPI_Message {
        from_int(message, MPI_MESSAGE_NULL as usize) as MPI_Message
    }
}

ffi_fn! {
    fn MPI_Op_toint(op: MPI_Op) -> std::ffi::c_int {
        to_int(op as usize)
    }
}

ffi_fn! {
    fn MPI_Op_fromint(op: std::ffi::c_int) -> MPI_Op {
        from_int(op, MPI_OP_NULL as usize) as MPI_Op
    }
}

ffi_fn! {
    fn MPI_Request_toint(request: MPI_Request) -> std::ffi::c_int {
        to_int(request as usize)
    }
}

ffi_fn! {
    fn MPI_Request_fromint(request: std::ffi::c_int) -> MPI_Request {
        from_int(request, MPI_REQUEST_NULL as usize) as MPI_Request
    }
}

ffi_fn! {
    fn MPI_Session_toint(session: MPI_Session) -> std::ffi::c_int {
        to_int(session as usize)
    }
}

ffi_fn! {
    fn MPI_Session_fromint(session: std::ffi::c_int) -> MPI_Session {
        from_int(session, MPI_SESSION_NULL as usize) as MPI_Session
    }
}

ffi_fn! {
    fn MPI_Type_toint(datatype: MPI_Datatype) -> std::ffi::c_int {
        to_int(datatype as usize)
    }
}

ffi_fn! {
    fn MPI_Type_fromint(datatype: std::ffi::c_int) -> MPI_Datatype {
        from_int(datatype, MPI_DATATYPE_NULL as usize) as MPI_Datatype
    }
}

ffi_fn! {
    fn MPI_Win_toint(win: MPI_Win) -> std::ffi::c_int {
        to_int(win as usize)
    }
}

ffi_fn! {
    fn MPI_Win_fromint(win: std::ffi::c_int) -> MPI_Win {
        from_int(win, MPI_WIN_NULL as usize) as MPI_Win
    }
}
