//! Datatypes as the core sees them: data size, memory extent, and a count of basic elements.

use crate::error::{err, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datatype {
    /// Bytes of data in one item (`MPI_Type_size`).
    pub size: usize,
    /// Bytes one item spans in memory, padding included (`MPI_Type_get_extent`); messages
    /// carry whole extents, since every layout here is contiguous.
    pub extent: usize,
    /// Basic elements in one item (2 for pair types such as `MPI_2INT`).
    pub elements: usize,
    pub committed: bool,
    /// The predefined type every element is (its C handle value), so reductions know what to
    /// compute on; `None` for a datatype not made of one basic type.
    pub basic: Option<usize>,
}

impl Datatype {
    pub fn basic(size: usize, extent: usize, elements: usize) -> Datatype {
        Datatype { size, extent, elements, committed: true, basic: None }
    }

    /// The same datatype, recorded as made of the predefined type `handle`.
    pub fn of_basic(self, handle: usize) -> Datatype {
        Datatype { basic: Some(handle), ..self }
    }

    /// `MPI_Type_contiguous`: `count` items of `base` back to back.
    pub fn contiguous(count: i64, base: &Datatype) -> Result<Datatype> {
        if count < 0 {
            return Err(err!(Count, "MPI_Type_contiguous: count {count} is negative"));
        }
        let count = count as usize;
        let extent = base
            .extent
            .checked_mul(count)
            .ok_or_else(|| err!(Count, "MPI_Type_contiguous: {count} items overflow the size"))?;
        Ok(Datatype {
            size: base.size * count,
            extent,
            elements: base.elements * count,
            committed: false,
            basic: base.basic,
        })
    }

    /// Bytes a message of `count` items carries, checked.
    pub fn bytes(&self, count: i64) -> Result<usize> {
        if count < 0 {
            return Err(err!(Count, "count {count} is negative"));
        }
        if !self.committed {
            return Err(err!(Type, "the datatype is not committed; call MPI_Type_commit before using it"));
        }
        self.extent.checked_mul(count as usize).ok_or_else(|| err!(Count, "count {count} overflows the message size"))
    }

    /// `MPI_Get_count`: whole items in `bytes`, or `None` (MPI_UNDEFINED) if not a whole number.
    pub fn count_of(&self, bytes: u64) -> Option<u64> {
        match self.extent {
            0 => Some(0),
            e if bytes % e as u64 == 0 => Some(bytes / e as u64),
            _ => None,
        }
    }

    /// `MPI_Get_elements`: basic elements in `bytes`, counting a partial item's elements.
    pub fn elements_of(&self, bytes: u64) -> Option<u64> {
        if self.extent == 0 {
            return Some(0);
        }
        let (whole, rest) = (bytes / self.extent as u64, bytes % self.extent as u64);
        let per_element = (self.extent / self.elements.max(1)) as u64;
        match rest {
            0 => Some(whole * self.elements as u64),
            r if per_element > 0 && r % per_element == 0 => Some(whole * self.elements as u64 + r / per_element),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_counts() {
        let int = Datatype::basic(4, 4, 1);
        let mut four = Datatype::contiguous(4, &int).unwrap();
        assert!(four.bytes(1).is_err(), "uncommitted");
        four.committed = true;
        assert_eq!(four.bytes(3).unwrap(), 48);
        assert_eq!(four.count_of(32), Some(2));
        assert_eq!(four.count_of(20), None);
        assert_eq!(four.elements_of(20), Some(5));
        assert!(Datatype::contiguous(-1, &int).is_err());
        assert!(int.bytes(-2).is_err());
        let typed = Datatype::contiguous(2, &int.of_basic(0x209)).unwrap();
        assert_eq!(typed.basic, Some(0x209), "a contiguous type keeps its basic type");
        let double_int = Datatype::basic(12, 16, 2);
        assert_eq!(double_int.bytes(2).unwrap(), 32, "messages carry whole extents");
        assert_eq!(double_int.count_of(32), Some(2));
        assert_eq!(double_int.elements_of(32), Some(4));
    }
}
