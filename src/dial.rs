//! Opening a connection to a rank: its Unix socket where it runs on this host and listens on one, else TCP.

use crate::conn::{abstract_addr, local_names, Conn};
use crate::socket_settings::LocalLinks;
use socket2::{Domain, Socket, Type};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// Connects to the rank listening on `addr` within `timeout`. Under `LocalLinks::Unix`, a
/// loopback address is tried on the rank's Unix socket first; a rank without one (an older
/// build, a proxy in between, `PARTYLINE_LOCAL_LINKS=tcp` there) is reached over TCP. A TCP
/// error is the one returned, so a refused port still means that nobody listens there.
pub fn dial(addr: SocketAddr, timeout: Duration, local: LocalLinks) -> io::Result<Conn> {
    if local == LocalLinks::Unix {
        for name in local_names(addr) {
            if let Some(conn) = dial_local(&name, timeout) {
                return Ok(conn);
            }
        }
    }
    let tcp = TcpStream::connect_timeout(&addr, timeout)?;
    Ok(Conn::Tcp(tcp))
}

/// The Unix socket `name`, if a process of our own user listens there. Any other outcome falls
/// back to TCP: nobody there (the usual case for a TCP-only peer), a full backlog past
/// `timeout`, or a listener of another user, which could have taken the name before the rank
/// did (the TCP port, which the rank holds, cannot be taken).
fn dial_local(name: &str, timeout: Duration) -> Option<Conn> {
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None).ok()?;
    let addr = abstract_addr(name).ok()?;
    // A blocking connect to a Unix socket waits for room in the backlog at most this long.
    socket.set_write_timeout(Some(timeout.max(Duration::from_millis(1)))).ok()?;
    socket.connect(&addr).ok()?;
    let stream: std::os::unix::net::UnixStream = socket.into();
    match peer_uid(&stream) {
        // SAFETY: geteuid has no preconditions and cannot fail.
        Some(uid) if uid == unsafe { libc::geteuid() } => Some(Conn::Unix(stream)),
        other => {
            crate::log::warn_repeated(
                "foreign local sockets",
                &format!(
                    "the Unix socket {name:?} belongs to user {}, not to this job's user; using TCP instead",
                    other.map_or("unknown".into(), |u| u.to_string())
                ),
            );
            None
        }
    }
}

/// The user id of the process at the other end of a Unix socket (SO_PEERCRED).
fn peer_uid(stream: &impl AsRawFd) -> Option<libc::uid_t> {
    let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes of the sizes passed, for the whole call.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(cred.uid)
}
