//! The one panic boundary every exported function goes through, and the one conversion from
//! core errors to MPI error codes, including the communicator's error handler.

use super::abi;
use super::state::{self};
use crate::error::{err, Error};
use crate::sync::lock;
use std::cell::{Cell, RefCell};
use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    /// The communicator whose error handler applies to the current call.
    static ERROR_COMM: Cell<usize> = const { Cell::new(0) };
    /// An object outside the communicator table (a session) and its handler, when the current
    /// call's errors go there instead.
    static ERROR_OBJECT: Cell<Option<(usize, usize)>> = const { Cell::new(None) };
    /// The latest error of each class seen by this thread (returned, or in a status), so that
    /// `MPI_Error_string` on a code gives its full message.
    static LAST_ERRORS: RefCell<Vec<Error>> = const { RefCell::new(Vec::new()) };
}

/// MPI_COMM_WORLD's handle value: the error handler for calls not tied to a communicator.
pub fn world() -> usize {
    abi::MPI_COMM_WORLD as usize
}

/// Says which communicator's error handler applies if the current call fails.
pub fn blame(comm: usize) {
    ERROR_COMM.with(|c| c.set(comm));
    ERROR_OBJECT.with(|o| o.set(None));
}

/// Says that `handler` applies if the current call fails, called with `object` (a session's
/// handle), rather than a communicator's handler.
pub fn blame_handler(object: usize, handler: usize) {
    ERROR_OBJECT.with(|o| o.set(Some((object, handler))));
}

/// The detailed message of this thread's last error of class `code`, if there was one.
pub fn last_message(code: c_int) -> Option<String> {
    LAST_ERRORS.with(|l| {
        l.borrow().iter().find(|e| e.class.code() == code).map(|e| format!("{}: {}", e.class.describe(), e.message))
    })
}

/// Keeps `e` as this thread's latest error of its class (also for errors only in a status).
pub fn remember(e: &Error) {
    LAST_ERRORS.with(|l| {
        let mut l = l.borrow_mut();
        l.retain(|old| old.class != e.class);
        l.push(e.clone());
    });
}

/// Runs an MPI function body (for `ffi_fn!`): catches panics, converts errors to codes, and
/// applies the error handler of the communicator the body names with `blame`, or else of
/// MPI_COMM_WORLD.
pub fn call(name: &str, body: impl FnOnce() -> Result<(), Error>) -> c_int {
    blame(world());
    let result = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let what = crate::sync::panic_message(&*panic);
        Err(err!(Intern, "internal error in {name}: {what}; please report this bug"))
    });
    match result {
        Ok(()) => abi::MPI_SUCCESS,
        Err(e) => fail(name, e),
    }
}

/// Runs the body of an MPI function that returns a value, not an error code (for `ffi_fn!`).
/// It has no way to report a failure, so a panic (already printed by the panic hook) ends the
/// process rather than unwinding into C.
pub fn call_value<T>(name: &str, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        crate::log::error(&format!("internal error in {name}; aborting (please report this bug)"));
        std::process::abort()
    })
}

fn fail(name: &str, e: Error) -> c_int {
    let code = super::errhandler::code_of(&e);
    remember(&e);
    match ERROR_OBJECT.with(Cell::get) {
        Some((object, handler)) => raise_with(name, object, handler, code, &e.message),
        None => raise(name, ERROR_COMM.with(Cell::get), code, &e.message),
    }
}

/// Applies `comm`'s error handler to error `code`: returns the code under MPI_ERRORS_RETURN or
/// after a user handler returns; ends the job under MPI_ERRORS_ARE_FATAL / MPI_ERRORS_ABORT.
pub fn raise(name: &str, comm: usize, code: c_int, message: &str) -> c_int {
    let (comm, handler) = error_handler(comm);
    raise_with(name, comm, handler, code, message)
}

/// Applies `handler` to error `code` raised on `object` (a communicator or a session).
pub fn raise_with(name: &str, object: usize, handler: usize, code: c_int, message: &str) -> c_int {
    if handler == abi::MPI_ERRORS_RETURN as usize || super::errhandler::call_user(handler, object, code) {
        return code;
    }
    let class =
        crate::error::ErrorClass::from_code(code).map_or_else(|| format!("error code {code}"), |c| c.describe().into());
    crate::log::error(&format!("{name}: {message} ({class})"));
    crate::log::error("aborting the job (the communicator's or session's error handler is MPI_ERRORS_ARE_FATAL; set MPI_ERRORS_RETURN to handle errors yourself)");
    if code == crate::error::ErrorClass::ProcAborted.code() {
        // Another rank failed first: say so, so that the launcher blames that one, not us.
        crate::exit_report::collateral(None, message);
    }
    match state::initialized() {
        Some(s) => s.rt.abort(code),
        None => std::process::exit(code),
    }
}

/// The communicator whose error handler applies, and that handler: `comm`'s, or the world's
/// if `comm` is invalid or null.
fn error_handler(comm: usize) -> (usize, usize) {
    let world = abi::MPI_COMM_WORLD as usize;
    let Some(st) = state::initialized() else {
        return (world, abi::MPI_ERRORS_ARE_FATAL as usize);
    };
    let comms = lock(&st.comms);
    let entry = super::handles::comm_slot(comm).and_then(|h| comms.get(h)).map(|e| (comm, e.errhandler));
    let world_entry = super::handles::comm_slot(world).and_then(|h| comms.get(h)).map(|e| (world, e.errhandler));
    entry.or(world_entry).unwrap_or((world, abi::MPI_ERRORS_ARE_FATAL as usize))
}

/// Writes an output parameter, refusing a null pointer with a clear error.
pub fn out<T>(ptr: *mut T, value: T, what: &str) -> Result<(), Error> {
    if ptr.is_null() {
        return Err(err!(Arg, "the {what} output argument is NULL"));
    }
    // SAFETY: non-null, and MPI's contract is that output arguments point to writable
    // objects of their type; we write only after the operation succeeded.
    unsafe { ptr.write(value) };
    Ok(())
}
