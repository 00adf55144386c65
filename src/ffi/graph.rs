//! Graph and distributed-graph topologies: `MPI_Graph_*` and `MPI_Dist_graph_*` over the core's `topology::graph`.

use super::abi::{self, MPI_Comm, MPI_Info};
use super::boundary::{blame, out};
use super::group::ints;
use super::handles;
use super::state::{state, State};
use super::topology::{topology_of, with_topology, write_ints};
use crate::collective::construct::{self, Edge};
use crate::comm::Comm;
use crate::error::{err, Result};
use crate::topology::graph::{check_ranks, DistGraph, Graph};
use crate::topology::Topology;
use std::ffi::c_int;
use std::sync::Arc;

fn graph(st: &State, comm: MPI_Comm, call: &str) -> Result<(Arc<Comm>, Graph)> {
    let c = handles::comm(st, comm)?;
    match topology_of(st, comm).as_deref() {
        Some(Topology::Graph(g)) => Ok((c, g.clone())),
        _ => Err(err!(Topology, "{call}: the communicator has no graph topology; make one with MPI_Graph_create")),
    }
}

fn dist_graph(st: &State, comm: MPI_Comm, call: &str) -> Result<DistGraph> {
    handles::comm(st, comm)?;
    match topology_of(st, comm).as_deref() {
        Some(Topology::DistGraph(g)) => Ok(g.clone()),
        _ => Err(err!(Topology, "{call}: the communicator has no distributed graph topology; make one with MPI_Dist_graph_create or MPI_Dist_graph_create_adjacent")),
    }
}

/// The graph from the caller's arrays, checked to fit in `size` ranks.
fn graph_arg(nnodes: c_int, index: *const c_int, edges: *const c_int, size: usize, call: &str) -> Result<Graph> {
    let index = ints(index, nnodes, "index")?;
    if index.len() > size {
        return Err(err!(Topology, "{call}: the graph has {nnodes} nodes but the communicator only {size} ranks"));
    }
    let nedges = index.last().copied().unwrap_or(0);
    Graph::new(index, ints(edges, nedges, "edges")?)
}

fn as_ints(v: &[usize]) -> Vec<c_int> {
    v.iter().map(|x| *x as c_int).collect()
}

ffi_fn! {
    fn MPI_Graph_create(comm_old: MPI_Comm, nnodes: c_int, indx: *const c_int, edges: *const c_int, reorder: c_int, comm_graph: *mut MPI_Comm) -> c_int {
        blame(comm_old as usize);
        // Ranks keep their order: partyline knows nothing that reordering would improve.
        let _ = reorder;
        let st = state()?;
        let c = handles::comm(st, comm_old)?;
        let g = graph_arg(nnodes, indx, edges, c.size(), "MPI_Graph_create")?;
        let members = g.nnodes();
        out(comm_graph, with_topology(st, comm_old, &c, members, Topology::Graph(g))?, "new communicator")
    }
}

ffi_fn! {
    fn MPI_Graph_map(comm: MPI_Comm, nnodes: c_int, indx: *const c_int, edges: *const c_int, newrank: *mut c_int) -> c_int {
        blame(comm as usize);
        let c = handles::comm(state()?, comm)?;
        let g = graph_arg(nnodes, indx, edges, c.size(), "MPI_Graph_map")?;
        out(newrank, if c.rank < g.nnodes() { c.rank as c_int } else { abi::MPI_UNDEFINED }, "newrank")
    }
}

ffi_fn! {
    fn MPI_Graphdims_get(comm: MPI_Comm, nnodes: *mut c_int, nedges: *mut c_int) -> c_int {
        blame(comm as usize);
        let (_, g) = graph(state()?, comm, "MPI_Graphdims_get")?;
        if nnodes.is_null() || nedges.is_null() {
            return Err(err!(Arg, "MPI_Graphdims_get: the nnodes or nedges output argument is NULL"));
        }
        out(nnodes, g.nnodes() as c_int, "nnodes")?;
        out(nedges, g.edges.len() as c_int, "nedges")
    }
}

ffi_fn! {
    fn MPI_Graph_get(comm: MPI_Comm, maxindex: c_int, maxedges: c_int, indx: *mut c_int, edges: *mut c_int) -> c_int {
        blame(comm as usize);
        let (_, g) = graph(state()?, comm, "MPI_Graph_get")?;
        if (maxindex as i64) < g.nnodes() as i64 || (maxedges as i64) < g.edges.len() as i64 {
            return Err(err!(Arg, "MPI_Graph_get: maxindex {maxindex} / maxedges {maxedges} are smaller than the graph's {} nodes / {} edges", g.nnodes(), g.edges.len()));
        }
        write_ints(indx, maxindex, &as_ints(&g.index), "index")?;
        write_ints(edges, maxedges, &as_ints(&g.edges), "edges")
    }
}

ffi_fn! {
    fn MPI_Graph_neighbors_count(comm: MPI_Comm, rank: c_int, nneighbors: *mut c_int) -> c_int {
        blame(comm as usize);
        let (_, g) = graph(state()?, comm, "MPI_Graph_neighbors_count")?;
        let r = usize::try_from(rank).map_err(|_| err!(Rank, "MPI_Graph_neighbors_count: rank {rank} is negative"))?;
        out(nneighbors, g.neighbors(r)?.len() as c_int, "nneighbors")
    }
}

ffi_fn! {
    fn MPI_Graph_neighbors(comm: MPI_Comm, rank: c_int, maxneighbors: c_int, neighbors: *mut c_int) -> c_int {
        blame(comm as usize);
        let (_, g) = graph(state()?, comm, "MPI_Graph_neighbors")?;
        let r = usize::try_from(rank).map_err(|_| err!(Rank, "MPI_Graph_neighbors: rank {rank} is negative"))?;
        write_ints(neighbors, maxneighbors, &as_ints(g.neighbors(r)?), "neighbors")
    }
}

/// Weights at `ptr` for `n` edges: `None` for MPI_UNWEIGHTED.
fn weights(ptr: *const c_int, n: c_int, what: &str) -> Result<Option<Vec<c_int>>> {
    if std::ptr::eq(ptr, abi::MPI_UNWEIGHTED) {
        return Ok(None);
    }
    if std::ptr::eq(ptr, abi::MPI_WEIGHTS_EMPTY) {
        if n > 0 {
            return Err(err!(
                Arg,
                "{what} is MPI_WEIGHTS_EMPTY but there are {n} edges; pass their weights or MPI_UNWEIGHTED"
            ));
        }
        return Ok(Some(Vec::new()));
    }
    Ok(Some(ints(ptr, n, what)?.to_vec()))
}

ffi_fn! {
    fn MPI_Dist_graph_create_adjacent(comm_old: MPI_Comm, indegree: c_int, sources: *const c_int, sourceweights: *const c_int, outdegree: c_int, destinations: *const c_int, destweights: *const c_int, info: MPI_Info, reorder: c_int, comm_dist_graph: *mut MPI_Comm) -> c_int {
        blame(comm_old as usize);
        let _ = (info, reorder);
        let st = state()?;
        let c = handles::comm(st, comm_old)?;
        let sources = check_ranks(ints(sources, indegree, "sources")?, c.size(), "sources")?;
        let destinations = check_ranks(ints(destinations, outdegree, "destinations")?, c.size(), "destinations")?;
        let (sw, dw) = (weights(sourceweights, indegree, "sourceweights")?, weights(destweights, outdegree, "destweights")?);
        let weighted = sw.is_some() && dw.is_some();
        let g = DistGraph {
            source_weights: sw.unwrap_or_else(|| vec![1; sources.len()]),
            destination_weights: dw.unwrap_or_else(|| vec![1; destinations.len()]),
            sources,
            destinations,
            weighted,
        };
        out(comm_dist_graph, with_topology(st, comm_old, &c, c.size(), Topology::DistGraph(g))?, "new communicator")
    }
}

ffi_fn! {
    fn MPI_Dist_graph_create(comm_old: MPI_Comm, n: c_int, sources: *const c_int, degrees: *const c_int, destinations: *const c_int, weights: *const c_int, info: MPI_Info, reorder: c_int, comm_dist_graph: *mut MPI_Comm) -> c_int {
        blame(comm_old as usize);
        let _ = (info, reorder);
        let st = state()?;
        let c = super::collective::settled(st, comm_old)?;
        let origins = check_ranks(ints(sources, n, "sources")?, c.size(), "sources")?;
        let degrees = ints(degrees, n, "degrees")?;
        if let Some((i, d)) = degrees.iter().enumerate().find(|(_, d)| **d < 0) {
            return Err(err!(Arg, "MPI_Dist_graph_create: degrees[{i}] is {d}; degrees must not be negative"));
        }
        let total: i64 = degrees.iter().map(|d| *d as i64).sum();
        let total = c_int::try_from(total).map_err(|_| err!(Arg, "MPI_Dist_graph_create: {total} edges is more than an int can count"))?;
        let targets = check_ranks(ints(destinations, total, "destinations")?, c.size(), "destinations")?;
        let w = self::weights(weights, total, "weights")?;
        let mut edges = Vec::with_capacity(targets.len());
        let mut next = 0;
        for (s, d) in origins.iter().zip(degrees) {
            for _ in 0..*d {
                edges.push(Edge { source: *s, dest: targets[next], weight: w.as_ref().map_or(1, |w| w[next]) });
                next += 1;
            }
        }
        let (incoming, outgoing) = construct::route_edges(&st.rt, &c, &edges)?;
        let g = DistGraph {
            sources: incoming.iter().map(|e| e.source).collect(),
            source_weights: incoming.iter().map(|e| e.weight).collect(),
            destinations: outgoing.iter().map(|e| e.dest).collect(),
            destination_weights: outgoing.iter().map(|e| e.weight).collect(),
            weighted: w.is_some(),
        };
        out(comm_dist_graph, with_topology(st, comm_old, &c, c.size(), Topology::DistGraph(g))?, "new communicator")
    }
}

ffi_fn! {
    fn MPI_Dist_graph_neighbors_count(comm: MPI_Comm, indegree: *mut c_int, outdegree: *mut c_int, weighted: *mut c_int) -> c_int {
        blame(comm as usize);
        let g = dist_graph(state()?, comm, "MPI_Dist_graph_neighbors_count")?;
        if indegree.is_null() || outdegree.is_null() || weighted.is_null() {
            return Err(err!(Arg, "MPI_Dist_graph_neighbors_count: an output argument is NULL"));
        }
        out(indegree, g.sources.len() as c_int, "indegree")?;
        out(outdegree, g.destinations.len() as c_int, "outdegree")?;
        out(weighted, g.weighted as c_int, "weighted")
    }
}

ffi_fn! {
    fn MPI_Dist_graph_neighbors(comm: MPI_Comm, maxindegree: c_int, sources: *mut c_int, sourceweights: *mut c_int, maxoutdegree: c_int, destinations: *mut c_int, destweights: *mut c_int) -> c_int {
        blame(comm as usize);
        let g = dist_graph(state()?, comm, "MPI_Dist_graph_neighbors")?;
        write_ints(sources, maxindegree, &as_ints(&g.sources), "sources")?;
        write_ints(destinations, maxoutdegree, &as_ints(&g.destinations), "destinations")?;
        if sourceweights != abi::MPI_UNWEIGHTED && g.weighted {
            write_ints(sourceweights, maxindegree, &g.source_weights, "sourceweights")?;
        }
        if destweights != abi::MPI_UNWEIGHTED && g.weighted {
            write_ints(destweights, maxoutdegree, &g.destination_weights, "destweights")?;
        }
        Ok(())
    }
}
