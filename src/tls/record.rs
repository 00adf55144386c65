//! TLS 1.3 record protection (RFC 8446 §5) for a link once rustls has finished the handshake:
//! records are sealed into and opened inside the link's own reused buffers.
//!
//! rustls's buffered API allocates a vector per record and copies every byte once more on each
//! side; on BATCH 10^7 that churn (page faults after glibc trims the freed records, plus the
//! copies) cost as much CPU as the cipher. rustls does the handshake and hands over the traffic
//! keys (`dangerous_extract_secrets`, meant for kernel TLS); this module does what kernel TLS
//! would. Instead of KeyUpdate messages, which rustls cannot drive once the keys are out, both
//! ends replace a direction's key after `REKEY_AFTER` records, deriving it with HKDF from a TLS
//! exporter secret (RFC 8446 §7.5) of this session; the records before that are standard TLS.

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf;
use rustls::ConnectionTrafficSecrets as Secrets;
use std::io;

pub const HEADER: usize = 5;
/// The largest plaintext a record carries (RFC 8446 §5.1).
pub const MAX_PLAINTEXT: usize = 1 << 14;
/// The largest record on the wire: header, plaintext, content type, padding and tag (§5.2).
pub const MAX_RECORD: usize = HEADER + MAX_PLAINTEXT + 256;
const TAG: usize = 16;
pub const APPLICATION_DATA: u8 = 23;
pub const ALERT: u8 = 21;
const HANDSHAKE: u8 = 22;
/// Records per key: well inside AES-GCM's confidentiality limit of 2^24.5 full records.
const REKEY_AFTER: u64 = 1 << 23;
const EXPORTER_LABEL: &[u8] = b"EXPORTER-partyline-rekey";

/// One direction's key, nonce base, record count and the secret its next keys come from.
struct Keys {
    algorithm: &'static aead::Algorithm,
    key: LessSafeKey,
    iv: [u8; aead::NONCE_LEN],
    seq: u64,
    generation: u64,
    rekey: hkdf::Prk,
    rekey_after: u64,
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

impl Keys {
    fn new(secrets: Secrets, seq: u64, rekey_secret: &[u8]) -> io::Result<Keys> {
        let (algorithm, key, iv) = match secrets {
            Secrets::Aes128Gcm { key, iv } => (&aead::AES_128_GCM, key, iv),
            Secrets::Aes256Gcm { key, iv } => (&aead::AES_256_GCM, key, iv),
            Secrets::Chacha20Poly1305 { key, iv } => (&aead::CHACHA20_POLY1305, key, iv),
            _ => return Err(io::Error::other("the negotiated TLS cipher suite has no record layer here")),
        };
        let key = UnboundKey::new(algorithm, key.as_ref()).map_err(|_| io::Error::other("bad TLS traffic key"))?;
        let iv = iv.as_ref().try_into().map_err(|_| io::Error::other("bad TLS traffic IV"))?;
        let rekey = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, rekey_secret);
        Ok(Keys { algorithm, key: LessSafeKey::new(key), iv, seq, generation: 0, rekey, rekey_after: REKEY_AFTER })
    }

    /// The nonce of the next record (§5.3), then counts it; past `rekey_after` records the
    /// next key takes over.
    fn next_nonce(&mut self) -> io::Result<Nonce> {
        if self.seq >= self.rekey_after {
            self.generation += 1;
            let generation = self.generation.to_be_bytes();
            let expand = |what: &[u8], len: usize| -> io::Result<Vec<u8>> {
                let info = [b"partyline ".as_slice(), what, &generation];
                let mut out = vec![0; len];
                self.rekey
                    .expand(&info, Len(len))
                    .and_then(|okm| okm.fill(&mut out))
                    .map_err(|_| io::Error::other("re-keying failed"))?;
                Ok(out)
            };
            let key = expand(b"key", self.algorithm.key_len())?;
            let iv = expand(b"iv", aead::NONCE_LEN)?;
            let key = UnboundKey::new(self.algorithm, &key).map_err(|_| io::Error::other("re-keying failed"))?;
            self.key = LessSafeKey::new(key);
            self.iv.copy_from_slice(&iv);
            self.seq = 0;
        }
        let mut nonce = self.iv;
        for (n, s) in nonce[aead::NONCE_LEN - 8..].iter_mut().zip(self.seq.to_be_bytes()) {
            *n ^= s;
        }
        self.seq += 1;
        Ok(Nonce::assume_unique_for_key(nonce))
    }
}

/// The record protection of one TLS link, both directions.
pub struct RecordLayer {
    tx: Keys,
    rx: Keys,
}

/// A record failed: the error names what, through rustls's error type where one fits, so the
/// hints in `tls::hint` apply.
fn broken(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl RecordLayer {
    /// Takes the traffic keys out of a connection whose handshake is complete and whose
    /// buffers are empty (`is_client`: which exporter context is ours to send with).
    pub fn take(conn: rustls::Connection) -> io::Result<RecordLayer> {
        let is_client = matches!(conn, rustls::Connection::Client(_));
        let export =
            |context: &[u8]| conn.export_keying_material([0u8; 32], EXPORTER_LABEL, Some(context)).map_err(broken);
        let (to_server, to_client) = (export(b"client to server")?, export(b"server to client")?);
        let (tx_secret, rx_secret) = if is_client { (to_server, to_client) } else { (to_client, to_server) };
        let secrets = conn.dangerous_extract_secrets().map_err(broken)?;
        Ok(RecordLayer {
            tx: Keys::new(secrets.tx.1, secrets.tx.0, &tx_secret)?,
            rx: Keys::new(secrets.rx.1, secrets.rx.0, &rx_secret)?,
        })
    }

    /// A layer whose two directions share one AES-256-GCM key, so it opens what it seals
    /// (for fuzzing the record reader without a handshake).
    pub fn loopback(key: [u8; 32]) -> RecordLayer {
        let keys = || {
            let secrets = Secrets::Aes256Gcm { key: key.into(), iv: [0x5a; aead::NONCE_LEN].into() };
            Keys::new(secrets, 0, &key).expect("AES-256-GCM takes a 32-byte key")
        };
        RecordLayer { tx: keys(), rx: keys() }
    }

    #[cfg(test)]
    pub(crate) fn rekey_after(&mut self, records: u64) {
        self.tx.rekey_after = records;
        self.rx.rekey_after = records;
    }

    /// Seals `out[start + HEADER..]` (at most `MAX_PLAINTEXT` bytes, after `HEADER` bytes
    /// reserved at `start`) into one record of `content_type`, in place.
    pub fn seal(&mut self, out: &mut Vec<u8>, start: usize, content_type: u8) -> io::Result<()> {
        debug_assert!(out.len() - start - HEADER <= MAX_PLAINTEXT);
        out.push(content_type);
        let len = (out.len() - start - HEADER + TAG) as u16;
        let header = [APPLICATION_DATA, 3, 3, (len >> 8) as u8, len as u8];
        out[start..start + HEADER].copy_from_slice(&header);
        let nonce = self.tx.next_nonce()?;
        let tag = self
            .tx
            .key
            .seal_in_place_separate_tag(nonce, Aad::from(header), &mut out[start + HEADER..])
            .map_err(|_| broken(rustls::Error::EncryptError))?;
        out.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Appends a whole record carrying `payload` as `content_type`.
    pub fn seal_message(&mut self, out: &mut Vec<u8>, content_type: u8, payload: &[u8]) -> io::Result<()> {
        let start = out.len();
        out.extend_from_slice(&[0; HEADER]);
        out.extend_from_slice(payload);
        self.seal(out, start, content_type)
    }

    /// The length of the record at the start of `wire`, once all of it is there; an error if
    /// its header is not one of a TLS 1.3 protected record.
    pub fn complete(wire: &[u8]) -> io::Result<Option<usize>> {
        let Some(header) = wire.get(..HEADER) else { return Ok(None) };
        if header[0] != APPLICATION_DATA {
            return Err(broken(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)));
        }
        if header[1..3] != [3, 3] {
            return Err(broken(rustls::Error::InvalidMessage(rustls::InvalidMessage::UnknownProtocolVersion)));
        }
        let len = HEADER + u16::from_be_bytes([header[3], header[4]]) as usize;
        if len > MAX_RECORD {
            return Err(broken(rustls::Error::InvalidMessage(rustls::InvalidMessage::MessageTooLarge)));
        }
        if len < HEADER + TAG + 1 {
            return Err(broken(rustls::Error::InvalidMessage(rustls::InvalidMessage::MessageTooShort)));
        }
        Ok((wire.len() >= len).then_some(len))
    }

    /// Opens the whole record `record` (as `complete` measured it) in place: its content type
    /// and where its plaintext now lies within `record`.
    pub fn open(&mut self, record: &mut [u8]) -> io::Result<(u8, std::ops::Range<usize>)> {
        let header: [u8; HEADER] = record[..HEADER].try_into().expect("complete() checked the length");
        let nonce = self.rx.next_nonce()?;
        let plain = self
            .rx
            .key
            .open_in_place(nonce, Aad::from(header), &mut record[HEADER..])
            .map_err(|_| broken(rustls::Error::DecryptError))?;
        // The content type is the last non-zero byte; zeros after it are padding (§5.4).
        let Some(end) = plain.iter().rposition(|&b| b != 0) else {
            return Err(broken(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)));
        };
        match plain[end] {
            APPLICATION_DATA | ALERT => Ok((plain[end], HEADER..HEADER + end)),
            HANDSHAKE => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the peer sent a TLS handshake message after the handshake (a KeyUpdate or a ticket), which partyline links do not use; is the peer a partyline party?",
            )),
            _ => Err(broken(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType))),
        }
    }
}
