//! Reductions: reduce, allreduce, reduce-scatter, scan and exscan, over any combining function.
//!
//! Algorithms, chosen for a few parties on a full mesh of links and for large arrays:
//! - reduce-scatter: direct, one round: the vector is cut into one block per rank, each rank
//!   sends every peer that peer's block and combines the n contributions to its own block;
//! - allreduce: reduce-scatter, then a direct allgather of the combined blocks: two rounds,
//!   each rank sending and receiving 2(n-1)/n of the vector (the bandwidth optimum);
//! - reduce: reduce-scatter, then the combined blocks gathered at the root;
//! - scan, exscan: recursive doubling, ceil(log2 n) rounds of one exchange each.
//!
//! Every combination runs in rank order, result = x0 op (x1 op (... op x(n-1))), so
//! non-commutative operations get MPI's order and every rank gets bit-identical results.

use super::blocks::{self, split_mut};
use super::round::round;
use super::tag::Tag;
use crate::comm::Comm;
use crate::error::{err, Result};
use crate::runtime::Runtime;
use std::ops::Range;

/// How to combine two vectors of the reduced datatype.
pub struct Combiner<'f> {
    /// `inout = in op inout`, elementwise over whole items.
    pub apply: &'f dyn Fn(&[u8], &mut [u8]),
    /// Bytes per item (the datatype's extent): vectors are only ever cut between items.
    pub item: usize,
}

impl Combiner<'_> {
    fn even_blocks(&self, len: usize, n: usize) -> Vec<Range<usize>> {
        blocks::even(len / self.item.max(1), self.item, n)
    }
}

/// Reduce-scatter's one round: `inputs[j]` is this rank's contribution to rank j's block;
/// `out` gets the rank-ordered combination of every rank's contribution to ours.
fn reduce_blocks(rt: &Runtime, comm: &Comm, inputs: &[&[u8]], out: &mut [u8], op: &Combiner) -> Result<()> {
    let (n, me) = (comm.size(), comm.rank);
    let len = inputs[me].len();
    let mut parts: Vec<Vec<u8>> = (0..n).map(|j| if j == me { Vec::new() } else { vec![0; len] }).collect();
    // Blocks are cut identically on every rank, so empty ones need no message.
    round(rt, comm.coll_context(), |r| {
        for (j, part) in parts.iter_mut().enumerate().filter(|(j, p)| *j != me && !p.is_empty()) {
            r.recv(comm.group[j], Tag::ReduceScatter.id(), part)?;
        }
        for (j, input) in inputs.iter().enumerate().filter(|(j, input)| *j != me && !input.is_empty()) {
            r.send(comm.group[j], Tag::ReduceScatter.id(), input)?;
        }
        Ok(())
    })?;
    let part = |j: usize| if j == me { inputs[me] } else { &parts[j][..] };
    out.copy_from_slice(part(n - 1));
    for j in (0..n - 1).rev() {
        (op.apply)(part(j), out);
    }
    Ok(())
}

/// Every rank's own block of `blocks` to every other rank (the blocks are cut alike everywhere).
fn share(rt: &Runtime, comm: &Comm, mut blocks: Vec<&mut [u8]>) -> Result<()> {
    let me = comm.rank;
    let mine: &mut [u8] = std::mem::take(&mut blocks[me]);
    let mine: &[u8] = mine;
    round(rt, comm.coll_context(), |r| {
        for (j, block) in blocks.into_iter().enumerate().filter(|(j, b)| *j != me && !b.is_empty()) {
            r.recv(comm.group[j], Tag::ReduceShare.id(), block)?;
        }
        if !mine.is_empty() {
            for (_, world) in comm.group.iter().enumerate().filter(|(j, _)| *j != me) {
                r.send(*world, Tag::ReduceShare.id(), mine)?;
            }
        }
        Ok(())
    })
}

/// `MPI_Reduce_scatter(_block)`: rank j gets the combination of everyone's `ranges[j]` part
/// of the input, in `recv[..ranges[j].len()]`. The input is `send`, or for MPI_IN_PLACE
/// (`None`) `recv` itself.
pub fn reduce_scatter(
    rt: &Runtime,
    comm: &Comm,
    send: Option<&[u8]>,
    recv: &mut [u8],
    ranges: &[Range<usize>],
    op: &Combiner,
) -> Result<()> {
    if comm.is_inter() {
        return super::inter::reduce_scatter(rt, comm, send, recv, ranges, op);
    }
    let me = comm.rank;
    let len = ranges[me].len();
    if recv.len() < len {
        return Err(err!(Intern, "reduce_scatter: the receive buffer is shorter than this rank's block"));
    }
    match send {
        Some(data) => reduce_blocks(rt, comm, &blocks::split(data, ranges)?, &mut recv[..len], op),
        None => {
            // The result lands where other ranks' blocks were read from: build it aside.
            let mut mine = vec![0; len];
            reduce_blocks(rt, comm, &blocks::split(recv, ranges)?, &mut mine, op)?;
            recv[..len].copy_from_slice(&mine);
            Ok(())
        }
    }
}

/// `MPI_Allreduce`: the combination of everyone's `send` (or, for MPI_IN_PLACE, `recv`) into
/// everyone's `recv`.
pub fn allreduce(rt: &Runtime, comm: &Comm, send: Option<&[u8]>, recv: &mut [u8], op: &Combiner) -> Result<()> {
    if comm.is_inter() {
        return super::inter::allreduce(rt, comm, send, recv, op);
    }
    let me = comm.rank;
    let ranges = op.even_blocks(recv.len(), comm.size());
    match send {
        Some(data) => {
            let mut out = split_mut(recv, &ranges)?;
            reduce_blocks(rt, comm, &blocks::split(data, &ranges)?, out[me], op)?;
            share(rt, comm, out)
        }
        None => {
            let mut mine = vec![0; ranges[me].len()];
            reduce_blocks(rt, comm, &blocks::split(recv, &ranges)?, &mut mine, op)?;
            recv[ranges[me].clone()].copy_from_slice(&mine);
            share(rt, comm, split_mut(recv, &ranges)?)
        }
    }
}

/// `MPI_Reduce`: the combination of everyone's `send` into the root's `recv`. The root passes
/// `recv`, and `send` or `None` for MPI_IN_PLACE (its input is then `recv`); others only `send`.
pub fn reduce(
    rt: &Runtime,
    comm: &Comm,
    root: usize,
    send: Option<&[u8]>,
    recv: Option<&mut [u8]>,
    op: &Combiner,
) -> Result<()> {
    if comm.is_inter() {
        return super::inter::reduce(rt, comm, root, send, recv, op);
    }
    let me = comm.rank;
    if me != root {
        let data = send.ok_or_else(|| err!(Buffer, "MPI_IN_PLACE is allowed only at the root"))?;
        let ranges = op.even_blocks(data.len(), comm.size());
        let mut mine = vec![0; ranges[me].len()];
        reduce_blocks(rt, comm, &blocks::split(data, &ranges)?, &mut mine, op)?;
        if mine.is_empty() {
            return Ok(());
        }
        return round(rt, comm.coll_context(), |r| r.send(comm.group[root], Tag::ReduceCollect.id(), &mine));
    }
    let recv = recv.ok_or_else(|| err!(Intern, "reduce: the root has no receive buffer"))?;
    let ranges = op.even_blocks(recv.len(), comm.size());
    match send {
        Some(data) => {
            let mut out = split_mut(recv, &ranges)?;
            reduce_blocks(rt, comm, &blocks::split(data, &ranges)?, out[me], op)?;
            collect(rt, comm, out)
        }
        None => {
            let mut mine = vec![0; ranges[me].len()];
            reduce_blocks(rt, comm, &blocks::split(recv, &ranges)?, &mut mine, op)?;
            recv[ranges[me].clone()].copy_from_slice(&mine);
            collect(rt, comm, split_mut(recv, &ranges)?)
        }
    }
}

/// The root's receives of every other rank's combined block.
fn collect(rt: &Runtime, comm: &Comm, blocks: Vec<&mut [u8]>) -> Result<()> {
    round(rt, comm.coll_context(), |r| {
        for (j, block) in blocks.into_iter().enumerate().filter(|(j, b)| *j != comm.rank && !b.is_empty()) {
            r.recv(comm.group[j], Tag::ReduceCollect.id(), block)?;
        }
        Ok(())
    })
}

/// `MPI_Scan` (`inclusive`) and `MPI_Exscan`: rank r gets the combination of the inputs of
/// ranks 0..=r (or 0..r; rank 0's `recv` is then left alone). Input: `send`, or `recv` for
/// MPI_IN_PLACE.
pub fn scan(
    rt: &Runtime,
    comm: &Comm,
    send: Option<&[u8]>,
    recv: &mut [u8],
    op: &Combiner,
    inclusive: bool,
) -> Result<()> {
    let (n, me) = (comm.size(), comm.rank);
    if recv.is_empty() {
        return Ok(());
    }
    // `partial` combines the block of ranks this rank has heard from, itself included;
    // each round doubles the block by exchanging partials with the rank `mask` away.
    let mut partial = send.unwrap_or(recv).to_vec();
    let mut have = inclusive;
    if let (true, Some(data)) = (inclusive, send) {
        recv.copy_from_slice(data);
    }
    let mut incoming = vec![0; partial.len()];
    let mut mask = 1;
    while mask < n {
        let peer = me ^ mask;
        if peer < n {
            round(rt, comm.coll_context(), |r| {
                r.recv(comm.group[peer], Tag::Scan.id(), &mut incoming)?;
                r.send(comm.group[peer], Tag::Scan.id(), &partial)
            })?;
            if peer < me {
                // The peer's partial covers the ranks just below ours: it goes first.
                (op.apply)(&incoming, &mut partial);
                if have {
                    (op.apply)(&incoming, recv);
                } else {
                    recv.copy_from_slice(&incoming);
                    have = true;
                }
            } else {
                (op.apply)(&partial, &mut incoming);
                std::mem::swap(&mut partial, &mut incoming);
            }
        }
        mask <<= 1;
    }
    Ok(())
}
