//! Packing (gathering a type map's data into consecutive bytes) and unpacking (scattering them back), natively and as external32.

use super::{Run, TypeMap};

/// Which bytes move: walks `count` items of `map` from `base` and calls `f(memory address,
/// packed offset, run)` for each run, stopping once `limit` packed bytes are covered; the last
/// run may be cut short (its length is `min(run bytes, limit - offset)`).
fn walk(map: &TypeMap, count: usize, base: usize, limit: usize, mut f: impl FnMut(usize, usize, usize, &Run)) {
    let ext = map.extent() as isize;
    let mut at = 0usize;
    if map.is_contiguous() && !map.runs.is_empty() {
        // One span: a single copy.
        let len = (map.size * count).min(limit);
        let run = Run { count: len / map.runs[0].size.max(1), ..map.runs[0] };
        f(base.wrapping_add_signed(map.lb as isize), 0, len, &run);
        return;
    }
    for k in 0..count {
        let item = base.wrapping_add_signed(ext.wrapping_mul(k as isize));
        for r in &map.runs {
            if at >= limit {
                return;
            }
            let len = r.bytes().min(limit - at);
            f(item.wrapping_add_signed(r.disp as isize), at, len, r);
            at += len;
        }
    }
}

/// Gathers `count` items of `map` at `base` into `out` (up to `out.len()` bytes); returns
/// the bytes written.
///
/// # Safety
/// Every byte the type map of `count` items names, from `base`, is valid for reads (MPI's
/// contract for a send buffer), and none of them lies in `out`.
pub unsafe fn pack(map: &TypeMap, count: usize, base: *const u8, out: &mut [u8]) -> usize {
    let mut written = 0;
    let dst = out.as_mut_ptr();
    walk(map, count, base as usize, out.len(), |src, at, len, _| {
        // SAFETY: `src..src+len` is data of the type map (the caller's promise); `at + len`
        // is within `out` (walk stops at its length); the two do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(src as *const u8, dst.add(at), len) };
        written = at + len;
    });
    written
}

/// Scatters the packed bytes `input` into `count` items of `map` at `base`; stops early if
/// `input` runs out (a short message fills the first items only). Returns the bytes used.
///
/// # Safety
/// Every byte the type map of `count` items names, from `base`, is valid for writes and not
/// reached through any other live reference (MPI's contract for a receive buffer).
pub unsafe fn unpack(map: &TypeMap, count: usize, base: *mut u8, input: &[u8]) -> usize {
    let mut used = 0;
    let src = input.as_ptr();
    walk(map, count, base as usize, input.len(), |dst, at, len, _| {
        // SAFETY: as in `pack`, with the roles swapped: `dst` is the caller's writable data.
        unsafe { std::ptr::copy_nonoverlapping(src.add(at), dst as *mut u8, len) };
        used = at + len;
    });
    used
}

/// Like `pack`, but in external32 form: every element big-endian (element sizes as native,
/// which matches external32 for the fixed-size C types on LP64 Linux).
///
/// # Safety
/// As `pack`.
pub unsafe fn pack_external(map: &TypeMap, count: usize, base: *const u8, out: &mut [u8]) -> usize {
    // SAFETY: the caller's promise is `pack`'s.
    let n = unsafe { pack(map, count, base, out) };
    swap_elements(map, &mut out[..n]);
    n
}

/// Like `unpack`, from external32 (big-endian) form.
///
/// # Safety
/// As `unpack`.
pub unsafe fn unpack_external(map: &TypeMap, count: usize, base: *mut u8, input: &[u8]) -> usize {
    let mut native = input.to_vec();
    swap_elements(map, &mut native);
    // SAFETY: the caller's promise is `unpack`'s.
    unsafe { unpack(map, count, base, &native) }
}

/// Reverses the bytes of every element in packed data of `map` (little- <-> big-endian).
/// Each element swaps in units of `Run::unit` (a complex number's parts separately).
pub fn swap_elements(map: &TypeMap, packed: &mut [u8]) {
    if cfg!(target_endian = "big") || map.size == 0 {
        return;
    }
    let mut at = 0;
    while at < packed.len() {
        for r in &map.runs {
            let end = (at + r.bytes()).min(packed.len());
            for chunk in packed[at..end].chunks_mut(r.unit.max(1)) {
                chunk.reverse();
            }
            at = end;
            if at >= packed.len() {
                return;
            }
        }
    }
}
