//! When a waiting thread polls before it blocks: a short window of poll-and-yield, switched off
//! for a while whenever a yield shows that another program wants the core.
//!
//! Polling saves the wake-up a blocked thread pays per message (3 ranks on 2 idle cores: 18 us a
//! SYNC round polling, 33 us blocking). It yields on every turn, so ranks that outnumber the
//! cores pass the core among themselves. But when something else is runnable (another job, a
//! compiler), a yield hands it a whole time slice: SYNC rounds then took 90-260 us polling
//! against 40-70 us blocking, since a thread woken from a block runs at once. A yield that
//! takes longer than `PREEMPTED` is that sign, and polling stops for a back-off that doubles with
//! each preemption in a row and resets once a poll succeeds again.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// A yield longer than this means the core went to another program, not to a peer that polls.
const PREEMPTED: Duration = Duration::from_micros(200);
/// The first back-off after a preemption; each further preemption in a row doubles it, up to `MAX_BACKOFF`.
const BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// What the policy reads the time from and yields the core to. The policy's decisions depend
/// only on what this reports, so tests drive it with a clock of their own.
pub trait Clock {
    fn now(&self) -> Instant;
    fn yield_now(&self);
}

/// A clock the caller keeps, e.g. to read it in a test while a policy uses it.
impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Instant {
        (**self).now()
    }

    fn yield_now(&self) {
        (**self).yield_now()
    }
}

/// The real time and the real scheduler.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn yield_now(&self) {
        std::thread::yield_now();
    }
}

pub struct SpinPolicy<C: Clock = SystemClock> {
    window: Duration,
    clock: C,
    origin: Instant,
    /// No polling until this many nanoseconds after `origin`.
    quiet_until: AtomicU64,
    preemptions_in_a_row: AtomicU32,
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
        SpinPolicy::with_clock(window, SystemClock)
    }
}

impl<C: Clock> SpinPolicy<C> {
    pub fn with_clock(window: Duration, clock: C) -> SpinPolicy<C> {
        let origin = clock.now();
        SpinPolicy { window, clock, origin, quiet_until: AtomicU64::new(0), preemptions_in_a_row: AtomicU32::new(0) }
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
        let mut start = self.clock.now();
        if !self.polling(start) {
            return Spun::Block;
        }
        let mut seen = activity();
        loop {
            if let Some(v) = check() {
                self.preemptions_in_a_row.store(0, Relaxed);
                return Spun::Ready(v);
            }
            let before = self.clock.now();
            let now_seen = activity();
            if now_seen != seen {
                (seen, start) = (now_seen, before);
            }
            if before - start >= self.window {
                return Spun::Block;
            }
            self.clock.yield_now();
            let after = self.clock.now();
            if after - before > PREEMPTED {
                self.preempted(after);
                return Spun::Block;
            }
        }
    }

    fn preempted(&self, now: Instant) {
        let preemptions = self.preemptions_in_a_row.fetch_add(1, Relaxed).min(16);
        let backoff = BACKOFF.saturating_mul(1 << preemptions).min(MAX_BACKOFF);
        self.quiet_until.store(self.nanos(now + backoff), Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// Time that moves only when the policy yields, by `per_yield` (changeable mid-test).
    struct FakeClock {
        origin: Instant,
        elapsed: Cell<Duration>,
        per_yield: Cell<Duration>,
        yields: Cell<u32>,
    }

    impl FakeClock {
        fn new(per_yield: Duration) -> FakeClock {
            FakeClock {
                origin: Instant::now(),
                elapsed: Cell::new(Duration::ZERO),
                per_yield: Cell::new(per_yield),
                yields: Cell::new(0),
            }
        }

        fn elapsed(&self) -> Duration {
            self.elapsed.get()
        }
    }

    impl Clock for FakeClock {
        fn now(&self) -> Instant {
            self.origin + self.elapsed.get()
        }

        fn yield_now(&self) {
            self.yields.set(self.yields.get() + 1);
            self.elapsed.set(self.elapsed.get() + self.per_yield.get());
        }
    }

    const TURN: Duration = Duration::from_micros(1);

    #[test]
    fn zero_window_never_polls() {
        let clock = FakeClock::new(TURN);
        let p = SpinPolicy::with_clock(Duration::ZERO, &clock);
        assert_eq!(p.spin(|| Some(1), || 0), Spun::Block);
        assert_eq!(SpinPolicy::new(Duration::ZERO).spin(|| Some(1), || 0), Spun::Block);
    }

    #[test]
    fn returns_what_the_check_finds() {
        let clock = FakeClock::new(TURN);
        let p = SpinPolicy::with_clock(Duration::from_micros(50), &clock);
        let mut n = 0;
        assert_eq!(p.spin(|| (n += 1, (n == 3).then_some(n)).1, || 0), Spun::Ready(3));
        assert_eq!(clock.yields.get(), 2, "one yield between checks");
    }

    #[test]
    fn gives_up_after_the_window() {
        let clock = FakeClock::new(Duration::from_micros(10));
        let p = SpinPolicy::with_clock(Duration::from_micros(50), &clock);
        let mut checks = 0;
        assert_eq!(p.spin(|| (checks += 1, None::<()>).1, || 0), Spun::Block);
        assert_eq!(clock.elapsed(), Duration::from_micros(50), "blocks as soon as the window has passed");
        assert_eq!(checks, 6, "checked at 0, 10, .., 50 us");
        assert!(p.polling(clock.now()), "a window that passed is no preemption");
    }

    #[test]
    fn moving_bytes_keep_the_window_open() {
        let clock = FakeClock::new(Duration::from_micros(10));
        let p = SpinPolicy::with_clock(Duration::from_micros(200), &clock);
        let (moved, until) = (Cell::new(0u64), Duration::from_millis(5));
        // Bytes move on every check for 5 ms, far past the 200 us window; then nothing does.
        let spun = p.spin(
            || {
                if clock.elapsed() < until {
                    moved.set(moved.get() + 1);
                }
                None::<()>
            },
            || moved.get(),
        );
        assert_eq!(spun, Spun::Block);
        assert!(clock.elapsed() >= until, "polled only {:?}", clock.elapsed());
        assert!(clock.elapsed() <= until + Duration::from_micros(210), "polled on for {:?}", clock.elapsed());
    }

    #[test]
    fn a_slow_yield_is_a_preemption() {
        let clock = FakeClock::new(TURN);
        let p = SpinPolicy::with_clock(Duration::from_micros(50), &clock);
        let mut checks = 0;
        let mut check = || {
            checks += 1;
            if checks == 3 {
                clock.per_yield.set(PREEMPTED + TURN);
            }
            None::<()>
        };
        assert_eq!(p.spin(&mut check, || 0), Spun::Block);
        assert_eq!(checks, 3);
        assert!(!p.polling(clock.now()), "polling stops after a preemption");
        assert!(p.polling(clock.now() + BACKOFF));
    }

    #[test]
    fn a_preemption_stops_polling_with_a_growing_backoff() {
        let clock = FakeClock::new(TURN);
        let p = SpinPolicy::with_clock(Duration::from_micros(50), &clock);
        let now = clock.now();
        p.preempted(now);
        assert!(!p.polling(now + BACKOFF - Duration::from_millis(1)));
        assert!(p.polling(now + BACKOFF));
        p.preempted(now);
        assert!(!p.polling(now + BACKOFF), "a second preemption in a row backs off twice as long");
        assert!(p.polling(now + 2 * BACKOFF));
        assert_eq!(p.spin(|| Some(()), || 0), Spun::Block, "no polling during the back-off");
        for _ in 0..20 {
            p.preempted(now);
        }
        assert!(p.polling(now + MAX_BACKOFF), "the back-off stops growing at {MAX_BACKOFF:?}");
    }

    #[test]
    fn a_successful_poll_resets_the_backoff() {
        let clock = FakeClock::new(TURN);
        let p = SpinPolicy::with_clock(Duration::from_micros(50), &clock);
        p.preempted(clock.now());
        p.preempted(clock.now());
        clock.elapsed.set(clock.elapsed() + 2 * BACKOFF);
        assert_eq!(p.spin(|| Some(()), || 0), Spun::Ready(()));
        let now = clock.now();
        p.preempted(now);
        assert!(p.polling(now + BACKOFF), "back to the first back-off");
    }
}
