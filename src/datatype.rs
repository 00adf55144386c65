//! Datatypes as the core sees them: a size in bytes and a count of basic elements.

use crate::error::{err, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datatype {
    /// Bytes of data in one item (also its extent: only contiguous layouts exist).
    pub size: usize,
    /// Basic elements in one item (2 for pair types such as `MPI_2INT`).
    pub elements: usize,
    pub committed: bool,
}

impl Datatype {
    pub fn basic(size: usize, elements: usize) -> Datatype {
        Datatype {
            size,
            elements,
            committed: true,
        }
    }

    /// `MPI_Type_contiguous`: `count` items of `base` back to back.
    pub fn contiguous(count: i64, base: &Datatype) -> Result<Datatype> {
        if count < 0 {
            return Err(err!(
                Count,
                "MPI_Type_contiguous: count {count} is negative"
            ));
        }
        let count = count as usize;
        let size = base.size.checked_mul(count).ok_or_else(|| {
            err!(
                Count,
                "MPI_Type_contiguous: {count} items overflow the size"
            )
        })?;
        Ok(Datatype {
            size,
            elements: base.elements * count,
            committed: false,
        })
    }

    /// Bytes in `count` items, checked.
    pub fn bytes(&self, count: i64) -> Result<usize> {
        if count < 0 {
            return Err(err!(Count, "count {count} is negative"));
        }
        if !self.committed {
            return Err(err!(
                Type,
                "the datatype is not committed; call MPI_Type_commit before using it"
            ));
        }
        self.size
            .checked_mul(count as usize)
            .ok_or_else(|| err!(Count, "count {count} overflows the message size"))
    }

    /// `MPI_Get_count`: whole items in `bytes`, or `None` (MPI_UNDEFINED) if not a whole number.
    pub fn count_of(&self, bytes: u64) -> Option<u64> {
        match self.size {
            0 => Some(0),
            s if bytes % s as u64 == 0 => Some(bytes / s as u64),
            _ => None,
        }
    }

    /// `MPI_Get_elements`: basic elements in `bytes`.
    pub fn elements_of(&self, bytes: u64) -> Option<u64> {
        if self.size == 0 {
            return Some(0);
        }
        let per_element = self.size / self.elements.max(1);
        (per_element > 0 && bytes % per_element as u64 == 0).then(|| bytes / per_element as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_counts() {
        let int = Datatype::basic(4, 1);
        let mut four = Datatype::contiguous(4, &int).unwrap();
        assert!(four.bytes(1).is_err(), "uncommitted");
        four.committed = true;
        assert_eq!(four.bytes(3).unwrap(), 48);
        assert_eq!(four.count_of(32), Some(2));
        assert_eq!(four.count_of(20), None);
        assert_eq!(four.elements_of(20), Some(5));
        assert!(Datatype::contiguous(-1, &int).is_err());
        assert!(int.bytes(-2).is_err());
    }
}
