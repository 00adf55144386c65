//! User memory lent to the library for the life of a request: read-only for sends, exclusive for receives.
//!
//! MPI's contract is that the caller neither frees nor touches a buffer until the request that
//! uses it completes. Only the C boundary can promise that, so the constructors are `unsafe`;
//! after that, the types keep Rust's rules: a send buffer is shared and only ever read, and a
//! receive buffer has one owner, which alone may write it.

use std::ptr::NonNull;

/// A send's buffer: read-only, freely shared between the thread that posted it and the one
/// that writes it to a socket.
#[derive(Debug, Clone, Copy)]
pub struct SendBuf {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the memory is only read, and the constructor's contract keeps it valid and
// unmodified until the request completes.
unsafe impl Send for SendBuf {}
// SAFETY: as above: concurrent reads of memory nobody writes are sound.
unsafe impl Sync for SendBuf {}

impl SendBuf {
    /// # Safety
    /// `ptr` must be valid for reads of `len` bytes, and nothing may write them, until the
    /// request using this buffer completes (MPI's buffer rules).
    pub unsafe fn new(ptr: *const u8, len: usize) -> SendBuf {
        match NonNull::new(ptr.cast_mut()) {
            Some(ptr) => SendBuf { ptr, len },
            None => SendBuf::empty(),
        }
    }

    /// A send buffer over a slice that outlives its use (internal traffic, tests).
    pub fn from_slice(data: &'static [u8]) -> SendBuf {
        // SAFETY: a 'static shared slice is valid and immutable forever.
        unsafe { SendBuf::new(data.as_ptr(), data.len()) }
    }

    pub fn empty() -> SendBuf {
        SendBuf { ptr: NonNull::dangling(), len: 0 }
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
        // SAFETY: the constructor's contract makes [ptr, ptr+len) valid for reads; offset <= len.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(offset), self.len - offset) }
    }
}

/// A receive's buffer: exclusively owned by whoever holds it (the posted receive, then the link
/// that fills it), so writing through it needs `&mut`.
#[derive(Debug)]
pub struct RecvBuf {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the buffer is owned for the request's lifetime (see `new`) and moves between threads
// with its owner; it is not `Sync`, so only its holder touches it.
unsafe impl Send for RecvBuf {}

impl RecvBuf {
    /// # Safety
    /// `ptr` must be valid for reads and writes of `len` bytes until the request using this
    /// buffer completes, and nothing else may access them meanwhile (MPI's buffer rules); no
    /// other `RecvBuf` or `SendBuf` may cover them.
    pub unsafe fn new(ptr: *mut u8, len: usize) -> RecvBuf {
        match NonNull::new(ptr) {
            Some(ptr) => RecvBuf { ptr, len },
            None => RecvBuf { ptr: NonNull::dangling(), len: 0 },
        }
    }

    /// A receive buffer over a slice borrowed for the rest of the program (tests).
    pub fn from_slice(data: &'static mut [u8]) -> RecvBuf {
        // SAFETY: the exclusive 'static borrow is moved into the buffer, so nothing else can
        // reach the memory.
        unsafe { RecvBuf::new(data.as_mut_ptr(), data.len()) }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the constructor's contract makes [ptr, ptr+len) valid and ours alone.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The bytes, for writing a received payload.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`; `&mut self` makes this the only live view.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
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
    Lent(SendBuf),
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

    pub fn empty() -> Payload {
        Payload::Inline { len: 0, data: [0; INLINE_LEN] }
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
        let data: &'static mut [u8] = Box::leak(Box::new(*b"hello"));
        let mut buf = RecvBuf::from_slice(data);
        assert_eq!(&buf.bytes()[1..], b"ello");
        buf.bytes_mut()[4] = b'!';
        assert_eq!(buf.bytes(), b"hell!");
        let send = SendBuf::from_slice(b"hello");
        assert_eq!(send.bytes(1), b"ello");
        assert!(send.bytes(99).is_empty());
        // SAFETY: a null pointer makes an empty view and is never dereferenced.
        assert!(unsafe { RecvBuf::new(std::ptr::null_mut(), 8) }.is_empty());
        // SAFETY: as above.
        assert!(unsafe { SendBuf::new(std::ptr::null(), 8) }.is_empty());
        let small = Payload::copy_of(b"tiny");
        assert!(matches!(small, Payload::Inline { .. }));
        assert_eq!((small.len(), small.bytes(1)), (4, &b"iny"[..]));
        let big = Payload::copy_of(&[7; INLINE_LEN + 1]);
        assert_eq!(big.bytes(INLINE_LEN), &[7][..]);
    }
}
