//! User memory lent to the library for the life of a request: the core's one raw-pointer type.

use std::ptr::NonNull;

/// A region of the caller's memory. MPI's contract is that the caller neither frees nor
/// touches it until the request that uses it completes, which is what makes the accessors
/// below sound; the constructor is `unsafe` because only the C boundary can promise that.
#[derive(Debug, Clone, Copy)]
pub struct UserBuf {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the memory is owned by the request for its lifetime (see the type's contract);
// exactly one thread touches it at a time, handed over through the matching engine's lock.
unsafe impl Send for UserBuf {}
// SAFETY: as above; shared references are only used for reading send buffers.
unsafe impl Sync for UserBuf {}

impl UserBuf {
    /// # Safety
    /// `ptr` must be valid for reads and writes of `len` bytes until the request using this
    /// buffer completes, and nothing else may access it meanwhile (MPI's buffer rules).
    pub unsafe fn new(ptr: *mut u8, len: usize) -> UserBuf {
        UserBuf { ptr: NonNull::new(ptr).unwrap_or(NonNull::dangling()), len: if ptr.is_null() { 0 } else { len } }
    }

    pub fn empty() -> UserBuf {
        UserBuf { ptr: NonNull::dangling(), len: 0 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes from `offset` on.
    pub fn bytes(&self, offset: usize) -> &[u8] {
        let offset = offset.min(self.len);
        // SAFETY: the constructor's contract makes [ptr, ptr+len) valid; offset <= len.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(offset), self.len - offset) }
    }

    /// The bytes from `offset` on, for writing a received payload.
    #[allow(clippy::mut_from_ref)]
    pub fn bytes_mut(&self, offset: usize) -> &mut [u8] {
        let offset = offset.min(self.len);
        // SAFETY: as in `bytes`; exclusive access is the caller's promise for the request's
        // lifetime, and the core hands a receive buffer to one thread at a time.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(offset), self.len - offset) }
    }
}

/// Payloads up to this many bytes are copied into the frame itself, not onto the heap.
pub const INLINE_LEN: usize = 24;

/// What a send transmits: bytes we own (eager copies, control data) or the caller's buffer.
#[derive(Debug)]
pub enum Payload {
    Owned(bytes::Bytes),
    /// A tiny eager copy: saves an allocation and a free per small message.
    Inline {
        len: u8,
        data: [u8; INLINE_LEN],
    },
    Lent(UserBuf),
}

impl Payload {
    /// An owned copy of `src`, inline when it is small enough.
    pub fn copy_of(src: &[u8]) -> Payload {
        if src.len() <= INLINE_LEN {
            let mut data = [0; INLINE_LEN];
            data[..src.len()].copy_from_slice(src);
            return Payload::Inline { len: src.len() as u8, data };
        }
        Payload::Owned(bytes::Bytes::copy_from_slice(src))
    }

    pub fn len(&self) -> usize {
        match self {
            Payload::Owned(b) => b.len(),
            Payload::Inline { len, .. } => *len as usize,
            Payload::Lent(u) => u.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn bytes(&self, offset: usize) -> &[u8] {
        match self {
            Payload::Owned(b) => &b[offset.min(b.len())..],
            Payload::Inline { len, data } => &data[offset.min(*len as usize)..*len as usize],
            Payload::Lent(u) => u.bytes(offset),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_respect_offsets() {
        let mut data = *b"hello";
        // SAFETY: `data` outlives `buf` and nothing else touches it in this test.
        let buf = unsafe { UserBuf::new(data.as_mut_ptr(), data.len()) };
        assert_eq!(buf.bytes(1), b"ello");
        buf.bytes_mut(4)[0] = b'!';
        assert_eq!(buf.bytes(0), b"hell!");
        assert!(buf.bytes(99).is_empty());
        // SAFETY: a null pointer makes an empty view and is never dereferenced.
        assert!(unsafe { UserBuf::new(std::ptr::null_mut(), 8) }.is_empty());
        let small = Payload::copy_of(b"tiny");
        assert!(matches!(small, Payload::Inline { .. }));
        assert_eq!((small.len(), small.bytes(1)), (4, &b"iny"[..]));
        assert_eq!(Payload::copy_of(&[7; INLINE_LEN + 1]).bytes(INLINE_LEN), &[7]);
    }
}
