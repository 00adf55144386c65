//! When a connection's TCP send buffer holds its link back: the kernel's own measure of that, judged over the link's busy time, and how far to grow the buffer past autotuning's maximum.
//!
//! The kernel grows a send buffer by itself only up to `net.ipv4.tcp_wmem`'s maximum (4 MiB on
//! most images). A path's bandwidth-delay product is larger than that across regions (1 Gbit/s
//! over 80 ms is 10 MB, and the buffer also holds what awaits retransmission and the kernel's
//! bookkeeping), and there one connection never fills the path. No I/O here: the link feeds in
//! what TCP_INFO reports and applies the advice.

/// A connection's sending, as the kernel counts it since the connection opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sending {
    /// The send buffer's size (SO_SNDBUF, the kernel's bookkeeping included).
    pub buffer: usize,
    /// Microseconds the connection had data in flight or queued (`tcpi_busy_time`).
    pub busy_us: u64,
    /// Of those, microseconds it could not take more because its send buffer was full
    /// (`tcpi_sndbuf_limited`).
    pub buffer_bound_us: u64,
    /// Of those, microseconds the receiver's window held it back (`tcpi_rwnd_limited`).
    pub window_bound_us: u64,
}

/// What to do with a connection's send buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advice {
    Keep,
    /// Make it `to` bytes (as SO_SNDBUF reports it); the buffer held the link back for
    /// `bound_percent` of its busy time lately.
    Grow {
        to: usize,
        bound_percent: u64,
    },
    /// The buffer holds the link back, but it is at `limit` already (said once).
    AtLimit {
        buffer: usize,
        bound_percent: u64,
    },
    /// The receiver's window, not our buffer, held the link back for `bound_percent` of its
    /// busy time (said once): only the receiving host's settings can help.
    PeerWindow {
        bound_percent: u64,
    },
}

/// Busy time over which the buffer is judged: long enough to span many round trips on any
/// path whose buffer matters, short enough that a 100 MB batch benefits within its first tenth.
const JUDGED_OVER_US: u64 = 100_000;

/// The share of busy time, in percent, the buffer must hold the link back before it grows:
/// a connection in slow start or behind a slow receiver is bound by something else.
const BOUND_PERCENT: u64 = 25;

/// One connection's judge. Grows the buffer by doubling, so a link reaches any size in a few
/// judgements and never overshoots what it was shown to need by more than twice.
#[derive(Debug)]
pub struct SendBuffer {
    limit: usize,
    since: Option<Sending>,
    said_at_limit: bool,
    said_peer_window: bool,
}

impl SendBuffer {
    /// A judge that grows the buffer to at most `limit` bytes (0: never).
    pub fn new(limit: usize) -> SendBuffer {
        SendBuffer { limit, since: None, said_at_limit: false, said_peer_window: false }
    }

    /// The advice, given what the kernel reports now.
    pub fn judge(&mut self, now: Sending) -> Advice {
        let Some(since) = self.since.filter(|s| s.buffer == now.buffer && s.busy_us <= now.busy_us) else {
            // A first look, or the kernel changed the buffer itself (autotuning still at work,
            // which needs no help): judge from here.
            self.since = Some(now);
            return Advice::Keep;
        };
        let busy = now.busy_us - since.busy_us;
        if busy < JUDGED_OVER_US {
            return Advice::Keep;
        }
        self.since = Some(now);
        let share = |now: u64, since: u64| now.saturating_sub(since).min(busy) * 100 / busy;
        let bound_percent = share(now.buffer_bound_us, since.buffer_bound_us);
        if bound_percent < BOUND_PERCENT {
            let bound_percent = share(now.window_bound_us, since.window_bound_us);
            if bound_percent >= BOUND_PERCENT && !std::mem::replace(&mut self.said_peer_window, true) {
                return Advice::PeerWindow { bound_percent };
            }
            return Advice::Keep;
        }
        if now.buffer >= self.limit {
            if std::mem::replace(&mut self.said_at_limit, true) {
                return Advice::Keep;
            }
            return Advice::AtLimit { buffer: now.buffer, bound_percent };
        }
        Advice::Grow { to: now.buffer.saturating_mul(2).min(self.limit), bound_percent }
    }

    /// The kernel granted only `buffer` when asked for more: that is the limit from now on,
    /// and the caller has said why.
    pub fn capped_at(&mut self, buffer: usize) {
        self.limit = self.limit.min(buffer);
        self.said_at_limit = true;
        self.since = None;
    }
}

#[cfg(test)]
mod tests;
