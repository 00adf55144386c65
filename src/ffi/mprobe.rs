//! Matched probe and receive: `MPI_Mprobe`, `MPI_Improbe`, `MPI_Mrecv`, `MPI_Imrecv` and their `MPI_Message` handles.

use super::abi::{self, MPI_Comm, MPI_Count, MPI_Datatype, MPI_Message, MPI_Request, MPI_Status};
use super::boundary::{blame, out};
use super::handles::{self, buffer};
use super::large_count::buffer_c;
use super::p2p::new_handle;
use super::region::Region;
use super::state::{decode, encode, state, Kind, MessageEntry, State};
use super::status;
use crate::comm::Comm;
use crate::engine::mailbox::Matched;
use crate::engine::matching::Pattern;
use crate::error::{err, Result};
use crate::request::{Outcome, Request};
use crate::runtime::outcome_result;
use crate::sync::lock;
use std::ffi::{c_int, c_void};
use std::sync::Arc;

/// The pattern of a probe, or `None` for MPI_PROC_NULL.
fn pattern(st: &State, source: c_int, tag: c_int, comm: MPI_Comm) -> Result<(Option<Pattern>, Arc<Comm>)> {
    let c = handles::comm(st, comm)?;
    let tag = handles::recv_tag(tag)?;
    let pattern =
        handles::source(&c, source)?.map(|s| Pattern { context: c.context, source: s.map(|w| w as i32), tag });
    Ok((pattern, c))
}

/// Hands a reserved message to the caller as a handle, with its status.
fn give(
    st: &State,
    found: Option<Matched>,
    c: Arc<Comm>,
    comm: MPI_Comm,
    message: *mut MPI_Message,
    status: *mut MPI_Status,
) -> Result<()> {
    let (handle, s) = match found {
        None => (abi::MPI_MESSAGE_NO_PROC, status::proc_null()),
        Some(m) => {
            let outcome = Outcome { source: m.env.source, tag: m.env.tag, count: m.len, ..Outcome::empty() };
            let s = status::of(&outcome, &c);
            let entry = MessageEntry { matched: m, comm: c, comm_handle: comm as usize };
            let h = lock(&st.messages).insert(entry);
            (encode(Kind::Message, h)? as MPI_Message, s)
        }
    };
    out(message, handle, "message")?;
    status::write(status, s);
    Ok(())
}

ffi_fn! {
    fn MPI_Mprobe(source: c_int, tag: c_int, comm: MPI_Comm, message: *mut MPI_Message, status: *mut MPI_Status) -> c_int {
        blame(comm as usize);
        let st = state()?;
        let (pattern, c) = pattern(st, source, tag, comm)?;
        if message.is_null() {
            return Err(err!(Arg, "the message output argument is NULL"));
        }
        let found = pattern.map(|p| st.rt.mprobe(&p)).transpose()?;
        give(st, found, c, comm, message, status)
    }
}

ffi_fn! {
    fn MPI_Improbe(
        source: c_int,
        tag: c_int,
        comm: MPI_Comm,
        flag: *mut c_int,
        message: *mut MPI_Message,
        status: *mut MPI_Status,
    ) -> c_int {
        blame(comm as usize);
        let st = state()?;
        let (pattern, c) = pattern(st, source, tag, comm)?;
        if message.is_null() || flag.is_null() {
            return Err(err!(Arg, "the flag or message output argument is NULL"));
        }
        let found = match pattern {
            None => Some(None),
            Some(p) => st.rt.improbe(&p)?.map(Some),
        };
        let Some(found) = found else {
            return out(flag, 0, "flag");
        };
        give(st, found, c, comm, message, status)?;
        out(flag, 1, "flag")
    }
}

/// Takes the caller's message handle: the reserved message, or `None` for MPI_MESSAGE_NO_PROC.
/// The handle is spent either way, and set to MPI_MESSAGE_NULL.
fn take_message(st: &State, message: *mut MPI_Message) -> Result<Option<MessageEntry>> {
    if message.is_null() {
        return Err(err!(Arg, "the message argument is NULL"));
    }
    // SAFETY: non-null, and points to the caller's MPI_Message (MPI's contract).
    let value = unsafe { message.read() };
    if value == abi::MPI_MESSAGE_NO_PROC {
        // SAFETY: as above; the handle is spent.
        unsafe { message.write(abi::MPI_MESSAGE_NULL) };
        return Ok(None);
    }
    let v = value as usize;
    if value == abi::MPI_MESSAGE_NULL {
        return Err(err!(Request, "MPI_MESSAGE_NULL names no message: pass a handle from MPI_Mprobe or MPI_Improbe"));
    }
    let entry = decode(Kind::Message, v).and_then(|h| lock(&st.messages).remove(h)).ok_or_else(|| {
        err!(Request, "invalid message handle {v:#x} (already received, or not from MPI_Mprobe/MPI_Improbe)")
    })?;
    blame(entry.comm_handle);
    // SAFETY: as above; the handle is spent.
    unsafe { message.write(abi::MPI_MESSAGE_NULL) };
    Ok(Some(entry))
}

/// The communicator a matched message came on, and its handle (`None` for MPI_MESSAGE_NO_PROC).
type Origin = Option<(Arc<Comm>, usize)>;

/// Starts the matched receive of `message` into `buf`: its request, and where it came from.
fn start(st: &State, buf: Region, message: *mut MPI_Message) -> Result<(Arc<Request>, Origin)> {
    let Some(entry) = take_message(st, message)? else {
        return Ok((Request::completed(Outcome::empty()), None));
    };
    // SAFETY: MPI's contract: a receive's buffer stays valid, and untouched by anything else,
    // until the receive completes.
    let req = st.rt.imrecv(entry.matched, unsafe { buf.recv() })?;
    Ok((req, Some((entry.comm, entry.comm_handle))))
}

fn mrecv(st: &State, buf: Region, message: *mut MPI_Message, status: *mut MPI_Status) -> Result<()> {
    let (req, comm) = start(st, buf, message)?;
    let outcome = st.rt.wait_until(|| req.outcome())?;
    let s = match &comm {
        Some((c, _)) => status::of(&outcome, c),
        None => status::proc_null(),
    };
    status::write(status, s);
    outcome_result(outcome).map(|_| ())
}

fn imrecv(st: &State, buf: Region, message: *mut MPI_Message, request: *mut MPI_Request) -> Result<()> {
    if request.is_null() {
        return Err(err!(Arg, "the request output argument is NULL"));
    }
    let (req, comm) = start(st, buf, message)?;
    let (c, comm_handle) = match comm {
        Some(c) => c,
        None => (handles::comm(st, abi::MPI_COMM_SELF)?, abi::MPI_COMM_SELF as usize),
    };
    let handle = new_handle(st, Some((req, None)), c, comm_handle, None)?;
    out(request, handle, "request")
}

ffi_fn! {
    fn MPI_Mrecv(
        buf: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        message: *mut MPI_Message,
        status: *mut MPI_Status,
    ) -> c_int {
        let st = state()?;
        handles::count(count)?;
        mrecv(st, buffer(st, buf, count, datatype)?, message, status)
    }
}

ffi_fn! {
    fn MPI_Mrecv_c(
        buf: *mut c_void,
        count: MPI_Count,
        datatype: MPI_Datatype,
        message: *mut MPI_Message,
        status: *mut MPI_Status,
    ) -> c_int {
        let st = state()?;
        mrecv(st, buffer_c(st, buf, count, datatype)?, message, status)
    }
}

ffi_fn! {
    fn MPI_Imrecv(
        buf: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        message: *mut MPI_Message,
        request: *mut MPI_Request,
    ) -> c_int {
        let st = state()?;
        handles::count(count)?;
        imrecv(st, buffer(st, buf, count, datatype)?, message, request)
    }
}

ffi_fn! {
    fn MPI_Imrecv_c(
        buf: *mut c_void,
        count: MPI_Count,
        datatype: MPI_Datatype,
        message: *mut MPI_Message,
        request: *mut MPI_Request,
    ) -> c_int {
        let st = state()?;
        imrecv(st, buffer_c(st, buf, count, datatype)?, message, request)
    }
}
