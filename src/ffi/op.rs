//! Reduction operations at the C boundary: op handles, user operations, and which kernel an (op, datatype) pair uses.

use super::abi::{self, MPI_Count, MPI_Datatype, MPI_Op, MPI_User_function, MPI_User_function_c};
use super::boundary::out;
use super::handles;
use super::state::{decode, encode, state, Kind, State, UserOp};
use crate::collective::op::{self, Basic, Builtin, Float, Int};
use crate::datatype::Datatype;
use crate::error::{err, Result};
use crate::sync::lock;
use std::ffi::{c_int, c_void};

/// A combining function `inout = in op inout` over whole items of the reduced datatype.
pub type Combine = Box<dyn Fn(&[u8], &mut [u8]) + Send>;

/// The predefined operation behind a handle value, with its name.
fn builtin(v: usize) -> Option<(Builtin, &'static str)> {
    let table = [
        (abi::MPI_MAX, Builtin::Max, "MPI_MAX"),
        (abi::MPI_MIN, Builtin::Min, "MPI_MIN"),
        (abi::MPI_SUM, Builtin::Sum, "MPI_SUM"),
        (abi::MPI_PROD, Builtin::Prod, "MPI_PROD"),
        (abi::MPI_LAND, Builtin::Land, "MPI_LAND"),
        (abi::MPI_BAND, Builtin::Band, "MPI_BAND"),
        (abi::MPI_LOR, Builtin::Lor, "MPI_LOR"),
        (abi::MPI_BOR, Builtin::Bor, "MPI_BOR"),
        (abi::MPI_LXOR, Builtin::Lxor, "MPI_LXOR"),
        (abi::MPI_BXOR, Builtin::Bxor, "MPI_BXOR"),
        (abi::MPI_MINLOC, Builtin::MinLoc, "MPI_MINLOC"),
        (abi::MPI_MAXLOC, Builtin::MaxLoc, "MPI_MAXLOC"),
    ];
    table.iter().find(|(h, _, _)| *h as usize == v).map(|(_, b, name)| (*b, *name))
}

/// What the types an operation takes are, for error messages.
fn takes(op: Builtin) -> &'static str {
    match op {
        Builtin::Max | Builtin::Min => "integer and floating point types",
        Builtin::Sum | Builtin::Prod => "integer, floating point and complex types",
        Builtin::Land | Builtin::Lor | Builtin::Lxor => "C integer and logical types (such as MPI_C_BOOL)",
        Builtin::Band | Builtin::Bor | Builtin::Bxor => "integer types and MPI_BYTE",
        Builtin::MinLoc | Builtin::MaxLoc => "value/index pair types (MPI_2INT, MPI_DOUBLE_INT, ...)",
    }
}

/// What each reducible predefined datatype holds (C types as on LP64 Linux). Types missing
/// here take no predefined operation (characters, MPI_PACKED) or are `unsupported`.
const BASICS: &[(MPI_Datatype, Basic)] = {
    use Basic::*;
    &[
        (abi::MPI_SIGNED_CHAR, CInteger(Int::I8)),
        (abi::MPI_INT8_T, CInteger(Int::I8)),
        (abi::MPI_UNSIGNED_CHAR, CInteger(Int::U8)),
        (abi::MPI_UINT8_T, CInteger(Int::U8)),
        (abi::MPI_SHORT, CInteger(Int::I16)),
        (abi::MPI_INT16_T, CInteger(Int::I16)),
        (abi::MPI_UNSIGNED_SHORT, CInteger(Int::U16)),
        (abi::MPI_UINT16_T, CInteger(Int::U16)),
        (abi::MPI_INT, CInteger(Int::I32)),
        (abi::MPI_INT32_T, CInteger(Int::I32)),
        (abi::MPI_UNSIGNED, CInteger(Int::U32)),
        (abi::MPI_UINT32_T, CInteger(Int::U32)),
        (abi::MPI_LONG, CInteger(Int::I64)),
        (abi::MPI_LONG_LONG, CInteger(Int::I64)),
        (abi::MPI_INT64_T, CInteger(Int::I64)),
        (abi::MPI_UNSIGNED_LONG, CInteger(Int::U64)),
        (abi::MPI_UNSIGNED_LONG_LONG, CInteger(Int::U64)),
        (abi::MPI_UINT64_T, CInteger(Int::U64)),
        // The standard files MPI_AINT, MPI_OFFSET and MPI_COUNT under Fortran integers.
        (abi::MPI_AINT, FortranInteger(Int::I64)),
        (abi::MPI_OFFSET, FortranInteger(Int::I64)),
        (abi::MPI_COUNT, FortranInteger(Int::I64)),
        (abi::MPI_INTEGER, FortranInteger(Int::I32)),
        (abi::MPI_INTEGER1, FortranInteger(Int::I8)),
        (abi::MPI_INTEGER2, FortranInteger(Int::I16)),
        (abi::MPI_INTEGER4, FortranInteger(Int::I32)),
        (abi::MPI_INTEGER8, FortranInteger(Int::I64)),
        (abi::MPI_INTEGER16, FortranInteger(Int::I128)),
        (abi::MPI_FLOAT, Floating(Float::F32)),
        (abi::MPI_REAL, Floating(Float::F32)),
        (abi::MPI_REAL4, Floating(Float::F32)),
        (abi::MPI_DOUBLE, Floating(Float::F64)),
        (abi::MPI_DOUBLE_PRECISION, Floating(Float::F64)),
        (abi::MPI_REAL8, Floating(Float::F64)),
        (abi::MPI_C_FLOAT_COMPLEX, Complex(Float::F32)),
        (abi::MPI_CXX_FLOAT_COMPLEX, Complex(Float::F32)),
        (abi::MPI_COMPLEX, Complex(Float::F32)),
        (abi::MPI_COMPLEX8, Complex(Float::F32)),
        (abi::MPI_C_DOUBLE_COMPLEX, Complex(Float::F64)),
        (abi::MPI_CXX_DOUBLE_COMPLEX, Complex(Float::F64)),
        (abi::MPI_DOUBLE_COMPLEX, Complex(Float::F64)),
        (abi::MPI_COMPLEX16, Complex(Float::F64)),
        (abi::MPI_C_BOOL, Logical(Int::U8)),
        (abi::MPI_CXX_BOOL, Logical(Int::U8)),
        (abi::MPI_LOGICAL1, Logical(Int::U8)),
        (abi::MPI_LOGICAL2, Logical(Int::U16)),
        (abi::MPI_LOGICAL, Logical(Int::U32)),
        (abi::MPI_LOGICAL4, Logical(Int::U32)),
        (abi::MPI_LOGICAL8, Logical(Int::U64)),
        (abi::MPI_LOGICAL16, Logical(Int::I128)),
        (abi::MPI_BYTE, Byte),
        (abi::MPI_FLOAT_INT, Pair(op::Pair::FloatInt)),
        (abi::MPI_DOUBLE_INT, Pair(op::Pair::DoubleInt)),
        (abi::MPI_LONG_INT, Pair(op::Pair::LongInt)),
        (abi::MPI_2INT, Pair(op::Pair::IntInt)),
        (abi::MPI_2INTEGER, Pair(op::Pair::IntInt)),
        (abi::MPI_SHORT_INT, Pair(op::Pair::ShortInt)),
        (abi::MPI_2REAL, Pair(op::Pair::FloatFloat)),
        (abi::MPI_2DOUBLE_PRECISION, Pair(op::Pair::DoubleDouble)),
    ]
};

fn basic(handle: usize) -> Option<Basic> {
    BASICS.iter().find(|(t, _)| *t as usize == handle).map(|(_, b)| *b)
}

/// Types MPI reduces but partyline cannot: Rust has no long double (x87 80-bit, or binary128
/// on aarch64), half or quad precision arithmetic.
fn unsupported(handle: usize) -> bool {
    [
        abi::MPI_LONG_DOUBLE,
        abi::MPI_C_LONG_DOUBLE_COMPLEX,
        abi::MPI_CXX_LONG_DOUBLE_COMPLEX,
        abi::MPI_LONG_DOUBLE_INT,
        abi::MPI_REAL2,
        abi::MPI_COMPLEX4,
        abi::MPI_REAL16,
        abi::MPI_COMPLEX32,
    ]
    .iter()
    .any(|t| *t as usize == handle)
}

fn type_name(handle: usize, t: &Datatype) -> String {
    match (abi::predefined_datatype_name(handle), t.basic.and_then(abi::predefined_datatype_name)) {
        (Some(name), _) => name.to_string(),
        (None, Some(base)) => format!("a derived datatype of {base}"),
        (None, None) => "a derived datatype".to_string(),
    }
}

/// The kernel of a predefined operation on `dtype`, or MPI_ERR_OP naming both.
fn builtin_kernel(op: Builtin, op_name: &str, dtype: usize, t: &Datatype) -> Result<op::Kernel> {
    let name = type_name(dtype, t);
    let Some(base) = t.basic else {
        return Err(err!(Op, "{op_name} cannot reduce {name}: it is not made of one predefined type"));
    };
    if unsupported(base) {
        return Err(err!(
            Op,
            "{op_name} on {name} is not supported: partyline has no long double, half or quad precision arithmetic; \
             use MPI_DOUBLE or a user operation (MPI_Op_create)"
        ));
    }
    let Some(kind) = basic(base) else {
        return Err(err!(Op, "{op_name} does not apply to {name}; {op_name} takes {}", takes(op)));
    };
    op::kernel(op, kind).ok_or_else(|| {
        err!(Op, "{op_name} does not apply to {name} (a {} type); {op_name} takes {}", kind.group(), takes(op))
    })
}

/// The combining function of `op` on items of `dtype` (`t`), or MPI_ERR_OP.
pub fn combiner(st: &State, op: MPI_Op, dtype: MPI_Datatype, t: &Datatype) -> Result<Combine> {
    let v = op as usize;
    if let Some((b, name)) = builtin(v) {
        let kernel = builtin_kernel(b, name, dtype as usize, t)?;
        return Ok(Box::new(kernel));
    }
    let user = user_op(st, v)?;
    let extent = t.extent;
    // The handle's value, not the pointer type, so the function can run on a collective's worker thread.
    let dtype = dtype as usize;
    Ok(Box::new(move |input: &[u8], inout: &mut [u8]| call_user(user, dtype as MPI_Datatype, extent, input, inout)))
}

/// The user operation behind a handle, or MPI_ERR_OP saying what the handle is instead.
fn user_op(st: &State, v: usize) -> Result<UserOp> {
    if v == abi::MPI_OP_NULL as usize {
        return Err(err!(Op, "MPI_OP_NULL is not an operation"));
    }
    if v == abi::MPI_REPLACE as usize || v == abi::MPI_NO_OP as usize {
        return Err(err!(Op, "MPI_REPLACE and MPI_NO_OP are for one-sided accumulate calls only, not for reductions"));
    }
    decode(Kind::Op, v)
        .and_then(|h| lock(&st.ops).get(h).copied())
        .ok_or_else(|| err!(Op, "invalid operation handle {v:#x} (freed, or not an MPI_Op)"))
}

/// Calls a user function MPI's way: `(invec, inoutvec, &len, &datatype)`, `len` in items. C
/// code reads the vectors as its own types, so unaligned ones go through aligned copies.
fn call_user(user: UserOp, dtype: MPI_Datatype, extent: usize, input: &[u8], inout: &mut [u8]) {
    let items = inout.len() / extent.max(1);
    let mut len = c_int::try_from(items).unwrap_or(c_int::MAX);
    let mut len_c = items as MPI_Count;
    let mut dt = dtype;
    // One call in either length width: MPI_Op_create's `int *len` or MPI_Op_create_c's `MPI_Count *len`.
    let mut call = |invec: *mut c_void, inoutvec: *mut c_void| match user.func_c {
        // SAFETY: the caller's promise below holds for whichever function the op has.
        Some(func_c) => unsafe { func_c(invec, inoutvec, &mut len_c, &mut dt) },
        // SAFETY: as above.
        None => unsafe { (user.func)(invec, inoutvec, &mut len, &mut dt) },
    };
    // A C type's alignment divides its size, so the largest power of two dividing the extent
    // (at most 16) is alignment enough.
    let align = (extent & extent.wrapping_neg()).clamp(1, 16);
    let fits = |p: *const u8| p as usize % align == 0;
    if fits(input.as_ptr()) && fits(inout.as_ptr()) {
        // Both vectors hold `len` items of `dtype`, suitably aligned; MPI lets the function
        // read `invec` and update `inoutvec` in place, and nothing else uses them now.
        call(input.as_ptr().cast_mut().cast(), inout.as_mut_ptr().cast());
        return;
    }
    let (mut a, mut b) = (aligned(input), aligned(inout));
    // As above, on 16-aligned copies at least as long as the vectors.
    call(a.as_mut_ptr().cast(), b.as_mut_ptr().cast());
    // SAFETY: `b` owns at least `inout.len()` initialized bytes (a u128 has no padding).
    inout.copy_from_slice(unsafe { std::slice::from_raw_parts(b.as_ptr().cast::<u8>(), inout.len()) });
}

/// A 16-aligned copy of `bytes`.
fn aligned(bytes: &[u8]) -> Vec<u128> {
    let mut v = vec![0u128; bytes.len().div_ceil(16)];
    for (word, chunk) in v.iter_mut().zip(bytes.chunks(16)) {
        let mut w = [0u8; 16];
        w[..chunk.len()].copy_from_slice(chunk);
        *word = u128::from_ne_bytes(w);
    }
    v
}

/// Registers a user operation and hands its handle to the caller.
fn create(user: UserOp, op: *mut MPI_Op) -> Result<()> {
    let st = state()?;
    let h = lock(&st.ops).insert(user);
    match encode(Kind::Op, h).and_then(|v| out(op, v as MPI_Op, "op")) {
        Ok(()) => Ok(()),
        Err(e) => {
            lock(&st.ops).remove(h);
            Err(e)
        }
    }
}

ffi_fn! {
    fn MPI_Op_create(user_fn: MPI_User_function, commute: c_int, op: *mut MPI_Op) -> c_int {
        let func = user_fn.ok_or_else(|| err!(Arg, "MPI_Op_create: the function is NULL"))?;
        create(UserOp { func, commute: commute != 0, func_c: None }, op)
    }
}

/// Stands in for `UserOp::func` in an `MPI_Op_create_c` operation; never called.
unsafe extern "C" fn never(_: *mut c_void, _: *mut c_void, _: *mut c_int, _: *mut MPI_Datatype) {}

ffi_fn! {
    fn MPI_Op_create_c(user_fn: MPI_User_function_c, commute: c_int, op: *mut MPI_Op) -> c_int {
        if user_fn.is_none() {
            return Err(err!(Arg, "MPI_Op_create_c: the function is NULL"));
        }
        create(UserOp { func: never, commute: commute != 0, func_c: user_fn }, op)
    }
}

ffi_fn! {
    fn MPI_Op_free(op: *mut MPI_Op) -> c_int {
        let st = state()?;
        if op.is_null() {
            return Err(err!(Arg, "MPI_Op_free: the op argument is NULL"));
        }
        // SAFETY: non-null, points to an op handle (MPI's contract).
        let v = unsafe { op.read() } as usize;
        if builtin(v).is_some() || v == abi::MPI_REPLACE as usize || v == abi::MPI_NO_OP as usize {
            return Err(err!(Op, "MPI_Op_free: predefined operations cannot be freed"));
        }
        let h = decode(Kind::Op, v).ok_or_else(|| err!(Op, "MPI_Op_free: invalid operation handle {v:#x}"))?;
        lock(&st.ops).remove(h).ok_or_else(|| err!(Op, "MPI_Op_free: operation {v:#x} was already freed"))?;
        out(op, abi::MPI_OP_NULL, "op")
    }
}

ffi_fn! {
    fn MPI_Op_commutative(op: MPI_Op, commute: *mut c_int) -> c_int {
        let st = state()?;
        // Every predefined reduction is commutative; MPI_REPLACE and MPI_NO_OP (accumulate
        // operations) are not: which operand wins depends on the order.
        let v = op as usize;
        let c = match builtin(v) {
            Some(_) => true,
            None if v == abi::MPI_REPLACE as usize || v == abi::MPI_NO_OP as usize => false,
            None => user_op(st, v)?.commute,
        };
        out(commute, c as c_int, "commute")
    }
}

/// `MPI_Reduce_local(_c)`: combines `count` items of `inbuf` into `inoutbuf`.
fn reduce_local(
    inbuf: *const c_void,
    inoutbuf: *mut c_void,
    count: MPI_Count,
    datatype: MPI_Datatype,
    op: MPI_Op,
) -> Result<()> {
    let st = state()?;
    let t = handles::datatype(st, datatype)?;
    let combine = combiner(st, op, datatype, &t)?;
    let input = handles::buffer(st, inbuf, count, datatype)?;
    let inout = handles::buffer(st, inoutbuf, count, datatype)?;
    // SAFETY: MPI's contract: the caller's buffers stay valid, and the receive buffer untouched
    // by anything else, for the whole blocking call; send and receive buffers may not overlap.
    combine(unsafe { input.bytes() }, unsafe { inout.bytes_mut() });
    Ok(())
}

ffi_fn! {
    fn MPI_Reduce_local(inbuf: *const c_void, inoutbuf: *mut c_void, count: c_int, datatype: MPI_Datatype, op: MPI_Op) -> c_int {
        reduce_local(inbuf, inoutbuf, count.into(), datatype, op)
    }
}

ffi_fn! {
    fn MPI_Reduce_local_c(inbuf: *const c_void, inoutbuf: *mut c_void, count: MPI_Count, datatype: MPI_Datatype, op: MPI_Op) -> c_int {
        reduce_local(inbuf, inoutbuf, count, datatype, op)
    }
}
