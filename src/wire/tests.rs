//! Frame header round trips, hostile headers, and checksums catching every flipped bit.

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
        ack: 9,
        crc: 0x1234_5678,
    }
}

fn fatal(r: Result<FrameHeader, Fault>) -> String {
    match r {
        Err(Fault::Fatal(e)) => e.message,
        other => panic!("expected a fatal fault, got {other:?}"),
    }
}

#[test]
fn round_trip_with_and_without_checksums() {
    let h = data();
    assert_eq!(FrameHeader::decode(&h.encode(true), 2, 5, 1 << 40, true).unwrap(), h);
    let plain = FrameHeader { crc: 0, ..h };
    assert_eq!(FrameHeader::decode(&plain.encode(false), 2, 5, 1 << 40, false).unwrap(), plain);
}

#[test]
fn hostile_headers_are_refused_with_reasons() {
    let h = FrameHeader { crc: 0, ..data() };
    let check = |b: [u8; HEADER_LEN], peer, seq, want: &str| {
        let msg = fatal(FrameHeader::decode(&b, peer, seq, 1 << 40, false));
        assert!(msg.contains(want), "{msg}");
    };
    let mut b = h.encode(false);
    b[0] = 0;
    check(b, 2, 5, "bad magic");
    check(h.encode(false), 1, 5, "claims to come from rank 2");
    check(h.encode(false), 2, 6, "sequence number 5");
    let mut big = h;
    big.len = 1 << 63;
    check(big.encode(false), 2, 5, "exceeds the maximum");
    let mut neg = h;
    neg.tag = -5;
    check(neg.encode(false), 2, 5, "negative tag");
    let mut b = h.encode(false);
    b[1] = 9;
    check(b, 2, 5, "unknown frame kind");
    let mut b = h.encode(false);
    b[2] = 0x80;
    check(b, 2, 5, "reserved bits");
    let mut notice = FrameHeader::control(FrameKind::LinkDown, 2, 1);
    notice.seq = 5;
    notice.len = MAX_NOTICE + 1;
    check(notice.encode(false), 2, 5, "control frame with a payload");
    let mut ack = FrameHeader::control(FrameKind::Ack, 2, 0);
    ack.seq = 5;
    check(ack.encode(false), 2, 5, "sequence number 5 where 0");
}

#[test]
fn acks_are_unsequenced() {
    let mut ack = FrameHeader::control(FrameKind::Ack, 2, 0);
    ack.ack = 40;
    assert_eq!(FrameHeader::decode(&ack.encode(true), 2, 17, 1 << 40, true).unwrap(), ack);
}

#[test]
fn every_flipped_bit_breaks_the_link_instead_of_misleading_it() {
    let bytes = data().encode(true);
    for byte in 0..HEADER_LEN {
        for bit in 0..8 {
            let mut b = bytes;
            b[byte] ^= 1 << bit;
            match FrameHeader::decode(&b, 2, 5, 1 << 40, true) {
                Err(Fault::Break(why)) => assert!(why.contains("checksum"), "{why}"),
                other => panic!("byte {byte} bit {bit}: {other:?}"),
            }
        }
    }
}
