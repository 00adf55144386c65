//! Intercommunicators at the C boundary: creation (from communicators or groups), merge, split and create on one, the remote-group queries, and root arguments.

use super::abi::{self, MPI_Comm, MPI_Errhandler, MPI_Group, MPI_Info};
use super::boundary::{blame, out};
use super::comm::register;
use super::group::{group, register as register_group};
use super::handles::{self, comm_slot};
use super::state::state;
use crate::collective::intercomm;
use crate::comm::Comm;
use crate::error::{err, Result};
use crate::group::Group;
use crate::sync::lock;
use std::ffi::{c_char, c_int, CStr};
use std::sync::Arc;

/// Refuses an intercommunicator where `call` needs an intracommunicator.
pub(super) fn intra_only(c: &Comm, call: &str) -> Result<()> {
    if c.is_inter() {
        return Err(err!(Comm, "{call} is not defined on an intercommunicator; merge it first (MPI_Intercomm_merge) or use an intracommunicator"));
    }
    Ok(())
}

/// `MPI_Comm_split` on an intercommunicator, with `collective::split`'s signature.
pub(super) fn split(
    rt: &crate::runtime::Runtime,
    c: &Comm,
    color: c_int,
    key: c_int,
    undefined: c_int,
) -> Result<Option<Comm>> {
    if color < 0 && color != undefined {
        return Err(err!(Arg, "MPI_Comm_split: color {color} is negative; use a non-negative color or MPI_UNDEFINED"));
    }
    intercomm::split(rt, c, (color != undefined).then_some(color as u64), key)
}

/// `MPI_Comm_create` on an intercommunicator: the local processes of `g` (a subgroup of the
/// local group, the same on every local process), in `g`'s order, facing the remote processes
/// that were in the group their side passed; MPI_COMM_NULL outside `g`, or if that is empty.
pub(super) fn create(rt: &crate::runtime::Runtime, c: &Comm, g: &Group) -> Result<Option<Comm>> {
    let outsider = g.members.iter().find(|w| !c.group.contains(w));
    // Every process takes part in the exchange first, so a bad group fails without a hang.
    let rank = g.rank_of(c.my_world_rank());
    let made = intercomm::split(rt, c, rank.map(|_| 0), rank.map_or(0, |r| r as i32))?;
    if let Some(w) = outsider {
        return Err(err!(Group, "MPI_Comm_create: the group holds world rank {w}, which is not in the intercommunicator's local group; pass a subgroup of the local group"));
    }
    Ok(made)
}

/// A collective's root argument on `c`: a rank of an intracommunicator, or on an
/// intercommunicator MPI_ROOT, MPI_PROC_NULL or a remote rank, as `inter::root_index` encodes it.
pub(super) fn root(c: &Comm, root: c_int) -> Result<usize> {
    if c.is_inter() {
        return crate::collective::inter::root_index(c, root, abi::MPI_ROOT, abi::MPI_PROC_NULL);
    }
    crate::collective::root(c, root)
}

/// The intercommunicator behind `comm`, refused if it is an intracommunicator.
fn inter(comm: MPI_Comm, call: &str) -> Result<Arc<Comm>> {
    let c = handles::comm(state()?, comm)?;
    if !c.is_inter() {
        return Err(err!(
            Comm,
            "{call}: the communicator is an intracommunicator, so it has no remote group; pass an intercommunicator"
        ));
    }
    Ok(c)
}

/// `rank` as a rank of a group of `size`, or an error naming `what`.
fn leader(rank: c_int, size: usize, what: &str) -> Result<usize> {
    usize::try_from(rank).ok().filter(|r| *r < size).ok_or_else(|| {
        err!(Rank, "{what} {rank} is not a rank of its group, which has {size} members (0 to {})", size as i64 - 1)
    })
}

ffi_fn! {
    fn MPI_Comm_test_inter(comm: MPI_Comm, flag: *mut c_int) -> c_int {
        blame(comm as usize);
        let c = handles::comm(state()?, comm)?;
        out(flag, c.is_inter() as c_int, "flag")
    }
}

ffi_fn! {
    fn MPI_Comm_remote_size(comm: MPI_Comm, size: *mut c_int) -> c_int {
        blame(comm as usize);
        out(size, inter(comm, "MPI_Comm_remote_size")?.peers().len() as c_int, "size")
    }
}

ffi_fn! {
    fn MPI_Comm_remote_group(comm: MPI_Comm, group: *mut MPI_Group) -> c_int {
        blame(comm as usize);
        let c = inter(comm, "MPI_Comm_remote_group")?;
        let made = register_group(state()?, Group::new(c.peers().to_vec()))?;
        out(group, made, "group")
    }
}

ffi_fn! {
    fn MPI_Intercomm_create(local_comm: MPI_Comm, local_leader: c_int, peer_comm: MPI_Comm, remote_leader: c_int, tag: c_int, newintercomm: *mut MPI_Comm) -> c_int {
        blame(local_comm as usize);
        let st = state()?;
        let local = super::collective::settled(st, local_comm)?;
        intra_only(&local, "MPI_Intercomm_create (as local_comm)")?;
        let leader = leader(local_leader, local.size(), "MPI_Intercomm_create: local_leader")?;
        let tag = handles::send_tag(tag)?;
        // Only the leader reads peer_comm and remote_leader, as MPI says.
        let remote = || {
            let peer = handles::comm(st, peer_comm)?;
            let n = peer.peers().len();
            let world = handles::dest(&peer, remote_leader)?
                .ok_or_else(|| err!(Rank, "MPI_Intercomm_create: remote_leader is MPI_PROC_NULL; name the other group's leader by its rank in peer_comm (0 to {})", n as i64 - 1))?;
            Ok((world, peer.context))
        };
        let made = intercomm::create(&st.rt, &local, leader, remote, tag)?;
        out(newintercomm, register(st, local_comm, made)?, "new intercommunicator")
    }
}

ffi_fn! {
    fn MPI_Intercomm_create_from_groups(local_group: MPI_Group, local_leader: c_int, remote_group: MPI_Group, remote_leader: c_int, stringtag: *const c_char, info: MPI_Info, errhandler: MPI_Errhandler, newintercomm: *mut MPI_Comm) -> c_int {
        let _ = info;
        let call = "MPI_Intercomm_create_from_groups";
        let st = state()?;
        let (local, remote) = (group(st, local_group)?, group(st, remote_group)?);
        leader(local_leader, local.size(), &format!("{call}: local_leader"))?;
        leader(remote_leader, remote.size(), &format!("{call}: remote_leader"))?;
        if stringtag.is_null() {
            return Err(err!(Arg, "{call}: stringtag is NULL; pass a string that names this creation"));
        }
        // SAFETY: non-null, and MPI's contract is a NUL-terminated string.
        let tag = unsafe { CStr::from_ptr(stringtag) }.to_string_lossy().into_owned();
        let handler = errhandler as usize;
        if !super::env::valid_errhandler(handler) && !super::errhandler::is_user(handler) {
            return Err(err!(Arg, "{call}: unknown error handler {handler:#x}; use MPI_ERRORS_ARE_FATAL, MPI_ERRORS_ABORT, MPI_ERRORS_RETURN or one from MPI_Comm_create_errhandler"));
        }
        let me = handles::comm(st, abi::MPI_COMM_WORLD)?.my_world_rank();
        let made = intercomm::create_from_groups(&st.rt, me, &local, &remote, &tag)?;
        let h = register(st, abi::MPI_COMM_NULL, made)?;
        if let Some(entry) = lock(&st.comms).get_mut(comm_slot(h as usize).expect("just registered")) {
            entry.errhandler = handler;
        }
        out(newintercomm, h, "new intercommunicator")
    }
}

ffi_fn! {
    fn MPI_Intercomm_merge(intercomm: MPI_Comm, high: c_int, newintracomm: *mut MPI_Comm) -> c_int {
        blame(intercomm as usize);
        let st = state()?;
        inter(intercomm, "MPI_Intercomm_merge")?;
        let c = super::collective::settled(st, intercomm)?;
        let merged = intercomm::merge(&st.rt, &c, high != 0)?;
        out(newintracomm, register(st, intercomm, merged)?, "new intracommunicator")
    }
}
