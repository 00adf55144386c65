//! The socket options every link carries, at bootstrap and after a reconnection alike.

use crate::conn::Conn;
pub use crate::socket_settings::{Congestion, LinkSocket};
use socket2::{SockRef, TcpKeepalive};
use std::time::Duration;

/// Keepalive probes sent after the idle time before the peer is given up (see `keepalive`).
const KEEPALIVE_RETRIES: u32 = 4;
/// The send buffer a Unix-socket link asks for unless told otherwise: what it may have in
/// flight to its peer. The kernel's default (208 KiB) held a 1 MiB exchange each way to 3,700
/// MB/s, where 4 MiB moved 4,300 (TCP over loopback: 3,500). `net.core.wmem_max` caps it.
const LOCAL_SEND_BUFFER: usize = 4 << 20;

/// Sets up a link's connection: over TCP, see `apply_tcp_options`; over a Unix socket, its
/// send buffer (the buffer settings, else `LOCAL_SEND_BUFFER`) and blocking without timeouts.
/// A peer on this host that dies closes its end, so the link hears of it at once.
pub fn apply_link_socket_options(conn: &Conn, settings: &LinkSocket) -> std::io::Result<()> {
    let Conn::Unix(stream) = conn else {
        return apply_tcp_options(conn, settings);
    };
    let sock = SockRef::from(stream);
    sock.set_send_buffer_size(settings.send_buffer.or(settings.buffer).unwrap_or(LOCAL_SEND_BUFFER))?;
    sock.set_read_timeout(None)?;
    sock.set_write_timeout(None)
}

/// Sets up a TCP link socket: no Nagle delay, blocking without timeouts, the given buffer sizes,
/// and the kernel giving up on a dead peer after about `link_timeout`, as our own heartbeat
/// check does. Without this, unacknowledged data is retried for ~15 minutes (tcp_retries2) and
/// an idle connection is probed only after two hours.
fn apply_tcp_options(stream: &impl std::os::fd::AsFd, settings: &LinkSocket) -> std::io::Result<()> {
    let (link_timeout, socket_buffer) = (settings.link_timeout, settings.buffer);
    let sock = SockRef::from(stream);
    set_congestion(&sock, &settings.congestion);
    sock.set_tcp_nodelay(true)?;
    let (idle, interval) = keepalive(link_timeout);
    sock.set_tcp_keepalive(
        &TcpKeepalive::new().with_time(idle).with_interval(interval).with_retries(KEEPALIVE_RETRIES),
    )?;
    // Sent data unacknowledged for this long fails the connection (ETIMEDOUT). On Linux it also
    // bounds a zero window (since 5.11): a peer that reads nothing for this long while we have
    // data to send fails the link too, so flow control must not stop reading a link that long.
    // The kernel counts in milliseconds; at least 1, since 0 means "the system default".
    sock.set_tcp_user_timeout(Some(link_timeout.max(Duration::from_millis(1))))?;
    if let Some(bytes) = socket_buffer {
        sock.set_send_buffer_size(bytes)?;
        sock.set_recv_buffer_size(bytes)?;
    }
    if let Some(bytes) = settings.send_buffer {
        set_send_buffer(stream, &sock, bytes)?;
    }
    sock.set_read_timeout(None)?;
    sock.set_write_timeout(None)
}

/// Sets the send buffer alone, so the receive side keeps autotuning. SO_SNDBUFFORCE may pass
/// `net.core.wmem_max` (it needs CAP_NET_ADMIN); without it, the kernel's cap applies, and a
/// warning says so.
fn set_send_buffer(stream: &impl std::os::fd::AsFd, sock: &SockRef<'_>, bytes: usize) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = stream.as_fd().as_raw_fd();
    if crate::tcp_info::set_int_option(&fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, bytes).is_ok() {
        return Ok(());
    }
    sock.set_send_buffer_size(bytes)?;
    // Linux reports twice the size it granted (the other half is its bookkeeping).
    let granted = sock.send_buffer_size()? / 2;
    if granted < bytes {
        crate::log::warn_repeated("links with a smaller send buffer than asked for", &format!(
            "PARTYLINE_SEND_BUFFER={bytes} is capped at {granted} bytes by net.core.wmem_max (raise it, or run with CAP_NET_ADMIN); unset, the kernel autotunes up to net.ipv4.tcp_wmem's maximum"
        ));
    }
    Ok(())
}

/// Names the algorithm a link's first connection, its options set, runs where its path loses
/// packets (`Streams::lossy_path_risk` judges by it): under `auto` the one it moves to after a
/// loss, if the kernel offers it, else the one it runs now.
pub fn lossy_path_algorithm(stream: &impl std::os::fd::AsFd, congestion: &Congestion) -> Option<String> {
    let after_loss = congestion.after_loss().filter(|name| crate::tcp_info::offers(name));
    after_loss.map(str::to_string).or_else(|| crate::tcp_info::congestion(stream))
}

/// Sets the congestion control; a refusal is never fatal, since the link works either way.
fn set_congestion(sock: &SockRef<'_>, congestion: &Congestion) {
    match congestion {
        Congestion::System => {}
        Congestion::Auto => {
            let local = sock.local_addr().ok().and_then(|a| a.as_socket());
            let peer = sock.peer_addr().ok().and_then(|a| a.as_socket());
            if crate::socket_settings::leaves_host(local, peer).unwrap_or(false) {
                let rtt = crate::tcp_info::path_rtt(&**sock);
                let start = crate::socket_settings::Congestion::auto_start(rtt);
                let _ = sock.set_tcp_congestion(start.as_bytes());
                if start == crate::socket_settings::UNTIL_LOSS {
                    // Cubic sends a window in bursts at line rate, which overflow a path's
                    // queue in slow start; paced, the same window leaves evenly.
                    let _ = crate::tcp_info::pace(&**sock);
                }
            }
        }
        Congestion::Named(name) => {
            if let Err(e) = sock.set_tcp_congestion(name.as_bytes()) {
                crate::log::warn_repeated("links without the congestion control asked for", &format!(
                    "cannot use congestion control {name} (PARTYLINE_CONGESTION): {e}; links keep the system default (see /proc/sys/net/ipv4/tcp_allowed_congestion_control)"
                ));
            }
        }
    }
}

/// Keepalive idle time and probe interval for `link_timeout` T: the first probe after T/2 of
/// silence, then one every T/8, so the 4th unanswered probe falls at T/2 + 4 * T/8 = T (to the second). (On
/// Linux, with TCP_USER_TIMEOUT set, the connection is dropped at the first unanswered probe
/// at or past T, whatever the retry count; elsewhere the 4 retries give the same T.) The kernel
/// counts both in whole seconds, at least 1, so short timeouts round up to a few seconds.
fn keepalive(link_timeout: Duration) -> (Duration, Duration) {
    let secs = |d: Duration| Duration::from_secs(d.as_secs_f64().round().max(1.0) as u64);
    (secs(link_timeout / 2), secs(link_timeout / 8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    fn settings(link_timeout: Duration) -> LinkSocket {
        LinkSocket { link_timeout, buffer: None, send_buffer: None, congestion: Congestion::Auto }
    }

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    #[test]
    fn keepalive_gives_up_at_the_link_timeout() {
        assert_eq!(keepalive(Duration::from_secs(60)), (Duration::from_secs(30), Duration::from_secs(8)));
        assert_eq!(keepalive(Duration::from_secs(80)), (Duration::from_secs(40), Duration::from_secs(10)));
        // Below the kernel's one-second unit.
        assert_eq!(keepalive(Duration::from_millis(500)), (Duration::from_secs(1), Duration::from_secs(1)));
    }

    #[test]
    fn options_are_set_on_both_ends_of_a_loopback_link() {
        let (client, server) = pair();
        for stream in [&client, &server] {
            let settings = LinkSocket { buffer: Some(64 << 10), ..settings(Duration::from_secs(80)) };
            apply_tcp_options(stream, &settings).unwrap();
            let sock = SockRef::from(stream);
            assert!(sock.tcp_nodelay().unwrap());
            assert!(sock.keepalive().unwrap());
            assert_eq!(sock.tcp_keepalive_time().unwrap(), Duration::from_secs(40));
            assert_eq!(sock.tcp_keepalive_interval().unwrap(), Duration::from_secs(10));
            assert_eq!(sock.tcp_keepalive_retries().unwrap(), KEEPALIVE_RETRIES);
            assert_eq!(sock.tcp_user_timeout().unwrap(), Some(Duration::from_secs(80)));
            // Linux doubles the requested size for its bookkeeping (and caps it at wmem_max and
            // rmem_max, hence a size below their defaults); at least what was asked.
            assert!(sock.send_buffer_size().unwrap() >= 64 << 10);
            assert!(sock.recv_buffer_size().unwrap() >= 64 << 10);
            assert_eq!(stream.read_timeout().unwrap(), None);
        }
    }

    #[test]
    fn a_send_buffer_leaves_the_receive_buffer_to_autotuning() {
        let (client, _server) = pair();
        let untouched = SockRef::from(&client).recv_buffer_size().unwrap();
        let settings = LinkSocket { send_buffer: Some(96 << 10), ..settings(Duration::from_secs(60)) };
        apply_tcp_options(&client, &settings).unwrap();
        let sock = SockRef::from(&client);
        assert!(sock.send_buffer_size().unwrap() >= 96 << 10);
        assert_eq!(sock.recv_buffer_size().unwrap(), untouched);
    }

    #[test]
    fn a_unix_link_asks_for_its_send_buffer_and_no_timeouts() {
        let (ours, _theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        ours.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        let conn = Conn::Unix(ours);
        let wmem_max: usize = std::fs::read_to_string("/proc/sys/net/core/wmem_max").unwrap().trim().parse().unwrap();
        apply_link_socket_options(&conn, &settings(Duration::from_secs(60))).unwrap();
        let sock = SockRef::from(&conn);
        // Linux doubles what it grants, and caps the request at wmem_max.
        assert_eq!(sock.send_buffer_size().unwrap(), 2 * LOCAL_SEND_BUFFER.min(wmem_max));
        assert_eq!(sock.read_timeout().unwrap(), None);
        let asked = LinkSocket { send_buffer: Some(64 << 10), ..settings(Duration::from_secs(60)) };
        apply_link_socket_options(&conn, &asked).unwrap();
        assert_eq!(sock.send_buffer_size().unwrap(), 2 * (64 << 10));
    }

    #[test]
    fn a_fractional_link_timeout_keeps_its_milliseconds() {
        let (client, _server) = pair();
        apply_tcp_options(&client, &settings(Duration::from_millis(2_500))).unwrap();
        assert_eq!(SockRef::from(&client).tcp_user_timeout().unwrap(), Some(Duration::from_millis(2_500)));
    }

    fn algorithm(stream: &TcpStream) -> String {
        String::from_utf8_lossy(&SockRef::from(stream).tcp_congestion().unwrap()).trim_end_matches('\0').to_string()
    }

    #[test]
    fn congestion_control_settings() {
        let (client, _server) = pair();
        let before = algorithm(&client);
        // Loopback links keep the default under Auto.
        apply_tcp_options(&client, &settings(Duration::from_secs(60))).unwrap();
        assert_eq!(algorithm(&client), before);
        // A name the kernel does not know leaves the link working, with its default.
        let unknown =
            LinkSocket { congestion: Congestion::Named("nosuchcc".into()), ..settings(Duration::from_secs(60)) };
        apply_tcp_options(&client, &unknown).unwrap();
        assert_eq!(algorithm(&client), before);
        // Where the kernel allows BBR, a named choice is taken.
        let allowed = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_allowed_congestion_control").unwrap_or_default();
        if allowed.split_whitespace().any(|a| a == "bbr") {
            let bbr = LinkSocket { congestion: Congestion::Named("bbr".into()), ..settings(Duration::from_secs(60)) };
            apply_tcp_options(&client, &bbr).unwrap();
            assert_eq!(algorithm(&client), "bbr");
        }
    }
}
