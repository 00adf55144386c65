//! Generalized requests (`MPI_Grequest_start`/`_complete`): operations a program runs itself, which MPI's wait, test and free calls finish through the program's callbacks.
//!
//! A generalized request is an ordinary request handle whose core `Request` completes when the
//! program calls `MPI_Grequest_complete` (from any thread; waiters are woken). Its callbacks
//! live here, keyed by the handle value, because `MPI_Grequest_complete` may come after
//! `MPI_Request_free` has already removed the handle from the request table (MPI 4.1 §13.2:
//! `free_fn` then runs in whichever of the two calls comes last). The completion calls ask
//! `finish` for the status (`query_fn`, then `free_fn`), `MPI_Request_get_status` asks
//! `query`, `MPI_Cancel` asks `cancel` and `MPI_Request_free` asks `release`. No lock is held
//! while a callback runs, so callbacks may call MPI themselves.

use super::abi::{self, MPI_Grequest_cancel_function, MPI_Grequest_free_function, MPI_Grequest_query_function};
use super::abi::{MPI_Request, MPI_Status};
use super::boundary::{self, out};
use super::errhandler::callback_failed;
use super::handles;
use super::p2p::new_handle;
use super::state::state;
use super::status;
use crate::error::{err, Error, Result};
use crate::request::{Outcome, Request};
use crate::sync::lock;
use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::sync::{Arc, LazyLock, Mutex};

struct Grequest {
    query_fn: MPI_Grequest_query_function,
    free_fn: MPI_Grequest_free_function,
    cancel_fn: MPI_Grequest_cancel_function,
    /// The program's `extra_state` pointer, passed back untouched to each callback.
    extra_state: usize,
    request: Arc<Request>,
    /// `MPI_Request_free` was called before `MPI_Grequest_complete`.
    freed: bool,
}

// SAFETY: the fields are plain C function pointers and an address the program owns; MPI's
// contract makes the program responsible for `extra_state` being usable from the calling thread.
unsafe impl Send for Grequest {}

static GREQUESTS: LazyLock<Mutex<HashMap<usize, Grequest>>> = LazyLock::new(Mutex::default);

fn extra(g: &Grequest) -> *mut c_void {
    g.extra_state as *mut c_void
}

/// Turns a callback's return code into this call's error.
fn checked(code: c_int, which: &str) -> Result<()> {
    if code == abi::MPI_SUCCESS {
        return Ok(());
    }
    Err(callback_failed(code, &format!("the generalized request's {which} returned error code {code}")))
}

/// Runs `query_fn`: the status the request reports, and the error it reports (with its code,
/// which the multi-request calls put in the status's MPI_ERROR).
fn run_query(g: &Grequest) -> (MPI_Status, Option<Error>) {
    let mut s = status::empty();
    let Some(query) = g.query_fn else { return (s, None) };
    // SAFETY: the program gave this callback to MPI_Grequest_start for this extra_state; `s`
    // is a valid status for it to fill.
    let code = unsafe { query(extra(g), &mut s) };
    match checked(code, "query_fn") {
        Ok(()) => (s, None),
        Err(e) => {
            s.MPI_ERROR = code;
            (s, Some(e))
        }
    }
}

fn run_free(g: &Grequest) -> Result<()> {
    let Some(free) = g.free_fn else { return Ok(()) };
    // SAFETY: the program gave this callback to MPI_Grequest_start for this extra_state.
    checked(unsafe { free(extra(g)) }, "free_fn")
}

/// For the completion calls: if `handle` (its value before it was nulled) is a completed
/// generalized request, its status from `query_fn` and any error, after `free_fn` has run.
pub fn finish(handle: usize) -> Option<(MPI_Status, Option<Error>)> {
    let g = lock(&GREQUESTS).remove(&handle)?;
    let (s, error) = run_query(&g);
    let freed = run_free(&g);
    Some((s, error.or(freed.err())))
}

/// For `MPI_Request_get_status`: the status `query_fn` gives, if `handle` is a completed
/// generalized request (the request stays as it is).
pub fn query(handle: usize) -> Option<Result<MPI_Status>> {
    let g = {
        let table = lock(&GREQUESTS);
        let g = table.get(&handle)?;
        Grequest { request: g.request.clone(), ..*g }
    };
    if !g.request.is_done() {
        return None;
    }
    let (s, error) = run_query(&g);
    Some(error.map_or(Ok(s), Err))
}

/// For `MPI_Cancel`: runs `cancel_fn(extra_state, complete)` if `handle` is a generalized request.
pub fn cancel(handle: usize) -> Option<Result<()>> {
    let (cancel_fn, extra_state, complete) = {
        let table = lock(&GREQUESTS);
        let g = table.get(&handle)?;
        (g.cancel_fn, g.extra_state, g.request.is_done())
    };
    let Some(cancel_fn) = cancel_fn else { return Some(Ok(())) };
    // SAFETY: the program gave this callback to MPI_Grequest_start for this extra_state.
    let code = unsafe { cancel_fn(extra_state as *mut c_void, complete as c_int) };
    Some(checked(code, "cancel_fn"))
}

/// For `MPI_Request_free`: a completed generalized request runs `free_fn` now; one not yet
/// completed runs it in `MPI_Grequest_complete`.
pub fn release(handle: usize) -> Result<()> {
    let done = {
        let mut table = lock(&GREQUESTS);
        let Some(g) = table.get_mut(&handle) else { return Ok(()) };
        if !g.request.is_done() {
            g.freed = true;
            return Ok(());
        }
        table.remove(&handle).expect("just found")
    };
    run_free(&done)
}

ffi_fn! {
    fn MPI_Grequest_start(
        query_fn: MPI_Grequest_query_function,
        free_fn: MPI_Grequest_free_function,
        cancel_fn: MPI_Grequest_cancel_function,
        extra_state: *mut c_void,
        request: *mut MPI_Request,
    ) -> c_int {
        let st = state()?;
        if request.is_null() {
            return Err(err!(Arg, "MPI_Grequest_start: the request output argument is NULL"));
        }
        let world = boundary::world();
        let comm = handles::comm(st, world as abi::MPI_Comm)?;
        let req = Request::new();
        let handle = new_handle(st, Some((req.clone(), None)), comm, world, None)?;
        let g = Grequest { query_fn, free_fn, cancel_fn, extra_state: extra_state as usize, request: req, freed: false };
        lock(&GREQUESTS).insert(handle as usize, g);
        out(request, handle, "request")
    }
}

ffi_fn! {
    fn MPI_Grequest_complete(request: MPI_Request) -> c_int {
        let st = state()?;
        let value = request as usize;
        let freed = {
            let mut table = lock(&GREQUESTS);
            let g = table.get(&value).ok_or_else(|| {
                err!(Request, "MPI_Grequest_complete: {value:#x} is not a live generalized request (made by MPI_Grequest_start and not yet completed by a wait or test)")
            })?;
            if !g.request.complete(Outcome::empty()) {
                return Err(err!(Request, "MPI_Grequest_complete: generalized request {value:#x} was already completed; call it once per request"));
            }
            if g.freed { table.remove(&value) } else { None }
        };
        st.rt.shared.notifier.notify();
        freed.map_or(Ok(()), |g| run_free(&g))
    }
}
