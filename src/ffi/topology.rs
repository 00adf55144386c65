//! Cartesian topologies: `MPI_Dims_create`, `MPI_Cart_*` and `MPI_Topo_test` over the core's `topology::Cart`.

use super::abi::{self, MPI_Comm};
use super::boundary::{blame, out};
use super::comm::register;
use super::group::ints;
use super::handles::{self, comm_slot};
use super::state::{state, State};
use crate::comm::Comm;
use crate::error::{err, Result};
use crate::sync::lock;
use crate::topology::{self, Cart, Topology};
use std::ffi::c_int;
use std::sync::Arc;

/// The topology of `comm`, if it has one.
pub(super) fn topology_of(st: &State, comm: MPI_Comm) -> Option<Arc<Topology>> {
    comm_slot(comm as usize).and_then(|h| lock(&st.comms).get(h).and_then(|e| e.topology.clone()))
}

pub(super) fn set_topology(st: &State, comm: MPI_Comm, topology: Option<Arc<Topology>>) {
    let mut comms = lock(&st.comms);
    if let Some(e) = comm_slot(comm as usize).and_then(|h| comms.get_mut(h)) {
        e.topology = topology;
    }
}

/// Gives `child` the topology of `parent`, as `MPI_Comm_dup` and its variants must.
pub(super) fn inherit(st: &State, parent: MPI_Comm, child: MPI_Comm) {
    set_topology(st, child, topology_of(st, parent));
}

/// The communicator of `parent`'s first `members` ranks, carrying `topology` (MPI_Cart_create,
/// MPI_Graph_create); `MPI_COMM_NULL` for the ranks beyond them. Every rank takes the child
/// context, member or not, so all stay in step.
pub(super) fn with_topology(
    st: &State,
    parent: MPI_Comm,
    c: &Comm,
    members: usize,
    topology: Topology,
) -> Result<MPI_Comm> {
    super::intercomm::intra_only(c, "a topology constructor")?;
    let context = c.next_child_context();
    if c.rank >= members {
        return Ok(abi::MPI_COMM_NULL);
    }
    let h = register(st, parent, Comm::new(c.group[..members].to_vec(), c.rank, context))?;
    set_topology(st, h, Some(Arc::new(topology)));
    Ok(h)
}

/// `comm` and its grid, or an error for a communicator without one.
fn cart(st: &State, comm: MPI_Comm, call: &str) -> Result<(Arc<Comm>, Cart)> {
    let c = handles::comm(st, comm)?;
    match topology_of(st, comm).as_deref() {
        Some(Topology::Cart(grid)) => Ok((c, grid.clone())),
        _ => Err(err!(Topology, "{call}: the communicator has no Cartesian topology; make one with MPI_Cart_create")),
    }
}

/// Writes `values` to the caller's array of room for `max` ints.
pub(super) fn write_ints(ptr: *mut c_int, max: c_int, values: &[c_int], what: &str) -> Result<()> {
    if (max as i64) < values.len() as i64 {
        return Err(err!(
            Arg,
            "the {what} array has room for {max} entries, but the topology has {} dimensions",
            values.len()
        ));
    }
    if values.is_empty() {
        return Ok(());
    }
    if ptr.is_null() {
        return Err(err!(Arg, "the {what} output array is NULL"));
    }
    // SAFETY: non-null, and MPI's contract is that it holds `max` >= values.len() ints.
    unsafe { std::ptr::copy_nonoverlapping(values.as_ptr(), ptr, values.len()) };
    Ok(())
}

/// A grid from the caller's `dims` and `periods`, checked to fit in `size` ranks.
fn grid(ndims: c_int, dims: *const c_int, periods: *const c_int, size: usize, call: &str) -> Result<Cart> {
    if ndims < 0 {
        return Err(err!(Dims, "{call}: ndims is {ndims}; it must not be negative"));
    }
    let extents = ints(dims, ndims, "dims")?;
    let periodic: Vec<bool> = ints(periods, ndims, "periods")?.iter().map(|p| *p != 0).collect();
    let grid = Cart::new(extents, &periodic)?;
    let fits = extents.iter().try_fold(1usize, |n, d| n.checked_mul(*d as usize)).is_some_and(|n| n <= size);
    if !fits {
        return Err(err!(Topology, "{call}: a grid of {extents:?} needs more ranks than the communicator's {size}; use MPI_Dims_create to choose a grid that fits"));
    }
    Ok(grid)
}

ffi_fn! {
    fn MPI_Dims_create(nnodes: c_int, ndims: c_int, dims: *mut c_int) -> c_int {
        if ndims < 0 {
            return Err(err!(Dims, "MPI_Dims_create: ndims is {ndims}; it must not be negative"));
        }
        let mut shape = ints(dims, ndims, "dims")?.to_vec();
        topology::dims_create(nnodes, &mut shape)?;
        write_ints(dims, ndims, &shape, "dims")
    }
}

ffi_fn! {
    fn MPI_Cart_create(comm_old: MPI_Comm, ndims: c_int, dims: *const c_int, periods: *const c_int, reorder: c_int, comm_cart: *mut MPI_Comm) -> c_int {
        blame(comm_old as usize);
        // Ranks keep their order: partyline knows nothing that reordering would improve.
        let _ = reorder;
        let st = state()?;
        let c = handles::comm(st, comm_old)?;
        let grid = grid(ndims, dims, periods, c.size(), "MPI_Cart_create")?;
        let members = grid.size();
        out(comm_cart, with_topology(st, comm_old, &c, members, Topology::Cart(grid))?, "new communicator")
    }
}

ffi_fn! {
    fn MPI_Cart_map(comm: MPI_Comm, ndims: c_int, dims: *const c_int, periods: *const c_int, newrank: *mut c_int) -> c_int {
        blame(comm as usize);
        let c = handles::comm(state()?, comm)?;
        let grid = grid(ndims, dims, periods, c.size(), "MPI_Cart_map")?;
        out(newrank, if c.rank < grid.size() { c.rank as c_int } else { abi::MPI_UNDEFINED }, "newrank")
    }
}

ffi_fn! {
    fn MPI_Topo_test(comm: MPI_Comm, status: *mut c_int) -> c_int {
        blame(comm as usize);
        let st = state()?;
        handles::comm(st, comm)?;
        let kind = match topology_of(st, comm).as_deref() {
            Some(Topology::Cart(_)) => abi::MPI_CART,
            Some(Topology::Graph(_)) => abi::MPI_GRAPH,
            Some(Topology::DistGraph(_)) => abi::MPI_DIST_GRAPH,
            None => abi::MPI_UNDEFINED,
        };
        out(status, kind, "status")
    }
}

ffi_fn! {
    fn MPI_Cartdim_get(comm: MPI_Comm, ndims: *mut c_int) -> c_int {
        blame(comm as usize);
        let (_, grid) = cart(state()?, comm, "MPI_Cartdim_get")?;
        out(ndims, grid.ndims() as c_int, "ndims")
    }
}

ffi_fn! {
    fn MPI_Cart_get(comm: MPI_Comm, maxdims: c_int, dims: *mut c_int, periods: *mut c_int, coords: *mut c_int) -> c_int {
        blame(comm as usize);
        let (c, grid) = cart(state()?, comm, "MPI_Cart_get")?;
        let extents: Vec<c_int> = grid.dims.iter().map(|d| *d as c_int).collect();
        let periodic: Vec<c_int> = grid.periods.iter().map(|p| *p as c_int).collect();
        let here = grid.coords(c.rank)?;
        write_ints(dims, maxdims, &extents, "dims")?;
        write_ints(periods, maxdims, &periodic, "periods")?;
        write_ints(coords, maxdims, &here, "coords")
    }
}

ffi_fn! {
    fn MPI_Cart_rank(comm: MPI_Comm, coords: *const c_int, rank: *mut c_int) -> c_int {
        blame(comm as usize);
        let (_, grid) = cart(state()?, comm, "MPI_Cart_rank")?;
        let at = ints(coords, grid.ndims() as c_int, "coords")?;
        let r = grid.rank(at).map_err(|e| err!(Arg, "MPI_Cart_rank: {}", e.message))?;
        out(rank, r as c_int, "rank")
    }
}

ffi_fn! {
    fn MPI_Cart_coords(comm: MPI_Comm, rank: c_int, maxdims: c_int, coords: *mut c_int) -> c_int {
        blame(comm as usize);
        let (_, grid) = cart(state()?, comm, "MPI_Cart_coords")?;
        let r = usize::try_from(rank).map_err(|_| err!(Rank, "MPI_Cart_coords: rank {rank} is negative"))?;
        let at = grid.coords(r).map_err(|e| err!(Rank, "MPI_Cart_coords: {}", e.message))?;
        write_ints(coords, maxdims, &at, "coords")
    }
}

ffi_fn! {
    fn MPI_Cart_shift(comm: MPI_Comm, direction: c_int, disp: c_int, rank_source: *mut c_int, rank_dest: *mut c_int) -> c_int {
        blame(comm as usize);
        let (c, grid) = cart(state()?, comm, "MPI_Cart_shift")?;
        let (from, to) = grid.shift(c.rank, direction, disp)?;
        let rank = |r: Option<usize>| r.map_or(abi::MPI_PROC_NULL, |r| r as c_int);
        if rank_source.is_null() || rank_dest.is_null() {
            return Err(err!(Arg, "MPI_Cart_shift: the rank_source or rank_dest output argument is NULL"));
        }
        out(rank_source, rank(from), "rank_source")?;
        out(rank_dest, rank(to), "rank_dest")
    }
}

ffi_fn! {
    fn MPI_Cart_sub(comm: MPI_Comm, remain_dims: *const c_int, newcomm: *mut MPI_Comm) -> c_int {
        blame(comm as usize);
        let st = state()?;
        let (c, grid) = cart(st, comm, "MPI_Cart_sub")?;
        let keep: Vec<bool> = ints(remain_dims, grid.ndims() as c_int, "remain_dims")?.iter().map(|k| *k != 0).collect();
        let (sub, members) = grid.sub(c.rank, &keep)?;
        // Sub-grids are disjoint, so they may all share the one context every member takes.
        let context = c.next_child_context();
        let rank = members.iter().position(|m| *m == c.rank).expect("a rank is in its own sub-grid");
        let world = members.iter().map(|m| c.group[*m]).collect();
        let h = register(st, comm, Comm::new(world, rank, context))?;
        set_topology(st, h, Some(Arc::new(Topology::Cart(sub))));
        out(newcomm, h, "new communicator")
    }
}
