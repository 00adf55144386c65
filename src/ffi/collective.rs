//! Data-moving collectives at the C boundary: broadcast, gather, scatter, allgather and all-to-all, with their v variants.
//!
//! Arguments MPI calls significant only at the root are read only at the root, so other ranks
//! may pass anything there, as MPI allows.

use super::abi::{MPI_Comm, MPI_Datatype};
use super::boundary::blame;
use super::collective_args::{count, even, in_place, items, maybe_in_place, varying, Layout, Wide};
use super::handles;
use super::region::Region;
use super::staging::{self, Mode, Scope};
use super::state::{state, State};
use crate::collective::data;
use crate::collective::executor::{Job, EXECUTOR};
use crate::collective::inter::buffers_read;
use crate::comm::Comm;
use crate::error::Result;
use crate::runtime::Runtime;
use std::ffi::{c_int, c_void};
use std::sync::Arc;

fn comm_and_root(st: &State, comm: MPI_Comm, root: c_int) -> Result<(Arc<Comm>, usize)> {
    let c = handles::comm(st, comm)?;
    let r = super::intercomm::root(&c, root)?;
    Ok((c, r))
}

/// Work on `comm` as a job for either the blocking call or the nonblocking one. The buffers
/// staged for it (non-contiguous datatypes, see staging.rs) go with it and are written back into
/// place when the work succeeds.
pub fn job(comm: &Arc<Comm>, work: impl FnOnce(&Runtime, &Comm) -> Result<()> + Send + 'static) -> Job {
    let c = comm.clone();
    let staged = staging::detach();
    Job { context: c.coll_context(), run: Box::new(move |rt| staged.finish(work(rt, &c))) }
}

/// `comm`, once its pending nonblocking collectives have run: calls that send on the collective
/// context (communicator constructors) must come after them, in MPI's collective order.
pub fn settled(st: &State, comm: MPI_Comm) -> Result<Arc<Comm>> {
    let c = handles::comm(st, comm)?;
    EXECUTOR.settle(&st.rt, c.coll_context())?;
    Ok(c)
}

/// Runs a collective now, after the communicator's pending nonblocking ones (MPI's order).
pub fn blocking(comm: MPI_Comm, prepare: impl FnOnce(&'static State) -> Result<Job>) -> Result<()> {
    blame(comm as usize);
    let st = state()?;
    let job = prepare(st)?;
    EXECUTOR.settle(&st.rt, job.context)?;
    (job.run)(&st.rt)
}

/// `MPI_Bcast`'s work. In every collective's work below, MPI's contract keeps the caller's
/// buffers valid, the receive buffers untouched by anything else, and send and receive buffers
/// apart, until the operation completes (the blocking call returns or the request completes).
pub fn bcast(
    st: &State,
    buffer: *mut c_void,
    count: impl Wide,
    datatype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
) -> Result<Job> {
    let _staging = Scope::new(Mode::Packed);
    let (c, root) = comm_and_root(st, comm, root)?;
    let buf = match buffers_read(&c, root) {
        (false, false) => Region::new(std::ptr::null_mut(), 0),
        _ => items(st, buffer, self::count(count)?, datatype)?,
    };
    // SAFETY: MPI's contract (see `bcast`).
    Ok(job(&c, move |rt, c| data::bcast(rt, c, root, unsafe { buf.bytes_mut() })))
}

ffi_fn! {
    fn MPI_Bcast(buffer: *mut c_void, count: c_int, datatype: MPI_Datatype, root: c_int, comm: MPI_Comm) -> c_int {
        blocking(comm, |st| bcast(st, buffer, count, datatype, root, comm))
    }
}

/// `MPI_Gather(v)`'s work: `layout` describes the root's receive buffer.
pub fn gather(
    st: &State,
    sendbuf: *const c_void,
    sendcount: impl Wide,
    sendtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
    layout: impl FnOnce(&State, usize) -> Result<Layout>,
) -> Result<Job> {
    let _staging = Scope::new(Mode::Packed);
    let (c, root) = comm_and_root(st, comm, root)?;
    let (is_root, leaf) = buffers_read(&c, root);
    let send = if leaf { maybe_in_place(st, sendbuf, sendcount, sendtype, is_root)? } else { None };
    let recv = if is_root { Some(layout(st, c.peers().len())?) } else { None };
    Ok(job(&c, move |rt, c| {
        // SAFETY: MPI's contract (see `bcast`).
        let recv = recv.as_ref().map(|l| (unsafe { l.buf.bytes_mut() }, &l.ranges[..]));
        // SAFETY: MPI's contract (see `bcast`).
        data::gather(rt, c, root, send.map(|b| unsafe { b.bytes() }), recv)
    }))
}

ffi_fn! {
    fn MPI_Gather(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| {
            gather(st, sendbuf, sendcount, sendtype, root, comm, |st, n| even(st, recvbuf, recvcount, recvtype, n))
        })
    }
}

ffi_fn! {
    fn MPI_Gatherv(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const c_int,
        displs: *const c_int,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| {
            gather(st, sendbuf, sendcount, sendtype, root, comm, |st, n| {
                varying(st, recvbuf, recvcounts, displs, recvtype, n)
            })
        })
    }
}

/// `MPI_Scatter(v)`'s work: `layout` describes the root's send buffer.
pub fn scatter(
    st: &State,
    recvbuf: *mut c_void,
    recvcount: impl Wide,
    recvtype: MPI_Datatype,
    root: c_int,
    comm: MPI_Comm,
    layout: impl FnOnce(&State, usize) -> Result<Layout>,
) -> Result<Job> {
    let _staging = Scope::new(Mode::Packed);
    let (c, root) = comm_and_root(st, comm, root)?;
    let (is_root, leaf) = buffers_read(&c, root);
    let recv = if leaf { maybe_in_place(st, recvbuf, recvcount, recvtype, is_root)? } else { None };
    let send = if is_root { Some(layout(st, c.peers().len())?) } else { None };
    Ok(job(&c, move |rt, c| {
        // SAFETY: MPI's contract (see `bcast`).
        let send = send.as_ref().map(|l| (unsafe { l.buf.bytes() }, &l.ranges[..]));
        // SAFETY: MPI's contract (see `bcast`).
        data::scatter(rt, c, root, send, recv.map(|b| unsafe { b.bytes_mut() }))
    }))
}

ffi_fn! {
    fn MPI_Scatter(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| {
            scatter(st, recvbuf, recvcount, recvtype, root, comm, |st, n| even(st, sendbuf, sendcount, sendtype, n))
        })
    }
}

ffi_fn! {
    fn MPI_Scatterv(
        sendbuf: *const c_void,
        sendcounts: *const c_int,
        displs: *const c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        root: c_int,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| {
            scatter(st, recvbuf, recvcount, recvtype, root, comm, |st, n| {
                varying(st, sendbuf, sendcounts, displs, sendtype, n)
            })
        })
    }
}

/// `MPI_Allgather(v)`'s work: `layout` describes the receive buffer.
pub fn allgather(
    st: &State,
    sendbuf: *const c_void,
    sendcount: impl Wide,
    sendtype: MPI_Datatype,
    comm: MPI_Comm,
    layout: impl FnOnce(&State, usize) -> Result<Layout>,
) -> Result<Job> {
    let _staging = Scope::new(Mode::Packed);
    let c = handles::comm(st, comm)?;
    let send = maybe_in_place(st, sendbuf, sendcount, sendtype, true)?;
    let recv = layout(st, c.peers().len())?;
    Ok(job(&c, move |rt, c| {
        // SAFETY: MPI's contract (see `bcast`).
        let (send, buf) = unsafe { (send.map(|b| b.bytes()), recv.buf.bytes_mut()) };
        data::allgather(rt, c, send, buf, &recv.ranges)
    }))
}

ffi_fn! {
    fn MPI_Allgather(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| {
            allgather(st, sendbuf, sendcount, sendtype, comm, |st, n| even(st, recvbuf, recvcount, recvtype, n))
        })
    }
}

ffi_fn! {
    fn MPI_Allgatherv(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const c_int,
        displs: *const c_int,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| {
            allgather(st, sendbuf, sendcount, sendtype, comm, |st, n| {
                varying(st, recvbuf, recvcounts, displs, recvtype, n)
            })
        })
    }
}

/// `MPI_Alltoall(v)`'s work: `send` is skipped for MPI_IN_PLACE.
pub fn alltoall(
    st: &State,
    sendbuf: *const c_void,
    comm: MPI_Comm,
    send: impl FnOnce(&State, usize) -> Result<Layout>,
    recv: impl FnOnce(&State, usize) -> Result<Layout>,
) -> Result<Job> {
    let _staging = Scope::new(Mode::Packed);
    let c = handles::comm(st, comm)?;
    let send = if in_place(sendbuf) { None } else { Some(send(st, c.peers().len())?) };
    let recv = recv(st, c.peers().len())?;
    Ok(job(&c, move |rt, c| {
        // SAFETY: MPI's contract (see `bcast`).
        let send = send.as_ref().map(|l| (unsafe { l.buf.bytes() }, &l.ranges[..]));
        // SAFETY: MPI's contract (see `bcast`).
        data::alltoall(rt, c, send, unsafe { recv.buf.bytes_mut() }, &recv.ranges)
    }))
}

ffi_fn! {
    fn MPI_Alltoall(
        sendbuf: *const c_void,
        sendcount: c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcount: c_int,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| {
            alltoall(
                st,
                sendbuf,
                comm,
                |st, n| even(st, sendbuf, sendcount, sendtype, n),
                |st, n| even(st, recvbuf, recvcount, recvtype, n),
            )
        })
    }
}

ffi_fn! {
    fn MPI_Alltoallv(
        sendbuf: *const c_void,
        sendcounts: *const c_int,
        sdispls: *const c_int,
        sendtype: MPI_Datatype,
        recvbuf: *mut c_void,
        recvcounts: *const c_int,
        rdispls: *const c_int,
        recvtype: MPI_Datatype,
        comm: MPI_Comm,
    ) -> c_int {
        blocking(comm, |st| {
            alltoall(
                st,
                sendbuf,
                comm,
                |st, n| varying(st, sendbuf, sendcounts, sdispls, sendtype, n),
                |st, n| varying(st, recvbuf, recvcounts, rdispls, recvtype, n),
            )
        })
    }
}
