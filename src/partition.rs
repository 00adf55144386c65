//! How the two ends of a partitioned transfer (MPI_Psend_init/MPI_Precv_init) map each other's partitions onto the same bytes.
//!
//! The ends may cut the same number of bytes into different numbers of partitions. The sender
//! sends each of its partitions as one message; a receive partition has arrived once every send
//! partition overlapping its bytes has. The ends tell each other their cut (`Cut::encode`) when
//! the requests are made, so each can check the totals agree before any data counts as arrived.

use crate::error::{err, Result};
use std::ops::Range;

/// One end's cut: `partitions` partitions of `part_bytes` bytes each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    pub partitions: usize,
    pub part_bytes: usize,
}

/// The length of an encoded cut.
pub const ENCODED_LEN: usize = 16;

impl Cut {
    pub fn total(&self) -> usize {
        self.partitions * self.part_bytes
    }

    /// Bytes of partition `p` within the whole buffer.
    pub fn bytes_of(&self, p: usize) -> Range<usize> {
        p * self.part_bytes..(p + 1) * self.part_bytes
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut v = (self.partitions as u64).to_le_bytes().to_vec();
        v.extend_from_slice(&(self.part_bytes as u64).to_le_bytes());
        v
    }

    pub fn decode(bytes: &[u8]) -> Result<Cut> {
        let word = |i: usize| -> Result<usize> {
            let b: [u8; 8] = bytes.get(i * 8..i * 8 + 8).and_then(|s| s.try_into().ok()).ok_or_else(|| {
                err!(Intern, "a partitioned peer's description is {} bytes, not {ENCODED_LEN}", bytes.len())
            })?;
            usize::try_from(u64::from_le_bytes(b))
                .map_err(|_| err!(Intern, "a partitioned peer's description does not fit this machine"))
        };
        Ok(Cut { partitions: word(0)?, part_bytes: word(1)? })
    }

    /// Checks the peer's cut covers as many bytes as this one; `what` names this end's call.
    /// A sender with more bytes than the receiver is a truncation; fewer, a count error.
    pub fn agrees_with(&self, peer: &Cut, self_sends: bool, what: &str) -> Result<()> {
        if self.total() == peer.total() {
            return Ok(());
        }
        let describe = |c: &Cut| format!("{} bytes ({} partitions of {})", c.total(), c.partitions, c.part_bytes);
        let message = format!(
            "{what}: this end has {} but the other end has {}; both ends must cover the same number of bytes",
            describe(self),
            describe(peer)
        );
        let sender_has_more = (self.total() > peer.total()) == self_sends;
        Err(if sender_has_more { err!(Truncate, "{message}") } else { err!(Count, "{message}") })
    }
}

/// The send partitions whose bytes receive partition `q` needs. With no bytes at all, every
/// receive partition waits for every send partition, so none shows as arrived before the
/// sender has marked anything ready.
pub fn senders_of(send: &Cut, recv: &Cut, q: usize) -> Range<usize> {
    if send.total() == 0 || recv.part_bytes == 0 {
        return 0..send.partitions;
    }
    let bytes = recv.bytes_of(q);
    let first = bytes.start / send.part_bytes;
    let end = bytes.end.div_ceil(send.part_bytes);
    first.min(send.partitions)..end.min(send.partitions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(partitions: usize, part_bytes: usize) -> Cut {
        Cut { partitions, part_bytes }
    }

    #[test]
    fn same_cut_maps_one_to_one() {
        let c = cut(4, 8);
        for q in 0..4 {
            assert_eq!(senders_of(&c, &c, q), q..q + 1);
        }
    }

    #[test]
    fn different_cuts_cover_the_overlapping_partitions() {
        // Sender: 3 x 4 bytes; receiver: 2 x 6 bytes. Receive 0 = bytes 0..6 = send 0 and 1.
        let (s, r) = (cut(3, 4), cut(2, 6));
        assert_eq!(senders_of(&s, &r, 0), 0..2);
        assert_eq!(senders_of(&s, &r, 1), 1..3);
        // Sender: 1 x 12; receiver: 4 x 3: each needs the one send partition.
        assert_eq!(senders_of(&cut(1, 12), &cut(4, 3), 3), 0..1);
        // Sender 6 x 2; receiver 2 x 6.
        assert_eq!(senders_of(&cut(6, 2), &cut(2, 6), 1), 3..6);
    }

    #[test]
    fn empty_transfers_wait_for_every_send_partition() {
        assert_eq!(senders_of(&cut(3, 0), &cut(2, 0), 1), 0..3);
    }

    #[test]
    fn cuts_round_trip_and_mismatches_are_errors() {
        let c = cut(7, 1 << 33);
        assert_eq!(Cut::decode(&c.encode()).unwrap(), c);
        assert!(Cut::decode(&[0; 3]).is_err());
        assert!(cut(2, 6).agrees_with(&cut(3, 4), true, "x").is_ok());
        let e = cut(2, 6).agrees_with(&cut(3, 5), false, "MPI_Precv_init").unwrap_err();
        assert!(e.message.contains("15 bytes"), "{}", e.message);
        assert_eq!(e.class, crate::error::ErrorClass::Truncate, "the sender has more");
        let e = cut(2, 6).agrees_with(&cut(3, 5), true, "MPI_Psend_init").unwrap_err();
        assert_eq!(e.class, crate::error::ErrorClass::Count, "the sender has fewer");
    }
}
