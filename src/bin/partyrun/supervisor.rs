//! Supervising a running job: the first rank to fail for its own reasons decides the exit status, and the rest are stopped.

use crate::blame::{self, Cause, Record};
use crate::job::{Exit, Rank};
use crate::reports::ReportDir;
use crate::{reaper, report, signals};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Between SIGTERM and SIGKILL.
const TERM_TO_KILL: Duration = Duration::from_secs(1);
/// For `stop_all`, which polls.
const MIN_NAP: Duration = Duration::from_millis(2);
/// The longest the loop sleeps without a reason to wake. SIGCHLD and partyrun's own signals
/// wake it at once; this only bounds the cost of a wake-up that was somehow lost.
const MAX_NAP: Duration = Duration::from_millis(100);

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

    /// The next time `act` has something to do, or `deadline` if that is sooner.
    fn next(&self, deadline: Option<Instant>) -> Option<Instant> {
        let term = self.term_at.filter(|_| !self.term_sent);
        let kill = self.kill_at.filter(|_| !self.kill_sent);
        [term, kill, deadline].into_iter().flatten().min()
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

/// Waits for every rank and returns partyrun's exit status: that of the rank to blame (see
/// `blame`), 124 on timeout, 128+N on signal N to partyrun; whichever was decided first.
/// 0 if all succeeded. `reports` holds the ranks' exit reports, if they could be given one.
pub fn supervise(ranks: &mut [Rank], timeout: Option<Duration>, grace: Duration, reports: Option<&ReportDir>) -> i32 {
    // An absurdly long timeout or grace (beyond what Instant can hold) means "never".
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let mut timed_out = false;
    let mut outcome: Option<i32> = None;
    let mut escalation = Escalation::default();
    let mut records: Vec<Record> = Vec::new();
    let mut failing = false;
    loop {
        // Taken right after the wake: the exit time of every rank reaped in this round.
        let now = Instant::now();
        // Signals first: on Ctrl-C the ranks die of SIGINT too, but the cause is the signal.
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

        let stopping = escalation.term_sent || escalation.kill_sent;
        give_up_on_silent_hosts(ranks, now);
        for i in reaper::reap(ranks) {
            let mut exit = ranks[i].exit.unwrap_or(Exit::Lost);
            let mut remote_report = None;
            if let Some(remote) = &ranks[i].remote {
                // The session's own exit status stands in for the rank's only when the host
                // could not report it.
                let outcome = remote.outcome(i, exit);
                exit = outcome.exit;
                ranks[i].exit = Some(exit);
                ranks[i].note = outcome.note;
                remote_report = outcome.report.as_deref().and_then(blame::parse_report);
            }
            let cause = match remote_report.or_else(|| reports.and_then(|r| r.read(i))) {
                Some(report) => Cause::Collateral(report),
                None if stopping => Cause::Stopped,
                None => Cause::Own,
            };
            if exit.failed() && !failing {
                failing = true;
                // Give the others a chance to notice and exit on their own first (and the
                // culprit, if this was collateral damage, a chance to exit and be named).
                if let Some(t) = now.checked_add(grace) {
                    escalation.term_by(t);
                }
            }
            records.push(Record { rank: i, at: now, exit, cause });
        }
        let done = all_exited(ranks);
        if outcome.is_none() {
            if let Some(culprit) = blame::culprit(&records, done) {
                report(describe(culprit, &ranks[culprit.rank], done));
                outcome = Some(culprit.exit.status());
            }
        }
        if done {
            return outcome.unwrap_or(0);
        }
        escalation.act(Instant::now(), ranks);
        signals::wait(
            escalation
                .next(deadline.filter(|_| !timed_out))
                .map_or(MAX_NAP, |t| t.saturating_duration_since(Instant::now()).min(MAX_NAP)),
        );
    }
}

/// Kills the sessions of hosts that have not answered within the connect timeout.
fn give_up_on_silent_hosts(ranks: &[Rank], now: Instant) {
    for rank in ranks.iter().filter(|r| r.exit.is_none()) {
        if rank.remote.as_ref().is_some_and(|r| r.give_up_if_silent(now)) {
            // SAFETY: kill takes plain integers; the pid is an unreaped child of ours.
            unsafe { libc::kill(rank.pid, libc::SIGKILL) };
        }
    }
}

/// The one line that names the rank to blame: "rank 2 (pid 9) exited with status 3; stopping
/// the other ranks", or "rank 2 on host m2 ...", or what partyrun found wrong with its host.
fn describe(culprit: &Record, rank: &Rank, all_exited: bool) -> String {
    let whom = match &rank.remote {
        Some(remote) => format!("rank {} on {}", culprit.rank, remote.host),
        None => format!("rank {} (pid {})", culprit.rank, rank.pid),
    };
    let mut msg = match &rank.note {
        Some(note) => note.clone(),
        None => format!("{whom} {}", culprit.exit.describe()),
    };
    match &culprit.cause {
        Cause::Own => {}
        Cause::Collateral(r) => {
            let whom = r.by.map_or_else(|| "another rank".to_string(), |b| format!("rank {b}"));
            msg += &format!(" because {whom} failed ({}), but no rank failed for reasons of its own", r.why);
        }
        Cause::Stopped => msg += " after partyrun had begun to stop the ranks",
    }
    if !all_exited {
        msg += "; stopping the other ranks";
    }
    msg
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
