//! The predefined reduction operations as kernels over bytes, and which operation applies to which kind of element.
//!
//! A kernel computes `inout[i] = in[i] op inout[i]` over whole elements. Elements are read
//! and written with `from_ne_bytes`/`to_ne_bytes`, so buffers need no alignment. Integer
//! arithmetic wraps (C's unsigned behaviour; signed overflow is undefined in C, wrapping is
//! the sane choice); logical operations treat nonzero as true and yield 0 or 1.

use std::ops::{Add, BitAnd, BitOr, BitXor, Mul, Sub};

/// `inout = in op inout`, elementwise; both slices hold the same whole number of elements.
pub type Kernel = fn(&[u8], &mut [u8]);

/// The predefined operations that reduce (MPI_REPLACE and MPI_NO_OP are for one-sided only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Max,
    Min,
    Sum,
    Prod,
    Land,
    Band,
    Lor,
    Bor,
    Lxor,
    Bxor,
    MinLoc,
    MaxLoc,
}

/// Integer representations, by width and signedness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Int {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    I128,
}

/// Floating-point representations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Float {
    F32,
    F64,
}

/// The value/index pair types of MINLOC and MAXLOC, laid out as C structs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pair {
    /// `MPI_FLOAT_INT`
    FloatInt,
    /// `MPI_DOUBLE_INT`
    DoubleInt,
    /// `MPI_LONG_INT` (LP64 `long`)
    LongInt,
    /// `MPI_2INT`, `MPI_2INTEGER`
    IntInt,
    /// `MPI_SHORT_INT`
    ShortInt,
    /// `MPI_2REAL`
    FloatFloat,
    /// `MPI_2DOUBLE_PRECISION`
    DoubleDouble,
}

/// What a basic datatype holds, in the MPI standard's groups (they decide which operations apply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basic {
    CInteger(Int),
    FortranInteger(Int),
    Floating(Float),
    Complex(Float),
    Logical(Int),
    Byte,
    Pair(Pair),
}

impl Basic {
    /// The standard's name for this group, for error messages.
    pub fn group(self) -> &'static str {
        match self {
            Basic::CInteger(_) => "C integer",
            Basic::FortranInteger(_) => "Fortran integer",
            Basic::Floating(_) => "floating point",
            Basic::Complex(_) => "complex",
            Basic::Logical(_) => "logical",
            Basic::Byte => "byte",
            Basic::Pair(_) => "value/index pair",
        }
    }
}

/// The kernel of `op` on elements of `basic`, or `None` where MPI does not define it.
pub fn kernel(op: Builtin, basic: Basic) -> Option<Kernel> {
    use Builtin::*;
    match (basic, op) {
        (Basic::CInteger(t) | Basic::FortranInteger(t), Max | Min | Sum | Prod | Band | Bor | Bxor) => by_int(t, op),
        (Basic::CInteger(t) | Basic::Logical(t), Land | Lor | Lxor) => by_int(t, op),
        (Basic::Byte, Band | Bor | Bxor) => integer::<u8>(op),
        (Basic::Floating(Float::F32), Max | Min | Sum | Prod) => floating::<f32>(op),
        (Basic::Floating(Float::F64), Max | Min | Sum | Prod) => floating::<f64>(op),
        (Basic::Complex(Float::F32), Sum | Prod) => complex::<f32>(op),
        (Basic::Complex(Float::F64), Sum | Prod) => complex::<f64>(op),
        (Basic::Pair(p), MinLoc | MaxLoc) => Some(pair(p, op == MaxLoc)),
        _ => None,
    }
}

fn by_int(t: Int, op: Builtin) -> Option<Kernel> {
    match t {
        Int::I8 => integer::<i8>(op),
        Int::U8 => integer::<u8>(op),
        Int::I16 => integer::<i16>(op),
        Int::U16 => integer::<u16>(op),
        Int::I32 => integer::<i32>(op),
        Int::U32 => integer::<u32>(op),
        Int::I64 => integer::<i64>(op),
        Int::U64 => integer::<u64>(op),
        Int::I128 => integer::<i128>(op),
    }
}

/// A fixed-size value read from and written to native-endian bytes.
trait Scalar: Copy + PartialOrd {
    const SIZE: usize;
    fn load(b: &[u8]) -> Self;
    fn store(self, b: &mut [u8]);
}

/// Integers: wrapping arithmetic and truth as nonzero.
trait Integer: Scalar + Ord + Default + BitAnd<Output = Self> + BitOr<Output = Self> + BitXor<Output = Self> {
    fn wrapping_add(self, o: Self) -> Self;
    fn wrapping_mul(self, o: Self) -> Self;
    fn from_bool(b: bool) -> Self;
}

/// Floating point: plain IEEE arithmetic.
trait Real: Scalar + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> {}

macro_rules! scalars {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn load(b: &[u8]) -> Self {
                <$t>::from_ne_bytes(b[..Self::SIZE].try_into().expect("a whole element"))
            }
            fn store(self, b: &mut [u8]) {
                b[..Self::SIZE].copy_from_slice(&self.to_ne_bytes());
            }
        }
    )*};
}
scalars!(i8, u8, i16, u16, i32, u32, i64, u64, i128, f32, f64);

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl Integer for $t {
            fn wrapping_add(self, o: Self) -> Self {
                <$t>::wrapping_add(self, o)
            }
            fn wrapping_mul(self, o: Self) -> Self {
                <$t>::wrapping_mul(self, o)
            }
            fn from_bool(b: bool) -> Self {
                b as $t
            }
        }
    )*};
}
integers!(i8, u8, i16, u16, i32, u32, i64, u64, i128);
impl Real for f32 {}
impl Real for f64 {}

/// Applies `f(in, inout)` to every element; `size` is the element's stride in bytes.
#[inline(always)]
fn each<T>(input: &[u8], inout: &mut [u8], size: usize, load: impl Fn(&[u8]) -> T, f: impl Fn(T, T, &mut [u8])) {
    for (a, b) in input.chunks_exact(size).zip(inout.chunks_exact_mut(size)) {
        let (x, y) = (load(a), load(b));
        f(x, y, b);
    }
}

#[inline(always)]
fn zip<T: Scalar>(input: &[u8], inout: &mut [u8], f: impl Fn(T, T) -> T) {
    each(input, inout, T::SIZE, T::load, |x, y, b| f(x, y).store(b));
}

fn integer<T: Integer>(op: Builtin) -> Option<Kernel> {
    Some(match op {
        Builtin::Max => |a, b| zip::<T>(a, b, |x, y| x.max(y)),
        Builtin::Min => |a, b| zip::<T>(a, b, |x, y| x.min(y)),
        Builtin::Sum => |a, b| zip::<T>(a, b, |x, y| x.wrapping_add(y)),
        Builtin::Prod => |a, b| zip::<T>(a, b, |x, y| x.wrapping_mul(y)),
        Builtin::Band => |a, b| zip::<T>(a, b, |x, y| x & y),
        Builtin::Bor => |a, b| zip::<T>(a, b, |x, y| x | y),
        Builtin::Bxor => |a, b| zip::<T>(a, b, |x, y| x ^ y),
        Builtin::Land => |a, b| zip::<T>(a, b, |x, y| T::from_bool(x != T::default() && y != T::default())),
        Builtin::Lor => |a, b| zip::<T>(a, b, |x, y| T::from_bool(x != T::default() || y != T::default())),
        Builtin::Lxor => |a, b| zip::<T>(a, b, |x, y| T::from_bool((x != T::default()) != (y != T::default()))),
        Builtin::MinLoc | Builtin::MaxLoc => return None,
    })
}

fn floating<T: Real>(op: Builtin) -> Option<Kernel> {
    // MAX/MIN as C's `a > b ? a : b`, which is what C implementations of MPI compute.
    Some(match op {
        Builtin::Max => |a, b| zip::<T>(a, b, |x, y| if x > y { x } else { y }),
        Builtin::Min => |a, b| zip::<T>(a, b, |x, y| if x < y { x } else { y }),
        Builtin::Sum => |a, b| zip::<T>(a, b, |x, y| x + y),
        Builtin::Prod => |a, b| zip::<T>(a, b, |x, y| x * y),
        _ => return None,
    })
}

/// Complex numbers as C stores them: real part, then imaginary part.
#[inline(always)]
fn zip_complex<T: Real>(input: &[u8], inout: &mut [u8], f: impl Fn((T, T), (T, T)) -> (T, T)) {
    let load = |b: &[u8]| (T::load(b), T::load(&b[T::SIZE..]));
    each(input, inout, 2 * T::SIZE, load, |x, y, b| {
        let (re, im) = f(x, y);
        re.store(b);
        im.store(&mut b[T::SIZE..]);
    });
}

fn complex<T: Real>(op: Builtin) -> Option<Kernel> {
    Some(match op {
        Builtin::Sum => |a, b| zip_complex::<T>(a, b, |x, y| (x.0 + y.0, x.1 + y.1)),
        Builtin::Prod => |a, b| zip_complex::<T>(a, b, |x, y| (x.0 * y.0 - x.1 * y.1, x.0 * y.1 + x.1 * y.0)),
        _ => return None,
    })
}

/// MINLOC/MAXLOC on a C struct of value `V` at offset 0 and index `I` at `OFF`, `STRIDE` bytes
/// apart: the better value wins, and on a tie the smaller index.
fn loc<V: Scalar, I: Scalar, const OFF: usize, const STRIDE: usize>(max: bool) -> Kernel {
    fn pick<V: Scalar, I: Scalar, const OFF: usize, const STRIDE: usize, const MAX: bool>(a: &[u8], b: &mut [u8]) {
        let load = |b: &[u8]| (V::load(b), I::load(&b[OFF..]));
        each(a, b, STRIDE, load, |x, y, b| {
            let better = if MAX { x.0 > y.0 } else { x.0 < y.0 };
            let winner = if better || (x.0 == y.0 && x.1 < y.1) { x } else { y };
            winner.0.store(b);
            winner.1.store(&mut b[OFF..]);
        });
    }
    if max {
        pick::<V, I, OFF, STRIDE, true>
    } else {
        pick::<V, I, OFF, STRIDE, false>
    }
}

fn pair(p: Pair, max: bool) -> Kernel {
    match p {
        Pair::FloatInt => loc::<f32, i32, 4, 8>(max),
        Pair::DoubleInt => loc::<f64, i32, 8, 16>(max),
        Pair::LongInt => loc::<i64, i32, 8, 16>(max),
        Pair::IntInt => loc::<i32, i32, 4, 8>(max),
        Pair::ShortInt => loc::<i16, i32, 4, 8>(max),
        Pair::FloatFloat => loc::<f32, f32, 4, 8>(max),
        Pair::DoubleDouble => loc::<f64, f64, 8, 16>(max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Builtin::*;

    fn bytes<T: Scalar>(v: &[T]) -> Vec<u8> {
        let mut out = vec![0; v.len() * T::SIZE];
        for (x, b) in v.iter().zip(out.chunks_exact_mut(T::SIZE)) {
            x.store(b);
        }
        out
    }

    fn values<T: Scalar>(b: &[u8]) -> Vec<T> {
        b.chunks_exact(T::SIZE).map(T::load).collect()
    }

    /// `input op inout` through the kernel for `op` on `basic`.
    fn run<T: Scalar>(op: Builtin, basic: Basic, input: &[T], inout: &[T]) -> Vec<T> {
        let k = kernel(op, basic).unwrap_or_else(|| panic!("{op:?} should apply to {basic:?}"));
        let mut acc = bytes(inout);
        k(&bytes(input), &mut acc);
        values(&acc)
    }

    #[test]
    fn integers_wrap_and_compare_by_signedness() {
        let i32s = Basic::CInteger(Int::I32);
        assert_eq!(run::<i32>(Sum, i32s, &[i32::MAX, 2, -5], &[1, 3, 5]), [i32::MIN, 5, 0]);
        assert_eq!(run::<i32>(Prod, i32s, &[1 << 30, -2], &[4, 3]), [0, -6]);
        assert_eq!(run::<i32>(Max, i32s, &[-1, 7], &[1, 2]), [1, 7]);
        assert_eq!(run::<u8>(Max, Basic::CInteger(Int::U8), &[255, 1], &[1, 2]), [255, 2]);
        assert_eq!(run::<i8>(Min, Basic::CInteger(Int::I8), &[-1, 1], &[1, 2]), [-1, 1]);
        assert_eq!(run::<u64>(Sum, Basic::CInteger(Int::U64), &[u64::MAX], &[2]), [1]);
        assert_eq!(run::<i128>(Sum, Basic::FortranInteger(Int::I128), &[1 << 100], &[1]), [(1 << 100) + 1]);
        assert_eq!(run::<u16>(Band, Basic::CInteger(Int::U16), &[0xff0f], &[0x0ff0]), [0x0f00]);
        assert_eq!(run::<u16>(Bor, Basic::CInteger(Int::U16), &[0xff0f], &[0x0ff0]), [0xffff]);
        assert_eq!(run::<u16>(Bxor, Basic::CInteger(Int::U16), &[0xff0f], &[0x0ff0]), [0xf0ff]);
        assert_eq!(run::<u8>(Bxor, Basic::Byte, &[0b1100], &[0b1010]), [0b0110]);
    }

    #[test]
    fn logical_operations_yield_zero_or_one() {
        let ints = Basic::CInteger(Int::I64);
        assert_eq!(run::<i64>(Land, ints, &[5, 0, 5, 0], &[-3, 7, 0, 0]), [1, 0, 0, 0]);
        assert_eq!(run::<i64>(Lor, ints, &[5, 0, 5, 0], &[-3, 7, 0, 0]), [1, 1, 1, 0]);
        assert_eq!(run::<i64>(Lxor, ints, &[5, 0, 5, 0], &[-3, 7, 0, 0]), [0, 1, 1, 0]);
        let bools = Basic::Logical(Int::U8);
        assert_eq!(run::<u8>(Lor, bools, &[1, 0], &[0, 0]), [1, 0]);
        assert_eq!(run::<u32>(Land, Basic::Logical(Int::U32), &[1, 1], &[1, 0]), [1, 0]);
    }

    #[test]
    fn floating_point_and_complex() {
        let f64s = Basic::Floating(Float::F64);
        assert_eq!(run::<f64>(Sum, f64s, &[0.5, -1.25], &[0.25, 4.0]), [0.75, 2.75]);
        assert_eq!(run::<f64>(Prod, f64s, &[0.5, -2.0], &[3.0, 4.0]), [1.5, -8.0]);
        assert_eq!(run::<f32>(Max, Basic::Floating(Float::F32), &[-0.5, 9.0], &[1.5, 2.0]), [1.5, 9.0]);
        assert_eq!(run::<f32>(Min, Basic::Floating(Float::F32), &[-0.5, 9.0], &[1.5, 2.0]), [-0.5, 2.0]);
        // (1 + 2i)(3 + 4i) = -5 + 10i; sums are componentwise.
        assert_eq!(run::<f64>(Prod, Basic::Complex(Float::F64), &[1.0, 2.0], &[3.0, 4.0]), [-5.0, 10.0]);
        assert_eq!(run::<f32>(Sum, Basic::Complex(Float::F32), &[1.0, 2.0], &[3.0, 4.0]), [4.0, 6.0]);
    }

    #[test]
    fn minloc_and_maxloc_break_ties_by_smaller_index() {
        // MPI_2INT: (value, index) pairs of i32.
        let two = Basic::Pair(Pair::IntInt);
        assert_eq!(run::<i32>(MinLoc, two, &[3, 0, 5, 4, 2, 9], &[3, 1, 4, 2, 2, 3]), [3, 0, 4, 2, 2, 3]);
        assert_eq!(run::<i32>(MaxLoc, two, &[3, 7, 5, 4, 1, 0], &[3, 1, 4, 2, 2, 3]), [3, 1, 5, 4, 2, 3]);
        // MPI_DOUBLE_INT: f64 at 0, int at 8, padding to 16 left alone.
        let k = kernel(MaxLoc, Basic::Pair(Pair::DoubleInt)).unwrap();
        let pair = |v: f64, i: i32, pad: u8| {
            let mut b = [pad; 16];
            v.store(&mut b);
            i.store(&mut b[8..]);
            b
        };
        let mut acc = pair(1.5, 4, 0xee);
        k(&pair(2.5, 9, 0), &mut acc);
        assert_eq!(acc, pair(2.5, 9, 0xee));
        let k = kernel(MinLoc, Basic::Pair(Pair::ShortInt)).unwrap();
        let (mut acc, mut input) = ([0u8; 8], [0u8; 8]);
        (-2i16).store(&mut acc);
        7i32.store(&mut acc[4..]);
        (-2i16).store(&mut input);
        3i32.store(&mut input[4..]);
        k(&input, &mut acc);
        assert_eq!((i16::load(&acc), i32::load(&acc[4..])), (-2, 3));
    }

    #[test]
    fn operations_apply_only_where_mpi_defines_them() {
        let none = |op, basic| assert!(kernel(op, basic).is_none(), "{op:?} must not apply to {basic:?}");
        none(Sum, Basic::Logical(Int::U8));
        none(Land, Basic::Floating(Float::F64));
        none(Land, Basic::FortranInteger(Int::I32));
        none(Band, Basic::Floating(Float::F32));
        none(Max, Basic::Complex(Float::F64));
        none(Sum, Basic::Byte);
        none(MinLoc, Basic::CInteger(Int::I32));
        none(Sum, Basic::Pair(Pair::IntInt));
        for op in [Max, Min, Sum, Prod, Land, Band, Lor, Bor, Lxor, Bxor] {
            assert!(kernel(op, Basic::CInteger(Int::U32)).is_some(), "{op:?} applies to C integers");
        }
        assert!(kernel(Bor, Basic::FortranInteger(Int::I64)).is_some());
        assert!(kernel(Lxor, Basic::Logical(Int::I128)).is_some());
        assert_eq!(Basic::Logical(Int::U8).group(), "logical");
    }

    #[test]
    fn unaligned_buffers_work() {
        let k = kernel(Sum, Basic::CInteger(Int::I32)).unwrap();
        let mut acc = [0u8; 9];
        1i32.store(&mut acc[1..]);
        2i32.store(&mut acc[5..]);
        let input = bytes::<i32>(&[10, 20]);
        k(&input, &mut acc[1..]);
        assert_eq!(values::<i32>(&acc[1..]), [11, 22]);
    }
}
