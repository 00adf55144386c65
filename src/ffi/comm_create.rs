//! Communicator constructors (create, create_group, idup, dup_with_info, split_type) and names.

use super::abi::{self, MPI_Comm, MPI_Group, MPI_Info, MPI_Request};
use super::boundary::{blame, out};
use super::comm::{register, register_duplicate};
use super::group::group;
use super::handles::{self, comm_slot};
use super::state::{state, State};
use crate::collective::{self, construct::SplitType};
use crate::comm::Comm;
use crate::error::{err, Result};
use crate::request::{Outcome, Request};
use crate::sync::lock;
use std::ffi::{c_char, c_int, CStr};

/// Registers `made` as the caller's new communicator, or MPI_COMM_NULL for `None`.
fn handle_of(st: &State, parent: MPI_Comm, made: Option<Comm>) -> Result<MPI_Comm> {
    made.map_or(Ok(abi::MPI_COMM_NULL), |c| register(st, parent, c))
}

ffi_fn! {
    fn MPI_Comm_create(comm: MPI_Comm, group: MPI_Group, newcomm: *mut MPI_Comm) -> c_int {
        blame(comm as usize);
        let st = state()?;
        let (c, g) = (super::collective::settled(st, comm)?, self::group(st, group)?);
        let made = if c.is_inter() {
            super::intercomm::create(&st.rt, &c, &g)?
        } else {
            collective::construct::create(&st.rt, &c, &g)?
        };
        out(newcomm, handle_of(st, comm, made)?, "new communicator")
    }
}

ffi_fn! {
    fn MPI_Comm_create_group(comm: MPI_Comm, group: MPI_Group, tag: c_int, newcomm: *mut MPI_Comm) -> c_int {
        blame(comm as usize);
        let st = state()?;
        let (c, g) = (super::collective::settled(st, comm)?, self::group(st, group)?);
        super::intercomm::intra_only(&c, "MPI_Comm_create_group")?;
        let tag = handles::send_tag(tag)?;
        let made = collective::construct::create_group(&st.rt, &c, &g, tag)?;
        out(newcomm, handle_of(st, comm, made)?, "new communicator")
    }
}

ffi_fn! {
    fn MPI_Comm_dup_with_info(comm: MPI_Comm, info: MPI_Info, newcomm: *mut MPI_Comm) -> c_int {
        // partyline takes no communicator hints, so the info is not read.
        let _ = info;
        blame(comm as usize);
        let st = state()?;
        let c = super::collective::settled(st, comm)?;
        out(newcomm, register_duplicate(st, comm, collective::dup(&st.rt, &c)?)?, "new communicator")
    }
}

/// `MPI_Comm_idup`: the new communicator's context is derived without any message (see
/// `construct::dup_now`), so the duplicate is made at once and the request is already complete.
fn idup(comm: MPI_Comm, newcomm: *mut MPI_Comm, request: *mut MPI_Request) -> Result<()> {
    blame(comm as usize);
    let st = state()?;
    let c = handles::comm(st, comm)?;
    if newcomm.is_null() || request.is_null() {
        return Err(err!(Arg, "MPI_Comm_idup: the newcomm or request output argument is NULL"));
    }
    let made = register_duplicate(st, comm, collective::construct::dup_now(&c))?;
    let done = Request::completed(Outcome::empty());
    let req = super::p2p::new_handle(st, Some((done, None)), c, comm as usize, None)?;
    out(newcomm, made, "new communicator")?;
    out(request, req, "request")
}

ffi_fn! {
    fn MPI_Comm_idup(comm: MPI_Comm, newcomm: *mut MPI_Comm, request: *mut MPI_Request) -> c_int {
        idup(comm, newcomm, request)
    }
}

ffi_fn! {
    fn MPI_Comm_idup_with_info(comm: MPI_Comm, info: MPI_Info, newcomm: *mut MPI_Comm, request: *mut MPI_Request) -> c_int {
        let _ = info;
        idup(comm, newcomm, request)
    }
}

ffi_fn! {
    fn MPI_Comm_split_type(comm: MPI_Comm, split_type: c_int, key: c_int, info: MPI_Info, newcomm: *mut MPI_Comm) -> c_int {
        blame(comm as usize);
        let st = state()?;
        let c = super::collective::settled(st, comm)?;
        let kind = match split_type {
            abi::MPI_UNDEFINED => SplitType::Undefined,
            abi::MPI_COMM_TYPE_SHARED => SplitType::Shared,
            abi::MPI_COMM_TYPE_HW_UNGUIDED => SplitType::HwUnguided,
            // The one resource type MPI names, "mpi_shared_memory", is the host here (as
            // MPI_COMM_TYPE_SHARED); others, or none, give MPI_COMM_NULL as the standard says.
            abi::MPI_COMM_TYPE_HW_GUIDED | abi::MPI_COMM_TYPE_RESOURCE_GUIDED => {
                if super::info::value(info, "mpi_hw_resource_type")?.as_deref() == Some("mpi_shared_memory") {
                    SplitType::Shared
                } else {
                    SplitType::InfoGuided
                }
            }
            other => return Err(err!(Arg, "MPI_Comm_split_type: split_type {other} is not one of MPI_COMM_TYPE_SHARED, MPI_COMM_TYPE_HW_GUIDED, MPI_COMM_TYPE_HW_UNGUIDED, MPI_COMM_TYPE_RESOURCE_GUIDED or MPI_UNDEFINED")),
        };
        let made = if c.is_inter() {
            // Across an intercommunicator, the host is the color; the hardware levels below
            // it are unknown to partyline, so the other kinds give MPI_COMM_NULL.
            let color = (kind == SplitType::Shared).then(collective::construct::host_id);
            crate::collective::intercomm::split(&st.rt, &c, color, key)?
        } else {
            collective::construct::split_type(&st.rt, &c, kind, key)?
        };
        out(newcomm, handle_of(st, comm, made)?, "new communicator")
    }
}

ffi_fn! {
    fn MPI_Comm_get_parent(parent: *mut MPI_Comm) -> c_int {
        state()?;
        // Processes are never spawned (MPI_Comm_spawn is unsupported), so none has a parent.
        out(parent, abi::MPI_COMM_NULL, "parent")
    }
}

ffi_fn! {
    fn MPI_Comm_set_name(comm: MPI_Comm, comm_name: *const c_char) -> c_int {
        blame(comm as usize);
        let st = state()?;
        handles::comm(st, comm)?;
        if comm_name.is_null() {
            return Err(err!(Arg, "MPI_Comm_set_name: the name is NULL"));
        }
        // SAFETY: non-null, and MPI's contract is a NUL-terminated string.
        let name = unsafe { CStr::from_ptr(comm_name) }.to_string_lossy();
        // MPI keeps at most MPI_MAX_OBJECT_NAME - 1 characters.
        let mut end = name.len().min(abi::MPI_MAX_OBJECT_NAME as usize - 1);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let slot = comm_slot(comm as usize).ok_or_else(|| err!(Comm, "invalid communicator handle {:#x}", comm as usize))?;
        if let Some(e) = lock(&st.comms).get_mut(slot) {
            e.name = Some(name[..end].to_string());
        }
        Ok(())
    }
}

ffi_fn! {
    fn MPI_Comm_get_name(comm: MPI_Comm, comm_name: *mut c_char, resultlen: *mut c_int) -> c_int {
        blame(comm as usize);
        let st = state()?;
        // The null handle has a name too (as MPI_COMM_WORLD has), though no communicator.
        if comm != abi::MPI_COMM_NULL {
            handles::comm(st, comm)?;
        }
        let stored = comm_slot(comm as usize).and_then(|h| lock(&st.comms).get(h).and_then(|e| e.name.clone()));
        let name = stored.unwrap_or_else(|| match comm {
            c if c == abi::MPI_COMM_WORLD => "MPI_COMM_WORLD".into(),
            c if c == abi::MPI_COMM_SELF => "MPI_COMM_SELF".into(),
            c if c == abi::MPI_COMM_NULL => "MPI_COMM_NULL".into(),
            _ => String::new(),
        });
        if comm_name.is_null() || resultlen.is_null() {
            return Err(err!(Arg, "MPI_Comm_get_name: the name or resultlen output argument is NULL"));
        }
        // SAFETY: the caller's buffer holds MPI_MAX_OBJECT_NAME chars (MPI's contract); the
        // name is at most MPI_MAX_OBJECT_NAME - 1 bytes, plus its NUL.
        unsafe {
            std::ptr::copy_nonoverlapping(name.as_ptr() as *const c_char, comm_name, name.len());
            comm_name.add(name.len()).write(0);
        }
        out(resultlen, name.len() as c_int, "resultlen")
    }
}
