//! The datatype constructors of MPI (contiguous, vector, indexed, struct, subarray, resized, dup) as type-map builders, with the envelope each records.

use super::{push, Run, Shared, TypeMap, RUN_LIMIT};
use crate::error::{err, Result};

/// A datatype a constructor was given: a predefined one (its handle) or a derived one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Child {
    /// The handle value of a predefined type; `None` for a derived one.
    pub predefined: Option<usize>,
    pub map: Shared,
}

/// Which constructor made a type (MPI's combiner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combiner {
    Named,
    Dup,
    Contiguous,
    Vector,
    Hvector,
    Indexed,
    Hindexed,
    IndexedBlock,
    HindexedBlock,
    Struct,
    Subarray,
    /// `MPI_Type_create_darray`, recorded with the ABI's distribution and order constants.
    Darray,
    Resized,
    /// `MPI_Type_create_f90_integer/_real/_complex`: a predefined type chosen by precision and
    /// range, recorded with the (p, r) it was asked for.
    F90Integer,
    F90Real,
    F90Complex,
}

/// The arguments a type was built with, in the order `MPI_Type_get_contents` returns them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub combiner: Combiner,
    pub ints: Vec<i64>,
    pub addrs: Vec<i64>,
    pub types: Vec<Child>,
}

impl Envelope {
    pub fn named() -> Envelope {
        Envelope { combiner: Combiner::Named, ints: vec![], addrs: vec![], types: vec![] }
    }
}

/// Array order of `MPI_Type_create_subarray`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    C,
    Fortran,
}

pub(super) fn to_i64(v: i128, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| err!(Count, "{what} overflows the address space"))
}

fn nonnegative(v: i64, what: &str) -> Result<usize> {
    usize::try_from(v).map_err(|_| err!(Count, "{what} is {v}, which is negative"))
}

/// Appends `count` copies of `base`'s runs, one extent apart, starting `at` bytes in.
fn repeat(runs: &mut Vec<Run>, base: &TypeMap, at: i64, count: usize) -> Result<()> {
    if count == 0 || base.runs.is_empty() {
        return Ok(());
    }
    let ext = base.extent();
    if let [r] = base.runs[..] {
        if r.bytes() as i64 == ext {
            // One gapless run per item: all copies are one run.
            let n = r.count.checked_mul(count).ok_or_else(|| err!(Count, "{count} items overflow the size"))?;
            push(runs, Run { disp: to_i64(at as i128 + r.disp as i128, "a displacement")?, count: n, ..r });
            return Ok(());
        }
    }
    for k in 0..count {
        if runs.len() > RUN_LIMIT {
            return Err(err!(
                NoMem,
                "the datatype has more than {RUN_LIMIT} separate pieces; use fewer, larger blocks"
            ));
        }
        let shift = at as i128 + k as i128 * ext as i128;
        for r in &base.runs {
            push(runs, Run { disp: to_i64(shift + r.disp as i128, "a displacement")?, ..*r });
        }
    }
    Ok(())
}

/// A type of blocks: `(byte displacement, item count, base)` each; bounds follow MPI's rules.
pub(super) fn blocks(parts: &[(i64, usize, &TypeMap)], envelope: Envelope, padded: bool) -> Result<TypeMap> {
    let mut runs = Vec::new();
    let (mut lb, mut ub) = (i64::MAX, i64::MIN);
    for &(at, count, base) in parts {
        repeat(&mut runs, base, at, count)?;
        if count == 0 {
            continue;
        }
        let last = at as i128 + (count as i128 - 1) * base.extent() as i128;
        lb = lb.min(to_i64((at as i128).min(last) + base.lb as i128, "the lower bound")?);
        ub = ub.max(to_i64((at as i128).max(last) + base.ub as i128, "the upper bound")?);
    }
    if lb > ub {
        (lb, ub) = (0, 0);
    }
    let bases = || parts.iter().map(|p| p.2);
    let first = bases().next().and_then(|b| b.basic);
    let mut t = TypeMap {
        runs,
        lb,
        ub,
        true_lb: 0,
        true_ub: 0,
        size: 0,
        elements: 0,
        basic: if bases().all(|b| b.basic == first) { first } else { None },
        align: bases().map(|b| b.align).max().unwrap_or(1),
        explicit_bounds: bases().any(|b| b.explicit_bounds),
        envelope,
    };
    t.settle_data();
    if padded && !t.explicit_bounds && t.align > 1 {
        // A struct's extent is padded to its strictest alignment, as a C compiler pads it.
        let ext = t.extent() as u64;
        t.ub = t.lb + to_i64(ext.next_multiple_of(t.align as u64) as i128, "the extent")?;
    }
    Ok(t)
}

pub(super) fn env(combiner: Combiner, ints: Vec<i64>, addrs: Vec<i64>, types: &[&Child]) -> Envelope {
    Envelope { combiner, ints, addrs, types: types.iter().map(|c| (*c).clone()).collect() }
}

pub fn contiguous(count: i64, base: &Child) -> Result<TypeMap> {
    let n = nonnegative(count, "the count")?;
    blocks(&[(0, n, &base.map)], env(Combiner::Contiguous, vec![count], vec![], &[base]), false)
}

/// `MPI_Type_vector` (`stride` in items) and `MPI_Type_create_hvector` (`stride` in bytes).
pub fn vector(count: i64, blocklen: i64, stride: i64, stride_in_bytes: bool, base: &Child) -> Result<TypeMap> {
    let (n, len) = (nonnegative(count, "the count")?, nonnegative(blocklen, "the block length")?);
    let step = if stride_in_bytes { stride as i128 } else { stride as i128 * base.map.extent() as i128 };
    let mut parts = Vec::with_capacity(n.min(RUN_LIMIT));
    for i in 0..n {
        if parts.len() > RUN_LIMIT {
            return Err(err!(NoMem, "the vector has more than {RUN_LIMIT} blocks; use fewer, larger blocks"));
        }
        parts.push((to_i64(i as i128 * step, "a block displacement")?, len, &*base.map));
    }
    let envelope = match stride_in_bytes {
        false => env(Combiner::Vector, vec![count, blocklen, stride], vec![], &[base]),
        true => env(Combiner::Hvector, vec![count, blocklen], vec![stride], &[base]),
    };
    blocks(&parts, envelope, false)
}

/// `MPI_Type_indexed` (`displs` in items) and `MPI_Type_create_hindexed` (in bytes).
pub fn indexed(blocklens: &[i64], displs: &[i64], in_bytes: bool, base: &Child) -> Result<TypeMap> {
    let ext = base.map.extent() as i128;
    let mut parts = Vec::with_capacity(blocklens.len());
    for (i, (&len, &d)) in blocklens.iter().zip(displs).enumerate() {
        let at = if in_bytes { d as i128 } else { d as i128 * ext };
        parts.push((to_i64(at, "a block displacement")?, nonnegative(len, &format!("block length {i}"))?, &*base.map));
    }
    let count = blocklens.len() as i64;
    let envelope = match in_bytes {
        false => env(Combiner::Indexed, [&[count], blocklens, displs].concat(), vec![], &[base]),
        true => env(Combiner::Hindexed, [&[count], blocklens].concat(), displs.to_vec(), &[base]),
    };
    blocks(&parts, envelope, false)
}

/// `MPI_Type_create_indexed_block` (`displs` in items) and `_hindexed_block` (in bytes).
pub fn indexed_block(blocklen: i64, displs: &[i64], in_bytes: bool, base: &Child) -> Result<TypeMap> {
    let lens = vec![blocklen; displs.len()];
    let mut t = indexed(&lens, displs, in_bytes, base)?;
    let count = displs.len() as i64;
    t.envelope = match in_bytes {
        false => env(Combiner::IndexedBlock, [&[count, blocklen], displs].concat(), vec![], &[base]),
        true => env(Combiner::HindexedBlock, vec![count, blocklen], displs.to_vec(), &[base]),
    };
    Ok(t)
}

/// `MPI_Type_create_struct`: blocks of different types at byte displacements.
pub fn structure(blocklens: &[i64], displs: &[i64], types: &[Child]) -> Result<TypeMap> {
    let mut parts = Vec::with_capacity(types.len());
    for (i, ((&len, &d), t)) in blocklens.iter().zip(displs).zip(types).enumerate() {
        parts.push((d, nonnegative(len, &format!("block length {i}"))?, &*t.map));
    }
    let count = types.len() as i64;
    let children: Vec<&Child> = types.iter().collect();
    let envelope = env(Combiner::Struct, [&[count], blocklens].concat(), displs.to_vec(), &children);
    blocks(&parts, envelope, true)
}

/// `MPI_Type_create_subarray`: a `subsizes` block at `starts` of a `sizes` array of `base`.
pub fn subarray(sizes: &[i64], subsizes: &[i64], starts: &[i64], order: Order, base: &Child) -> Result<TypeMap> {
    let ndims = sizes.len();
    if ndims == 0 || subsizes.len() != ndims || starts.len() != ndims {
        return Err(err!(Arg, "a subarray needs at least one dimension, with a size, subsize and start for each"));
    }
    for d in 0..ndims {
        let (n, sub, at) = (sizes[d], subsizes[d], starts[d]);
        if n < 1 || sub < 1 || at < 0 || sub > n || at > n - sub {
            return Err(err!(
                Arg,
                "dimension {d}: size {n}, subsize {sub}, start {at} is not a block inside the array; \
                 need size >= 1, 1 <= subsize <= size and 0 <= start <= size - subsize"
            ));
        }
    }
    // Dimensions from the fastest-varying one out.
    let mut dims: Vec<usize> = (0..ndims).collect();
    if order == Order::C {
        dims.reverse();
    }
    let ext = base.map.extent() as i128;
    let (mut stride, mut offset) = (ext, 0i128);
    let mut t: TypeMap = (*base.map).clone();
    for &d in &dims {
        t = vector_of(&t, subsizes[d] as usize, to_i64(stride, "the array size")?)?;
        offset += starts[d] as i128 * stride;
        stride *= sizes[d] as i128;
        if stride > i64::MAX as i128 {
            return Err(err!(Count, "the array is larger than the address space"));
        }
    }
    let offset = to_i64(offset, "the start offset")?;
    for r in &mut t.runs {
        r.disp += offset;
    }
    t.settle_data();
    (t.lb, t.ub) = (0, stride as i64);
    t.explicit_bounds |= base.map.explicit_bounds;
    let order_value = if order == Order::C { 0 } else { 1 };
    let ints = [&[ndims as i64], sizes, subsizes, starts, &[order_value]].concat();
    t.envelope = env(Combiner::Subarray, ints, vec![], &[base]);
    Ok(t)
}

/// `count` copies of `t`, `stride` bytes apart (no envelope: an internal step).
fn vector_of(t: &TypeMap, count: usize, stride: i64) -> Result<TypeMap> {
    let parts: Vec<_> = (0..count).map(|i| (i as i64 * stride, 1, t)).collect();
    blocks(&parts, Envelope::named(), false)
}

/// `MPI_Type_create_resized`: the same data with bounds `lb` and `lb + extent`.
pub fn resized(base: &Child, lb: i64, extent: i64) -> Result<TypeMap> {
    let ub = lb.checked_add(extent).ok_or_else(|| err!(Arg, "lb {lb} + extent {extent} overflows"))?;
    let mut t = (*base.map).clone();
    (t.lb, t.ub, t.explicit_bounds) = (lb, ub, true);
    t.envelope = env(Combiner::Resized, vec![], vec![lb, extent], &[base]);
    Ok(t)
}

/// `MPI_Type_dup`: the same type map, recorded as a duplicate.
pub fn dup(base: &Child) -> TypeMap {
    let mut t = (*base.map).clone();
    t.envelope = env(Combiner::Dup, vec![], vec![], &[base]);
    t
}
