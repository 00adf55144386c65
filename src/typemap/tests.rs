//! Type maps of every constructor against hand-computed offsets, packing round trips, counts.

use super::build::{self, Child, Combiner, Order};
use super::pack::{pack, swap_elements, unpack};
use super::*;
use proptest::prelude::*;

const INT: usize = 1;
const DOUBLE: usize = 2;
const CHAR: usize = 3;

fn basic(handle: usize, size: usize) -> Child {
    Child { predefined: Some(handle), map: Arc::new(TypeMap::predefined(handle, &[(0, handle, size, size)], size)) }
}

fn int() -> Child {
    basic(INT, 4)
}

fn derived(t: TypeMap) -> Child {
    Child { predefined: None, map: Arc::new(t) }
}

/// `(disp, bytes)` of each run.
fn spans(t: &TypeMap) -> Vec<(i64, usize)> {
    t.runs.iter().map(|r| (r.disp, r.bytes())).collect()
}

#[test]
fn contiguous_stays_one_run() {
    let t = build::contiguous(1000, &int()).unwrap();
    assert_eq!(spans(&t), [(0, 4000)]);
    assert!(t.is_contiguous());
    let tt = build::contiguous(3, &derived(t)).unwrap();
    assert_eq!((spans(&tt), tt.extent(), tt.elements), (vec![(0, 12000)], 12000, 3000));
}

#[test]
fn vector_is_a_matrix_column() {
    // Column of a 4x5 int matrix: 4 blocks of 1 int, 5 ints apart.
    let t = build::vector(4, 1, 5, false, &int()).unwrap();
    assert_eq!(spans(&t), [(0, 4), (20, 4), (40, 4), (60, 4)]);
    assert_eq!((t.lb, t.ub, t.size, t.true_extent()), (0, 64, 16, 64));
    assert!(!t.is_contiguous());
    let h = build::vector(2, 2, 12, true, &int()).unwrap();
    assert_eq!(spans(&h), [(0, 8), (12, 8)]);
    assert_eq!(h.envelope.combiner, Combiner::Hvector);
    assert_eq!((h.envelope.ints.clone(), h.envelope.addrs.clone()), (vec![2, 2], vec![12]));
    let neg = build::vector(3, 1, -2, false, &int()).unwrap();
    assert_eq!((neg.lb, neg.ub), (-16, 4), "negative strides reach below the start");
    assert!(build::vector(-1, 1, 1, false, &int()).is_err());
    assert!(build::vector(1, -1, 1, false, &int()).is_err());
}

#[test]
fn indexed_and_blocks() {
    let t = build::indexed(&[2, 1, 0], &[3, 0, 9], false, &int()).unwrap();
    assert_eq!(spans(&t), [(12, 8), (0, 4)], "type-map order, not address order");
    assert_eq!((t.lb, t.ub, t.size), (0, 20, 12), "an empty block adds no bounds");
    let h = build::indexed(&[1, 1], &[4, 8], true, &int()).unwrap();
    assert_eq!(spans(&h), [(4, 8)], "adjacent blocks merge");
    assert!(h.is_contiguous(), "gapless from its lower bound (4): sent straight from buf + 4");
    let b = build::indexed_block(2, &[0, 4], false, &int()).unwrap();
    assert_eq!((spans(&b), b.envelope.combiner), (vec![(0, 8), (16, 8)], Combiner::IndexedBlock));
    let hb = build::indexed_block(1, &[0, 100], true, &int()).unwrap();
    assert_eq!((hb.ub, hb.envelope.addrs.clone()), (104, vec![0, 100]));
}

#[test]
fn struct_padding_and_basic() {
    // struct { int a; double b; char c[3]; } on LP64: offsets 0, 8, 16; sizeof 24.
    let t = build::structure(&[1, 1, 3], &[0, 8, 16], &[int(), basic(DOUBLE, 8), basic(CHAR, 1)]).unwrap();
    assert_eq!(spans(&t), [(0, 4), (8, 8), (16, 3)]);
    assert_eq!((t.size, t.extent(), t.true_extent(), t.elements), (15, 24, 19, 5));
    assert_eq!(t.basic, None);
    assert_eq!(t.elements_of(15 + 4 + 8), Some(7), "a whole item then an int and a double");
    assert_eq!(t.elements_of(15 + 5), None, "ends inside the double");
    let same = build::structure(&[2], &[0], &[int()]).unwrap();
    assert_eq!(same.basic, Some(INT));
}

#[test]
fn subarray_orders() {
    // 2 x 3 block at (1, 2) of a 4 x 6 int array, C order: rows 1..3, columns 2..5.
    let c = build::subarray(&[4, 6], &[2, 3], &[1, 2], Order::C, &int()).unwrap();
    assert_eq!(spans(&c), [(32, 12), (56, 12)]);
    assert_eq!((c.lb, c.extent(), c.size), (0, 96, 24));
    // Fortran order: the first dimension varies fastest.
    let f = build::subarray(&[6, 4], &[3, 2], &[2, 1], Order::Fortran, &int()).unwrap();
    assert_eq!(spans(&f), spans(&c));
    assert!(build::subarray(&[4], &[3], &[2], Order::C, &int()).is_err(), "runs past the end");
    assert!(build::subarray(&[], &[], &[], Order::C, &int()).is_err());
}

#[test]
fn resized_and_dup() {
    let r = build::resized(&int(), -4, 12).unwrap();
    assert_eq!((r.lb, r.ub, r.extent(), r.true_lb, r.true_extent()), (-4, 8, 12, 0, 4));
    let two = build::contiguous(2, &derived(r)).unwrap();
    assert_eq!(spans(&two), [(0, 4), (12, 4)]);
    let d = build::dup(&int());
    assert_eq!((d.envelope.combiner, d.size), (Combiner::Dup, 4));
    let tight = build::resized(&derived(build::vector(2, 1, 2, false, &int()).unwrap()), 0, 4).unwrap();
    assert_eq!(tight.extent(), 4);
}

#[test]
fn pack_round_trip_vector() {
    let t = build::vector(3, 2, 4, false, &int()).unwrap();
    let src: Vec<i32> = (0..24).collect();
    let mut packed = vec![0u8; t.size * 2];
    // SAFETY: one item reaches int 9, within `src`.
    let n = unsafe { pack(&t, 1, src.as_ptr().cast(), &mut packed) };
    assert_eq!(n, 24);
    let ints: Vec<i32> = packed[..24].chunks(4).map(|c| i32::from_ne_bytes(c.try_into().unwrap())).collect();
    assert_eq!(ints, [0, 1, 4, 5, 8, 9]);
    let mut dst = vec![-1i32; 12];
    // SAFETY: one item reaches int 9, within `dst`.
    let used = unsafe { unpack(&t, 1, dst.as_mut_ptr().cast(), &packed[..24]) };
    assert_eq!(used, 24);
    assert_eq!(dst, [0, 1, -1, -1, 4, 5, -1, -1, 8, 9, -1, -1]);
    // A short input fills only the first elements.
    let mut part = vec![-1i32; 12];
    // SAFETY: as above.
    unsafe { unpack(&t, 1, part.as_mut_ptr().cast(), &packed[..12]) };
    assert_eq!(&part[..6], [0, 1, -1, -1, 4, -1]);
}

#[test]
fn external32_swaps_each_element() {
    let t = build::contiguous(2, &int()).unwrap();
    let mut packed = 0x01020304u32.to_ne_bytes().repeat(2);
    swap_elements(&t, &mut packed);
    assert_eq!(packed, [1, 2, 3, 4, 1, 2, 3, 4].map(|b| if cfg!(target_endian = "big") { 5 - b } else { b }));
}

#[test]
fn overflow_and_limits() {
    let big = build::contiguous(i64::MAX / 8, &basic(DOUBLE, 8)).unwrap();
    assert!(build::contiguous(16, &derived(big.clone())).is_err(), "extent overflows");
    assert!(big.packed_len(3).is_err());
    assert!(build::resized(&int(), i64::MAX, 1).is_err());
    assert!(build::vector(1 << 25, 1, 2, false, &int()).is_err(), "too many pieces");
}

proptest! {
    /// Packing then unpacking a random vector puts every element back, and touches nothing else.
    #[test]
    fn vector_round_trip(count in 0usize..6, blocklen in 0usize..4, extra in 0usize..3, items in 0usize..3) {
        let stride = (blocklen + extra) as i64;
        let t = build::vector(count as i64, blocklen as i64, stride, false, &int()).unwrap();
        let span = (items * t.extent() as usize) / 4 + 8;
        let src: Vec<i32> = (0..span as i32).collect();
        let mut packed = vec![0u8; t.size * items];
        // SAFETY: `items` items of the vector lie within `span` ints.
        prop_assert_eq!(unsafe { pack(&t, items, src.as_ptr().cast(), &mut packed) }, packed.len());
        let mut dst = vec![-1i32; span];
        // SAFETY: as above.
        unsafe { unpack(&t, items, dst.as_mut_ptr().cast(), &packed) };
        let ext = t.extent() as usize / 4;
        let mut expected = vec![-1i32; span];
        for item in 0..items {
            for b in 0..count {
                for j in 0..blocklen {
                    let at = item * ext + b * stride as usize + j;
                    expected[at] = src[at];
                }
            }
        }
        prop_assert_eq!(dst, expected);
        prop_assert_eq!(t.count_of(packed.len() as u64), Some(if t.size == 0 { 0 } else { items as u64 }));
    }
}
