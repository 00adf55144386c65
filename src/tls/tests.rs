//! In-memory TLS handshakes between parties with good and bad credentials.

use super::authority::Authority;
use super::record::{RecordLayer, APPLICATION_DATA, HEADER, MAX_PLAINTEXT};
use super::Tls;
use crate::security::{Credentials, Security};
use rustls::{ClientConnection, ServerConnection};
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

/// Runs a handshake from `client` (expecting to reach rank `peer`) to `server` in memory.
fn handshake(client: &Tls, server: &Tls, peer: usize) -> Result<(ClientConnection, ServerConnection), rustls::Error> {
    let mut c = client.connect(peer).unwrap();
    let mut s = server.accept().unwrap();
    for _ in 0..10 {
        let mut wire = Vec::new();
        c.write_tls(&mut wire).unwrap();
        s.read_tls(&mut &wire[..]).unwrap();
        s.process_new_packets()?;
        wire.clear();
        s.write_tls(&mut wire).unwrap();
        c.read_tls(&mut &wire[..]).unwrap();
        c.process_new_packets()?;
        if !c.is_handshaking() && !s.is_handshaking() {
            // The client's certificate reaches the server in the client's last flight.
            let mut wire = Vec::new();
            c.write_tls(&mut wire).unwrap();
            s.read_tls(&mut &wire[..]).unwrap();
            s.process_new_packets()?;
            return Ok((c, s));
        }
    }
    panic!("handshake did not finish");
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
    assert_eq!(server.check_client_rank(&s, 1), Ok(()));
    let why = server.check_client_rank(&s, 2).unwrap_err();
    assert!(why.contains("not issued for rank-2.partyline"), "{why}");
    // The client insists on the rank it dialled: rank 0's certificate does not pass as rank 2.
    let e = handshake(&client, &server, 2).unwrap_err();
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
    let e = handshake(&stranger, &zero, 0).unwrap_err();
    assert!(matches!(e, rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)), "{e}");
    let expired = tls(&party(&dir, &ca, "old1", &sec.rank_name(1), now() - 3 * day, now() - day), 1);
    let e = handshake(&expired, &zero, 0).unwrap_err();
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
    assert_eq!(zero.check_client_rank(&s, 1), Ok(()));
    let outsider = tls(&psk(&key_b), 1);
    assert!(handshake(&outsider, &zero, 0).is_err());
    std::fs::write(&key_b, "short").unwrap();
    let e = Tls::new(&psk(&key_b), 0).err().expect("a short key is refused");
    assert!(e.message.contains("at least 32"), "{e}");
}

/// A finished handshake between ranks 1 (client) and 0 (server) of one CA.
fn session(tag: &str) -> (ClientConnection, ServerConnection) {
    let dir = scratch(tag);
    let ca = Authority::generate("test CA", 1).unwrap();
    let (day, sec) = (Duration::days(1), Security::default());
    let zero = tls(&party(&dir, &ca, "r0", &sec.rank_name(0), now() - day, now() + day), 0);
    let one = tls(&party(&dir, &ca, "r1", &sec.rank_name(1), now() - day, now() + day), 1);
    handshake(&one, &zero, 0).unwrap()
}

/// Seals `payload` into records of at most `MAX_PLAINTEXT` bytes, as the link does.
fn seal_all(layer: &mut RecordLayer, payload: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    for piece in payload.chunks(MAX_PLAINTEXT) {
        let start = wire.len();
        wire.extend_from_slice(&[0; HEADER]);
        wire.extend_from_slice(piece);
        layer.seal(&mut wire, start, APPLICATION_DATA).unwrap();
    }
    wire
}

/// Opens every record in `wire`, returning the plaintext, or the first error.
fn open_all(layer: &mut RecordLayer, wire: &mut [u8]) -> std::io::Result<Vec<u8>> {
    let (mut at, mut plain) = (0, Vec::new());
    while let Some(len) = RecordLayer::complete(&wire[at..])? {
        let (kind, range) = layer.open(&mut wire[at..at + len])?;
        assert_eq!(kind, APPLICATION_DATA);
        plain.extend_from_slice(&wire[at..at + len][range]);
        at += len;
    }
    assert_eq!(at, wire.len(), "no partial record left");
    Ok(plain)
}

#[test]
fn our_records_are_standard_tls_13_records() {
    // The client side protects its records itself; the server stays with rustls.
    let (c, mut s) = session("records");
    let mut ours = RecordLayer::take(c.into()).unwrap();
    let message: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
    let wire = seal_all(&mut ours, &message);
    let (mut rest, mut got, mut chunk) = (&wire[..], Vec::new(), vec![0; 1 << 16]);
    while !rest.is_empty() {
        s.read_tls(&mut rest).unwrap();
        s.process_new_packets().unwrap();
        while let Ok(n) = std::io::Read::read(&mut s.reader(), &mut chunk) {
            got.extend_from_slice(&chunk[..n]);
        }
    }
    assert!(got == message, "rustls reads what we sealed");
    std::io::Write::write_all(&mut s.writer(), &message[..50_000]).unwrap();
    let mut wire = Vec::new();
    s.write_tls(&mut wire).unwrap();
    assert!(open_all(&mut ours, &mut wire).unwrap() == message[..50_000], "we read what rustls sealed");
}

#[test]
fn altered_records_and_foreign_headers_are_refused() {
    let (c, s) = session("tamper");
    let (mut client, mut server) = (RecordLayer::take(c.into()).unwrap(), RecordLayer::take(s.into()).unwrap());
    let mut wire = seal_all(&mut client, b"share of a secret");
    wire[HEADER + 3] ^= 1;
    let e = open_all(&mut server, &mut wire).unwrap_err();
    assert!(crate::tls::hint(&e).unwrap().contains("altered in transit"), "{e}");
    for (header, why) in [
        ([22u8, 3, 3, 0, 40], "InvalidContentType"),
        ([23, 3, 1, 0, 40], "UnknownProtocolVersion"),
        ([23, 3, 3, 0x48, 0x01], "MessageTooLarge"),
        ([23, 3, 3, 0, 16], "MessageTooShort"),
    ] {
        let e = RecordLayer::complete(&header).unwrap_err();
        assert!(format!("{e:?}").contains(why), "{header:?}: {e:?}");
    }
    assert_eq!(RecordLayer::complete(&[23, 3, 3, 0, 40, 0]).unwrap(), None, "a partial record waits");
}

#[test]
fn both_ends_re_key_after_the_same_record() {
    let (c, s) = session("rekey");
    let (mut client, mut server) = (RecordLayer::take(c.into()).unwrap(), RecordLayer::take(s.into()).unwrap());
    client.rekey_after(3);
    server.rekey_after(3);
    let message: Vec<u8> = (0..10 * MAX_PLAINTEXT as u32).map(|i| (i % 251) as u8).collect();
    let mut wire = seal_all(&mut client, &message);
    let first_key = wire[HEADER..HEADER + 32].to_vec();
    assert!(open_all(&mut server, &mut wire).unwrap() == message, "10 records, 3 keys");
    let mut wire = seal_all(&mut server, &message[..100]);
    assert_eq!(open_all(&mut client, &mut wire).unwrap(), &message[..100]);
    // A record sealed under a stale key does not open once the receiver has moved on.
    let (c, s) = session("rekey-stale");
    let (mut client, mut server) = (RecordLayer::take(c.into()).unwrap(), RecordLayer::take(s.into()).unwrap());
    server.rekey_after(1);
    let mut wire = seal_all(&mut client, &message[..2 * MAX_PLAINTEXT]);
    assert!(open_all(&mut server, &mut wire).is_err(), "the second record needs the second key");
    assert_ne!(first_key, wire[HEADER..HEADER + 32].to_vec());
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
        let mut channel = Channel::accept(listener.accept().unwrap().0, deadline, Some(&zero)).unwrap();
        let mut hello = [0u8; 5];
        channel.read_exact(&mut hello).unwrap();
        channel.write_all(b"accept").unwrap();
        channel.flush().unwrap();
        // The frames follow the greeting at once, as a party that finished its bootstrap sends.
        send_all(&mut *channel.into_transport().unwrap(), &sent);
    });
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    let mut channel = Channel::connect(tcp, deadline, Some(&one), 0).unwrap();
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
