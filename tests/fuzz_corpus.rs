//! The fuzz targets' nasty cases as regular tests with the verdict each must get, and a replay
//! of the committed corpus (fuzz/corpus), through the same checks `cargo fuzz` runs.

#[path = "../fuzz/checks.rs"]
mod checks;

use partyline::handshake::{Greeting, Hello, Join, PROTOCOL_VERSION};
use partyline::rendezvous::{Message, Registration, RENDEZVOUS_VERSION};
use partyline::stripe::{chunk_header, CHUNK};
use partyline::wire::{FrameHeader, FrameKind};
use std::path::{Path, PathBuf};

/// What a case must get: accepted (`None`), or refused with a reason containing the text.
type Case = (&'static str, Vec<u8>, Option<&'static str>);

fn data(seq: u64, tag: i32, len: u64) -> FrameHeader {
    FrameHeader {
        kind: FrameKind::Data,
        flags: 0,
        src: checks::PEER as i32,
        tag,
        context: 0x10,
        len,
        seq,
        aux: 0,
        ack: 0,
        crc: 0,
    }
}

fn with_payload(h: FrameHeader) -> Vec<u8> {
    let mut b = h.encode(false).to_vec();
    b.resize(b.len() + h.len as usize, 0x5a);
    b
}

fn patched(h: FrameHeader, at: usize, byte: u8) -> Vec<u8> {
    let mut b = h.encode(false).to_vec();
    b[at] = byte;
    b
}

/// A TLS ClientHello's first bytes: what a TLS party sends to a plaintext one.
const CLIENT_HELLO: &[u8] = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03abcdefghijklmnopqrstuvwxyz012345\x20ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\x00\x3e\x13\x02\x13\x03\x13\x01";
const HTTP: &[u8] = b"GET / HTTP/1.1\r\nHost: 10.0.0.1:7000\r\nUser-Agent: scanner/1.0\r\nAccept: */*\r\n\r\n";

fn frame_cases() -> Vec<Case> {
    let goodbye = FrameHeader { seq: 1, ..FrameHeader::control(FrameKind::Goodbye, checks::PEER as i32, 0) };
    let mut two = with_payload(data(0, 5, 8));
    two.extend_from_slice(&goodbye.encode(false));
    let mut replayed = with_payload(data(0, 5, 8));
    replayed.extend_from_slice(&with_payload(data(0, 5, 8)));
    let mut forged = data(0, 1, 8);
    forged.src = 0;
    let unknown_comm = FrameHeader { context: 0xdead_beef_0000_0010, ..data(0, 3, 8) };
    let mut short_payload = data(0, 1, 100).encode(false).to_vec();
    short_payload.extend_from_slice(&[0; 10]);
    vec![
        ("empty", vec![], None),
        ("one-frame", with_payload(data(0, 5, 8)), None),
        ("frame-then-goodbye", two, None),
        // Held as unexpected by the matching engine, never delivered to another communicator:
        // tests/hostile_peer.rs checks that end to end.
        ("unknown-communicator", with_payload(unknown_comm), None),
        ("truncated-header", data(0, 1, 8).encode(false)[..20].to_vec(), Some("truncated header: 20 of 64")),
        ("truncated-payload", short_payload, Some("truncated payload: 10 of 100")),
        ("length-2pow63", data(0, 1, 1 << 63).encode(false).to_vec(), Some("exceeds the maximum frame size")),
        ("length-over-limit", data(0, 1, checks::MAX_FRAME + 1).encode(false).to_vec(), Some("exceeds the maximum")),
        ("negative-tag", data(0, -7, 8).encode(false).to_vec(), Some("negative tag -7")),
        ("sequence-gap", data(5, 1, 8).encode(false).to_vec(), Some("sequence number 5 where 0 was expected")),
        ("replayed-frame", replayed, Some("sequence number 0 where 1 was expected")),
        ("forged-source", forged.encode(false).to_vec(), Some("claims to come from rank 0")),
        ("bad-magic", patched(data(0, 1, 0), 0, 0x42), Some("bad magic byte 0x42")),
        ("unknown-kind", patched(data(0, 1, 0), 1, 9), Some("unknown frame kind 9")),
        ("reserved-flags", patched(data(0, 1, 0), 2, 0x80), Some("reserved bits set")),
        ("reserved-padding", patched(data(0, 1, 0), 57, 1), Some("reserved bits set")),
        (
            "goodbye-with-payload",
            FrameHeader { len: 8, ..FrameHeader::control(FrameKind::Goodbye, 1, 0) }.encode(false).to_vec(),
            Some("control frame with a payload"),
        ),
        ("http-request", HTTP.to_vec(), Some("bad magic byte 0x47")),
        ("tls-client-hello", CLIENT_HELLO.to_vec(), Some("bad magic byte 0x16")),
    ]
}

fn hello(rank: u32) -> Hello {
    Hello { version: PROTOCOL_VERSION, job_id: "job-a".into(), rank, size: 3, checks: true }
}

fn greeting_cases() -> Vec<Case> {
    let good = Greeting::Hello(hello(1)).encode();
    let patch = |at: usize, byte: u8| {
        let mut b = good.clone();
        b[at] = byte;
        b
    };
    let mut long = good[..20].to_vec();
    long.extend_from_slice(&2000u16.to_le_bytes());
    long.resize(long.len() + 2000, b'a');
    let mut not_utf8 = good[..20].to_vec();
    not_utf8.extend_from_slice(&[2, 0, 0xff, 0xfe]);
    vec![
        ("hello", good.clone(), None),
        ("accept", Greeting::Accept(hello(0)).encode(), None),
        ("reject", Greeting::Reject("job id differs".into()).encode(), None),
        ("join", Greeting::Join(Join { hello: hello(2), target: 0, epoch: 1, index: 1, count: 4 }).encode(), None),
        (
            "join-past-its-count",
            {
                // The last 8 bytes are the count and the index (little-endian u32 each): 4 of 4.
                let mut b = Greeting::Join(Join { hello: hello(2), target: 0, epoch: 1, index: 1, count: 4 }).encode();
                let at = b.len() - 8;
                b[at..].copy_from_slice(&[4, 0, 0, 0, 4, 0, 0, 0]);
                b
            },
            Some("malformed stream greeting"),
        ),
        ("truncated", good[..10].to_vec(), Some("failed while reading its greeting")),
        ("truncated-text", good[..good.len() - 2].to_vec(), Some("failed while reading its greeting")),
        ("text-too-long", long, Some("malformed handshake")),
        ("unknown-flag", patch(11, 2), Some("malformed handshake")),
        ("not-utf8", not_utf8, Some("not UTF-8")),
        ("unknown-kind", patch(10, 9), Some("unknown handshake message kind 9")),
        ("http-request", HTTP.to_vec(), Some("not a partyline peer")),
        ("tls-client-hello", CLIENT_HELLO.to_vec(), Some("not a partyline peer")),
    ]
}

fn rendezvous_cases() -> Vec<Case> {
    let reg = Registration {
        version: RENDEZVOUS_VERSION,
        job_id: "auction-42".into(),
        rank: 2,
        size: 3,
        advertise: Some("10.0.0.3:7000".into()),
        port: 7000,
    };
    let good = Message::Register(reg).encode();
    let header = |kind: u8, len: u32| {
        let mut b = good[..10].to_vec();
        b.extend_from_slice(&[kind, 0]);
        b.extend_from_slice(&len.to_le_bytes());
        b
    };
    let mut big_table = header(3, 4);
    big_table.extend_from_slice(&1000u32.to_le_bytes());
    let mut long_text = header(4, 5002);
    long_text.extend_from_slice(&5000u16.to_le_bytes());
    long_text.resize(long_text.len() + 5000, b'x');
    let mut trailing = Message::Status(7).encode();
    trailing[12] += 1;
    trailing.push(0);
    let mut not_utf8 = header(5, 4);
    not_utf8.extend_from_slice(&[2, 0, 0xc3, 0x28]);
    vec![
        ("register", good.clone(), None),
        ("status", Message::Status(0b101).encode(), None),
        ("table", Message::Table(vec!["10.0.0.1:7000".into(), "[::1]:7001".into()]).encode(), None),
        ("refuse", Message::Refuse("rank 2 is already registered".into()).encode(), None),
        ("bad-magic", HTTP.to_vec(), Some("bad magic")),
        ("huge-body", header(1, 1 << 30), Some("malformed rendezvous header (kind 1, length 1073741824)")),
        ("table-of-1000-ranks", big_table, Some("a table of 1000 ranks")),
        ("truncated-body", good[..good.len() - 3].to_vec(), Some("short read")),
        ("trailing-bytes", trailing, Some("trailing bytes")),
        ("unknown-kind", header(9, 0), Some("unknown rendezvous message kind 9")),
        ("text-over-limit", long_text, Some("text of 5000 bytes")),
        ("not-utf8", not_utf8, Some("not UTF-8")),
    ]
}

fn check<T: std::fmt::Debug>(target: &str, cases: Vec<Case>, run: impl Fn(&[u8]) -> Result<T, String>) {
    for (name, bytes, want) in cases {
        match (run(&bytes), want) {
            (Ok(_), None) => {}
            (Err(why), Some(want)) => {
                assert!(why.contains(want), "{target}/{name}: refused with {why:?}, want {want:?}")
            }
            (got, want) => panic!("{target}/{name}: got {got:?}, want {}", want.unwrap_or("acceptance")),
        }
    }
}

/// Hostile bytes where a TLS link expects records: a peer without the keys, after the handshake.
/// rustls's verdicts: a record is judged once it is whole, except for a header it cannot read.
fn record_cases() -> Vec<Case> {
    let record = |kind: u8, version: [u8; 2], len: u16, body: usize| {
        let mut b = vec![kind, version[0], version[1]];
        b.extend_from_slice(&len.to_be_bytes());
        b.resize(5 + body, 0xa5);
        b
    };
    let mut huge = record(23, [3, 3], u16::MAX, 0);
    huge.resize(5 + 100, 0);
    vec![
        ("empty", vec![], None),
        ("truncated-header", vec![23, 3, 3], Some("truncated record")),
        ("truncated-body", record(23, [3, 3], 40, 0), Some("truncated record")),
        ("forged-tag", record(23, [3, 3], 40, 40), Some("cannot decrypt")),
        ("plaintext-handshake-record", record(22, [3, 3], 40, 40), Some("cannot decrypt")),
        ("plaintext-alert", vec![21, 3, 3, 0, 2, 2, 40], Some("cannot decrypt")),
        ("change-cipher-spec", record(20, [3, 3], 1, 1), Some("InvalidCcs")),
        ("unknown-record-version", record(23, [7, 7], 40, 0), Some("UnknownProtocolVersion")),
        ("length-over-limit", huge, Some("MessageTooLarge")),
        ("shorter-than-a-tag", record(23, [3, 3], 15, 15), Some("cannot decrypt")),
        ("empty-record", record(23, [3, 3], 0, 0), Some("cannot decrypt")),
        ("client-hello-start", CLIENT_HELLO.to_vec(), Some("truncated record")),
        ("http-garbage", HTTP.to_vec(), Some("InvalidContentType")),
    ]
}

/// Segments (stream, length, bytes) of a striped link's streams, as `checks::streams_of` reads them.
fn segments(parts: &[(u8, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (stream, bytes) in parts {
        for piece in bytes.chunks(255) {
            out.push(*stream);
            out.push(piece.len() as u8);
            out.extend_from_slice(piece);
        }
    }
    out
}

/// Hostile bytes on the streams of a striped link: bad headers, chunks out of their order, streams that end early.
fn chunk_cases() -> Vec<Case> {
    let chunk = |len: usize, seq: u64| -> Vec<u8> {
        let mut b = chunk_header(len, seq).to_vec();
        b.extend((0..len).map(|i| i as u8));
        b
    };
    let mut flipped = chunk(10, 0);
    flipped[2] ^= 0x40;
    let two = [chunk(300, 0), chunk(20, 2)].concat();
    vec![
        ("in-order-across-streams", segments(&[(1, &chunk(20, 1)), (0, &two)]), None),
        ("nothing", Vec::new(), None),
        ("bad-checksum", segments(&[(0, &flipped)]), Some("fails its checksum")),
        ("sent-twice", segments(&[(0, &chunk(10, 0)), (1, &chunk(10, 0))]), Some("both sent chunk 0")),
        (
            "falling-on-one-stream",
            segments(&[(0, &[chunk(5, 3), chunk(5, 2)].concat())]),
            Some("while chunk 0 was due"),
        ),
        ("empty-chunk", segments(&[(0, &chunk(0, 0))]), Some("chunk 0 of 0 bytes")),
        ("over-the-chunk-limit", segments(&[(0, &chunk_header(CHUNK + 1, 0))]), Some("bytes while chunk 0 was due")),
        ("far-ahead", segments(&[(0, &chunk(1, 1 << 40))]), Some("while chunk 0 was due")),
        ("cut-mid-chunk", segments(&[(2, &chunk(100, 0)[..50])]), Some("closed in the middle of a chunk")),
        ("cut-mid-header", segments(&[(2, &chunk(100, 0)[..7])]), Some("closed in the middle of a chunk")),
        ("gap", segments(&[(1, &chunk(10, 1))]), Some("chunk 0 of the link never arrived")),
    ]
}

#[test]
fn nasty_chunks_get_their_verdicts() {
    check("chunks", chunk_cases(), checks::chunks);
}

#[test]
fn nasty_frames_get_their_verdicts() {
    check("frames", frame_cases(), checks::frames);
}

#[test]
fn nasty_greetings_get_their_verdicts() {
    check("greeting", greeting_cases(), checks::greeting);
}

#[test]
fn nasty_rendezvous_messages_get_their_verdicts() {
    check("rendezvous", rendezvous_cases(), checks::rendezvous);
}

#[test]
fn nasty_tls_records_get_their_verdicts() {
    check("records", record_cases(), checks::records);
}

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target)
}

/// The committed seed corpus is exactly these cases; `PARTYLINE_WRITE_SEEDS=1` rewrites it.
#[test]
fn seed_corpus_matches_the_cases() {
    for (target, cases) in [
        ("frames", frame_cases()),
        ("greeting", greeting_cases()),
        ("rendezvous", rendezvous_cases()),
        ("records", record_cases()),
        ("chunks", chunk_cases()),
    ] {
        let dir = corpus(target);
        for (name, bytes, _) in cases {
            let path = dir.join(format!("seed-{name}"));
            if std::env::var_os("PARTYLINE_WRITE_SEEDS").is_some() {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &bytes).unwrap();
            }
            let committed = std::fs::read(&path).unwrap_or_default();
            assert!(
                committed == bytes,
                "{} differs from its case; run PARTYLINE_WRITE_SEEDS=1 cargo test --test fuzz_corpus",
                path.display()
            );
        }
    }
}

/// Every committed input (seeds and what fuzzing found) runs through the checks without a panic.
#[test]
fn committed_corpus_replays_cleanly() {
    type Replay = fn(&[u8]);
    let targets: [(&str, Replay); 4] = [
        ("frames", |d| drop(checks::frames(d))),
        ("greeting", |d| drop(checks::greeting(d))),
        ("rendezvous", |d| drop(checks::rendezvous(d))),
        ("records", |d| drop(checks::records(d))),
    ];
    for (target, run) in targets {
        let mut files: Vec<_> = std::fs::read_dir(corpus(target))
            .unwrap_or_else(|e| panic!("fuzz/corpus/{target} is missing: {e}"))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(files.len() >= 8, "fuzz/corpus/{target} has only {} inputs", files.len());
        for path in files {
            let bytes = std::fs::read(&path).unwrap();
            if std::panic::catch_unwind(|| run(&bytes)).is_err() {
                panic!("{} makes the {target} check panic: a decoder bug", path.display());
            }
        }
    }
}
