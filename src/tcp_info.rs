//! The kernel's view of a TCP connection (TCP_INFO and the send queue): its round trip, its congestion window, and a bound on its unsent bytes.

use std::os::fd::AsRawFd;
use std::time::Duration;

fn tcp_info(socket: &impl AsRawFd) -> Option<libc::tcp_info> {
    // SAFETY: tcp_info is plain integers, for which all zeroes is a valid value.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `info`, which is that large.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(info)
}

/// The kernel's smoothed round-trip time of a connection, if it can tell.
pub fn path_rtt(socket: &impl AsRawFd) -> Option<Duration> {
    let info = tcp_info(socket)?;
    (info.tcpi_rtt > 0).then(|| Duration::from_micros(u64::from(info.tcpi_rtt)))
}

/// The connection's congestion window in bytes, if the kernel can tell.
pub fn congestion_window(socket: &impl AsRawFd) -> Option<usize> {
    let info = tcp_info(socket)?;
    Some(info.tcpi_snd_cwnd as usize * info.tcpi_snd_mss as usize)
}

/// Bytes the connection's send buffer has room for beyond what is queued on it (sent and
/// unacknowledged, or not sent yet), if the kernel can tell; approximate, as the buffer also
/// holds the kernel's bookkeeping.
pub fn send_room(socket: &impl AsRawFd) -> Option<usize> {
    let size = int_option(socket, libc::SOL_SOCKET, libc::SO_SNDBUF).ok()?;
    let mut queued: libc::c_int = 0;
    // SAFETY: TIOCOUTQ writes one c_int, into `queued`.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::TIOCOUTQ, &mut queued) } != 0 {
        return None;
    }
    Some((size.max(0) as usize).saturating_sub(queued.max(0) as usize))
}

/// Makes the kernel take no more unsent bytes than about `bytes` on the connection
/// (TCP_NOTSENT_LOWAT): writes past it would block, and it reports writable again below it.
pub fn limit_unsent(socket: &impl AsRawFd, bytes: usize) -> std::io::Result<()> {
    set_int_option(socket, libc::IPPROTO_TCP, libc::TCP_NOTSENT_LOWAT, bytes)
}

/// Reads an integer socket option.
fn int_option(socket: &impl AsRawFd, level: libc::c_int, name: libc::c_int) -> std::io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `value`, which is that large.
    let rc =
        unsafe { libc::getsockopt(socket.as_raw_fd(), level, name, (&mut value as *mut libc::c_int).cast(), &mut len) };
    if rc == 0 {
        Ok(value)
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Sets an integer socket option to `value` (at most `c_int::MAX`).
pub fn set_int_option(
    socket: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: usize,
) -> std::io::Result<()> {
    let value = libc::c_int::try_from(value).unwrap_or(libc::c_int::MAX);
    // SAFETY: setsockopt reads one c_int from `value`, which lives for the call.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
