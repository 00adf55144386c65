//! Datatypes chosen by properties rather than named: MPI_Type_create_f90_integer/_real/_complex (by precision and range) and MPI_Type_get_value_index (the MINLOC/MAXLOC pair type).

use super::abi::{self, MPI_Datatype};
use super::boundary::out;
use super::datatype_maps::predefined_map;
use super::state::{encode, state, Kind};
use crate::datatype::Datatype;
use crate::error::{err, Result};
use crate::sync::lock;
use crate::typemap::build::{Combiner, Envelope};
use std::collections::HashMap;
use std::ffi::c_int;
use std::sync::{Arc, LazyLock, Mutex};

/// A Fortran kind and its decimal precision and exponent range (IEEE formats, as gfortran has them).
struct Kind90 {
    handle: MPI_Datatype,
    precision: c_int,
    range: c_int,
}

const INTEGERS: [Kind90; 5] = [
    Kind90 { handle: abi::MPI_INTEGER1, precision: 0, range: 2 },
    Kind90 { handle: abi::MPI_INTEGER2, precision: 0, range: 4 },
    Kind90 { handle: abi::MPI_INTEGER4, precision: 0, range: 9 },
    Kind90 { handle: abi::MPI_INTEGER8, precision: 0, range: 18 },
    Kind90 { handle: abi::MPI_INTEGER16, precision: 0, range: 38 },
];
const REALS: [Kind90; 3] = [
    Kind90 { handle: abi::MPI_REAL4, precision: 6, range: 37 },
    Kind90 { handle: abi::MPI_REAL8, precision: 15, range: 307 },
    Kind90 { handle: abi::MPI_REAL16, precision: 33, range: 4931 },
];
const COMPLEXES: [Kind90; 3] = [
    Kind90 { handle: abi::MPI_COMPLEX8, precision: 6, range: 37 },
    Kind90 { handle: abi::MPI_COMPLEX16, precision: 15, range: 307 },
    Kind90 { handle: abi::MPI_COMPLEX32, precision: 33, range: 4931 },
];

/// One handle per (combiner, p, r): MPI returns the same type for the same request, and the
/// program never frees it.
/// What a program asked for: (combiner, p, r).
type Request90 = (i32, c_int, c_int);
static MADE: LazyLock<Mutex<HashMap<Request90, usize>>> = LazyLock::new(Mutex::default);

/// A requirement given as MPI_UNDEFINED asks for nothing; any other must be non-negative.
fn wanted(v: c_int, what: &str, name: &str) -> Result<c_int> {
    match v {
        abi::MPI_UNDEFINED => Ok(0),
        v if v < 0 => Err(err!(Arg, "{name}: {what} is {v}; give a non-negative value or MPI_UNDEFINED")),
        v => Ok(v),
    }
}

fn create(
    name: &str,
    combiner: Combiner,
    kinds: &[Kind90],
    p: c_int,
    r: c_int,
    newtype: *mut MPI_Datatype,
) -> Result<()> {
    let st = state()?;
    if p == abi::MPI_UNDEFINED && r == abi::MPI_UNDEFINED {
        return Err(err!(Arg, "{name}: precision and range are both MPI_UNDEFINED; give at least one"));
    }
    let (need_p, need_r) = (wanted(p, "the precision", name)?, wanted(r, "the range", name)?);
    // The smallest kind meeting both, among those this library has.
    let kind = kinds
        .iter()
        .filter(|k| predefined_map(k.handle as usize).is_some_and(|m| m.size > 0))
        .find(|k| k.precision >= need_p && k.range >= need_r)
        .ok_or_else(|| {
            let best = kinds.iter().rev().find(|k| predefined_map(k.handle as usize).is_some_and(|m| m.size > 0));
            let (bp, br) = best.map_or((0, 0), |k| (k.precision, k.range));
            err!(Arg, "{name}: no predefined type has precision {need_p} and range {need_r}; the largest has precision {bp} and range {br}")
        })?;
    let key = (combiner as i32, p, r);
    let mut made = lock(&MADE);
    if let Some(&t) = made.get(&key) {
        return out(newtype, t as MPI_Datatype, "newtype");
    }
    let mut map = (*predefined_map(kind.handle as usize).expect("filtered above")).clone();
    let ints = if combiner == Combiner::F90Integer { vec![r as i64] } else { vec![p as i64, r as i64] };
    map.envelope = Envelope { combiner, ints, addrs: vec![], types: vec![] };
    let h = lock(&st.types).insert(Datatype::new(Arc::new(map), true));
    let t = encode(Kind::Datatype, h)?;
    made.insert(key, t);
    out(newtype, t as MPI_Datatype, "newtype")
}

/// Whether `t` is one of the F90 types made here, which the program must not free.
pub fn is_f90(t: MPI_Datatype) -> bool {
    lock(&MADE).values().any(|&m| m == t as usize)
}

ffi_fn! {
    fn MPI_Type_create_f90_integer(r: c_int, newtype: *mut MPI_Datatype) -> c_int {
        let name = "MPI_Type_create_f90_integer";
        if r == abi::MPI_UNDEFINED {
            return Err(err!(Arg, "{name}: the range is MPI_UNDEFINED; give the decimal exponent range needed"));
        }
        create(name, Combiner::F90Integer, &INTEGERS, abi::MPI_UNDEFINED, r, newtype)
    }
}

ffi_fn! {
    fn MPI_Type_create_f90_real(p: c_int, r: c_int, newtype: *mut MPI_Datatype) -> c_int {
        create("MPI_Type_create_f90_real", Combiner::F90Real, &REALS, p, r, newtype)
    }
}

ffi_fn! {
    fn MPI_Type_create_f90_complex(p: c_int, r: c_int, newtype: *mut MPI_Datatype) -> c_int {
        create("MPI_Type_create_f90_complex", Combiner::F90Complex, &COMPLEXES, p, r, newtype)
    }
}

ffi_fn! {
    fn MPI_Type_get_value_index(value_type: MPI_Datatype, index_type: MPI_Datatype, pair_type: *mut MPI_Datatype) -> c_int {
        let st = state()?;
        let name = "MPI_Type_get_value_index";
        for (t, what) in [(value_type, "value_type"), (index_type, "index_type")] {
            if t == abi::MPI_DATATYPE_NULL {
                return Err(err!(Type, "{name}: {what} is MPI_DATATYPE_NULL"));
            }
            super::handles::datatype(st, t)?;
        }
        // MPI's predefined pair types (MPI 4.1 §6.9.4); any other pair has none.
        let pairs = [
            (abi::MPI_FLOAT, abi::MPI_FLOAT_INT),
            (abi::MPI_DOUBLE, abi::MPI_DOUBLE_INT),
            (abi::MPI_LONG, abi::MPI_LONG_INT),
            (abi::MPI_INT, abi::MPI_2INT),
            (abi::MPI_SHORT, abi::MPI_SHORT_INT),
            (abi::MPI_LONG_DOUBLE, abi::MPI_LONG_DOUBLE_INT),
        ];
        let pair = pairs
            .iter()
            .find(|(v, _)| index_type == abi::MPI_INT && *v == value_type)
            .map_or(abi::MPI_DATATYPE_NULL, |p| p.1);
        out(pair_type, pair, "pair_type")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_grow_in_precision_and_range() {
        for kinds in [&INTEGERS[..], &REALS, &COMPLEXES] {
            assert!(kinds.windows(2).all(|w| w[0].precision <= w[1].precision && w[0].range < w[1].range));
        }
    }
}
