//! Certificates and keys: loading a party's PEM files, issuing a test CA and per-rank
//! certificates (`partyrun certs`), and deriving a job authority from a pre-shared key.

use crate::error::{err, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::Path;
use time::{Duration, OffsetDateTime};

/// What one party holds: whom it trusts, and who it is.
pub struct PartyKeys {
    pub trusted: Vec<CertificateDer<'static>>,
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// Reads a CA bundle, a certificate chain and a private key, all PEM.
pub fn load(ca: &Path, cert: &Path, key: &Path) -> Result<PartyKeys> {
    let certs = |path: &Path, what: &str| -> Result<Vec<CertificateDer<'static>>> {
        let found: Vec<_> = CertificateDer::pem_file_iter(path)
            .map_err(|e| err!(Arg, "cannot read the {what} {}: {e}", path.display()))?
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| err!(Arg, "the {what} {} is not valid PEM: {e}", path.display()))?;
        if found.is_empty() {
            return Err(err!(Arg, "the {what} {} holds no CERTIFICATE block", path.display()));
        }
        Ok(found)
    };
    let trusted = certs(ca, "CA bundle (PARTYLINE_TLS_CA)")?;
    let chain = certs(cert, "certificate (PARTYLINE_TLS_CERT)")?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| err!(Arg, "cannot read a private key from PARTYLINE_TLS_KEY={}: {e}", key.display()))?;
    Ok(PartyKeys { trusted, chain, key })
}

/// A certificate authority that can sign party certificates.
pub struct Authority {
    issuer: Issuer<'static, KeyPair>,
    cert: rcgen::Certificate,
}

impl Authority {
    /// A fresh CA with a random P-256 key, valid from a day ago for `days` days. A random
    /// suffix to its name keeps two such CAs apart, so a certificate of the other one is
    /// reported as from an unknown CA rather than as a bad signature.
    pub fn generate(common_name: &str, days: i64) -> Result<Authority> {
        let key = KeyPair::generate().map_err(|e| err!(Intern, "cannot generate a CA key: {e}"))?;
        let now = OffsetDateTime::now_utc();
        let name = format!("{common_name} {}", &random_psk()?[..8]);
        Authority::with_key(key, &name, now - Duration::days(1), now + Duration::days(days))
    }

    fn with_key(key: KeyPair, common_name: &str, from: OffsetDateTime, until: OffsetDateTime) -> Result<Authority> {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        (params.not_before, params.not_after) = (from, until);
        let cert = params.self_signed(&key).map_err(|e| err!(Intern, "cannot sign the CA certificate: {e}"))?;
        Ok(Authority { issuer: Issuer::new(params, key), cert })
    }

    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    pub fn key_pem(&self) -> String {
        self.issuer.key().serialize_pem()
    }

    /// Issues a certificate for `name` with a fresh key, valid from `from` to `until`; returns
    /// the certificate and key as PEM.
    pub fn issue(&self, name: &str, from: OffsetDateTime, until: OffsetDateTime) -> Result<(String, String)> {
        let (cert, key) = self.issue_der(name, from, until)?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    fn issue_der(
        &self,
        name: &str,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<(rcgen::Certificate, KeyPair)> {
        let mut params = CertificateParams::new(vec![name.to_string()])
            .map_err(|e| err!(Arg, "{name:?} cannot be a certificate name: {e}"))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        (params.not_before, params.not_after) = (from, until);
        let key = KeyPair::generate().map_err(|e| err!(Intern, "cannot generate a key: {e}"))?;
        let cert = params.signed_by(&key, &self.issuer).map_err(|e| err!(Intern, "cannot sign a certificate: {e}"))?;
        Ok((cert, key))
    }
}

/// The smallest pre-shared key accepted, in bytes of file content.
pub const MIN_PSK_LEN: usize = 32;

/// Pre-shared-key mode. rustls has no external TLS 1.3 PSKs, so every holder of the key derives
/// the same Ed25519 CA key from it and issues itself a certificate for its own rank. Peers then
/// authenticate exactly as with certificates: only holders of the key can join, and each link
/// still gets fresh ephemeral keys (forward secrecy).
pub fn from_psk(path: &Path, own_name: &str) -> Result<PartyKeys> {
    let text =
        std::fs::read(path).map_err(|e| err!(Arg, "cannot read PARTYLINE_TLS_PSK_FILE={}: {e}", path.display()))?;
    let secret = text.trim_ascii();
    if secret.len() < MIN_PSK_LEN {
        return Err(err!(Arg, "the pre-shared key in {} is {} bytes; use at least {MIN_PSK_LEN} (`partyrun certs --psk FILE` writes a random one)", path.display(), secret.len()));
    }
    let seed = derive(secret, b"job authority ed25519 seed");
    // Named after the key (but revealing nothing of it), so parties with different keys see an
    // unknown CA rather than a bad signature.
    let tag: String = derive(secret, b"job authority name")[..4].iter().map(|b| format!("{b:02x}")).collect();
    let pkcs8 = ed25519_pkcs8(&seed);
    let key = KeyPair::from_pkcs8_der_and_sign_algo(&PrivatePkcs8KeyDer::from(pkcs8), &rcgen::PKCS_ED25519)
        .map_err(|e| err!(Intern, "cannot derive the job key: {e}"))?;
    // Fixed dates: every party must derive the same authority, whatever its clock says.
    let ca = Authority::with_key(
        key,
        &format!("partyline pre-shared-key authority {tag}"),
        rcgen::date_time_ymd(2000, 1, 1),
        rcgen::date_time_ymd(9999, 12, 31),
    )?;
    // A day either side tolerates clock skew between hosts.
    let now = OffsetDateTime::now_utc();
    let (cert, key) = ca.issue_der(own_name, now - Duration::days(1), now + Duration::days(1))?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let ca_der = ca.cert.der().clone();
    Ok(PartyKeys { trusted: vec![ca_der.clone()], chain: vec![cert.der().clone(), ca_der], key })
}

/// 32 bytes derived from the shared secret for `purpose` (HKDF-SHA256).
fn derive(secret: &[u8], purpose: &[u8]) -> [u8; 32] {
    let salt = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"partyline pre-shared key v1");
    let (prk, info) = (salt.extract(secret), [purpose]);
    let okm = prk.expand(&info, ring::hkdf::HKDF_SHA256).expect("32 bytes is a valid length");
    let mut out = [0u8; 32];
    okm.fill(&mut out).expect("the length matches");
    out
}

/// An Ed25519 private key as PKCS#8 v1 (RFC 8410): a fixed prefix, then the 32-byte seed.
fn ed25519_pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = vec![0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
    der.extend_from_slice(seed);
    der
}

/// A random pre-shared key, as 64 hex digits.
pub fn random_psk() -> Result<String> {
    let mut key = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut key)
        .map_err(|_| err!(Intern, "the system random number generator failed"))?;
    Ok(key.iter().map(|b| format!("{b:02x}")).collect())
}
