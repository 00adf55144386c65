//! How long a large unexpected message may wait in the socket for its receive before it is buffered after all.

use std::time::{Duration, Instant};

/// An unexpected message at least this long first waits in the socket for its receive (read
/// straight into the user's buffer once posted) instead of being copied into our memory.
pub const DEFER_MIN: u64 = 256 << 10;
/// The least time a deferred message may hold its link, and how often deferrals are checked.
pub const DEFER_MAX: Duration = Duration::from_millis(2);
/// Bytes per second at which a deferred message earns more time (see `defer_limit`).
const DEFER_RATE: u64 = 1 << 30;
/// The longest any message may hold its link.
const DEFER_CAP: Duration = Duration::from_millis(100);

/// How long an unexpected message of `len` bytes may hold its link (later frames wait behind
/// it) before it is buffered after all, so no program can deadlock on it: 2 ms plus about the
/// time that reading it into a buffer would take anyway (1 GiB/s), at most 100 ms. A ring
/// exchange's next message often arrives a whole exchange before its receive is posted: with a
/// flat 2 ms, 4-7 of the 27 messages of a 10^7-element BATCH run were buffered (80 MB each).
pub fn defer_limit(len: u64) -> Duration {
    (DEFER_MAX + Duration::from_micros(len.saturating_mul(1_000_000) / DEFER_RATE)).min(DEFER_CAP)
}

/// A link whose current message waits in the socket, header read, payload not.
#[derive(Debug, Clone, Copy)]
pub struct Stall {
    pub len: u64,
    /// Since when a large message has waited for its receive (see `DEFER_MIN`); `None`: it
    /// waits for budget alone.
    pub deferred_since: Option<Instant>,
}
