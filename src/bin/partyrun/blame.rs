//! Whom to blame for a failed job: the rank that failed first for its own reasons, not the ones it took down with it.
//!
//! When a rank dies its peers lose their links and exit too (with MPI_ERR_PROC_ABORTED, 58, or
//! with the code of a peer's MPI_Abort), and they may even exit first: an aborting rank tells
//! its peers before it exits itself. Such ranks say so in their exit report (see the library's
//! `exit_report`), and ranks partyrun itself stopped are no more to blame. So the culprit is
//! the earliest failure of the best kind: own before collateral before stopped.

use crate::job::Exit;
use std::time::Instant;

/// Why a rank ended, as far as partyrun can tell; the order is the order of blame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// No report: the rank failed for its own reasons (crashed, exited, aborted).
    Own,
    /// Its library reported ending because of another rank's failure.
    Collateral(Report),
    /// partyrun had already sent it SIGTERM or SIGKILL when it ended.
    Stopped,
}

/// What a rank's exit report said: the rank that caused its end (if known) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub by: Option<usize>,
    pub why: String,
}

/// One rank's end.
#[derive(Clone, Debug)]
pub struct Record {
    pub rank: usize,
    /// When partyrun saw it exit. Ranks reaped in one batch share one time, since the order
    /// within a batch says nothing about the order in which they exited.
    pub at: Instant,
    pub exit: Exit,
    pub cause: Cause,
}

impl Record {
    fn rank_of_blame(&self) -> u8 {
        match self.cause {
            Cause::Own => 0,
            Cause::Collateral(_) => 1,
            Cause::Stopped => 2,
        }
    }
}

/// The failure to blame among `records`, once it is certain: as soon as a rank has failed for
/// its own reasons (ranks are reaped as they exit, so no earlier one can still turn up), or,
/// when `all_exited`, the earliest failure of the best kind there is. `None` if nothing failed
/// or the verdict must wait for more ranks.
pub fn culprit(records: &[Record], all_exited: bool) -> Option<&Record> {
    let best = records.iter().filter(|r| r.exit.failed()).min_by_key(|r| (r.rank_of_blame(), r.at, r.rank))?;
    (best.cause == Cause::Own || all_exited).then_some(best)
}

/// Parses an exit report: `collateral <rank|-> <why>`. Anything else (no file, an empty or
/// unknown one) is not a claim of collateral damage, so the rank stays to blame.
pub fn parse_report(text: &str) -> Option<Report> {
    let line = text.lines().next()?;
    let rest = line.strip_prefix("collateral ")?;
    let (rank, why) = rest.split_once(' ').unwrap_or((rest, ""));
    let by = match rank {
        "-" => None,
        r => Some(r.parse().ok()?),
    };
    Some(Report { by, why: why.trim().to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    fn rec(base: Instant, rank: usize, ms: u64, exit: Exit, cause: Cause) -> Record {
        Record { rank, at: at(base, ms), exit, cause }
    }

    fn collateral(by: Option<usize>) -> Cause {
        Cause::Collateral(Report { by, why: "lost a peer".into() })
    }

    fn blamed(records: &[Record], all_exited: bool) -> Option<(usize, Exit)> {
        culprit(records, all_exited).map(|r| (r.rank, r.exit))
    }

    #[test]
    fn the_earliest_own_failure_wins_even_if_reaped_later() {
        let t = Instant::now();
        let records = [
            rec(t, 0, 30, Exit::Code(58), collateral(None)),
            rec(t, 2, 20, Exit::Code(3), Cause::Own),
            rec(t, 1, 10, Exit::Signal(9), Cause::Own),
        ];
        assert_eq!(blamed(&records, false), Some((1, Exit::Signal(9))));
    }

    #[test]
    fn collateral_exits_do_not_decide_until_all_have_exited() {
        let t = Instant::now();
        // An aborting rank tells its peers before it exits itself, so theirs come first.
        let mut records =
            vec![rec(t, 0, 0, Exit::Code(5), collateral(Some(1))), rec(t, 2, 0, Exit::Code(5), collateral(Some(1)))];
        assert_eq!(blamed(&records, false), None);
        records.push(rec(t, 1, 100, Exit::Code(5), Cause::Own));
        assert_eq!(blamed(&records, true), Some((1, Exit::Code(5))));
    }

    #[test]
    fn all_collateral_falls_back_to_the_earliest_failure() {
        let t = Instant::now();
        let records = [
            rec(t, 0, 50, Exit::Code(58), collateral(None)),
            rec(t, 1, 40, Exit::Code(58), collateral(None)),
            rec(t, 2, 60, Exit::Signal(15), Cause::Stopped),
        ];
        assert_eq!(blamed(&records, false), None);
        assert_eq!(blamed(&records, true), Some((1, Exit::Code(58))));
    }

    #[test]
    fn ranks_partyrun_stopped_come_last() {
        let t = Instant::now();
        let records = [rec(t, 0, 10, Exit::Signal(15), Cause::Stopped), rec(t, 1, 20, Exit::Code(0), Cause::Own)];
        assert_eq!(blamed(&records, true), Some((0, Exit::Signal(15))));
    }

    #[test]
    fn ties_in_one_batch_go_to_the_lowest_rank_and_successes_are_never_blamed() {
        let t = Instant::now();
        let records = [
            rec(t, 2, 5, Exit::Code(4), Cause::Own),
            rec(t, 0, 5, Exit::Code(0), Cause::Own),
            rec(t, 1, 5, Exit::Code(3), Cause::Own),
        ];
        assert_eq!(blamed(&records, false), Some((1, Exit::Code(3))));
        assert_eq!(blamed(&records[1..2], true), None);
        assert_eq!(blamed(&[], true), None);
    }

    #[test]
    fn reports() {
        let r = parse_report("collateral 2 rank 2 called MPI_Abort(5)\n").unwrap();
        assert_eq!((r.by, r.why.as_str()), (Some(2), "rank 2 called MPI_Abort(5)"));
        assert_eq!(parse_report("collateral - lost rank 1"), Some(Report { by: None, why: "lost rank 1".into() }));
        assert_eq!(parse_report("collateral -"), Some(Report { by: None, why: String::new() }));
        for bad in ["", "collateral x why", "crashed 1 why", "\ncollateral 1 x"] {
            assert_eq!(parse_report(bad), None, "{bad:?}");
        }
    }
}
