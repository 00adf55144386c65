//! TLS record protection (`tls::record`): sealing and opening 16 KiB records with the suite the
//! links negotiate (AES-128-GCM), against a plain copy of the same bytes as the baseline. This
//! is the CPU that TLS adds per byte on top of plaintext (bench/README.md, "Floors").

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use partyline::security::{Credentials, Security};
use partyline::tls::record::{RecordLayer, APPLICATION_DATA, HEADER, MAX_PLAINTEXT};
use partyline::tls::Tls;
use std::time::Duration;

/// A client and a server record layer of one in-memory TLS 1.3 session (pre-shared-key mode).
fn session() -> (RecordLayer, RecordLayer) {
    let key = std::env::temp_dir().join(format!("partyline-bench-{}.psk", std::process::id()));
    std::fs::write(&key, "0123456789abcdef0123456789abcdef\n").unwrap();
    let security = Security { tls: Some(Credentials::PreShared(key.clone())), ..Security::default() };
    let (zero, one) = (Tls::new(&security, 0).unwrap().unwrap(), Tls::new(&security, 1).unwrap().unwrap());
    let (mut client, mut server) = (one.connect(0).unwrap(), zero.accept().unwrap());
    while client.is_handshaking() || server.is_handshaking() || client.wants_write() || server.wants_write() {
        let mut wire = Vec::new();
        client.write_tls(&mut wire).unwrap();
        server.read_tls(&mut &wire[..]).unwrap();
        server.process_new_packets().unwrap();
        wire.clear();
        server.write_tls(&mut wire).unwrap();
        client.read_tls(&mut &wire[..]).unwrap();
        client.process_new_packets().unwrap();
    }
    let _ = std::fs::remove_file(&key);
    (RecordLayer::take(client.into()).unwrap(), RecordLayer::take(server.into()).unwrap())
}

fn records(c: &mut Criterion) {
    let plaintext = vec![7u8; MAX_PLAINTEXT];
    let mut g = c.benchmark_group("tls_record_16KiB");
    g.measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500)).sample_size(20);
    g.throughput(Throughput::Bytes(MAX_PLAINTEXT as u64));
    let mut wire = Vec::with_capacity(2 * MAX_PLAINTEXT);
    g.bench_function("copy_only", |b| {
        b.iter(|| {
            wire.clear();
            wire.extend_from_slice(&[0; HEADER]);
            wire.extend_from_slice(&plaintext);
            std::hint::black_box(&wire);
        })
    });
    let (mut client, _) = session();
    g.bench_function("seal", |b| {
        b.iter(|| {
            wire.clear();
            client.seal_message(&mut wire, APPLICATION_DATA, &plaintext).unwrap();
        })
    });
    // Each iteration seals (as the peer would) and opens: subtract `seal` for the open alone.
    // A fresh session, so both ends count records from zero.
    let (mut client, mut server) = session();
    g.bench_function("seal_and_open", |b| {
        b.iter(|| {
            wire.clear();
            client.seal_message(&mut wire, APPLICATION_DATA, &plaintext).unwrap();
            let (kind, range) = server.open(&mut wire).unwrap();
            assert_eq!((kind, range.len()), (APPLICATION_DATA, MAX_PLAINTEXT));
        })
    });
    g.finish();
}

criterion_group!(benches, records);
criterion_main!(benches);
