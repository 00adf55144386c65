//! The type maps of the predefined datatypes (a pair type is its two parts, padding left out), built once.

use super::abi::{self, handle_value, MPI_Datatype};
use super::datatype_table::{predefined_datatype_handles, predefined_datatype_name, predefined_datatype_size};
use crate::typemap::{Shared, TypeMap};
use std::sync::{Arc, OnceLock};

/// Parts of the pair types: `(pair, value type, offset of the int part)`.
const PAIRS: [(MPI_Datatype, MPI_Datatype, MPI_Datatype, i64); 9] = [
    (abi::MPI_FLOAT_INT, abi::MPI_FLOAT, abi::MPI_INT, 4),
    (abi::MPI_DOUBLE_INT, abi::MPI_DOUBLE, abi::MPI_INT, 8),
    (abi::MPI_LONG_INT, abi::MPI_LONG, abi::MPI_INT, 8),
    (abi::MPI_2INT, abi::MPI_INT, abi::MPI_INT, 4),
    (abi::MPI_SHORT_INT, abi::MPI_SHORT, abi::MPI_INT, 4),
    (abi::MPI_LONG_DOUBLE_INT, abi::MPI_LONG_DOUBLE, abi::MPI_INT, 16),
    (abi::MPI_2REAL, abi::MPI_REAL, abi::MPI_REAL, 4),
    (abi::MPI_2DOUBLE_PRECISION, abi::MPI_DOUBLE_PRECISION, abi::MPI_DOUBLE_PRECISION, 8),
    (abi::MPI_2INTEGER, abi::MPI_INTEGER, abi::MPI_INTEGER, 4),
];

/// `(disp, handle, size, alignment)` of a basic (non-pair) type at `disp`.
fn leaf(handle: usize, disp: i64) -> (i64, usize, usize, usize) {
    let size = predefined_datatype_size(handle).map_or(1, |(s, _)| s);
    let complex = predefined_datatype_name(handle).is_some_and(|n| n.contains("COMPLEX"));
    let unit = if complex { size / 2 } else { size };
    let align = if unit.is_power_of_two() { unit.min(16) } else { 1 };
    (disp, handle, size, align)
}

fn build(handle: usize) -> TypeMap {
    let extent = predefined_datatype_size(handle).map_or(0, |(s, _)| s);
    let pair = PAIRS.iter().find(|p| handle_value(p.0) == handle);
    let leaves = match pair {
        Some(&(_, value, int, at)) => vec![leaf(handle_value(value), 0), leaf(handle_value(int), at)],
        None => vec![leaf(handle, 0)],
    };
    TypeMap::predefined(handle, &leaves, extent)
}

/// The type map of a predefined datatype; `None` for any other handle.
pub fn predefined_map(handle: usize) -> Option<Shared> {
    static MAPS: OnceLock<Vec<(usize, Shared)>> = OnceLock::new();
    let maps = MAPS.get_or_init(|| predefined_datatype_handles().map(|h| (h, Arc::new(build(h)))).collect());
    maps.binary_search_by_key(&handle, |(h, _)| *h).ok().map(|i| maps[i].1.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_leave_padding_out() {
        let di = predefined_map(handle_value(abi::MPI_DOUBLE_INT)).unwrap();
        assert_eq!((di.size, di.extent(), di.elements, di.runs.len()), (12, 16, 2, 2));
        assert!(!di.is_contiguous());
        let si = predefined_map(handle_value(abi::MPI_SHORT_INT)).unwrap();
        assert_eq!((si.size, si.extent(), si.runs[1].disp), (6, 8, 4));
        let two = predefined_map(handle_value(abi::MPI_2INT)).unwrap();
        assert_eq!((two.runs.len(), two.elements), (1, 2), "two ints merge into one run");
        assert!(two.is_contiguous());
        let z = predefined_map(handle_value(abi::MPI_C_DOUBLE_COMPLEX)).unwrap();
        assert_eq!((z.runs[0].unit, z.align), (8, 8));
        assert!(predefined_map(handle_value(abi::MPI_DATATYPE_NULL)).is_none());
    }
}
