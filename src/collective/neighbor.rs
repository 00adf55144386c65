//! Neighbour collectives: each rank exchanges blocks with the neighbours its communicator's topology names.

use super::tag::Tag;
use crate::comm::Comm;
use crate::error::{err, Result};
use crate::runtime::Runtime;
use crate::topology::Topology;

/// A rank's neighbours in the order MPI fixes for the topology; `None` is MPI_PROC_NULL (a
/// Cartesian edge). `send_slot[i]` is the receive slot at `destinations[i]` that block i fills.
pub struct Neighbors {
    pub sources: Vec<Option<usize>>,
    pub destinations: Vec<Option<usize>>,
    send_slot: Vec<Option<usize>>,
}

impl Neighbors {
    pub fn of(topology: &Topology, rank: usize) -> Result<Neighbors> {
        Ok(match topology {
            // Per dimension: the neighbour at -1, then at +1, for receiving and sending alike.
            // What goes to the +1 side arrives in that rank's -1 slot, and the other way round.
            Topology::Cart(grid) => {
                let mut around = Vec::new();
                for d in 0..grid.ndims() {
                    let (minus, plus) = grid.shift(rank, d as i32, 1)?;
                    around.extend([minus, plus]);
                }
                let send_slot = (0..around.len()).map(|i| Some(i ^ 1)).collect();
                Neighbors { sources: around.clone(), destinations: around, send_slot }
            }
            Topology::Graph(g) => {
                let around: Vec<Option<usize>> = g.neighbors(rank)?.iter().map(|r| Some(*r)).collect();
                Neighbors { send_slot: vec![None; around.len()], sources: around.clone(), destinations: around }
            }
            Topology::DistGraph(g) => Neighbors {
                sources: g.sources.iter().map(|r| Some(*r)).collect(),
                destinations: g.destinations.iter().map(|r| Some(*r)).collect(),
                send_slot: vec![None; g.destinations.len()],
            },
        })
    }
}

/// Sends `blocks[i]` to destination i and receives from source j into `into[j]`. Graph edges
/// between the same two ranks pair up in order (messages between two ranks do not overtake).
pub fn exchange(rt: &Runtime, comm: &Comm, n: &Neighbors, blocks: &[&[u8]], into: &mut [&mut [u8]]) -> Result<()> {
    if blocks.len() != n.destinations.len() || into.len() != n.sources.len() {
        return Err(err!(
            Intern,
            "neighbour exchange: {} blocks for {} destinations",
            blocks.len(),
            n.destinations.len()
        ));
    }
    let tag = |slot: Option<usize>| Tag::Neighbor.id() + slot.map_or(0, |s| s as i32 + 1);
    for ((dest, block), slot) in n.destinations.iter().zip(blocks).zip(&n.send_slot) {
        if let Some(d) = dest {
            rt.send_bytes(comm.group[*d], comm.coll_context(), tag(*slot), block)?;
        }
    }
    let cart = n.send_slot.iter().any(Option::is_some);
    for (j, (src, buf)) in n.sources.iter().zip(into.iter_mut()).enumerate() {
        if let Some(s) = src {
            let outcome = rt.recv_bytes(comm.group[*s], comm.coll_context(), tag(cart.then_some(j)), buf)?;
            if let Some(e) = outcome.error {
                return Err(e);
            }
        }
    }
    Ok(())
}
