//! Persistent requests: set up once with `*_init`, run many times with `MPI_Start`.

use super::abi::{MPI_Comm, MPI_Datatype, MPI_Request};
use super::boundary::blame;
use super::p2p::{post, request_call, Begin};
use super::persistent_setup;
use super::state::{decode, state, Kind, Persistent, State};
use crate::error::{err, Result};
use crate::runtime::SendMode;
use crate::sync::lock;
use std::ffi::{c_int, c_void};

ffi_fn! {
    fn MPI_Send_init(
        buf: *const c_void,
        count: c_int,
        datatype: MPI_Datatype,
        dest: c_int,
        tag: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        request_call(Begin::OnStart, Some(SendMode::Standard), buf, count, datatype, dest, tag, comm, request)
    }
}

ffi_fn! {
    fn MPI_Ssend_init(
        buf: *const c_void,
        count: c_int,
        datatype: MPI_Datatype,
        dest: c_int,
        tag: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        request_call(Begin::OnStart, Some(SendMode::Synchronous), buf, count, datatype, dest, tag, comm, request)
    }
}

ffi_fn! {
    fn MPI_Rsend_init(
        buf: *const c_void,
        count: c_int,
        datatype: MPI_Datatype,
        dest: c_int,
        tag: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        request_call(Begin::OnStart, Some(SendMode::Standard), buf, count, datatype, dest, tag, comm, request)
    }
}

ffi_fn! {
    fn MPI_Bsend_init(
        buf: *const c_void,
        count: c_int,
        datatype: MPI_Datatype,
        dest: c_int,
        tag: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        request_call(Begin::OnStart, Some(SendMode::Buffered), buf, count, datatype, dest, tag, comm, request)
    }
}

ffi_fn! {
    fn MPI_Recv_init(
        buf: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        source: c_int,
        tag: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        request_call(Begin::OnStart, None, buf, count, datatype, source, tag, comm, request)
    }
}

fn start(st: &'static State, value: MPI_Request) -> Result<()> {
    let v = value as usize;
    let h = decode(Kind::Request, v).ok_or_else(|| err!(Request, "MPI_Start: invalid request handle {v:#x}"))?;
    let (op, comm, comm_handle) = {
        let reqs = lock(&st.requests);
        let e = reqs.get(h).ok_or_else(|| err!(Request, "MPI_Start: request {v:#x} is not live"))?;
        let op = e.persistent.clone().ok_or_else(|| err!(Request, "MPI_Start: request {v:#x} is not persistent"))?;
        if e.active.is_some() {
            return Err(err!(Request, "MPI_Start: request {v:#x} is already active; complete it first"));
        }
        (op, e.comm.clone(), e.comm_handle)
    };
    blame(comm_handle);
    let (req, ticket) = match &op {
        Persistent::Message(op) => post(st, op, &comm)?,
        Persistent::Collective(restart) => (persistent_setup::start(st, restart)?, None),
        Persistent::Partitioned => (super::partitioned::start(v)?, None),
    };
    if let Some(e) = lock(&st.requests).get_mut(h) {
        e.active = Some(req);
        e.ticket = ticket;
    }
    Ok(())
}

ffi_fn! {
    fn MPI_Start(request: *mut MPI_Request) -> c_int {
        if request.is_null() {
            return Err(err!(Arg, "MPI_Start: the request argument is NULL"));
        }
        // SAFETY: non-null, points to a request handle (MPI's contract).
        start(state()?, unsafe { request.read() })
    }
}

ffi_fn! {
    fn MPI_Startall(count: c_int, requests: *mut MPI_Request) -> c_int {
        let st = state()?;
        if count < 0 || (count > 0 && requests.is_null()) {
            return Err(err!(Arg, "MPI_Startall: invalid request array ({count} at {requests:?})"));
        }
        for i in 0..count as usize {
            // SAFETY: `requests` holds `count` handles (MPI's contract); i < count.
            start(st, unsafe { requests.add(i).read() })?;
        }
        Ok(())
    }
}
