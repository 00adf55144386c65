//! Partitioned point-to-point in C: MPI_Psend_init, MPI_Precv_init, MPI_Pready(_range/_list), MPI_Parrived, and MPI_Start/MPI_Request_free for them.
//!
//! The handles are ordinary persistent request handles (so the wait and test calls complete a
//! round and leave the request inactive); the partitioned end behind each one is kept here by
//! handle value. The protocol and its design are described in partitioned_round.rs.

use super::abi::{self, MPI_Comm, MPI_Count, MPI_Datatype, MPI_Info, MPI_Request};
use super::boundary::{blame, out};
use super::handles;
use super::p2p::new_handle;
use super::partitioned_round::{Endpoint, Round, MAX_PARTITIONS};
use super::state::{decode, state, Kind, Persistent, State};
use crate::error::{err, Result};
use crate::partition::Cut;
use crate::request::Request;
use crate::sync::lock;
use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::sync::{Arc, LazyLock, Mutex};

static ENDPOINTS: LazyLock<Mutex<HashMap<usize, Arc<Endpoint>>>> = LazyLock::new(Mutex::default);

#[allow(clippy::too_many_arguments)]
fn init(
    sends: bool,
    buf: *const c_void,
    partitions: c_int,
    count: MPI_Count,
    datatype: MPI_Datatype,
    peer: c_int,
    tag: c_int,
    comm: MPI_Comm,
    request: *mut MPI_Request,
) -> Result<()> {
    blame(comm as usize);
    let st = state()?;
    let name = if sends { "MPI_Psend_init" } else { "MPI_Precv_init" };
    if request.is_null() {
        return Err(err!(Arg, "{name}: the request output argument is NULL"));
    }
    if partitions < 1 || partitions as usize > MAX_PARTITIONS {
        return Err(err!(Arg, "{name}: partitions is {partitions}; it must be from 1 to {MAX_PARTITIONS}"));
    }
    if count < 0 {
        return Err(err!(Count, "{name}: the count per partition is {count}; it must not be negative"));
    }
    let c = handles::comm(st, comm)?;
    let partitions = partitions as usize;
    let total = count
        .checked_mul(partitions as i64)
        .ok_or_else(|| err!(Count, "{name}: {partitions} partitions of {count} items overflow"))?;
    let t = handles::datatype(st, datatype)?;
    if !handles::tiles(datatype, &t) {
        return Err(super::layout::contiguous_only(name));
    }
    let buf = handles::region_of(&t, buf, t.bytes(total)?)?;
    let cut = Cut { partitions, part_bytes: t.bytes(count)? };
    let peer_world = if sends {
        handles::send_tag(tag)?;
        handles::dest(&c, peer)?
    } else {
        if peer == abi::MPI_ANY_SOURCE || tag == abi::MPI_ANY_TAG {
            return Err(err!(Arg, "{name}: a partitioned receive needs a specific source and tag (MPI_ANY_SOURCE and MPI_ANY_TAG are not allowed)"));
        }
        handles::recv_tag(tag)?;
        handles::dest(&c, peer)?
    };
    let end = Endpoint::open(&c, st.rt.rank(), peer_world, tag, sends, cut, buf)?;
    let handle = new_handle(st, None, c, comm as usize, Some(Persistent::Partitioned))?;
    lock(&ENDPOINTS).insert(handle as usize, end);
    out(request, handle, "request")
}

fn endpoint(value: usize) -> Option<Arc<Endpoint>> {
    lock(&ENDPOINTS).get(&value).cloned()
}

/// The end behind a partitioned request and its active round; errors if it is not active.
fn active(st: &State, request: MPI_Request, name: &str) -> Result<(Arc<Endpoint>, Arc<Round>)> {
    let value = request as usize;
    let end = endpoint(value).ok_or_else(|| {
        err!(Request, "{name}: request {value:#x} is not a partitioned request (made by MPI_Psend_init or MPI_Precv_init, and not freed)")
    })?;
    let h = decode(Kind::Request, value).ok_or_else(|| err!(Request, "{name}: invalid request handle {value:#x}"))?;
    let is_active = {
        let reqs = lock(&st.requests);
        let e = reqs.get(h).ok_or_else(|| err!(Request, "{name}: request {value:#x} was freed"))?;
        blame(e.comm_handle);
        e.active.is_some()
    };
    match end.current() {
        Some(round) if is_active => Ok((end, round)),
        _ => Err(err!(Request, "{name}: request {value:#x} is inactive; call MPI_Start on it first")),
    }
}

/// For `MPI_Start` of an inactive partitioned request: begins a round, whose request completes
/// with it. Called without the request table's lock: the round's first steps may complete requests.
pub fn start(value: usize) -> Result<Arc<Request>> {
    let end = endpoint(value).ok_or_else(|| err!(Intern, "MPI_Start: partitioned request {value:#x} has no end"))?;
    Ok(end.start().request.clone())
}

/// For `MPI_Request_free`: forgets a partitioned request's end.
pub fn forget(value: usize) {
    lock(&ENDPOINTS).remove(&value);
}

fn send_end(st: &State, request: MPI_Request, name: &str) -> Result<(Arc<Endpoint>, Arc<Round>)> {
    let (end, round) = active(st, request, name)?;
    if !end.sends {
        return Err(err!(
            Request,
            "{name}: the request is a partitioned receive; only the sending end marks partitions ready"
        ));
    }
    Ok((end, round))
}

fn partition_index(end: &Endpoint, p: c_int, name: &str) -> Result<usize> {
    usize::try_from(p).ok().filter(|&p| p < end.cut.partitions).ok_or_else(|| {
        err!(
            Arg,
            "{name}: partition {p} is out of range: the request has {} partitions (0 to {})",
            end.cut.partitions,
            end.cut.partitions - 1
        )
    })
}

ffi_fn! {
    fn MPI_Psend_init(
        buf: *const c_void,
        partitions: c_int,
        count: MPI_Count,
        datatype: MPI_Datatype,
        dest: c_int,
        tag: c_int,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        let _ = info;
        init(true, buf, partitions, count, datatype, dest, tag, comm, request)
    }
}

ffi_fn! {
    fn MPI_Precv_init(
        buf: *mut c_void,
        partitions: c_int,
        count: MPI_Count,
        datatype: MPI_Datatype,
        dest: c_int,
        tag: c_int,
        comm: MPI_Comm,
        info: MPI_Info,
        request: *mut MPI_Request,
    ) -> c_int {
        let _ = info;
        init(false, buf, partitions, count, datatype, dest, tag, comm, request)
    }
}

ffi_fn! {
    fn MPI_Pready(partition: c_int, request: MPI_Request) -> c_int {
        let (end, round) = send_end(state()?, request, "MPI_Pready")?;
        end.ready(&round, partition_index(&end, partition, "MPI_Pready")?)
    }
}

ffi_fn! {
    fn MPI_Pready_range(partition_low: c_int, partition_high: c_int, request: MPI_Request) -> c_int {
        let name = "MPI_Pready_range";
        let (end, round) = send_end(state()?, request, name)?;
        let low = partition_index(&end, partition_low, name)?;
        let high = partition_index(&end, partition_high, name)?;
        if low > high {
            return Err(err!(Arg, "{name}: partition_low {low} is above partition_high {high}"));
        }
        (low..=high).try_for_each(|p| end.ready(&round, p))
    }
}

ffi_fn! {
    fn MPI_Pready_list(length: c_int, array_of_partitions: *const c_int, request: MPI_Request) -> c_int {
        let name = "MPI_Pready_list";
        let (end, round) = send_end(state()?, request, name)?;
        if length < 0 || (length > 0 && array_of_partitions.is_null()) {
            return Err(err!(Arg, "{name}: invalid partition list ({length} entries at {array_of_partitions:?})"));
        }
        let list = if length == 0 {
            &[][..]
        } else {
            // SAFETY: MPI's contract: the array holds `length` partition indices.
            unsafe { std::slice::from_raw_parts(array_of_partitions, length as usize) }
        };
        // All checked before any is sent, so a bad entry leaves the round as it was.
        let parts = list.iter().map(|&p| partition_index(&end, p, name)).collect::<Result<Vec<_>>>()?;
        parts.into_iter().try_for_each(|p| end.ready(&round, p))
    }
}

ffi_fn! {
    fn MPI_Parrived(request: MPI_Request, partition: c_int, flag: *mut c_int) -> c_int {
        let name = "MPI_Parrived";
        let st = state()?;
        let value = request as usize;
        let end = endpoint(value).ok_or_else(|| err!(Request, "{name}: request {value:#x} is not a partitioned request (made by MPI_Precv_init, and not freed)"))?;
        if end.sends {
            return Err(err!(Request, "{name}: the request is a partitioned send; ask the receiving end"));
        }
        let q = partition_index(&end, partition, name)?;
        // An inactive request's data is all in place (MPI 4.1 §4.2.2).
        let Ok((_, round)) = active(st, request, name) else { return out(flag, 1, "flag") };
        if let Some(e) = round.failure() {
            return Err(e);
        }
        out(flag, end.arrived(&round, q) as c_int, "flag")
    }
}
