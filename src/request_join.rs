//! A request that completes when all of its parts have: `MPI_Isendrecv`, and flushes of buffered sends.

use crate::request::{Outcome, Request};
use crate::sync::lock;
use std::sync::{Arc, Mutex};

/// What the parts have reported so far.
struct Tally {
    left: usize,
    /// The outcome the joined request reports (of part `reported`), and the first failure.
    outcome: Option<Outcome>,
    failure: Option<crate::error::Error>,
}

/// A request done when every one of `parts` is; it reports part `reported`'s outcome (the
/// receive of a send-receive, say), or the first error of any part. `keep` lives until then
/// (a send's temporary copy, say).
pub fn join<K: Send + 'static>(parts: Vec<Arc<Request>>, reported: usize, keep: K) -> Arc<Request> {
    let joined = Request::new();
    if parts.is_empty() {
        joined.complete(Outcome::empty());
        return joined;
    }
    let tally = Arc::new(Mutex::new(Tally { left: parts.len(), outcome: None, failure: None }));
    let keep = Arc::new(Mutex::new(Some(keep)));
    for (i, part) in parts.iter().enumerate() {
        let (tally, joined, keep) = (tally.clone(), joined.clone(), keep.clone());
        part.then(move |o| {
            let mut t = lock(&tally);
            if i == reported {
                t.outcome = Some(o.clone());
            }
            if t.failure.is_none() {
                t.failure = o.error.clone();
            }
            t.left -= 1;
            if t.left > 0 {
                return;
            }
            let mut outcome = t.outcome.take().unwrap_or_else(Outcome::empty);
            outcome.error = outcome.error.or(t.failure.take());
            drop(t);
            drop(lock(&keep).take());
            joined.complete(outcome);
        });
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::err;

    #[test]
    fn completes_when_every_part_has_with_the_reported_outcome() {
        let (a, b) = (Request::new(), Request::new());
        let kept = Arc::new(());
        let j = join(vec![a.clone(), b.clone()], 1, kept.clone());
        b.complete(Outcome { count: 5, ..Outcome::empty() });
        assert!(!j.is_done());
        assert_eq!(Arc::strong_count(&kept), 2, "kept while a part is in flight");
        a.complete(Outcome { count: 9, ..Outcome::empty() });
        assert_eq!(j.outcome().unwrap().count, 5);
        assert_eq!(Arc::strong_count(&kept), 1, "released once done");
    }

    #[test]
    fn parts_done_already_and_failures() {
        let a = Request::completed(Outcome::failed(err!(Truncate, "cut")));
        let b = Request::new();
        let j = join(vec![a, b.clone()], 1, ());
        b.complete(Outcome { count: 3, ..Outcome::empty() });
        let o = j.outcome().unwrap();
        assert_eq!((o.count, o.error.map(|e| e.message)), (3, Some("cut".to_string())));
        assert!(join(vec![], 0, ()).is_done());
    }

    #[test]
    fn two_joins_may_watch_one_part() {
        let a = Request::new();
        let (j1, j2) = (join(vec![a.clone()], 0, ()), join(vec![a.clone()], 0, ()));
        a.complete(Outcome { count: 2, ..Outcome::empty() });
        assert_eq!((j1.outcome().unwrap().count, j2.outcome().unwrap().count), (2, 2));
    }
}
