//! In-memory TLS handshakes between parties with good and bad credentials.

use super::authority::Authority;
use super::pipe::{self, Pipe};
use super::session::{Endpoint, Session, MAX_PLAINTEXT};
use super::Tls;
use crate::security::{Credentials, Security};
use rustls::client::UnbufferedClientConnection;
use rustls::server::UnbufferedServerConnection;
use std::io::{ErrorKind, IoSlice};
use std::path::PathBuf;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// A scratch directory unique to one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("partyline-tls-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `ca`'s certificate and a certificate for `name` (valid `from`..`until`) into `dir`,
/// returning the settings of a party using them.
fn party(
    dir: &std::path::Path,
    ca: &Authority,
    tag: &str,
    name: &str,
    from: OffsetDateTime,
    until: OffsetDateTime,
) -> Security {
    let (cert, key) = ca.issue(name, from, until).unwrap();
    let paths = [dir.join(format!("{tag}-ca.pem")), dir.join(format!("{tag}.pem")), dir.join(format!("{tag}.key"))];
    for (path, text) in paths.iter().zip([ca.cert_pem(), cert, key]) {
        std::fs::write(path, text).unwrap();
    }
    let [ca, cert, key] = paths;
    Security { tls: Some(Credentials::Files { ca, cert, key }), ..Security::default() }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn tls(security: &Security, rank: usize) -> Arc<Tls> {
    Tls::new(security, rank).unwrap().expect("TLS is configured")
}

type Sessions = (Session<UnbufferedClientConnection, Pipe>, Session<UnbufferedServerConnection, Pipe>);

/// Runs a handshake from `client` (expecting to reach rank `peer`) to `server` in memory.
fn handshake(client: &Tls, server: &Tls, peer: usize) -> Result<Sessions, rustls::Error> {
    pipe::connect(client.connect(peer).unwrap(), server.accept().unwrap()).map_err(|e| {
        e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()).cloned().unwrap_or_else(|| panic!("{e}"))
    })
}

#[test]
fn parties_of_one_ca_authenticate_each_other_by_rank() {
    let dir = scratch("good");
    let ca = Authority::generate("test CA", 1).unwrap();
    let (day, sec) = (Duration::days(1), Security::default());
    let zero = party(&dir, &ca, "r0", &sec.rank_name(0), now() - day, now() + day);
    let one = party(&dir, &ca, "r1", &sec.rank_name(1), now() - day, now() + day);
    let (server, client) = (tls(&zero, 0), tls(&one, 1));
    let (_, s) = handshake(&client, &server, 0).unwrap();
    assert_eq!(server.check_client_rank(s.connection(), 1), Ok(()));
    let why = server.check_client_rank(s.connection(), 2).expect_err("refused");
    assert!(why.contains("not issued for rank-2.partyline"), "{why}");
    // The client insists on the rank it dialled: rank 0's certificate does not pass as rank 2.
    let e = handshake(&client, &server, 2).err().expect("refused");
    assert!(matches!(e, rustls::Error::InvalidCertificate(_)), "{e}");
}

#[test]
fn another_ca_or_an_expired_certificate_is_refused() {
    let dir = scratch("bad");
    let (day, sec) = (Duration::days(1), Security::default());
    let ca = Authority::generate("test CA", 1).unwrap();
    let other = Authority::generate("other CA", 1).unwrap();
    let zero = tls(&party(&dir, &ca, "r0", &sec.rank_name(0), now() - day, now() + day), 0);
    let stranger = tls(&party(&dir, &other, "x1", &sec.rank_name(1), now() - day, now() + day), 1);
    let e = handshake(&stranger, &zero, 0).err().expect("refused");
    assert!(matches!(e, rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)), "{e}");
    let expired = tls(&party(&dir, &ca, "old1", &sec.rank_name(1), now() - 3 * day, now() - day), 1);
    let e = handshake(&expired, &zero, 0).err().expect("refused");
    assert!(format!("{e:?}").contains("Expired"), "{e:?}");
}

#[test]
fn holders_of_one_pre_shared_key_authenticate_each_other() {
    let dir = scratch("psk");
    let (key_a, key_b) = (dir.join("a.psk"), dir.join("b.psk"));
    std::fs::write(&key_a, "0123456789abcdef0123456789abcdef\n").unwrap();
    std::fs::write(&key_b, "fedcba9876543210fedcba9876543210\n").unwrap();
    let psk = |path: &PathBuf| Security { tls: Some(Credentials::PreShared(path.clone())), ..Security::default() };
    let (zero, one) = (tls(&psk(&key_a), 0), tls(&psk(&key_a), 1));
    let (_, s) = handshake(&one, &zero, 0).unwrap();
    assert_eq!(zero.check_client_rank(s.connection(), 1), Ok(()));
    let outsider = tls(&psk(&key_b), 1);
    assert!(handshake(&outsider, &zero, 0).is_err());
    std::fs::write(&key_b, "short").unwrap();
    let e = Tls::new(&psk(&key_b), 0).err().expect("a short key is refused");
    assert!(e.message.contains("at least 32"), "{e}");
}

/// A finished handshake between ranks 1 (client) and 0 (server) of one CA, with `provider`.
fn session_with(tag: &str, provider: rustls::crypto::CryptoProvider) -> Sessions {
    let dir = scratch(tag);
    let ca = Authority::generate("test CA", 1).unwrap();
    let (day, sec) = (Duration::days(1), Security::default());
    let zero = party(&dir, &ca, "r0", &sec.rank_name(0), now() - day, now() + day);
    let one = party(&dir, &ca, "r1", &sec.rank_name(1), now() - day, now() + day);
    let (zero, one) = (Tls::with_provider(&zero, 0, provider.clone()), Tls::with_provider(&one, 1, provider));
    handshake(&one.unwrap().unwrap(), &zero.unwrap().unwrap(), 0).unwrap()
}

fn session(tag: &str) -> Sessions {
    session_with(tag, rustls::crypto::ring::default_provider())
}

/// Writes all of `message` as the link does, as pieces of `sizes` bytes in turn, gathered
/// into one vectored write of up to 8 pieces at a time.
fn write_pieces<C: Endpoint>(to: &mut Session<C, Pipe>, message: &[u8], sizes: &[usize]) {
    let mut pieces: Vec<&[u8]> = Vec::new();
    let (mut rest, mut turn) = (message, 0);
    while !rest.is_empty() {
        let n = sizes[turn % sizes.len()].min(rest.len());
        pieces.push(&rest[..n]);
        (rest, turn) = (&rest[n..], turn + 1);
    }
    let mut at = 0;
    while at < pieces.len() {
        let slices: Vec<IoSlice> = pieces[at..].iter().take(8).map(|p| IoSlice::new(p)).collect();
        let mut n = to.write_vectored(&slices).unwrap();
        while n > 0 && n >= pieces[at].len() {
            (n, at) = (n - pieces[at].len(), at + 1);
        }
        if n > 0 {
            pieces[at] = &pieces[at][n..];
        }
    }
}

/// Reads until nothing more is there, `chunk` bytes at most at a time.
fn read_available<C: Endpoint>(from: &mut Session<C, Pipe>, chunk: usize) -> std::io::Result<Vec<u8>> {
    let (mut got, mut buf) = (Vec::new(), vec![0; chunk]);
    loop {
        match from.read(&mut buf) {
            Ok(0) => return Ok(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(got),
            Err(e) => return Err(e),
        }
    }
}

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32).map(|i| (i.wrapping_mul(seed) >> 3) as u8).collect()
}

#[test]
fn small_and_large_pieces_arrive_whole_through_short_reads() {
    let (mut c, mut s) = session("pieces");
    let message = pattern(3_000_000, 7);
    // Frame headers and small payloads between large ones, as the link writes them.
    write_pieces(&mut c, &message, &[48, 8, 48, 100_000, 48, 40_000, 1, 16_384, 48, 16_385]);
    let wire = s.io().inbox().bytes.len();
    assert!(wire < message.len() + message.len() / 500, "{wire} bytes on the wire: small pieces were not gathered");
    let got = read_available(&mut s, 1000).unwrap();
    assert!(got == message, "every byte arrives, in order, through reads shorter than a record");
    let answer = pattern(200_000, 13);
    write_pieces(&mut s, &answer, &[70_000]);
    assert!(read_available(&mut c, 1 << 20).unwrap() == answer, "and the other way");
}

#[test]
fn altered_records_are_refused_on_both_ends() {
    let (mut c, mut s) = session("tamper");
    write_pieces(&mut c, b"share of a secret", &[100]);
    s.io().inbox().bytes[5 + 3] ^= 1;
    let e = read_available(&mut s, 100).expect_err("refused");
    assert!(super::hint(&e).unwrap().contains("altered in transit"), "{e}");
    let again = s.read(&mut [0; 100]).expect_err("a failed session stays failed");
    assert!(super::hint(&again).unwrap().contains("altered in transit"), "{again}");
    // The receiver's alert tells the sender.
    let e = read_available(&mut c, 100).expect_err("refused");
    assert!(super::hint(&e).unwrap().contains("altered in transit"), "{e}");
}

#[test]
fn close_notify_ends_the_stream_and_a_bare_close_is_an_error() {
    let (mut c, mut s) = session("close");
    write_pieces(&mut c, b"last words", &[100]);
    c.close_notify().unwrap();
    assert_eq!(read_available(&mut s, 100).unwrap(), b"last words");
    assert_eq!(s.read(&mut [0; 10]).unwrap(), 0, "end of stream, and it stays so");
    let (mut c, mut s) = session("cut");
    write_pieces(&mut c, b"cut off", &[100]);
    c.io().close();
    let e = read_available(&mut s, 100).expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::UnexpectedEof, "{e}");
}

#[test]
fn rustls_updates_the_keys_when_a_key_has_sealed_its_limit() {
    use rustls::crypto::{ring, CipherSuiteCommon};
    // AES-128-GCM as ring provides it, but good for only 8 records per key.
    let suite = ring::cipher_suite::TLS13_AES_128_GCM_SHA256.tls13().expect("a TLS 1.3 suite");
    let short = rustls::Tls13CipherSuite {
        common: CipherSuiteCommon { confidentiality_limit: 8, ..suite.common },
        hkdf_provider: suite.hkdf_provider,
        aead_alg: suite.aead_alg,
        quic: suite.quic,
    };
    let short: &'static rustls::Tls13CipherSuite = Box::leak(Box::new(short));
    let provider = rustls::crypto::CryptoProvider { cipher_suites: vec![short.into()], ..ring::default_provider() };
    let (mut c, mut s) = session_with("rekey", provider);
    let records = 40;
    let message = pattern(records * MAX_PLAINTEXT, 11);
    write_pieces(&mut c, &message, &[MAX_PLAINTEXT]);
    // Each full record is 16,384 + 22 bytes on the wire; a KeyUpdate record is 27.
    let extra = s.io().inbox().bytes.len() - records * (MAX_PLAINTEXT + 22);
    assert_eq!(extra % 27, 0, "{extra} bytes besides the data records");
    assert!(extra / 27 >= records / 8 - 1, "only {} key updates in {records} records", extra / 27);
    assert!(read_available(&mut s, 1 << 20).unwrap() == message, "the data survives the updates");
    write_pieces(&mut s, &message, &[MAX_PLAINTEXT]);
    assert!(read_available(&mut c, 1 << 20).unwrap() == message, "both ways");
}

/// Writes all of `data` through a non-blocking transport, then closes it.
fn send_all(t: &mut dyn crate::transport::Transport, mut data: &[u8]) {
    while !data.is_empty() {
        match t.write_vectored(&[std::io::IoSlice::new(data)]) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) => panic!("{e}"),
        }
    }
    while let Err(e) = t.shutdown_write() {
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}");
        std::thread::yield_now();
    }
}

#[test]
fn a_link_keeps_the_records_sent_right_after_the_greeting() {
    use crate::channel::Channel;
    use std::io::{Read, Write};
    let dir = scratch("takeover");
    let ca = Authority::generate("test CA", 1).unwrap();
    let (day, sec) = (Duration::days(1), Security::default());
    let zero = tls(&party(&dir, &ca, "r0", &sec.rank_name(0), now() - day, now() + day), 0);
    let one = tls(&party(&dir, &ca, "r1", &sec.rank_name(1), now() - day, now() + day), 1);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let message: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let sent = message.clone();
    let server = std::thread::spawn(move || {
        let mut channel =
            Channel::accept(crate::conn::Conn::Tcp(listener.accept().unwrap().0), deadline, Some(&zero)).unwrap();
        let mut hello = [0u8; 5];
        channel.read_exact(&mut hello).unwrap();
        channel.write_all(b"accept").unwrap();
        channel.flush().unwrap();
        // The frames follow the greeting at once, as a party that finished its bootstrap sends.
        send_all(&mut *channel.into_transport().unwrap(), &sent);
    });
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    let mut channel = Channel::connect(crate::conn::Conn::Tcp(tcp), deadline, Some(&one), 0).unwrap();
    channel.write_all(b"hello").unwrap();
    channel.flush().unwrap();
    // Let the frames pile up behind the answer, so a read of the answer could take them too.
    std::thread::sleep(std::time::Duration::from_millis(100));
    let mut answer = [0u8; 6];
    channel.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"accept");
    let mut link = channel.into_transport().unwrap();
    let (mut got, mut chunk) = (Vec::new(), vec![0; 100_000]);
    loop {
        match link.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) => panic!("{e}"),
        }
    }
    server.join().unwrap();
    assert!(got == message, "every byte arrives, in order, then close_notify ends the stream");
}
