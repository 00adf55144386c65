//! TLS 1.3 with mutual authentication for the links: rustls settings built from a party's
//! credentials, the check that binds a peer's certificate to the rank it claims, and error
//! messages that say which side to fix.

pub mod authority;
pub mod endpoint;
pub mod pipe;
pub mod session;
mod sink;
pub mod transport;

use crate::error::{err, Result};
use crate::security::{Credentials, Security};
use rustls::client::UnbufferedClientConnection;
use rustls::pki_types::ServerName;
use rustls::server::UnbufferedServerConnection;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::sync::Arc;

/// One party's TLS settings, shared by every link it opens or accepts.
pub struct Tls {
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
    security: Security,
}

impl Tls {
    /// The settings for `security`, or `None` when links are plaintext.
    pub fn new(security: &Security, rank: usize) -> Result<Option<Arc<Tls>>> {
        // AES-128-GCM first: with AES-NI it is the cheapest suite per byte, and 128-bit keys are
        // ample for link encryption; the others stay for peers that insist.
        let mut provider = rustls::crypto::ring::default_provider();
        provider.cipher_suites.sort_by_key(|s| s.suite() != rustls::CipherSuite::TLS13_AES_128_GCM_SHA256);
        Tls::with_provider(security, rank, provider)
    }

    /// `new` with another crypto provider or choice of cipher suites (benchmarks, tests).
    pub fn with_provider(
        security: &Security,
        rank: usize,
        provider: rustls::crypto::CryptoProvider,
    ) -> Result<Option<Arc<Tls>>> {
        let keys = match &security.tls {
            None => return Ok(None),
            Some(Credentials::Files { ca, cert, key }) => authority::load(ca, cert, key)?,
            Some(Credentials::PreShared(path)) => authority::from_psk(path, &security.rank_name(rank))?,
        };
        security.keep_handed_keys_from_children();
        let provider = Arc::new(provider);
        let mut roots = RootCertStore::empty();
        for (i, ca) in keys.trusted.into_iter().enumerate() {
            roots.add(ca).map_err(|e| err!(Arg, "certificate {} of the CA bundle is unusable: {e}", i + 1))?;
        }
        let roots = Arc::new(roots);
        let bad = |e: rustls::Error| {
            err!(Arg, "the TLS credentials are unusable: {e}; check that PARTYLINE_TLS_KEY matches PARTYLINE_TLS_CERT")
        };
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(|e| err!(Arg, "cannot check client certificates with this CA bundle: {e}"))?;
        let mut server = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(bad)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(keys.chain.clone(), keys.key.clone_key())
            .map_err(bad)?;
        // Links are opened once per job: resumption tickets would only be unused state.
        server.send_tls13_tickets = 0;
        let mut client = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(bad)?
            .with_root_certificates(roots)
            .with_client_auth_cert(keys.chain, keys.key)
            .map_err(bad)?;
        client.resumption = rustls::client::Resumption::disabled();
        // The rank is proven by the certificate; no need to announce it in clear text.
        client.enable_sni = false;
        Ok(Some(Arc::new(Tls { client: Arc::new(client), server: Arc::new(server), security: security.clone() })))
    }

    /// A client session to `peer`, which must present a certificate for that rank.
    pub fn connect(&self, peer: usize) -> Result<UnbufferedClientConnection> {
        let name = self.security.rank_name(peer);
        let server_name = ServerName::try_from(name.clone())
            .map_err(|_| err!(Arg, "{name:?} (from PARTYLINE_TLS_NAME) is not a valid DNS name"))?;
        UnbufferedClientConnection::new(self.client.clone(), server_name)
            .map_err(|e| err!(Intern, "cannot start a TLS session: {e}"))
    }

    pub fn accept(&self) -> Result<UnbufferedServerConnection> {
        UnbufferedServerConnection::new(self.server.clone())
            .map_err(|e| err!(Intern, "cannot start a TLS session: {e}"))
    }

    /// Whether the client certificate of `conn` (already verified against our CA) names `rank`.
    pub fn check_client_rank(&self, conn: &rustls::CommonState, rank: usize) -> std::result::Result<(), String> {
        let name = self.security.rank_name(rank);
        let cert = conn.peer_certificates().and_then(|c| c.first()).ok_or("it presented no certificate")?;
        let cert =
            webpki::EndEntityCert::try_from(cert).map_err(|e| format!("its certificate cannot be parsed: {e}"))?;
        let wanted = ServerName::try_from(name.as_str()).map_err(|_| format!("{name:?} is not a valid DNS name"))?;
        cert.verify_is_valid_for_subject_name(&wanted).map_err(|_| {
            format!("it claims rank {rank} but its certificate is not issued for {name}; each party must use its own rank's certificate")
        })
    }
}

/// Explains a failed TLS exchange with `who`, pointing at the setting to check.
pub fn explain(who: &str, e: &std::io::Error) -> String {
    format!("the TLS handshake with {who} failed: {}", hint(e).unwrap_or_else(|| e.to_string()))
}

/// The TLS error inside `e`, if any, with what to check.
pub fn hint(e: &std::io::Error) -> Option<String> {
    use rustls::{AlertDescription as A, CertificateError as C, Error as E};
    let tls = e.get_ref().and_then(|inner| inner.downcast_ref::<E>())?;
    let hint = match tls {
        E::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => {
            "its certificate is not signed by a CA we trust; check that every party's PARTYLINE_TLS_CA holds the CA that signed the others' certificates (in pre-shared-key mode: that every party has the same key)"
        }
        E::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => "its certificate has expired; issue a new one",
        E::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            "its certificate is not valid yet; check the clocks or the certificate's dates"
        }
        E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "its certificate is issued for another rank; each party must use its own rank's certificate"
        }
        // A bad signature on a certificate is reported as DecryptError.
        E::AlertReceived(A::UnknownCA | A::DecryptError | A::BadCertificate | A::CertificateExpired | A::CertificateUnknown | A::AccessDenied | A::CertificateRequired) => {
            "it refused our certificate; check that our PARTYLINE_TLS_CERT is signed by the CA the others trust, unexpired, and issued for our rank (in pre-shared-key mode: that every party has the same key)"
        }
        E::NoCertificatesPresented => "it presented no certificate; give every party one",
        E::DecryptError | E::AlertReceived(A::BadRecordMac) => {
            "a record failed its integrity check: the traffic was altered in transit (or the peer is broken)"
        }
        E::InvalidMessage(_) | E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
            "it does not speak TLS as partyline does; configure TLS on every party or on none"
        }
        _ => "check that every party uses the same TLS settings",
    };
    Some(format!("{tls}: {hint}"))
}

#[cfg(test)]
mod tests;
