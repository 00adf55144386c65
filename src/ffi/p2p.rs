//! Point-to-point: blocking and nonblocking sends and receives, probes, buffered-mode space.

use super::abi::{MPI_Comm, MPI_Count, MPI_Datatype, MPI_Request, MPI_Status};
use super::boundary::{blame, out};
use super::handles;
use super::layout::{message, Layout};
use super::region::Region;
use super::state::{encode, state, Kind, Persistent, PersistentOp, RequestEntry, State};
use super::status;
use crate::comm::Comm;
use crate::engine::matching::Pattern;
use crate::error::Result;
use crate::request::{Outcome, Request};
use crate::runtime::{outcome_result, RecvTicket, SendMode};
use crate::sync::lock;
use std::ffi::{c_int, c_void};
use std::sync::Arc;

type Posted = (Arc<Request>, Option<RecvTicket>);

/// Starts one operation; `op.send` is `None` for a receive.
pub fn post(st: &State, op: &PersistentOp, comm: &Comm) -> Result<Posted> {
    if let Some(layout) = &op.layout {
        return post_packed(st, op, layout, comm);
    }
    match op.send {
        Some(mode) => {
            let tag = handles::send_tag(op.tag)?;
            let Some(dest) = handles::dest(comm, op.peer)? else {
                return Ok((Request::completed(Outcome::empty()), None));
            };
            if mode == SendMode::Buffered {
                return super::bsend::bsend(st, dest, comm.context, tag, op.buf).map(|r| (r, None));
            }
            // SAFETY: MPI's contract: a send's buffer stays valid and unwritten until it completes.
            st.rt.isend(dest, comm.context, tag, unsafe { op.buf.send() }, mode).map(|r| (r, None))
        }
        None => {
            let tag = handles::recv_tag(op.tag)?;
            let Some(source) = handles::source(comm, op.peer)? else {
                return Ok((Request::completed(Outcome::empty()), None));
            };
            let pattern = Pattern { context: comm.context, source: source.map(|s| s as i32), tag };
            // SAFETY: MPI's contract: a receive's buffer stays valid, and untouched by anything
            // else, until the receive completes.
            st.rt.irecv(pattern, unsafe { op.buf.recv() })
        }
    }
}

/// Starts an operation on a non-contiguous buffer: a send goes from a packed copy, a receive
/// lands in a temporary buffer that is unpacked into place as it completes.
fn post_packed(st: &State, op: &PersistentOp, layout: &Layout, comm: &Comm) -> Result<Posted> {
    let mut temp = match op.send {
        // SAFETY: MPI's contract: a send's buffer stays valid and unwritten until it completes.
        Some(_) => unsafe { layout.gather() },
        None => vec![0u8; layout.len()],
    };
    // `temp` moves into the request's completion below (its heap block stays put), so it
    // outlives every use the engine makes of this region.
    let region = Region::new(temp.as_mut_ptr(), temp.len());
    let direct = PersistentOp { buf: region, layout: None, ..op.clone() };
    let (req, ticket) = post(st, &direct, comm)?;
    match op.send {
        Some(_) => super::layout::keep_until_done(&req, temp),
        None => super::layout::scatter_when_done(&req, layout.clone(), temp),
    }
    Ok((req, ticket))
}

/// Registers a request handle for the caller.
pub fn new_handle(
    st: &State,
    posted: Option<Posted>,
    comm: Arc<Comm>,
    comm_handle: usize,
    persistent: Option<Persistent>,
) -> Result<MPI_Request> {
    let (active, ticket) = match posted {
        Some((r, t)) => (Some(r), t),
        None => (None, None),
    };
    let h = lock(&st.requests).insert(RequestEntry { active, ticket, comm, comm_handle, persistent });
    Ok(encode(Kind::Request, h)? as MPI_Request)
}

/// Decodes the common (buf, count, datatype, peer, tag, comm) arguments; `count` is a C int
/// or, for the large-count `_c` calls, an `MPI_Count`.
pub fn operation(
    st: &State,
    send: Option<SendMode>,
    buf: *const c_void,
    count: impl Into<MPI_Count>,
    datatype: MPI_Datatype,
    peer: c_int,
    tag: c_int,
    comm: MPI_Comm,
) -> Result<(PersistentOp, Arc<Comm>)> {
    let c = handles::comm(st, comm)?;
    let (region, layout) = message(st, buf, count.into(), datatype)?;
    let op = PersistentOp { send, buf: region, peer, tag, layout };
    Ok((op, c))
}

/// When a new request handle's operation runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// Nonblocking call: start it now.
    Now,
    /// Persistent request: start it at each `MPI_Start`.
    OnStart,
}

/// The body of every call that hands back a request handle (`MPI_I*` and `MPI_*_init`).
pub fn request_call(
    begin: Begin,
    send: Option<SendMode>,
    buf: *const c_void,
    count: impl Into<MPI_Count>,
    datatype: MPI_Datatype,
    peer: c_int,
    tag: c_int,
    comm: MPI_Comm,
    request: *mut MPI_Request,
) -> Result<()> {
    blame(comm as usize);
    let st = state()?;
    let (op, c) = operation(st, send, buf, count, datatype, peer, tag, comm)?;
    let handle = match begin {
        Begin::Now => new_handle(st, Some(post(st, &op, &c)?), c, comm as usize, None)?,
        Begin::OnStart => new_handle(st, None, c, comm as usize, Some(Persistent::Message(op)))?,
    };
    out(request, handle, "request")
}

pub fn blocking_send(
    mode: SendMode,
    buf: *const c_void,
    count: impl Into<MPI_Count>,
    datatype: MPI_Datatype,
    dest: c_int,
    tag: c_int,
    comm: MPI_Comm,
) -> Result<()> {
    blame(comm as usize);
    let st = state()?;
    let (op, c) = operation(st, Some(mode), buf, count, datatype, dest, tag, comm)?;
    send_now(st, &op, &c)
}

pub fn send_now(st: &State, op: &PersistentOp, c: &Comm) -> Result<()> {
    let (Some(mode), Some(dest)) = (op.send, handles::dest(c, op.peer)?) else {
        return Ok(());
    };
    if mode == SendMode::Standard && op.layout.is_none() {
        let tag = handles::send_tag(op.tag)?;
        // SAFETY: MPI's contract: the buffer stays valid and unwritten for the blocking send.
        return st.rt.send(dest, c.context, tag, unsafe { op.buf.send() }, mode).map(|_| ());
    }
    let (req, _) = post(st, op, c)?;
    outcome_result(st.rt.wait_until(|| req.outcome())?).map(|_| ())
}

fn recv_now(st: &State, op: &PersistentOp, c: &Comm, status: *mut MPI_Status) -> Result<()> {
    let (req, _) = post(st, op, c)?;
    let outcome = st.rt.wait_until(|| req.outcome())?;
    status::write(status, status::of(&outcome, c));
    outcome_result(outcome).map(|_| ())
}

ffi_fn! {
    fn MPI_Send(
        buf: *const c_void,
        count: c_int,
        datatype: MPI_Datatype,
        dest: c_int,
        tag: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        blocking_send(SendMode::Standard, buf, count, datatype, dest, tag, comm)
    }
}

ffi_fn! {
    fn MPI_Rsend(
        buf: *const c_void,
        count: c_int,
        datatype: MPI_Datatype,
        dest: c_int,
        tag: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        blocking_send(SendMode::Standard, buf, count, datatype, dest, tag, comm)
    }
}

ffi_fn! {
    fn MPI_Ssend(
        buf: *const c_void,
        count: c_int,
        datatype: MPI_Datatype,
        dest: c_int,
        tag: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        blocking_send(SendMode::Synchronous, buf, count, datatype, dest, tag, comm)
    }
}

ffi_fn! {
    fn MPI_Bsend(
        buf: *const c_void,
        count: c_int,
        datatype: MPI_Datatype,
        dest: c_int,
        tag: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        blocking_send(SendMode::Buffered, buf, count, datatype, dest, tag, comm)
    }
}

ffi_fn! {
    fn MPI_Isend(
        buf: *const c_void,
        count: c_int,
        datatype: MPI_Datatype,
        dest: c_int,
        tag: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        request_call(Begin::Now, Some(SendMode::Standard), buf, count, datatype, dest, tag, comm, request)
    }
}

ffi_fn! {
    fn MPI_Irsend(
        buf: *const c_void,
        count: c_int,
        datatype: MPI_Datatype,
        dest: c_int,
        tag: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        request_call(Begin::Now, Some(SendMode::Standard), buf, count, datatype, dest, tag, comm, request)
    }
}

ffi_fn! {
    fn MPI_Issend(
        buf: *const c_void,
        count: c_int,
        datatype: MPI_Datatype,
        dest: c_int,
        tag: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        request_call(Begin::Now, Some(SendMode::Synchronous), buf, count, datatype, dest, tag, comm, request)
    }
}

ffi_fn! {
    fn MPI_Ibsend(
        buf: *const c_void,
        count: c_int,
        datatype: MPI_Datatype,
        dest: c_int,
        tag: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        request_call(Begin::Now, Some(SendMode::Buffered), buf, count, datatype, dest, tag, comm, request)
    }
}

ffi_fn! {
    fn MPI_Irecv(
        buf: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        source: c_int,
        tag: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        request_call(Begin::Now, None, buf, count, datatype, source, tag, comm, request)
    }
}

ffi_fn! {
    fn MPI_Recv(
        buf: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        source: c_int,
        tag: c_int,
        comm: MPI_Comm,
        status: *mut MPI_Status,
    ) -> c_int {
        recv(buf, count, datatype, source, tag, comm, status)
    }
}

/// `MPI_Recv`, with either count type.
pub fn recv(
    buf: *mut c_void,
    count: impl Into<MPI_Count>,
    datatype: MPI_Datatype,
    source: c_int,
    tag: c_int,
    comm: MPI_Comm,
    status: *mut MPI_Status,
) -> Result<()> {
    blame(comm as usize);
    let st = state()?;
    let (op, c) = operation(st, None, buf, count, datatype, source, tag, comm)?;
    recv_now(st, &op, &c, status)
}

fn probe_pattern(st: &State, source: c_int, tag: c_int, comm: MPI_Comm) -> Result<(Option<Pattern>, Arc<Comm>)> {
    let c = handles::comm(st, comm)?;
    let tag = handles::recv_tag(tag)?;
    let pattern =
        handles::source(&c, source)?.map(|s| Pattern { context: c.context, source: s.map(|w| w as i32), tag });
    Ok((pattern, c))
}

fn probe_status(c: &Comm, found: (crate::engine::matching::Envelope, u64)) -> MPI_Status {
    let (env, len) = found;
    status::of(&Outcome { source: env.source, tag: env.tag, count: len, ..Outcome::empty() }, c)
}

ffi_fn! {
    fn MPI_Probe(source: c_int, tag: c_int, comm: MPI_Comm, status: *mut MPI_Status) -> c_int {
        blame(comm as usize);
        let st = state()?;
        let (pattern, c) = probe_pattern(st, source, tag, comm)?;
        let s = match pattern {
            None => status::proc_null(),
            Some(p) => probe_status(&c, st.rt.probe(&p)?),
        };
        status::write(status, s);
        Ok(())
    }
}

ffi_fn! {
    fn MPI_Iprobe(source: c_int, tag: c_int, comm: MPI_Comm, flag: *mut c_int, status: *mut MPI_Status) -> c_int {
        blame(comm as usize);
        let st = state()?;
        let (pattern, c) = probe_pattern(st, source, tag, comm)?;
        let found = match pattern {
            None => Some(status::proc_null()),
            Some(p) => st.rt.iprobe(&p)?.map(|f| probe_status(&c, f)),
        };
        out(flag, found.is_some() as c_int, "flag")?;
        if let Some(s) = found {
            status::write(status, s);
        }
        Ok(())
    }
}
