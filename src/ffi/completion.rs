//! The wait and test family, request freeing and cancelling.

use super::abi::{self, MPI_Request, MPI_Status};
use super::boundary::{blame, out};
use super::state::{decode, state, Kind, Persistent, State};
use super::status;
use crate::comm::Comm;
use crate::error::{err, Result};
use crate::request::{Outcome, Request};
use crate::sync::lock;
use std::ffi::c_int;
use std::sync::Arc;

/// A request handle as the wait functions see it.
enum Slot {
    /// MPI_REQUEST_NULL or an inactive persistent request: completes at once, empty status.
    Idle,
    Active(Arc<Request>, Arc<Comm>),
}

fn look(st: &State, value: usize) -> Result<Slot> {
    if value == abi::MPI_REQUEST_NULL as usize {
        return Ok(Slot::Idle);
    }
    let h = decode(Kind::Request, value).ok_or_else(|| err!(Request, "invalid request handle {value:#x}"))?;
    let reqs = lock(&st.requests);
    let e =
        reqs.get(h).ok_or_else(|| err!(Request, "invalid request handle {value:#x} (already completed or freed)"))?;
    blame(e.comm_handle);
    Ok(match &e.active {
        None => Slot::Idle,
        Some(r) => Slot::Active(r.clone(), e.comm.clone()),
    })
}

/// After completion: a persistent request turns inactive, any other is freed and nulled.
fn retire(st: &State, handle: &mut MPI_Request) {
    let Some(h) = decode(Kind::Request, *handle as usize) else {
        return;
    };
    let mut reqs = lock(&st.requests);
    let persistent = reqs.get(h).is_some_and(|e| e.persistent.is_some());
    if persistent {
        if let Some(e) = reqs.get_mut(h) {
            e.active = None;
            e.ticket = None;
        }
    } else {
        reqs.remove(h);
        *handle = abi::MPI_REQUEST_NULL;
    }
}

/// The outcome of a request if it is done now (idle ones are done with an empty status).
fn poll(slot: &Slot) -> Option<Option<(Outcome, Arc<Comm>)>> {
    match slot {
        Slot::Idle => Some(None),
        Slot::Active(r, c) => r.outcome().map(|o| Some((o, c.clone()))),
    }
}

fn settle(
    st: &State,
    handle: &mut MPI_Request,
    done: Option<(Outcome, Arc<Comm>)>,
) -> (MPI_Status, Option<crate::error::Error>) {
    match done {
        None => (status::empty(), None),
        Some((o, c)) => {
            let value = *handle as usize;
            retire(st, handle);
            if let Some((s, error)) = super::grequest::finish(value) {
                if let Some(e) = &error {
                    super::boundary::remember(e);
                }
                return (s, error);
            }
            if let Some(e) = &o.error {
                // MPI_Error_string(status.MPI_ERROR) then says what the blocking call would.
                super::boundary::remember(e);
            }
            (status::of(&o, &c), o.error)
        }
    }
}

fn requests<'a>(count: c_int, reqs: *mut MPI_Request) -> Result<&'a mut [MPI_Request]> {
    if count < 0 {
        return Err(err!(Count, "request count {count} is negative"));
    }
    if count > 0 && reqs.is_null() {
        return Err(err!(Arg, "the request array is NULL"));
    }
    if count == 0 {
        return Ok(&mut []);
    }
    // SAFETY: MPI's contract: `reqs` points to `count` request handles owned by the caller.
    Ok(unsafe { std::slice::from_raw_parts_mut(reqs, count as usize) })
}

fn status_slot(statuses: *mut MPI_Status, i: usize) -> *mut MPI_Status {
    if statuses.is_null() {
        statuses
    } else {
        // SAFETY: a non-ignored status array has one entry per request (MPI's contract).
        unsafe { statuses.add(i) }
    }
}

ffi_fn! {
    fn MPI_Wait(request: *mut MPI_Request, status: *mut MPI_Status) -> c_int {
        let st = state()?;
        let reqs = requests(1, request)?;
        let slot = look(st, reqs[0] as usize)?;
        let done = st.rt.wait_until(|| poll(&slot))?;
        let (s, error) = settle(st, &mut reqs[0], done);
        status::write(status, s);
        error.map_or(Ok(()), Err)
    }
}

ffi_fn! {
    fn MPI_Test(request: *mut MPI_Request, flag: *mut c_int, status: *mut MPI_Status) -> c_int {
        let st = state()?;
        let reqs = requests(1, request)?;
        let slot = look(st, reqs[0] as usize)?;
        let Some(done) = poll(&slot) else {
            return out(flag, 0, "flag");
        };
        let (s, error) = settle(st, &mut reqs[0], done);
        out(flag, 1, "flag")?;
        status::write(status, s);
        error.map_or(Ok(()), Err)
    }
}

/// Completes every request in `reqs` that is done (all of them, if `all`); returns whether it did.
fn complete_all(st: &State, reqs: &mut [MPI_Request], statuses: *mut MPI_Status, block: bool) -> Result<bool> {
    let slots = reqs.iter().map(|r| look(st, *r as usize)).collect::<Result<Vec<_>>>()?;
    // Requests never become undone, so each check resumes at the first one not done yet and
    // reads only atomics; the outcomes are gathered once, at the end (a check per progress
    // step over thousands of requests was quadratic).
    let mut next = 0;
    let mut ready = || {
        while slots.get(next).is_some_and(|s| matches!(s, Slot::Idle) || matches!(s, Slot::Active(r, _) if r.is_done()))
        {
            next += 1;
        }
        (next == slots.len()).then(|| slots.iter().map(|s| poll(s).expect("every request is done")).collect::<Vec<_>>())
    };
    let done = if block {
        st.rt.wait_until(ready)?
    } else {
        match ready() {
            Some(d) => d,
            None => return Ok(false),
        }
    };
    let mut failed = 0;
    let mut first_error = None;
    for (i, d) in done.into_iter().enumerate() {
        let (s, error) = settle(st, &mut reqs[i], d);
        failed += error.is_some() as usize;
        first_error = first_error.or(error);
        status::write(status_slot(statuses, i), s);
    }
    if let Some(first) = first_error {
        // Name the cause: "see each status" alone loses it when the handler is fatal.
        return Err(err!(
            InStatus,
            "{failed} of {} requests failed; the first: {}; see each status's MPI_ERROR",
            reqs.len(),
            first.message
        ));
    }
    Ok(true)
}

ffi_fn! {
    fn MPI_Waitall(count: c_int, reqs: *mut MPI_Request, statuses: *mut MPI_Status) -> c_int {
        complete_all(state()?, requests(count, reqs)?, statuses, true).map(|_| ())
    }
}

ffi_fn! {
    fn MPI_Testall(count: c_int, reqs: *mut MPI_Request, flag: *mut c_int, statuses: *mut MPI_Status) -> c_int {
        let done = complete_all(state()?, requests(count, reqs)?, statuses, false)?;
        out(flag, done as c_int, "flag")
    }
}

/// Index of the first active request that is done; `Some(None)` when none is active.
fn first_done(slots: &[Slot]) -> Option<Option<usize>> {
    if slots.iter().all(|s| matches!(s, Slot::Idle)) {
        return Some(None);
    }
    slots.iter().position(|s| matches!(s, Slot::Active(r, _) if r.is_done())).map(Some)
}

fn any(st: &State, reqs: &mut [MPI_Request], index: *mut c_int, status: *mut MPI_Status, block: bool) -> Result<bool> {
    let slots = reqs.iter().map(|r| look(st, *r as usize)).collect::<Result<Vec<_>>>()?;
    let found = if block { Some(st.rt.wait_until(|| first_done(&slots))?) } else { first_done(&slots) };
    let Some(found) = found else { return Ok(false) };
    let Some(i) = found else {
        out(index, abi::MPI_UNDEFINED, "index")?;
        status::write(status, status::empty());
        return Ok(true);
    };
    let (s, error) = settle(st, &mut reqs[i], poll(&slots[i]).flatten().map(Some).unwrap_or(None));
    out(index, i as c_int, "index")?;
    status::write(status, s);
    error.map_or(Ok(true), Err)
}

ffi_fn! {
    fn MPI_Waitany(count: c_int, reqs: *mut MPI_Request, index: *mut c_int, status: *mut MPI_Status) -> c_int {
        any(state()?, requests(count, reqs)?, index, status, true).map(|_| ())
    }
}

ffi_fn! {
    fn MPI_Testany(
        count: c_int,
        reqs: *mut MPI_Request,
        index: *mut c_int,
        flag: *mut c_int,
        status: *mut MPI_Status,
    ) -> c_int {
        let done = any(state()?, requests(count, reqs)?, index, status, false)?;
        if !done {
            out(index, abi::MPI_UNDEFINED, "index")?;
        }
        out(flag, done as c_int, "flag")
    }
}

fn some(
    st: &State,
    reqs: &mut [MPI_Request],
    outcount: *mut c_int,
    indices: *mut c_int,
    statuses: *mut MPI_Status,
    block: bool,
) -> Result<()> {
    let slots = reqs.iter().map(|r| look(st, *r as usize)).collect::<Result<Vec<_>>>()?;
    if slots.iter().all(|s| matches!(s, Slot::Idle)) {
        return out(outcount, abi::MPI_UNDEFINED, "outcount");
    }
    let anything = || slots.iter().any(|s| matches!(s, Slot::Active(r, _) if r.is_done())).then_some(());
    if block {
        st.rt.wait_until(anything)?;
    }
    let mut n = 0usize;
    let mut failed = 0;
    for (i, slot) in slots.iter().enumerate() {
        if let (Slot::Active(..), Some(done)) = (slot, poll(slot)) {
            let (s, error) = settle(st, &mut reqs[i], done);
            failed += error.is_some() as usize;
            if !indices.is_null() {
                // SAFETY: `indices` has room for `count` entries (MPI's contract); n < count.
                unsafe { indices.add(n).write(i as c_int) };
            }
            status::write(status_slot(statuses, n), s);
            n += 1;
        }
    }
    out(outcount, n as c_int, "outcount")?;
    if failed > 0 {
        return Err(err!(InStatus, "{failed} completed requests failed; see each status's MPI_ERROR"));
    }
    Ok(())
}

ffi_fn! {
    fn MPI_Waitsome(
        incount: c_int,
        reqs: *mut MPI_Request,
        outcount: *mut c_int,
        indices: *mut c_int,
        statuses: *mut MPI_Status,
    ) -> c_int {
        some(state()?, requests(incount, reqs)?, outcount, indices, statuses, true)
    }
}

ffi_fn! {
    fn MPI_Testsome(
        incount: c_int,
        reqs: *mut MPI_Request,
        outcount: *mut c_int,
        indices: *mut c_int,
        statuses: *mut MPI_Status,
    ) -> c_int {
        some(state()?, requests(incount, reqs)?, outcount, indices, statuses, false)
    }
}

ffi_fn! {
    fn MPI_Request_free(request: *mut MPI_Request) -> c_int {
        let st = state()?;
        let reqs = requests(1, request)?;
        let value = reqs[0] as usize;
        let h = decode(Kind::Request, value)
            .ok_or_else(|| err!(Request, "MPI_Request_free: invalid request handle {value:#x}"))?;
        let mut table = lock(&st.requests);
        let e = table.get(h).ok_or_else(|| err!(Request, "MPI_Request_free: request {value:#x} was already freed"))?;
        if e.active.is_some() && matches!(e.persistent, Some(Persistent::Collective(_))) {
            // MPI makes this erroneous: the job still uses the buffers, and no one could wait for it.
            return Err(err!(Request, "MPI_Request_free: request {value:#x} is an active persistent collective; complete it (MPI_Wait/MPI_Test) before freeing it"));
        }
        // The operation itself goes on; only the handle goes away.
        table.remove(h);
        reqs[0] = abi::MPI_REQUEST_NULL;
        super::partitioned::forget(value);
        super::grequest::release(value)
    }
}

ffi_fn! {
    fn MPI_Cancel(request: *mut MPI_Request) -> c_int {
        let st = state()?;
        let value = requests(1, request)?[0] as usize;
        let h = decode(Kind::Request, value)
            .ok_or_else(|| err!(Request, "MPI_Cancel: invalid request handle {value:#x}"))?;
        if let Some(cancelled) = super::grequest::cancel(value) {
            return cancelled;
        }
        let (ticket, collective) = lock(&st.requests)
            .get(h)
            .map(|e| (e.ticket, e.active.as_ref().is_some_and(|r| r.is_collective())))
            .ok_or_else(|| err!(Request, "MPI_Cancel: request {value:#x} is not live"))?;
        if collective {
            return Err(err!(Request, "MPI_Cancel: request {value:#x} is a nonblocking collective, which MPI does not allow to be cancelled; wait for it or free it"));
        }
        // Only receives that have not matched can be withdrawn; a send is left to complete.
        if let Some(t) = ticket {
            st.rt.cancel(t);
        }
        Ok(())
    }
}
