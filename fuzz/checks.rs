//! The fuzz targets' bodies: decode hostile bytes as a peer would send them and check what the
//! core relies on. Shared by `cargo fuzz` (fuzz/fuzz_targets) and the corpus replay test.

use partyline::handshake::Greeting;
use partyline::rendezvous::{Expected, Message, ReadError};
use partyline::security::{Credentials, Security};
use partyline::stripe::Striped;
use partyline::tls::pipe;
use partyline::tls::Tls;
use partyline::transport::Transport;
use partyline::wire::{FrameHeader, FrameKind, HEADER_LEN};
use std::io::{ErrorKind, IoSlice, Write};
use std::sync::{Arc, OnceLock};

/// The largest frame the decoder is told to accept; small, so that length checks are reached.
pub const MAX_FRAME: u64 = 1 << 20;

/// The rank the bytes claim to come from.
pub const PEER: usize = 1;

/// Reads `data` as the byte stream of a link from rank `PEER`, frame after frame, as the receive
/// path does. Returns the number of frames at a clean end, or why the stream was refused.
/// Panics (a finding) when an accepted header breaks an invariant the rest of the core trusts.
pub fn frames(data: &[u8]) -> Result<u64, String> {
    let (mut rest, mut seq) = (data, 0u64);
    while !rest.is_empty() {
        let Some(raw) = rest.first_chunk::<HEADER_LEN>() else {
            return Err(format!("truncated header: {} of {HEADER_LEN} bytes", rest.len()));
        };
        let h = FrameHeader::decode(raw, PEER, seq, MAX_FRAME, false).map_err(|e| match e {
            partyline::error::Fault::Fatal(e) => e.message,
            partyline::error::Fault::Break(cause) => cause,
        })?;
        assert_eq!(h.src, PEER as i32, "accepted a forged source");
        let want = if h.kind.is_sequenced() { seq } else { 0 };
        assert_eq!(h.seq, want, "accepted a sequence gap (or a numbered acknowledgement)");
        assert!(h.len <= MAX_FRAME, "accepted a frame over the limit");
        assert!(h.kind != FrameKind::Data || h.tag >= 0, "accepted a negative tag");
        let payload_ok = match h.kind {
            FrameKind::Data => true,
            FrameKind::LinkDown => h.len <= partyline::wire::MAX_NOTICE,
            _ => h.len == 0,
        };
        assert!(payload_ok, "accepted a control frame with a payload");
        assert_eq!(&h.encode(false), raw, "an accepted header re-encodes to other bytes");
        rest = &rest[HEADER_LEN..];
        let len = h.len as usize;
        if rest.len() < len {
            return Err(format!("truncated payload: {} of {len} bytes", rest.len()));
        }
        rest = &rest[len..];
        if h.kind.is_sequenced() {
            seq += 1;
        }
    }
    Ok(seq)
}

/// Reads `data` as a peer's handshake greeting. What is accepted must survive a round trip.
pub fn greeting(data: &[u8]) -> Result<Greeting, String> {
    let g = Greeting::read_from(&mut &data[..], "the fuzzer").map_err(|e| e.message)?;
    let again = Greeting::read_from(&mut &g.encode()[..], "the fuzzer").expect("a greeting we accepted re-reads");
    assert_eq!(again, g, "a greeting changed in a round trip");
    if let Greeting::Hello(theirs) | Greeting::Accept(theirs) = &g {
        let mut ours = theirs.clone();
        ours.size = ours.size.max(1);
        // Whatever the peer claims, the verdict is a reason or a match, and a match is in range.
        if ours.mismatch(theirs).is_none() {
            assert!(theirs.rank < theirs.size, "admitted rank {} of {}", theirs.rank, theirs.size);
        }
    }
    Ok(g)
}

/// Reads `data` as a message to or from a rendezvous coordinator. What is accepted must survive
/// a round trip, and a registration the coordinator admits must name a rank in range.
pub fn rendezvous(data: &[u8]) -> Result<Message, String> {
    let m = Message::read_from(&mut &data[..]).map_err(|e| match e {
        ReadError::Io(e) => format!("short read: {e}"),
        ReadError::Malformed(why) => why,
    })?;
    let again = Message::read_from(&mut &m.encode()[..]).map_err(|e| e.to_string());
    assert_eq!(again.as_ref().ok(), Some(&m), "a message changed in a round trip: {again:?}");
    if let Message::Register(r) = &m {
        let expected = Expected { job_id: r.job_id.clone(), size: (r.size as usize).min(64) };
        for registered in [0, u64::MAX >> 1, 1 << 5] {
            if expected.admit(r, registered).is_ok() {
                assert!((r.rank as usize) < expected.size && registered & (1 << r.rank) == 0);
            }
        }
    }
    Ok(m)
}

/// Ranks 0 and 1 of one job in pre-shared-key mode; made once, as a handshake per input is
/// cost enough.
fn parties() -> &'static (Arc<Tls>, Arc<Tls>) {
    static PARTIES: OnceLock<(Arc<Tls>, Arc<Tls>)> = OnceLock::new();
    PARTIES.get_or_init(|| {
        let key = std::env::temp_dir().join(format!("partyline-fuzz-{}.psk", std::process::id()));
        std::fs::write(&key, "0123456789abcdef0123456789abcdef\n").expect("the temporary directory is writable");
        let security = Security { tls: Some(Credentials::PreShared(key.clone())), ..Security::default() };
        let tls = |rank| Tls::new(&security, rank).expect("valid settings").expect("TLS is configured");
        let parties = (tls(0), tls(1));
        let _ = std::fs::remove_file(&key);
        parties
    })
}

/// Reads `data` as what arrives on a TLS link after the handshake from someone without the
/// keys, through the link's own session (rustls's record layer): it must be refused, and a
/// forgery that opened would be a finding. First, `data` as plaintext must cross a link intact,
/// written in two pieces cut where its first byte says. Returns the ciphertext length of the
/// round trip, or why the hostile stream was refused.
pub fn records(data: &[u8]) -> Result<usize, String> {
    let (zero, one) = parties();
    let (mut client, mut server) =
        pipe::connect(one.connect(0).expect("a client session"), zero.accept().expect("a server session"))
            .expect("the in-memory handshake succeeds");
    let cut = data.first().map_or(0, |&b| b as usize * 97 % (data.len() + 1));
    let mut pieces = [IoSlice::new(&data[..cut]), IoSlice::new(&data[cut..])];
    let (mut rest, mut left) = (&mut pieces[..], data.len());
    while left > 0 {
        let n = client.write_vectored(rest).expect("an in-memory write cannot fail");
        left -= n;
        IoSlice::advance_slices(&mut rest, n);
    }
    let wire = server.io().inbox().bytes.len();
    let (mut plain, mut buf) = (Vec::new(), vec![0; 7_000]);
    loop {
        match server.read(&mut buf) {
            Ok(0) => panic!("an end of stream nobody sent"),
            Ok(n) => plain.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => panic!("our own records do not open: {e}"),
        }
    }
    assert!(plain == data, "a round trip through the records changed the bytes");

    client.io_mut().write_all(data).expect("an in-memory write cannot fail");
    match server.read(&mut [0; 1024]) {
        Ok(0) => panic!("a close_notify nobody sealed was taken"),
        Ok(n) => panic!("a record nobody sealed opened ({n} bytes of plaintext)"),
        Err(e) if e.kind() == ErrorKind::WouldBlock && data.is_empty() => Ok(wire),
        Err(e) if e.kind() == ErrorKind::WouldBlock => Err(format!("truncated record: {} bytes", data.len())),
        Err(e) => Err(e.to_string()),
    }
}

/// The streams a striped link reads in `chunks`.
pub const STREAMS: usize = 3;

/// Splits `data` into what the streams of a striped link carry: a list of segments, each a
/// stream number byte, a length byte and that many bytes, appended to that stream.
pub fn streams_of(data: &[u8]) -> Vec<Vec<u8>> {
    let mut streams = vec![Vec::new(); STREAMS];
    let mut rest = data;
    while let [stream, len, tail @ ..] = rest {
        let n = (*len as usize).min(tail.len());
        streams[*stream as usize % STREAMS].extend_from_slice(&tail[..n]);
        rest = &tail[n..];
    }
    streams
}

/// One stream's bytes, then its end.
struct Replay {
    bytes: Vec<u8>,
    at: usize,
}

impl Transport for Replay {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.bytes.len() - self.at);
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }

    fn write_vectored(&mut self, _: &[IoSlice<'_>]) -> std::io::Result<usize> {
        Err(ErrorKind::Unsupported.into())
    }

    fn shutdown_write(&mut self) -> std::io::Result<()> {
        Ok(())
    }

    fn socket(&mut self) -> &mut partyline::conn::Stream {
        unreachable!("a striped link never asks for a socket while reading")
    }
}

/// Reads `data` (see `streams_of`) as the streams of a striped link from rank `PEER`, as the
/// receive path does. Returns how many bytes came out in order at a clean end, or why the link
/// was refused. Panics (a finding) if more comes out than went in.
pub fn chunks(data: &[u8]) -> Result<usize, String> {
    let streams: Vec<Box<dyn Transport>> =
        streams_of(data).into_iter().map(|bytes| Box::new(Replay { bytes, at: 0 }) as Box<dyn Transport>).collect();
    let mut link = Striped::new(streams);
    let mut buf = [0u8; 4096];
    let mut total = 0;
    loop {
        match link.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) => return Err(e.to_string()),
        }
        assert!(total <= data.len(), "a striped link delivered more bytes than its streams carried");
    }
    Ok(total)
}
