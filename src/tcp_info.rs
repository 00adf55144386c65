//! The kernel's view of a TCP connection (TCP_INFO and the send queue): its round trip, its congestion window, and a bound on its unsent bytes.

use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

/// What getsockopt may fill with whatever bytes the kernel has.
///
/// # Safety
/// Every bit pattern must be a valid value of the type (plain integers).
unsafe trait Plain {}
// SAFETY: an integer, an array of integers, and a struct of integers (and their padding).
unsafe impl Plain for libc::c_int {}
// SAFETY: as above.
unsafe impl Plain for u64 {}
// SAFETY: as above.
unsafe impl Plain for [u64; 32] {}
// SAFETY: as above.
unsafe impl Plain for libc::tcp_info {}

/// Reads the socket option `name` at `level` into `value`; how many bytes the kernel filled.
fn read_option<T: Plain>(
    socket: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &mut T,
) -> std::io::Result<usize> {
    let mut len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `value`, which is that large, and any
    // bytes it writes make a valid `T` (`Plain`).
    let rc = unsafe { libc::getsockopt(socket.as_raw_fd(), level, name, (value as *mut T).cast(), &mut len) };
    if rc == 0 {
        Ok(len as usize)
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn tcp_info(socket: &impl AsRawFd) -> Option<libc::tcp_info> {
    // SAFETY: tcp_info is plain integers, for which all zeroes is a valid value.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    read_option(socket, libc::IPPROTO_TCP, libc::TCP_INFO, &mut info).ok()?;
    Some(info)
}

/// The kernel's smoothed round-trip time of a connection, if it can tell.
pub fn path_rtt(socket: &impl AsRawFd) -> Option<Duration> {
    let info = tcp_info(socket)?;
    (info.tcpi_rtt > 0).then(|| Duration::from_micros(u64::from(info.tcpi_rtt)))
}

/// Where Linux's `struct tcp_info` (include/uapi/linux/tcp.h, since 4.10) keeps
/// `tcpi_busy_time`, `tcpi_rwnd_limited` and `tcpi_sndbuf_limited`, past the part the libc crate declares.
const BUSY_TIME_AT: usize = 168;
const RWND_LIMITED_AT: usize = 176;
const SNDBUF_LIMITED_AT: usize = 184;
/// `tcpi_total_retrans`, a 32-bit count, in the same buffer.
const TOTAL_RETRANS_AT: usize = std::mem::offset_of!(libc::tcp_info, tcpi_total_retrans);
/// `tcpi_rcv_ooopack` (since 5.4), a 32-bit count.
const RCV_OOOPACK_AT: usize = 224;

/// The connection's sending so far (see `send_buffer::Sending`), if the kernel reports it.
pub fn sending(socket: &impl AsRawFd) -> Option<crate::send_buffer::Sending> {
    let mut info = [0u64; 32];
    let filled = read_option(socket, libc::IPPROTO_TCP, libc::TCP_INFO, &mut info).ok()?;
    // Older kernels fill less: then there is nothing to judge by.
    if filled < SNDBUF_LIMITED_AT + 8 {
        return None;
    }
    let buffer = int_option(socket, libc::SOL_SOCKET, libc::SO_SNDBUF).ok()?;
    Some(crate::send_buffer::Sending {
        buffer: buffer.max(0) as usize,
        busy_us: info[BUSY_TIME_AT / 8],
        buffer_bound_us: info[SNDBUF_LIMITED_AT / 8],
        window_bound_us: info[RWND_LIMITED_AT / 8],
    })
}

/// Asks for a send buffer of `bytes` (as SO_SNDBUF reports it, larger than `current`), past
/// `net.core.wmem_max` where the process may (SO_SNDBUFFORCE needs CAP_NET_ADMIN); the size
/// granted, which is `current` where the kernel's cap allows no more.
pub fn grow_send_buffer(socket: &impl AsRawFd, bytes: usize, current: usize) -> std::io::Result<usize> {
    // The kernel doubles what it is given, for its bookkeeping, and reports the doubled size.
    let asked = bytes / 2;
    if set_int_option(socket, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, asked).is_err() {
        // Capped at wmem_max, SO_SNDBUF could shrink an autotuned buffer (and would stop its
        // autotuning): only where the cap is above what the buffer has.
        let cap = std::fs::read_to_string("/proc/sys/net/core/wmem_max")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if cap.saturating_mul(2) <= current {
            return Ok(current);
        }
        set_int_option(socket, libc::SOL_SOCKET, libc::SO_SNDBUF, asked.min(cap))?;
    }
    Ok(int_option(socket, libc::SOL_SOCKET, libc::SO_SNDBUF)?.max(0) as usize)
}

/// What a connection's sender has in hand, as the kernel reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Queue {
    /// The congestion window in bytes.
    pub window: usize,
    /// Bytes the send buffer has room for beyond what is queued on it (sent and unacknowledged,
    /// or not sent yet); approximate, as the buffer also holds the kernel's bookkeeping.
    pub room: usize,
    /// Bytes written but not sent yet.
    pub unsent: usize,
}

/// The connection's send queue, if the kernel can tell: two system calls, as a striped link
/// measures every stream for every chunk.
pub fn queue(socket: &impl AsRawFd) -> Option<Queue> {
    let info = tcp_info(socket)?;
    let size = int_option(socket, libc::SOL_SOCKET, libc::SO_SNDBUF).ok()?;
    let mss = info.tcpi_snd_mss as usize;
    let unsent = info.tcpi_notsent_bytes as usize;
    // Sent but unacknowledged counts whole packets (the last may be shorter).
    let queued = info.tcpi_unacked as usize * mss + unsent;
    Some(Queue {
        window: info.tcpi_snd_cwnd as usize * mss,
        room: (size.max(0) as usize).saturating_sub(queued),
        unsent,
    })
}

/// Whether the kernel would take a write on the connection now. Asking also makes a
/// connection that would not wake its pollers once it would (a write refused for room does the
/// same), so a sender that decides not to write to it still hears when it drains.
pub fn writable_or_armed(socket: &impl AsRawFd) -> bool {
    let mut fd = libc::pollfd { fd: socket.as_raw_fd(), events: libc::POLLOUT, revents: 0 };
    // SAFETY: one pollfd, which lives for the call; a zero timeout never blocks.
    let rc = unsafe { libc::poll(&mut fd, 1, 0) };
    // On an error, say writable: the caller then writes, and a refused write arms it too.
    rc != 0 && (rc < 0 || fd.revents & libc::POLLOUT != 0)
}

/// Makes the kernel take no more unsent bytes than about `bytes` on the connection
/// (TCP_NOTSENT_LOWAT): writes past it would block, and it reports writable again below it.
pub fn limit_unsent(socket: &impl AsRawFd, bytes: usize) -> std::io::Result<()> {
    set_int_option(socket, libc::IPPROTO_TCP, libc::TCP_NOTSENT_LOWAT, bytes)
}

/// Segments the connection has retransmitted since it opened, if the kernel can tell.
pub fn retransmitted(socket: &impl AsRawFd) -> Option<u32> {
    Some(tcp_info(socket)?.tcpi_total_retrans)
}

/// Packets lost either way on the connection so far, as far as this end can tell: segments it
/// retransmitted, and segments that arrived out of order (after a gap, which a loss leaves in
/// the peer's sending). None if the kernel does not say.
pub fn lost_either_way(socket: &impl AsRawFd) -> Option<u64> {
    let mut info = [0u64; 32];
    let filled = read_option(socket, libc::IPPROTO_TCP, libc::TCP_INFO, &mut info).ok()?;
    // A u64's native bytes are the bytes as the kernel wrote them.
    let u32_at = |at: usize| {
        let word = info[at / 8].to_ne_bytes();
        u32::from_ne_bytes(word[at % 8..at % 8 + 4].try_into().expect("4 bytes"))
    };
    let retransmitted = u32_at(TOTAL_RETRANS_AT);
    // Older kernels fill less: then only our own retransmissions count.
    let out_of_order = if filled >= RCV_OOOPACK_AT + 4 { u32_at(RCV_OOOPACK_AT) } else { 0 };
    Some(u64::from(retransmitted) + u64::from(out_of_order))
}

/// The congestion control the connection runs (TCP_CONGESTION), if the kernel says.
pub fn congestion(socket: &impl AsFd) -> Option<String> {
    let name = socket2::SockRef::from(socket).tcp_congestion().ok()?;
    Some(String::from_utf8_lossy(&name).trim_end_matches('\0').to_string())
}

/// Moves the connection to the congestion control `name` (TCP_CONGESTION); an established
/// connection takes it from its next acknowledgement.
pub fn set_congestion(socket: &impl AsFd, name: &str) -> std::io::Result<()> {
    socket2::SockRef::from(socket).set_tcp_congestion(name.as_bytes())
}

/// Turns on the kernel's own pacing of the connection, without a cap of ours: any
/// SO_MAX_PACING_RATE but "unlimited" does (BBR turns it on for itself; cubic otherwise sends
/// each window in line-rate bursts).
pub fn pace(socket: &impl AsRawFd) -> std::io::Result<()> {
    set_option(socket, libc::SOL_SOCKET, libc::SO_MAX_PACING_RATE, &(u64::MAX - 1))
}

/// Whether this process may run the congestion control `name`: asked once, on a socket of its
/// own, since setting it on a connection and back leaves that connection paced.
pub fn offers(name: &'static str) -> bool {
    static ASKED: std::sync::Mutex<Vec<(&str, bool)>> = std::sync::Mutex::new(Vec::new());
    let mut asked = crate::sync::lock(&ASKED);
    if let Some((_, offered)) = asked.iter().find(|(n, _)| *n == name) {
        return *offered;
    }
    let probe = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None);
    let offered = probe.is_ok_and(|socket| socket.set_tcp_congestion(name.as_bytes()).is_ok());
    asked.push((name, offered));
    offered
}

/// Reads an integer socket option.
fn int_option(socket: &impl AsRawFd, level: libc::c_int, name: libc::c_int) -> std::io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    read_option(socket, level, name, &mut value)?;
    Ok(value)
}

/// Sets an integer socket option to `value` (at most `c_int::MAX`).
pub fn set_int_option(
    socket: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: usize,
) -> std::io::Result<()> {
    set_option(socket, level, name, &libc::c_int::try_from(value).unwrap_or(libc::c_int::MAX))
}

/// Sets a socket option to the bytes of `value`.
fn set_option<T: Plain>(
    socket: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> std::io::Result<()> {
    let len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: setsockopt reads `len` bytes from `value`, which is that large and lives for the call.
    let rc = unsafe { libc::setsockopt(socket.as_raw_fd(), level, name, (value as *const T).cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn pacing_is_turned_on_without_a_cap() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        pace(&client).unwrap();
        let mut cap = 0u64;
        read_option(&client, libc::SOL_SOCKET, libc::SO_MAX_PACING_RATE, &mut cap).unwrap();
        assert_eq!(cap, u64::MAX - 1, "any cap but u64::MAX turns the kernel's pacing on");
    }

    #[test]
    fn a_connection_reports_its_queue_and_a_busy_one_is_armed() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, _) = listener.accept().unwrap();
        let idle = queue(&client).expect("Linux reports TCP_INFO");
        assert!(idle.window > 0 && idle.room > 0, "{idle:?}");
        assert_eq!(idle.unsent, 0);
        assert!(writable_or_armed(&client), "an idle connection takes writes");
        // Nobody reads the server end: once the receiver's window closes, written bytes stay
        // unsent, and below the unsent bound's half nothing more is taken.
        limit_unsent(&client, 16 << 10).unwrap();
        client.set_nonblocking(true).unwrap();
        let chunk = vec![7u8; 64 << 10];
        while client.write(&chunk).is_ok() {}
        let full = queue(&client).unwrap();
        assert!(full.unsent > 0, "{full:?}");
        assert!(full.room < idle.room, "{full:?} against {idle:?}");
        assert!(!writable_or_armed(&client), "a connection past its unsent bound is not writable");
    }

    #[test]
    fn a_connection_counts_no_retransmits_on_loopback_and_changes_its_congestion_control() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let _server = listener.accept().unwrap();
        assert_eq!(retransmitted(&client), Some(0));
        assert_eq!(lost_either_way(&client), Some(0));
        assert!(offers("reno"), "reno is built into every kernel and allowed to everyone");
        assert!(!offers("no-such-algorithm"));
        let algorithm = |s: &std::net::TcpStream| congestion(s).unwrap();
        // Reno is built into every kernel and allowed to everyone.
        set_congestion(&client, "reno").unwrap();
        assert_eq!(algorithm(&client), "reno");
        let refused = set_congestion(&client, "no-such-algorithm").unwrap_err();
        assert_eq!(refused.raw_os_error(), Some(libc::ENOENT), "{refused}");
        assert_eq!(algorithm(&client), "reno", "a refused name changes nothing");
    }
}
