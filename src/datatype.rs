//! Datatypes as the core sees them: a shared type map, with its data size, memory extent and basic element count at hand.

use crate::error::{err, Result};
use crate::typemap::{Shared, TypeMap};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Datatype {
    /// Bytes of data in one item (`MPI_Type_size`); a message of `n` items carries `n * size`.
    pub size: usize,
    /// Bytes one item spans in memory, padding included (`MPI_Type_get_extent`; 0 if negative).
    pub extent: usize,
    /// Basic elements in one item (2 for pair types such as `MPI_2INT`).
    pub elements: usize,
    pub committed: bool,
    /// The predefined type every element is (its C handle value), so reductions know what to
    /// compute on; `None` for a datatype not made of one basic type.
    pub basic: Option<usize>,
    /// Where the data lies.
    pub map: Shared,
    /// Items are one gapless span from `lb`: messages use the caller's memory as it is.
    pub dense: bool,
    /// Set by `MPI_Type_set_name`.
    pub name: Option<Arc<str>>,
}

impl Datatype {
    pub fn new(map: Shared, committed: bool) -> Datatype {
        Datatype {
            size: map.size,
            extent: map.extent().max(0) as usize,
            elements: map.elements,
            committed,
            basic: map.basic,
            dense: map.is_contiguous(),
            map,
            name: None,
        }
    }

    pub fn from_map(map: TypeMap) -> Datatype {
        Datatype::new(Arc::new(map), false)
    }

    pub fn lb(&self) -> i64 {
        self.map.lb
    }

    fn usable(&self, count: i64) -> Result<usize> {
        if count < 0 {
            return Err(err!(Count, "count {count} is negative"));
        }
        if !self.committed {
            return Err(err!(Type, "the datatype is not committed; call MPI_Type_commit before using it"));
        }
        Ok(count as usize)
    }

    /// Memory bytes of `count` items laid end to end (whole extents), checked; for types
    /// whose items tile memory (predefined and contiguous ones).
    pub fn bytes(&self, count: i64) -> Result<usize> {
        let n = self.usable(count)?;
        self.extent.checked_mul(n).ok_or_else(|| err!(Count, "count {count} overflows the message size"))
    }

    /// Bytes a message of `count` items carries (data only, never padding), checked.
    pub fn packed(&self, count: i64) -> Result<usize> {
        let n = self.usable(count)?;
        self.map.packed_len(n)
    }

    /// `MPI_Get_count`: whole items in `bytes`, or `None` (MPI_UNDEFINED) if not a whole number.
    pub fn count_of(&self, bytes: u64) -> Option<u64> {
        self.map.count_of(bytes)
    }

    /// `MPI_Get_elements`: basic elements in `bytes`, counting a partial item's elements.
    pub fn elements_of(&self, bytes: u64) -> Option<u64> {
        self.map.elements_of(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::typemap::build::{self, Child};

    fn int() -> Child {
        Child { predefined: Some(0x209), map: Arc::new(TypeMap::predefined(0x209, &[(0, 0x209, 4, 4)], 4)) }
    }

    #[test]
    fn contiguous_counts() {
        let mut four = Datatype::from_map(build::contiguous(4, &int()).unwrap());
        assert!(four.packed(1).is_err(), "uncommitted");
        four.committed = true;
        assert!(four.dense);
        assert_eq!(four.packed(3).unwrap(), 48);
        assert_eq!(four.count_of(32), Some(2));
        assert_eq!(four.count_of(20), None);
        assert_eq!(four.elements_of(20), Some(5));
        assert!(build::contiguous(-1, &int()).is_err());
        assert!(four.packed(-2).is_err());
        assert_eq!(four.basic, Some(0x209), "a contiguous type keeps its basic type");
    }

    #[test]
    fn padded_pair_sends_data_only() {
        let (double, int) = (0x20b, 0x209);
        let map = TypeMap::predefined(0x230, &[(0, double, 8, 8), (8, int, 4, 4)], 16);
        let t = Datatype::new(Arc::new(map), true);
        assert!(!t.dense, "padding");
        assert_eq!(t.packed(3).unwrap(), 36);
        assert_eq!(t.bytes(3).unwrap(), 48);
        assert_eq!(t.count_of(36), Some(3));
        assert_eq!(t.elements_of(36), Some(6));
        assert_eq!(t.elements_of(44), Some(7), "a partial item counts its double");
        assert_eq!(t.elements_of(40), None, "ends inside the double");
    }
}
