//! Collectives on an intercommunicator (MPI 4.1 §6.2.2): each group sends to, and gets from, the other group.
//!
//! Algorithms are direct and linear, one round each: the groups of an intercommunicator are
//! small, and every block travels straight between the two processes that own it. Reductions
//! send whole input vectors to the processes that need the combination and combine them there
//! in remote-rank order, so non-commutative operations get MPI's order.
//!
//! A rooted collective's root argument arrives as an index (`root_index`): the process's own
//! rank for MPI_ROOT, so callers' `rank == root` tests still pick the process that holds the
//! root's buffers; `IDLE` for MPI_PROC_NULL; `LEAF + r` for rank r of the remote group.

use super::reduce::Combiner;
use super::round::round;
use super::tag::Tag;
use crate::comm::Comm;
use crate::error::{err, Result};
use crate::runtime::Runtime;
use std::ops::Range;

const IDLE: usize = usize::MAX;
const LEAF: usize = usize::MAX / 2;

/// What a process does in a rooted collective on an intercommunicator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// It is the root (it passed MPI_ROOT).
    Root,
    /// The root is in its own group, and it is not the root (MPI_PROC_NULL): it does nothing.
    Idle,
    /// The root is rank r of the remote group.
    Leaf(usize),
}

/// The root index (see the module comment) of root argument `root` on intercommunicator
/// `comm`, given the values of MPI_ROOT and MPI_PROC_NULL.
pub fn root_index(comm: &Comm, root: i32, mpi_root: i32, proc_null: i32) -> Result<usize> {
    let remote = comm.peers().len();
    match root {
        r if r == mpi_root => Ok(comm.rank),
        r if r == proc_null => Ok(IDLE),
        r => usize::try_from(r).ok().filter(|r| *r < remote).map(|r| LEAF + r).ok_or_else(|| {
            err!(Root, "root {root} is invalid on an intercommunicator: the root passes MPI_ROOT, the rest of its group MPI_PROC_NULL, and the other group the root's rank in it (0 to {})", remote as i64 - 1)
        }),
    }
}

/// Which buffers of a rooted collective `comm`'s process reads, for root index `root`: the
/// root's (receive of a gather, send of a scatter), and the leaves' (send of a gather, receive
/// of a scatter). On an intercommunicator the root reads only its own and MPI_PROC_NULL ranks
/// none, so callers may pass anything in those arguments, as MPI allows.
pub fn buffers_read(comm: &Comm, root: usize) -> (bool, bool) {
    if !comm.is_inter() {
        return (comm.rank == root, true);
    }
    match role(root) {
        Role::Root => (true, false),
        Role::Idle => (false, false),
        Role::Leaf(_) => (false, true),
    }
}

fn role(index: usize) -> Role {
    match index {
        IDLE => Role::Idle,
        i if i >= LEAF => Role::Leaf(i - LEAF),
        _ => Role::Root,
    }
}

fn sent<'a>(send: Option<&'a [u8]>, call: &str) -> Result<&'a [u8]> {
    send.ok_or_else(|| err!(Buffer, "{call}: MPI_IN_PLACE is not allowed on an intercommunicator"))
}

/// `MPI_Bcast`: the root's `buf` into every remote process's `buf`.
pub fn bcast(rt: &Runtime, comm: &Comm, root: usize, buf: &mut [u8]) -> Result<()> {
    let id = Tag::InterData.id();
    match role(root) {
        Role::Idle => Ok(()),
        Role::Leaf(r) => round(rt, comm.coll_context(), |x| x.recv(comm.peers()[r], id, buf)),
        Role::Root => {
            let data: &[u8] = buf;
            round(rt, comm.coll_context(), |x| comm.peers().iter().try_for_each(|w| x.send(*w, id, data)))
        }
    }
}

/// `MPI_Gather(v)`: every remote process's `send` into the root's `recv` blocks (one per remote rank).
pub fn gather(
    rt: &Runtime,
    comm: &Comm,
    root: usize,
    send: Option<&[u8]>,
    recv: Option<(&mut [u8], &[Range<usize>])>,
) -> Result<()> {
    let id = Tag::InterData.id();
    match role(root) {
        Role::Idle => Ok(()),
        Role::Leaf(r) => {
            let data = sent(send, "MPI_Gather")?;
            round(rt, comm.coll_context(), |x| x.send(comm.peers()[r], id, data))
        }
        Role::Root => {
            let (buf, ranges) = recv.ok_or_else(|| err!(Intern, "gather: the root has no receive buffer"))?;
            let blocks = super::blocks::split_mut(buf, ranges)?;
            round(rt, comm.coll_context(), |x| {
                comm.peers().iter().zip(blocks).try_for_each(|(w, block)| x.recv(*w, id, block))
            })
        }
    }
}

/// `MPI_Scatter(v)`: block r of the root's `send` into remote rank r's `recv`.
pub fn scatter(
    rt: &Runtime,
    comm: &Comm,
    root: usize,
    send: Option<(&[u8], &[Range<usize>])>,
    recv: Option<&mut [u8]>,
) -> Result<()> {
    let id = Tag::InterData.id();
    match role(root) {
        Role::Idle => Ok(()),
        Role::Leaf(r) => {
            let buf =
                recv.ok_or_else(|| err!(Buffer, "MPI_Scatter: MPI_IN_PLACE is not allowed on an intercommunicator"))?;
            round(rt, comm.coll_context(), |x| x.recv(comm.peers()[r], id, buf))
        }
        Role::Root => {
            let (data, ranges) = send.ok_or_else(|| err!(Intern, "scatter: the root has no send buffer"))?;
            let blocks = super::blocks::split(data, ranges)?;
            round(rt, comm.coll_context(), |x| comm.peers().iter().zip(blocks).try_for_each(|(w, b)| x.send(*w, id, b)))
        }
    }
}

/// `MPI_Allgather(v)`: this process's `send` to every remote process; block r of `recv` from remote rank r.
pub fn allgather(
    rt: &Runtime,
    comm: &Comm,
    send: Option<&[u8]>,
    recv: &mut [u8],
    ranges: &[Range<usize>],
) -> Result<()> {
    let data = sent(send, "MPI_Allgather")?;
    let blocks = super::blocks::split_mut(recv, ranges)?;
    let id = Tag::InterData.id();
    round(rt, comm.coll_context(), |x| {
        comm.peers().iter().zip(blocks).try_for_each(|(w, block)| x.recv(*w, id, block))?;
        comm.peers().iter().try_for_each(|w| x.send(*w, id, data))
    })
}

/// `MPI_Alltoall(v,w)`: block r of `send` to remote rank r, block r of `recv` from it.
pub fn alltoall(
    rt: &Runtime,
    comm: &Comm,
    send: Option<(&[u8], &[Range<usize>])>,
    recv: &mut [u8],
    ranges: &[Range<usize>],
) -> Result<()> {
    let (data, send_ranges) =
        send.ok_or_else(|| err!(Buffer, "MPI_Alltoall: MPI_IN_PLACE is not allowed on an intercommunicator"))?;
    let outgoing = super::blocks::split(data, send_ranges)?;
    let incoming = super::blocks::split_mut(recv, ranges)?;
    let id = Tag::InterData.id();
    round(rt, comm.coll_context(), |x| {
        comm.peers().iter().zip(incoming).try_for_each(|(w, block)| x.recv(*w, id, block))?;
        comm.peers().iter().zip(outgoing).try_for_each(|(w, block)| x.send(*w, id, block))
    })
}

/// Receives a vector of `len` bytes from every remote process (while sending each `input`,
/// if given, in the same round) and combines them in remote-rank order: x0 op (x1 op (...)).
fn combine_remote(rt: &Runtime, comm: &Comm, input: Option<&[u8]>, len: usize, op: &Combiner) -> Result<Vec<u8>> {
    let id = Tag::InterReduce.id();
    let mut inputs = vec![vec![0u8; len]; comm.peers().len()];
    round(rt, comm.coll_context(), |x| {
        comm.peers().iter().zip(inputs.iter_mut()).try_for_each(|(w, buf)| x.recv(*w, id, buf))?;
        input.map_or(Ok(()), |data| comm.peers().iter().try_for_each(|w| x.send(*w, id, data)))
    })?;
    let mut acc = inputs.pop().unwrap_or_default();
    for input in inputs.iter().rev() {
        (op.apply)(input, &mut acc);
    }
    Ok(acc)
}

/// `MPI_Reduce`: the combination of every remote process's `send` into the root's `recv`.
pub fn reduce(
    rt: &Runtime,
    comm: &Comm,
    root: usize,
    send: Option<&[u8]>,
    recv: Option<&mut [u8]>,
    op: &Combiner,
) -> Result<()> {
    match role(root) {
        Role::Idle => Ok(()),
        Role::Leaf(r) => {
            let data = sent(send, "MPI_Reduce")?;
            round(rt, comm.coll_context(), |x| x.send(comm.peers()[r], Tag::InterReduce.id(), data))
        }
        Role::Root => {
            let recv = recv.ok_or_else(|| err!(Intern, "reduce: the root has no receive buffer"))?;
            let acc = combine_remote(rt, comm, None, recv.len(), op)?;
            recv.copy_from_slice(&acc);
            Ok(())
        }
    }
}

/// `MPI_Allreduce`: every process gets the combination of the remote group's inputs.
pub fn allreduce(rt: &Runtime, comm: &Comm, send: Option<&[u8]>, recv: &mut [u8], op: &Combiner) -> Result<()> {
    let acc = combine_remote(rt, comm, Some(sent(send, "MPI_Allreduce")?), recv.len(), op)?;
    recv.copy_from_slice(&acc);
    Ok(())
}

/// `MPI_Reduce_scatter(_block)`: the remote group's inputs combined, and block `ranges[rank]`
/// of the combination (the local group's split) into `recv`.
pub fn reduce_scatter(
    rt: &Runtime,
    comm: &Comm,
    send: Option<&[u8]>,
    recv: &mut [u8],
    ranges: &[Range<usize>],
    op: &Combiner,
) -> Result<()> {
    let data = sent(send, "MPI_Reduce_scatter")?;
    let acc = combine_remote(rt, comm, Some(data), data.len(), op)?;
    let mine = &acc[ranges[comm.rank].clone()];
    recv[..mine.len()].copy_from_slice(mine);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: i32 = -4;
    const NULL: i32 = -1;

    #[test]
    fn root_arguments_name_each_role() {
        // Rank 1 of a local group of 2, facing a remote group of 3.
        let c = Comm::inter(vec![0, 1], 1, vec![2, 3, 4], 0x100);
        let index = |r| root_index(&c, r, ROOT, NULL).unwrap();
        assert_eq!(role(index(ROOT)), Role::Root);
        assert_eq!(role(index(NULL)), Role::Idle);
        assert_eq!(role(index(2)), Role::Leaf(2));
        assert_eq!(index(ROOT), c.rank, "the root is its own rank, as callers test");
        assert!(root_index(&c, 3, ROOT, NULL).is_err(), "past the remote group");
        assert!(root_index(&c, -7, ROOT, NULL).is_err());
        assert_eq!(buffers_read(&c, index(ROOT)), (true, false));
        assert_eq!(buffers_read(&c, index(NULL)), (false, false));
        assert_eq!(buffers_read(&c, index(0)), (false, true));
        let intra = Comm::new(vec![0, 1], 1, 0x100);
        assert_eq!(buffers_read(&intra, 1), (true, true));
        assert_eq!(buffers_read(&intra, 0), (false, true));
    }

    #[test]
    fn peers_are_the_remote_group() {
        let c = Comm::inter(vec![5, 1], 0, vec![0, 2, 3], 0x100);
        assert!(c.is_inter());
        assert_eq!((c.size(), c.peers().len()), (2, 3));
        assert_eq!(c.peer_world_rank(2), Some(3));
        assert_eq!(c.peer_rank_of_world(2), Some(1));
        assert_eq!(c.peer_rank_of_world(5), None, "a local member is no peer");
        let dup = c.with_context(0x200);
        assert_eq!((dup.peers(), dup.rank, dup.context), (c.peers(), 0, 0x200));
    }
}
