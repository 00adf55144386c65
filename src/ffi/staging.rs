//! Collectives on non-contiguous datatypes: their buffers staged as consecutive bytes for the duration of one call, and written back after it.
//!
//! A collective call opens a `Scope`; while it is open, turning a (buf, count, datatype) into a
//! region copies a non-contiguous type's data into a temporary buffer, which the collective then
//! uses as if the type were contiguous. Data collectives stage the packed data (as it travels);
//! reductions stage an array of the type's basic elements, each with its C padding, which is
//! what the reduction kernels read. When the call succeeds, every temporary whose bytes changed
//! is scattered back into place (send buffers stay as they were, so they are never written).

use super::abi::MPI_Datatype;
use super::handles;
use super::layout::{contiguous_only, Layout};
use super::region::Region;
use super::state::State;
use crate::error::{err, Result};
use crate::typemap::{pack, Shared};
use std::cell::RefCell;
use std::ffi::c_void;
use std::ops::Range;

/// What a staged buffer holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The packed data (data collectives).
    Packed,
    /// Records of the basic type (reductions).
    Records,
}

struct Stage {
    temp: Vec<u8>,
    initial: Vec<u8>,
    /// The caller's pieces and where each one's packed data lies in the packed form.
    parts: Vec<(Layout, Range<usize>)>,
    /// For `Records`: the basic type's map and how many records.
    records: Option<(Shared, usize)>,
}

impl Stage {
    fn new(parts: Vec<(Layout, Range<usize>)>, records: Option<(Shared, usize)>) -> Stage {
        let total = parts.iter().map(|p| p.1.end).max().unwrap_or(0);
        let mut packed = vec![0u8; total];
        for (l, range) in &parts {
            // SAFETY: MPI's contract: the caller's buffer holds these items for the whole call.
            packed[range.clone()].copy_from_slice(&unsafe { l.gather() });
        }
        let temp = match &records {
            None => packed,
            Some((basic, n)) => {
                let mut spread = vec![0u8; n * basic.extent().max(0) as usize];
                // SAFETY: `spread` holds `n` records of the basic type, and is ours alone.
                unsafe { pack::unpack(basic, *n, spread.as_mut_ptr(), &packed) };
                spread
            }
        };
        Stage { initial: temp.clone(), temp, parts, records }
    }

    fn write_back(&mut self) {
        if self.temp == self.initial {
            return;
        }
        let packed = match &self.records {
            None => std::mem::take(&mut self.temp),
            Some((basic, n)) => {
                let mut packed = vec![0u8; basic.size * n];
                // SAFETY: `temp` holds `n` records of the basic type.
                unsafe { pack::pack(basic, *n, self.temp.as_ptr(), &mut packed) };
                packed
            }
        };
        for (l, range) in &self.parts {
            // SAFETY: MPI's contract: the receive buffer is the caller's, untouched by anything
            // else during the call, which has now finished with the temporary.
            unsafe { l.scatter(&packed[range.clone()]) };
        }
    }
}

struct Open {
    mode: Mode,
    stages: Vec<Stage>,
}

thread_local! {
    static OPEN: RefCell<Option<Open>> = const { RefCell::new(None) };
}

/// Opens one collective call's staging; the call's job takes it along (`detach`), and dropping
/// the scope before then (an argument error) discards the temporaries.
pub struct Scope(());

impl Scope {
    pub fn new(mode: Mode) -> Scope {
        OPEN.with(|o| *o.borrow_mut() = Some(Open { mode, stages: vec![] }));
        Scope(())
    }
}

/// The staging of a call whose work runs later, maybe on another thread (a nonblocking
/// collective): taken out of this thread's open scope, it travels with the work.
pub struct Staged(Option<Open>);

// SAFETY: the raw pointers inside are the caller's buffers, which MPI's contract keeps valid,
// and untouched by anything else, until the operation completes; the temporaries are owned.
unsafe impl Send for Staged {}

/// Takes this thread's open staging (none if no scope is open).
pub fn detach() -> Staged {
    Staged(OPEN.with(|o| o.borrow_mut().take()))
}

impl Staged {
    /// Writes the received data back into place if the work succeeded.
    pub fn finish(self, result: Result<()>) -> Result<()> {
        if let (Ok(()), Some(mut open)) = (&result, self.0) {
            open.stages.iter_mut().for_each(Stage::write_back);
        }
        result
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        OPEN.with(|o| o.borrow_mut().take());
    }
}

/// Adds a stage and returns the region over its temporary (which stays put until the scope ends).
fn add(stage: Stage) -> Region {
    OPEN.with(|o| {
        let mut o = o.borrow_mut();
        let open = o.as_mut().expect("checked by mode()");
        open.stages.push(stage);
        let temp = &mut open.stages.last_mut().expect("just pushed").temp;
        Region::new(temp.as_mut_ptr(), temp.len())
    })
}

fn mode() -> Result<Mode> {
    OPEN.with(|o| o.borrow().as_ref().map(|o| o.mode)).ok_or_else(|| contiguous_only("this call"))
}

/// Records of `basic` in `count` items of `t`, or MPI_ERR_OP-worthy `None`.
fn records(t: &crate::datatype::Datatype, count: usize) -> Result<(Shared, usize)> {
    let b = t.basic.ok_or_else(|| {
        err!(Op, "a reduction on a datatype mixing basic types is not defined; reduce each basic type separately")
    })?;
    let map =
        super::datatype_maps::predefined_map(b).ok_or_else(|| err!(Intern, "basic type {b:#x} has no type map"))?;
    let per_item = t.size.checked_div(map.size).unwrap_or(0);
    Ok((map, per_item * count))
}

/// `count` items at `buf` staged, or `None` when the type needs no staging.
pub fn items(st: &State, buf: *const c_void, count: i64, dtype: MPI_Datatype) -> Result<Option<Region>> {
    let t = handles::datatype(st, dtype)?;
    if handles::tiles(dtype, &t) {
        return Ok(None);
    }
    let mode = mode()?;
    let len = t.packed(count)?;
    let parts = vec![(Layout::new(buf, count as usize, &t), 0..len)];
    let records = if mode == Mode::Records { Some(records(&t, count as usize)?) } else { None };
    Ok(Some(add(Stage::new(parts, records))))
}

/// Blocks of `counts[r]` items at `displs[r]` extents from `buf`, staged back to back in rank
/// order; `None` when the type needs no staging.
pub fn blocks(
    st: &State,
    buf: *const c_void,
    counts: &[i64],
    displs: &[i64],
    dtype: MPI_Datatype,
) -> Result<Option<(Region, Vec<Range<usize>>)>> {
    let t = handles::datatype(st, dtype)?;
    if handles::tiles(dtype, &t) {
        return Ok(None);
    }
    let extent = t.map.extent() as i64;
    let typed = counts.iter().zip(displs).map(|(&count, &displ)| (count, displ.wrapping_mul(extent), t.clone()));
    typed_blocks(buf, &typed.collect::<Vec<_>>()).map(Some)
}

/// Blocks of `count` items of their own type at `displ` bytes from `buf`, one per rank
/// (`MPI_Alltoallw`), staged back to back in rank order.
pub fn typed_blocks(
    buf: *const c_void,
    blocks: &[(i64, i64, crate::datatype::Datatype)],
) -> Result<(Region, Vec<Range<usize>>)> {
    mode()?;
    let (mut parts, mut ranges, mut at) = (vec![], vec![], 0usize);
    for (r, (count, displ, t)) in blocks.iter().enumerate() {
        if *count < 0 {
            return Err(err!(Count, "the count for rank {r} is {count}, which is negative"));
        }
        let len = t.packed(*count)?;
        let base = buf.cast::<u8>().wrapping_offset(*displ as isize);
        parts.push((Layout::new(base.cast(), *count as usize, t), at..at + len));
        ranges.push(at..at + len);
        at += len;
    }
    Ok((add(Stage::new(parts, None)), ranges))
}
