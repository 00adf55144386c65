//! Graph and distributed-graph topologies: who each rank's neighbours are, as `MPI_Graph_create` and `MPI_Dist_graph_create(_adjacent)` describe them.

use crate::error::{err, Result};

/// `MPI_Graph_create`'s graph over ranks `0..nnodes`: `index[i]` is the cumulative number of
/// neighbours of ranks `0..=i`, and `edges` lists them rank after rank.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Graph {
    pub index: Vec<usize>,
    pub edges: Vec<usize>,
}

impl Graph {
    pub fn new(index: &[i32], edges: &[i32]) -> Result<Graph> {
        let mut prev = 0;
        for (i, &x) in index.iter().enumerate() {
            if x < prev {
                return Err(err!(Arg, "MPI_Graph_create: index[{i}] = {x} is less than index[{}] = {prev}; index holds cumulative neighbour counts, so it never decreases", i.max(1) - 1));
            }
            prev = x;
        }
        if index.last().map_or(0, |l| *l as usize) != edges.len() {
            return Err(err!(Arg, "MPI_Graph_create: index[nnodes-1] is {} but {} edges were given; the last index entry is the number of edges", index.last().copied().unwrap_or(0), edges.len()));
        }
        let n = index.len();
        if let Some((i, e)) = edges.iter().enumerate().find(|(_, e)| !(0..n as i32).contains(*e)) {
            return Err(err!(
                Rank,
                "MPI_Graph_create: edges[{i}] = {e} is not a node of the graph (0 to {})",
                n as i64 - 1
            ));
        }
        Ok(Graph {
            index: index.iter().map(|x| *x as usize).collect(),
            edges: edges.iter().map(|e| *e as usize).collect(),
        })
    }

    pub fn nnodes(&self) -> usize {
        self.index.len()
    }

    /// The neighbours of `rank`, in the order given.
    pub fn neighbors(&self, rank: usize) -> Result<&[usize]> {
        if rank >= self.nnodes() {
            return Err(err!(Rank, "rank {rank} is not a node of the graph of {} nodes", self.nnodes()));
        }
        let start = if rank == 0 { 0 } else { self.index[rank - 1] };
        Ok(&self.edges[start..self.index[rank]])
    }
}

/// This rank's view of a distributed graph: where its messages come from and go to.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DistGraph {
    pub sources: Vec<usize>,
    pub source_weights: Vec<i32>,
    pub destinations: Vec<usize>,
    pub destination_weights: Vec<i32>,
    pub weighted: bool,
}

/// Checks that every rank in `ranks` is below `size`.
pub fn check_ranks(ranks: &[i32], size: usize, what: &str) -> Result<Vec<usize>> {
    ranks
        .iter()
        .enumerate()
        .map(|(i, r)| {
            usize::try_from(*r).ok().filter(|r| *r < size).ok_or_else(|| {
                err!(Rank, "{what}[{i}] = {r} is not a rank of the communicator (0 to {})", size as i64 - 1)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_neighbors_follow_the_index() {
        // The standard's example: 0-1, 0-3, 1-0, 2-3, 3-0, 3-2.
        let g = Graph::new(&[2, 3, 4, 6], &[1, 3, 0, 3, 0, 2]).unwrap();
        assert_eq!(g.neighbors(0).unwrap(), [1, 3]);
        assert_eq!(g.neighbors(1).unwrap(), [0]);
        assert_eq!(g.neighbors(3).unwrap(), [0, 2]);
        assert!(g.neighbors(4).is_err());
        assert!(Graph::new(&[2, 1], &[1, 0]).unwrap_err().message.contains("never decreases"));
        assert!(Graph::new(&[1, 2], &[1]).is_err());
        assert!(Graph::new(&[1, 2], &[1, 2]).unwrap_err().message.contains("not a node"));
        assert_eq!(check_ranks(&[0, 2], 3, "sources").unwrap(), [0, 2]);
        assert!(check_ranks(&[3], 3, "sources").is_err());
    }
}
