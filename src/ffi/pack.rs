//! `MPI_Pack`/`MPI_Unpack` and their external32 forms: a datatype's data to and from consecutive bytes the caller holds.

use super::abi::{MPI_Aint, MPI_Comm, MPI_Count, MPI_Datatype};
use super::boundary::{blame, out};
use super::handles;
use super::state::state;
use crate::error::{err, Result};
use crate::typemap::pack;
use std::ffi::{c_char, c_int, c_void, CStr};

/// Packed data bytes of `count` items of `datatype`.
fn packed_len(count: i64, datatype: MPI_Datatype) -> Result<(crate::datatype::Datatype, usize)> {
    let t = handles::datatype(state()?, datatype)?;
    let n = t.packed(count)?;
    Ok((t, n))
}

/// Reads `*position`, checked against a buffer of `size` bytes.
fn start(position: *const i64, size: i64, what: &str) -> Result<usize> {
    if position.is_null() {
        return Err(err!(Arg, "{what}: the position argument is NULL"));
    }
    // SAFETY: non-null, points to the caller's position (MPI's contract).
    let at = unsafe { position.read() };
    if at < 0 || size < 0 || at > size {
        return Err(err!(Arg, "{what}: position {at} is outside the packed buffer of {size} bytes"));
    }
    Ok(at as usize)
}

/// Packs `count` items at `inbuf` into `outbuf[*position..size]` and advances the position.
fn pack_into(
    inbuf: *const c_void,
    count: i64,
    datatype: MPI_Datatype,
    outbuf: *mut c_void,
    size: i64,
    position: *mut i64,
    external: bool,
) -> Result<()> {
    let what = if external { "MPI_Pack_external" } else { "MPI_Pack" };
    let (t, n) = packed_len(count, datatype)?;
    let at = start(position, size, what)?;
    if n > size as usize - at {
        return Err(err!(
            Truncate,
            "{what}: {n} bytes do not fit the {} left in the buffer (position {at} of {size})",
            size as usize - at
        ));
    }
    if n == 0 {
        return Ok(());
    }
    if outbuf.is_null() {
        return Err(err!(Buffer, "{what}: a buffer is NULL but {n} bytes are to be packed"));
    }
    // SAFETY: MPI's contract: `outbuf` has `size` bytes and at + n <= size; it does not overlap
    // the input data, which is valid for reads.
    let dest = unsafe { std::slice::from_raw_parts_mut(outbuf.cast::<u8>().add(at), n) };
    // SAFETY: the input's type map of `count` items is readable (MPI's contract).
    unsafe {
        if external {
            pack::pack_external(&t.map, count as usize, inbuf.cast(), dest);
        } else {
            pack::pack(&t.map, count as usize, inbuf.cast(), dest);
        }
    }
    // SAFETY: checked non-null in `start`.
    unsafe { position.write((at + n) as i64) };
    Ok(())
}

/// Unpacks `count` items into `outbuf` from `inbuf[*position..size]` and advances the position.
fn unpack_from(
    inbuf: *const c_void,
    size: i64,
    position: *mut i64,
    outbuf: *mut c_void,
    count: i64,
    datatype: MPI_Datatype,
    external: bool,
) -> Result<()> {
    let what = if external { "MPI_Unpack_external" } else { "MPI_Unpack" };
    let (t, n) = packed_len(count, datatype)?;
    let at = start(position, size, what)?;
    if n > size as usize - at {
        return Err(err!(
            Truncate,
            "{what}: {count} items need {n} packed bytes but only {} are left (position {at} of {size})",
            size as usize - at
        ));
    }
    if n == 0 {
        return Ok(());
    }
    if inbuf.is_null() {
        return Err(err!(Buffer, "{what}: the packed buffer is NULL"));
    }
    // SAFETY: MPI's contract: `inbuf` has `size` bytes, and at + n <= size.
    let src = unsafe { std::slice::from_raw_parts(inbuf.cast::<u8>().add(at), n) };
    // SAFETY: the output's type map of `count` items is writable and not otherwise in use.
    unsafe {
        if external {
            pack::unpack_external(&t.map, count as usize, outbuf.cast(), src);
        } else {
            pack::unpack(&t.map, count as usize, outbuf.cast(), src);
        }
    }
    // SAFETY: checked non-null in `start`.
    unsafe { position.write((at + n) as i64) };
    Ok(())
}

/// Runs `f` on a widened copy of an int position, writing it back only on success.
fn with_int_position(position: *mut c_int, f: impl FnOnce(*mut i64) -> Result<()>) -> Result<()> {
    if position.is_null() {
        return Err(err!(Arg, "the position argument is NULL"));
    }
    // SAFETY: non-null, the caller's position (MPI's contract).
    let mut wide = i64::from(unsafe { position.read() });
    f(&mut wide)?;
    let narrow =
        c_int::try_from(wide).map_err(|_| err!(Count, "the position {wide} does not fit an int; use the _c form"))?;
    out(position, narrow, "position")
}

fn with_aint_position(position: *mut MPI_Aint, f: impl FnOnce(*mut i64) -> Result<()>) -> Result<()> {
    if position.is_null() {
        return Err(err!(Arg, "the position argument is NULL"));
    }
    // SAFETY: non-null, the caller's position (MPI's contract).
    let mut wide = unsafe { position.read() } as i64;
    f(&mut wide)?;
    out(position, wide as MPI_Aint, "position")
}

ffi_fn! {
    fn MPI_Pack(inbuf: *const c_void, incount: c_int, datatype: MPI_Datatype, outbuf: *mut c_void, outsize: c_int, position: *mut c_int, comm: MPI_Comm) -> c_int {
        blame(comm as usize);
        handles::comm(state()?, comm)?;
        with_int_position(position, |p| pack_into(inbuf, incount.into(), datatype, outbuf, outsize.into(), p, false))
    }
}

ffi_fn! {
    fn MPI_Pack_c(inbuf: *const c_void, incount: MPI_Count, datatype: MPI_Datatype, outbuf: *mut c_void, outsize: MPI_Count, position: *mut MPI_Count, comm: MPI_Comm) -> c_int {
        blame(comm as usize);
        handles::comm(state()?, comm)?;
        pack_into(inbuf, incount, datatype, outbuf, outsize, position, false)
    }
}

ffi_fn! {
    fn MPI_Unpack(inbuf: *const c_void, insize: c_int, position: *mut c_int, outbuf: *mut c_void, outcount: c_int, datatype: MPI_Datatype, comm: MPI_Comm) -> c_int {
        blame(comm as usize);
        handles::comm(state()?, comm)?;
        with_int_position(position, |p| unpack_from(inbuf, insize.into(), p, outbuf, outcount.into(), datatype, false))
    }
}

ffi_fn! {
    fn MPI_Unpack_c(inbuf: *const c_void, insize: MPI_Count, position: *mut MPI_Count, outbuf: *mut c_void, outcount: MPI_Count, datatype: MPI_Datatype, comm: MPI_Comm) -> c_int {
        blame(comm as usize);
        handles::comm(state()?, comm)?;
        unpack_from(inbuf, insize, position, outbuf, outcount, datatype, false)
    }
}

ffi_fn! {
    fn MPI_Pack_size(incount: c_int, datatype: MPI_Datatype, comm: MPI_Comm, size: *mut c_int) -> c_int {
        blame(comm as usize);
        handles::comm(state()?, comm)?;
        let n = packed_len(incount.into(), datatype)?.1;
        let n = c_int::try_from(n).map_err(|_| err!(Count, "MPI_Pack_size: {n} bytes do not fit an int; use MPI_Pack_size_c"))?;
        out(size, n, "size")
    }
}

ffi_fn! {
    fn MPI_Pack_size_c(incount: MPI_Count, datatype: MPI_Datatype, comm: MPI_Comm, size: *mut MPI_Count) -> c_int {
        blame(comm as usize);
        handles::comm(state()?, comm)?;
        out(size, packed_len(incount, datatype)?.1 as MPI_Count, "size")
    }
}

/// Checks the data representation name: only "external32" exists.
fn external32(datarep: *const c_char) -> Result<()> {
    if datarep.is_null() {
        return Err(err!(Arg, "the data representation is NULL; use \"external32\""));
    }
    // SAFETY: non-null, a NUL-terminated C string (MPI's contract).
    let name = unsafe { CStr::from_ptr(datarep) };
    if name.to_bytes() != b"external32" {
        return Err(err!(Arg, "data representation {:?} is unknown; the only one is \"external32\"", name));
    }
    Ok(())
}

ffi_fn! {
    fn MPI_Pack_external(datarep: *const c_char, inbuf: *const c_void, incount: c_int, datatype: MPI_Datatype, outbuf: *mut c_void, outsize: MPI_Aint, position: *mut MPI_Aint) -> c_int {
        external32(datarep)?;
        with_aint_position(position, |p| pack_into(inbuf, incount.into(), datatype, outbuf, outsize as i64, p, true))
    }
}

ffi_fn! {
    fn MPI_Pack_external_c(datarep: *const c_char, inbuf: *const c_void, incount: MPI_Count, datatype: MPI_Datatype, outbuf: *mut c_void, outsize: MPI_Count, position: *mut MPI_Count) -> c_int {
        external32(datarep)?;
        pack_into(inbuf, incount, datatype, outbuf, outsize, position, true)
    }
}

ffi_fn! {
    fn MPI_Unpack_external(datarep: *const c_char, inbuf: *const c_void, insize: MPI_Aint, position: *mut MPI_Aint, outbuf: *mut c_void, outcount: c_int, datatype: MPI_Datatype) -> c_int {
        external32(datarep)?;
        with_aint_position(position, |p| unpack_from(inbuf, insize as i64, p, outbuf, outcount.into(), datatype, true))
    }
}

ffi_fn! {
    fn MPI_Unpack_external_c(datarep: *const c_char, inbuf: *const c_void, insize: MPI_Count, position: *mut MPI_Count, outbuf: *mut c_void, outcount: MPI_Count, datatype: MPI_Datatype) -> c_int {
        external32(datarep)?;
        unpack_from(inbuf, insize, position, outbuf, outcount, datatype, true)
    }
}

ffi_fn! {
    fn MPI_Pack_external_size(datarep: *const c_char, incount: c_int, datatype: MPI_Datatype, size: *mut MPI_Aint) -> c_int {
        external32(datarep)?;
        out(size, packed_len(incount.into(), datatype)?.1 as MPI_Aint, "size")
    }
}

ffi_fn! {
    fn MPI_Pack_external_size_c(datarep: *const c_char, incount: MPI_Count, datatype: MPI_Datatype, size: *mut MPI_Count) -> c_int {
        external32(datarep)?;
        out(size, packed_len(incount, datatype)?.1 as MPI_Count, "size")
    }
}
