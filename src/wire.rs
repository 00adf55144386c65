//! The frame format on every link: a fixed 64-byte little-endian header, then `len` payload bytes.
//!
//! Every frame carries a cumulative acknowledgement (`ack`: frames received from the peer so
//! far), so the sender can release what it keeps for replay. In plaintext, a CRC32C of the
//! header and one of the payload catch what TCP's 16-bit checksum lets through; TLS records
//! are authenticated already, so there both fields are zero.

use crate::error::{err, Fault};

pub const HEADER_LEN: usize = 64;
const MAGIC: u8 = 0xA7;
/// A link-down notice's text is at most this long.
pub const MAX_NOTICE: u64 = 4096;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A message for the matching engine.
    Data = 1,
    /// The receiver matched a synchronous send; `aux` holds that frame's sequence number.
    SyncAck = 2,
    /// The sender has finalized: nothing follows but acknowledgements and end of stream.
    Goodbye = 3,
    /// The sender called `MPI_Abort`; `aux` holds the exit code.
    Abort = 4,
    /// An acknowledgement alone, also the heartbeat of an idle link. It has no sequence
    /// number and is never replayed.
    Ack = 5,
    /// The sender lost its link to rank `aux` for good; the payload says why (UTF-8).
    LinkDown = 6,
}

impl FrameKind {
    /// Whether frames of this kind are numbered, acknowledged and replayed after a reconnect.
    pub fn is_sequenced(self) -> bool {
        self != FrameKind::Ack
    }
}

/// The receiver matched this synchronous send (it must send a `SyncAck`).
pub const FLAG_SYNC: u8 = 1;
/// The sender waits for this frame's acknowledgement to complete a send: acknowledge at once.
pub const FLAG_ACK_NOW: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub kind: FrameKind,
    pub flags: u8,
    /// World rank of the sender.
    pub src: i32,
    pub tag: i32,
    pub context: u64,
    pub len: u64,
    /// Per-link sequence number of sequenced frames, starting at 0.
    pub seq: u64,
    pub aux: u64,
    /// Sequenced frames the sender has received from us so far (set when written).
    pub ack: u64,
    /// CRC32C of the payload (plaintext links; zero under TLS).
    pub crc: u32,
}

impl FrameHeader {
    pub fn control(kind: FrameKind, src: i32, aux: u64) -> FrameHeader {
        FrameHeader { kind, flags: 0, src, tag: 0, context: 0, len: 0, seq: 0, aux, ack: 0, crc: 0 }
    }

    /// A data frame's header; the link numbers it (`seq`) when it is queued.
    pub fn data(src: i32, tag: i32, context: u64, len: u64, flags: u8) -> FrameHeader {
        FrameHeader { kind: FrameKind::Data, flags, src, tag, context, len, seq: 0, aux: 0, ack: 0, crc: 0 }
    }

    /// The header's bytes; with `checksums`, its last four bytes are a CRC32C of the rest.
    pub fn encode(&self, checksums: bool) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0] = MAGIC;
        b[1] = self.kind as u8;
        b[2] = self.flags;
        b[4..8].copy_from_slice(&self.src.to_le_bytes());
        b[8..12].copy_from_slice(&self.tag.to_le_bytes());
        b[12..16].copy_from_slice(&self.crc.to_le_bytes());
        b[16..24].copy_from_slice(&self.context.to_le_bytes());
        b[24..32].copy_from_slice(&self.len.to_le_bytes());
        b[32..40].copy_from_slice(&self.seq.to_le_bytes());
        b[40..48].copy_from_slice(&self.aux.to_le_bytes());
        b[48..56].copy_from_slice(&self.ack.to_le_bytes());
        if checksums {
            let sum = crc32c::crc32c(&b[..HEADER_LEN - 4]);
            b[HEADER_LEN - 4..].copy_from_slice(&sum.to_le_bytes());
        }
        b
    }

    /// Decodes and checks a header read from `peer`'s link. Every field a hostile or broken
    /// peer could get wrong is checked here, so the rest of the core can trust the header. A
    /// failed checksum is a `Break` (the network garbled it; a reconnect repairs it); any
    /// other defect is `Fatal`.
    pub fn decode(
        b: &[u8; HEADER_LEN],
        peer: usize,
        expected_seq: u64,
        max_frame: u64,
        checksums: bool,
    ) -> Result<FrameHeader, Fault> {
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        if checksums && crc32c::crc32c(&b[..HEADER_LEN - 4]) != u32_at(HEADER_LEN - 4) {
            return Err(Fault::Break(format!(
                "a frame header from rank {peer} failed its CRC32C checksum: the network corrupted it"
            )));
        }
        let malformed = |what: String| Fault::Fatal(err!(Other, "malformed frame from rank {peer}: {what}"));
        if b[0] != MAGIC {
            return Err(malformed(format!(
                "bad magic byte {:#04x}; the link is corrupt or the peer is not partyline",
                b[0]
            )));
        }
        let kind = match b[1] {
            1 => FrameKind::Data,
            2 => FrameKind::SyncAck,
            3 => FrameKind::Goodbye,
            4 => FrameKind::Abort,
            5 => FrameKind::Ack,
            6 => FrameKind::LinkDown,
            k => return Err(malformed(format!("unknown frame kind {k}"))),
        };
        let flags = b[2];
        let reserved = b[3] != 0 || b[56..60] != [0; 4] || (!checksums && b[60..64] != [0; 4]);
        if flags & !(FLAG_SYNC | FLAG_ACK_NOW) != 0 || reserved {
            return Err(malformed("reserved bits set".into()));
        }
        let h = FrameHeader {
            kind,
            flags,
            src: u32_at(4) as i32,
            tag: u32_at(8) as i32,
            crc: u32_at(12),
            context: u64_at(16),
            len: u64_at(24),
            seq: u64_at(32),
            aux: u64_at(40),
            ack: u64_at(48),
        };
        if h.src != peer as i32 {
            return Err(malformed(format!("it claims to come from rank {}", h.src)));
        }
        let seq = if kind.is_sequenced() { expected_seq } else { 0 };
        if h.seq != seq {
            return Err(malformed(format!(
                "sequence number {} where {seq} was expected (lost or replayed data)",
                h.seq
            )));
        }
        if h.len > max_frame {
            return Err(malformed(format!(
                "length {} exceeds the maximum frame size {max_frame} (PARTYLINE_MAX_FRAME)",
                h.len
            )));
        }
        if kind == FrameKind::Data && h.tag < 0 {
            return Err(malformed(format!("negative tag {}", h.tag)));
        }
        let payload_allowed = match kind {
            FrameKind::Data => true,
            FrameKind::LinkDown => h.len <= MAX_NOTICE,
            _ => false,
        };
        if !payload_allowed && h.len != 0 {
            return Err(malformed("control frame with a payload".into()));
        }
        if !checksums && h.crc != 0 {
            return Err(malformed("a payload checksum on a link that agreed to carry none".into()));
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests;
