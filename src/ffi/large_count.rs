//! The large-count (`MPI_Count`) forms of the point-to-point calls: the same code as the `int` forms, with the count checked as 64-bit.

use super::abi::{MPI_Comm, MPI_Count, MPI_Datatype, MPI_Request, MPI_Status};
use super::p2p::{blocking_send, recv, request_call, Begin};
use super::region::Region;
use super::sendrecv::{sendrecv, sendrecv_replace};
use super::state::State;
use crate::error::Result;
use crate::runtime::SendMode;
use std::ffi::{c_int, c_void};

/// The caller's buffer of `count` items of `dtype`, for either count type.
pub fn buffer_c(st: &State, buf: *const c_void, count: MPI_Count, dtype: MPI_Datatype) -> Result<Region> {
    match super::layout::message(st, buf, count, dtype)? {
        (region, None) => Ok(region),
        (_, Some(_)) => Err(super::layout::contiguous_only("a matched receive (MPI_Mrecv, MPI_Imrecv)")),
    }
}

ffi_fn! {
    fn MPI_Send_c(
        buf: *const c_void,
        count: MPI_Count,
        datatype: MPI_Datatype,
        dest: c_int,
        tag: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        blocking_send(SendMode::Standard, buf, count, datatype, dest, tag, comm)
    }
}

ffi_fn! {
    fn MPI_Rsend_c(
        buf: *const c_void,
        count: MPI_Count,
        datatype: MPI_Datatype,
        dest: c_int,
        tag: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        blocking_send(SendMode::Standard, buf, count, datatype, dest, tag, comm)
    }
}

ffi_fn! {
    fn MPI_Ssend_c(
        buf: *const c_void,
        count: MPI_Count,
        datatype: MPI_Datatype,
        dest: c_int,
        tag: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        blocking_send(SendMode::Synchronous, buf, count, datatype, dest, tag, comm)
    }
}

ffi_fn! {
    fn MPI_Bsend_c(
        buf: *const c_void,
        count: MPI_Count,
        datatype: MPI_Datatype,
        dest: c_int,
        tag: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        blocking_send(SendMode::Buffered, buf, count, datatype, dest, tag, comm)
    }
}

ffi_fn! {
    fn MPI_Isend_c(
        buf: *const c_void,
        count: MPI_Count,
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
    fn MPI_Irsend_c(
        buf: *const c_void,
        count: MPI_Count,
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
    fn MPI_Issend_c(
        buf: *const c_void,
        count: MPI_Count,
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
    fn MPI_Ibsend_c(
        buf: *const c_void,
        count: MPI_Count,
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
    fn MPI_Irecv_c(
        buf: *mut c_void,
        count: MPI_Count,
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
    fn MPI_Send_init_c(
        buf: *const c_void,
        count: MPI_Count,
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
    fn MPI_Rsend_init_c(
        buf: *const c_void,
        count: MPI_Count,
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
    fn MPI_Ssend_init_c(
        buf: *const c_void,
        count: MPI_Count,
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
    fn MPI_Bsend_init_c(
        buf: *const c_void,
        count: MPI_Count,
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
    fn MPI_Recv_init_c(
        buf: *mut c_void,
        count: MPI_Count,
        datatype: MPI_Datatype,
        source: c_int,
        tag: c_int,
        comm: MPI_Comm,
        request: *mut MPI_Request,
    ) -> c_int {
        request_call(Begin::OnStart, None, buf, count, datatype, source, tag, comm, request)
    }
}

ffi_fn! {
    fn MPI_Recv_c(
        buf: *mut c_void,
        count: MPI_Count,
        datatype: MPI_Datatype,
        source: c_int,
        tag: c_int,
        comm: MPI_Comm,
        status: *mut MPI_Status,
    ) -> c_int {
        recv(buf, count, datatype, source, tag, comm, status)
    }
}

ffi_fn! {
    fn MPI_Sendrecv_c(
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
        status: *mut MPI_Status,
    ) -> c_int {
        sendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount, recvtype, source, recvtag, comm, status)
    }
}

ffi_fn! {
    fn MPI_Sendrecv_replace_c(
        buf: *mut c_void,
        count: MPI_Count,
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
