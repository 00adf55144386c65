//! Groups: `MPI_Comm_group` and the `MPI_Group_*` family over the core's `group::Group`.

use super::abi::{self, MPI_Comm, MPI_Group};
use super::boundary::{blame, out};
use super::handles;
use super::state::{decode, encode, state, Kind, State};
use crate::error::{err, Result};
use crate::group::{Group, Likeness};
use crate::sync::lock;
use std::ffi::c_int;

/// The group behind a handle; MPI_GROUP_EMPTY is the empty group.
pub(super) fn group(st: &State, value: MPI_Group) -> Result<Group> {
    let v = value as usize;
    if v == abi::MPI_GROUP_EMPTY as usize {
        return Ok(Group::empty());
    }
    if v == abi::MPI_GROUP_NULL as usize {
        return Err(err!(Group, "MPI_GROUP_NULL is not a usable group"));
    }
    decode(Kind::Group, v)
        .and_then(|h| lock(&st.groups).get(h).cloned())
        .ok_or_else(|| err!(Group, "invalid group handle {v:#x} (freed, or not a group)"))
}

/// A handle for `g`; an empty group is MPI_GROUP_EMPTY, as in MPICH and Open MPI.
pub(super) fn register(st: &State, g: Group) -> Result<MPI_Group> {
    if g.size() == 0 {
        return Ok(abi::MPI_GROUP_EMPTY);
    }
    let h = lock(&st.groups).insert(g);
    Ok(encode(Kind::Group, h)? as MPI_Group)
}

/// `n` ints at `ptr`, an input array of the caller's.
pub(super) fn ints<'a>(ptr: *const c_int, n: c_int, what: &str) -> Result<&'a [c_int]> {
    let len = usize::try_from(n).map_err(|_| err!(Arg, "the number of {what} is {n}; it must not be negative"))?;
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(err!(Arg, "the {what} array is NULL but {n} entries were announced"));
    }
    // SAFETY: non-null, and MPI's contract is that the array holds `n` ints.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

ffi_fn! {
    fn MPI_Comm_group(comm: MPI_Comm, group: *mut MPI_Group) -> c_int {
        blame(comm as usize);
        let st = state()?;
        let c = handles::comm(st, comm)?;
        let made = register(st, Group { members: c.group.clone() })?;
        out(group, made, "group")
    }
}

ffi_fn! {
    fn MPI_Group_size(group: MPI_Group, size: *mut c_int) -> c_int {
        out(size, self::group(state()?, group)?.size() as c_int, "size")
    }
}

ffi_fn! {
    fn MPI_Group_rank(group: MPI_Group, rank: *mut c_int) -> c_int {
        let st = state()?;
        let r = self::group(st, group)?.rank_of(st.rt.rank()).map_or(abi::MPI_UNDEFINED, |r| r as c_int);
        out(rank, r, "rank")
    }
}

ffi_fn! {
    fn MPI_Group_translate_ranks(group1: MPI_Group, n: c_int, ranks1: *const c_int, group2: MPI_Group, ranks2: *mut c_int) -> c_int {
        let st = state()?;
        let (a, b) = (group(st, group1)?, group(st, group2)?);
        let from = ints(ranks1, n, "ranks")?;
        let to = a.translate(from, &b, abi::MPI_PROC_NULL)?;
        if !to.is_empty() && ranks2.is_null() {
            return Err(err!(Arg, "MPI_Group_translate_ranks: the ranks2 output array is NULL"));
        }
        for (i, r) in to.into_iter().enumerate() {
            // SAFETY: non-null (checked), and MPI's contract is that ranks2 holds n ints.
            unsafe { ranks2.add(i).write(r.unwrap_or(abi::MPI_UNDEFINED)) };
        }
        Ok(())
    }
}

ffi_fn! {
    fn MPI_Group_compare(group1: MPI_Group, group2: MPI_Group, result: *mut c_int) -> c_int {
        let st = state()?;
        let verdict = match group(st, group1)?.compare(&group(st, group2)?) {
            Likeness::Ident => abi::MPI_IDENT,
            Likeness::Similar => abi::MPI_SIMILAR,
            Likeness::Unequal => abi::MPI_UNEQUAL,
        };
        out(result, verdict, "result")
    }
}

/// The three two-group operations share their shape.
fn combine(g1: MPI_Group, g2: MPI_Group, newgroup: *mut MPI_Group, op: fn(&Group, &Group) -> Group) -> Result<()> {
    let st = state()?;
    let made = op(&group(st, g1)?, &group(st, g2)?);
    out(newgroup, register(st, made)?, "new group")
}

ffi_fn! {
    fn MPI_Group_union(group1: MPI_Group, group2: MPI_Group, newgroup: *mut MPI_Group) -> c_int {
        combine(group1, group2, newgroup, Group::union)
    }
}

ffi_fn! {
    fn MPI_Group_intersection(group1: MPI_Group, group2: MPI_Group, newgroup: *mut MPI_Group) -> c_int {
        combine(group1, group2, newgroup, Group::intersection)
    }
}

ffi_fn! {
    fn MPI_Group_difference(group1: MPI_Group, group2: MPI_Group, newgroup: *mut MPI_Group) -> c_int {
        combine(group1, group2, newgroup, Group::difference)
    }
}

ffi_fn! {
    fn MPI_Group_incl(group: MPI_Group, n: c_int, ranks: *const c_int, newgroup: *mut MPI_Group) -> c_int {
        let st = state()?;
        let made = self::group(st, group)?.incl(ints(ranks, n, "ranks")?)?;
        out(newgroup, register(st, made)?, "new group")
    }
}

ffi_fn! {
    fn MPI_Group_excl(group: MPI_Group, n: c_int, ranks: *const c_int, newgroup: *mut MPI_Group) -> c_int {
        let st = state()?;
        let made = self::group(st, group)?.excl(ints(ranks, n, "ranks")?)?;
        out(newgroup, register(st, made)?, "new group")
    }
}

/// `n` (first, last, stride) triplets at `ranges`.
fn triplets<'a>(ranges: *mut [c_int; 3], n: c_int) -> Result<&'a [[c_int; 3]]> {
    let flat = ints(ranges as *const c_int, n.checked_mul(3).unwrap_or(-1), "range triplets")?;
    // SAFETY: `flat` holds 3n ints (checked above), laid out as n [c_int; 3] (same alignment).
    Ok(unsafe { std::slice::from_raw_parts(flat.as_ptr() as *const [c_int; 3], flat.len() / 3) })
}

ffi_fn! {
    fn MPI_Group_range_incl(group: MPI_Group, n: c_int, ranges: *mut [c_int; 3], newgroup: *mut MPI_Group) -> c_int {
        let st = state()?;
        let made = self::group(st, group)?.range_incl(triplets(ranges, n)?)?;
        out(newgroup, register(st, made)?, "new group")
    }
}

ffi_fn! {
    fn MPI_Group_range_excl(group: MPI_Group, n: c_int, ranges: *mut [c_int; 3], newgroup: *mut MPI_Group) -> c_int {
        let st = state()?;
        let made = self::group(st, group)?.range_excl(triplets(ranges, n)?)?;
        out(newgroup, register(st, made)?, "new group")
    }
}

ffi_fn! {
    fn MPI_Group_free(group: *mut MPI_Group) -> c_int {
        let st = state()?;
        if group.is_null() {
            return Err(err!(Arg, "MPI_Group_free: the group argument is NULL"));
        }
        // SAFETY: non-null, points to a group handle (MPI's contract).
        let value = unsafe { group.read() } as usize;
        // MPI_GROUP_EMPTY is what the constructors return for an empty result, so programs
        // free it like any other group; there is nothing to release.
        if value != abi::MPI_GROUP_EMPTY as usize {
            let h = decode(Kind::Group, value).ok_or_else(|| {
                err!(Group, "MPI_Group_free: invalid group handle {value:#x} (MPI_GROUP_NULL, or not a group)")
            })?;
            lock(&st.groups)
                .remove(h)
                .ok_or_else(|| err!(Group, "MPI_Group_free: group {value:#x} was already freed"))?;
        }
        out(group, abi::MPI_GROUP_NULL, "group")
    }
}
