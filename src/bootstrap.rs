//! Opens the full mesh at `MPI_Init`: rank i connects to every lower rank and accepts every higher one.

use crate::bundle::{dial_extras, Bundle, JoinFailure, Joiner};
use crate::channel::Channel;
use crate::config::Config;
use crate::conn::Conn;
use crate::error::{err, Error, Result};
use crate::handshake::{Greeting, Hello, Join, PROTOCOL_VERSION};
use crate::listener::{bind_listener, hand_off, resolve, Handoff, Listener};
use crate::log;
use crate::tls::Tls;
use std::collections::HashSet;
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

mod accept;
mod socket_options;
use accept::accept_peers;
pub use socket_options::{apply_link_socket_options, LinkSocket};

/// The opened mesh, and what repairing its links later needs.
pub struct Mesh {
    /// One connected, greeted link per peer rank (`None` at our own index).
    pub channels: Vec<Option<Bundle>>,
    /// Holds the extra streams of links that reconnect later.
    pub joiner: Arc<Joiner>,
    /// Where reconnecting and poking parties reach us for the rest of the job.
    pub listener: Option<Listener>,
    pub tls: Option<Arc<Tls>>,
    /// Who we are, as the greetings say it.
    pub me: Hello,
    /// The peer table (from the coordinator in rendezvous mode).
    pub peers: Vec<String>,
}

/// Opens the mesh. In rendezvous mode the peer table comes from the coordinator first (see
/// `rendezvous`).
pub fn open_mesh(cfg: &Config) -> Result<Mesh> {
    let (cfg, listener) = match &cfg.coordinator {
        Some(_) => {
            let (listener, peers) = crate::rendezvous::meet(cfg)?;
            (Config { peers, ..cfg.clone() }, Some(listener))
        }
        None => (cfg.clone(), keep_listener(cfg)?),
    };
    if cfg.size == 1 {
        let me = hello(&cfg);
        return Ok(Mesh {
            channels: vec![None],
            joiner: Default::default(),
            listener: None,
            tls: None,
            me,
            peers: cfg.peers,
        });
    }
    if let Some(warning) = cfg.security.check_plaintext(cfg.rank, &cfg.peers)? {
        log::warn(&warning);
    }
    let tls = Tls::new(&cfg.security, cfg.rank)?;
    // Bootstrap accepts on a clone; the listener itself stays for reconnects.
    let accepting = listener.as_ref().map(Listener::try_clone).transpose();
    let accepting = accepting.map_err(|e| err!(Other, "cannot keep the listening socket: {e}"))?;
    let joiner = Arc::new(Joiner::default());
    let channels = open_mesh_with(&cfg, accepting, tls.clone(), &joiner)?;
    Ok(Mesh { channels, joiner, listener, tls, me: hello(&cfg), peers: cfg.peers })
}

/// Our listener, kept for the whole job: higher ranks dial it again after a break and lower
/// ones poke it. The last rank accepts nobody at `MPI_Init` but keeps one too, so a lower
/// rank can tell that it still runs; where it cannot bind one, that check is skipped.
fn keep_listener(cfg: &Config) -> Result<Option<Listener>> {
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

fn hello(cfg: &Config) -> Hello {
    Hello {
        version: PROTOCOL_VERSION,
        job_id: cfg.job_id.clone(),
        rank: cfg.rank as u32,
        size: cfg.size as u32,
        checks: false,
    }
}

/// Opens the links of a job of two or more over `cfg.peers`, accepting higher ranks on
/// `listener` (every rank but the last has one: bound here, or the port advertised at the
/// rendezvous).
fn open_mesh_with(
    cfg: &Config,
    listener: Option<Listener>,
    tls: Option<Arc<Tls>>,
    joiner: &Arc<Joiner>,
) -> Result<Vec<Option<Bundle>>> {
    let mut links: Vec<Option<Bundle>> = (0..cfg.size).map(|_| None).collect();
    let me = hello(cfg);
    let deadline = Instant::now() + cfg.connect_timeout;
    let stop = Arc::new(AtomicBool::new(false));
    let acceptor = if let Some(listener) = listener.filter(|_| cfg.rank + 1 < cfg.size) {
        let (me, cfg2, stop2, tls2, joiner2) = (me.clone(), cfg.clone(), stop.clone(), tls.clone(), joiner.clone());
        Some(
            std::thread::Builder::new()
                .name("partyline-accept".into())
                .spawn(move || accept_peers(listener, me, &cfg2, tls2, joiner2, deadline, &stop2))
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
    for (peer, bundle) in links.iter().enumerate() {
        let Some(bundle) = bundle else { continue };
        tune_link(bundle, &cfg.link_socket())?;
        // The dialing rank is the one that widens a link (`Link::widen_on_loss`).
        if peer < cfg.rank {
            note_loss_bound(cfg, bundle.first.conn(), peer);
        }
    }
    Ok(links)
}

/// Sets the options of every connection of a link (see `apply_link_socket_options`), at start
/// and on reconnect alike.
pub fn tune_link(bundle: &Bundle, settings: &LinkSocket) -> Result<()> {
    for conn in bundle.conns() {
        apply_link_socket_options(conn, settings).map_err(|e| err!(Other, "cannot set socket options: {e}"))?;
    }
    Ok(())
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

/// Says once (with `PARTYLINE_VERBOSE`) that the link to `peer`, whose first connection `conn`
/// is (its options set), risks being held to a small part of its path by losses (see
/// `Streams::lossy_path_risk`), and that it reopens over several connections at its first loss
/// (`Link::widen_on_loss`).
fn note_loss_bound(cfg: &Config, conn: &Conn, peer: usize) {
    let Some(stream) = conn.tcp() else { return };
    let leaves_host = conn.leaves_host();
    let algorithm = socket_options::lossy_path_algorithm(stream, &cfg.congestion);
    let rtt = crate::tcp_info::path_rtt(stream);
    if let (Some(algorithm), Some(rtt)) = (&algorithm, rtt) {
        if cfg.streams.lossy_path_risk(leaves_host.unwrap_or(false), Some(algorithm), Some(rtt)) {
            let streams = crate::socket_settings::LOSSY_PATH_STREAMS;
            log::info(&format!(
                "the link to rank {peer} runs {algorithm} over a {:.0} ms round trip on one TCP connection: where packets are lost, one such flow carries a small part of the path (0.07 of 1 Gbit/s at 40 ms with 0.1% loss, bench/README.md), so at its first loss it reopens over {streams} (0.66 there); allowing BBR (net.ipv4.tcp_allowed_congestion_control, or CAP_NET_ADMIN) keeps one fast flow, and PARTYLINE_STREAMS sets a count of your own",
                rtt.as_secs_f64() * 1e3
            ));
        }
    }
}

fn connect_peer(cfg: &Config, tls: Option<&Tls>, me: &Hello, peer: usize, deadline: Instant) -> Result<Bundle> {
    let spec = &cfg.peers[peer];
    let who = format!("rank {peer} at {spec}");
    let mut backoff = Duration::from_millis(5);
    let mut last_error = String::from("no attempt finished");
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(err!(Other, "rank {} could not connect to {who} within {:.1} s (last error: {last_error}); check that rank {peer} is running and {}, or raise PARTYLINE_CONNECT_TIMEOUT", me.rank, cfg.connect_timeout.as_secs_f64(), hint(cfg).0));
        }
        let attempt = resolve(spec).and_then(|addr| {
            Ok((addr, crate::dial::dial(addr, remaining.min(Duration::from_secs(2)), cfg.local_links)?))
        });
        match attempt {
            Ok((addr, stream)) => {
                // The handshake's small writes must not wait for delayed acknowledgements.
                stream.set_nodelay();
                let me = &greeting_on(&stream, me, cfg, tls.is_some());
                let checks = me.checks;
                let greeting_deadline =
                    Instant::now() + cfg.handshake_timeout.min(remaining.max(Duration::from_millis(100)));
                let count = cfg.streams.count();
                let join = Join { hello: me.clone(), target: peer as u32, epoch: 0, index: 0, count: count as u32 };
                let more = match dial_extras(addr, cfg.local_links, tls, peer, &join, greeting_deadline) {
                    Ok(more) => more,
                    Err(JoinFailure::Refused(why)) => {
                        return Err(err!(Other, "{who} refused rank {}'s extra streams: {why}", me.rank))
                    }
                    Err(JoinFailure::Failed(why)) => {
                        last_error = why;
                        std::thread::sleep(backoff.min(deadline.saturating_duration_since(Instant::now())));
                        backoff = (backoff * 2).min(Duration::from_millis(500));
                        continue;
                    }
                };
                match greet_as_client(stream, greeting_deadline, tls, me, peer, &who) {
                    Ok(Ok(answer)) => {
                        return check_answer(cfg, me, peer, &who, answer).map(|(first, theirs)| Bundle {
                            first,
                            more,
                            checksums: checks || theirs,
                        })
                    }
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
    stream: Conn,
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

/// Our greeting on `conn`: `me`, asking for frame checksums if this connection wants them
/// (never under TLS). Both ends decide from the same pair of addresses.
fn greeting_on(conn: &Conn, me: &Hello, cfg: &Config, tls: bool) -> Hello {
    let checks = !tls && cfg.checksums.wanted(conn.leaves_host());
    Hello { checks, ..me.clone() }
}

/// The connection, and whether the peer asks for checksums, if it accepted us.
fn check_answer(
    cfg: &Config,
    me: &Hello,
    peer: usize,
    who: &str,
    answer: (Channel, Greeting),
) -> Result<(Channel, bool)> {
    let (channel, greeting) = answer;
    match greeting {
        Greeting::Accept(theirs) => match me.mismatch(&theirs) {
            _ if theirs.rank as usize != peer => Err(err!(Other, "{who} answered as rank {}; {}", theirs.rank, hint(cfg).1)),
            Some(why) => Err(err!(Other, "{who} does not belong to this job: {why}")),
            None => Ok((channel, theirs.checks)),
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
