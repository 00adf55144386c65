//! Frame header encode and decode, including the validation (error) paths.

use criterion::{criterion_group, criterion_main, Criterion};
use partyline::wire::{FrameHeader, FrameKind, FLAG_SYNC, HEADER_LEN};
use std::hint::black_box;
use std::time::Duration;

const MAX_FRAME: u64 = 1 << 40;

fn header() -> FrameHeader {
    FrameHeader {
        kind: FrameKind::Data,
        flags: FLAG_SYNC,
        src: 2,
        tag: 77,
        context: 0x10,
        len: 4096,
        seq: 5,
        aux: 0,
        ack: 3,
        crc: 0,
    }
}

fn wire(c: &mut Criterion) {
    let mut g = c.benchmark_group("wire");
    g.measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500)).sample_size(50);

    let h = header();
    g.bench_function("encode", |b| b.iter(|| black_box(black_box(&h).encode(false))));
    // Plaintext links add a CRC32C of the header (SSE4.2 crc32 instructions).
    g.bench_function("encode_checksummed", |b| b.iter(|| black_box(black_box(&h).encode(true))));
    let summed = h.encode(true);
    g.bench_function("decode_checksummed", |b| {
        b.iter(|| FrameHeader::decode(black_box(&summed), black_box(2), black_box(5), MAX_FRAME, true).expect("valid"))
    });

    let ok = h.encode(false);
    g.bench_function("decode_ok", |b| {
        b.iter(|| FrameHeader::decode(black_box(&ok), black_box(2), black_box(5), MAX_FRAME, false).expect("valid"))
    });
    g.bench_function("encode_decode_round_trip", |b| {
        b.iter(|| FrameHeader::decode(&black_box(&h).encode(false), 2, black_box(5), MAX_FRAME, false).expect("valid"))
    });

    // Rejections build an error message, so they cost more than acceptance; the bad magic byte
    // fails on the first check, a wrong sequence number only after most fields are parsed.
    let mut bad_magic: [u8; HEADER_LEN] = ok;
    bad_magic[0] = 0;
    g.bench_function("decode_reject_magic", |b| {
        b.iter(|| FrameHeader::decode(black_box(&bad_magic), 2, 5, MAX_FRAME, false).expect_err("invalid"))
    });
    g.bench_function("decode_reject_seq", |b| {
        b.iter(|| FrameHeader::decode(black_box(&ok), 2, black_box(6), MAX_FRAME, false).expect_err("invalid"))
    });
    g.finish();
}

/// The payload checksum of plaintext links (CRC32C, SSE4.2), in bytes per second: what it adds
/// per byte sent and again per byte received.
fn checksum(c: &mut Criterion) {
    let mut g = c.benchmark_group("crc32c");
    g.measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500)).sample_size(30);
    for len in [8usize, 16 << 10, 1 << 20] {
        let data = vec![0x5au8; len];
        g.throughput(criterion::Throughput::Bytes(len as u64));
        g.bench_with_input(criterion::BenchmarkId::from_parameter(len), &data, |b, d| {
            b.iter(|| crc32c::crc32c(black_box(d)))
        });
    }
    g.finish();
}

criterion_group!(benches, wire, checksum);
criterion_main!(benches);
