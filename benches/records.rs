//! TLS records through the links' sessions (rustls's unbuffered API, `tls::session`): sealing
//! and opening 16 KiB records with ring and, built with `--features bench-aws-lc`, aws-lc-rs as
//! the crypto provider, each with AES-128-GCM and AES-256-GCM. A plain copy and ring's bare
//! AES-128-GCM of the same bytes are the baselines (bench/README.md, "Floors"). Times are the
//! benchmark thread's CPU time, not wall time: this machine's two cores are shared, and time
//! spent descheduled is not the cipher's.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use partyline::security::{Credentials, Security};
use partyline::tls::pipe::{self, Pipe};
use partyline::tls::session::{Session, MAX_PLAINTEXT};
use partyline::tls::Tls;
use rustls::client::UnbufferedClientConnection;
use rustls::crypto::CryptoProvider;
use rustls::server::UnbufferedServerConnection;
use rustls::SupportedCipherSuite;
use std::io::IoSlice;
use std::time::Duration;

/// The CPU time this thread has used.
fn thread_cpu() -> Duration {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid, writable timespec; the clock id is a constant Linux supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Runs `f` `iters` times and returns the CPU time it took (for `Bencher::iter_custom`).
fn on_cpu(iters: u64, mut f: impl FnMut()) -> Duration {
    let start = thread_cpu();
    for _ in 0..iters {
        f();
    }
    thread_cpu() - start
}

type Sessions = (Session<UnbufferedClientConnection, Pipe>, Session<UnbufferedServerConnection, Pipe>);

/// Ranks 1 (client) and 0 (server) of one job in pre-shared-key mode, after the handshake,
/// with `provider` offering only `suite`.
fn sessions(provider: &CryptoProvider, suite: SupportedCipherSuite) -> Sessions {
    let key = std::env::temp_dir().join(format!("partyline-bench-{}.psk", std::process::id()));
    std::fs::write(&key, "0123456789abcdef0123456789abcdef\n").unwrap();
    let security = Security { tls: Some(Credentials::PreShared(key.clone())), ..Security::default() };
    let only = CryptoProvider { cipher_suites: vec![suite], ..provider.clone() };
    let tls = |rank| Tls::with_provider(&security, rank, only.clone()).unwrap().unwrap();
    let (zero, one) = (tls(0), tls(1));
    let _ = std::fs::remove_file(&key);
    let sessions = pipe::connect(one.connect(0).unwrap(), zero.accept().unwrap()).unwrap();
    assert_eq!(sessions.0.connection().negotiated_cipher_suite(), Some(suite));
    sessions
}

fn providers() -> Vec<(&'static str, CryptoProvider, [SupportedCipherSuite; 2])> {
    use rustls::crypto::ring;
    #[allow(unused_mut)] // without aws-lc-rs, ring is all there is
    let mut all = vec![(
        "ring",
        ring::default_provider(),
        [ring::cipher_suite::TLS13_AES_128_GCM_SHA256, ring::cipher_suite::TLS13_AES_256_GCM_SHA384],
    )];
    #[cfg(feature = "bench-aws-lc")]
    {
        use rustls::crypto::aws_lc_rs as aws;
        all.push((
            "aws-lc-rs",
            aws::default_provider(),
            [aws::cipher_suite::TLS13_AES_128_GCM_SHA256, aws::cipher_suite::TLS13_AES_256_GCM_SHA384],
        ));
    }
    all
}

fn records(c: &mut Criterion) {
    let plaintext = vec![7u8; MAX_PLAINTEXT];
    let mut g = c.benchmark_group("tls_record_16KiB");
    g.measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500)).sample_size(20);
    g.throughput(Throughput::Bytes(MAX_PLAINTEXT as u64));
    let mut copy = vec![0u8; MAX_PLAINTEXT + 64];
    g.bench_function("copy_only", |b| {
        b.iter_custom(|iters| {
            on_cpu(iters, || {
                copy[5..5 + MAX_PLAINTEXT].copy_from_slice(&plaintext);
                std::hint::black_box(&copy);
            })
        })
    });
    // The cipher alone, in place, without a record layer around it.
    let key = ring::aead::LessSafeKey::new(ring::aead::UnboundKey::new(&ring::aead::AES_128_GCM, &[9; 16]).unwrap());
    g.bench_function("ring_aes128gcm_in_place_only", |b| {
        b.iter_custom(|iters| {
            on_cpu(iters, || {
                let nonce = ring::aead::Nonce::assume_unique_for_key([1; 12]);
                let aad = ring::aead::Aad::from([23, 3, 3, 64, 17]);
                let tag = key.seal_in_place_separate_tag(nonce, aad, &mut copy[..MAX_PLAINTEXT + 1]);
                std::hint::black_box(tag.unwrap().as_ref()[0]);
            })
        })
    });
    let mut received = vec![0u8; 2 * MAX_PLAINTEXT];
    for (name, provider, suites) in providers() {
        for (suite, label) in suites.into_iter().zip(["aes128gcm", "aes256gcm"]) {
            let (mut client, _server) = sessions(&provider, suite);
            g.bench_function(format!("{name}/{label}/seal"), |b| {
                b.iter_custom(|iters| {
                    on_cpu(iters, || {
                        assert_eq!(client.write_vectored(&[IoSlice::new(&plaintext)]).unwrap(), MAX_PLAINTEXT);
                        client.io().outbox().bytes.clear();
                    })
                })
            });
            // Each iteration seals (as the peer would) and opens: subtract `seal` for the open.
            let (mut client, mut server) = sessions(&provider, suite);
            g.bench_function(format!("{name}/{label}/seal_and_open"), |b| {
                b.iter_custom(|iters| {
                    on_cpu(iters, || {
                        assert_eq!(client.write_vectored(&[IoSlice::new(&plaintext)]).unwrap(), MAX_PLAINTEXT);
                        assert_eq!(server.read(&mut received).unwrap(), MAX_PLAINTEXT);
                    })
                })
            });
        }
    }
    g.finish();
    // A frame header and an 8-byte payload in one record: the fixed cost per small message.
    let mut g = c.benchmark_group("tls_record_56B");
    g.measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500)).sample_size(20);
    let (header, payload) = ([1u8; 48], [2u8; 8]);
    let (mut client, mut server) = sessions(&providers()[0].1, providers()[0].2[0]);
    g.bench_function("ring/aes128gcm/seal_and_open", |b| {
        b.iter_custom(|iters| {
            on_cpu(iters, || {
                assert_eq!(client.write_vectored(&[IoSlice::new(&header), IoSlice::new(&payload)]).unwrap(), 56);
                assert_eq!(server.read(&mut received).unwrap(), 56);
            })
        })
    });
    g.finish();
}

criterion_group!(benches, records);
criterion_main!(benches);
