//! The MPI 5.0 standard ABI as Rust items: types, handles and pointer constants that cbindgen turns into include/mpi.h.
//!
//! Every value is fixed by the standard ABI (MPI 5.0, chapter 20), so a program compiled against
//! any standard-ABI mpi.h runs on partyline unchanged. The integer constants live in `abi_consts`
//! and the datatype size/name table in `datatype_table`; both are re-exported here, so
//! `use crate::ffi::abi::*` brings in the whole ABI.

// The C names are the point: they must match the standard header exactly.
#![allow(non_camel_case_types, non_upper_case_globals, non_snake_case)]
// cbindgen understands `0 as *mut T` but not `ptr::null_mut()`, so null constants are written that way.
#![allow(clippy::zero_ptr)]
// The header needs every item; the Rust side uses only some of them.
#![allow(dead_code)]

use core::ffi::{c_char, c_int, c_void};

pub use super::abi_consts::*;
// Unused until the core looks datatypes up; allowed so a private `mod abi` builds warning-free.
#[allow(unused_imports)]
pub use super::datatype_table::{predefined_datatype_handles, predefined_datatype_name, predefined_datatype_size};

/// `intptr_t`: addresses and displacements.
pub type MPI_Aint = isize;
/// `int64_t`: file offsets.
pub type MPI_Offset = i64;
/// `int64_t`: large counts.
pub type MPI_Count = i64;
/// Fortran `INTEGER`.
pub type MPI_Fint = c_int;

// One incomplete struct per handle kind. They are deliberately not repr(C): cbindgen then emits
// an incomplete `struct MPI_ABI_<Kind>`, and each handle type points to it, as the standard says.

/// Pointee of `MPI_Comm`; never dereferenced.
pub struct MPI_ABI_Comm {
    _private: [u8; 0],
}
/// Pointee of `MPI_Datatype`; never dereferenced.
pub struct MPI_ABI_Datatype {
    _private: [u8; 0],
}
/// Pointee of `MPI_Op`; never dereferenced.
pub struct MPI_ABI_Op {
    _private: [u8; 0],
}
/// Pointee of `MPI_Request`; never dereferenced.
pub struct MPI_ABI_Request {
    _private: [u8; 0],
}
/// Pointee of `MPI_Group`; never dereferenced.
pub struct MPI_ABI_Group {
    _private: [u8; 0],
}
/// Pointee of `MPI_Errhandler`; never dereferenced.
pub struct MPI_ABI_Errhandler {
    _private: [u8; 0],
}
/// Pointee of `MPI_Info`; never dereferenced.
pub struct MPI_ABI_Info {
    _private: [u8; 0],
}
/// Pointee of `MPI_Message`; never dereferenced.
pub struct MPI_ABI_Message {
    _private: [u8; 0],
}
/// Pointee of `MPI_Win`; never dereferenced.
pub struct MPI_ABI_Win {
    _private: [u8; 0],
}
/// Pointee of `MPI_File`; never dereferenced.
pub struct MPI_ABI_File {
    _private: [u8; 0],
}
/// Pointee of `MPI_Session`; never dereferenced.
pub struct MPI_ABI_Session {
    _private: [u8; 0],
}

/// Pointee of `MPI_T_enum` (tool interface enumerations); never dereferenced.
pub struct MPI_T_enum_t {
    _private: [u8; 0],
}

pub type MPI_Comm = *mut MPI_ABI_Comm;
pub type MPI_Datatype = *mut MPI_ABI_Datatype;
pub type MPI_Op = *mut MPI_ABI_Op;
pub type MPI_Request = *mut MPI_ABI_Request;
pub type MPI_Group = *mut MPI_ABI_Group;
pub type MPI_Errhandler = *mut MPI_ABI_Errhandler;
pub type MPI_Info = *mut MPI_ABI_Info;
pub type MPI_Message = *mut MPI_ABI_Message;
pub type MPI_Win = *mut MPI_ABI_Win;
pub type MPI_File = *mut MPI_ABI_File;
pub type MPI_Session = *mut MPI_ABI_Session;
pub type MPI_T_enum = *mut MPI_T_enum_t;

/// Status of a completed receive: three public fields, then five ints the implementation may use.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MPI_Status {
    pub MPI_SOURCE: c_int,
    pub MPI_TAG: c_int,
    pub MPI_ERROR: c_int,
    pub MPI_internal: [c_int; 5],
}

const _: () = assert!(core::mem::size_of::<MPI_Status>() == 32);

// Callbacks a user passes in. The header turns these pointer typedefs into the standard's
// function typedefs (tests/header.rs), so `MPI_User_function *` in C code keeps working.

/// `MPI_Op_create` reduction function.
pub type MPI_User_function = Option<unsafe extern "C" fn(*mut c_void, *mut c_void, *mut c_int, *mut MPI_Datatype)>;
/// `MPI_Op_create_c` reduction function (large count).
pub type MPI_User_function_c =
    Option<unsafe extern "C" fn(*mut c_void, *mut c_void, *mut MPI_Count, *mut MPI_Datatype)>;
/// Error handler for communicators; variadic in the standard, so it is here too.
pub type MPI_Comm_errhandler_function = Option<unsafe extern "C" fn(*mut MPI_Comm, *mut c_int, ...)>;
/// Error handler for windows.
pub type MPI_Win_errhandler_function = Option<unsafe extern "C" fn(*mut MPI_Win, *mut c_int, ...)>;
/// Error handler for files.
pub type MPI_File_errhandler_function = Option<unsafe extern "C" fn(*mut MPI_File, *mut c_int, ...)>;
/// Error handler for sessions.
pub type MPI_Session_errhandler_function = Option<unsafe extern "C" fn(*mut MPI_Session, *mut c_int, ...)>;

/// Attribute copy callback for communicators (`MPI_Comm_create_keyval`).
pub type MPI_Comm_copy_attr_function =
    Option<unsafe extern "C" fn(MPI_Comm, c_int, *mut c_void, *mut c_void, *mut c_void, *mut c_int) -> c_int>;
/// Attribute delete callback for communicators.
pub type MPI_Comm_delete_attr_function =
    Option<unsafe extern "C" fn(MPI_Comm, c_int, *mut c_void, *mut c_void) -> c_int>;
/// Attribute copy callback for datatypes (`MPI_Type_create_keyval`).
pub type MPI_Type_copy_attr_function =
    Option<unsafe extern "C" fn(MPI_Datatype, c_int, *mut c_void, *mut c_void, *mut c_void, *mut c_int) -> c_int>;
/// Attribute delete callback for datatypes.
pub type MPI_Type_delete_attr_function =
    Option<unsafe extern "C" fn(MPI_Datatype, c_int, *mut c_void, *mut c_void) -> c_int>;
/// Attribute copy callback for windows (`MPI_Win_create_keyval`).
pub type MPI_Win_copy_attr_function =
    Option<unsafe extern "C" fn(MPI_Win, c_int, *mut c_void, *mut c_void, *mut c_void, *mut c_int) -> c_int>;
/// Attribute delete callback for windows.
pub type MPI_Win_delete_attr_function = Option<unsafe extern "C" fn(MPI_Win, c_int, *mut c_void, *mut c_void) -> c_int>;
/// Attribute copy callback of the deprecated `MPI_Keyval_create`.
pub type MPI_Copy_function =
    Option<unsafe extern "C" fn(MPI_Comm, c_int, *mut c_void, *mut c_void, *mut c_void, *mut c_int) -> c_int>;
/// Attribute delete callback of the deprecated `MPI_Keyval_create`.
pub type MPI_Delete_function = Option<unsafe extern "C" fn(MPI_Comm, c_int, *mut c_void, *mut c_void) -> c_int>;

/// Predefined attribute callbacks: 0 (do nothing) and 1 (copy the value) cast to the callback's
/// pointer type, as the standard ABI fixes; partyline recognises the values, never calls them.
pub const MPI_NULL_COPY_FN: *mut MPI_Copy_function = 0x0 as *mut MPI_Copy_function;
#[allow(clippy::manual_dangling_ptr)] // the standard fixes the value 1
pub const MPI_DUP_FN: *mut MPI_Copy_function = 0x1 as *mut MPI_Copy_function;
pub const MPI_NULL_DELETE_FN: *mut MPI_Delete_function = 0x0 as *mut MPI_Delete_function;
pub const MPI_COMM_NULL_COPY_FN: *mut MPI_Comm_copy_attr_function = 0x0 as *mut MPI_Comm_copy_attr_function;
#[allow(clippy::manual_dangling_ptr)] // the standard fixes the value 1
pub const MPI_COMM_DUP_FN: *mut MPI_Comm_copy_attr_function = 0x1 as *mut MPI_Comm_copy_attr_function;
pub const MPI_COMM_NULL_DELETE_FN: *mut MPI_Comm_delete_attr_function = 0x0 as *mut MPI_Comm_delete_attr_function;
pub const MPI_TYPE_NULL_COPY_FN: *mut MPI_Type_copy_attr_function = 0x0 as *mut MPI_Type_copy_attr_function;
#[allow(clippy::manual_dangling_ptr)] // the standard fixes the value 1
pub const MPI_TYPE_DUP_FN: *mut MPI_Type_copy_attr_function = 0x1 as *mut MPI_Type_copy_attr_function;
pub const MPI_TYPE_NULL_DELETE_FN: *mut MPI_Type_delete_attr_function = 0x0 as *mut MPI_Type_delete_attr_function;
pub const MPI_WIN_NULL_COPY_FN: *mut MPI_Win_copy_attr_function = 0x0 as *mut MPI_Win_copy_attr_function;
#[allow(clippy::manual_dangling_ptr)] // the standard fixes the value 1
pub const MPI_WIN_DUP_FN: *mut MPI_Win_copy_attr_function = 0x1 as *mut MPI_Win_copy_attr_function;
pub const MPI_WIN_NULL_DELETE_FN: *mut MPI_Win_delete_attr_function = 0x0 as *mut MPI_Win_delete_attr_function;
/// Alternative names the standard keeps for the error handler function types.
pub type MPI_Comm_errhandler_fn = MPI_Comm_errhandler_function;
pub type MPI_File_errhandler_fn = MPI_File_errhandler_function;
pub type MPI_Win_errhandler_fn = MPI_Win_errhandler_function;
pub type MPI_Session_errhandler_fn = MPI_Session_errhandler_function;

/// Generalized request callbacks (`MPI_Grequest_start`).
pub type MPI_Grequest_query_function = Option<unsafe extern "C" fn(*mut c_void, *mut MPI_Status) -> c_int>;
pub type MPI_Grequest_free_function = Option<unsafe extern "C" fn(*mut c_void) -> c_int>;
pub type MPI_Grequest_cancel_function = Option<unsafe extern "C" fn(*mut c_void, c_int) -> c_int>;

/// User data representation callbacks (`MPI_Register_datarep`).
pub type MPI_Datarep_extent_function = Option<unsafe extern "C" fn(MPI_Datatype, *mut MPI_Aint, *mut c_void) -> c_int>;
pub type MPI_Datarep_conversion_function =
    Option<unsafe extern "C" fn(*mut c_void, MPI_Datatype, c_int, *mut c_void, MPI_Offset, *mut c_void) -> c_int>;
pub type MPI_Datarep_conversion_function_c =
    Option<unsafe extern "C" fn(*mut c_void, MPI_Datatype, MPI_Count, *mut c_void, MPI_Offset, *mut c_void) -> c_int>;

/// "No conversion" for `MPI_Register_datarep`; a null function pointer (the header's `X *` is the C pointer to it).
pub const MPI_CONVERSION_FN_NULL: *mut MPI_Datarep_conversion_function = 0 as *mut MPI_Datarep_conversion_function;
pub const MPI_CONVERSION_FN_NULL_C: *mut MPI_Datarep_conversion_function_c =
    0 as *mut MPI_Datarep_conversion_function_c;

// The tool information interface (MPI_T): its handles point to incomplete structs, as the standard says.

/// Pointee of `MPI_T_cvar_handle`; never dereferenced.
pub struct MPI_T_cvar_handle_t {
    _private: [u8; 0],
}
/// Pointee of `MPI_T_pvar_handle`; never dereferenced.
pub struct MPI_T_pvar_handle_t {
    _private: [u8; 0],
}
/// Pointee of `MPI_T_pvar_session`; never dereferenced.
pub struct MPI_T_pvar_session_t {
    _private: [u8; 0],
}
/// Pointee of `MPI_T_event_registration`; never dereferenced.
pub struct MPI_T_event_registration_t {
    _private: [u8; 0],
}
/// Pointee of `MPI_T_event_instance`; never dereferenced.
pub struct MPI_T_event_instance_t {
    _private: [u8; 0],
}

pub type MPI_T_cvar_handle = *mut MPI_T_cvar_handle_t;
pub type MPI_T_pvar_handle = *mut MPI_T_pvar_handle_t;
pub type MPI_T_pvar_session = *mut MPI_T_pvar_session_t;
pub type MPI_T_event_registration = *mut MPI_T_event_registration_t;
pub type MPI_T_event_instance = *mut MPI_T_event_instance_t;

/// C enums in the standard header; an enum is an `int` in the C ABI, so the typedef is to int.
pub type MPI_T_cb_safety = c_int;
pub type MPI_T_source_order = c_int;

/// MPI_T event callbacks.
pub type MPI_T_event_cb_function =
    Option<unsafe extern "C" fn(MPI_T_event_instance, MPI_T_event_registration, MPI_T_cb_safety, *mut c_void)>;
pub type MPI_T_event_free_cb_function =
    Option<unsafe extern "C" fn(MPI_T_event_registration, MPI_T_cb_safety, *mut c_void)>;
pub type MPI_T_event_dropped_cb_function =
    Option<unsafe extern "C" fn(MPI_Count, MPI_T_event_registration, c_int, MPI_T_cb_safety, *mut c_void)>;

/// Null MPI_T handles.
pub const MPI_T_ENUM_NULL: MPI_T_enum = 0 as MPI_T_enum;
pub const MPI_T_CVAR_HANDLE_NULL: MPI_T_cvar_handle = 0 as MPI_T_cvar_handle;
pub const MPI_T_PVAR_SESSION_NULL: MPI_T_pvar_session = 0 as MPI_T_pvar_session;
pub const MPI_T_PVAR_HANDLE_NULL: MPI_T_pvar_handle = 0 as MPI_T_pvar_handle;
/// The standard fixes the value 1.
#[allow(clippy::manual_dangling_ptr)]
pub const MPI_T_PVAR_ALL_HANDLES: MPI_T_pvar_handle = 1 as MPI_T_pvar_handle;

/// Predefined handles: small integers cast to the handle type, all below 0x400.
pub const MPI_OP_NULL: MPI_Op = 0x00000020 as MPI_Op;
pub const MPI_SUM: MPI_Op = 0x00000021 as MPI_Op;
pub const MPI_MIN: MPI_Op = 0x00000022 as MPI_Op;
pub const MPI_MAX: MPI_Op = 0x00000023 as MPI_Op;
pub const MPI_PROD: MPI_Op = 0x00000024 as MPI_Op;
pub const MPI_BAND: MPI_Op = 0x00000028 as MPI_Op;
pub const MPI_BOR: MPI_Op = 0x00000029 as MPI_Op;
pub const MPI_BXOR: MPI_Op = 0x0000002a as MPI_Op;
pub const MPI_LAND: MPI_Op = 0x00000030 as MPI_Op;
pub const MPI_LOR: MPI_Op = 0x00000031 as MPI_Op;
pub const MPI_LXOR: MPI_Op = 0x00000032 as MPI_Op;
pub const MPI_MINLOC: MPI_Op = 0x00000038 as MPI_Op;
pub const MPI_MAXLOC: MPI_Op = 0x00000039 as MPI_Op;
pub const MPI_REPLACE: MPI_Op = 0x0000003c as MPI_Op;
pub const MPI_NO_OP: MPI_Op = 0x0000003d as MPI_Op;

pub const MPI_COMM_NULL: MPI_Comm = 0x00000100 as MPI_Comm;
pub const MPI_COMM_WORLD: MPI_Comm = 0x00000101 as MPI_Comm;
pub const MPI_COMM_SELF: MPI_Comm = 0x00000102 as MPI_Comm;

pub const MPI_GROUP_NULL: MPI_Group = 0x00000108 as MPI_Group;
pub const MPI_GROUP_EMPTY: MPI_Group = 0x00000109 as MPI_Group;

pub const MPI_WIN_NULL: MPI_Win = 0x00000110 as MPI_Win;

pub const MPI_FILE_NULL: MPI_File = 0x00000118 as MPI_File;

pub const MPI_SESSION_NULL: MPI_Session = 0x00000120 as MPI_Session;

pub const MPI_MESSAGE_NULL: MPI_Message = 0x00000128 as MPI_Message;
pub const MPI_MESSAGE_NO_PROC: MPI_Message = 0x00000129 as MPI_Message;

pub const MPI_INFO_NULL: MPI_Info = 0x00000130 as MPI_Info;
pub const MPI_INFO_ENV: MPI_Info = 0x00000131 as MPI_Info;

pub const MPI_ERRHANDLER_NULL: MPI_Errhandler = 0x00000140 as MPI_Errhandler;
pub const MPI_ERRORS_ARE_FATAL: MPI_Errhandler = 0x00000141 as MPI_Errhandler;
pub const MPI_ERRORS_ABORT: MPI_Errhandler = 0x00000142 as MPI_Errhandler;
pub const MPI_ERRORS_RETURN: MPI_Errhandler = 0x00000143 as MPI_Errhandler;

pub const MPI_REQUEST_NULL: MPI_Request = 0x00000180 as MPI_Request;

pub const MPI_DATATYPE_NULL: MPI_Datatype = 0x00000200 as MPI_Datatype;
pub const MPI_AINT: MPI_Datatype = 0x00000201 as MPI_Datatype;
pub const MPI_COUNT: MPI_Datatype = 0x00000202 as MPI_Datatype;
pub const MPI_OFFSET: MPI_Datatype = 0x00000203 as MPI_Datatype;
pub const MPI_PACKED: MPI_Datatype = 0x00000207 as MPI_Datatype;
pub const MPI_SHORT: MPI_Datatype = 0x00000208 as MPI_Datatype;
pub const MPI_INT: MPI_Datatype = 0x00000209 as MPI_Datatype;
pub const MPI_LONG: MPI_Datatype = 0x0000020a as MPI_Datatype;
pub const MPI_LONG_LONG: MPI_Datatype = 0x0000020b as MPI_Datatype;
pub const MPI_LONG_LONG_INT: MPI_Datatype = MPI_LONG_LONG;
pub const MPI_UNSIGNED_SHORT: MPI_Datatype = 0x0000020c as MPI_Datatype;
pub const MPI_UNSIGNED: MPI_Datatype = 0x0000020d as MPI_Datatype;
pub const MPI_UNSIGNED_LONG: MPI_Datatype = 0x0000020e as MPI_Datatype;
pub const MPI_UNSIGNED_LONG_LONG: MPI_Datatype = 0x0000020f as MPI_Datatype;
pub const MPI_FLOAT: MPI_Datatype = 0x00000210 as MPI_Datatype;
pub const MPI_C_FLOAT_COMPLEX: MPI_Datatype = 0x00000212 as MPI_Datatype;
pub const MPI_C_COMPLEX: MPI_Datatype = MPI_C_FLOAT_COMPLEX;
pub const MPI_CXX_FLOAT_COMPLEX: MPI_Datatype = 0x00000213 as MPI_Datatype;
pub const MPI_DOUBLE: MPI_Datatype = 0x00000214 as MPI_Datatype;
pub const MPI_C_DOUBLE_COMPLEX: MPI_Datatype = 0x00000216 as MPI_Datatype;
pub const MPI_CXX_DOUBLE_COMPLEX: MPI_Datatype = 0x00000217 as MPI_Datatype;
pub const MPI_LOGICAL: MPI_Datatype = 0x00000218 as MPI_Datatype;
pub const MPI_INTEGER: MPI_Datatype = 0x00000219 as MPI_Datatype;
pub const MPI_REAL: MPI_Datatype = 0x0000021a as MPI_Datatype;
pub const MPI_COMPLEX: MPI_Datatype = 0x0000021b as MPI_Datatype;
pub const MPI_DOUBLE_PRECISION: MPI_Datatype = 0x0000021c as MPI_Datatype;
pub const MPI_DOUBLE_COMPLEX: MPI_Datatype = 0x0000021d as MPI_Datatype;
pub const MPI_CHARACTER: MPI_Datatype = 0x0000021e as MPI_Datatype;
pub const MPI_LONG_DOUBLE: MPI_Datatype = 0x00000220 as MPI_Datatype;
pub const MPI_C_LONG_DOUBLE_COMPLEX: MPI_Datatype = 0x00000224 as MPI_Datatype;
pub const MPI_CXX_LONG_DOUBLE_COMPLEX: MPI_Datatype = 0x00000225 as MPI_Datatype;
pub const MPI_FLOAT_INT: MPI_Datatype = 0x00000228 as MPI_Datatype;
pub const MPI_DOUBLE_INT: MPI_Datatype = 0x00000229 as MPI_Datatype;
pub const MPI_LONG_INT: MPI_Datatype = 0x0000022a as MPI_Datatype;
pub const MPI_2INT: MPI_Datatype = 0x0000022b as MPI_Datatype;
pub const MPI_SHORT_INT: MPI_Datatype = 0x0000022c as MPI_Datatype;
pub const MPI_LONG_DOUBLE_INT: MPI_Datatype = 0x0000022d as MPI_Datatype;
pub const MPI_2REAL: MPI_Datatype = 0x00000230 as MPI_Datatype;
pub const MPI_2DOUBLE_PRECISION: MPI_Datatype = 0x00000231 as MPI_Datatype;
pub const MPI_2INTEGER: MPI_Datatype = 0x00000232 as MPI_Datatype;
pub const MPI_C_BOOL: MPI_Datatype = 0x00000238 as MPI_Datatype;
pub const MPI_CXX_BOOL: MPI_Datatype = 0x00000239 as MPI_Datatype;
pub const MPI_WCHAR: MPI_Datatype = 0x0000023c as MPI_Datatype;
pub const MPI_INT8_T: MPI_Datatype = 0x00000240 as MPI_Datatype;
pub const MPI_UINT8_T: MPI_Datatype = 0x00000241 as MPI_Datatype;
pub const MPI_CHAR: MPI_Datatype = 0x00000243 as MPI_Datatype;
pub const MPI_SIGNED_CHAR: MPI_Datatype = 0x00000244 as MPI_Datatype;
pub const MPI_UNSIGNED_CHAR: MPI_Datatype = 0x00000245 as MPI_Datatype;
pub const MPI_BYTE: MPI_Datatype = 0x00000247 as MPI_Datatype;
pub const MPI_INT16_T: MPI_Datatype = 0x00000248 as MPI_Datatype;
pub const MPI_UINT16_T: MPI_Datatype = 0x00000249 as MPI_Datatype;
pub const MPI_INT32_T: MPI_Datatype = 0x00000250 as MPI_Datatype;
pub const MPI_UINT32_T: MPI_Datatype = 0x00000251 as MPI_Datatype;
pub const MPI_INT64_T: MPI_Datatype = 0x00000258 as MPI_Datatype;
pub const MPI_UINT64_T: MPI_Datatype = 0x00000259 as MPI_Datatype;
pub const MPI_LOGICAL1: MPI_Datatype = 0x000002c0 as MPI_Datatype;
pub const MPI_INTEGER1: MPI_Datatype = 0x000002c1 as MPI_Datatype;
pub const MPI_LOGICAL2: MPI_Datatype = 0x000002c8 as MPI_Datatype;
pub const MPI_INTEGER2: MPI_Datatype = 0x000002c9 as MPI_Datatype;
pub const MPI_REAL2: MPI_Datatype = 0x000002ca as MPI_Datatype;
pub const MPI_LOGICAL4: MPI_Datatype = 0x000002d0 as MPI_Datatype;
pub const MPI_INTEGER4: MPI_Datatype = 0x000002d1 as MPI_Datatype;
pub const MPI_REAL4: MPI_Datatype = 0x000002d2 as MPI_Datatype;
pub const MPI_COMPLEX4: MPI_Datatype = 0x000002d3 as MPI_Datatype;
pub const MPI_LOGICAL8: MPI_Datatype = 0x000002d8 as MPI_Datatype;
pub const MPI_INTEGER8: MPI_Datatype = 0x000002d9 as MPI_Datatype;
pub const MPI_REAL8: MPI_Datatype = 0x000002da as MPI_Datatype;
pub const MPI_COMPLEX8: MPI_Datatype = 0x000002db as MPI_Datatype;
pub const MPI_LOGICAL16: MPI_Datatype = 0x000002e0 as MPI_Datatype;
pub const MPI_INTEGER16: MPI_Datatype = 0x000002e1 as MPI_Datatype;
pub const MPI_REAL16: MPI_Datatype = 0x000002e2 as MPI_Datatype;
pub const MPI_COMPLEX16: MPI_Datatype = 0x000002e3 as MPI_Datatype;
pub const MPI_COMPLEX32: MPI_Datatype = 0x000002eb as MPI_Datatype;

/// Special buffer and array arguments.
pub const MPI_BOTTOM: *mut c_void = 0 as *mut c_void;
/// The standard fixes the value 1; cbindgen needs the cast to emit it.
#[allow(clippy::manual_dangling_ptr)]
pub const MPI_IN_PLACE: *mut c_void = 1 as *mut c_void;
pub const MPI_BUFFER_AUTOMATIC: *mut c_void = 2 as *mut c_void;
pub const MPI_ARGV_NULL: *mut *mut c_char = 0 as *mut *mut c_char;
pub const MPI_ARGVS_NULL: *mut *mut *mut c_char = 0 as *mut *mut *mut c_char;
pub const MPI_ERRCODES_IGNORE: *mut c_int = 0 as *mut c_int;
pub const MPI_STATUS_IGNORE: *mut MPI_Status = 0 as *mut MPI_Status;
pub const MPI_STATUSES_IGNORE: *mut MPI_Status = 0 as *mut MPI_Status;
pub const MPI_UNWEIGHTED: *mut c_int = 10 as *mut c_int;
pub const MPI_WEIGHTS_EMPTY: *mut c_int = 11 as *mut c_int;

/// MPI_File_set_view displacement meaning "the current position".
pub const MPI_DISPLACEMENT_CURRENT: MPI_Offset = -1;

/// Every predefined handle value is below this; run-time handles must start at or above it.
pub const PREDEFINED_HANDLE_LIMIT: usize = 0x400;

/// The integer value of a handle, for comparing with predefined values and table lookups.
#[inline]
pub fn handle_value<T>(h: *mut T) -> usize {
    h as usize
}

#[cfg(test)]
mod tests;
