//! Communicator constructors beyond dup/split: from a group (`MPI_Comm_create`, `MPI_Comm_create_group`), by host (`MPI_Comm_split_type`), and the message-free dup behind `MPI_Comm_idup`.

use super::tag::Tag;
use crate::comm::{derive_context, Comm};
use crate::error::{err, Result};
use crate::group::Group;
use crate::runtime::Runtime;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

/// `MPI_Comm_split_type`'s kinds, as far as partyline can tell hardware apart: by host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitType {
    /// MPI_UNDEFINED: take part, get no communicator.
    Undefined,
    /// MPI_COMM_TYPE_SHARED: the ranks that share this host's memory.
    Shared,
    /// MPI_COMM_TYPE_HW_UNGUIDED: the host, if it is a strict subset of the communicator.
    HwUnguided,
    /// MPI_COMM_TYPE_HW_GUIDED / RESOURCE_GUIDED: need an info key partyline does not read yet,
    /// which the standard answers with MPI_COMM_NULL.
    InfoGuided,
}

impl SplitType {
    fn code(self) -> u8 {
        self as u8
    }
}

/// Every member's `mine` (all the same length), in communicator-rank order: each member sends
/// to every other, then receives from each, on the collective context under `tag`.
pub(super) fn allgather_fixed(rt: &Runtime, comm: &Comm, context: u64, tag: Tag, mine: &[u8]) -> Result<Vec<Vec<u8>>> {
    for (r, world) in comm.group.iter().enumerate() {
        if r != comm.rank {
            rt.send_bytes(*world, context, tag.id(), mine)?;
        }
    }
    let mut all = Vec::with_capacity(comm.size());
    for (r, world) in comm.group.iter().enumerate() {
        let mut buf = vec![0u8; mine.len()];
        if r == comm.rank {
            buf.copy_from_slice(mine);
        } else {
            rt.recv_bytes(*world, context, tag.id(), &mut buf)?;
        }
        all.push(buf);
    }
    Ok(all)
}

/// The little-endian u64 at byte `at` of `b`.
pub(super) fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// `MPI_Comm_create`: collective over `parent`. Each process passes the group it joins (the
/// same group on all its members; disjoint groups may be made at once, as MPI 2.2 allows) or
/// one it is not in, and gets `None`. All check each other, so a mismatch fails everywhere.
pub fn create(rt: &Runtime, parent: &Comm, group: &Group) -> Result<Option<Comm>> {
    let me = parent.my_world_rank();
    let outsider = group.members.iter().find(|w| parent.rank_of_world(**w).is_none());
    let mut mine = [0u8; 10];
    mine[..8].copy_from_slice(&group.digest().to_le_bytes());
    mine[8] = group.contains(me) as u8;
    mine[9] = outsider.is_some() as u8;
    let all = allgather_fixed(rt, parent, parent.coll_context(), Tag::Create, &mine)?;
    let context = parent.next_child_context();
    if let Some(w) = outsider {
        return Err(err!(Group, "MPI_Comm_create: the group holds world rank {w}, which is not in the communicator; pass a subgroup of the communicator's group"));
    }
    if let Some(r) = all.iter().position(|b| b[9] != 0) {
        return Err(err!(Group, "MPI_Comm_create: rank {r} of the communicator passed a group that is not a subgroup of the communicator's group"));
    }
    if !group.contains(me) {
        return Ok(None);
    }
    for w in group.members.iter() {
        let r = parent.rank_of_world(*w).expect("checked: a subgroup");
        if u64_at(&all[r], 0) != group.digest() || all[r][8] == 0 {
            return Err(err!(Group, "MPI_Comm_create: rank {r} of the communicator passed a different group than rank {} (both are in this rank's group); every member of a new communicator must pass the same group", parent.rank));
        }
    }
    let rank = group.rank_of(me).expect("a member");
    Ok(Some(Comm::new(group.members.to_vec(), rank, context)))
}

/// `MPI_Comm_create_group`: collective over the group's members only. The context comes from
/// the parent's, the group and `tag` with no message; the members then check that they all
/// passed the same group, on a context of their own.
pub fn create_group(rt: &Runtime, parent: &Comm, group: &Group, tag: i32) -> Result<Option<Comm>> {
    join_group(rt, parent, group, tag, &format!("MPI_Comm_create_group (tag {tag})"))
}

/// `create_group`'s work; `call` names the call (and its tag) in errors.
fn join_group(rt: &Runtime, parent: &Comm, group: &Group, tag: i32, call: &str) -> Result<Option<Comm>> {
    let me = parent.my_world_rank();
    if let Some(w) = group.members.iter().find(|w| parent.rank_of_world(**w).is_none()) {
        return Err(err!(Group, "{call}: the group holds world rank {w}, which is not in the communicator; pass a subgroup of the communicator's group"));
    }
    let Some(rank) = group.rank_of(me) else {
        return Ok(None);
    };
    let digest = group.digest();
    let context = parent.next_group_child_context(digest, tag);
    // The check runs on a context that depends on the parent and tag but not on the group, so
    // members that disagree on the group still meet, and say so instead of waiting forever.
    const MARKER: u64 = u64::from_le_bytes(*b"grpcheck");
    let check = Comm::new(group.members.to_vec(), rank, derive_context(&[parent.context, MARKER, tag as u32 as u64]));
    let all = allgather_fixed(rt, &check, check.coll_context(), Tag::CreateGroup, &digest.to_le_bytes())?;
    if let Some(r) = all.iter().position(|b| u64_at(b, 0) != digest) {
        return Err(err!(Group, "{call}: member {r} of the group passed a different group with the same tag; every member must pass the same group"));
    }
    Ok(Some(Comm::new(group.members.to_vec(), rank, context)))
}

/// `MPI_Comm_create_from_group`: collective over the group's members, with no parent
/// communicator. The members meet on a root spanning the world whose context is hashed from
/// `stringtag` alone, then run `create_group` on it: different tags never share a context,
/// and the same tag with different groups gets contexts apart by the group's digest.
pub fn create_from_group(rt: &Runtime, group: &Group, stringtag: &str) -> Result<Comm> {
    static ROOTS: LazyLock<Mutex<HashMap<u64, Arc<Comm>>>> = LazyLock::new(Mutex::default);
    const MARKER: u64 = u64::from_le_bytes(*b"fromgrp\0");
    let mut parts = vec![MARKER, stringtag.len() as u64];
    parts.extend(stringtag.as_bytes().chunks(8).map(|c| {
        let mut word = [0u8; 8];
        word[..c.len()].copy_from_slice(c);
        u64::from_le_bytes(word)
    }));
    let root_context = derive_context(&parts);
    // One root per tag, kept, so that repeated calls with one tag and group count up alike.
    let root = crate::sync::lock(&ROOTS)
        .entry(root_context)
        .or_insert_with(|| Arc::new(Comm::new((0..rt.size()).collect(), rt.rank(), root_context)))
        .clone();
    let call = format!("MPI_Comm_create_from_group (stringtag {stringtag:?})");
    join_group(rt, &root, group, 0, &call)?.ok_or_else(|| {
        err!(
            Group,
            "{call}: this process (world rank {}) is not in the group; only the group's members call it",
            rt.rank()
        )
    })
}

/// `MPI_Comm_split_type`: the members that share this process's host, ordered by `key`, then by
/// rank in `parent`. Every member must pass the same kind, or MPI_UNDEFINED.
pub fn split_type(rt: &Runtime, parent: &Comm, kind: SplitType, key: i32) -> Result<Option<Comm>> {
    let mut mine = [0u8; 13];
    mine[..8].copy_from_slice(&host_id().to_le_bytes());
    mine[8..12].copy_from_slice(&key.to_le_bytes());
    mine[12] = kind.code();
    let all = allgather_fixed(rt, parent, parent.coll_context(), Tag::SplitType, &mine)?;
    let context = parent.next_child_context();
    let undefined = SplitType::Undefined.code();
    if let Some(r) = all.iter().position(|b| b[12] != undefined && kind != SplitType::Undefined && b[12] != kind.code())
    {
        return Err(err!(Arg, "MPI_Comm_split_type: rank {r} passed another split_type than rank {}; all must pass the same one, or MPI_UNDEFINED", parent.rank));
    }
    if matches!(kind, SplitType::Undefined | SplitType::InfoGuided) {
        return Ok(None);
    }
    let mut members: Vec<(i32, usize)> = all
        .iter()
        .enumerate()
        .filter(|(_, b)| b[12] == kind.code() && b[..8] == mine[..8])
        .map(|(r, b)| (i32::from_le_bytes(b[8..12].try_into().expect("4 bytes")), r))
        .collect();
    if kind == SplitType::HwUnguided && members.len() == parent.size() {
        // The standard asks for a strict subset; the host is the only level partyline knows.
        return Ok(None);
    }
    members.sort();
    let group: Vec<usize> = members.iter().map(|(_, r)| parent.group[*r]).collect();
    let rank = members.iter().position(|(_, r)| *r == parent.rank).expect("we share our own host");
    Ok(Some(Comm::new(group, rank, context)))
}

/// `MPI_Comm_idup`: the same group on a fresh context, made without a message, so it is
/// complete at once and cannot wait on a peer that has not yet reached its own idup.
pub fn dup_now(parent: &Comm) -> Comm {
    parent.with_context(parent.next_child_context())
}

/// Names this machine: the host name and the kernel's boot id, so that two hosts that share a
/// name (containers, cloned images) are still told apart, hashed to 64 bits.
pub fn host_id() -> u64 {
    static ID: OnceLock<u64> = OnceLock::new();
    *ID.get_or_init(|| {
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most buf.len() bytes into our local buffer.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
        let name_len = if rc == 0 { buf.iter().position(|b| *b == 0).unwrap_or(buf.len()) } else { 0 };
        let boot = std::fs::read("/proc/sys/kernel/random/boot_id").unwrap_or_default();
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in buf[..name_len].iter().chain(&[0]).chain(&boot) {
            h ^= *byte as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    })
}

/// An edge of `MPI_Dist_graph_create`: from rank `source` to rank `dest` of the communicator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    pub source: usize,
    pub dest: usize,
    pub weight: i32,
}

/// `MPI_Dist_graph_create`'s exchange: each rank names any edges; every edge goes to its
/// source (as an outgoing edge) and its destination (as an incoming one). Returns this rank's
/// (incoming, outgoing) edges, ordered by the rank that named them, then as named.
pub fn route_edges(rt: &Runtime, comm: &Comm, edges: &[Edge]) -> Result<(Vec<Edge>, Vec<Edge>)> {
    let encode = |list: Vec<&Edge>| -> Vec<u8> {
        list.iter()
            .flat_map(|e| [(e.source as u32).to_le_bytes(), (e.dest as u32).to_le_bytes(), e.weight.to_le_bytes()])
            .flatten()
            .collect()
    };
    let context = comm.coll_context();
    let tag = Tag::DistGraph.id();
    // Two messages per peer: the byte count, then the edges that concern it.
    let mut from = Vec::with_capacity(comm.size());
    for (r, world) in comm.group.iter().enumerate() {
        let mine = encode(edges.iter().filter(|e| e.source == r || e.dest == r).collect());
        if r == comm.rank {
            from.push(mine);
            continue;
        }
        rt.send_bytes(*world, context, tag, &(mine.len() as u64).to_le_bytes())?;
        rt.send_bytes(*world, context, tag, &mine)?;
        from.push(Vec::new());
    }
    for (r, world) in comm.group.iter().enumerate() {
        if r == comm.rank {
            continue;
        }
        let mut len = [0u8; 8];
        rt.recv_bytes(*world, context, tag, &mut len)?;
        let mut data = vec![0u8; u64::from_le_bytes(len) as usize];
        rt.recv_bytes(*world, context, tag, &mut data)?;
        from[r] = data;
    }
    let (mut incoming, mut outgoing) = (Vec::new(), Vec::new());
    for data in from {
        for e in data.chunks_exact(12) {
            let word = |i: usize| u32::from_le_bytes(e[i..i + 4].try_into().expect("4 bytes"));
            let edge = Edge { source: word(0) as usize, dest: word(4) as usize, weight: word(8) as i32 };
            if edge.dest == comm.rank {
                incoming.push(edge);
            }
            if edge.source == comm.rank {
                outgoing.push(edge);
            }
        }
    }
    Ok((incoming, outgoing))
}
