//! Buffers attached to one communicator (MPI 4.1, also used for sessions' buffers): `MPI_Comm_attach_buffer`, `_detach_buffer`, `_flush_buffer`, `_iflush_buffer`.

use super::abi::{MPI_Comm, MPI_Count, MPI_Request};
use super::boundary::out;
use super::bsend::{attach, context, detach, flush, pending, write_detached};
use super::handles;
use super::state::{state, State};
use crate::error::Result;
use crate::sync::lock;
use std::ffi::{c_int, c_void};
use std::sync::Arc;

fn attach_to(comm: MPI_Comm, buffer: *mut c_void, size: MPI_Count, what: &str) -> Result<()> {
    let st = state()?;
    attach_at(st, context(st, comm)?, buffer, size, what)
}

/// Attaches a buffer to the area of `key`: a communicator's context, or a session's key.
pub(super) fn attach_at(st: &State, key: u64, buffer: *mut c_void, size: MPI_Count, what: &str) -> Result<()> {
    attach(lock(&st.comm_bsend).entry(key).or_default(), buffer, size, what)
}

/// The sends using the own buffer of `key`'s communicator or session, `None` if it has none.
pub(super) fn in_flight(st: &State, key: u64) -> Option<Vec<Arc<crate::request::Request>>> {
    lock(&st.comm_bsend).get(&key).filter(|a| a.attached.is_some()).map(pending)
}

/// Detaches the buffer of `key`'s communicator or session, once its sends are out.
pub(super) fn detach_at(st: &State, key: u64, what: &str) -> Result<(usize, usize)> {
    let take = || lock(&st.comm_bsend).remove(&key).and_then(|a| a.attached);
    detach(st, in_flight(st, key), take, what)
}

fn detach_from(comm: MPI_Comm, what: &str) -> Result<(usize, usize)> {
    let st = state()?;
    detach_at(st, context(st, comm)?, what)
}

ffi_fn! {
    fn MPI_Comm_attach_buffer(comm: MPI_Comm, buffer: *mut c_void, size: c_int) -> c_int {
        attach_to(comm, buffer, size.into(), "MPI_Comm_attach_buffer")
    }
}

ffi_fn! {
    fn MPI_Comm_attach_buffer_c(comm: MPI_Comm, buffer: *mut c_void, size: MPI_Count) -> c_int {
        attach_to(comm, buffer, size, "MPI_Comm_attach_buffer_c")
    }
}

ffi_fn! {
    fn MPI_Comm_detach_buffer(comm: MPI_Comm, buffer_addr: *mut c_void, size: *mut c_int) -> c_int {
        write_detached(buffer_addr, size, detach_from(comm, "MPI_Comm_detach_buffer")?)
    }
}

ffi_fn! {
    fn MPI_Comm_detach_buffer_c(comm: MPI_Comm, buffer_addr: *mut c_void, size: *mut MPI_Count) -> c_int {
        write_detached(buffer_addr, size, detach_from(comm, "MPI_Comm_detach_buffer_c")?)
    }
}

ffi_fn! {
    fn MPI_Comm_flush_buffer(comm: MPI_Comm) -> c_int {
        let st = state()?;
        let ctx = context(st, comm)?;
        flush(st, in_flight(st, ctx).unwrap_or_default())
    }
}

ffi_fn! {
    fn MPI_Comm_iflush_buffer(comm: MPI_Comm, request: *mut MPI_Request) -> c_int {
        let st = state()?;
        let ctx = context(st, comm)?;
        let done = crate::request_join::join(in_flight(st, ctx).unwrap_or_default(), usize::MAX, ());
        let c = handles::comm(st, comm)?;
        let handle = super::p2p::new_handle(st, Some((done, None)), c, comm as usize, None)?;
        out(request, handle, "request")
    }
}
