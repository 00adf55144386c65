//! Where a party waits for connections: its listening socket, and the bounded hand-off of each new connection to a thread.
//!
//! Both the mesh (`bootstrap`) and the rendezvous coordinator (`rendezvous`) accept strangers'
//! connections through these, so neither needs the other for it.

use crate::config::Config;
use crate::conn::Conn;
use crate::error::{err, Result};
use crate::socket_settings::LocalLinks;
use socket2::{Domain, Socket, Type};
use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// At most this many greetings are read at once, so a flood of idle connections cannot
/// exhaust threads while the real peers are still arriving.
pub const MAX_PENDING_HANDSHAKES: usize = 32;

/// The launcher's sockets if it passed them, else a TCP socket bound to PARTYLINE_LISTEN or
/// `default_spec` with its Unix socket (see `conn`) bound before the TCP one listens, so a rank
/// that reaches the TCP port finds the Unix socket too, not TCP for want of it.
pub fn bind_listener(cfg: &Config, default_spec: &str) -> Result<Listener> {
    let passed_local = cfg.local_listen_fd.map(inherited_local).transpose()?;
    let local = |addr| match cfg.local_links {
        LocalLinks::Unix => passed_local.or_else(|| listen_local(addr)),
        LocalLinks::Tcp => None,
    };
    if let Some(fd) = cfg.listen_fd {
        use std::os::fd::FromRawFd;
        // SAFETY: PARTYLINE_LISTEN_FD names a listening socket the launcher passed to this
        // process for our exclusive use; we take ownership of it exactly once, here.
        let tcp = unsafe { TcpListener::from_raw_fd(fd) };
        let addr = tcp.local_addr().map_err(|e| {
            err!(Arg, "PARTYLINE_LISTEN_FD={fd} is not a listening TCP socket ({e}); unset it outside partyrun")
        })?;
        return Ok(Listener::new(tcp, local(addr)));
    }
    let spec = cfg.listen_addr.clone().unwrap_or_else(|| default_spec.to_string());
    let addr =
        resolve(&spec).map_err(|e| err!(Arg, "rank {} cannot resolve its listen address {spec:?}: {e}", cfg.rank))?;
    let bind = || -> std::io::Result<Listener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        let unix = socket.local_addr()?.as_socket().and_then(local);
        socket.listen(128)?;
        Ok(Listener::new(socket.into(), unix))
    };
    bind().map_err(|e| {
        err!(Other, "rank {} cannot listen on {addr}: {e}; is another process using the port? Set PARTYLINE_LISTEN to bind elsewhere", cfg.rank)
    })
}

/// Binds the Unix socket of a rank whose TCP listener is bound to `addr`, where another rank
/// on this host could dial it (`conn::local_names`). None if it cannot be bound: that rank is
/// then reached over TCP, as before.
pub fn listen_local(addr: SocketAddr) -> Option<UnixListener> {
    let ip = addr.ip().to_canonical();
    if !(ip.is_loopback() || ip.is_unspecified()) {
        return None;
    }
    let name = crate::conn::local_name(addr);
    let bind = || -> io::Result<UnixListener> {
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
        socket.bind(&crate::conn::abstract_addr(&name)?)?;
        socket.listen(128)?;
        Ok(socket.into())
    };
    match bind() {
        Ok(listener) => Some(listener),
        Err(e) => {
            crate::log::info(&format!("no Unix socket {name:?} for ranks on this host ({e}); they connect over TCP"));
            None
        }
    }
}

/// The Unix socket the launcher passed (`PARTYLINE_LOCAL_LISTEN_FD`).
fn inherited_local(fd: i32) -> Result<UnixListener> {
    use std::os::fd::FromRawFd;
    // SAFETY: PARTYLINE_LOCAL_LISTEN_FD names a listening socket the launcher passed to this
    // process for our exclusive use; we take ownership of it exactly once, here.
    let listener = unsafe { UnixListener::from_raw_fd(fd) };
    listener.local_addr().map_err(|e| {
        err!(Arg, "PARTYLINE_LOCAL_LISTEN_FD={fd} is not a listening Unix socket ({e}); unset it outside partyrun")
    })?;
    Ok(listener)
}

/// The first address `host:port` resolves to.
pub fn resolve(spec: &str) -> std::io::Result<SocketAddr> {
    spec.to_socket_addrs()?.next().ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address found"))
}

/// A rank's listening sockets: TCP, and a Unix socket for ranks on this host (see `conn`).
pub struct Listener {
    tcp: TcpListener,
    unix: Option<UnixListener>,
    /// Which socket `accept` tries first: they take turns, so a flood on one cannot keep the
    /// other's connections waiting.
    unix_first: AtomicBool,
}

impl Listener {
    /// `tcp`, and the Unix socket for ranks on this host, if any (`listen_local`).
    pub fn new(tcp: TcpListener, unix: Option<UnixListener>) -> Listener {
        Listener { tcp, unix, unix_first: AtomicBool::new(true) }
    }

    /// The TCP socket, where the rendezvous coordinator also takes registrations.
    pub fn tcp(&self) -> &TcpListener {
        &self.tcp
    }

    /// The TCP listener's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    pub fn try_clone(&self) -> io::Result<Listener> {
        let unix = self.unix.as_ref().map(UnixListener::try_clone).transpose()?;
        Ok(Listener::new(self.tcp.try_clone()?, unix))
    }

    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        if let Some(unix) = &self.unix {
            unix.set_nonblocking(nonblocking)?;
        }
        self.tcp.set_nonblocking(nonblocking)
    }

    /// A waiting connection from either socket, with who it is from; `WouldBlock` if none
    /// (the sockets must be non-blocking).
    pub fn accept(&self) -> io::Result<(Conn, String)> {
        let unix_first = self.unix_first.fetch_xor(true, Ordering::Relaxed);
        let first = if unix_first { self.accept_unix() } else { self.accept_tcp() };
        match first {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if unix_first {
                    self.accept_tcp()
                } else {
                    self.accept_unix()
                }
            }
            other => other,
        }
    }

    fn accept_tcp(&self) -> io::Result<(Conn, String)> {
        let (stream, from) = self.tcp.accept()?;
        Ok((Conn::Tcp(stream), from.to_string()))
    }

    fn accept_unix(&self) -> io::Result<(Conn, String)> {
        let Some(unix) = &self.unix else { return Err(io::ErrorKind::WouldBlock.into()) };
        let (stream, _) = unix.accept()?;
        Ok((Conn::Unix(stream), "a Unix socket on this host".into()))
    }

    /// Blocks until a connection waits on either socket (or a signal interrupts).
    pub fn wait(&self) {
        let fd = |raw| libc::pollfd { fd: raw, events: libc::POLLIN, revents: 0 };
        let mut fds = [fd(self.tcp.as_raw_fd()), fd(self.unix.as_ref().map_or(-1, |u| u.as_raw_fd()))];
        // SAFETY: two pollfds that live for the call; poll ignores a negative descriptor.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
    }
}

/// What became of a connection handed to `hand_off`.
pub enum Handoff {
    Started,
    /// `MAX_PENDING_HANDSHAKES` greetings are already being read; the connection was dropped.
    Busy,
    /// No thread could be started; the connection was dropped.
    NoThread,
}

/// Reads a new connection's greeting on its own thread (`work`), at most
/// `MAX_PENDING_HANDSHAKES` at once, so a slow or silent client holds up no one.
pub fn hand_off(pending: &Arc<AtomicUsize>, name: &str, work: impl FnOnce() + Send + 'static) -> Handoff {
    if pending.load(Ordering::Relaxed) >= MAX_PENDING_HANDSHAKES {
        return Handoff::Busy;
    }
    pending.fetch_add(1, Ordering::Relaxed);
    let still_pending = pending.clone();
    let spawned = std::thread::Builder::new().name(name.into()).spawn(move || {
        work();
        still_pending.fetch_sub(1, Ordering::Relaxed);
    });
    if spawned.is_err() {
        pending.fetch_sub(1, Ordering::Relaxed);
        return Handoff::NoThread;
    }
    Handoff::Started
}
