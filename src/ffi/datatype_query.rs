//! Questions about datatypes: envelope and contents, names, addresses, and element counts of received data.

use super::abi::{self, MPI_Aint, MPI_Count, MPI_Datatype, MPI_Status};
use super::boundary::out;
use super::handles;
use super::state::{decode, encode, state, Kind, State};
use crate::datatype::Datatype;
use crate::error::{err, Result};
use crate::sync::lock;
use crate::typemap::build::{Combiner, Envelope};
use crate::typemap::Child;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::{Arc, LazyLock, Mutex};

fn combiner_value(c: Combiner) -> c_int {
    match c {
        Combiner::Named => abi::MPI_COMBINER_NAMED,
        Combiner::Dup => abi::MPI_COMBINER_DUP,
        Combiner::Contiguous => abi::MPI_COMBINER_CONTIGUOUS,
        Combiner::Vector => abi::MPI_COMBINER_VECTOR,
        Combiner::Hvector => abi::MPI_COMBINER_HVECTOR,
        Combiner::Indexed => abi::MPI_COMBINER_INDEXED,
        Combiner::Hindexed => abi::MPI_COMBINER_HINDEXED,
        Combiner::IndexedBlock => abi::MPI_COMBINER_INDEXED_BLOCK,
        Combiner::HindexedBlock => abi::MPI_COMBINER_HINDEXED_BLOCK,
        Combiner::Struct => abi::MPI_COMBINER_STRUCT,
        Combiner::Subarray => abi::MPI_COMBINER_SUBARRAY,
        Combiner::Darray => abi::MPI_COMBINER_DARRAY,
        Combiner::Resized => abi::MPI_COMBINER_RESIZED,
        Combiner::F90Integer => abi::MPI_COMBINER_F90_INTEGER,
        Combiner::F90Real => abi::MPI_COMBINER_F90_REAL,
        Combiner::F90Complex => abi::MPI_COMBINER_F90_COMPLEX,
    }
}

ffi_fn! {
    fn MPI_Type_get_envelope(
        datatype: MPI_Datatype,
        num_integers: *mut c_int,
        num_addresses: *mut c_int,
        num_datatypes: *mut c_int,
        combiner: *mut c_int,
    ) -> c_int {
        let e = handles::datatype(state()?, datatype)?.map.envelope.clone();
        out(num_integers, e.ints.len() as c_int, "num_integers")?;
        out(num_addresses, e.addrs.len() as c_int, "num_addresses")?;
        out(num_datatypes, e.types.len() as c_int, "num_datatypes")?;
        out(combiner, combiner_value(e.combiner), "combiner")
    }
}

ffi_fn! {
    fn MPI_Type_get_envelope_c(
        datatype: MPI_Datatype,
        num_integers: *mut MPI_Count,
        num_addresses: *mut MPI_Count,
        num_large_counts: *mut MPI_Count,
        num_datatypes: *mut MPI_Count,
        combiner: *mut c_int,
    ) -> c_int {
        let e = handles::datatype(state()?, datatype)?.map.envelope.clone();
        let (ints, addrs, counts) = split_counts(&e);
        out(num_integers, ints.len() as MPI_Count, "num_integers")?;
        out(num_addresses, addrs.len() as MPI_Count, "num_addresses")?;
        out(num_large_counts, counts.len() as MPI_Count, "num_large_counts")?;
        out(num_datatypes, e.types.len() as MPI_Count, "num_datatypes")?;
        out(combiner, combiner_value(e.combiner), "combiner")
    }
}

/// A handle for a constructor's argument type: the predefined handle, or a new handle to an
/// equivalent committed type, which the caller frees (as MPI says).
fn handle_of(st: &State, c: &Child) -> Result<MPI_Datatype> {
    if let Some(v) = c.predefined {
        return Ok(v as MPI_Datatype);
    }
    let h = lock(&st.types).insert(Datatype::new(c.map.clone(), true));
    Ok(encode(Kind::Datatype, h)? as MPI_Datatype)
}

/// Copies `values` into a caller's array of room `max`.
fn fill<T>(ptr: *mut T, max: i64, values: impl ExactSizeIterator<Item = Result<T>>, what: &str) -> Result<()> {
    let n = values.len();
    if max < n as i64 {
        return Err(err!(
            Arg,
            "MPI_Type_get_contents: max_{what} is {max} but the type has {n}; use MPI_Type_get_envelope's counts"
        ));
    }
    if n > 0 && ptr.is_null() {
        return Err(err!(Arg, "MPI_Type_get_contents: the {what} array is NULL"));
    }
    for (i, v) in values.enumerate() {
        // SAFETY: the caller's array has room for `max` >= n entries (MPI's contract).
        unsafe { ptr.add(i).write(v?) };
    }
    Ok(())
}

/// The envelope as the `_c` calls report it: `(integers, addresses, large counts)`. Counts
/// are integers while they all fit an int (as the int constructors record them); a type with a
/// count beyond int reports its counts and displacements as large counts, laid out as the
/// `_c` constructor takes them (MPI 4.1 §5.1.13).
fn split_counts(e: &Envelope) -> (Vec<i64>, Vec<i64>, Vec<i64>) {
    let fits = e.ints.iter().all(|&v| c_int::try_from(v).is_ok());
    let (ints, addrs) = (e.ints.clone(), e.addrs.clone());
    if fits {
        return (ints, addrs, vec![]);
    }
    match e.combiner {
        Combiner::Contiguous | Combiner::Vector | Combiner::Indexed | Combiner::IndexedBlock => (vec![], addrs, ints),
        Combiner::Hvector | Combiner::Hindexed | Combiner::HindexedBlock | Combiner::Struct | Combiner::Resized => {
            (vec![], vec![], [ints, addrs].concat())
        }
        Combiner::Subarray => {
            // Stored as [ndims, sizes.., subsizes.., starts.., order]; the _c form keeps
            // [ndims, order] as integers.
            let (n, order) = (ints[0], ints[ints.len() - 1]);
            (vec![n, order], addrs, ints[1..ints.len() - 1].to_vec())
        }
        Combiner::Darray => {
            // Stored as [size, rank, ndims, gsizes.., distribs.., dargs.., psizes.., order]; the
            // _c form has the gsizes as large counts.
            let n = ints[2] as usize;
            let (head, rest) = ints.split_at(3);
            ([head, &rest[n..]].concat(), addrs, rest[..n].to_vec())
        }
        _ => (ints, addrs, vec![]),
    }
}

/// `MPI_Type_get_contents` with room `max` for (integers, addresses, datatypes).
fn contents(
    datatype: MPI_Datatype,
    max: [i64; 3],
    array_of_integers: *mut c_int,
    array_of_addresses: *mut MPI_Aint,
    array_of_datatypes: *mut MPI_Datatype,
) -> Result<()> {
    contents_with(datatype, max, array_of_integers, array_of_addresses, None, array_of_datatypes)
}

/// `contents`, and for the `_c` form the large counts (room, array).
fn contents_with(
    datatype: MPI_Datatype,
    max: [i64; 3],
    array_of_integers: *mut c_int,
    array_of_addresses: *mut MPI_Aint,
    large: Option<(i64, *mut MPI_Count)>,
    array_of_datatypes: *mut MPI_Datatype,
) -> Result<()> {
    let st = state()?;
    let mut e = handles::datatype(st, datatype)?.map.envelope.clone();
    if let Some((max_counts, counts_out)) = large {
        let (ints, addrs, counts) = split_counts(&e);
        fill(counts_out, max_counts, counts.into_iter().map(Ok), "large_counts")?;
        if e.combiner == Combiner::Subarray && ints.len() == 2 {
            // Already in the _c layout; write the order's constant below like the int form.
            let order = if ints[1] == 0 { abi::MPI_ORDER_C } else { abi::MPI_ORDER_FORTRAN } as i64;
            let narrow = |v: i64| {
                c_int::try_from(v).map_err(|_| err!(Count, "MPI_Type_get_contents_c: {v} does not fit an int"))
            };
            fill(array_of_integers, max[0], [ints[0], order].into_iter().map(narrow), "integers")?;
            fill(array_of_addresses, max[1], addrs.iter().map(|&a| Ok(a as MPI_Aint)), "addresses")?;
            return fill(array_of_datatypes, max[2], e.types.iter().map(|c| handle_of(st, c)), "datatypes");
        }
        e.ints = ints;
        e.addrs = addrs;
    }
    if e.combiner == Combiner::Named {
        return Err(err!(
            Type,
            "MPI_Type_get_contents: a predefined datatype has no contents (its combiner is MPI_COMBINER_NAMED)"
        ));
    }
    let mut ints = e.ints.clone();
    if e.combiner == Combiner::Subarray {
        // The order is stored as 0 (C) or 1 (Fortran).
        let last = ints.len() - 1;
        ints[last] = if ints[last] == 0 { abi::MPI_ORDER_C } else { abi::MPI_ORDER_FORTRAN } as i64;
    }
    let narrow = |v: i64| c_int::try_from(v).map_err(|_| err!(Count, "MPI_Type_get_contents: {v} does not fit an int"));
    fill(array_of_integers, max[0], ints.into_iter().map(narrow), "integers")?;
    fill(array_of_addresses, max[1], e.addrs.iter().map(|&a| Ok(a as MPI_Aint)), "addresses")?;
    fill(array_of_datatypes, max[2], e.types.iter().map(|c| handle_of(st, c)), "datatypes")
}

ffi_fn! {
    fn MPI_Type_get_contents(
        datatype: MPI_Datatype,
        max_integers: c_int,
        max_addresses: c_int,
        max_datatypes: c_int,
        array_of_integers: *mut c_int,
        array_of_addresses: *mut MPI_Aint,
        array_of_datatypes: *mut MPI_Datatype,
    ) -> c_int {
        let max = [max_integers.into(), max_addresses.into(), max_datatypes.into()];
        contents(datatype, max, array_of_integers, array_of_addresses, array_of_datatypes)
    }
}

ffi_fn! {
    fn MPI_Type_get_contents_c(
        datatype: MPI_Datatype,
        max_integers: MPI_Count,
        max_addresses: MPI_Count,
        max_large_counts: MPI_Count,
        max_datatypes: MPI_Count,
        array_of_integers: *mut c_int,
        array_of_addresses: *mut MPI_Aint,
        array_of_large_counts: *mut MPI_Count,
        array_of_datatypes: *mut MPI_Datatype,
    ) -> c_int {
        let max = [max_integers, max_addresses, max_datatypes];
        let large = Some((max_large_counts, array_of_large_counts));
        contents_with(datatype, max, array_of_integers, array_of_addresses, large, array_of_datatypes)
    }
}

/// A derived type's table entry.
fn derived<'a>(
    types: &'a mut crate::handle_table::HandleTable<Datatype>,
    v: usize,
    what: &str,
) -> Result<&'a mut Datatype> {
    decode(Kind::Datatype, v)
        .and_then(|h| types.get_mut(h))
        .ok_or_else(|| err!(Type, "{what}: invalid datatype handle {v:#x} (freed, or not a datatype)"))
}

/// Names a program gave predefined types (MPI lets it rename them; the handle stays the same).
static PREDEFINED_NAMES: LazyLock<Mutex<HashMap<usize, String>>> = LazyLock::new(Mutex::default);

ffi_fn! {
    fn MPI_Type_set_name(datatype: MPI_Datatype, type_name: *const c_char) -> c_int {
        let st = state()?;
        if type_name.is_null() {
            return Err(err!(Arg, "MPI_Type_set_name: the name is NULL"));
        }
        // SAFETY: non-null, a NUL-terminated C string (MPI's contract).
        let name = unsafe { CStr::from_ptr(type_name) }.to_string_lossy();
        let max = abi::MPI_MAX_OBJECT_NAME as usize - 1;
        if name.len() > max {
            return Err(err!(Arg, "MPI_Type_set_name: the name has {} bytes; at most {max} fit", name.len()));
        }
        let v = datatype as usize;
        if abi::predefined_datatype_size(v).is_some() {
            lock(&PREDEFINED_NAMES).insert(v, name.into_owned());
            return Ok(());
        }
        derived(&mut lock(&st.types), v, "MPI_Type_set_name")?.name = Some(Arc::from(&*name));
        Ok(())
    }
}

ffi_fn! {
    fn MPI_Type_get_name(datatype: MPI_Datatype, type_name: *mut c_char, resultlen: *mut c_int) -> c_int {
        let st = state()?;
        let v = datatype as usize;
        let renamed = lock(&PREDEFINED_NAMES).get(&v).cloned();
        let name: String = match abi::predefined_datatype_name(v) {
            Some(n) => renamed.unwrap_or_else(|| n.to_string()),
            // The null handle has a name too, though no type.
            None if datatype == abi::MPI_DATATYPE_NULL => "MPI_DATATYPE_NULL".to_string(),
            None => derived(&mut lock(&st.types), v, "MPI_Type_get_name")?.name.as_deref().unwrap_or("").to_string(),
        };
        if type_name.is_null() {
            return Err(err!(Arg, "MPI_Type_get_name: the name buffer is NULL"));
        }
        let len = name.len().min(abi::MPI_MAX_OBJECT_NAME as usize - 1);
        // SAFETY: the caller's buffer holds MPI_MAX_OBJECT_NAME chars (MPI's contract); len < that.
        unsafe {
            std::ptr::copy_nonoverlapping(name.as_ptr(), type_name.cast::<u8>(), len);
            type_name.add(len).write(0);
        }
        out(resultlen, len as c_int, "resultlen")
    }
}

ffi_fn! {
    fn MPI_Get_address(location: *const c_void, address: *mut MPI_Aint) -> c_int {
        out(address, location as MPI_Aint, "address")
    }
}

ffi_fn! {
    fn MPI_Aint_add(base: MPI_Aint, disp: MPI_Aint) -> MPI_Aint {
        base.wrapping_add(disp)
    }
}

ffi_fn! {
    fn MPI_Aint_diff(addr1: MPI_Aint, addr2: MPI_Aint) -> MPI_Aint {
        addr1.wrapping_sub(addr2)
    }
}

/// Reads the received byte count out of a status and applies `f` to it with `datatype`.
fn from_status(
    status: *const MPI_Status,
    datatype: MPI_Datatype,
    f: fn(&Datatype, u64) -> Option<u64>,
) -> Result<MPI_Count> {
    let t = handles::datatype(state()?, datatype)?;
    let bytes = super::status::received_bytes(status)?;
    Ok(f(&t, bytes).map_or(abi::MPI_UNDEFINED as MPI_Count, |n| n as MPI_Count))
}

ffi_fn! {
    fn MPI_Get_elements_x(status: *const MPI_Status, datatype: MPI_Datatype, count: *mut MPI_Count) -> c_int {
        out(count, from_status(status, datatype, Datatype::elements_of)?, "count")
    }
}

ffi_fn! {
    fn MPI_Get_elements_c(status: *const MPI_Status, datatype: MPI_Datatype, count: *mut MPI_Count) -> c_int {
        out(count, from_status(status, datatype, Datatype::elements_of)?, "count")
    }
}

ffi_fn! {
    fn MPI_Get_count_c(status: *const MPI_Status, datatype: MPI_Datatype, count: *mut MPI_Count) -> c_int {
        out(count, from_status(status, datatype, Datatype::count_of)?, "count")
    }
}

ffi_fn! {
    fn MPI_Type_match_size(typeclass: c_int, size: c_int, datatype: *mut MPI_Datatype) -> c_int {
        state()?;
        let table: &[(c_int, c_int, MPI_Datatype)] = &[
            (abi::MPI_TYPECLASS_INTEGER, 1, abi::MPI_INTEGER1),
            (abi::MPI_TYPECLASS_INTEGER, 2, abi::MPI_INTEGER2),
            (abi::MPI_TYPECLASS_INTEGER, 4, abi::MPI_INTEGER4),
            (abi::MPI_TYPECLASS_INTEGER, 8, abi::MPI_INTEGER8),
            (abi::MPI_TYPECLASS_INTEGER, 16, abi::MPI_INTEGER16),
            (abi::MPI_TYPECLASS_REAL, 2, abi::MPI_REAL2),
            (abi::MPI_TYPECLASS_REAL, 4, abi::MPI_REAL4),
            (abi::MPI_TYPECLASS_REAL, 8, abi::MPI_REAL8),
            (abi::MPI_TYPECLASS_REAL, 16, abi::MPI_REAL16),
            (abi::MPI_TYPECLASS_COMPLEX, 4, abi::MPI_COMPLEX4),
            (abi::MPI_TYPECLASS_COMPLEX, 8, abi::MPI_COMPLEX8),
            (abi::MPI_TYPECLASS_COMPLEX, 16, abi::MPI_COMPLEX16),
            (abi::MPI_TYPECLASS_COMPLEX, 32, abi::MPI_COMPLEX32),
        ];
        let found = table.iter().find(|(c, s, _)| *c == typeclass && *s == size).map(|e| e.2);
        let t = found.ok_or_else(|| {
            err!(Arg, "MPI_Type_match_size: no predefined type of class {typeclass} has {size} bytes (classes: MPI_TYPECLASS_INTEGER, _REAL, _COMPLEX)")
        })?;
        out(datatype, t, "datatype")
    }
}
