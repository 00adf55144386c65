//! MPI message matching on (context, source, tag) with wildcards, preserving non-overtaking order.

use std::collections::VecDeque;

/// Contexts come off the wire, so the maps keep a per-map random seed (no hash flooding) but
/// use foldhash rather than SipHash, which was ~12% of RATE's instructions.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// Who sent a message, on which communicator context, with which tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope {
    pub context: u64,
    /// World rank of the sender.
    pub source: i32,
    pub tag: i32,
}

/// What a receive or probe accepts; `None` is a wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pattern {
    pub context: u64,
    pub source: Option<i32>,
    pub tag: Option<i32>,
}

impl Pattern {
    pub fn matches(&self, e: &Envelope) -> bool {
        self.context == e.context && self.source.is_none_or(|s| s == e.source) && self.tag.is_none_or(|t| t == e.tag)
    }
}

/// Entries in posting (or arrival) order, each with its id.
type Queue<K, T> = VecDeque<(u64, K, T)>;

/// Posted receives (`P`) and unexpected messages (`U`), each in order per context.
/// Searching in order is what gives MPI's non-overtaking guarantee: the earliest posted
/// receive takes an arriving message, and a receive takes the earliest arrived message.
/// Posted receives are queued per (context, source or wildcard), so an arrival looks only at
/// its sender's receives and the wildcard ones (ids are increasing, so the earlier of the two
/// candidates is the smaller id): with 1,000 receives posted per peer, a message from the
/// second peer no longer walks past the first peer's.
#[derive(Debug)]
pub struct MatchEngine<P, U> {
    posted: HashMap<(u64, Option<i32>), Queue<Pattern, P>>,
    unexpected: HashMap<u64, VecDeque<(u64, Envelope, U)>>,
    next_id: u64,
}

impl<P, U> Default for MatchEngine<P, U> {
    fn default() -> Self {
        MatchEngine { posted: HashMap::default(), unexpected: HashMap::default(), next_id: 1 }
    }
}

impl<P, U> MatchEngine<P, U> {
    pub fn new() -> Self {
        Self::default()
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// An arriving message takes the earliest posted receive that matches it.
    pub fn arrive(&mut self, env: &Envelope) -> Option<P> {
        let first = |q: Option<&Queue<Pattern, P>>| {
            q.and_then(|q| {
                q.iter().enumerate().find(|(_, (_, pat, _))| pat.matches(env)).map(|(at, (id, _, _))| (at, *id))
            })
        };
        let own = first(self.posted.get(&(env.context, Some(env.source))));
        let any = first(self.posted.get(&(env.context, None)));
        let (key, at) = match (own, any) {
            (Some((at, a)), Some((_, b))) if a < b => (Some(env.source), at),
            (_, Some((at, _))) => (None, at),
            (Some((at, _)), None) => (Some(env.source), at),
            (None, None) => return None,
        };
        self.posted.get_mut(&(env.context, key))?.remove(at).map(|(_, _, p)| p)
    }

    /// Queues a receive that found no unexpected message; returns its id for cancelling.
    pub fn post(&mut self, pattern: Pattern, p: P) -> u64 {
        let id = self.id();
        self.posted.entry((pattern.context, pattern.source)).or_default().push_back((id, pattern, p));
        id
    }

    /// Withdraws a posted receive that has not matched yet.
    pub fn cancel(&mut self, context: u64, id: u64) -> Option<P> {
        let queue = self.posted.iter_mut().find(|((c, _), q)| *c == context && position(q, id).is_some())?.1;
        let at = position(queue, id)?;
        queue.remove(at).map(|(_, _, p)| p)
    }

    /// Removes every posted receive whose pattern satisfies `doomed`, in posting order.
    pub fn drain_posted(&mut self, mut doomed: impl FnMut(&Pattern) -> bool) -> Vec<P> {
        let mut out = drain_where(&mut self.posted, |pattern, _| doomed(pattern));
        out.sort_by_key(|(id, _)| *id);
        out.into_iter().map(|(_, p)| p).collect()
    }

    pub fn push_unexpected(&mut self, env: Envelope, u: U) -> u64 {
        let id = self.id();
        self.unexpected.entry(env.context).or_default().push_back((id, env, u));
        id
    }

    /// The earliest unexpected message that matches and that `eligible` accepts.
    pub fn find_unexpected(
        &mut self,
        pattern: &Pattern,
        mut eligible: impl FnMut(&U) -> bool,
    ) -> Option<(u64, Envelope, &mut U)> {
        let queue = self.unexpected.get_mut(&pattern.context)?;
        queue.iter_mut().find(|(_, env, u)| pattern.matches(env) && eligible(u)).map(|(id, env, u)| (*id, *env, u))
    }

    pub fn unexpected_mut(&mut self, context: u64, id: u64) -> Option<&mut U> {
        let queue = self.unexpected.get_mut(&context)?;
        let at = position(queue, id)?;
        queue.get_mut(at).map(|(_, _, u)| u)
    }

    pub fn remove_unexpected(&mut self, context: u64, id: u64) -> Option<U> {
        let queue = self.unexpected.get_mut(&context)?;
        let at = position(queue, id)?;
        let removed = queue.remove(at).map(|(_, _, u)| u);
        if queue.is_empty() {
            self.unexpected.remove(&context);
        }
        removed
    }

    pub fn posted_len(&self) -> usize {
        self.posted.values().map(VecDeque::len).sum()
    }

    /// Removes every unexpected message that satisfies `doomed` (a failed peer's, say).
    pub fn drain_unexpected(&mut self, mut doomed: impl FnMut(&U) -> bool) -> Vec<U> {
        drain_where(&mut self.unexpected, |_, u| doomed(u)).into_iter().map(|(_, u)| u).collect()
    }

    pub fn unexpected_len(&self) -> usize {
        self.unexpected.values().map(VecDeque::len).sum()
    }
}

/// Where entry `id` is in a queue: ids only grow along a queue, so a binary search finds it.
fn position<K, T>(queue: &VecDeque<(u64, K, T)>, id: u64) -> Option<usize> {
    queue.binary_search_by_key(&id, |(i, _, _)| *i).ok()
}

/// Takes out of every queue the entries `doomed` picks (with their ids), keeping the rest in
/// order, and drops queues left empty.
fn drain_where<Q: std::hash::Hash + Eq, K, T>(
    queues: &mut HashMap<Q, VecDeque<(u64, K, T)>>,
    mut doomed: impl FnMut(&K, &T) -> bool,
) -> Vec<(u64, T)> {
    let mut out = Vec::new();
    for queue in queues.values_mut() {
        let (gone, kept): (VecDeque<_>, VecDeque<_>) = queue.drain(..).partition(|(_, k, t)| doomed(k, t));
        *queue = kept;
        out.extend(gone.into_iter().map(|(id, _, t)| (id, t)));
    }
    queues.retain(|_, q| !q.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(source: i32, tag: i32) -> Envelope {
        Envelope { context: 0, source, tag }
    }

    fn pat(source: Option<i32>, tag: Option<i32>) -> Pattern {
        Pattern { context: 0, source, tag }
    }

    #[test]
    fn earliest_posted_receive_wins() {
        let mut m: MatchEngine<&str, ()> = MatchEngine::new();
        m.post(pat(None, Some(5)), "any-source tag 5");
        m.post(pat(Some(1), None), "rank 1 any tag");
        assert_eq!(m.arrive(&env(1, 7)), Some("rank 1 any tag"));
        assert_eq!(m.arrive(&env(1, 5)), Some("any-source tag 5"));
        assert_eq!(m.arrive(&env(1, 5)), None);
        let other = Envelope { context: 9, ..env(1, 5) };
        m.post(pat(None, None), "ctx 0");
        assert_eq!(m.arrive(&other), None, "contexts never mix");
    }

    #[test]
    fn unexpected_messages_keep_arrival_order() {
        let mut m: MatchEngine<(), u32> = MatchEngine::new();
        m.push_unexpected(env(2, 1), 10);
        m.push_unexpected(env(1, 1), 11);
        m.push_unexpected(env(1, 2), 12);
        let (id, e, v) = m.find_unexpected(&pat(Some(1), None), |_| true).unwrap();
        assert_eq!((e.tag, *v), (1, 11));
        assert_eq!(m.remove_unexpected(0, id), Some(11));
        let (_, _, v) = m.find_unexpected(&pat(None, None), |_| true).unwrap();
        assert_eq!(*v, 10);
        let (_, _, v) = m.find_unexpected(&pat(None, None), |v| *v != 10).unwrap();
        assert_eq!(*v, 12, "ineligible (claimed) entries are skipped");
        assert_eq!(m.unexpected_len(), 2);
        assert_eq!(m.drain_unexpected(|v| *v == 12), vec![12]);
        assert_eq!(m.unexpected_len(), 1);
    }

    #[test]
    fn cancel_and_drain() {
        let mut m: MatchEngine<u32, ()> = MatchEngine::new();
        let a = m.post(pat(Some(1), None), 1);
        m.post(pat(Some(2), None), 2);
        m.post(pat(None, None), 3);
        assert_eq!(m.cancel(0, a), Some(1));
        assert_eq!(m.cancel(0, a), None);
        let dead = m.drain_posted(|p| p.source.is_none_or(|s| s == 2));
        assert_eq!(dead, vec![2, 3]);
        assert_eq!(m.posted_len(), 0);
    }

    #[test]
    fn wildcards_and_specific_sources_interleave_in_posting_order() {
        let mut m: MatchEngine<u32, ()> = MatchEngine::new();
        m.post(pat(Some(1), Some(0)), 1);
        m.post(pat(None, Some(0)), 2);
        m.post(pat(Some(1), Some(0)), 3);
        m.post(pat(Some(2), Some(0)), 4);
        assert_eq!(m.arrive(&env(2, 0)), Some(2), "the wildcard was posted before rank 2's own");
        assert_eq!(m.arrive(&env(1, 0)), Some(1));
        assert_eq!(m.arrive(&env(1, 0)), Some(3));
        assert_eq!(m.arrive(&env(2, 0)), Some(4));
        assert_eq!(m.arrive(&env(1, 0)), None);
        let id = m.post(pat(Some(3), None), 5);
        m.post(pat(None, None), 6);
        assert_eq!(m.cancel(0, id), Some(5));
        assert_eq!(m.arrive(&env(3, 9)), Some(6));
    }

    #[test]
    fn ten_thousand_posted_receives_match_in_order() {
        let mut m: MatchEngine<u32, ()> = MatchEngine::new();
        for i in 0..10_000 {
            m.post(pat(Some(1), Some(0)), i);
        }
        for i in 0..10_000 {
            assert_eq!(m.arrive(&env(1, 0)), Some(i));
        }
    }
}
