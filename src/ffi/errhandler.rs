//! User error handlers and user error classes/codes in C: MPI_Comm_create_errhandler, MPI_Comm_call_errhandler, MPI_Add_error_*.
//!
//! The predefined handlers (fatal, abort, return) and setting/getting a communicator's handler
//! live in env.rs and boundary.rs; this file adds handlers made from a program's function,
//! kept in a table with generation-counted handles, and the codes a program defines itself.

use super::abi::{self, MPI_Comm, MPI_Errhandler};
use super::boundary::{self, blame, out};
use super::state::{decode, encode, state, Kind};
use crate::error::{err, Error, ErrorClass, Result};
use crate::error_registry::ErrorRegistry;
use crate::handle_table::HandleTable;
use crate::sync::lock;
use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{LazyLock, Mutex};

type CommHandlerFn = unsafe extern "C" fn(*mut MPI_Comm, *mut c_int, ...);

struct UserHandler {
    func: CommHandlerFn,
    /// Handles the program holds (from create and get_errhandler); at 0, further frees are
    /// refused. The entry itself stays, since communicators may still use the handler.
    user_refs: u32,
}

static HANDLERS: LazyLock<Mutex<HandleTable<UserHandler>>> = LazyLock::new(Mutex::default);
static CODES: Mutex<ErrorRegistry> = Mutex::new(ErrorRegistry::new(abi::MPI_ERR_LASTCODE));
/// MPI_LASTUSEDCODE's value; the attribute hands out a pointer to it.
static LAST_USED_CODE: AtomicI32 = AtomicI32::new(abi::MPI_ERR_LASTCODE);

thread_local! {
    /// Codes outside `ErrorClass` (from user callbacks), by the message of the error carrying them.
    static CALLBACK_CODES: RefCell<Vec<(String, c_int)>> = const { RefCell::new(Vec::new()) };
}

/// The error for a callback that returned `code`: the operation fails with exactly that code.
pub fn callback_failed(code: c_int, message: &str) -> Error {
    if let Some(class) = ErrorClass::from_code(code) {
        return Error::new(class, message);
    }
    CALLBACK_CODES.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|(m, _)| m != message);
        // Normally taken at once by code_of; an error swallowed on the way must not pile up.
        if c.len() >= 16 {
            c.remove(0);
        }
        c.push((message.to_string(), code));
    });
    Error::new(ErrorClass::Other, message)
}

/// The code a failing call returns for `e` (for boundary.rs): its class, or a callback's own code.
pub fn code_of(e: &Error) -> c_int {
    let own = CALLBACK_CODES.with(|c| {
        let mut c = c.borrow_mut();
        let at = c.iter().position(|(m, _)| *m == e.message)?;
        Some(c.remove(at).1)
    });
    own.unwrap_or(e.class.code())
}

/// Pointer for the MPI_LASTUSEDCODE attribute.
pub fn last_used_code() -> *const c_int {
    LAST_USED_CODE.as_ptr()
}

/// The class of a user-defined error code, if it is one.
pub fn user_class(code: c_int) -> Option<c_int> {
    lock(&CODES).class_of(code)
}

/// The text of a user-defined error code: its string, or "" when none was set (as MPI_Add_error_string specifies).
pub fn user_string(code: c_int) -> Option<String> {
    let codes = lock(&CODES);
    codes.class_of(code)?;
    Some(codes.string(code).map(str::to_string).unwrap_or_default())
}

/// A user handler's function, if `handler` is the live handle of one.
fn user_function(handler: usize) -> Option<CommHandlerFn> {
    let h = decode(Kind::Errhandler, handler)?;
    lock(&HANDLERS).get(h).map(|u| u.func)
}

/// True if `handler` is a user handler the program still holds (for MPI_Comm_set_errhandler).
pub fn is_user(handler: usize) -> bool {
    decode(Kind::Errhandler, handler).is_some_and(|h| lock(&HANDLERS).get(h).is_some_and(|u| u.user_refs > 0))
}

/// Counts one more handle held by the program (MPI_Comm_get_errhandler returns a new reference).
pub fn referenced(handler: usize) {
    if let Some(h) = decode(Kind::Errhandler, handler) {
        if let Some(u) = lock(&HANDLERS).get_mut(h) {
            u.user_refs += 1;
        }
    }
}

/// `MPI_Errhandler_free` of a user handler: `Ok(false)` if `handler` is not one.
pub fn release(handler: usize) -> Result<bool> {
    let Some(h) = decode(Kind::Errhandler, handler) else { return Ok(false) };
    let mut table = lock(&HANDLERS);
    let u = table.get_mut(h).ok_or_else(|| err!(Arg, "error handler {handler:#x} is not a live handle"))?;
    if u.user_refs == 0 {
        return Err(err!(Arg, "error handler {handler:#x} was already freed"));
    }
    u.user_refs -= 1;
    Ok(true)
}

/// Calls the user handler `handler` for `code` raised on `comm`; false if it is not a user handler.
pub fn call_user(handler: usize, comm: usize, code: c_int) -> bool {
    let Some(f) = user_function(handler) else { return false };
    let (mut comm, mut code) = (comm as MPI_Comm, code);
    // SAFETY: the program gave `f` as an MPI_Comm_errhandler_function; MPI passes pointers to
    // the communicator and the code, both live locals.
    unsafe { f(&mut comm, &mut code) };
    true
}

/// Registers a user handler made by `call` (MPI_Comm/Session_create_errhandler) and writes its handle.
fn create_user(func: Option<CommHandlerFn>, errhandler: *mut MPI_Errhandler, call: &str) -> Result<()> {
    let func = func.ok_or_else(|| err!(Arg, "{call}: the handler function is NULL"))?;
    if errhandler.is_null() {
        return Err(err!(Arg, "{call}: the errhandler output argument is NULL"));
    }
    let h = lock(&HANDLERS).insert(UserHandler { func, user_refs: 1 });
    out(errhandler, encode(Kind::Errhandler, h)? as MPI_Errhandler, "error handler")
}

ffi_fn! {
    fn MPI_Comm_create_errhandler(
        comm_errhandler_fn: abi::MPI_Comm_errhandler_function,
        errhandler: *mut MPI_Errhandler,
    ) -> c_int {
        create_user(comm_errhandler_fn, errhandler, "MPI_Comm_create_errhandler")
    }
}

ffi_fn! {
    fn MPI_Comm_call_errhandler(comm: MPI_Comm, errorcode: c_int) -> c_int {
        blame(comm as usize);
        super::handles::comm(state()?, comm)?;
        let message = format!("MPI_Comm_call_errhandler raised error code {errorcode}");
        // Whatever the handler does with the code, the call itself succeeded if it returns.
        boundary::raise("MPI_Comm_call_errhandler", comm as usize, errorcode, &message);
        Ok(())
    }
}

/// Windows and files are out of partyline's scope, so are handlers for them.
fn unsupported(what: &str) -> Error {
    err!(Unsupported, "{what} are not supported by partyline (no windows or files); use communicator error handlers")
}

ffi_fn! {
    fn MPI_Win_create_errhandler(win_errhandler_fn: abi::MPI_Win_errhandler_function, errhandler: *mut MPI_Errhandler) -> c_int {
        let _ = (win_errhandler_fn, errhandler);
        Err(unsupported("MPI_Win_create_errhandler: window error handlers"))
    }
}

ffi_fn! {
    fn MPI_File_create_errhandler(file_errhandler_fn: abi::MPI_File_errhandler_function, errhandler: *mut MPI_Errhandler) -> c_int {
        let _ = (file_errhandler_fn, errhandler);
        Err(unsupported("MPI_File_create_errhandler: file error handlers"))
    }
}

ffi_fn! {
    fn MPI_Session_create_errhandler(
        session_errhandler_fn: abi::MPI_Session_errhandler_function,
        errhandler: *mut MPI_Errhandler,
    ) -> c_int {
        // SAFETY: both function types take a pointer to a handle, a pointer to an int and C
        // varargs, and every handle is pointer-sized in the standard ABI: calling it through
        // `call_user` passes the session's handle value unchanged.
        let func = unsafe { std::mem::transmute::<abi::MPI_Session_errhandler_function, Option<CommHandlerFn>>(session_errhandler_fn) };
        create_user(func, errhandler, "MPI_Session_create_errhandler")
    }
}

/// Keeps MPI_LASTUSEDCODE current after a class or code was added.
fn publish_last_used(codes: &ErrorRegistry) {
    LAST_USED_CODE.store(codes.last_used(), Ordering::SeqCst);
}

ffi_fn! {
    fn MPI_Add_error_class(errorclass: *mut c_int) -> c_int {
        if errorclass.is_null() {
            return Err(err!(Arg, "MPI_Add_error_class: the errorclass output argument is NULL"));
        }
        let mut codes = lock(&CODES);
        let class = codes.add_class()?;
        publish_last_used(&codes);
        out(errorclass, class, "error class")
    }
}

ffi_fn! {
    fn MPI_Add_error_code(errorclass: c_int, errorcode: *mut c_int) -> c_int {
        if errorcode.is_null() {
            return Err(err!(Arg, "MPI_Add_error_code: the errorcode output argument is NULL"));
        }
        let predefined = (1..=abi::MPI_ERR_ABI).contains(&errorclass);
        let mut codes = lock(&CODES);
        let code = codes.add_code(errorclass, predefined)?;
        publish_last_used(&codes);
        out(errorcode, code, "error code")
    }
}

ffi_fn! {
    fn MPI_Add_error_string(errorcode: c_int, string: *const c_char) -> c_int {
        if string.is_null() {
            return Err(err!(Arg, "MPI_Add_error_string: the string is NULL"));
        }
        // SAFETY: non-null, and MPI's contract makes it a NUL-terminated string.
        let text = unsafe { CStr::from_ptr(string) }.to_string_lossy();
        lock(&CODES).add_string(errorcode, &text, abi::MPI_MAX_ERROR_STRING as usize)
    }
}

ffi_fn! {
    fn MPI_Remove_error_class(errorclass: c_int) -> c_int {
        lock(&CODES).remove_class(errorclass)
    }
}

ffi_fn! {
    fn MPI_Remove_error_code(errorcode: c_int) -> c_int {
        lock(&CODES).remove_code(errorcode)
    }
}

ffi_fn! {
    fn MPI_Remove_error_string(errorcode: c_int) -> c_int {
        lock(&CODES).remove_string(errorcode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callback_code_survives_to_the_return_value() {
        let e = callback_failed(20000, "callback said no");
        assert_eq!(code_of(&e), 20000);
        assert_eq!(code_of(&e), ErrorClass::Other.code(), "taken once");
        let e = callback_failed(abi::MPI_ERR_ARG, "standard class");
        assert_eq!((e.class, code_of(&e)), (ErrorClass::Arg, abi::MPI_ERR_ARG));
    }
}
