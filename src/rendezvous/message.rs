//! Rendezvous messages (a party's registration, the coordinator's answers) and the checks on a registration.

use crate::config::is_host_port;
use std::fmt;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr};

pub const RENDEZVOUS_VERSION: u16 = 1;
/// Differs from the mesh handshake's magic, so a party pointed at the wrong port is told so.
const MAGIC: &[u8; 8] = b"PARTYRV\x01";
/// magic, version (u16), kind (u8), reserved (u8), body length (u32).
const HEADER: usize = 16;
/// 64 ranks of addresses fit easily; anything larger is not a coordinator talking.
const MAX_BODY: usize = 64 << 10;
const MAX_TEXT: usize = 4096;

/// What a party tells the coordinator about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub version: u16,
    pub job_id: String,
    pub rank: u32,
    pub size: u32,
    /// `host:port` the others should use; `None` asks the coordinator to use the IP it sees, plus `port`.
    pub advertise: Option<String>,
    /// The port this party's mesh listener is bound to.
    pub port: u16,
}

/// One rendezvous message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Party to coordinator, once per connection.
    Register(Registration),
    /// Which ranks have registered so far (bit r for rank r); sent whenever that changes.
    Status(u64),
    /// Every rank's address in rank order: the rendezvous is complete.
    Table(Vec<String>),
    /// This party is turned away (wrong job, duplicate rank...); the text says why.
    Refuse(String),
    /// The rendezvous failed for everyone (a timeout); the text names the missing ranks.
    Fail(String),
}

/// Why a message could not be read.
#[derive(Debug)]
pub enum ReadError {
    Io(std::io::Error),
    /// Bytes arrived, but not a rendezvous message.
    Malformed(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::Malformed(why) => f.write_str(why),
        }
    }
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    // Cut at a character boundary so the receiver still gets valid UTF-8.
    let mut end = s.len().min(MAX_TEXT);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    b.extend_from_slice(&(end as u16).to_le_bytes());
    b.extend_from_slice(&s.as_bytes()[..end]);
}

impl Message {
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        let (kind, version) = match self {
            Message::Register(r) => {
                body.extend_from_slice(&r.rank.to_le_bytes());
                body.extend_from_slice(&r.size.to_le_bytes());
                body.extend_from_slice(&r.port.to_le_bytes());
                put_str(&mut body, &r.job_id);
                put_str(&mut body, r.advertise.as_deref().unwrap_or(""));
                (1u8, r.version)
            }
            Message::Status(bits) => {
                body.extend_from_slice(&bits.to_le_bytes());
                (2, RENDEZVOUS_VERSION)
            }
            Message::Table(addrs) => {
                body.extend_from_slice(&(addrs.len() as u32).to_le_bytes());
                addrs.iter().for_each(|a| put_str(&mut body, a));
                (3, RENDEZVOUS_VERSION)
            }
            Message::Refuse(why) => {
                put_str(&mut body, why);
                (4, RENDEZVOUS_VERSION)
            }
            Message::Fail(why) => {
                put_str(&mut body, why);
                (5, RENDEZVOUS_VERSION)
            }
        };
        let mut b = Vec::with_capacity(HEADER + body.len());
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&version.to_le_bytes());
        b.push(kind);
        b.push(0);
        b.extend_from_slice(&(body.len() as u32).to_le_bytes());
        b.extend_from_slice(&body);
        b
    }

    pub fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        w.write_all(&self.encode())
    }

    /// Reads one message; the length is checked before the body is read, so garbage costs little.
    pub fn read_from(r: &mut impl Read) -> Result<Message, ReadError> {
        let mut head = [0u8; HEADER];
        r.read_exact(&mut head).map_err(ReadError::Io)?;
        if &head[..8] != MAGIC {
            return Err(ReadError::Malformed("not a partyline rendezvous message (bad magic)".into()));
        }
        let version = u16::from_le_bytes([head[8], head[9]]);
        let kind = head[10];
        let len = u32::from_le_bytes([head[12], head[13], head[14], head[15]]) as usize;
        if head[11] != 0 || len > MAX_BODY {
            return Err(ReadError::Malformed(format!("malformed rendezvous header (kind {kind}, length {len})")));
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).map_err(ReadError::Io)?;
        let mut c = Cursor { body: &body, at: 0 };
        let message = match kind {
            1 => {
                let (rank, size, port) = (c.u32()?, c.u32()?, c.u16()?);
                let job_id = c.text()?;
                let advertise = Some(c.text()?).filter(|a| !a.is_empty());
                Message::Register(Registration { version, job_id, rank, size, advertise, port })
            }
            2 => Message::Status(u64::from_le_bytes(c.take(8)?.try_into().expect("8 bytes"))),
            3 => {
                let n = c.u32()? as usize;
                if n > crate::config::MAX_RANKS {
                    return Err(ReadError::Malformed(format!("a table of {n} ranks is more than partyline supports")));
                }
                Message::Table((0..n).map(|_| c.text()).collect::<Result<_, _>>()?)
            }
            4 => Message::Refuse(c.text()?),
            5 => Message::Fail(c.text()?),
            k => return Err(ReadError::Malformed(format!("unknown rendezvous message kind {k}"))),
        };
        if c.at != body.len() {
            return Err(ReadError::Malformed("trailing bytes after a rendezvous message".into()));
        }
        Ok(message)
    }
}

/// Reads fields off a message body; running short is a malformed message, not a panic.
struct Cursor<'a> {
    body: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], ReadError> {
        let bytes =
            self.body.get(self.at..self.at + n).ok_or_else(|| ReadError::Malformed("truncated message".into()))?;
        self.at += n;
        Ok(bytes)
    }

    fn u16(&mut self) -> Result<u16, ReadError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2 bytes")))
    }

    fn u32(&mut self) -> Result<u32, ReadError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }

    fn text(&mut self) -> Result<String, ReadError> {
        let n = self.u16()? as usize;
        // The sender cuts at MAX_TEXT; more is not a partyline peer talking.
        if n > MAX_TEXT {
            return Err(ReadError::Malformed(format!("text of {n} bytes, over the {MAX_TEXT} allowed")));
        }
        let bytes = self.take(n)?.to_vec();
        String::from_utf8(bytes).map_err(|_| ReadError::Malformed("text that is not UTF-8".into()))
    }
}

/// What the coordinator admits: one job, one size, each rank once.
#[derive(Debug, Clone)]
pub struct Expected {
    pub job_id: String,
    pub size: usize,
}

impl Expected {
    /// Why `r` cannot join, given the ranks already registered (bit r for rank r), if it cannot.
    pub fn admit(&self, r: &Registration, registered: u64) -> Result<(), String> {
        if r.version != RENDEZVOUS_VERSION {
            return Err(format!("rendezvous protocol version differs: the party speaks {}, the coordinator speaks {RENDEZVOUS_VERSION}; run the same partyline release everywhere", r.version));
        }
        if r.job_id != self.job_id {
            return Err(format!("job id differs: the party is in job {:?}, the coordinator serves job {:?}; set the same PARTYLINE_JOB_ID on every party (and --job-id on partyrun --coordinator)", r.job_id, self.job_id));
        }
        if r.size as usize != self.size {
            return Err(format!("job size differs: the party says {} ranks, the coordinator expects {}; set the same PARTYLINE_SIZE on every party (and -n on partyrun --coordinator)", r.size, self.size));
        }
        if r.rank as usize >= self.size {
            return Err(format!("rank {} is out of range for {} ranks", r.rank, self.size));
        }
        if registered & (1 << r.rank) != 0 {
            return Err(format!("rank {} is already registered: two parties claim the same rank; give each party its own PARTYLINE_RANK", r.rank));
        }
        match &r.advertise {
            // The bound keeps a full table well inside MAX_BODY.
            Some(a) if !is_host_port(a) || a.len() > 255 => {
                Err(format!("advertised address {a:?} is not host:port (at most 255 bytes); fix PARTYLINE_ADVERTISE"))
            }
            None if r.port == 0 => Err("advertised port 0 cannot be connected to".into()),
            _ => Ok(()),
        }
    }

    /// The address the others use for `r`: what it advertised, or the IP its connection came from.
    pub fn address(r: &Registration, seen: IpAddr) -> String {
        r.advertise.clone().unwrap_or_else(|| SocketAddr::new(seen, r.port).to_string())
    }
}

/// "1, 2": the ranks of `size` whose bit is clear in `registered`.
pub fn missing(registered: u64, size: usize) -> String {
    (0..size).filter(|r| registered & (1 << r) == 0).map(|r| r.to_string()).collect::<Vec<_>>().join(", ")
}

/// The timeout message every waiting party and the coordinator give.
pub fn timed_out(address: &str, secs: f64, missing: &str, raise: &str) -> String {
    format!("rendezvous at {address} timed out after {secs:.1} s: rank(s) {missing} never registered; start every party, or {raise}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(rank: u32, advertise: Option<&str>) -> Registration {
        Registration {
            version: RENDEZVOUS_VERSION,
            job_id: "job-a".into(),
            rank,
            size: 3,
            advertise: advertise.map(String::from),
            port: 4242,
        }
    }

    #[test]
    fn messages_round_trip() {
        let all = [
            Message::Register(reg(1, None)),
            Message::Register(reg(2, Some("[2001:db8::7]:7001"))),
            Message::Status(0b101),
            Message::Table(vec!["10.0.0.1:7000".into(), "h:1".into()]),
            Message::Refuse("no".into()),
            Message::Fail("timed out".into()),
        ];
        for m in all {
            assert_eq!(Message::read_from(&mut &m.encode()[..]).unwrap(), m);
        }
    }

    #[test]
    fn garbage_truncation_and_oversize_are_refused() {
        let e = Message::read_from(&mut &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..]).unwrap_err();
        assert!(e.to_string().contains("bad magic"), "{e}");
        let bytes = Message::Register(reg(1, None)).encode();
        assert!(matches!(Message::read_from(&mut &bytes[..20]), Err(ReadError::Io(_))));
        let mut huge = bytes.clone();
        huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Message::read_from(&mut &huge[..]).unwrap_err().to_string().contains("length"));
        let mut short = bytes;
        short[12..16].copy_from_slice(&4u32.to_le_bytes());
        assert!(Message::read_from(&mut &short[..]).unwrap_err().to_string().contains("truncated"));
    }

    #[test]
    fn long_text_is_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_TEXT);
        let Message::Refuse(got) = Message::read_from(&mut &Message::Refuse(long).encode()[..]).unwrap() else {
            panic!("not a refusal")
        };
        assert!(got.len() <= MAX_TEXT && got.chars().all(|c| c == 'é'));
    }

    #[test]
    fn admission_names_what_is_wrong() {
        let want = Expected { job_id: "job-a".into(), size: 3 };
        assert_eq!(want.admit(&reg(1, None), 0b001), Ok(()));
        assert!(want.admit(&reg(1, None), 0b011).unwrap_err().contains("already registered"));
        assert!(want.admit(&reg(3, None), 0).unwrap_err().contains("rank 3"));
        let mut r = reg(1, None);
        r.job_id = "job-b".into();
        let why = want.admit(&r, 0).unwrap_err();
        assert!(why.contains("job-a") && why.contains("job-b"), "{why}");
        let mut r = reg(1, None);
        r.size = 4;
        assert!(want.admit(&r, 0).unwrap_err().contains("size"));
        r = reg(1, None);
        r.version = 9;
        assert!(want.admit(&r, 0).unwrap_err().contains("version"));
        assert!(want.admit(&reg(1, Some("nohost")), 0).unwrap_err().contains("PARTYLINE_ADVERTISE"));
        r = reg(1, None);
        r.port = 0;
        assert!(want.admit(&r, 0).is_err());
    }

    #[test]
    fn addresses_and_missing_ranks() {
        let seen: IpAddr = "192.0.2.9".parse().unwrap();
        assert_eq!(Expected::address(&reg(1, None), seen), "192.0.2.9:4242");
        assert_eq!(Expected::address(&reg(1, Some("pub.example:9")), seen), "pub.example:9");
        assert_eq!(Expected::address(&reg(1, None), "::1".parse().unwrap()), "[::1]:4242");
        assert_eq!(missing(0b001, 3), "1, 2");
        let msg = timed_out("10.0.0.1:7000", 5.0, &missing(0b011, 3), "raise PARTYLINE_CONNECT_TIMEOUT");
        assert!(msg.contains("after 5.0 s: rank(s) 2 never registered"), "{msg}");
    }
}
