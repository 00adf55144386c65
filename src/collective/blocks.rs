//! Per-rank blocks of a collective's buffer: carving them out disjointly, even splits, and the local copy to oneself.

use crate::error::{err, Result};
use std::ops::Range;

/// Splits `buf` into one mutable block per rank. Blocks may come in any order but must not
/// overlap (MPI forbids writing a location twice); empty blocks may be anywhere.
pub fn split_mut<'a>(buf: &'a mut [u8], ranges: &[Range<usize>]) -> Result<Vec<&'a mut [u8]>> {
    let mut order: Vec<usize> = (0..ranges.len()).filter(|&r| !ranges[r].is_empty()).collect();
    order.sort_by_key(|&r| ranges[r].start);
    let mut blocks: Vec<&'a mut [u8]> = ranges.iter().map(|_| <&mut [u8]>::default()).collect();
    let (mut rest, mut at, mut last) = (buf, 0, None);
    for r in order {
        let range = &ranges[r];
        if range.start < at {
            let other = last.unwrap_or(r);
            return Err(err!(
                Arg,
                "the receive blocks of ranks {other} and {r} overlap; each location may be written once"
            ));
        }
        if range.end > at + rest.len() {
            return Err(err!(Intern, "block {range:?} of rank {r} lies outside the {}-byte buffer", at + rest.len()));
        }
        let (_, tail) = std::mem::take(&mut rest).split_at_mut(range.start - at);
        let (block, tail) = tail.split_at_mut(range.len());
        blocks[r] = block;
        rest = tail;
        at = range.end;
        last = Some(r);
    }
    Ok(blocks)
}

/// One read-only block per rank (send blocks may overlap).
pub fn split<'a>(buf: &'a [u8], ranges: &[Range<usize>]) -> Result<Vec<&'a [u8]>> {
    ranges
        .iter()
        .enumerate()
        .map(|(r, range)| {
            buf.get(range.clone())
                .ok_or_else(|| err!(Intern, "block {range:?} of rank {r} lies outside the {}-byte buffer", buf.len()))
        })
        .collect()
}

/// `count` items of `item` bytes in `n` nearly equal consecutive blocks, the larger ones first.
pub fn even(count: usize, item: usize, n: usize) -> Vec<Range<usize>> {
    let (base, extra) = (count / n, count % n);
    let mut at = 0;
    (0..n)
        .map(|r| {
            let len = (base + usize::from(r < extra)) * item;
            at += len;
            at - len..at
        })
        .collect()
}

/// `n` blocks of `len` bytes back to back.
pub fn uniform(len: usize, n: usize) -> Vec<Range<usize>> {
    (0..n).map(|r| r * len..(r + 1) * len).collect()
}

/// A rank's own contribution, copied into its own receive block.
pub fn copy_own(data: &[u8], block: &mut [u8]) -> Result<()> {
    let room = block.len();
    let target = block.get_mut(..data.len()).ok_or_else(|| {
        err!(
            Truncate,
            "message truncated: this rank contributes {} bytes but its own receive block holds {room}",
            data.len()
        )
    })?;
    target.copy_from_slice(data);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorClass;

    #[test]
    fn carves_blocks_in_any_order() {
        let mut buf: Vec<u8> = (0..10).collect();
        let blocks = split_mut(&mut buf, &[6..9, 0..0, 0..2, 2..6]).unwrap();
        assert_eq!(blocks[0], [6, 7, 8]);
        assert!(blocks[1].is_empty());
        assert_eq!(blocks[2], [0, 1]);
        assert_eq!(blocks[3], [2, 3, 4, 5]);
        let clash = split_mut(&mut buf, &[0..4, 3..5]).unwrap_err();
        assert_eq!(clash.class, ErrorClass::Arg);
        assert!(clash.message.contains("ranks 0 and 1 overlap"), "{}", clash.message);
        assert!(split_mut(&mut buf, &[0..0, 8..11]).is_err(), "out of bounds");
        assert_eq!(split(&buf, &[1..3, 1..3]).unwrap(), [&[1, 2][..], &[1, 2][..]], "send blocks may overlap");
    }

    #[test]
    fn even_split_covers_everything() {
        assert_eq!(even(7, 4, 3), [0..12, 12..20, 20..28]);
        assert_eq!(even(1, 8, 3), [0..8, 8..8, 8..8]);
        assert_eq!(even(0, 8, 2), [0..0, 0..0]);
        assert_eq!(uniform(3, 2), [0..3, 3..6]);
    }

    #[test]
    fn own_block_copy_checks_room() {
        let mut block = [0u8; 3];
        copy_own(&[1, 2], &mut block).unwrap();
        assert_eq!(block, [1, 2, 0]);
        assert_eq!(copy_own(&[1, 2, 3, 4], &mut block).unwrap_err().class, ErrorClass::Truncate);
    }
}
