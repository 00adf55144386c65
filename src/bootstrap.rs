//! Opens the full mesh at `MPI_Init`: rank i connects to every lower rank and accepts every higher one.

use crate::channel::Channel;
use crate::config::Config;
use crate::error::{err, Error, Result};
use crate::handshake::{Greeting, Hello, PROTOCOL_VERSION};
use crate::listener::{bind_listener, hand_off, resolve, Handoff};
use crate::log;
use crate::tls::Tls;
use std::collections::HashSet;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

mod socket_options;
pub use socket_options::apply_link_socket_options;

/// The opened mesh, and what repairing its links later needs.
pub struct Mesh {
    /// One connected, greeted channel per peer rank (`None` at our own index).
    pub channels: Vec<Option<Channel>>,
    /// Where reconnecting and poking parties reach us for the rest of the job.
    pub listener: Option<TcpListener>,
    pub tls: Option<Arc<Tls>>,
    /// Who we are, as the greetings say it.
    pub me: Hello,
    /// The peer table (from the coordinator in rendezvous mode).
    pub peers: Vec<String>,
}

/// Opens the mesh. In rendezvous mode the peer table comes from the coordinator first (see
/// `rendezvous`).
pub fn open_mesh(cfg: &Config) -> Result<Mesh> {
    if cfg.coordinator.is_some() {
        let (listener, peers) = crate::rendezvous::meet(cfg)?;
        let cfg = Config { peers, ..cfg.clone() };
        let channels = open_mesh_with(
            &cfg,
            Some(listener.try_clone().map_err(|e| err!(Other, "cannot keep the listening socket: {e}"))?),
        )?;
        return mesh(&cfg, channels, Some(listener));
    }
    let listener = keep_listener(cfg)?;
    let channels = open_mesh_with(
        cfg,
        listener
            .as_ref()
            .map(|l| l.try_clone())
            .transpose()
            .map_err(|e| err!(Other, "cannot keep the listening socket: {e}"))?,
    )?;
    mesh(cfg, channels, listener)
}

/// Our listener, kept for the whole job: higher ranks dial it again after a break and lower
/// ones poke it. The last rank accepts nobody at `MPI_Init` but keeps one too, so a lower
/// rank can tell that it still runs; where it cannot bind one, that check is skipped.
fn keep_listener(cfg: &Config) -> Result<Option<TcpListener>> {
    if cfg.size == 1 {
        if cfg.listen_fd.is_some() {
            drop(bind_listener(cfg, "")?);
        }
        return Ok(None);
    }
    if cfg.rank + 1 < cfg.size {
        return bind_listener(cfg, &cfg.peers[cfg.rank]).map(Some);
    }
    match bind_listener(cfg, &cfg.peers[cfg.rank]) {
        Ok(l) => Ok(Some(l)),
        Err(e) => {
            log::info(&format!("no listener for liveness checks: {}", e.message));
            Ok(None)
        }
    }
}

fn mesh(cfg: &Config, channels: Vec<Option<Channel>>, listener: Option<TcpListener>) -> Result<Mesh> {
    let tls = Tls::new(&cfg.security, cfg.rank)?;
    Ok(Mesh { channels, listener, tls, me: hello(cfg), peers: cfg.peers.clone() })
}

fn hello(cfg: &Config) -> Hello {
    Hello { version: PROTOCOL_VERSION, job_id: cfg.job_id.clone(), rank: cfg.rank as u32, size: cfg.size as u32 }
}

/// Opens the mesh over `cfg.peers`, accepting on `listener` if given (already bound, e.g. the port
/// advertised at the rendezvous), else on a listener bound here.
pub fn open_mesh_with(cfg: &Config, listener: Option<TcpListener>) -> Result<Vec<Option<Channel>>> {
    let mut links: Vec<Option<Channel>> = (0..cfg.size).map(|_| None).collect();
    if cfg.size == 1 {
        return Ok(links);
    }
    if let Some(warning) = cfg.security.check_plaintext(cfg.rank, &cfg.peers)? {
        log::warn(&warning);
    }
    let tls = Tls::new(&cfg.security, cfg.rank)?;
    let me = hello(cfg);
    let deadline = Instant::now() + cfg.connect_timeout;
    let stop = Arc::new(AtomicBool::new(false));
    let acceptor = if cfg.rank + 1 < cfg.size {
        let listener = match listener {
            Some(l) => l,
            None => bind_listener(cfg, &cfg.peers[cfg.rank])?,
        };
        let (me, cfg2, stop2, tls2) = (me.clone(), cfg.clone(), stop.clone(), tls.clone());
        Some(
            std::thread::Builder::new()
                .name("partyline-accept".into())
                .spawn(move || accept_peers(listener, me, &cfg2, tls2, deadline, &stop2))
                .map_err(|e| err!(Intern, "cannot start the bootstrap thread: {e}"))?,
        )
    } else {
        None
    };
    let connected = (0..cfg.rank).try_for_each(|peer| {
        links[peer] = Some(connect_peer(cfg, tls.as_deref(), &me, peer, deadline)?);
        Ok::<(), Error>(())
    });
    if let Err(e) = connected {
        stop.store(true, Ordering::Relaxed);
        return Err(e);
    }
    if let Some(acceptor) = acceptor {
        let accepted = acceptor.join().map_err(|_| err!(Intern, "the bootstrap thread panicked"))??;
        for (peer, stream) in accepted {
            links[peer] = Some(stream);
        }
    }
    for channel in links.iter().flatten() {
        tune_link(channel.tcp(), cfg.link_timeout, cfg.socket_buffer)?;
    }
    Ok(links)
}

/// A link socket's options (see `apply_link_socket_options`), also for reconnected links.
pub fn tune_link(stream: &impl std::os::fd::AsFd, link_timeout: Duration, buffer: Option<usize>) -> Result<()> {
    apply_link_socket_options(stream, link_timeout, buffer).map_err(|e| err!(Other, "cannot set socket options: {e}"))
}

/// What to check when a peer cannot be reached, or answers as another rank: the peer list is
/// typed by hand, while in rendezvous mode each address is what that party advertised.
fn hint(cfg: &Config) -> (&'static str, &'static str) {
    if cfg.coordinator.is_some() {
        (
            "that the address it registered is reachable from here (behind NAT, set PARTYLINE_ADVERTISE on it)",
            "two parties registered the same address; set PARTYLINE_ADVERTISE to each one's own address",
        )
    } else {
        (
            "that PARTYLINE_PEERS is the same on every party",
            "PARTYLINE_PEERS lists the parties in a different order somewhere",
        )
    }
}

fn connect_peer(cfg: &Config, tls: Option<&Tls>, me: &Hello, peer: usize, deadline: Instant) -> Result<Channel> {
    let spec = &cfg.peers[peer];
    let who = format!("rank {peer} at {spec}");
    let mut backoff = Duration::from_millis(5);
    let mut last_error = String::from("no attempt finished");
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(err!(Other, "rank {} could not connect to {who} within {:.1} s (last error: {last_error}); check that rank {peer} is running and {}, or raise PARTYLINE_CONNECT_TIMEOUT", me.rank, cfg.connect_timeout.as_secs_f64(), hint(cfg).0));
        }
        let attempt =
            resolve(spec).and_then(|addr| TcpStream::connect_timeout(&addr, remaining.min(Duration::from_secs(2))));
        match attempt {
            Ok(stream) => {
                // The handshake's small writes must not wait for delayed acknowledgements.
                let _ = stream.set_nodelay(true);
                let greeting_deadline =
                    Instant::now() + cfg.handshake_timeout.min(remaining.max(Duration::from_millis(100)));
                match greet_as_client(stream, greeting_deadline, tls, me, peer, &who) {
                    Ok(Ok(channel)) => return check_answer(cfg, me, peer, &who, channel),
                    Ok(Err(fatal)) => return Err(fatal),
                    Err(dropped) => last_error = dropped,
                }
            }
            Err(e) => last_error = e.to_string(),
        }
        std::thread::sleep(backoff.min(deadline.saturating_duration_since(Instant::now())));
        backoff = (backoff * 2).min(Duration::from_millis(500));
    }
}

/// Runs TLS (if any) and the greeting as the connecting side. `Err` means the party dropped the
/// connection before answering (it may be busy with other handshakes), which is worth a retry;
/// `Ok(Err)` is a definite failure.
fn greet_as_client(
    stream: TcpStream,
    deadline: Instant,
    tls: Option<&Tls>,
    me: &Hello,
    peer: usize,
    who: &str,
) -> std::result::Result<Result<(Channel, Greeting)>, String> {
    let mut channel = match Channel::connect(stream, deadline, tls, peer) {
        Ok(c) => c,
        Err(e) if dropped(&e) => return Err(format!("{who} closed the connection during the TLS handshake")),
        Err(e) => return Ok(Err(err!(Other, "{}", crate::tls::explain(who, &e)))),
    };
    if let Err(e) = Greeting::Hello(me.clone()).write_to(&mut channel, who) {
        return Ok(Err(e));
    }
    let mut answer = Counted { inner: &mut channel, bytes: 0, last_error: None };
    let greeting = Greeting::read_from(&mut answer, who);
    if greeting.is_err() && answer.bytes == 0 && answer.last_error.as_ref().is_some_and(dropped) {
        return Err(format!("{who} closed the connection before answering"));
    }
    Ok(greeting.map(|g| (channel, g)))
}

fn check_answer(cfg: &Config, me: &Hello, peer: usize, who: &str, answer: (Channel, Greeting)) -> Result<Channel> {
    let (channel, greeting) = answer;
    match greeting {
        Greeting::Accept(theirs) => match me.mismatch(&theirs) {
            _ if theirs.rank as usize != peer => Err(err!(Other, "{who} answered as rank {}; {}", theirs.rank, hint(cfg).1)),
            Some(why) => Err(err!(Other, "{who} does not belong to this job: {why}")),
            None => Ok(channel),
        },
        Greeting::Reject(why) => Err(err!(Other, "{who} refused rank {}: {why}", me.rank)),
        Greeting::Hello(_) => Err(err!(Other, "{who} answered a greeting with a greeting; is it connecting to us at the same time with a different rank order?")),
        _ => Err(err!(Other, "{who} answered the greeting with a reconnect message; is it from another job?")),
    }
}

/// The connection was closed or reset, as opposed to refused with a reason.
fn dropped(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe)
        && crate::tls::hint(e).is_none()
}

/// Counts the bytes of an answer, to tell a connection dropped before any answer from a bad one.
struct Counted<'a, R> {
    inner: &'a mut R,
    bytes: usize,
    last_error: Option<std::io::Error>,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf) {
            Ok(0) if !buf.is_empty() => {
                self.last_error = Some(std::io::ErrorKind::UnexpectedEof.into());
                Ok(0)
            }
            Ok(n) => {
                self.bytes += n;
                Ok(n)
            }
            Err(e) => {
                self.last_error = Some(std::io::Error::new(e.kind(), e.to_string()));
                Err(e)
            }
        }
    }
}

type Accepted = Vec<(usize, Channel)>;

/// At most this many refused connections are quoted in a timeout message.
const QUOTED_REFUSALS: usize = 3;
/// The kind of repeated warning (`log::warn_repeated`) for each refused stranger.
const REFUSED: &str = "refused connections";

fn accept_peers(
    listener: TcpListener,
    me: Hello,
    cfg: &Config,
    tls: Option<Arc<Tls>>,
    deadline: Instant,
    stop: &AtomicBool,
) -> Result<Accepted> {
    let greeters = Greeters::default();
    let accepted = accept_loop(listener, me, cfg, tls, deadline, stop, &greeters);
    greeters.close();
    accepted
}

fn accept_loop(
    listener: TcpListener,
    me: Hello,
    cfg: &Config,
    tls: Option<Arc<Tls>>,
    deadline: Instant,
    stop: &AtomicBool,
    greeters: &Greeters,
) -> Result<Accepted> {
    listener.set_nonblocking(true).map_err(|e| err!(Other, "cannot configure the listening socket: {e}"))?;
    let wanted: HashSet<usize> = (cfg.rank + 1..cfg.size).collect();
    let claimed = Arc::new(Mutex::new(HashSet::new()));
    let pending = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel::<(usize, Channel)>();
    let mut accepted = Vec::new();
    // The last few, for the timeout message, and how many in all.
    let (mut refusals, mut refused) = (Vec::new(), 0);
    let (refusal_tx, refusal_rx) = mpsc::channel::<String>();
    while accepted.len() < wanted.len() {
        if stop.load(Ordering::Relaxed) {
            return Ok(accepted);
        }
        accepted.extend(rx.try_iter());
        for refusal in refusal_rx.try_iter() {
            refused += 1;
            refusals.push(refusal);
            if refusals.len() > QUOTED_REFUSALS {
                refusals.remove(0);
            }
        }
        if accepted.len() == wanted.len() {
            break;
        }
        if Instant::now() >= deadline {
            let got: HashSet<usize> = accepted.iter().map(|(r, _)| *r).collect();
            let mut missing: Vec<usize> = wanted.difference(&got).copied().collect();
            missing.sort_unstable();
            let missing: Vec<String> = missing.iter().map(|r| format!("{r} ({})", cfg.peers[*r])).collect();
            let refused = match refused {
                0 => String::new(),
                n if n == refusals.len() => format!("; connections refused meanwhile: {}", refusals.join("; ")),
                n => format!("; {n} connections refused meanwhile, the last: {}", refusals.join("; ")),
            };
            return Err(err!(Other, "rank {} timed out after {:.1} s waiting for rank(s) {} to connect{refused}; start every party, or raise PARTYLINE_CONNECT_TIMEOUT", me.rank, cfg.connect_timeout.as_secs_f64(), missing.join(", ")));
        }
        match listener.accept() {
            Ok((stream, from)) => {
                let (me, tx, refusal_tx, tls) = (me.clone(), tx.clone(), refusal_tx.clone(), tls.clone());
                let (claimed, timeout, done) = (claimed.clone(), cfg.handshake_timeout, greeters.clone());
                let greeting = move || greet(stream, tls.as_deref(), &me, &claimed, Instant::now() + timeout, from);
                greeters.start();
                let handed = hand_off(&pending, "partyline-greet", move || {
                    match greeting() {
                        Ok((rank, channel)) => {
                            let _ = tx.send((rank, channel));
                        }
                        Err(why) => {
                            log::warn_repeated(REFUSED, &format!("refused connection from {from}: {why}"));
                            let _ = refusal_tx.send(format!("{from}: {why}"));
                        }
                    }
                    done.end();
                });
                if !matches!(handed, Handoff::Started) {
                    greeters.end();
                }
                match handed {
                    Handoff::Started => {}
                    Handoff::Busy => log::warn_repeated(
                        REFUSED,
                        &format!("refused connection from {from}: too many handshakes in progress"),
                    ),
                    Handoff::NoThread => return Err(err!(Intern, "cannot start a handshake thread")),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => {
                // Out of descriptors and the like: the connection stays queued, so do not spin on it.
                log::warn_repeated("failed accepts", &format!("accept failed: {e}"));
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
    Ok(accepted)
}

/// The handshake threads still running. Those that refuse a stranger after the accept loop has
/// ended log into a fresh window of repeated warnings, and the last of them prints its count.
#[derive(Clone, Default)]
struct Greeters {
    live: Arc<AtomicUsize>,
    closed: Arc<AtomicBool>,
}

impl Greeters {
    fn start(&self) {
        self.live.fetch_add(1, Ordering::SeqCst);
    }

    /// A handshake thread has finished (or never started).
    fn end(&self) {
        // SeqCst with `close`: either this sees the loop closed or `close` flushes after this
        // thread's warning, so no count is left unprinted.
        if self.live.fetch_sub(1, Ordering::SeqCst) == 1 && self.closed.load(Ordering::SeqCst) {
            log::flush_repeated();
        }
    }

    /// The accept loop has ended: print the counts so far, as the job may end before the
    /// remaining handshakes do.
    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        log::flush_repeated();
    }
}

/// Runs TLS (if configured) and reads a connecting party's greeting, all within `deadline`, and
/// answers it; returns its rank when accepted.
fn greet(
    stream: TcpStream,
    tls: Option<&Tls>,
    me: &Hello,
    claimed: &Mutex<HashSet<usize>>,
    deadline: Instant,
    from: SocketAddr,
) -> std::result::Result<(usize, Channel), String> {
    stream.set_nonblocking(false).map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let who = format!("the connection from {from}");
    let mut channel = Channel::accept(stream, deadline, tls).map_err(|e| {
        if tls.is_some() {
            crate::tls::explain(&who, &e)
        } else {
            e.to_string()
        }
    })?;
    let theirs = match Greeting::read_from(&mut channel, &who) {
        Ok(Greeting::Hello(h)) => h,
        Ok(_) => return Err("it did not open with a greeting".into()),
        Err(e) => return Err(e.message),
    };
    let refusal = me.mismatch(&theirs).or_else(|| {
        if theirs.rank <= me.rank {
            return Some(format!(
                "rank {} must wait for rank {} to connect to it, not connect itself; is PARTYLINE_RANK duplicated?",
                theirs.rank, me.rank
            ));
        }
        // Before claiming the rank, so an impostor cannot lock the real party out.
        if let Err(why) = channel.check_rank(tls, theirs.rank as usize) {
            return Some(why);
        }
        let mut claimed = claimed.lock().unwrap_or_else(|p| p.into_inner());
        if !claimed.insert(theirs.rank as usize) {
            return Some(format!("rank {} is already connected: two parties claim the same rank", theirs.rank));
        }
        None
    });
    if let Some(why) = refusal {
        let _ = Greeting::Reject(why.clone()).write_to(&mut channel, &who);
        return Err(format!("claimed rank {}: {why}", theirs.rank));
    }
    Greeting::Accept(me.clone()).write_to(&mut channel, &who).map_err(|e| e.message)?;
    Ok((theirs.rank as usize, channel))
}
