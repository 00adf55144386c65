//! Addresses for ranks started by hand that no other test or program can take: reserved ports
//! handed over as listening sockets, as partyrun does, or a loopback address of this process's own.

use socket2::{Domain, Socket, Type};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicU16, Ordering};

/// One port on 127.0.0.1 per rank of a job. Each socket is bound, so no one else can take its
/// port, but not listening, so connections are refused until its rank starts; `hand_to` gives it
/// to that rank as PARTYLINE_LISTEN_FD. The sockets not handed over close with this value.
pub struct RankPorts {
    sockets: Vec<Option<Socket>>,
    ports: Vec<u16>,
}

impl RankPorts {
    pub fn reserve(n: usize) -> RankPorts {
        let sockets: Vec<Socket> = (0..n).map(|_| reserve_port()).collect();
        let ports = sockets
            .iter()
            .map(|s| s.local_addr().ok().and_then(|a| a.as_socket()).map(|a| a.port()).expect("a bound port"))
            .collect();
        RankPorts { sockets: sockets.into_iter().map(Some).collect(), ports }
    }

    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// "127.0.0.1:p0,127.0.0.1:p1,..." for PARTYLINE_PEERS.
    pub fn peers(&self) -> String {
        super::local_peers(&self.ports)
    }

    /// Makes `cmd` start listening on `rank`'s port (just before its program runs) and tells the
    /// program so through PARTYLINE_LISTEN_FD. Call it after the PARTYLINE_* variables are set:
    /// `clear_partyline_env` would remove this one.
    pub fn hand_to(&mut self, rank: usize, cmd: &mut Command) {
        let socket = self.sockets[rank].take().unwrap_or_else(|| panic!("rank {rank}'s port was handed over already"));
        let fd = socket.as_raw_fd();
        cmd.env("PARTYLINE_LISTEN_FD", fd.to_string());
        // The parent's copy closes when the command is dropped, as this closure owns it.
        let listen_and_keep = move || {
            let fd = socket.as_raw_fd();
            // SAFETY: plain system calls on a socket this closure owns.
            let ok = unsafe {
                let flags = libc::fcntl(fd, libc::F_GETFD);
                libc::listen(fd, 128) == 0
                    && flags >= 0
                    && libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) == 0
            };
            if ok {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        };
        // SAFETY: the closure runs in the forked child before exec and makes only async-signal-safe
        // system calls (listen, fcntl); it allocates nothing.
        unsafe {
            cmd.pre_exec(listen_and_keep);
        }
    }
}

/// A socket bound to a free port of 127.0.0.1, without SO_REUSEADDR so that no other socket can
/// bind the port while it is held.
fn reserve_port() -> Socket {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("create a TCP socket");
    socket.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into()).expect("bind 127.0.0.1:0");
    socket
}

/// `127.a.b.c:port` for a program that binds an address itself (partyrun --coordinator,
/// PARTYLINE_LISTEN), where no socket can be handed over. a.b.c is this process's id, so no other
/// test process uses the address; the port is different on every call and lies below the
/// kernel's ephemeral range, so no program is given it by chance.
pub fn own_loopback_address() -> String {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let pid = std::process::id();
    let ip = Ipv4Addr::new(127, (pid >> 16) as u8, (pid >> 8) as u8, pid as u8);
    loop {
        let port = 20000 + NEXT.fetch_add(1, Ordering::Relaxed);
        assert!(port < 32768, "ran out of loopback ports below the ephemeral range");
        // A program may hold the port on every address (0.0.0.0): skip it then.
        if TcpListener::bind((ip, port)).is_ok() {
            return format!("{ip}:{port}");
        }
    }
}
