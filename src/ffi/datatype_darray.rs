//! `MPI_Type_create_darray` and its `_c` form at the C boundary: the arguments read and checked, the type built by typemap/darray.rs.

use super::abi::{self, MPI_Count, MPI_Datatype};
use super::datatype::{child, register};
use super::datatype_ctor::{counts, ints};
use super::state::state;
use crate::error::{err, Result};
use crate::typemap::build::Order;
use crate::typemap::darray::{darray, Darray, Distribution};
use std::ffi::c_int;

/// Builds the type from `gsizes` (read at either width) and the int arrays.
#[allow(clippy::too_many_arguments)]
fn create(
    size: c_int,
    rank: c_int,
    ndims: c_int,
    gsizes: Vec<i64>,
    distribs: *const c_int,
    dargs: *const c_int,
    psizes: *const c_int,
    order: c_int,
    oldtype: MPI_Datatype,
    newtype: *mut MPI_Datatype,
) -> Result<()> {
    let st = state()?;
    let n = i64::from(ndims);
    let (distribs, dargs, psizes) =
        (ints(distribs, n, "distribs")?, ints(dargs, n, "dargs")?, ints(psizes, n, "psizes")?);
    let array_order = match order {
        abi::MPI_ORDER_C => Order::C,
        abi::MPI_ORDER_FORTRAN => Order::Fortran,
        o => return Err(err!(Arg, "order {o} is neither MPI_ORDER_C nor MPI_ORDER_FORTRAN")),
    };
    let mut kinds = Vec::with_capacity(distribs.len());
    for (d, (&dist, &arg)) in distribs.iter().zip(&dargs).enumerate() {
        let block = match arg {
            a if a == i64::from(abi::MPI_DISTRIBUTE_DFLT_DARG) => None,
            a if a >= 1 => Some(a),
            a => return Err(err!(Arg, "dimension {d}: distribution argument {a} is neither MPI_DISTRIBUTE_DFLT_DARG nor a block size of at least 1")),
        };
        kinds.push(match c_int::try_from(dist).unwrap_or(-1) {
            abi::MPI_DISTRIBUTE_BLOCK => Distribution::Block(block),
            abi::MPI_DISTRIBUTE_CYCLIC => Distribution::Cyclic(block),
            abi::MPI_DISTRIBUTE_NONE if block.is_none() => Distribution::Whole,
            abi::MPI_DISTRIBUTE_NONE => {
                return Err(err!(
                    Arg,
                    "dimension {d} is MPI_DISTRIBUTE_NONE, whose argument must be MPI_DISTRIBUTE_DFLT_DARG"
                ))
            }
            other => {
                return Err(err!(
                    Arg,
                    "dimension {d}: distribution {other} is not MPI_DISTRIBUTE_BLOCK, _CYCLIC or _NONE"
                ))
            }
        });
    }
    let raw =
        [&[i64::from(size), i64::from(rank), n], &gsizes[..], &distribs, &dargs, &psizes, &[i64::from(order)]].concat();
    let args = Darray {
        size: size.into(),
        rank: rank.into(),
        gsizes: &gsizes,
        distribs: &kinds,
        psizes: &psizes,
        order: array_order,
        raw,
    };
    register(st, darray(&args, &child(st, oldtype)?)?, newtype)
}

ffi_fn! {
    fn MPI_Type_create_darray(
        size: c_int,
        rank: c_int,
        ndims: c_int,
        array_of_gsizes: *const c_int,
        array_of_distribs: *const c_int,
        array_of_dargs: *const c_int,
        array_of_psizes: *const c_int,
        order: c_int,
        oldtype: MPI_Datatype,
        newtype: *mut MPI_Datatype,
    ) -> c_int {
        let gsizes = ints(array_of_gsizes, ndims.into(), "gsizes")?;
        create(size, rank, ndims, gsizes, array_of_distribs, array_of_dargs, array_of_psizes, order, oldtype, newtype)
    }
}

ffi_fn! {
    fn MPI_Type_create_darray_c(
        size: c_int,
        rank: c_int,
        ndims: c_int,
        array_of_gsizes: *const MPI_Count,
        array_of_distribs: *const c_int,
        array_of_dargs: *const c_int,
        array_of_psizes: *const c_int,
        order: c_int,
        oldtype: MPI_Datatype,
        newtype: *mut MPI_Datatype,
    ) -> c_int {
        let gsizes = counts(array_of_gsizes, ndims.into(), "gsizes")?;
        create(size, rank, ndims, gsizes, array_of_distribs, array_of_dargs, array_of_psizes, order, oldtype, newtype)
    }
}
