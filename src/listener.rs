//! Where a party waits for connections: its listening socket, and the bounded hand-off of each new connection to a thread.
//!
//! Both the mesh (`bootstrap`) and the rendezvous coordinator (`rendezvous`) accept strangers'
//! connections through these, so neither needs the other for it.

use crate::config::Config;
use crate::error::{err, Result};
use socket2::{Domain, Socket, Type};
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// At most this many greetings are read at once, so a flood of idle connections cannot
/// exhaust threads while the real peers are still arriving.
pub const MAX_PENDING_HANDSHAKES: usize = 32;

/// The launcher's socket if it passed one, else a socket bound to PARTYLINE_LISTEN or `default_spec`.
pub fn bind_listener(cfg: &Config, default_spec: &str) -> Result<TcpListener> {
    if let Some(fd) = cfg.listen_fd {
        use std::os::fd::FromRawFd;
        // SAFETY: PARTYLINE_LISTEN_FD names a listening socket the launcher passed to this
        // process for our exclusive use; we take ownership of it exactly once, here.
        let listener = unsafe { TcpListener::from_raw_fd(fd) };
        listener.local_addr().map_err(|e| {
            err!(Arg, "PARTYLINE_LISTEN_FD={fd} is not a listening TCP socket ({e}); unset it outside partyrun")
        })?;
        return Ok(listener);
    }
    let spec = cfg.listen_addr.clone().unwrap_or_else(|| default_spec.to_string());
    let addr =
        resolve(&spec).map_err(|e| err!(Arg, "rank {} cannot resolve its listen address {spec:?}: {e}", cfg.rank))?;
    let bind = || -> std::io::Result<TcpListener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(128)?;
        Ok(socket.into())
    };
    bind().map_err(|e| {
        err!(Other, "rank {} cannot listen on {addr}: {e}; is another process using the port? Set PARTYLINE_LISTEN to bind elsewhere", cfg.rank)
    })
}

/// The first address `host:port` resolves to.
pub fn resolve(spec: &str) -> std::io::Result<SocketAddr> {
    spec.to_socket_addrs()?.next().ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address found"))
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
