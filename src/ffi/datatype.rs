//! Datatypes: sizes and extents, commit and free, and the handle plumbing the constructors share.

use super::abi::{self, MPI_Aint, MPI_Count, MPI_Datatype};
use super::boundary::out;
use super::handles;
use super::state::{decode, encode, state, Kind, State};
use crate::datatype::Datatype;
use crate::error::{err, Result};
use crate::sync::lock;
use crate::typemap::{Child, TypeMap};
use std::ffi::c_int;

/// A datatype handle as a constructor's argument.
pub fn child(st: &State, value: MPI_Datatype) -> Result<Child> {
    let v = value as usize;
    let predefined = super::datatype_maps::predefined_map(v).is_some().then_some(v);
    Ok(Child { predefined, map: handles::datatype(st, value)?.map })
}

/// Stores a new (uncommitted) datatype and writes its handle to `newtype`.
pub fn register(st: &State, map: TypeMap, newtype: *mut MPI_Datatype) -> Result<()> {
    if newtype.is_null() {
        return Err(err!(Arg, "the newtype output argument is NULL"));
    }
    let h = lock(&st.types).insert(Datatype::from_map(map));
    out(newtype, encode(Kind::Datatype, h)? as MPI_Datatype, "new datatype")
}

fn count_out(n: usize) -> c_int {
    c_int::try_from(n).unwrap_or(abi::MPI_UNDEFINED)
}

ffi_fn! {
    fn MPI_Type_size(datatype: MPI_Datatype, size: *mut c_int) -> c_int {
        let t = handles::datatype(state()?, datatype)?;
        out(size, count_out(t.size), "size")
    }
}

ffi_fn! {
    fn MPI_Type_size_x(datatype: MPI_Datatype, size: *mut MPI_Count) -> c_int {
        out(size, handles::datatype(state()?, datatype)?.size as MPI_Count, "size")
    }
}

ffi_fn! {
    fn MPI_Type_size_c(datatype: MPI_Datatype, size: *mut MPI_Count) -> c_int {
        out(size, handles::datatype(state()?, datatype)?.size as MPI_Count, "size")
    }
}

/// `(lb, extent)` or, with `true_bounds`, `(true lb, true extent)` of a datatype.
fn bounds(datatype: MPI_Datatype, true_bounds: bool) -> Result<(i64, i64)> {
    let m = handles::datatype(state()?, datatype)?.map;
    Ok(if true_bounds { (m.true_lb, m.true_extent()) } else { (m.lb, m.extent()) })
}

ffi_fn! {
    fn MPI_Type_get_extent(datatype: MPI_Datatype, lb: *mut MPI_Aint, extent: *mut MPI_Aint) -> c_int {
        let (l, e) = bounds(datatype, false)?;
        out(lb, l as MPI_Aint, "lower bound")?;
        out(extent, e as MPI_Aint, "extent")
    }
}

ffi_fn! {
    fn MPI_Type_get_extent_x(datatype: MPI_Datatype, lb: *mut MPI_Count, extent: *mut MPI_Count) -> c_int {
        let (l, e) = bounds(datatype, false)?;
        out(lb, l, "lower bound")?;
        out(extent, e, "extent")
    }
}

ffi_fn! {
    fn MPI_Type_get_extent_c(datatype: MPI_Datatype, lb: *mut MPI_Count, extent: *mut MPI_Count) -> c_int {
        let (l, e) = bounds(datatype, false)?;
        out(lb, l, "lower bound")?;
        out(extent, e, "extent")
    }
}

ffi_fn! {
    fn MPI_Type_get_true_extent(datatype: MPI_Datatype, true_lb: *mut MPI_Aint, true_extent: *mut MPI_Aint) -> c_int {
        let (l, e) = bounds(datatype, true)?;
        out(true_lb, l as MPI_Aint, "true lower bound")?;
        out(true_extent, e as MPI_Aint, "true extent")
    }
}

ffi_fn! {
    fn MPI_Type_get_true_extent_x(datatype: MPI_Datatype, true_lb: *mut MPI_Count, true_extent: *mut MPI_Count) -> c_int {
        let (l, e) = bounds(datatype, true)?;
        out(true_lb, l, "true lower bound")?;
        out(true_extent, e, "true extent")
    }
}

ffi_fn! {
    fn MPI_Type_get_true_extent_c(datatype: MPI_Datatype, true_lb: *mut MPI_Count, true_extent: *mut MPI_Count) -> c_int {
        let (l, e) = bounds(datatype, true)?;
        out(true_lb, l, "true lower bound")?;
        out(true_extent, e, "true extent")
    }
}

ffi_fn! {
    fn MPI_Type_commit(datatype: *mut MPI_Datatype) -> c_int {
        let st = state()?;
        if datatype.is_null() {
            return Err(err!(Arg, "MPI_Type_commit: the datatype argument is NULL"));
        }
        // SAFETY: non-null, points to a datatype handle (MPI's contract).
        let v = unsafe { datatype.read() } as usize;
        if abi::predefined_datatype_size(v).is_some() {
            return Ok(());
        }
        let h =
            decode(Kind::Datatype, v).ok_or_else(|| err!(Type, "MPI_Type_commit: invalid datatype handle {v:#x}"))?;
        let mut types = lock(&st.types);
        let t = types.get_mut(h).ok_or_else(|| err!(Type, "MPI_Type_commit: datatype {v:#x} was freed"))?;
        t.committed = true;
        Ok(())
    }
}

ffi_fn! {
    fn MPI_Type_free(datatype: *mut MPI_Datatype) -> c_int {
        let st = state()?;
        if datatype.is_null() {
            return Err(err!(Arg, "MPI_Type_free: the datatype argument is NULL"));
        }
        // SAFETY: non-null, points to a datatype handle (MPI's contract).
        let v = unsafe { datatype.read() } as usize;
        let h = decode(Kind::Datatype, v).ok_or_else(|| {
            err!(Type, "MPI_Type_free: {v:#x} is not a derived datatype (predefined ones cannot be freed)")
        })?;
        if super::datatype_f90::is_f90(v as MPI_Datatype) {
            return Err(err!(Type, "MPI_Type_free: {v:#x} came from MPI_Type_create_f90_*, which returns predefined types; they cannot be freed"));
        }
        // Operations still using the type hold its type map, so they finish unharmed.
        super::attribute::type_freeing(v as MPI_Datatype)?;
        lock(&st.types).remove(h).ok_or_else(|| err!(Type, "MPI_Type_free: datatype {v:#x} was already freed"))?;
        out(datatype, abi::MPI_DATATYPE_NULL, "datatype")
    }
}
