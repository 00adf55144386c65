//! Buffered mode: `MPI_Buffer_attach`/`MPI_Buffer_detach` and the space accounting of buffered sends.

use super::abi;
use super::boundary::out;
use super::region::Region;
use super::state::{state, State};
use crate::error::{err, Result};
use crate::request::{Outcome, Request};
use crate::runtime::SendMode;
use crate::sync::lock;
use std::ffi::{c_int, c_void};
use std::sync::Arc;

/// A buffered send: copied at once against the attached buffer's space; the caller's
/// request is complete immediately.
pub fn bsend(st: &State, dest: usize, context: u64, tag: i32, data: Region) -> Result<Arc<Request>> {
    let need = data.len() + abi::MPI_BSEND_OVERHEAD as usize;
    let mut area = lock(&st.bsend);
    let Some((_, size)) = area.attached else {
        return Err(err!(Buffer, "MPI_Bsend needs a buffer: call MPI_Buffer_attach first"));
    };
    area.in_flight.retain(|(r, _)| !r.is_done());
    let used: usize = area.in_flight.iter().map(|(_, n)| n).sum();
    if used + need > size {
        return Err(err!(Buffer, "the attached buffer ({size} bytes) has {} bytes free but this buffered send needs {need} (message + MPI_BSEND_OVERHEAD); attach a larger buffer", size - used));
    }
    // SAFETY: MPI's contract: the buffer stays valid and unwritten for this call, and a
    // buffered send copies it before returning.
    let internal = st.rt.isend(dest, context, tag, unsafe { data.send() }, SendMode::Buffered)?;
    area.in_flight.push((internal, need));
    Ok(Request::completed(Outcome { count: data.len() as u64, ..Outcome::empty() }))
}

ffi_fn! {
    fn MPI_Buffer_attach(buffer: *mut c_void, size: c_int) -> c_int {
        let st = state()?;
        if size < 0 || (size > 0 && buffer.is_null()) {
            return Err(err!(Buffer, "MPI_Buffer_attach: invalid buffer ({size} bytes at {buffer:?})"));
        }
        let mut area = lock(&st.bsend);
        if area.attached.is_some() {
            return Err(err!(Buffer, "MPI_Buffer_attach: a buffer is already attached; detach it first"));
        }
        area.attached = Some((buffer as usize, size as usize));
        Ok(())
    }
}

ffi_fn! {
    fn MPI_Buffer_detach(buffer_addr: *mut c_void, size: *mut c_int) -> c_int {
        let st = state()?;
        let pending: Vec<Arc<Request>> = lock(&st.bsend).in_flight.iter().map(|(r, _)| r.clone()).collect();
        // MPI: detaching blocks until every buffered message has been transmitted.
        st.rt.wait_until(|| pending.iter().all(|r| r.is_done()).then_some(()))?;
        let mut area = lock(&st.bsend);
        let (addr, len) =
            area.attached.take().ok_or_else(|| err!(Buffer, "MPI_Buffer_detach: no buffer is attached"))?;
        area.in_flight.clear();
        out(buffer_addr as *mut *mut c_void, addr as *mut c_void, "buffer address")?;
        out(size, len as c_int, "size")
    }
}
