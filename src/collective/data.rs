//! Data-moving collectives: broadcast, gather, scatter, allgather and all-to-all (the v variants are the same calls with uneven blocks).
//!
//! Algorithms, chosen for a few parties on a full mesh of links:
//! - broadcast: binomial tree, ceil(log2 n) rounds, the root sending ceil(log2 n) copies;
//! - gather, scatter: direct, one round, each block sent straight between its rank and the root
//!   (a tree would add rounds and copy blocks through intermediate ranks);
//! - allgather, all-to-all: direct exchange, one round: every rank sends each peer its block and
//!   receives one from each, so each rank sends and receives exactly the data it must, once.
//!
//! Blocks are given as byte ranges of the caller's buffers and move straight from and into them
//! (large messages are never copied). Every pair exchanges exactly one message per call, empty
//! or not, so a count mismatch surfaces as MPI_ERR_TRUNCATE and never leaves a stray message.

use super::blocks::{self, copy_own};
use super::round::round;
use super::tag::Tag;
use crate::comm::Comm;
use crate::error::{err, Result};
use crate::runtime::Runtime;
use std::ops::Range;

/// `MPI_Bcast`: the root's `buf` into everyone's `buf`.
pub fn bcast(rt: &Runtime, comm: &Comm, root: usize, buf: &mut [u8]) -> Result<()> {
    if comm.is_inter() {
        return super::inter::bcast(rt, comm, root, buf);
    }
    let n = comm.size();
    // Ranks relative to the root: relative rank v receives from v minus its lowest set bit,
    // then sends to v + 2^k for every 2^k below that bit.
    let me = (comm.rank + n - root) % n;
    let world = |v: usize| comm.group[(v + root) % n];
    let (mut mask, mut got) = (1, Ok(()));
    while mask < n {
        if me & mask != 0 {
            got = round(rt, comm.coll_context(), |r| r.recv(world(me - mask), Tag::Bcast.id(), buf));
            break;
        }
        mask <<= 1;
    }
    // Forward even after a failed (say, truncated) receive, so the subtree does not hang.
    let data: &[u8] = buf;
    let sent = round(rt, comm.coll_context(), |r| {
        let mut m = mask >> 1;
        while m > 0 {
            if me + m < n {
                r.send(world(me + m), Tag::Bcast.id(), data)?;
            }
            m >>= 1;
        }
        Ok(())
    });
    got.and(sent)
}

/// `MPI_Gather(v)`. Every rank but the root passes `send`; the root passes `recv` (its buffer
/// and one block per rank) and `send`, or `None` for MPI_IN_PLACE (its block is already there).
pub fn gather(
    rt: &Runtime,
    comm: &Comm,
    root: usize,
    send: Option<&[u8]>,
    recv: Option<(&mut [u8], &[Range<usize>])>,
) -> Result<()> {
    if comm.is_inter() {
        return super::inter::gather(rt, comm, root, send, recv);
    }
    if comm.rank != root {
        let data = send.ok_or_else(|| err!(Buffer, "MPI_IN_PLACE is allowed only at the root"))?;
        return round(rt, comm.coll_context(), |r| r.send(comm.group[root], Tag::Gather.id(), data));
    }
    let (buf, ranges) = recv.ok_or_else(|| err!(Intern, "gather: the root has no receive buffer"))?;
    let mut blocks = blocks::split_mut(buf, ranges)?;
    let copied = send.map_or(Ok(()), |data| copy_own(data, blocks[root]));
    let received = round(rt, comm.coll_context(), |r| {
        for (rank, block) in blocks.into_iter().enumerate().filter(|(rank, _)| *rank != root) {
            r.recv(comm.group[rank], Tag::Gather.id(), block)?;
        }
        Ok(())
    });
    received.and(copied)
}

/// `MPI_Scatter(v)`. The root passes `send` (its buffer and one block per rank) and `recv`, or
/// `None` for MPI_IN_PLACE (its block stays where it is); every other rank passes `recv`.
pub fn scatter(
    rt: &Runtime,
    comm: &Comm,
    root: usize,
    send: Option<(&[u8], &[Range<usize>])>,
    recv: Option<&mut [u8]>,
) -> Result<()> {
    if comm.is_inter() {
        return super::inter::scatter(rt, comm, root, send, recv);
    }
    if comm.rank != root {
        let buf = recv.ok_or_else(|| err!(Buffer, "MPI_IN_PLACE is allowed only at the root"))?;
        return round(rt, comm.coll_context(), |r| r.recv(comm.group[root], Tag::Scatter.id(), buf));
    }
    let (data, ranges) = send.ok_or_else(|| err!(Intern, "scatter: the root has no send buffer"))?;
    let parts = blocks::split(data, ranges)?;
    let copied = recv.map_or(Ok(()), |buf| copy_own(parts[root], buf));
    let sent = round(rt, comm.coll_context(), |r| {
        for (rank, part) in parts.into_iter().enumerate().filter(|(rank, _)| *rank != root) {
            r.send(comm.group[rank], Tag::Scatter.id(), part)?;
        }
        Ok(())
    });
    sent.and(copied)
}

/// `MPI_Allgather(v)`: everyone's `send` (or, for MPI_IN_PLACE, its block of `recv`) into
/// every rank's block of `recv`.
pub fn allgather(
    rt: &Runtime,
    comm: &Comm,
    send: Option<&[u8]>,
    recv: &mut [u8],
    ranges: &[Range<usize>],
) -> Result<()> {
    if comm.is_inter() {
        return super::inter::allgather(rt, comm, send, recv, ranges);
    }
    let me = comm.rank;
    let mut blocks = blocks::split_mut(recv, ranges)?;
    let own = std::mem::take(&mut blocks[me]);
    let (mine, copied): (&[u8], _) = match send {
        Some(data) => (data, copy_own(data, own)),
        None => (own, Ok(())),
    };
    let exchanged = round(rt, comm.coll_context(), |r| {
        for (rank, block) in blocks.into_iter().enumerate().filter(|(rank, _)| *rank != me) {
            r.recv(comm.group[rank], Tag::Allgather.id(), block)?;
        }
        for (_, world) in comm.group.iter().enumerate().filter(|(rank, _)| *rank != me) {
            r.send(*world, Tag::Allgather.id(), mine)?;
        }
        Ok(())
    });
    exchanged.and(copied)
}

/// `MPI_Alltoall(v)`: block j of `send` goes to rank j, block j of `recv` comes from rank j.
/// With `send` `None` (MPI_IN_PLACE) the outgoing blocks are taken from `recv` first.
pub fn alltoall(
    rt: &Runtime,
    comm: &Comm,
    send: Option<(&[u8], &[Range<usize>])>,
    recv: &mut [u8],
    ranges: &[Range<usize>],
) -> Result<()> {
    if comm.is_inter() {
        return super::inter::alltoall(rt, comm, send, recv, ranges);
    }
    let me = comm.rank;
    let snapshot;
    let (data, send_ranges) = match send {
        Some(s) => s,
        None => {
            // The blocks to send are overwritten by those received: send from a copy.
            snapshot = recv.to_vec();
            (&snapshot[..], ranges)
        }
    };
    let parts = blocks::split(data, send_ranges)?;
    let mut blocks = blocks::split_mut(recv, ranges)?;
    let copied = copy_own(parts[me], blocks[me]);
    let exchanged = round(rt, comm.coll_context(), |r| {
        for (rank, block) in blocks.into_iter().enumerate().filter(|(rank, _)| *rank != me) {
            r.recv(comm.group[rank], Tag::Alltoall.id(), block)?;
        }
        for (rank, part) in parts.into_iter().enumerate().filter(|(rank, _)| *rank != me) {
            r.send(comm.group[rank], Tag::Alltoall.id(), part)?;
        }
        Ok(())
    });
    exchanged.and(copied)
}
