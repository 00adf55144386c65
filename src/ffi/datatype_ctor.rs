//! The derived-datatype constructors: vector, indexed, struct, subarray, resized, dup (with their `_c` large-count forms).

use super::abi::{self, MPI_Aint, MPI_Count, MPI_Datatype};
use super::boundary::out;
use super::datatype::{child, register};
use super::state::{encode, state, Kind};
use crate::datatype::Datatype;
use crate::error::{err, Result};
use crate::sync::lock;
use crate::typemap::build::{self, Order};
use std::ffi::c_int;

/// Reads a C array of `n` integers of any width as `i64`s.
fn array<T: Copy>(ptr: *const T, n: i64, what: &str, widen: impl Fn(T) -> i64) -> Result<Vec<i64>> {
    let n = usize::try_from(n).map_err(|_| err!(Count, "the count {n} is negative"))?;
    if n == 0 {
        return Ok(vec![]);
    }
    if ptr.is_null() {
        return Err(err!(Arg, "the {what} array is NULL but the count is {n}"));
    }
    // SAFETY: MPI's contract: the array has `count` entries.
    Ok(unsafe { std::slice::from_raw_parts(ptr, n) }.iter().map(|&v| widen(v)).collect())
}

pub(super) fn ints(ptr: *const c_int, n: i64, what: &str) -> Result<Vec<i64>> {
    array(ptr, n, what, i64::from)
}

fn addrs(ptr: *const MPI_Aint, n: i64, what: &str) -> Result<Vec<i64>> {
    array(ptr, n, what, |v| v as i64)
}

pub(super) fn counts(ptr: *const MPI_Count, n: i64, what: &str) -> Result<Vec<i64>> {
    array(ptr, n, what, |v| v)
}

fn contiguous(count: i64, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> Result<()> {
    let st = state()?;
    register(st, build::contiguous(count, &child(st, oldtype)?)?, newtype)
}

ffi_fn! {
    fn MPI_Type_contiguous(count: c_int, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
        contiguous(count.into(), oldtype, newtype)
    }
}

ffi_fn! {
    fn MPI_Type_contiguous_c(count: MPI_Count, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
        contiguous(count, oldtype, newtype)
    }
}

fn vector(count: i64, len: i64, stride: i64, bytes: bool, old: MPI_Datatype, new: *mut MPI_Datatype) -> Result<()> {
    let st = state()?;
    register(st, build::vector(count, len, stride, bytes, &child(st, old)?)?, new)
}

ffi_fn! {
    fn MPI_Type_vector(count: c_int, blocklength: c_int, stride: c_int, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
        vector(count.into(), blocklength.into(), stride.into(), false, oldtype, newtype)
    }
}

ffi_fn! {
    fn MPI_Type_vector_c(count: MPI_Count, blocklength: MPI_Count, stride: MPI_Count, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
        vector(count, blocklength, stride, false, oldtype, newtype)
    }
}

ffi_fn! {
    fn MPI_Type_create_hvector(count: c_int, blocklength: c_int, stride: MPI_Aint, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
        vector(count.into(), blocklength.into(), stride as i64, true, oldtype, newtype)
    }
}

ffi_fn! {
    fn MPI_Type_create_hvector_c(count: MPI_Count, blocklength: MPI_Count, stride: MPI_Count, oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
        vector(count, blocklength, stride, true, oldtype, newtype)
    }
}

fn indexed(lens: Vec<i64>, displs: Vec<i64>, bytes: bool, old: MPI_Datatype, new: *mut MPI_Datatype) -> Result<()> {
    let st = state()?;
    register(st, build::indexed(&lens, &displs, bytes, &child(st, old)?)?, new)
}

ffi_fn! {
    fn MPI_Type_indexed(
        count: c_int,
        array_of_blocklengths: *const c_int,
        array_of_displacements: *const c_int,
        oldtype: MPI_Datatype,
        newtype: *mut MPI_Datatype,
    ) -> c_int {
        let lens = ints(array_of_blocklengths, count.into(), "blocklengths")?;
        indexed(lens, ints(array_of_displacements, count.into(), "displacements")?, false, oldtype, newtype)
    }
}

ffi_fn! {
    fn MPI_Type_indexed_c(
        count: MPI_Count,
        array_of_blocklengths: *const MPI_Count,
        array_of_displacements: *const MPI_Count,
        oldtype: MPI_Datatype,
        newtype: *mut MPI_Datatype,
    ) -> c_int {
        let lens = counts(array_of_blocklengths, count, "blocklengths")?;
        indexed(lens, counts(array_of_displacements, count, "displacements")?, false, oldtype, newtype)
    }
}

ffi_fn! {
    fn MPI_Type_create_hindexed(
        count: c_int,
        array_of_blocklengths: *const c_int,
        array_of_displacements: *const MPI_Aint,
        oldtype: MPI_Datatype,
        newtype: *mut MPI_Datatype,
    ) -> c_int {
        let lens = ints(array_of_blocklengths, count.into(), "blocklengths")?;
        indexed(lens, addrs(array_of_displacements, count.into(), "displacements")?, true, oldtype, newtype)
    }
}

ffi_fn! {
    fn MPI_Type_create_hindexed_c(
        count: MPI_Count,
        array_of_blocklengths: *const MPI_Count,
        array_of_displacements: *const MPI_Count,
        oldtype: MPI_Datatype,
        newtype: *mut MPI_Datatype,
    ) -> c_int {
        let lens = counts(array_of_blocklengths, count, "blocklengths")?;
        indexed(lens, counts(array_of_displacements, count, "displacements")?, true, oldtype, newtype)
    }
}

fn indexed_block(len: i64, displs: Vec<i64>, bytes: bool, old: MPI_Datatype, new: *mut MPI_Datatype) -> Result<()> {
    let st = state()?;
    register(st, build::indexed_block(len, &displs, bytes, &child(st, old)?)?, new)
}

ffi_fn! {
    fn MPI_Type_create_indexed_block(
        count: c_int,
        blocklength: c_int,
        array_of_displacements: *const c_int,
        oldtype: MPI_Datatype,
        newtype: *mut MPI_Datatype,
    ) -> c_int {
        let displs = ints(array_of_displacements, count.into(), "displacements")?;
        indexed_block(blocklength.into(), displs, false, oldtype, newtype)
    }
}

ffi_fn! {
    fn MPI_Type_create_indexed_block_c(
        count: MPI_Count,
        blocklength: MPI_Count,
        array_of_displacements: *const MPI_Count,
        oldtype: MPI_Datatype,
        newtype: *mut MPI_Datatype,
    ) -> c_int {
        let displs = counts(array_of_displacements, count, "displacements")?;
        indexed_block(blocklength, displs, false, oldtype, newtype)
    }
}

ffi_fn! {
    fn MPI_Type_create_hindexed_block(
        count: c_int,
        blocklength: c_int,
        array_of_displacements: *const MPI_Aint,
        oldtype: MPI_Datatype,
        newtype: *mut MPI_Datatype,
    ) -> c_int {
        let displs = addrs(array_of_displacements, count.into(), "displacements")?;
        indexed_block(blocklength.into(), displs, true, oldtype, newtype)
    }
}

ffi_fn! {
    fn MPI_Type_create_hindexed_block_c(
        count: MPI_Count,
        blocklength: MPI_Count,
        array_of_displacements: *const MPI_Count,
        oldtype: MPI_Datatype,
        newtype: *mut MPI_Datatype,
    ) -> c_int {
        let displs = counts(array_of_displacements, count, "displacements")?;
        indexed_block(blocklength, displs, true, oldtype, newtype)
    }
}

fn structure(
    lens: Vec<i64>,
    displs: Vec<i64>,
    count: i64,
    types: *const MPI_Datatype,
    new: *mut MPI_Datatype,
) -> Result<()> {
    let st = state()?;
    let handles = array(types, count, "types", |t| t as usize as i64)?;
    let children = handles.iter().map(|&h| child(st, h as usize as MPI_Datatype)).collect::<Result<Vec<_>>>()?;
    register(st, build::structure(&lens, &displs, &children)?, new)
}

ffi_fn! {
    fn MPI_Type_create_struct(
        count: c_int,
        array_of_blocklengths: *const c_int,
        array_of_displacements: *const MPI_Aint,
        array_of_types: *const MPI_Datatype,
        newtype: *mut MPI_Datatype,
    ) -> c_int {
        let lens = ints(array_of_blocklengths, count.into(), "blocklengths")?;
        let displs = addrs(array_of_displacements, count.into(), "displacements")?;
        structure(lens, displs, count.into(), array_of_types, newtype)
    }
}

ffi_fn! {
    fn MPI_Type_create_struct_c(
        count: MPI_Count,
        array_of_blocklengths: *const MPI_Count,
        array_of_displacements: *const MPI_Count,
        array_of_types: *const MPI_Datatype,
        newtype: *mut MPI_Datatype,
    ) -> c_int {
        let lens = counts(array_of_blocklengths, count, "blocklengths")?;
        let displs = counts(array_of_displacements, count, "displacements")?;
        structure(lens, displs, count, array_of_types, newtype)
    }
}

fn subarray(dims: [Vec<i64>; 3], order: c_int, old: MPI_Datatype, new: *mut MPI_Datatype) -> Result<()> {
    let st = state()?;
    let order = match order {
        abi::MPI_ORDER_C => Order::C,
        abi::MPI_ORDER_FORTRAN => Order::Fortran,
        o => return Err(err!(Arg, "order {o} is neither MPI_ORDER_C nor MPI_ORDER_FORTRAN")),
    };
    let [sizes, subsizes, starts] = dims;
    register(st, build::subarray(&sizes, &subsizes, &starts, order, &child(st, old)?)?, new)
}

ffi_fn! {
    fn MPI_Type_create_subarray(
        ndims: c_int,
        array_of_sizes: *const c_int,
        array_of_subsizes: *const c_int,
        array_of_starts: *const c_int,
        order: c_int,
        oldtype: MPI_Datatype,
        newtype: *mut MPI_Datatype,
    ) -> c_int {
        let n = i64::from(ndims);
        let dims = [ints(array_of_sizes, n, "sizes")?, ints(array_of_subsizes, n, "subsizes")?, ints(array_of_starts, n, "starts")?];
        subarray(dims, order, oldtype, newtype)
    }
}

ffi_fn! {
    fn MPI_Type_create_subarray_c(
        ndims: c_int,
        array_of_sizes: *const MPI_Count,
        array_of_subsizes: *const MPI_Count,
        array_of_starts: *const MPI_Count,
        order: c_int,
        oldtype: MPI_Datatype,
        newtype: *mut MPI_Datatype,
    ) -> c_int {
        let n = i64::from(ndims);
        let dims = [counts(array_of_sizes, n, "sizes")?, counts(array_of_subsizes, n, "subsizes")?, counts(array_of_starts, n, "starts")?];
        subarray(dims, order, oldtype, newtype)
    }
}

ffi_fn! {
    fn MPI_Type_create_resized(oldtype: MPI_Datatype, lb: MPI_Aint, extent: MPI_Aint, newtype: *mut MPI_Datatype) -> c_int {
        let st = state()?;
        register(st, build::resized(&child(st, oldtype)?, lb as i64, extent as i64)?, newtype)
    }
}

ffi_fn! {
    fn MPI_Type_create_resized_c(oldtype: MPI_Datatype, lb: MPI_Count, extent: MPI_Count, newtype: *mut MPI_Datatype) -> c_int {
        let st = state()?;
        register(st, build::resized(&child(st, oldtype)?, lb, extent)?, newtype)
    }
}

ffi_fn! {
    fn MPI_Type_dup(oldtype: MPI_Datatype, newtype: *mut MPI_Datatype) -> c_int {
        let st = state()?;
        if newtype.is_null() {
            return Err(err!(Arg, "MPI_Type_dup: the newtype output argument is NULL"));
        }
        let old = child(st, oldtype)?;
        // A duplicate of a committed type is committed, and keeps its name.
        let source = super::handles::datatype(st, oldtype)?;
        let mut dup = Datatype::from_map(build::dup(&old));
        dup.committed = source.committed;
        dup.name = source.name;
        let h = lock(&st.types).insert(dup);
        let made = encode(Kind::Datatype, h)? as MPI_Datatype;
        // Attributes come along through their copy callbacks, which may refuse.
        if let Err(e) = super::attribute::type_duplicated(oldtype, made) {
            lock(&st.types).remove(h);
            return Err(e);
        }
        out(newtype, made, "new datatype")
    }
}
