//! The frame format on every link: a fixed 48-byte little-endian header, then `len` payload bytes.

use crate::error::{err, Result};

pub const HEADER_LEN: usize = 48;
const MAGIC: u8 = 0xA7;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A message for the matching engine.
    Data = 1,
    /// The receiver matched a synchronous send; `aux` holds that frame's sequence number.
    SyncAck = 2,
    /// The sender has finalized: nothing follows but end of stream.
    Goodbye = 3,
    /// The sender called `MPI_Abort`; `aux` holds the exit code.
    Abort = 4,
}

/// Frame flags.
pub const FLAG_SYNC: u8 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub kind: FrameKind,
    pub flags: u8,
    /// World rank of the sender.
    pub src: i32,
    pub tag: i32,
    pub context: u64,
    pub len: u64,
    /// Per-link sequence number, starting at 0; a gap means a broken link.
    pub seq: u64,
    pub aux: u64,
}

impl FrameHeader {
    pub fn control(kind: FrameKind, src: i32, aux: u64) -> FrameHeader {
        FrameHeader { kind, flags: 0, src, tag: 0, context: 0, len: 0, seq: 0, aux }
    }

    /// A data frame's header; the link numbers it (`seq`) when it is queued.
    pub fn data(src: i32, tag: i32, context: u64, len: u64, flags: u8) -> FrameHeader {
        FrameHeader { kind: FrameKind::Data, flags, src, tag, context, len, seq: 0, aux: 0 }
    }

    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0] = MAGIC;
        b[1] = self.kind as u8;
        b[2] = self.flags;
        b[4..8].copy_from_slice(&self.src.to_le_bytes());
        b[8..12].copy_from_slice(&self.tag.to_le_bytes());
        b[16..24].copy_from_slice(&self.context.to_le_bytes());
        b[24..32].copy_from_slice(&self.len.to_le_bytes());
        b[32..40].copy_from_slice(&self.seq.to_le_bytes());
        b[40..48].copy_from_slice(&self.aux.to_le_bytes());
        b
    }

    /// Decodes and checks a header read from `peer`'s link. Every field a hostile or broken
    /// peer could get wrong is checked here, so the rest of the core can trust the header.
    pub fn decode(b: &[u8; HEADER_LEN], peer: usize, expected_seq: u64, max_frame: u64) -> Result<FrameHeader> {
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let i32_at = |i: usize| i32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        if b[0] != MAGIC {
            return Err(err!(Other, "malformed frame from rank {peer}: bad magic byte {:#04x}; the link is corrupt or the peer is not partyline", b[0]));
        }
        let kind = match b[1] {
            1 => FrameKind::Data,
            2 => FrameKind::SyncAck,
            3 => FrameKind::Goodbye,
            4 => FrameKind::Abort,
            k => return Err(err!(Other, "malformed frame from rank {peer}: unknown frame kind {k}")),
        };
        let flags = b[2];
        if flags & !FLAG_SYNC != 0 || b[3] != 0 || b[12..16] != [0; 4] {
            return Err(err!(Other, "malformed frame from rank {peer}: reserved bits set"));
        }
        let h = FrameHeader {
            kind,
            flags,
            src: i32_at(4),
            tag: i32_at(8),
            context: u64_at(16),
            len: u64_at(24),
            seq: u64_at(32),
            aux: u64_at(40),
        };
        if h.src != peer as i32 {
            return Err(err!(Other, "malformed frame from rank {peer}: it claims to come from rank {}", h.src));
        }
        if h.seq != expected_seq {
            return Err(err!(Other, "malformed frame from rank {peer}: sequence number {} where {expected_seq} was expected (lost or replayed data)", h.seq));
        }
        if h.len > max_frame {
            return Err(err!(Other, "malformed frame from rank {peer}: length {} exceeds the maximum frame size {max_frame} (PARTYLINE_MAX_FRAME)", h.len));
        }
        if kind == FrameKind::Data && h.tag < 0 {
            return Err(err!(Other, "malformed frame from rank {peer}: negative tag {}", h.tag));
        }
        if kind != FrameKind::Data && h.len != 0 {
            return Err(err!(Other, "malformed frame from rank {peer}: control frame with a payload"));
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> FrameHeader {
        FrameHeader {
            kind: FrameKind::Data,
            flags: FLAG_SYNC,
            src: 2,
            tag: 77,
            context: 0xdead_beef_0000_0010,
            len: 1 << 33,
            seq: 5,
            aux: 0,
        }
    }

    #[test]
    fn round_trip() {
        let h = data();
        assert_eq!(FrameHeader::decode(&h.encode(), 2, 5, 1 << 40).unwrap(), h);
    }

    #[test]
    fn hostile_headers_are_refused_with_reasons() {
        let h = data();
        let check = |b: [u8; HEADER_LEN], peer, seq, want: &str| {
            let e = FrameHeader::decode(&b, peer, seq, 1 << 40).unwrap_err();
            assert!(e.message.contains(want), "{e}");
        };
        let mut b = h.encode();
        b[0] = 0;
        check(b, 2, 5, "bad magic");
        check(h.encode(), 1, 5, "claims to come from rank 2");
        check(h.encode(), 2, 6, "sequence number 5");
        let mut big = h;
        big.len = 1 << 63;
        check(big.encode(), 2, 5, "exceeds the maximum");
        let mut neg = h;
        neg.tag = -5;
        check(neg.encode(), 2, 5, "negative tag");
        let mut b = h.encode();
        b[1] = 9;
        check(b, 2, 5, "unknown frame kind");
        let mut b = h.encode();
        b[2] = 0x80;
        check(b, 2, 5, "reserved bits");
    }
}
