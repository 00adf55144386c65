//! The caller's memory as the C boundary first sees it: a raw span that becomes a send or a receive buffer where MPI's rules say which it is.

use crate::buffer::{RecvBuf, SendBuf};

/// `len` bytes at `ptr` in the caller's memory. Copying a `Region` copies only the address;
/// every view of the bytes is `unsafe`, since only the call using it knows how MPI lets it
/// touch them.
#[derive(Debug, Clone, Copy)]
pub struct Region {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: a region is an address and a length; the unsafe views below carry the rules for
// touching the memory, wherever the region travels (persistent requests live in a global table).
unsafe impl Send for Region {}

impl Region {
    /// A span the caller handed us; a null `ptr` makes an empty region.
    pub fn new(ptr: *mut u8, len: usize) -> Region {
        Region { ptr, len: if ptr.is_null() { 0 } else { len } }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The `len` bytes from `offset` on, which the caller has checked lie inside this region.
    pub fn part(&self, offset: usize, len: usize) -> Region {
        debug_assert!(offset + len <= self.len || len == 0);
        Region { ptr: self.ptr.wrapping_add(offset), len }
    }

    /// # Safety
    /// MPI's rules for a send buffer: valid for reads, and not written, until the send completes.
    pub unsafe fn send(self) -> SendBuf {
        // SAFETY: the caller's promise above is `SendBuf::new`'s contract.
        unsafe { SendBuf::new(self.ptr, self.len) }
    }

    /// # Safety
    /// MPI's rules for a receive buffer: valid for writes, and touched by nothing else (no other
    /// view of this region), until the receive completes.
    pub unsafe fn recv(self) -> RecvBuf {
        // SAFETY: the caller's promise above is `RecvBuf::new`'s contract.
        unsafe { RecvBuf::new(self.ptr, self.len) }
    }

    /// # Safety
    /// The bytes are valid for reads and not written for `'a`.
    pub unsafe fn bytes<'a>(self) -> &'a [u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: non-null, and valid for `'a` by the caller's promise.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// # Safety
    /// The bytes are valid for writes and reached through no other view for `'a`.
    pub unsafe fn bytes_mut<'a>(self) -> &'a mut [u8] {
        if self.len == 0 {
            return &mut [];
        }
        // SAFETY: non-null, and valid and exclusive for `'a` by the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}
