//! What partyrun and its remote agent say over an SSH channel: the launch request, then framed stdin one way and framed output and the exit the other.
//!
//! Launcher → agent: `MAGIC`, the launcher's version, then the `Spec` (length-prefixed), then
//! frames. Agent → launcher: frames only, starting with `Hello`. A frame is a kind byte, a
//! little-endian u32 length and that many bytes. The version comes before anything else, so
//! that two partyline versions find out they differ before they misread each other.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

const MAGIC: &[u8; 8] = b"PARTYAG\x01";
/// Bounds what either side buffers for one frame or spec; output comes in smaller pieces.
pub const MAX_FRAME: usize = 1 << 20;
/// This build's version: the launcher and the agent must agree on it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// TLS credentials for one rank, shipped over its SSH channel and never written to disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    Certs { ca: Vec<u8>, cert: Vec<u8>, key: Vec<u8> },
    PreShared(Vec<u8>),
}

/// Everything the agent needs to start one rank.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub rank: u32,
    pub program: OsString,
    pub args: Vec<OsString>,
    /// Set in the rank, on top of the agent's own environment.
    pub env: Vec<(OsString, OsString)>,
    pub wdir: OsString,
    pub coordinator_port: u16,
    /// The launcher's address as the user gave it (`--launcher-address`), if any.
    pub coordinator_host: Option<String>,
    /// The launcher's own guess at its address as seen from this host, used only when SSH
    /// does not tell the agent where the connection came from.
    pub suggested_host: Option<String>,
    pub credentials: Option<Credentials>,
    /// Rank 0 reads partyrun's stdin: `Frame::Stdin` carries it.
    pub forward_stdin: bool,
    /// Between SIGTERM and SIGKILL when the launcher goes away.
    pub kill_grace_ms: u32,
}

/// One framed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Launcher → agent: bytes for the rank's stdin.
    Stdin(Vec<u8>),
    /// Launcher → agent: partyrun's stdin ended.
    StdinEnd,
    /// Agent → launcher, first: the agent's version and the launcher address it gave the rank.
    Hello {
        version: String,
        coordinator: String,
    },
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    /// The rank could not be started; partyrun exits with `status` after reporting `why`.
    Failed {
        status: i32,
        why: String,
    },
    /// The rank ended: `signal` if killed by one, else `code`; `report` is its exit report.
    Exit {
        code: i32,
        signal: i32,
        report: String,
    },
}

struct Writer(Vec<u8>);

impl Writer {
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
    }
    fn opt(&mut self, s: &Option<String>) {
        self.0.push(s.is_some() as u8);
        self.bytes(s.as_deref().unwrap_or("").as_bytes());
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.0.len() < n {
            return Err(malformed("it ends early"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> io::Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn bytes(&mut self) -> io::Result<Vec<u8>> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
    fn os(&mut self) -> io::Result<OsString> {
        Ok(OsString::from_vec(self.bytes()?))
    }
    fn string(&mut self) -> io::Result<String> {
        String::from_utf8(self.bytes()?).map_err(|_| malformed("a text is not UTF-8"))
    }
    fn opt(&mut self) -> io::Result<Option<String>> {
        let present = self.u8()? != 0;
        let s = self.string()?;
        Ok(present.then_some(s))
    }
    fn list(&mut self) -> io::Result<Vec<OsString>> {
        let n = self.u32()? as usize;
        (0..n.min(MAX_FRAME)).map(|_| self.os()).collect()
    }
}

fn malformed(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("not a partyrun agent message: {why}"))
}

/// Writes the greeting and the spec, for an agent of any version to read.
pub fn write_spec(out: &mut impl Write, spec: &Spec) -> io::Result<()> {
    let mut w = Writer(Vec::new());
    w.u32(spec.rank);
    w.bytes(spec.program.as_bytes());
    w.u32(spec.args.len() as u32);
    spec.args.iter().for_each(|a| w.bytes(a.as_bytes()));
    w.u32(spec.env.len() as u32);
    for (k, v) in &spec.env {
        w.bytes(k.as_bytes());
        w.bytes(v.as_bytes());
    }
    w.bytes(spec.wdir.as_bytes());
    w.u32(u32::from(spec.coordinator_port));
    w.opt(&spec.coordinator_host);
    w.opt(&spec.suggested_host);
    match &spec.credentials {
        None => w.0.push(0),
        Some(Credentials::Certs { ca, cert, key }) => {
            w.0.push(1);
            [ca, cert, key].into_iter().for_each(|b| w.bytes(b));
        }
        Some(Credentials::PreShared(psk)) => {
            w.0.push(2);
            w.bytes(psk);
        }
    }
    w.0.push(spec.forward_stdin as u8);
    w.u32(spec.kill_grace_ms);
    let mut head = Writer(MAGIC.to_vec());
    head.bytes(VERSION.as_bytes());
    head.bytes(&w.0);
    out.write_all(&head.0)?;
    out.flush()
}

/// Reads the launcher's version; the caller compares it before reading the spec.
pub fn read_version(input: &mut impl Read) -> io::Result<String> {
    let mut magic = [0u8; 8];
    input.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(malformed("wrong magic; run `partyrun --remote-agent` only from partyrun"));
    }
    String::from_utf8(read_sized(input)?).map_err(|_| malformed("the version is not UTF-8"))
}

pub fn read_spec(input: &mut impl Read) -> io::Result<Spec> {
    let body = read_sized(input)?;
    let mut r = Reader(&body);
    let rank = r.u32()?;
    let program = r.os()?;
    let args = r.list()?;
    let n = r.u32()? as usize;
    let env = (0..n.min(MAX_FRAME)).map(|_| Ok((r.os()?, r.os()?))).collect::<io::Result<_>>()?;
    let wdir = r.os()?;
    let coordinator_port = u16::try_from(r.u32()?).map_err(|_| malformed("bad port"))?;
    let coordinator_host = r.opt()?;
    let suggested_host = r.opt()?;
    let credentials = match r.u8()? {
        0 => None,
        1 => Some(Credentials::Certs { ca: r.bytes()?, cert: r.bytes()?, key: r.bytes()? }),
        2 => Some(Credentials::PreShared(r.bytes()?)),
        _ => return Err(malformed("unknown kind of credentials")),
    };
    let forward_stdin = r.u8()? != 0;
    let kill_grace_ms = r.u32()?;
    if !r.0.is_empty() {
        return Err(malformed("bytes after the spec"));
    }
    Ok(Spec {
        rank,
        program,
        args,
        env,
        wdir,
        coordinator_port,
        coordinator_host,
        suggested_host,
        credentials,
        forward_stdin,
        kill_grace_ms,
    })
}

fn read_sized(input: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    input.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(malformed("a length beyond the limit"));
    }
    let mut body = vec![0u8; len];
    input.read_exact(&mut body)?;
    Ok(body)
}

impl Frame {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer(Vec::new());
        let kind = match self {
            Frame::Stdin(b) => {
                w.0.extend_from_slice(b);
                1
            }
            Frame::StdinEnd => 2,
            Frame::Hello { version, coordinator } => {
                [version, coordinator].into_iter().for_each(|s| w.bytes(s.as_bytes()));
                3
            }
            Frame::Stdout(b) => {
                w.0.extend_from_slice(b);
                4
            }
            Frame::Stderr(b) => {
                w.0.extend_from_slice(b);
                5
            }
            Frame::Failed { status, why } => {
                w.u32(*status as u32);
                w.bytes(why.as_bytes());
                6
            }
            Frame::Exit { code, signal, report } => {
                w.u32(*code as u32);
                w.u32(*signal as u32);
                w.bytes(report.as_bytes());
                7
            }
        };
        let mut out = Vec::with_capacity(5 + w.0.len());
        out.push(kind);
        out.extend_from_slice(&(w.0.len() as u32).to_le_bytes());
        out.extend_from_slice(&w.0);
        out
    }

    /// Writes one frame whole (`Stdin`/`Stdout`/`Stderr` payloads above `MAX_FRAME` must be split by the caller).
    pub fn write_to(&self, out: &mut (impl Write + ?Sized)) -> io::Result<()> {
        out.write_all(&self.encode())?;
        out.flush()
    }

    /// The next frame; `Ok(None)` at a clean end of stream (between frames).
    pub fn read_from(input: &mut impl Read) -> io::Result<Option<Frame>> {
        let mut kind = [0u8; 1];
        match input.read(&mut kind) {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Frame::read_from(input),
            Err(e) => return Err(e),
        }
        let body = read_sized(input)?;
        let mut r = Reader(&body);
        let frame = match kind[0] {
            1 => Frame::Stdin(body.clone()),
            2 => Frame::StdinEnd,
            3 => Frame::Hello { version: r.string()?, coordinator: r.string()? },
            4 => Frame::Stdout(body.clone()),
            5 => Frame::Stderr(body.clone()),
            6 => Frame::Failed { status: r.u32()? as i32, why: r.string()? },
            7 => Frame::Exit { code: r.u32()? as i32, signal: r.u32()? as i32, report: r.string()? },
            k => return Err(malformed(&format!("unknown frame kind {k}"))),
        };
        Ok(Some(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec {
            rank: 2,
            program: "/bin/prog".into(),
            args: vec!["-x".into(), OsString::from_vec(vec![0xff, b' '])],
            env: vec![("A".into(), "1=2".into())],
            wdir: "/tmp".into(),
            coordinator_port: 7000,
            coordinator_host: None,
            suggested_host: Some("10.0.0.1".into()),
            credentials: Some(Credentials::Certs { ca: b"ca".to_vec(), cert: b"c".to_vec(), key: b"k".to_vec() }),
            forward_stdin: true,
            kill_grace_ms: 1000,
        }
    }

    #[test]
    fn spec_round_trips_after_the_version() {
        let mut wire = Vec::new();
        write_spec(&mut wire, &spec()).unwrap();
        let mut input = &wire[..];
        assert_eq!(read_version(&mut input).unwrap(), VERSION);
        assert_eq!(read_spec(&mut input).unwrap(), spec());
        assert!(input.is_empty());
    }

    #[test]
    fn frames_round_trip() {
        let frames = [
            Frame::Stdin(b"in".to_vec()),
            Frame::StdinEnd,
            Frame::Hello { version: "1".into(), coordinator: "10.0.0.1:7".into() },
            Frame::Stdout(vec![0, 255, b'\n']),
            Frame::Stderr(Vec::new()),
            Frame::Failed { status: 127, why: "no such file".into() },
            Frame::Exit { code: 3, signal: 0, report: "collateral 1 lost".into() },
        ];
        let wire: Vec<u8> = frames.iter().flat_map(Frame::encode).collect();
        let mut input = &wire[..];
        for f in &frames {
            assert_eq!(Frame::read_from(&mut input).unwrap().as_ref(), Some(f));
        }
        assert_eq!(Frame::read_from(&mut input).unwrap(), None);
    }

    #[test]
    fn garbage_is_refused_not_misread() {
        assert!(read_version(&mut &b"SSH-2.0-OpenSSH\r\n"[..]).unwrap_err().to_string().contains("wrong magic"));
        let mut huge = vec![4u8];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(Frame::read_from(&mut &huge[..]).unwrap_err().to_string().contains("limit"));
        assert!(Frame::read_from(&mut &[9u8, 0, 0, 0, 0][..]).unwrap_err().to_string().contains("kind 9"));
        let cut = Frame::Hello { version: "1".into(), coordinator: "c".into() }.encode();
        assert!(Frame::read_from(&mut &cut[..cut.len() - 1]).is_err());
        let mut wire = Vec::new();
        write_spec(&mut wire, &spec()).unwrap();
        for cut in [12, wire.len() - 1] {
            let mut input = &wire[..cut];
            let whole = read_version(&mut input).and_then(|_| read_spec(&mut input));
            assert!(whole.is_err(), "cut at {cut}");
        }
    }
}
