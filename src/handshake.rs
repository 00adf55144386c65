//! The greeting on a new link: both ends prove they belong to the same job and say who they are.

use crate::error::{err, Result};
use std::io::{Read, Write};

/// 4: 64-byte frame headers with acknowledgements and checksums, reconnects, links of several
/// streams (`Greeting::Join`), and checksums agreed per link (`Hello::checks`).
pub const PROTOCOL_VERSION: u16 = 4;
pub const MAGIC: &[u8; 8] = b"PARTYLN\x01";
const MAX_TEXT: usize = 1024;

/// What each end says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub version: u16,
    pub job_id: String,
    pub rank: u32,
    pub size: u32,
    /// In `Hello` and `Accept`: this end asks for CRC32C checksums on the link's frames (see
    /// `Checksums`); the link has them if either end asks.
    pub checks: bool,
}

/// Re-establishing a broken link: who is asking, for which link, and how far it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    pub hello: Hello,
    /// The rank at the other end of the link.
    pub target: u32,
    /// Chosen by the dialing side, higher at every attempt: an older connection never
    /// replaces a newer one.
    pub epoch: u64,
    /// Sequenced frames the sender has received on this link so far.
    pub received: u64,
}

/// One handshake message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Greeting {
    /// Sent by the connecting side.
    Hello(Hello),
    /// The accepting side's answer when it takes the link.
    Accept(Hello),
    /// The accepting side's answer when it refuses the link, with the reason.
    Reject(String),
    /// The higher rank re-establishes a broken link.
    Resume(Resume),
    /// The lower rank's answer to `Resume`.
    Resumed(Resume),
    /// The lower rank saw the link break: the higher rank should dial again. Also tells the
    /// lower rank that the higher one still runs (its port answers).
    Poke(Resume),
    /// An extra stream of the link that the `Hello` or `Resume` of the same epoch opens next.
    Join(Join),
}

/// An extra connection of a link carried by several (see `stripe`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    pub hello: Hello,
    pub target: u32,
    /// 0 at `MPI_Init`; a reconnect's epoch (`Resume::epoch`) after a break.
    pub epoch: u64,
    /// This stream's place, from 1 (the `Hello` or `Resume` connection is stream 0).
    pub index: u32,
    /// How many streams the link has in all.
    pub count: u32,
}

const RESUME_EXTRA: usize = 20;

impl Greeting {
    pub fn encode(&self) -> Vec<u8> {
        let (kind, hello, text, resume) = match self {
            Greeting::Hello(h) => (1u8, Some(h), h.job_id.as_str(), None),
            Greeting::Accept(h) => (2, Some(h), h.job_id.as_str(), None),
            Greeting::Reject(reason) => (3, None, reason.as_str(), None),
            Greeting::Resume(r) => (4, Some(&r.hello), r.hello.job_id.as_str(), Some(r)),
            Greeting::Resumed(r) => (5, Some(&r.hello), r.hello.job_id.as_str(), Some(r)),
            Greeting::Poke(r) => (6, Some(&r.hello), r.hello.job_id.as_str(), Some(r)),
            Greeting::Join(j) => {
                // The same layout as a resume's: the counts take the place of `received`.
                let r = Resume {
                    hello: j.hello.clone(),
                    target: j.target,
                    epoch: j.epoch,
                    received: u64::from(j.index) << 32 | u64::from(j.count),
                };
                let mut b = Greeting::Resume(r).encode();
                b[10] = 7;
                return b;
            }
        };
        let text = &text.as_bytes()[..text.len().min(MAX_TEXT)];
        let mut b = Vec::with_capacity(22 + text.len());
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&hello.map_or(PROTOCOL_VERSION, |h| h.version).to_le_bytes());
        b.push(kind);
        b.push(hello.is_some_and(|h| h.checks) as u8);
        b.extend_from_slice(&hello.map_or(0, |h| h.rank).to_le_bytes());
        b.extend_from_slice(&hello.map_or(0, |h| h.size).to_le_bytes());
        b.extend_from_slice(&(text.len() as u16).to_le_bytes());
        b.extend_from_slice(text);
        if let Some(r) = resume {
            b.extend_from_slice(&r.target.to_le_bytes());
            b.extend_from_slice(&r.epoch.to_le_bytes());
            b.extend_from_slice(&r.received.to_le_bytes());
        }
        b
    }

    /// Reads one greeting. Anything that is not a well-formed greeting is an error naming `who`.
    pub fn read_from(r: &mut impl Read, who: &str) -> Result<Greeting> {
        let mut fixed = [0u8; 22];
        r.read_exact(&mut fixed)
            .map_err(|e| err!(Other, "handshake with {who} failed while reading its greeting: {e}"))?;
        if &fixed[..8] != MAGIC {
            return Err(err!(Other, "{who} is not a partyline peer (bad handshake magic)"));
        }
        let version = u16::from_le_bytes([fixed[8], fixed[9]]);
        let kind = fixed[10];
        let rank = u32::from_le_bytes(fixed[12..16].try_into().expect("4 bytes"));
        let size = u32::from_le_bytes(fixed[16..20].try_into().expect("4 bytes"));
        let text_len = u16::from_le_bytes([fixed[20], fixed[21]]) as usize;
        if text_len > MAX_TEXT || fixed[11] > 1 {
            return Err(err!(Other, "{who} sent a malformed handshake"));
        }
        let mut text = vec![0u8; text_len];
        r.read_exact(&mut text)
            .map_err(|e| err!(Other, "handshake with {who} failed while reading its greeting: {e}"))?;
        let text = String::from_utf8(text).map_err(|_| err!(Other, "{who} sent a handshake that is not UTF-8"))?;
        let hello = Hello { version, job_id: text.clone(), rank, size, checks: fixed[11] == 1 };
        let resume = |r: &mut dyn Read| -> Result<Resume> {
            let mut extra = [0u8; RESUME_EXTRA];
            r.read_exact(&mut extra)
                .map_err(|e| err!(Other, "handshake with {who} failed while reading its greeting: {e}"))?;
            Ok(Resume {
                hello: hello.clone(),
                target: u32::from_le_bytes(extra[..4].try_into().expect("4 bytes")),
                epoch: u64::from_le_bytes(extra[4..12].try_into().expect("8 bytes")),
                received: u64::from_le_bytes(extra[12..].try_into().expect("8 bytes")),
            })
        };
        match kind {
            1 => Ok(Greeting::Hello(hello)),
            2 => Ok(Greeting::Accept(hello)),
            3 => Ok(Greeting::Reject(text)),
            4 => Ok(Greeting::Resume(resume(r)?)),
            5 => Ok(Greeting::Resumed(resume(r)?)),
            6 => Ok(Greeting::Poke(resume(r)?)),
            7 => {
                let r = resume(r)?;
                let (index, count) = ((r.received >> 32) as u32, r.received as u32);
                if index == 0 || index >= count || count as usize > crate::stripe::MAX_STREAMS {
                    return Err(err!(Other, "{who} sent a malformed stream greeting (stream {index} of {count})"));
                }
                Ok(Greeting::Join(Join { hello: r.hello, target: r.target, epoch: r.epoch, index, count }))
            }
            k => Err(err!(Other, "{who} sent an unknown handshake message kind {k}")),
        }
    }

    pub fn write_to(&self, w: &mut impl Write, who: &str) -> Result<()> {
        w.write_all(&self.encode())
            .and_then(|()| w.flush())
            .map_err(|e| err!(Other, "handshake with {who} failed while sending: {e}"))
    }
}

impl Hello {
    /// Why `theirs` cannot join a job that `self` is in, if it cannot.
    pub fn mismatch(&self, theirs: &Hello) -> Option<String> {
        if theirs.version != self.version {
            return Some(format!(
                "protocol version differs: peer speaks {}, we speak {}; run the same partyline release on every party",
                theirs.version, self.version
            ));
        }
        if theirs.job_id != self.job_id {
            return Some(format!(
                "job id differs: peer is in job {:?}, we are in job {:?}; set the same PARTYLINE_JOB_ID on every party",
                theirs.job_id, self.job_id
            ));
        }
        if theirs.size != self.size {
            return Some(format!(
                "job size differs: peer says {} ranks, we say {}; set the same PARTYLINE_SIZE on every party",
                theirs.size, self.size
            ));
        }
        if theirs.rank >= self.size {
            return Some(format!("peer claims rank {}, which is out of range for {} ranks", theirs.rank, self.size));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(rank: u32) -> Hello {
        Hello { version: PROTOCOL_VERSION, job_id: "job-a".into(), rank, size: 3, checks: false }
    }

    #[test]
    fn greetings_round_trip() {
        let r = Resume { hello: hello(2), target: 1, epoch: 7, received: 1 << 40 };
        let all = [
            Greeting::Hello(hello(1)),
            Greeting::Hello(Hello { checks: true, ..hello(1) }),
            Greeting::Accept(hello(0)),
            Greeting::Accept(Hello { checks: true, ..hello(0) }),
            Greeting::Reject("no".into()),
            Greeting::Resume(r.clone()),
            Greeting::Resumed(r.clone()),
            Greeting::Poke(r),
            Greeting::Join(Join { hello: hello(2), target: 0, epoch: 3, index: 2, count: 4 }),
        ];
        for g in all {
            let bytes = g.encode();
            assert_eq!(Greeting::read_from(&mut &bytes[..], "x").unwrap(), g);
        }
    }

    #[test]
    fn garbage_and_truncation_are_errors() {
        let e = Greeting::read_from(&mut &b"GET / HTTP/1.1\r\n\r\n......"[..], "10.0.0.9:555").unwrap_err();
        assert!(e.message.contains("not a partyline peer"), "{e}");
        let bytes = Greeting::Hello(hello(1)).encode();
        assert!(Greeting::read_from(&mut &bytes[..10], "x").is_err());
        let mut unknown_flag = bytes.clone();
        unknown_flag[11] = 2;
        assert!(Greeting::read_from(&mut &unknown_flag[..], "x").unwrap_err().message.contains("malformed handshake"));
        let join = |index, count| Greeting::Join(Join { hello: hello(2), target: 0, epoch: 0, index, count });
        for (index, count) in [(0, 2), (2, 2), (1, 65)] {
            let e = Greeting::read_from(&mut &join(index, count).encode()[..], "x").unwrap_err();
            assert!(e.message.contains("malformed stream greeting"), "{e}");
        }
    }

    #[test]
    fn mismatches_name_what_differs() {
        let ours = hello(0);
        let mut theirs = hello(1);
        assert_eq!(ours.mismatch(&theirs), None);
        theirs.job_id = "job-b".into();
        let why = ours.mismatch(&theirs).unwrap();
        assert!(why.contains("job-a") && why.contains("job-b"), "{why}");
        let mut theirs = hello(7);
        assert!(ours.mismatch(&theirs).unwrap().contains("rank 7"));
        theirs.rank = 1;
        theirs.size = 4;
        assert!(ours.mismatch(&theirs).unwrap().contains("size"));
    }
}
