//! In-memory TLS handshakes between parties with good and bad credentials.

use super::authority::Authority;
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
