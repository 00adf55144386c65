//! Nonblocking send-receive (MPI 4.0): `MPI_Isendrecv` and `MPI_Isendrecv_replace`, one request over both halves.

use super::abi::{MPI_Comm, MPI_Count, MPI_Datatype, MPI_Request};
use super::boundary::{blame, out};
use super::p2p::{new_handle, operation, post};
use super::sendrecv::{outgoing_copy, send_of};
use super::state::state;
use crate::error::Result;
use crate::request_join::join;
use crate::runtime::SendMode;
use std::ffi::{c_int, c_void};

fn isendrecv<N: Into<MPI_Count>>(
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
    request: *mut MPI_Request,
) -> Result<()> {
    blame(comm as usize);
    let st = state()?;
    let (send, c) = operation(st, Some(SendMode::Standard), sendbuf, sendcount, sendtype, dest, sendtag, comm)?;
    let (recv, _) = operation(st, None, recvbuf, recvcount, recvtype, source, recvtag, comm)?;
    let (r, _) = post(st, &recv, &c)?;
    let (s, _) = post(st, &send, &c)?;
    let handle = new_handle(st, Some((join(vec![s, r], 1, ()), None)), c, comm as usize, None)?;
    out(request, handle, "request")
}

fn isendrecv_replace(
    buf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    dest: c_int,
    sendtag: c_int,
    source: c_int,
    recvtag: c_int,
    comm: MPI_Comm,
    request: *mut MPI_Request,
) -> Result<()> {
    blame(comm as usize);
    let st = state()?;
    let (recv, c) = operation(st, None, buf, count, datatype, source, recvtag, comm)?;
    let mut copy = outgoing_copy(&recv);
    // The send reads the copy, which the joined request keeps (its heap block does not move
    // with the Vec) until both halves are done.
    let send = send_of(&mut copy, dest, sendtag);
    let (s, _) = post(st, &send, &c)?;
    let (r, _) = post(st, &recv, &c)?;
    let handle = new_handle(st, Some((join(vec![s, r], 1, copy), None)), c, comm as usize, None)?;
    out(request, handle, "request")
}

ffi_fn! {
    fn MPI_Isendrecv(
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
        request: *mut MPI_Request,
    ) -> c_int {
        isendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount, recvtype, source, recvtag, comm, request)
    }
}

ffi_fn! {
    fn MPI_Isendrecv_c(
        sendbuf: *const c_void,
        sendcount: MPI_Count,
        sendtype: MPI_Datatype,
        dest: c_int,
        sendtag: c_int,
        recvbuf: *mut c_void,
        recvcount: MPI_Count,
        recvtype: MPI_Datatype,
        source: c_int,
        recvtag: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        isendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount, recvtype, source, recvtag, comm, request)
    }
}

ffi_fn! {
    fn MPI_Isendrecv_replace(
        buf: *mut c_void,
        count: c_int,
        datatype: MPI_Datatype,
        dest: c_int,
        sendtag: c_int,
        source: c_int,
        recvtag: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        isendrecv_replace(buf, count.into(), datatype, dest, sendtag, source, recvtag, comm, request)
    }
}

ffi_fn! {
    fn MPI_Isendrecv_replace_c(
        buf: *mut c_void,
        count: MPI_Count,
        datatype: MPI_Datatype,
        dest: c_int,
        sendtag: c_int,
        source: c_int,
        recvtag: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        isendrecv_replace(buf, count, datatype, dest, sendtag, source, recvtag, comm, request)
    }
}
