//! Cartesian process topologies: balanced grid shapes (`MPI_Dims_create`) and the rank/coordinate arithmetic of a grid.

use crate::error::{err, Result};

pub mod graph;

/// The topology a communicator may carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Topology {
    Cart(Cart),
    Graph(graph::Graph),
    DistGraph(graph::DistGraph),
}

/// A Cartesian grid over ranks `0..dims.iter().product()`, numbered row-major (the last
/// dimension varies fastest), as MPI specifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cart {
    pub dims: Vec<usize>,
    pub periods: Vec<bool>,
}

impl Cart {
    /// A grid; every extent must be positive (a zero-dimensional grid has one rank).
    pub fn new(dims: &[i32], periods: &[bool]) -> Result<Cart> {
        if let Some((i, d)) = dims.iter().enumerate().find(|(_, d)| **d <= 0) {
            return Err(err!(
                Dims,
                "dimension {i} has extent {d}; every extent of a Cartesian grid must be at least 1"
            ));
        }
        Ok(Cart { dims: dims.iter().map(|d| *d as usize).collect(), periods: periods.to_vec() })
    }

    pub fn ndims(&self) -> usize {
        self.dims.len()
    }

    /// Number of ranks in the grid.
    pub fn size(&self) -> usize {
        self.dims.iter().product()
    }

    /// The rank at `coords`; periodic dimensions wrap, others must be in range.
    pub fn rank(&self, coords: &[i32]) -> Result<usize> {
        let mut rank = 0usize;
        for (i, (&c, &d)) in coords.iter().zip(&self.dims).enumerate() {
            let c = self.wrap(i, c as i64).ok_or_else(|| {
                err!(Arg, "coordinate {c} of dimension {i} is outside 0..{d} and that dimension is not periodic")
            })?;
            rank = rank * d + c;
        }
        Ok(rank)
    }

    /// The coordinates of `rank`.
    pub fn coords(&self, rank: usize) -> Result<Vec<i32>> {
        if rank >= self.size() {
            return Err(err!(Rank, "rank {rank} is not in the Cartesian grid of {} ranks", self.size()));
        }
        let mut coords = vec![0; self.ndims()];
        let mut rest = rank;
        for (c, d) in coords.iter_mut().zip(&self.dims).rev() {
            *c = (rest % d) as i32;
            rest /= d;
        }
        Ok(coords)
    }

    /// `(source, dest)` of a shift by `disp` along `direction` from `rank`: `None` where the
    /// shift leaves a non-periodic dimension (MPI_PROC_NULL).
    pub fn shift(&self, rank: usize, direction: i32, disp: i32) -> Result<(Option<usize>, Option<usize>)> {
        let dir = usize::try_from(direction).ok().filter(|d| *d < self.ndims()).ok_or_else(|| {
            err!(
                Arg,
                "MPI_Cart_shift: direction {direction} is not a dimension of this {}-dimensional grid",
                self.ndims()
            )
        })?;
        let here = self.coords(rank)?;
        let moved = |by: i64| -> Option<usize> {
            let c = self.wrap(dir, here[dir] as i64 + by)?;
            let mut at = here.clone();
            at[dir] = c as i32;
            self.rank(&at).ok()
        };
        Ok((moved(-(disp as i64)), moved(disp as i64)))
    }

    /// The sub-grid of `rank` keeping the dimensions in `keep`: its grid, and the members'
    /// ranks in this grid in sub-grid rank order.
    pub fn sub(&self, rank: usize, keep: &[bool]) -> Result<(Cart, Vec<usize>)> {
        let here = self.coords(rank)?;
        let pick = |v: &[usize]| -> Vec<usize> { v.iter().zip(keep).filter(|(_, k)| **k).map(|(x, _)| *x).collect() };
        let dims = pick(&self.dims);
        let periods = self.periods.iter().zip(keep).filter(|(_, k)| **k).map(|(p, _)| *p).collect();
        let sub = Cart { dims, periods };
        let members = (0..sub.size())
            .map(|s| {
                let sc = sub.coords(s).expect("in range");
                let mut at = here.clone();
                let kept = (0..self.ndims()).filter(|i| keep[*i]);
                for (i, c) in kept.zip(sc) {
                    at[i] = c;
                }
                self.rank(&at).expect("in range")
            })
            .collect();
        Ok((sub, members))
    }

    fn wrap(&self, dim: usize, c: i64) -> Option<usize> {
        let d = self.dims[dim] as i64;
        if (0..d).contains(&c) {
            Some(c as usize)
        } else if self.periods[dim] {
            Some(c.rem_euclid(d) as usize)
        } else {
            None
        }
    }
}

/// `MPI_Dims_create`: fills the zero entries of `dims` so that the product is `nnodes`, as
/// balanced as possible and non-increasing, as MPICH and Open MPI do; non-zero entries stay.
pub fn dims_create(nnodes: i32, dims: &mut [i32]) -> Result<()> {
    if nnodes <= 0 {
        return Err(err!(Arg, "MPI_Dims_create: nnodes is {nnodes}; it must be positive"));
    }
    if let Some((i, d)) = dims.iter().enumerate().find(|(_, d)| **d < 0) {
        return Err(err!(Dims, "MPI_Dims_create: dims[{i}] is {d}; entries must be 0 (to be chosen) or positive"));
    }
    let fixed: i64 = dims.iter().filter(|d| **d > 0).map(|d| *d as i64).product();
    let free = dims.iter().filter(|d| **d == 0).count();
    if nnodes as i64 % fixed != 0 || (free == 0 && fixed != nnodes as i64) {
        return Err(err!(Dims, "MPI_Dims_create: {nnodes} nodes cannot be split into a grid whose fixed extents multiply to {fixed}; make nnodes a multiple of the fixed extents"));
    }
    let shape = balanced((nnodes as i64 / fixed) as usize, free);
    for (d, v) in dims.iter_mut().filter(|d| **d == 0).zip(shape) {
        *d = v as i32;
    }
    Ok(())
}

/// The non-increasing factorisation of `n` into `k` factors with the smallest spread
/// (largest minus smallest), ties broken by the smallest largest factor.
fn balanced(n: usize, k: usize) -> Vec<usize> {
    /// Tries each divisor of `n` no larger than `cap` as the next factor, largest first.
    fn search(n: usize, k: usize, cap: usize, divisors: &[usize], acc: &mut Vec<usize>, best: &mut Option<Vec<usize>>) {
        if k == 1 {
            if n <= cap {
                acc.push(n);
                if best.as_ref().is_none_or(|b| score(acc) < score(b)) {
                    *best = Some(acc.clone());
                }
                acc.pop();
            }
            return;
        }
        // Factors are non-increasing, so the next one is at least the k-th root of what is left.
        let candidates = divisors.iter().filter(|f| **f <= cap && n % **f == 0);
        for &f in candidates.take_while(|f| f.checked_pow(k as u32).is_none_or(|p| p >= n)) {
            acc.push(f);
            search(n / f, k - 1, f, divisors, acc, best);
            acc.pop();
        }
    }
    fn score(v: &[usize]) -> (usize, usize) {
        (v[0] - v[v.len() - 1], v[0])
    }
    if k == 0 {
        return Vec::new();
    }
    // Every factor divides n: trying only divisors keeps this fast for any int-sized n.
    let mut divisors: Vec<usize> =
        (1..).take_while(|d| d * d <= n).filter(|d| n % d == 0).flat_map(|d| [d, n / d]).collect();
    divisors.sort_unstable_by(|a, b| b.cmp(a));
    divisors.dedup();
    let mut best = None;
    search(n, k, n, &divisors, &mut Vec::with_capacity(k), &mut best);
    best.expect("n x 1 x ... x 1 always fits")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims(nnodes: i32, mut d: Vec<i32>) -> Vec<i32> {
        dims_create(nnodes, &mut d).unwrap();
        d
    }

    #[test]
    fn dims_create_matches_mpich_and_open_mpi() {
        assert_eq!(dims(6, vec![0, 0]), [3, 2]);
        assert_eq!(dims(12, vec![0, 0, 0]), [3, 2, 2]);
        assert_eq!(dims(7, vec![0, 0]), [7, 1]);
        assert_eq!(dims(16, vec![0, 0]), [4, 4]);
        assert_eq!(dims(24, vec![0, 0, 0]), [4, 3, 2]);
        assert_eq!(dims(1, vec![0, 0, 0]), [1, 1, 1]);
        assert_eq!(dims(8, vec![0, 0, 0]), [2, 2, 2]);
        assert_eq!(dims(60, vec![0, 0, 0]), [5, 4, 3]);
        assert_eq!(dims(4, vec![0]), [4]);
        assert_eq!(dims(1024, vec![0; 10]), [2; 10]);
        assert_eq!(dims(12, vec![0, 3, 0]), [2, 3, 2]);
        assert_eq!(dims(8, vec![2, 0]), [2, 4]);
        assert_eq!(dims(6, vec![3, 2]), [3, 2]);
        assert_eq!(dims(1, vec![]), Vec::<i32>::new());
        assert!(dims_create(5, &mut []).is_err(), "an empty grid has one node");
        assert_eq!(dims_create(7, &mut [2, 0]).unwrap_err().class, crate::error::ErrorClass::Dims);
        assert!(dims_create(6, &mut [2, 2]).is_err());
        assert!(dims_create(0, &mut [0]).is_err());
        assert!(dims_create(4, &mut [-1, 0]).is_err());
    }

    #[test]
    fn rank_coords_round_trip_row_major() {
        let c = Cart::new(&[2, 3], &[false, true]).unwrap();
        assert_eq!(c.size(), 6);
        assert_eq!(c.coords(4).unwrap(), [1, 1]);
        for r in 0..6 {
            assert_eq!(c.rank(&c.coords(r).unwrap()).unwrap(), r);
        }
        assert_eq!(c.rank(&[1, -1]).unwrap(), 5, "periodic dimension wraps");
        assert_eq!(c.rank(&[0, 7]).unwrap(), 1);
        assert!(c.rank(&[2, 0]).unwrap_err().message.contains("not periodic"));
        assert!(c.coords(6).is_err());
        assert!(Cart::new(&[2, 0], &[false, false]).is_err());
        let point = Cart::new(&[], &[]).unwrap();
        assert_eq!((point.size(), point.rank(&[]).unwrap()), (1, 0));
    }

    #[test]
    fn shift_wraps_or_falls_off_the_edge() {
        let c = Cart::new(&[2, 3], &[false, true]).unwrap();
        // Rank 0 is (0, 0).
        assert_eq!(c.shift(0, 0, 1).unwrap(), (None, Some(3)));
        assert_eq!(c.shift(3, 0, 1).unwrap(), (Some(0), None));
        assert_eq!(c.shift(0, 1, 1).unwrap(), (Some(2), Some(1)));
        assert_eq!(c.shift(0, 1, -4).unwrap(), (Some(1), Some(2)));
        assert_eq!(c.shift(0, 0, 0).unwrap(), (Some(0), Some(0)));
        assert!(c.shift(0, 2, 1).is_err());
        assert_eq!(c.shift(0, 0, 5).unwrap(), (None, None));
    }

    #[test]
    fn sub_grids_are_rows_or_columns() {
        let c = Cart::new(&[2, 3], &[true, false]).unwrap();
        let (row, members) = c.sub(4, &[false, true]).unwrap();
        assert_eq!((row.dims.clone(), row.periods.clone()), (vec![3], vec![false]));
        assert_eq!(members, [3, 4, 5]);
        let (col, members) = c.sub(4, &[true, false]).unwrap();
        assert_eq!((col.dims.clone(), col.periods.clone()), (vec![2], vec![true]));
        assert_eq!(members, [1, 4]);
        let (point, members) = c.sub(4, &[false, false]).unwrap();
        assert_eq!((point.ndims(), members), (0, vec![4]));
    }
}
