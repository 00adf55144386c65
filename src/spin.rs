//! When a waiting thread polls before it blocks: a short window of poll-and-yield, switched off
//! for a while whenever a yield shows that another program wants the core.
//!
//! Polling saves the wake-up a blocked thread pays per message (3 ranks on 2 idle cores: 18 us a
//! SYNC round polling, 33 us blocking). It yields on every turn, so ranks that outnumber the
//! cores pass the core among themselves. But when something else is runnable (another job, a
//! compiler), a yield hands it a whole time slice: SYNC rounds then took 90-260 us polling
//! against 40-70 us blocking, since a thread woken from a block runs at once. A yield that
//! takes longer than `STALL` is that sign, and polling stops for a back-off that doubles with
//! each stall in a row and resets once a poll succeeds again.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// A yield longer than this means the core went to another program, not to a peer that polls.
const STALL: Duration = Duration::from_micros(200);
/// The first back-off after a stall; each further stall in a row doubles it, up to `MAX_BACKOFF`.
const BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

pub struct SpinPolicy {
    window: Duration,
    origin: Instant,
    /// No polling until this many nanoseconds after `origin`.
    quiet_until: AtomicU64,
    stalls_in_a_row: AtomicU32,
}

/// How a poll window ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Spun<T> {
    Ready(T),
    /// The window passed (or polling is off): block.
    Block,
}

impl SpinPolicy {
    pub fn new(window: Duration) -> SpinPolicy {
        SpinPolicy {
            window,
            origin: Instant::now(),
            quiet_until: AtomicU64::new(0),
            stalls_in_a_row: AtomicU32::new(0),
        }
    }

    fn nanos(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.origin).as_nanos() as u64
    }

    /// Whether a wait starting now should poll first.
    pub fn polling(&self, now: Instant) -> bool {
        !self.window.is_zero() && self.nanos(now) >= self.quiet_until.load(Relaxed)
    }

    /// Polls `check` (Some ends the window), yielding the core between checks, for the window;
    /// the window starts over whenever `activity` changes (bytes moved: a large message is
    /// streaming in, and blocking would cost a wake-up per arrival).
    pub fn spin<T>(&self, mut check: impl FnMut() -> Option<T>, activity: impl Fn() -> u64) -> Spun<T> {
        let mut start = Instant::now();
        if !self.polling(start) {
            return Spun::Block;
        }
        let mut seen = activity();
        loop {
            if let Some(v) = check() {
                self.stalls_in_a_row.store(0, Relaxed);
                return Spun::Ready(v);
            }
            let before = Instant::now();
            let now_seen = activity();
            if now_seen != seen {
                (seen, start) = (now_seen, before);
            }
            if before - start >= self.window {
                return Spun::Block;
            }
            std::thread::yield_now();
            let after = Instant::now();
            if after - before > STALL {
                self.stalled(after);
                return Spun::Block;
            }
        }
    }

    fn stalled(&self, now: Instant) {
        let stalls = self.stalls_in_a_row.fetch_add(1, Relaxed).min(16);
        let backoff = BACKOFF.saturating_mul(1 << stalls).min(MAX_BACKOFF);
        self.quiet_until.store(self.nanos(now + backoff), Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_window_never_polls() {
        let p = SpinPolicy::new(Duration::ZERO);
        assert_eq!(p.spin(|| Some(1), || 0), Spun::Block);
    }

    #[test]
    fn returns_what_the_check_finds() {
        let p = SpinPolicy::new(Duration::from_micros(50));
        let mut n = 0;
        assert_eq!(p.spin(|| (n += 1, (n == 3).then_some(n)).1, || 0), Spun::Ready(3));
    }

    #[test]
    fn gives_up_after_the_window() {
        let p = SpinPolicy::new(Duration::from_micros(50));
        let start = Instant::now();
        assert_eq!(p.spin(|| None::<()>, || 0), Spun::Block);
        assert!(start.elapsed() >= Duration::from_micros(50));
    }

    #[test]
    fn moving_bytes_keep_the_window_open() {
        let p = SpinPolicy::new(Duration::from_micros(200));
        let (start, moved) = (Instant::now(), std::cell::Cell::new(0u64));
        let until = Duration::from_millis(5);
        // Bytes move on every check for 5 ms, far past the 200 us window; then nothing does.
        let spun = p.spin(
            || {
                if start.elapsed() < until {
                    moved.set(moved.get() + 1);
                }
                None::<()>
            },
            || moved.get(),
        );
        assert_eq!(spun, Spun::Block);
        assert!(start.elapsed() >= until, "polled only {:?}", start.elapsed());
    }

    #[test]
    fn a_stall_stops_polling_with_a_growing_backoff() {
        let p = SpinPolicy::new(Duration::from_micros(50));
        let now = Instant::now();
        p.stalled(now);
        assert!(!p.polling(now + BACKOFF - Duration::from_millis(1)));
        assert!(p.polling(now + BACKOFF));
        p.stalled(now);
        assert!(!p.polling(now + BACKOFF), "a second stall in a row backs off twice as long");
        assert!(p.polling(now + 2 * BACKOFF));
        assert_eq!(p.spin(|| Some(()), || 0), Spun::Block, "no polling during the back-off");
    }

    #[test]
    fn a_successful_poll_resets_the_backoff() {
        let p = SpinPolicy::new(Duration::from_micros(50));
        p.stalled(Instant::now());
        p.stalled(Instant::now());
        p.quiet_until.store(0, Relaxed);
        assert_eq!(p.spin(|| Some(()), || 0), Spun::Ready(()));
        let now = Instant::now();
        p.stalled(now);
        assert!(p.polling(now + BACKOFF), "back to the first back-off");
    }
}
