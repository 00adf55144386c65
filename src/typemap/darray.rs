//! `MPI_Type_create_darray`: one process's share of an array distributed block- or cyclic-wise over a process grid.
//!
//! The type map lists the process's elements of the global array in array order (the
//! fastest-varying dimension innermost, as the standard's construction from vectors does), each
//! at its place in the whole array, with lb 0 and the whole array's extent, so that a file or
//! buffer holding the global array is addressed directly.

use super::build::{blocks, env, to_i64, Child, Combiner, Envelope, Order};
use super::TypeMap;
use crate::error::{err, Result};

/// How one dimension is split over the processes along it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distribution {
    /// Contiguous blocks of `block` elements (`None`: the default, ceil(size / processes)).
    Block(Option<i64>),
    /// Blocks of `block` elements dealt round-robin (`None`: the default, 1).
    Cyclic(Option<i64>),
    /// Not split: the dimension's process count must be 1.
    Whole,
}

/// The arguments of `MPI_Type_create_darray`, with `raw` the ABI values recorded for
/// `MPI_Type_get_contents` (distribution, argument and order constants as the caller gave them).
pub struct Darray<'a> {
    pub size: i64,
    pub rank: i64,
    pub gsizes: &'a [i64],
    pub distribs: &'a [Distribution],
    pub psizes: &'a [i64],
    pub order: Order,
    pub raw: Vec<i64>,
}

/// The global indices of dimension `d` that the process at grid coordinate `at` holds, in order.
fn owned(d: usize, global: i64, dist: Distribution, procs: i64, at: i64) -> Result<Vec<i64>> {
    match dist {
        Distribution::Whole => {
            if procs != 1 {
                return Err(err!(Arg, "dimension {d} is MPI_DISTRIBUTE_NONE but is split over {procs} processes; its process count must be 1"));
            }
            Ok((0..global).collect())
        }
        Distribution::Block(block) => {
            let block = block.unwrap_or((global + procs - 1) / procs);
            if block < 1 || block.checked_mul(procs).is_none_or(|all| all < global) {
                return Err(err!(
                    Arg,
                    "dimension {d}: blocks of {block} over {procs} processes do not cover its {global} elements"
                ));
            }
            let start = (at * block).min(global);
            Ok((start..(start + block).min(global)).collect())
        }
        Distribution::Cyclic(block) => {
            let block = block.unwrap_or(1);
            if block < 1 {
                return Err(err!(Arg, "dimension {d}: a cyclic block of {block} elements; it must be at least 1"));
            }
            Ok((0..global).filter(|i| (i / block) % procs == at).collect())
        }
    }
}

/// Builds the darray type of `base` for `a`.
pub fn darray(a: &Darray, base: &Child) -> Result<TypeMap> {
    let ndims = a.gsizes.len();
    if ndims == 0 || a.distribs.len() != ndims || a.psizes.len() != ndims {
        return Err(err!(
            Arg,
            "a darray needs at least one dimension, with a size, distribution, argument and process count for each"
        ));
    }
    if a.size < 1 || a.rank < 0 || a.rank >= a.size {
        return Err(err!(Rank, "rank {} is not in a group of {} processes", a.rank, a.size));
    }
    if let Some(d) = (0..ndims).find(|&d| a.gsizes[d] < 1 || a.psizes[d] < 1) {
        return Err(err!(
            Arg,
            "dimension {d}: size {} over {} processes; both must be at least 1",
            a.gsizes[d],
            a.psizes[d]
        ));
    }
    let grid = a.psizes.iter().try_fold(1i64, |n, &p| n.checked_mul(p));
    if grid != Some(a.size) {
        return Err(err!(Arg, "the process grid {:?} does not hold exactly {} processes", a.psizes, a.size));
    }
    // The process grid is row-major whatever the array order (MPI 4.1 §5.1.4).
    let mut coords = vec![0i64; ndims];
    let mut left = a.rank;
    for d in (0..ndims).rev() {
        coords[d] = left % a.psizes[d];
        left /= a.psizes[d];
    }
    // Dimensions from the fastest-varying one out.
    let mut dims: Vec<usize> = (0..ndims).collect();
    if a.order == Order::C {
        dims.reverse();
    }
    let ext = base.map.extent() as i128;
    let mut stride = ext;
    let mut t: TypeMap = (*base.map).clone();
    for &d in &dims {
        let mine = owned(d, a.gsizes[d], a.distribs[d], a.psizes[d], coords[d])?;
        let mut parts = Vec::with_capacity(mine.len());
        for i in mine {
            parts.push((to_i64(i as i128 * stride, "an element's displacement")?, 1, &t));
        }
        t = blocks(&parts, Envelope::named(), false)?;
        stride *= a.gsizes[d] as i128;
        if stride > i64::MAX as i128 {
            return Err(err!(Count, "the array is larger than the address space"));
        }
    }
    t.settle_data();
    (t.lb, t.ub) = (0, stride as i64);
    t.explicit_bounds |= base.map.explicit_bounds;
    t.envelope = env(Combiner::Darray, a.raw.clone(), vec![], &[base]);
    Ok(t)
}
