//! An in-process TCP proxy that forwards connections to one address and injects faults (reset, FIN, stall, corrupted byte, blackhole) at exact byte counts.

use socket2::SockRef;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How often blocked proxy threads look at the fault state (stall over, connection killed, proxy dropped).
const TICK: Duration = Duration::from_millis(20);

/// What the proxy does to a connection when a trigger is reached.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    /// Aborts both sockets (SO_LINGER 0), so both ends see a RST.
    Reset,
    /// Shuts both sockets down cleanly: both ends read end-of-stream, as after a middlebox idle timeout.
    Fin,
    /// Forwards nothing either way for the duration (bytes already read are held, the sockets stay
    /// open and silent), then resumes.
    Stall(Duration),
    /// Flips every bit of the byte at the trigger's offset, then keeps forwarding.
    Corrupt,
    /// Forwards nothing ever again, on this or any later connection; later connections are
    /// accepted and held open, silent.
    Blackhole,
}

/// A direction of a proxied connection: client is the side that dialled the proxy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dir {
    ClientToServer,
    ServerToClient,
}

/// A fault and when it fires: once `after` bytes of one connection have passed in `dir` (for
/// `Corrupt`, the byte at offset `after` is the one flipped). Fires once, on the first connection
/// that gets there.
#[derive(Clone, Copy, Debug)]
pub struct Planned {
    pub fault: Fault,
    pub dir: Dir,
    pub after: u64,
}

impl Fault {
    /// This fault once `bytes` have passed in `dir` on a connection.
    pub fn after(self, dir: Dir, bytes: u64) -> Planned {
        Planned { fault: self, dir, after: bytes }
    }
}

struct Shared {
    target: SocketAddr,
    plan: Vec<Planned>,
    fired: Vec<AtomicBool>,
    fired_count: AtomicUsize,
    accepted: AtomicUsize,
    forwarded: [AtomicU64; 2],
    blackhole: AtomicBool,
    closed: AtomicBool,
    /// Connections accepted during a blackhole: held open, never answered.
    held: Mutex<Vec<TcpStream>>,
}

/// A running proxy; it stops accepting and drops its connections when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// Listens on a fresh port of 127.0.0.1 (bound here and kept, so no other program can take it)
    /// and forwards every connection to `target`, with the faults of `plan`.
    pub fn start(target: SocketAddr, plan: Vec<Planned>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy on 127.0.0.1:0");
        let addr = listener.local_addr().expect("the proxy's address");
        listener.set_nonblocking(true).expect("non-blocking proxy listener");
        let shared = Arc::new(Shared {
            target,
            fired: plan.iter().map(|_| AtomicBool::new(false)).collect(),
            plan,
            fired_count: AtomicUsize::new(0),
            accepted: AtomicUsize::new(0),
            forwarded: [AtomicU64::new(0), AtomicU64::new(0)],
            blackhole: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            held: Mutex::new(Vec::new()),
        });
        let s = shared.clone();
        thread::spawn(move || accept_loop(listener, s));
        FaultProxy { addr, shared }
    }

    /// The address to give the dialling side instead of the target's.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far (a reconnect through the proxy makes this 2 or more).
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Faults of the plan that have fired so far.
    pub fn fired(&self) -> usize {
        self.shared.fired_count.load(Ordering::SeqCst)
    }

    /// Bytes forwarded in `dir` over all connections so far.
    pub fn forwarded(&self, dir: Dir) -> u64 {
        self.shared.forwarded[dir as usize].load(Ordering::SeqCst)
    }

    /// Waits until `n` faults have fired or `limit` passed; true if they have.
    pub fn wait_fired(&self, n: usize, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        while self.fired() < n && Instant::now() < end {
            thread::sleep(TICK);
        }
        self.fired() >= n
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.held.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.closed.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                shared.accepted.fetch_add(1, Ordering::SeqCst);
                let _ = client.set_nonblocking(false);
                if shared.blackhole.load(Ordering::SeqCst) {
                    shared.held.lock().unwrap_or_else(|e| e.into_inner()).push(client);
                    continue;
                }
                let s = shared.clone();
                thread::spawn(move || connect(client, s));
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(TICK),
            Err(_) => thread::sleep(TICK),
        }
    }
}

/// One proxied connection: both sockets and the state both directions share.
struct Conn {
    client: TcpStream,
    server: TcpStream,
    /// Set by Reset or Fin: both directions stop and drop the sockets.
    killed: AtomicBool,
    stall_until: Mutex<Option<Instant>>,
}

impl Conn {
    fn dead(&self, shared: &Shared) -> bool {
        self.killed.load(Ordering::SeqCst) || shared.closed.load(Ordering::SeqCst)
    }

    /// Blocks while the connection is stalled or blackholed; false once it is dead.
    fn gate(&self, shared: &Shared) -> bool {
        loop {
            if self.dead(shared) {
                return false;
            }
            let stalled =
                matches!(*self.stall_until.lock().unwrap_or_else(|e| e.into_inner()), Some(t) if Instant::now() < t);
            if !stalled && !shared.blackhole.load(Ordering::SeqCst) {
                return true;
            }
            thread::sleep(TICK);
        }
    }
}

/// Dials the target (it may not listen yet: retried for a few seconds, as a rank would), then
/// forwards both ways.
fn connect(client: TcpStream, shared: Arc<Shared>) {
    let end = Instant::now() + Duration::from_secs(10);
    let server = loop {
        match TcpStream::connect_timeout(&shared.target, Duration::from_secs(1)) {
            Ok(s) => break s,
            Err(_) if Instant::now() < end && !shared.closed.load(Ordering::SeqCst) => thread::sleep(TICK),
            Err(_) => return, // dropping the client closes it, as a refused connection would end
        }
    };
    for s in [&client, &server] {
        let _ = s.set_nodelay(true);
        let _ = s.set_read_timeout(Some(TICK));
        let _ = s.set_write_timeout(Some(TICK));
    }
    let conn = Arc::new(Conn { client, server, killed: AtomicBool::new(false), stall_until: Mutex::new(None) });
    let (c, s) = (conn.clone(), shared.clone());
    thread::spawn(move || pump(&c, &s, Dir::ServerToClient));
    pump(&conn, &shared, Dir::ClientToServer);
}

/// Forwards one direction of `conn` until either side closes or a fault ends it. Reads stop at
/// every pending trigger's offset, so each fault fires at its exact byte count.
fn pump(conn: &Conn, shared: &Shared, dir: Dir) {
    let (mut from, mut to) = match dir {
        Dir::ClientToServer => (&conn.client, &conn.server),
        Dir::ServerToClient => (&conn.server, &conn.client),
    };
    let mut buf = vec![0u8; 64 << 10];
    let mut seen: u64 = 0;
    let mut flip_next = false;
    loop {
        fire_due(conn, shared, dir, seen, &mut flip_next);
        if !conn.gate(shared) {
            return;
        }
        let room = next_trigger(shared, dir, seen).map_or(buf.len() as u64, |t| (t - seen).min(buf.len() as u64));
        let n = match from.read(&mut buf[..room as usize]) {
            Ok(0) => {
                // Pass the half-close on, as a network would.
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {
                continue
            }
            Err(_) => {
                // The side we read from reset: pass that on to the other side too.
                let _ = SockRef::from(to).set_linger(Some(Duration::ZERO));
                conn.killed.store(true, Ordering::SeqCst);
                return;
            }
        };
        if flip_next {
            buf[0] ^= 0xFF;
            flip_next = false;
        }
        let mut sent = 0;
        while sent < n {
            if !conn.gate(shared) {
                return;
            }
            match to.write(&buf[sent..n]) {
                Ok(0) => return,
                Ok(k) => sent += k,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
                Err(_) => {
                    let _ = SockRef::from(from).set_linger(Some(Duration::ZERO));
                    conn.killed.store(true, Ordering::SeqCst);
                    return;
                }
            }
        }
        seen += n as u64;
        shared.forwarded[dir as usize].fetch_add(n as u64, Ordering::SeqCst);
    }
}

/// The smallest offset above `seen` at which a fault of `dir` not yet fired is due.
fn next_trigger(shared: &Shared, dir: Dir, seen: u64) -> Option<u64> {
    let pending = shared.plan.iter().zip(&shared.fired).filter(|(p, f)| p.dir == dir && !f.load(Ordering::SeqCst));
    pending.map(|(p, _)| p.after).filter(|&a| a > seen).min()
}

/// Fires every fault of `dir` due at offset `seen` that has not fired on any connection yet.
fn fire_due(conn: &Conn, shared: &Shared, dir: Dir, seen: u64, flip_next: &mut bool) {
    for (p, fired) in shared.plan.iter().zip(&shared.fired) {
        if p.dir != dir || p.after != seen || fired.swap(true, Ordering::SeqCst) {
            continue;
        }
        shared.fired_count.fetch_add(1, Ordering::SeqCst);
        match p.fault {
            Fault::Reset => {
                // The sockets close, with a RST, when both directions have let go of them.
                for s in [&conn.client, &conn.server] {
                    let _ = SockRef::from(s).set_linger(Some(Duration::ZERO));
                }
                conn.killed.store(true, Ordering::SeqCst);
            }
            Fault::Fin => {
                for s in [&conn.client, &conn.server] {
                    let _ = s.shutdown(Shutdown::Both);
                }
                conn.killed.store(true, Ordering::SeqCst);
            }
            Fault::Stall(d) => *conn.stall_until.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + d),
            Fault::Corrupt => *flip_next = true,
            Fault::Blackhole => shared.blackhole.store(true, Ordering::SeqCst),
        }
    }
}
