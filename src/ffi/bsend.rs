//! Buffered mode: attaching and detaching buffers (for the process and per communicator) and the space accounting of buffered sends.

use super::abi::{self, MPI_Comm, MPI_Count, MPI_Request};
use super::boundary::{blame, out};
use super::handles;
use super::region::Region;
use super::state::{state, BsendArea, State};
use crate::error::{err, Result};
use crate::request::{Outcome, Request};
use crate::runtime::SendMode;
use crate::sync::lock;
use std::ffi::{c_int, c_void};
use std::sync::Arc;

/// A buffered send: copied at once against the space of the communicator's attached buffer,
/// or else its session's, or else the process's; the caller's request is complete immediately.
pub fn bsend(st: &State, dest: usize, context: u64, tag: i32, data: Region) -> Result<Arc<Request>> {
    // The communicator's own buffer, else its session's (MPI 4.1), else the process's.
    let session_key = super::session::buffer_key(context);
    let mut comm_areas = lock(&st.comm_bsend);
    let mut process_area = None;
    let own = [Some(context), session_key]
        .into_iter()
        .flatten()
        .find(|k| comm_areas.get(k).is_some_and(|a| a.attached.is_some()));
    let area = match own.and_then(|k| comm_areas.get_mut(&k)) {
        Some(area) => area,
        None => process_area.insert(lock(&st.bsend)),
    };
    let need = data.len() + abi::MPI_BSEND_OVERHEAD as usize;
    let Some((addr, size)) = area.attached else {
        return Err(err!(Buffer, "MPI_Bsend needs a buffer: call MPI_Buffer_attach (or MPI_Comm_attach_buffer) first"));
    };
    area.in_flight.retain(|(r, _)| !r.is_done());
    let used: usize = area.in_flight.iter().map(|(_, n)| n).sum();
    if addr != abi::MPI_BUFFER_AUTOMATIC as usize && used + need > size {
        return Err(err!(Buffer, "the attached buffer ({size} bytes) has {} bytes free but this buffered send needs {need} (message + MPI_BSEND_OVERHEAD); attach a larger buffer", size - used));
    }
    // SAFETY: MPI's contract: the buffer stays valid and unwritten for this call, and a
    // buffered send copies it before returning.
    let internal = st.rt.isend(dest, context, tag, unsafe { data.send() }, SendMode::Buffered)?;
    area.in_flight.push((internal, need));
    Ok(Request::completed(Outcome { count: data.len() as u64, ..Outcome::empty() }))
}

/// Attaches `size` bytes at `buffer` (or MPI_BUFFER_AUTOMATIC: as much as needed) to `area`.
pub fn attach(area: &mut BsendArea, buffer: *mut c_void, size: MPI_Count, what: &str) -> Result<()> {
    let automatic = buffer == abi::MPI_BUFFER_AUTOMATIC;
    if !automatic && (size < 0 || (size > 0 && buffer.is_null())) {
        return Err(err!(Buffer, "{what}: invalid buffer ({size} bytes at {buffer:?})"));
    }
    if area.attached.is_some() {
        return Err(err!(Buffer, "{what}: a buffer is already attached; detach it first"));
    }
    area.attached = Some((buffer as usize, if automatic { 0 } else { size as usize }));
    Ok(())
}

/// The buffered sends still using an area: flushing and detaching wait for them.
pub fn pending(area: &BsendArea) -> Vec<Arc<Request>> {
    area.in_flight.iter().map(|(r, _)| r.clone()).collect()
}

/// Waits until every buffered message sent so far has been transmitted (`MPI_Buffer_flush`).
pub fn flush(st: &State, pending: Vec<Arc<Request>>) -> Result<()> {
    st.rt.wait_until(|| pending.iter().all(|r| r.is_done()).then_some(()))
}

/// Takes `area`'s buffer off once every message sent from it is out: (address, size).
/// `in_flight`: the sends using the buffer, `None` if none is attached.
pub fn detach(
    st: &State,
    in_flight: Option<Vec<Arc<Request>>>,
    take: impl FnOnce() -> Option<(usize, usize)>,
    what: &str,
) -> Result<(usize, usize)> {
    let in_flight = in_flight.ok_or_else(|| err!(Buffer, "{what}: no buffer is attached"))?;
    flush(st, in_flight)?;
    take().ok_or_else(|| err!(Buffer, "{what}: no buffer is attached"))
}

/// Detaches the process's buffer: (address, size).
fn detach_process(st: &State, what: &str) -> Result<(usize, usize)> {
    let in_flight = {
        let area = lock(&st.bsend);
        area.attached.map(|_| pending(&area))
    };
    let take = || {
        let mut area = lock(&st.bsend);
        area.in_flight.clear();
        area.attached.take()
    };
    detach(st, in_flight, take, what)
}

/// Writes a detached buffer's address and size (the size as `T`: `int` or `MPI_Count`).
pub fn write_detached<T: TryFrom<usize>>(
    buffer_addr: *mut c_void,
    size: *mut T,
    (addr, len): (usize, usize),
) -> Result<()> {
    let len = T::try_from(len)
        .map_err(|_| err!(Count, "the detached buffer's size ({len} bytes) does not fit an int; use the _c form"))?;
    out(buffer_addr as *mut *mut c_void, addr as *mut c_void, "buffer address")?;
    out(size, len, "size")
}

ffi_fn! {
    fn MPI_Buffer_attach(buffer: *mut c_void, size: c_int) -> c_int {
        attach(&mut lock(&state()?.bsend), buffer, size.into(), "MPI_Buffer_attach")
    }
}

ffi_fn! {
    fn MPI_Buffer_attach_c(buffer: *mut c_void, size: MPI_Count) -> c_int {
        attach(&mut lock(&state()?.bsend), buffer, size, "MPI_Buffer_attach_c")
    }
}

ffi_fn! {
    fn MPI_Buffer_detach(buffer_addr: *mut c_void, size: *mut c_int) -> c_int {
        write_detached(buffer_addr, size, detach_process(state()?, "MPI_Buffer_detach")?)
    }
}

ffi_fn! {
    fn MPI_Buffer_detach_c(buffer_addr: *mut c_void, size: *mut MPI_Count) -> c_int {
        write_detached(buffer_addr, size, detach_process(state()?, "MPI_Buffer_detach_c")?)
    }
}

ffi_fn! {
    fn MPI_Buffer_flush() -> c_int {
        let st = state()?;
        flush(st, pending(&lock(&st.bsend)))
    }
}

ffi_fn! {
    fn MPI_Buffer_iflush(request: *mut MPI_Request) -> c_int {
        let st = state()?;
        let done = crate::request_join::join(pending(&lock(&st.bsend)), usize::MAX, ());
        let world = handles::comm(st, abi::MPI_COMM_WORLD)?;
        let handle = super::p2p::new_handle(st, Some((done, None)), world, abi::MPI_COMM_WORLD as usize, None)?;
        out(request, handle, "request")
    }
}

/// A communicator's context, for its own buffer.
pub fn context(st: &State, comm: MPI_Comm) -> Result<u64> {
    blame(comm as usize);
    Ok(handles::comm(st, comm)?.context)
}
