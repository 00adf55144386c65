//! Buffers attached to a session (MPI 4.1): `MPI_Session_attach_buffer`, `_detach_buffer`, `_flush_buffer`, `_iflush_buffer`.
//!
//! A session's buffer serves buffered sends on the communicators made from its groups that
//! have no buffer of their own; it is kept with the communicators' buffers (bsend_comm.rs).

use super::abi::{self, MPI_Count, MPI_Request, MPI_Session};
use super::boundary::out;
use super::bsend::{flush, write_detached};
use super::bsend_comm::{attach_at, detach_at, in_flight};
use super::session::{buffer_key_of, enter};
use super::state::state;
use crate::error::Result;
use std::ffi::{c_int, c_void};

fn attach_to(session: MPI_Session, buffer: *mut c_void, size: MPI_Count, what: &str) -> Result<()> {
    enter(session)?;
    attach_at(state()?, buffer_key_of(session as usize), buffer, size, what)
}

fn detach_from(session: MPI_Session, what: &str) -> Result<(usize, usize)> {
    enter(session)?;
    detach_at(state()?, buffer_key_of(session as usize), what)
}

ffi_fn! {
    fn MPI_Session_attach_buffer(session: MPI_Session, buffer: *mut c_void, size: c_int) -> c_int {
        attach_to(session, buffer, size.into(), "MPI_Session_attach_buffer")
    }
}

ffi_fn! {
    fn MPI_Session_attach_buffer_c(session: MPI_Session, buffer: *mut c_void, size: MPI_Count) -> c_int {
        attach_to(session, buffer, size, "MPI_Session_attach_buffer_c")
    }
}

ffi_fn! {
    fn MPI_Session_detach_buffer(session: MPI_Session, buffer_addr: *mut c_void, size: *mut c_int) -> c_int {
        write_detached(buffer_addr, size, detach_from(session, "MPI_Session_detach_buffer")?)
    }
}

ffi_fn! {
    fn MPI_Session_detach_buffer_c(session: MPI_Session, buffer_addr: *mut c_void, size: *mut MPI_Count) -> c_int {
        write_detached(buffer_addr, size, detach_from(session, "MPI_Session_detach_buffer_c")?)
    }
}

ffi_fn! {
    fn MPI_Session_flush_buffer(session: MPI_Session) -> c_int {
        enter(session)?;
        let st = state()?;
        flush(st, in_flight(st, buffer_key_of(session as usize)).unwrap_or_default())
    }
}

ffi_fn! {
    fn MPI_Session_iflush_buffer(session: MPI_Session, request: *mut MPI_Request) -> c_int {
        enter(session)?;
        let st = state()?;
        let pending = in_flight(st, buffer_key_of(session as usize)).unwrap_or_default();
        let done = crate::request_join::join(pending, usize::MAX, ());
        // The request needs a communicator; as for MPI_Buffer_iflush, the world's.
        let world = super::handles::comm(st, abi::MPI_COMM_WORLD)?;
        let handle = super::p2p::new_handle(st, Some((done, None)), world, abi::MPI_COMM_WORLD as usize, None)?;
        out(request, handle, "request")
    }
}
