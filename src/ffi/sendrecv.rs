//! Blocking send-receive: `MPI_Sendrecv` and `MPI_Sendrecv_replace` (and their `_c` forms' shared bodies).

use super::abi::{MPI_Comm, MPI_Count, MPI_Datatype, MPI_Status};
use super::boundary::blame;
use super::p2p::{operation, post, send_now};
use super::region::Region;
use super::state::{state, PersistentOp};
use super::status;
use crate::error::Result;
use crate::runtime::{outcome_result, SendMode};
use std::ffi::{c_int, c_void};

ffi_fn! {
    fn MPI_Sendrecv(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        dest: c_int,
        sendtag: c_int,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        source: c_int,
        recvtag: c_int,
        comm: MPI_Comm,
        status: *mut MPI_Status,
    ) -> c_int {
        sendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount, recvtype, source, recvtag, comm, status)
    }
}

/// `MPI_Sendrecv`, with either count type.
pub fn sendrecv<N: Into<MPI_Count>>(
    sendbuf: *const c_void,
    sendcount: N,
    sendtype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    recvbuf: *mut c_void,
    recvcount: N,
    recvtype: MPI_Datatype,
    source: c_int,
    recvtag: c_int,
    comm: MPI_Comm,
    status: *mut MPI_Status,
) -> Result<()> {
    blame(comm as usize);
    let st = state()?;
    let (send, c) = operation(st, Some(SendMode::Standard), sendbuf, sendcount, sendtype, dest, sendtag, comm)?;
    let (recv, _) = operation(st, None, recvbuf, recvcount, recvtype, source, recvtag, comm)?;
    let (req, _) = post(st, &recv, &c)?;
    send_now(st, &send, &c)?;
    let outcome = st.rt.wait_until(|| req.outcome())?;
    status::write(status, status::of(&outcome, &c));
    outcome_result(outcome).map(|_| ())
}

ffi_fn! {
    fn MPI_Sendrecv_replace(
        buf: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        dest: c_int,
        sendtag: c_int,
        source: c_int,
        recvtag: c_int,
        comm: MPI_Comm,
        status: *mut MPI_Status,
    ) -> c_int {
        sendrecv_replace(buf, count, datatype, dest, sendtag, source, recvtag, comm, status)
    }
}

/// `MPI_Sendrecv_replace`, with either count type: the message sent is a copy of `buf`, so
/// the receive may fill `buf` while it goes out.
pub fn sendrecv_replace(
    buf: *mut c_void,
    count: impl Into<MPI_Count>,
    datatype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    source: c_int,
    recvtag: c_int,
    comm: MPI_Comm,
    status: *mut MPI_Status,
) -> Result<()> {
    blame(comm as usize);
    let st = state()?;
    let (recv, c) = operation(st, None, buf, count, datatype, source, recvtag, comm)?;
    let mut copy = outgoing_copy(&recv);
    // `copy` lives until this function returns, after the send has completed
    // (or copied its data), and nothing else touches it.
    let send = send_of(&mut copy, dest, sendtag);
    let (req, _) = post(st, &recv, &c)?;
    send_now(st, &send, &c)?;
    let outcome = st.rt.wait_until(|| req.outcome())?;
    drop(copy);
    status::write(status, status::of(&outcome, &c));
    outcome_result(outcome).map(|_| ())
}

/// The data a send-receive-replace sends: a packed copy of the buffer `recv` will overwrite.
pub fn outgoing_copy(recv: &PersistentOp) -> Vec<u8> {
    match &recv.layout {
        // SAFETY: MPI's contract: the caller's buffer stays valid until the operation completes,
        // and nothing writes it before the receive is posted, after this copy.
        Some(layout) => unsafe { layout.gather() },
        // SAFETY: as above.
        None => unsafe { recv.buf.bytes() }.to_vec(),
    }
}

/// A standard send of `copy` (packed data) to `dest`; the caller keeps `copy` alive, and its
/// heap block in place, until the send completes.
pub fn send_of(copy: &mut [u8], dest: c_int, tag: c_int) -> PersistentOp {
    let buf = Region::new(copy.as_mut_ptr(), copy.len());
    PersistentOp { send: Some(SendMode::Standard), buf, peer: dest, tag, layout: None }
}
