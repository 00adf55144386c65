//! Type maps: where a datatype's data lies in memory, as runs of basic elements, with its bounds, size and element count.
//!
//! A datatype is the list of `(displacement, basic type)` pairs MPI calls its type map. Here
//! adjacent elements of one basic type merge into a `Run`, so a contiguous type stays one run
//! whatever it was built from; a message of such a type is the caller's memory as it is.

pub mod build;
pub mod darray;
pub mod pack;

use crate::error::{err, Result};
use std::sync::Arc;

pub use build::{Child, Envelope};

/// `count` elements of the basic type `basic` (a predefined handle value), `size` bytes each,
/// back to back from `disp` bytes past the buffer's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub disp: i64,
    pub basic: usize,
    pub size: usize,
    /// Bytes of each part that byte order applies to: `size`, or half of it for complex types.
    pub unit: usize,
    pub count: usize,
}

impl Run {
    pub fn bytes(&self) -> usize {
        self.size * self.count
    }

    fn end(&self) -> i64 {
        self.disp + self.bytes() as i64
    }
}

/// Runs a type map may hold: beyond this, a constructor fails rather than eat the memory.
pub const RUN_LIMIT: usize = 1 << 24;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeMap {
    /// The data, in type-map order (the order packing follows).
    pub runs: Vec<Run>,
    /// `lb` and `ub` as MPI defines them (extent = ub - lb).
    pub lb: i64,
    pub ub: i64,
    /// Bounds of the data alone (`MPI_Type_get_true_extent`); 0, 0 for a type with no data.
    pub true_lb: i64,
    pub true_ub: i64,
    /// Data bytes of one item.
    pub size: usize,
    /// Basic elements of one item.
    pub elements: usize,
    /// The one predefined type every element is (a pair type counts as one), for reductions.
    pub basic: Option<usize>,
    /// Largest alignment among the basic types, for the padding a struct gets.
    pub align: usize,
    /// Whether lb/ub were set explicitly (`MPI_Type_create_resized`), which stops the padding.
    pub explicit_bounds: bool,
    /// How the type was built, for `MPI_Type_get_envelope`/`_get_contents`.
    pub envelope: Envelope,
}

impl TypeMap {
    pub fn extent(&self) -> i64 {
        self.ub - self.lb
    }

    pub fn true_extent(&self) -> i64 {
        self.true_ub - self.true_lb
    }

    /// A predefined type: `leaves` are its basic parts `(disp, handle, size, alignment)` (two
    /// for a pair type; the alignment is also the byte-order unit), `extent` its C size.
    pub fn predefined(handle: usize, leaves: &[(i64, usize, usize, usize)], extent: usize) -> TypeMap {
        let mut runs = Vec::new();
        for &(disp, basic, size, unit) in leaves {
            push(&mut runs, Run { disp, basic, size, unit, count: 1 });
        }
        let mut t = TypeMap {
            runs,
            lb: 0,
            ub: extent as i64,
            true_lb: 0,
            true_ub: 0,
            size: 0,
            elements: 0,
            basic: Some(handle),
            align: leaves.iter().map(|l| l.3).max().unwrap_or(1),
            explicit_bounds: false,
            envelope: Envelope::named(),
        };
        t.settle_data();
        t
    }

    /// Recomputes size, element count and true bounds from the runs.
    fn settle_data(&mut self) {
        self.size = self.runs.iter().map(Run::bytes).sum();
        self.elements = self.runs.iter().map(|r| r.count).sum();
        let data = self.runs.iter().filter(|r| r.count > 0);
        self.true_lb = data.clone().map(|r| r.disp).min().unwrap_or(0);
        self.true_ub = data.map(Run::end).max().unwrap_or(0);
    }

    /// Whether `count` items are one span of data with no gaps or padding, starting at `lb`:
    /// then a message is the caller's memory itself, with no copy.
    pub fn is_contiguous(&self) -> bool {
        if self.size as i64 != self.extent() || (self.size > 0 && self.true_lb != self.lb) {
            return false;
        }
        self.runs.windows(2).all(|w| w[0].end() == w[1].disp)
    }

    /// `MPI_Get_count`: whole items in `bytes` of packed data, `None` (MPI_UNDEFINED) otherwise.
    pub fn count_of(&self, bytes: u64) -> Option<u64> {
        match self.size as u64 {
            0 => Some(0),
            s if bytes % s == 0 => Some(bytes / s),
            _ => None,
        }
    }

    /// `MPI_Get_elements`: basic elements in `bytes` of packed data, a partial item counting
    /// the elements it holds; `None` if the bytes end inside an element.
    pub fn elements_of(&self, bytes: u64) -> Option<u64> {
        if self.size == 0 {
            return Some(0);
        }
        let (whole, mut rest) = (bytes / self.size as u64, bytes % self.size as u64);
        let mut n = whole * self.elements as u64;
        for r in &self.runs {
            if rest == 0 {
                break;
            }
            let here = rest.min(r.bytes() as u64);
            if here % r.size as u64 != 0 {
                return None;
            }
            n += here / r.size as u64;
            rest -= here;
        }
        Some(n)
    }

    /// Packed bytes of `count` items, checked.
    pub fn packed_len(&self, count: usize) -> Result<usize> {
        self.size.checked_mul(count).ok_or_else(|| err!(Count, "{count} items of {} bytes overflow", self.size))
    }

    /// Memory bytes `count` items span from `true_lb` of the first to `true_ub` of the last.
    pub fn span(&self, count: usize) -> Result<usize> {
        if count == 0 || self.size == 0 {
            return Ok(0);
        }
        let reach = (count as i128 - 1) * self.extent() as i128 + self.true_extent() as i128;
        usize::try_from(reach).map_err(|_| err!(Count, "{count} items of this datatype span more memory than exists"))
    }
}

/// Appends `run`, merged into the last run when it continues it.
pub fn push(runs: &mut Vec<Run>, run: Run) {
    if run.count == 0 {
        return;
    }
    if let Some(last) = runs.last_mut() {
        if last.basic == run.basic && last.size == run.size && last.end() == run.disp {
            last.count += run.count;
            return;
        }
    }
    runs.push(run);
}

/// A shared, immutable type map (datatypes built from it hold it, even after it is freed).
pub type Shared = Arc<TypeMap>;

#[cfg(test)]
mod tests;
