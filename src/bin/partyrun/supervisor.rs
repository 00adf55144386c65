//! Supervising a running job: the first failure decides the exit status and stops the rest.

use crate::job::Rank;
use crate::{reaper, report, signals};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Between SIGTERM and SIGKILL.
const TERM_TO_KILL: Duration = Duration::from_secs(1);
/// Polling interval: short at first so quick jobs end quickly, then cheaper.
const MIN_NAP: Duration = Duration::from_millis(2);
const MAX_NAP: Duration = Duration::from_millis(20);

/// When to SIGTERM, then SIGKILL, the ranks still running.
#[derive(Default)]
struct Escalation {
    term_at: Option<Instant>,
    kill_at: Option<Instant>,
    term_sent: bool,
    kill_sent: bool,
}

impl Escalation {
    fn term_by(&mut self, t: Instant) {
        self.term_at = Some(self.term_at.map_or(t, |old| old.min(t)));
    }

    fn kill_by(&mut self, t: Instant) {
        self.kill_at = Some(self.kill_at.map_or(t, |old| old.min(t)));
    }

    fn act(&mut self, now: Instant, ranks: &[Rank]) {
        if !self.term_sent && self.term_at.is_some_and(|t| t <= now) {
            reaper::signal_running(ranks, libc::SIGTERM);
            self.term_sent = true;
            self.kill_by(now + TERM_TO_KILL);
        }
        if !self.kill_sent && self.kill_at.is_some_and(|t| t <= now) {
            reaper::signal_running(ranks, libc::SIGKILL);
            self.kill_sent = true;
        }
    }
}

fn all_exited(ranks: &[Rank]) -> bool {
    ranks.iter().all(|r| r.exit.is_some())
}

/// Waits for every rank and returns partyrun's exit status: that of the first rank to fail,
/// 124 on timeout, 128+N on signal N to partyrun; whichever came first. 0 if all succeeded.
pub fn supervise(ranks: &mut [Rank], timeout: Option<Duration>, grace: Duration) -> i32 {
    // An absurdly long timeout or grace (beyond what Instant can hold) means "never".
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let mut timed_out = false;
    let mut outcome: Option<i32> = None;
    let mut escalation = Escalation::default();
    let mut nap = MIN_NAP;
    loop {
        // Signals first: on Ctrl-C the ranks die of SIGINT too, but the cause is the signal.
        let now = Instant::now();
        if let Some(signo) = signals::take() {
            if outcome.is_none() {
                let name = signals::name(signo).unwrap_or("a signal");
                report(format_args!("received {name}; stopping all ranks"));
                outcome = Some(128 + signo);
            }
            // A second signal while the ranks are being terminated means: now.
            if escalation.term_sent {
                escalation.kill_by(now);
            } else {
                escalation.term_by(now);
            }
        }
        if !timed_out && deadline.is_some_and(|d| d <= now) {
            timed_out = true;
            if outcome.is_none() {
                let secs = timeout.unwrap_or_default().as_secs_f64();
                report(format_args!("timed out after {secs} s; stopping all ranks"));
                outcome = Some(124);
            }
            escalation.term_by(now);
        }

        let exited = reaper::reap(ranks);
        for &i in &exited {
            let Some(exit) = ranks[i].exit.filter(|e| e.failed()) else {
                continue;
            };
            if outcome.is_none() {
                let others = if all_exited(ranks) { "" } else { "; stopping the other ranks" };
                let (pid, what) = (ranks[i].pid, exit.describe());
                report(format_args!("rank {i} (pid {pid}) {what}{others}"));
                outcome = Some(exit.status());
                // Give the others a chance to notice and exit on their own first.
                if let Some(t) = Instant::now().checked_add(grace) {
                    escalation.term_by(t);
                }
            }
        }
        if all_exited(ranks) {
            return outcome.unwrap_or(0);
        }
        escalation.act(Instant::now(), ranks);
        if exited.is_empty() {
            sleep(nap);
            nap = (nap * 2).min(MAX_NAP);
        } else {
            nap = MIN_NAP;
        }
    }
}

/// Stops the ranks at once (SIGTERM, then SIGKILL) and reaps them; for a job that failed to start.
pub fn stop_all(ranks: &mut [Rank]) {
    let mut escalation = Escalation::default();
    escalation.term_by(Instant::now());
    while !all_exited(ranks) {
        escalation.act(Instant::now(), ranks);
        if reaper::reap(ranks).is_empty() {
            sleep(MIN_NAP);
        }
    }
}
