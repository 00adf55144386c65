//! The coordinator's side of the rendezvous: admit one registration per rank, then hand everyone the table.

use super::message::{missing, timed_out, Expected, Message, ReadError, Registration};
use crate::error::{err, Error, Result};
use crate::listener::{hand_off, Handoff};
use crate::log;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::AtomicUsize;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// How often waiting parties are checked for having hung up, so the status they see stays true.
const LIVENESS_EVERY: Duration = Duration::from_millis(50);
/// At most this many refused connections are quoted in a timeout message.
const QUOTED_REFUSALS: usize = 3;
/// The kind of repeated warning (`log::warn_repeated`) for each refused stranger.
const REFUSED: &str = "refused rendezvous connections";

/// One rendezvous to serve.
pub struct Rendezvous<'a> {
    pub listener: &'a TcpListener,
    /// The address the parties were given, for messages.
    pub address: String,
    pub expected: Expected,
    pub timeout: Duration,
    /// How long a new connection has to send its registration.
    pub greeting_timeout: Duration,
    /// What to raise after a timeout, e.g. "raise PARTYLINE_CONNECT_TIMEOUT".
    pub raise: String,
}

struct Party {
    stream: TcpStream,
    from: SocketAddr,
}

type Arrival = (TcpStream, SocketAddr, std::result::Result<Registration, String>);

/// Serves until every rank has registered, then sends everyone the table and returns it.
/// `own` is the serving rank's (rank, address) when a rank is the coordinator.
pub fn serve(rv: &Rendezvous, own: Option<(usize, String)>) -> Result<Vec<String>> {
    let served = serve_until_done(rv, own);
    // The count of refusals not shown yet, before the caller moves on (or exits).
    log::flush_repeated();
    served
}

fn serve_until_done(rv: &Rendezvous, own: Option<(usize, String)>) -> Result<Vec<String>> {
    let deadline = Instant::now() + rv.timeout;
    rv.listener
        .set_nonblocking(true)
        .map_err(|e| err!(Other, "cannot configure the rendezvous socket at {}: {e}", rv.address))?;
    let size = rv.expected.size;
    let mut state = State {
        rv,
        addrs: vec![None; size],
        parties: (0..size).map(|_| None).collect(),
        refusals: Vec::new(),
        left: 0,
    };
    if let Some((rank, addr)) = own {
        state.addrs[rank] = Some(addr);
    }
    let (tx, rx) = mpsc::channel::<Arrival>();
    let pending = Arc::new(AtomicUsize::new(0));
    let mut checked = Instant::now();
    loop {
        for (stream, from, registration) in rx.try_iter() {
            state.arrive(stream, from, registration);
        }
        if state.complete() || checked.elapsed() >= LIVENESS_EVERY {
            state.prune();
            checked = Instant::now();
        }
        if state.complete() {
            return Ok(state.hand_out());
        }
        if Instant::now() >= deadline {
            return Err(state.fail());
        }
        match rv.listener.accept() {
            Ok((stream, from)) => read_in_background(stream, from, rv.greeting_timeout, &tx, &pending),
            Err(e) => {
                if e.kind() != ErrorKind::WouldBlock {
                    // Out of descriptors and the like: log, and do not spin on it.
                    log::warn_repeated(
                        "failed rendezvous accepts",
                        &format!("rendezvous at {}: accept failed: {e}", rv.address),
                    );
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}

/// Reads a registration on its own thread (see `listener::hand_off`).
fn read_in_background(
    stream: TcpStream,
    from: SocketAddr,
    timeout: Duration,
    tx: &mpsc::Sender<Arrival>,
    pending: &Arc<AtomicUsize>,
) {
    let tx = tx.clone();
    let handed = hand_off(pending, "partyline-register", move || {
        let mut stream = stream;
        let registration = read_registration(&mut stream, timeout);
        let _ = tx.send((stream, from, registration));
    });
    match handed {
        Handoff::Started => {}
        Handoff::Busy => log::warn_repeated(
            REFUSED,
            &format!("rendezvous: refused connection from {from}: too many registrations in progress"),
        ),
        Handoff::NoThread => log::warn_repeated(
            REFUSED,
            &format!("rendezvous: dropped the connection from {from}: cannot start a thread to read it"),
        ),
    }
}

fn read_registration(stream: &mut TcpStream, timeout: Duration) -> std::result::Result<Registration, String> {
    stream
        .set_nonblocking(false)
        .and_then(|_| stream.set_read_timeout(Some(timeout)))
        .and_then(|_| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("cannot configure the connection: {e}"))?;
    match Message::read_from(stream) {
        Ok(Message::Register(r)) => Ok(r),
        Ok(_) => Err("it did not open with a registration".into()),
        Err(ReadError::Io(e)) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Err(format!("no registration within {:.1} s", timeout.as_secs_f64()))
        }
        Err(e) => Err(e.to_string()),
    }
}

struct State<'a, 'l> {
    rv: &'a Rendezvous<'l>,
    /// Each rank's address once it has registered.
    addrs: Vec<Option<String>>,
    /// The connection of each registered party (none for a serving rank).
    parties: Vec<Option<Party>>,
    refusals: Vec<String>,
    /// Ranks that registered and then hung up (bit r for rank r), to tell them apart in a timeout.
    left: u64,
}

impl State<'_, '_> {
    fn registered(&self) -> u64 {
        self.addrs.iter().enumerate().filter(|(_, a)| a.is_some()).fold(0, |bits, (r, _)| bits | 1 << r)
    }

    fn complete(&self) -> bool {
        self.addrs.iter().all(Option::is_some)
    }

    fn arrive(
        &mut self,
        mut stream: TcpStream,
        from: SocketAddr,
        registration: std::result::Result<Registration, String>,
    ) {
        let reg = match registration {
            Ok(reg) => reg,
            Err(why) => return self.refused(from, why),
        };
        let rank = reg.rank as usize;
        // A party that gave up and was started again takes back its slot.
        if self.parties.get(rank).and_then(Option::as_ref).is_some_and(|p| hung_up(&p.stream)) {
            self.leave(rank, "its connection closed");
        }
        if let Err(why) = self.rv.expected.admit(&reg, self.registered()) {
            let _ = Message::Refuse(why.clone()).write_to(&mut stream);
            return self.refused(from, format!("it claimed rank {}: {why}", reg.rank));
        }
        let addr = Expected::address(&reg, from.ip());
        log::info(&format!(
            "rendezvous at {}: rank {rank} registered from {from}, reachable at {addr}",
            self.rv.address
        ));
        self.addrs[rank] = Some(addr);
        self.parties[rank] = Some(Party { stream, from });
        self.left &= !(1 << rank);
        self.broadcast();
    }

    fn refused(&mut self, from: SocketAddr, why: String) {
        log::warn_repeated(
            REFUSED,
            &format!("rendezvous at {}: refused the connection from {from}: {why}", self.rv.address),
        );
        self.refusals.push(format!("{from}: {why}"));
    }

    fn leave(&mut self, rank: usize, why: &str) {
        if let Some(p) = self.parties[rank].take() {
            self.addrs[rank] = None;
            self.left |= 1 << rank;
            log::warn(&format!(
                "rendezvous at {}: rank {rank} (from {}) left before the table was complete ({why}); it may register again",
                self.rv.address, p.from
            ));
        }
    }

    /// Drops parties that hung up while waiting, and tells the rest.
    fn prune(&mut self) {
        let gone: Vec<usize> =
            (0..self.parties.len()).filter(|&r| self.parties[r].as_ref().is_some_and(|p| hung_up(&p.stream))).collect();
        gone.iter().for_each(|&r| self.leave(r, "its connection closed"));
        if !gone.is_empty() {
            self.broadcast();
        }
    }

    /// Tells every waiting party who has registered; one that cannot be told has left.
    fn broadcast(&mut self) {
        loop {
            let status = Message::Status(self.registered());
            let failed: Vec<usize> = (0..self.parties.len())
                .filter(|&r| self.parties[r].as_mut().is_some_and(|p| status.write_to(&mut p.stream).is_err()))
                .collect();
            if failed.is_empty() {
                return;
            }
            failed.iter().for_each(|&r| self.leave(r, "it could not be sent the status"));
        }
    }

    fn hand_out(&mut self) -> Vec<String> {
        let table: Vec<String> = self.addrs.iter().flatten().cloned().collect();
        warn_loopback_mix(&self.rv.address, &table);
        let message = Message::Table(table.clone());
        for (rank, party) in self.parties.iter_mut().enumerate() {
            if let Some(p) = party {
                if let Err(e) = message.write_to(&mut p.stream) {
                    log::warn(&format!("rendezvous at {}: cannot send the table to rank {rank}: {e}", self.rv.address));
                }
            }
        }
        table
    }

    /// The timeout: every waiting party and the caller get the same message.
    fn fail(&mut self) -> Error {
        let missing = missing(self.registered(), self.addrs.len());
        let mut message = timed_out(&self.rv.address, self.rv.timeout.as_secs_f64(), &missing, &self.rv.raise);
        if self.left != 0 {
            let left = ranks_in(self.left, self.addrs.len());
            message.push_str(&format!(" (rank(s) {left} registered but hung up before the others came)"));
        }
        if !self.refusals.is_empty() {
            let quoted = &self.refusals[self.refusals.len().saturating_sub(QUOTED_REFUSALS)..];
            message.push_str(&format!(" (connections refused meanwhile: {})", quoted.join("; ")));
        }
        let verdict = Message::Fail(message.clone());
        for p in self.parties.iter_mut().flatten() {
            let _ = verdict.write_to(&mut p.stream);
        }
        err!(Other, "{message}")
    }
}

/// "0, 1": the ranks whose bit is set.
fn ranks_in(bits: u64, size: usize) -> String {
    missing(!bits, size)
}

/// True once the party has closed its end; it sends nothing after registering, so no data is lost.
fn hung_up(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return true;
    }
    let peeked = stream.peek(&mut [0u8; 1]);
    let restored = stream.set_nonblocking(false).is_ok();
    match peeked {
        Ok(0) => true,
        Ok(_) => !restored,
        Err(e) => e.kind() != ErrorKind::WouldBlock || !restored,
    }
}

/// A party that reached the coordinator over loopback is listed at 127.0.0.1, which other hosts
/// cannot use; the mesh would then fail far from the cause, so say it here.
fn warn_loopback_mix(address: &str, table: &[String]) {
    let ips: Vec<IpAddr> = table
        .iter()
        .filter_map(|a| a.rsplit_once(':').and_then(|(h, _)| h.trim_matches(['[', ']']).parse().ok()))
        .collect();
    if ips.iter().any(IpAddr::is_loopback) && ips.iter().any(|ip| !ip.is_loopback()) {
        log::warn(&format!("rendezvous at {address}: the table mixes loopback and other addresses ({}); a party that reaches the coordinator over loopback should set PARTYLINE_ADVERTISE", table.join(", ")));
    }
}
