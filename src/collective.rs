//! Collective operations built on point-to-point over a communicator's collective context.

pub mod blocks;
pub mod construct;
pub mod data;
pub mod executor;
pub mod inter;
pub mod intercomm;
pub mod neighbor;
pub mod op;
pub mod reduce;
mod round;
mod tag;

use crate::comm::Comm;
use crate::error::{err, Result};
use crate::runtime::Runtime;
use tag::Tag;

/// A collective's root argument, checked against the communicator.
pub fn root(comm: &Comm, root: i32) -> Result<usize> {
    usize::try_from(root)
        .ok()
        .filter(|r| *r < comm.size())
        .ok_or_else(|| err!(Root, "root {root} is out of range for a communicator of {} ranks", comm.size()))
}

/// Dissemination barrier: ceil(log2 n) rounds of zero-byte messages.
pub fn barrier(rt: &Runtime, comm: &Comm) -> Result<()> {
    if comm.is_inter() {
        return intercomm::barrier(rt, comm);
    }
    let n = comm.size();
    let mut step = 1;
    let mut round = 0;
    while step < n {
        let to = comm.group[(comm.rank + step) % n];
        let from = comm.group[(comm.rank + n - step) % n];
        rt.send_bytes(to, comm.coll_context(), Tag::Barrier.id() + round, &[])?;
        rt.recv_bytes(from, comm.coll_context(), Tag::Barrier.id() + round, &mut [])?;
        step *= 2;
        round += 1;
    }
    Ok(())
}

/// Every member's `value`, in communicator-rank order.
fn allgather_pairs(rt: &Runtime, comm: &Comm, value: (i32, i32)) -> Result<Vec<(i32, i32)>> {
    let mut mine = [0u8; 8];
    mine[..4].copy_from_slice(&value.0.to_le_bytes());
    mine[4..].copy_from_slice(&value.1.to_le_bytes());
    for (r, world) in comm.group.iter().enumerate() {
        if r != comm.rank {
            rt.send_bytes(*world, comm.coll_context(), Tag::Split.id(), &mine)?;
        }
    }
    let mut all = Vec::with_capacity(comm.size());
    for (r, world) in comm.group.iter().enumerate() {
        if r == comm.rank {
            all.push(value);
            continue;
        }
        let mut buf = [0u8; 8];
        rt.recv_bytes(*world, comm.coll_context(), Tag::Split.id(), &mut buf)?;
        let color = i32::from_le_bytes(buf[..4].try_into().expect("4 bytes"));
        let key = i32::from_le_bytes(buf[4..].try_into().expect("4 bytes"));
        all.push((color, key));
    }
    Ok(all)
}

/// `MPI_Comm_split`; `None` for members whose color is `undefined`.
pub fn split(rt: &Runtime, comm: &Comm, color: i32, key: i32, undefined: i32) -> Result<Option<Comm>> {
    if color < 0 && color != undefined {
        return Err(err!(Arg, "MPI_Comm_split: color {color} is negative; use a non-negative color or MPI_UNDEFINED"));
    }
    let all = allgather_pairs(rt, comm, (color, key))?;
    let context = comm.next_child_context();
    if color == undefined {
        return Ok(None);
    }
    let mut members: Vec<(i32, usize)> =
        all.iter().enumerate().filter(|(_, (c, _))| *c == color).map(|(r, (_, k))| (*k, r)).collect();
    members.sort();
    let group: Vec<usize> = members.iter().map(|(_, r)| comm.group[*r]).collect();
    let rank = members.iter().position(|(_, r)| *r == comm.rank).expect("we are a member of our color");
    Ok(Some(Comm::new(group, rank, context)))
}

/// `MPI_Comm_dup`: same group, fresh context. A barrier keeps it collective, as MPI says.
pub fn dup(rt: &Runtime, comm: &Comm) -> Result<Comm> {
    let context = comm.next_child_context();
    barrier(rt, comm)?;
    Ok(comm.with_context(context))
}
