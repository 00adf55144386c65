//! Reversible handle <-> int mapping for `MPI_*_toint` / `MPI_*_fromint` (Fortran integers).

use std::collections::HashMap;

/// Predefined handles (below this) are their own int, as the standard ABI says; a run-time
/// handle (a 64-bit value with a generation) gets the next free int at or above it.
const FIRST_ASSIGNED: usize = 0x400;

/// Ints handed out for run-time handles; each handle value keeps its int for the process's life.
#[derive(Debug, Default)]
pub struct HandleInts {
    by_handle: HashMap<usize, i32>,
    handles: Vec<usize>,
}

impl HandleInts {
    /// The int of handle value `handle`, or `None` if the ints are exhausted.
    pub fn to_int(&mut self, handle: usize) -> Option<i32> {
        if handle < FIRST_ASSIGNED {
            return Some(handle as i32);
        }
        if let Some(&i) = self.by_handle.get(&handle) {
            return Some(i);
        }
        let i = i32::try_from(FIRST_ASSIGNED + self.handles.len()).ok()?;
        self.handles.push(handle);
        self.by_handle.insert(handle, i);
        Some(i)
    }

    /// The handle value of `i`, or `None` if no handle was given that int.
    pub fn from_int(&self, i: i32) -> Option<usize> {
        let i = usize::try_from(i).ok()?;
        if i < FIRST_ASSIGNED {
            return Some(i);
        }
        self.handles.get(i - FIRST_ASSIGNED).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_round_trip() {
        let mut m = HandleInts::default();
        assert_eq!(m.to_int(0x101), Some(0x101), "predefined handles are their own int");
        let big = (7usize << 32) | (1 << 24) | 0x405;
        let i = m.to_int(big).unwrap();
        assert!(i >= 0x400);
        assert_eq!(m.to_int(big), Some(i), "stable");
        let other = m.to_int(big + 1).unwrap();
        assert_ne!(other, i);
        assert_eq!((m.from_int(i), m.from_int(other), m.from_int(0x209)), (Some(big), Some(big + 1), Some(0x209)));
        assert_eq!(m.from_int(0x7fff_0000), None);
        assert_eq!(m.from_int(-1), None);
    }
}
