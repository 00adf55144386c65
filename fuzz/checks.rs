//! The fuzz targets' bodies: decode hostile bytes as a peer would send them and check what the
//! core relies on. Shared by `cargo fuzz` (fuzz/fuzz_targets) and the corpus replay test.

use partyline::handshake::Greeting;
use partyline::rendezvous::{Expected, Message, ReadError};
use partyline::tls::record::{RecordLayer, APPLICATION_DATA, HEADER, MAX_PLAINTEXT, MAX_RECORD};
use partyline::wire::{FrameHeader, FrameKind, HEADER_LEN};

/// The largest frame the decoder is told to accept; small, so that length checks are reached.
pub const MAX_FRAME: u64 = 1 << 20;

/// The rank the bytes claim to come from.
pub const PEER: usize = 1;

/// Reads `data` as the byte stream of a link from rank `PEER`, frame after frame, as the receive
/// path does. Returns the number of frames at a clean end, or why the stream was refused.
/// Panics (a finding) when an accepted header breaks an invariant the rest of the core trusts.
pub fn frames(data: &[u8]) -> Result<u64, String> {
    let (mut rest, mut seq) = (data, 0u64);
    while !rest.is_empty() {
        let Some(raw) = rest.first_chunk::<HEADER_LEN>() else {
            return Err(format!("truncated header: {} of {HEADER_LEN} bytes", rest.len()));
        };
        let h = FrameHeader::decode(raw, PEER, seq, MAX_FRAME).map_err(|e| e.message)?;
        assert_eq!(h.src, PEER as i32, "accepted a forged source");
        assert_eq!(h.seq, seq, "accepted a sequence gap");
        assert!(h.len <= MAX_FRAME, "accepted a frame over the limit");
        assert!(h.kind != FrameKind::Data || h.tag >= 0, "accepted a negative tag");
        assert!(h.kind == FrameKind::Data || h.len == 0, "accepted a control frame with a payload");
        assert_eq!(&h.encode(), raw, "an accepted header re-encodes to other bytes");
        rest = &rest[HEADER_LEN..];
        let len = h.len as usize;
        if rest.len() < len {
            return Err(format!("truncated payload: {} of {len} bytes", rest.len()));
        }
        rest = &rest[len..];
        seq += 1;
    }
    Ok(seq)
}

/// Reads `data` as a peer's handshake greeting. What is accepted must survive a round trip.
pub fn greeting(data: &[u8]) -> Result<Greeting, String> {
    let g = Greeting::read_from(&mut &data[..], "the fuzzer").map_err(|e| e.message)?;
    let again = Greeting::read_from(&mut &g.encode()[..], "the fuzzer").expect("a greeting we accepted re-reads");
    assert_eq!(again, g, "a greeting changed in a round trip");
    if let Greeting::Hello(theirs) | Greeting::Accept(theirs) = &g {
        let mut ours = theirs.clone();
        ours.size = ours.size.max(1);
        // Whatever the peer claims, the verdict is a reason or a match, and a match is in range.
        if ours.mismatch(theirs).is_none() {
            assert!(theirs.rank < theirs.size, "admitted rank {} of {}", theirs.rank, theirs.size);
        }
    }
    Ok(g)
}

/// Reads `data` as a message to or from a rendezvous coordinator. What is accepted must survive
/// a round trip, and a registration the coordinator admits must name a rank in range.
pub fn rendezvous(data: &[u8]) -> Result<Message, String> {
    let m = Message::read_from(&mut &data[..]).map_err(|e| match e {
        ReadError::Io(e) => format!("short read: {e}"),
        ReadError::Malformed(why) => why,
    })?;
    let again = Message::read_from(&mut &m.encode()[..]).map_err(|e| e.to_string());
    assert_eq!(again.as_ref().ok(), Some(&m), "a message changed in a round trip: {again:?}");
    if let Message::Register(r) = &m {
        let expected = Expected { job_id: r.job_id.clone(), size: (r.size as usize).min(64) };
        for registered in [0, u64::MAX >> 1, 1 << 5] {
            if expected.admit(r, registered).is_ok() {
                assert!((r.rank as usize) < expected.size && registered & (1 << r.rank) == 0);
            }
        }
    }
    Ok(m)
}

/// Reads `data` as ciphertext on a TLS link, record after record, as `TlsTcp` does, from a
/// sender without the keys: every record must be refused (a forgery would be a finding), and
/// none may panic. Then `data` as plaintext must survive sealing and opening. Returns the
/// number of records of the round trip, or why the hostile stream was refused.
pub fn records(data: &[u8]) -> Result<usize, String> {
    let mut layer = RecordLayer::loopback([0x42; 32]);
    let mut trip = Vec::new();
    for piece in data.chunks(MAX_PLAINTEXT) {
        let start = trip.len();
        trip.extend_from_slice(&[0; HEADER]);
        trip.extend_from_slice(piece);
        layer.seal(&mut trip, start, APPLICATION_DATA).expect("sealing cannot fail");
    }
    let (mut at, mut plain, mut count) = (0, Vec::new(), 0);
    while let Some(len) = RecordLayer::complete(&trip[at..]).expect("our own record header is valid") {
        let (kind, range) = layer.open(&mut trip[at..at + len]).expect("our own record opens");
        assert_eq!(kind, APPLICATION_DATA, "a sealed record changed its content type");
        plain.extend_from_slice(&trip[at..at + len][range]);
        (at, count) = (at + len, count + 1);
    }
    assert!(at == trip.len() && plain == data, "a round trip through the record layer changed the bytes");

    let mut wire = data.to_vec();
    match RecordLayer::complete(&wire) {
        Ok(None) if wire.is_empty() => Ok(count),
        Ok(None) => Err(format!("truncated record: {} bytes", wire.len())),
        Err(e) => Err(e.to_string()),
        Ok(Some(len)) => {
            assert!((HEADER + 17..=MAX_RECORD).contains(&len), "accepted a record length of {len}");
            match layer.open(&mut wire[..len]) {
                Ok(_) => panic!("a record nobody sealed with our key opened"),
                Err(e) => Err(e.to_string()),
            }
        }
    }
}
