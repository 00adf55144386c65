//! `MPI_Request_get_status` and its `_any`/`_all`/`_some` forms: whether requests are done, without freeing or deactivating them.

use super::abi::{self, MPI_Request, MPI_Status};
use super::boundary::{blame, out};
use super::state::{decode, state, Kind, State};
use super::status;
use crate::error::{err, Result};
use crate::request::Outcome;
use crate::sync::lock;
use std::ffi::c_int;
use std::sync::Arc;

/// What a request handle shows without being completed: `None` if idle (MPI_REQUEST_NULL or an
/// inactive persistent request), else whether it is done and, if so, its status.
fn peek(st: &State, handle: MPI_Request) -> Result<Option<Option<(MPI_Status, Outcome)>>> {
    let value = handle as usize;
    if handle == abi::MPI_REQUEST_NULL {
        return Ok(None);
    }
    let h = decode(Kind::Request, value).ok_or_else(|| err!(Request, "invalid request handle {value:#x}"))?;
    let reqs = lock(&st.requests);
    let e = reqs.get(h).ok_or_else(|| err!(Request, "invalid request handle {value:#x} (completed or freed)"))?;
    blame(e.comm_handle);
    let Some(active) = &e.active else { return Ok(None) };
    let (active, comm) = (Arc::clone(active), e.comm.clone());
    drop(reqs);
    if let Some(queried) = super::grequest::query(value) {
        return queried.map(|s| Some(Some((s, Outcome::empty()))));
    }
    Ok(Some(active.outcome().map(|o| (status::of(&o, &comm), o))))
}

fn handles<'a>(count: c_int, reqs: *const MPI_Request) -> Result<&'a [MPI_Request]> {
    if count < 0 {
        return Err(err!(Count, "request count {count} is negative"));
    }
    if count == 0 {
        return Ok(&[]);
    }
    if reqs.is_null() {
        return Err(err!(Arg, "the request array is NULL"));
    }
    // SAFETY: MPI's contract: `reqs` points to `count` request handles.
    Ok(unsafe { std::slice::from_raw_parts(reqs, count as usize) })
}

fn write_at(statuses: *mut MPI_Status, i: usize, s: MPI_Status) {
    if !statuses.is_null() {
        // SAFETY: a non-ignored status array has an entry for each request (MPI's contract).
        status::write(unsafe { statuses.add(i) }, s);
    }
}

ffi_fn! {
    fn MPI_Request_get_status(request: MPI_Request, flag: *mut c_int, status: *mut MPI_Status) -> c_int {
        let s = match peek(state()?, request)? {
            None => Some(status::empty()),
            Some(done) => done.map(|(s, _)| s),
        };
        out(flag, s.is_some() as c_int, "flag")?;
        if let Some(s) = s {
            status::write(status, s);
        }
        Ok(())
    }
}

ffi_fn! {
    fn MPI_Request_get_status_any(
        count: c_int,
        array_of_requests: *const MPI_Request,
        indx: *mut c_int,
        flag: *mut c_int,
        status: *mut MPI_Status,
    ) -> c_int {
        let st = state()?;
        let mut any_active = false;
        for (i, r) in handles(count, array_of_requests)?.iter().enumerate() {
            let Some(done) = peek(st, *r)? else { continue };
            any_active = true;
            if let Some((s, _)) = done {
                out(indx, i as c_int, "index")?;
                out(flag, 1, "flag")?;
                status::write(status, s);
                return Ok(());
            }
        }
        out(indx, abi::MPI_UNDEFINED, "index")?;
        out(flag, (!any_active) as c_int, "flag")?;
        if !any_active {
            status::write(status, status::empty());
        }
        Ok(())
    }
}

ffi_fn! {
    fn MPI_Request_get_status_all(
        count: c_int,
        array_of_requests: *const MPI_Request,
        flag: *mut c_int,
        array_of_statuses: *mut MPI_Status,
    ) -> c_int {
        let st = state()?;
        let mut found = Vec::new();
        for r in handles(count, array_of_requests)? {
            match peek(st, *r)? {
                None => found.push(status::empty()),
                Some(Some((s, _))) => found.push(s),
                Some(None) => return out(flag, 0, "flag"),
            }
        }
        out(flag, 1, "flag")?;
        for (i, s) in found.into_iter().enumerate() {
            write_at(array_of_statuses, i, s);
        }
        Ok(())
    }
}

ffi_fn! {
    fn MPI_Request_get_status_some(
        incount: c_int,
        array_of_requests: *const MPI_Request,
        outcount: *mut c_int,
        array_of_indices: *mut c_int,
        array_of_statuses: *mut MPI_Status,
    ) -> c_int {
        let st = state()?;
        let mut any_active = false;
        let mut done = Vec::new();
        for (i, r) in handles(incount, array_of_requests)?.iter().enumerate() {
            let Some(d) = peek(st, *r)? else { continue };
            any_active = true;
            if let Some((s, _)) = d {
                done.push((i, s));
            }
        }
        if !any_active {
            return out(outcount, abi::MPI_UNDEFINED, "outcount");
        }
        if !done.is_empty() && array_of_indices.is_null() {
            return Err(err!(Arg, "the array_of_indices argument is NULL"));
        }
        out(outcount, done.len() as c_int, "outcount")?;
        for (n, (i, s)) in done.into_iter().enumerate() {
            // SAFETY: the index array has room for `incount` entries (MPI's contract); n < incount.
            unsafe { array_of_indices.add(n).write(i as c_int) };
            write_at(array_of_statuses, n, s);
        }
        Ok(())
    }
}
