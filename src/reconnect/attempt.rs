//! One broken link's attempts to come back, and the opening of a dialed link's connections (also ahead of a break, for a link that widens).

use super::Relink;
use crate::bundle::{dial_extras, Bundle, JoinFailure};
use crate::channel::Channel;
use crate::config::Config;
use crate::conn::Conn;
use crate::handshake::{Greeting, Hello, Join, Resume};
use crate::link::dead_link;
use crate::listener::resolve;
use crate::tls::Tls;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// A dialed link's connections, open, encrypted where TLS is on, and its extra streams held by
/// the peer: all that is left is the resume, which says how far each side got.
pub struct Opened {
    first: Channel,
    more: Vec<Channel>,
    epoch: u64,
}

impl Opened {
    /// How many connections the link will run over.
    pub fn count(&self) -> usize {
        1 + self.more.len()
    }

    /// Closes connections the link no longer needs (it broke, or says goodbye), telling the
    /// peer why, so that it does not take them for a failed reconnect.
    pub fn withdraw(mut self) {
        let why = "the link these connections were opened for has moved on".to_string();
        let _ = Greeting::Reject(why).write_to(&mut self.first, "the peer");
    }
}

/// Who is dialing whom, for `open`.
pub struct Dialer<'a> {
    pub cfg: &'a Config,
    pub tls: Option<&'a Tls>,
    pub me: &'a Hello,
    pub peer: usize,
    /// The last epoch each dialed link proposed; a new dial takes the next.
    pub epochs: &'a [AtomicU64],
}

impl Dialer<'_> {
    /// Opens `streams` connections to the peer within `left`: the first alongside the extra
    /// streams (a round trip less than one after the other); the resume, for which the peer
    /// must hold the extras, is sent only once all are open.
    pub fn open(&self, streams: usize, left: Duration) -> Result<Opened, Failure> {
        let peer = self.peer;
        let addr = resolve(&self.cfg.peers[peer]).map_err(|e| Retry(e.to_string()))?;
        let deadline = greeting_deadline(self.cfg, left);
        let epoch = self.epochs[peer].fetch_add(1, SeqCst) + 1;
        let who = format!("rank {peer}");
        let join = Join { hello: self.me.clone(), target: peer as u32, epoch, index: 0, count: streams as u32 };
        let (first, more) = std::thread::scope(|scope| {
            let first = scope.spawn(|| {
                let conn = connect(self.cfg, peer, addr, left)?;
                Channel::connect(conn, deadline, self.tls, peer).map_err(|e| Retry(crate::tls::explain(&who, &e)))
            });
            let more = dial_extras(addr, self.cfg.local_links, self.tls, peer, &join, deadline);
            let first = first.join().unwrap_or_else(|_| Err(Retry(format!("dialing {who} panicked"))));
            (first, more)
        });
        // The first connection says whether the peer is gone or out of reach; only past it do
        // the extras' failures count as theirs.
        let first = first?;
        let more = more.map_err(|e| {
            Extras(match e {
                JoinFailure::Refused(why) => format!("{who} refused an extra stream: {why}"),
                JoinFailure::Failed(why) => why,
            })
        })?;
        Ok(Opened { first, more, epoch })
    }
}

/// When the greetings on a connection dialed with `left` to go must be done.
fn greeting_deadline(cfg: &Config, left: Duration) -> Instant {
    Instant::now() + cfg.handshake_timeout.min(left.max(Duration::from_millis(200)))
}

/// Dials the peer's port at `addr`. A refused connection means the peer is gone.
fn connect(cfg: &Config, peer: usize, addr: SocketAddr, left: Duration) -> Result<Conn, Failure> {
    let conn = match crate::dial::dial(addr, left.min(Duration::from_secs(2)), cfg.local_links) {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Err(Gone(format!(
                "rank {peer} is gone: its port {addr} refuses connections, so it exited or crashed without calling MPI_Finalize"
            )))
        }
        other => other.map_err(|e| Retry(e.to_string()))?,
    };
    // The greeting's small writes must not wait for delayed acknowledgements (40 ms each).
    conn.set_nodelay();
    Ok(conn)
}

/// One broken link's attempts to come back.
pub struct Attempt {
    pub peer: usize,
    pub cfg: Config,
    pub tls: Option<Arc<Tls>>,
    pub me: Hello,
    pub received: u64,
    /// The broken connection's epoch (a poke names it, so a stale one is ignored).
    pub epoch: u64,
    pub deadline: Instant,
    pub cause: String,
    pub still: Arc<Vec<AtomicU64>>,
    pub generation: u64,
    pub epochs: Arc<Vec<AtomicU64>>,
    pub streams: usize,
    /// The count before the link reopened to widen: where the extra streams cannot be opened,
    /// the link goes back to it (in `counts`, for later reconnects) rather than fail.
    pub narrower: Option<usize>,
    pub counts: Arc<Vec<AtomicUsize>>,
    /// Connections opened before the link broke (a widening): the first try resumes on them.
    pub opened: Option<Opened>,
}

impl Attempt {
    pub fn run(&mut self) -> Option<Relink> {
        let peer = self.peer;
        let mut backoff = Duration::from_millis(20);
        let mut last = String::from("no attempt finished");
        let mut answered = false;
        loop {
            if self.still[peer].load(SeqCst) != self.generation {
                return None;
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let alive = if answered {
                    format!("; rank {peer} still runs (it answered), so the network between the two ranks failed")
                } else {
                    String::new()
                };
                let why = format!(
                    "{}; it could not be re-established within {} s (PARTYLINE_RECONNECT_TIMEOUT; last attempt: {last}){alive}",
                    self.cause,
                    self.cfg.reconnect_timeout.as_secs_f64()
                );
                return Some(Relink::Dead { peer, why: dead_link(self.cfg.rank, peer, &why) });
            }
            let outcome = match self.opened.take() {
                Some(opened) => self.resume(opened),
                None => self.once(left),
            };
            match outcome {
                Ok(event) => return Some(event),
                Err(Gone(why)) => {
                    let why = format!("{}; {why}", self.cause);
                    return Some(Relink::Dead { peer, why: dead_link(self.cfg.rank, peer, &why) });
                }
                Err(Retry(why)) => last = why,
                Err(Extras(why)) if self.narrower.is_none() => last = why,
                Err(Extras(why)) => {
                    let narrower = self.narrower.take().unwrap_or(1);
                    crate::log::info(&format!(
                        "could not open {} connections to rank {peer} ({why}); the link keeps {narrower}",
                        self.streams
                    ));
                    self.streams = narrower;
                    if let Some(count) = self.counts.get(peer) {
                        count.store(narrower, SeqCst);
                    }
                    continue;
                }
                Err(Answered(why)) => {
                    answered = true;
                    last = why;
                }
            }
            std::thread::sleep(backoff.min(self.deadline.saturating_duration_since(Instant::now())));
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One try: a resume if we dial, a poke if the peer does.
    fn once(&self, left: Duration) -> Result<Relink, Failure> {
        if self.cfg.rank > self.peer {
            let dialer = Dialer {
                cfg: &self.cfg,
                tls: self.tls.as_deref(),
                me: &self.me,
                peer: self.peer,
                epochs: &self.epochs,
            };
            return self.resume(dialer.open(self.streams, left)?);
        }
        let peer = self.peer;
        let addr = resolve(&self.cfg.peers[peer]).map_err(|e| Retry(e.to_string()))?;
        let (conn, deadline) = (connect(&self.cfg, peer, addr, left)?, greeting_deadline(&self.cfg, left));
        let who = format!("rank {peer}");
        let mut channel = Channel::connect(conn, deadline, self.tls.as_deref(), peer)
            .map_err(|e| Retry(crate::tls::explain(&who, &e)))?;
        let mine = Resume { hello: self.me.clone(), target: peer as u32, epoch: self.epoch, received: self.received };
        Greeting::Poke(mine).write_to(&mut channel, &who).map_err(|e| Retry(e.message))?;
        match Greeting::read_from(&mut channel, &who).map_err(|e| Retry(e.message))? {
            // It runs; whether it dials back is up to it. Keep poking until it does.
            Greeting::Accept(_) => Err(Answered(format!("rank {peer} runs but has not reconnected yet"))),
            Greeting::Reject(why) => Err(Retry(format!("rank {peer} refused the poke: {why}"))),
            _ => Err(Retry(format!("rank {peer} answered the poke with something else"))),
        }
    }

    /// Tells the peer over `opened` how many of its frames we received, and learns the same.
    fn resume(&self, opened: Opened) -> Result<Relink, Failure> {
        let (peer, who) = (self.peer, format!("rank {}", self.peer));
        let Opened { mut first, more, epoch } = opened;
        let mine = Resume { hello: self.me.clone(), target: peer as u32, epoch, received: self.received };
        Greeting::Resume(mine).write_to(&mut first, &who).map_err(|e| Retry(e.message))?;
        match Greeting::read_from(&mut first, &who).map_err(|e| Retry(e.message))? {
            Greeting::Resumed(r) if r.hello.rank as usize == peer && r.epoch == epoch => Ok(Relink::Dialed {
                peer,
                bundle: Bundle { first, more, checksums: false },
                received: r.received,
                epoch,
            }),
            Greeting::Reject(why) => Err(Retry(format!("rank {peer} refused: {why}"))),
            _ => Err(Retry(format!("rank {peer} answered the reconnect with something else"))),
        }
    }
}

pub enum Failure {
    /// Worth another attempt.
    Retry(String),
    /// Worth another attempt, and the peer answered: it still runs.
    Answered(String),
    /// The peer is gone for good.
    Gone(String),
    /// The extra streams could not be opened: a link that reopens to widen goes back to the
    /// count it had, at once; any other tries again.
    Extras(String),
}
use Failure::{Answered, Extras, Gone, Retry};

impl Failure {
    /// What went wrong, for a log line.
    pub fn why(&self) -> &str {
        match self {
            Retry(why) | Answered(why) | Gone(why) | Extras(why) => why,
        }
    }
}
