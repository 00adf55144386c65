//! Size, element count and name of every predefined MPI datatype, for the core's buffer handling and MPI_Type_get_name.

// Some entry points are only used once the core grows into them.
#![allow(dead_code)]

use core::ffi::{c_char, c_int, c_long, c_longlong, c_schar, c_short, c_uchar, c_uint, c_ulong, c_ulonglong, c_ushort};
use core::mem::size_of;

use super::abi::*;

/// C `struct { A a; B b; }`, so the pair types get the padding a C compiler gives them.
#[repr(C)]
struct Pair<A, B>(A, B);

/// C `long double`: 16 bytes, 16-aligned on x86_64 and aarch64 Linux (Rust has no such type).
#[repr(C, align(16))]
struct LongDouble([u8; 16]);

struct Entry {
    handle: MPI_Datatype,
    name: &'static str,
    size: usize,
    /// Basic elements per item (MPI_Get_elements): 2 for the value/index pair types, else 1.
    elements: usize,
}

/// An entry named after its handle constant; the optional last argument is the element count.
macro_rules! dt {
    ($handle:ident, $size:expr) => {
        dt!($handle, $size, 1)
    };
    ($handle:ident, $size:expr, $elements:expr) => {
        Entry { handle: $handle, name: stringify!($handle), size: $size, elements: $elements }
    };
}

/// Sorted by handle value (a unit test checks), so lookups can binary-search.
/// Fortran types use gfortran's default kinds; the sized ones are as their names say.
const DATATYPES: &[Entry] = &[
    dt!(MPI_AINT, size_of::<MPI_Aint>()),
    dt!(MPI_COUNT, size_of::<MPI_Count>()),
    dt!(MPI_OFFSET, size_of::<MPI_Offset>()),
    dt!(MPI_PACKED, 1),
    dt!(MPI_SHORT, size_of::<c_short>()),
    dt!(MPI_INT, size_of::<c_int>()),
    dt!(MPI_LONG, size_of::<c_long>()),
    dt!(MPI_LONG_LONG, size_of::<c_longlong>()),
    dt!(MPI_UNSIGNED_SHORT, size_of::<c_ushort>()),
    dt!(MPI_UNSIGNED, size_of::<c_uint>()),
    dt!(MPI_UNSIGNED_LONG, size_of::<c_ulong>()),
    dt!(MPI_UNSIGNED_LONG_LONG, size_of::<c_ulonglong>()),
    dt!(MPI_FLOAT, size_of::<f32>()),
    dt!(MPI_C_FLOAT_COMPLEX, size_of::<[f32; 2]>()),
    dt!(MPI_CXX_FLOAT_COMPLEX, size_of::<[f32; 2]>()),
    dt!(MPI_DOUBLE, size_of::<f64>()),
    dt!(MPI_C_DOUBLE_COMPLEX, size_of::<[f64; 2]>()),
    dt!(MPI_CXX_DOUBLE_COMPLEX, size_of::<[f64; 2]>()),
    dt!(MPI_LOGICAL, 4),
    dt!(MPI_INTEGER, 4),
    dt!(MPI_REAL, 4),
    dt!(MPI_COMPLEX, 8),
    dt!(MPI_DOUBLE_PRECISION, 8),
    dt!(MPI_DOUBLE_COMPLEX, 16),
    dt!(MPI_CHARACTER, 1),
    dt!(MPI_LONG_DOUBLE, size_of::<LongDouble>()),
    dt!(MPI_C_LONG_DOUBLE_COMPLEX, size_of::<[LongDouble; 2]>()),
    dt!(MPI_CXX_LONG_DOUBLE_COMPLEX, size_of::<[LongDouble; 2]>()),
    dt!(MPI_FLOAT_INT, size_of::<Pair<f32, c_int>>(), 2),
    dt!(MPI_DOUBLE_INT, size_of::<Pair<f64, c_int>>(), 2),
    dt!(MPI_LONG_INT, size_of::<Pair<c_long, c_int>>(), 2),
    dt!(MPI_2INT, size_of::<Pair<c_int, c_int>>(), 2),
    dt!(MPI_SHORT_INT, size_of::<Pair<c_short, c_int>>(), 2),
    dt!(MPI_LONG_DOUBLE_INT, size_of::<Pair<LongDouble, c_int>>(), 2),
    dt!(MPI_2REAL, 8, 2),
    dt!(MPI_2DOUBLE_PRECISION, 16, 2),
    dt!(MPI_2INTEGER, 8, 2),
    dt!(MPI_C_BOOL, size_of::<bool>()),
    dt!(MPI_CXX_BOOL, size_of::<bool>()),
    dt!(MPI_WCHAR, size_of::<libc::wchar_t>()),
    dt!(MPI_INT8_T, 1),
    dt!(MPI_UINT8_T, 1),
    dt!(MPI_CHAR, size_of::<c_char>()),
    dt!(MPI_SIGNED_CHAR, size_of::<c_schar>()),
    dt!(MPI_UNSIGNED_CHAR, size_of::<c_uchar>()),
    dt!(MPI_BYTE, 1),
    dt!(MPI_INT16_T, 2),
    dt!(MPI_UINT16_T, 2),
    dt!(MPI_INT32_T, 4),
    dt!(MPI_UINT32_T, 4),
    dt!(MPI_INT64_T, 8),
    dt!(MPI_UINT64_T, 8),
    dt!(MPI_LOGICAL1, 1),
    dt!(MPI_INTEGER1, 1),
    dt!(MPI_LOGICAL2, 2),
    dt!(MPI_INTEGER2, 2),
    dt!(MPI_REAL2, 2),
    dt!(MPI_LOGICAL4, 4),
    dt!(MPI_INTEGER4, 4),
    dt!(MPI_REAL4, 4),
    dt!(MPI_COMPLEX4, 4),
    dt!(MPI_LOGICAL8, 8),
    dt!(MPI_INTEGER8, 8),
    dt!(MPI_REAL8, 8),
    dt!(MPI_COMPLEX8, 8),
    dt!(MPI_LOGICAL16, 16),
    dt!(MPI_INTEGER16, 16),
    dt!(MPI_REAL16, 16),
    dt!(MPI_COMPLEX16, 16),
    dt!(MPI_COMPLEX32, 32),
];

fn lookup(handle: usize) -> Option<&'static Entry> {
    DATATYPES.binary_search_by_key(&handle, |e| handle_value(e.handle)).ok().map(|i| &DATATYPES[i])
}

/// `(size in bytes, basic elements per item)` of a predefined datatype; `None` for any other
/// handle, including `MPI_DATATYPE_NULL`.
pub fn predefined_datatype_size(handle: usize) -> Option<(usize, usize)> {
    lookup(handle).map(|e| (e.size, e.elements))
}

/// The MPI name of a predefined datatype (aliases give the name they alias, e.g. `MPI_LONG_LONG`).
pub fn predefined_datatype_name(handle: usize) -> Option<&'static str> {
    lookup(handle).map(|e| e.name)
}

/// Every predefined datatype handle value, in ascending order.
pub fn predefined_datatype_handles() -> impl Iterator<Item = usize> {
    DATATYPES.iter().map(|e| handle_value(e.handle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(h: MPI_Datatype) -> usize {
        predefined_datatype_size(handle_value(h)).unwrap().0
    }

    #[test]
    fn sorted_distinct_and_predefined() {
        assert_eq!(DATATYPES.len(), 70);
        for w in DATATYPES.windows(2) {
            assert!(handle_value(w[0].handle) < handle_value(w[1].handle), "{} out of order", w[1].name);
        }
        for e in DATATYPES {
            let h = handle_value(e.handle);
            assert!((0x200..PREDEFINED_HANDLE_LIMIT).contains(&h), "{}", e.name);
            assert_eq!(predefined_datatype_name(h), Some(e.name));
        }
    }

    #[test]
    fn c_sizes_on_lp64() {
        assert_eq!(size(MPI_LONG), 8);
        assert_eq!(size(MPI_LONG_DOUBLE), 16);
        assert_eq!(size(MPI_C_LONG_DOUBLE_COMPLEX), 32);
        assert_eq!(size(MPI_WCHAR), 4);
        assert_eq!(size(MPI_C_BOOL), 1);
        assert_eq!(size(MPI_AINT), 8);
        assert_eq!(size(MPI_PACKED), 1);
        assert_eq!(size(MPI_FLOAT_INT), 8);
        assert_eq!(size(MPI_DOUBLE_INT), 16);
        assert_eq!(size(MPI_LONG_INT), 16);
        assert_eq!(size(MPI_SHORT_INT), 8);
        assert_eq!(size(MPI_LONG_DOUBLE_INT), 32);
        assert_eq!(size(MPI_COMPLEX4), 4);
        assert_eq!(size(MPI_COMPLEX32), 32);
        assert_eq!(size(MPI_INTEGER16), 16);
        assert_eq!(size(MPI_REAL2), 2);
    }

    #[test]
    fn elements_aliases_and_misses() {
        assert_eq!(predefined_datatype_size(handle_value(MPI_2INT)), Some((8, 2)));
        assert_eq!(predefined_datatype_size(handle_value(MPI_C_DOUBLE_COMPLEX)), Some((16, 1)));
        assert_eq!(predefined_datatype_name(handle_value(MPI_LONG_LONG_INT)), Some("MPI_LONG_LONG"));
        assert_eq!(predefined_datatype_name(handle_value(MPI_C_COMPLEX)), Some("MPI_C_FLOAT_COMPLEX"));
        assert_eq!(predefined_datatype_size(handle_value(MPI_DATATYPE_NULL)), None);
        assert_eq!(predefined_datatype_size(handle_value(MPI_COMM_WORLD)), None);
        assert_eq!(predefined_datatype_size(PREDEFINED_HANDLE_LIMIT + 0x209), None);
    }
}
