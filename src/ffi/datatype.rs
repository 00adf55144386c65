//! Datatypes: sizes and extents, and contiguous derived types.

use super::abi::{self, MPI_Aint, MPI_Count, MPI_Datatype};
use super::boundary::out;
use super::handles;
use super::state::{decode, encode, state, Kind};
use crate::datatype::Datatype;
use crate::error::err;
use crate::sync::lock;
use std::ffi::c_int;

ffi_fn! {
    fn MPI_Type_size(datatype: MPI_Datatype, size: *mut c_int) -> c_int {
        let t = handles::datatype(state()?, datatype)?;
        out(size, c_int::try_from(t.size).unwrap_or(abi::MPI_UNDEFINED), "size")
    }
}

ffi_fn! {
    fn MPI_Type_size_x(datatype: MPI_Datatype, size: *mut MPI_Count) -> c_int {
        out(size, handles::datatype(state()?, datatype)?.size as MPI_Count, "size")
    }
}

ffi_fn! {
    fn MPI_Type_get_extent(datatype: MPI_Datatype, lb: *mut MPI_Aint, extent: *mut MPI_Aint) -> c_int {
        let t = handles::datatype(state()?, datatype)?;
        out(lb, 0, "lower bound")?;
        out(extent, t.extent as MPI_Aint, "extent")
    }
}

ffi_fn! {
    fn MPI_Type_contiguous(count: c_int, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
        let st = state()?;
        let base = handles::datatype(st, oldtype)?;
        let t = Datatype::contiguous(count as i64, &base)?;
        let h = lock(&st.types).insert(t);
        out(newtype, encode(Kind::Datatype, h)? as MPI_Datatype, "new datatype")
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
        super::attribute::type_freeing(v as MPI_Datatype)?;
        lock(&st.types).remove(h).ok_or_else(|| err!(Type, "MPI_Type_free: datatype {v:#x} was already freed"))?;
        out(datatype, abi::MPI_DATATYPE_NULL, "datatype")
    }
}
