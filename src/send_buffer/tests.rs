//! The send-buffer judge against scripted kernel reports, and a property test of its bounds.

use super::*;
use proptest::prelude::*;

const MIB: usize = 1 << 20;

fn at(buffer: usize, busy_ms: u64, bound_ms: u64) -> Sending {
    Sending { buffer, busy_us: busy_ms * 1000, buffer_bound_us: bound_ms * 1000, window_bound_us: 0 }
}

#[test]
fn a_link_held_back_by_the_receivers_window_is_said_once_and_keeps_its_buffer() {
    let mut judge = SendBuffer::new(64 * MIB);
    let windowed =
        |busy_ms: u64, window_ms: u64| Sending { window_bound_us: window_ms * 1000, ..at(4 * MIB, busy_ms, 0) };
    judge.judge(windowed(0, 0));
    assert_eq!(judge.judge(windowed(100, 60)), Advice::PeerWindow { bound_percent: 60 });
    assert_eq!(judge.judge(windowed(200, 160)), Advice::Keep, "said once");
}

#[test]
fn a_buffer_that_holds_the_link_back_doubles_up_to_the_limit() {
    let mut judge = SendBuffer::new(16 * MIB);
    assert_eq!(judge.judge(at(4 * MIB, 0, 0)), Advice::Keep, "a first look judges nothing");
    assert_eq!(judge.judge(at(4 * MIB, 50, 40)), Advice::Keep, "not yet busy long enough");
    assert_eq!(judge.judge(at(4 * MIB, 100, 80)), Advice::Grow { to: 8 * MIB, bound_percent: 80 });
    // The new size starts a new judgement.
    assert_eq!(judge.judge(at(8 * MIB, 110, 88)), Advice::Keep);
    assert_eq!(judge.judge(at(8 * MIB, 210, 188)), Advice::Grow { to: 16 * MIB, bound_percent: 100 });
    assert_eq!(judge.judge(at(16 * MIB, 220, 198)), Advice::Keep);
    assert_eq!(judge.judge(at(16 * MIB, 320, 290)), Advice::AtLimit { buffer: 16 * MIB, bound_percent: 92 });
    assert_eq!(judge.judge(at(16 * MIB, 420, 390)), Advice::Keep, "the limit is said once");
}

#[test]
fn a_link_bound_by_something_else_keeps_its_buffer() {
    let mut judge = SendBuffer::new(64 * MIB);
    judge.judge(at(4 * MIB, 0, 0));
    assert_eq!(judge.judge(at(4 * MIB, 200, 49)), Advice::Keep, "24% is the window or the receiver");
    assert_eq!(judge.judge(at(4 * MIB, 400, 99)), Advice::Grow { to: 8 * MIB, bound_percent: 25 });
    // Idle time does not count: only busy time moves the judgement on.
    let mut judge = SendBuffer::new(64 * MIB);
    judge.judge(at(4 * MIB, 1000, 900));
    assert_eq!(judge.judge(at(4 * MIB, 1000, 900)), Advice::Keep);
}

#[test]
fn autotuning_at_work_is_left_alone() {
    let mut judge = SendBuffer::new(64 * MIB);
    judge.judge(at(MIB, 0, 0));
    // The kernel grew the buffer itself within the window: judge again from there.
    assert_eq!(judge.judge(at(2 * MIB, 150, 150)), Advice::Keep);
    assert_eq!(judge.judge(at(2 * MIB, 200, 200)), Advice::Keep);
    assert_eq!(judge.judge(at(2 * MIB, 250, 250)), Advice::Grow { to: 4 * MIB, bound_percent: 100 });
}

#[test]
fn a_limit_of_zero_never_grows_and_a_kernel_cap_becomes_the_limit() {
    let mut judge = SendBuffer::new(0);
    judge.judge(at(4 * MIB, 0, 0));
    assert!(matches!(judge.judge(at(4 * MIB, 500, 500)), Advice::AtLimit { .. }));

    let mut judge = SendBuffer::new(64 * MIB);
    judge.judge(at(4 * MIB, 0, 0));
    assert!(matches!(judge.judge(at(4 * MIB, 100, 100)), Advice::Grow { .. }));
    judge.capped_at(4 * MIB);
    judge.judge(at(4 * MIB, 110, 110));
    assert_eq!(judge.judge(at(4 * MIB, 300, 300)), Advice::Keep, "the caller said why already");
}

#[test]
fn counters_that_go_back_restart_the_judgement() {
    // A reconnected link's new connection counts from zero.
    let mut judge = SendBuffer::new(64 * MIB);
    judge.judge(at(4 * MIB, 5000, 5000));
    assert_eq!(judge.judge(at(4 * MIB, 10, 10)), Advice::Keep);
    assert_eq!(judge.judge(at(4 * MIB, 110, 110)), Advice::Grow { to: 8 * MIB, bound_percent: 100 });
}

proptest! {
    /// Whatever the kernel reports, advice stays within the limit, only ever grows the buffer,
    /// at most doubles it, and only after a full judgement of a buffer-bound link.
    #[test]
    fn advice_is_bounded(
        limit in 0usize..(256 * MIB),
        reports in proptest::collection::vec((1usize..(128 * MIB), 0u64..300_000, 0u64..300_000, any::<bool>()), 1..40),
    ) {
        let mut judge = SendBuffer::new(limit);
        let (mut busy, mut bound) = (0u64, 0u64);
        let mut last: Option<Sending> = None;
        for (buffer, more_busy, more_bound, same_buffer) in reports {
            let buffer = match (same_buffer, last) { (true, Some(l)) => l.buffer, _ => buffer };
            busy += more_busy;
            bound += more_bound.min(more_busy);
            let now = Sending { buffer, busy_us: busy, buffer_bound_us: bound, window_bound_us: 0 };
            match judge.judge(now) {
                Advice::Grow { to, bound_percent } => {
                    prop_assert!(to > buffer && to <= limit && to <= buffer * 2);
                    prop_assert!((BOUND_PERCENT..=100).contains(&bound_percent));
                    let since = last.expect("never on a first look");
                    prop_assert_eq!(since.buffer, buffer);
                }
                Advice::AtLimit { buffer: b, .. } => prop_assert!(b >= limit),
                Advice::Keep | Advice::PeerWindow { .. } => {}
            }
            last = Some(now);
        }
    }
}
