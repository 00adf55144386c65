//! Messages a process sends to itself: matched at once, held unexpected under the budget, refused past it, and synchronous ones completing when received.

use super::*;
use crate::engine::matching::Envelope;
use crate::error::ErrorClass;

/// Rank `s` sends `data` to itself as `Runtime::send_to_self` does; returns the send's request.
fn self_send(pair: &mut Pair, s: usize, tag: i32, data: &[u8], sync: bool) -> Result<Arc<Request>> {
    let req = Request::new();
    let env = Envelope { context: 0, source: s as i32, tag };
    let matched = pair.sides[s].mailbox.lock().unwrap().send_to_self(env, data, sync.then(|| req.clone()))?;
    let mut fx = Effects::default();
    match matched {
        Some((recv, _)) => {
            let (recv_req, outcome) = recv.fill(&env, data);
            fx.complete(recv_req, outcome);
            fx.complete(req.clone(), crate::engine::sent(data.len() as u64));
        }
        None if sync => fx.changed = true,
        None => fx.complete(req.clone(), crate::engine::sent(data.len() as u64)),
    }
    pair.apply(s, fx);
    Ok(req)
}

#[test]
fn a_self_send_fills_a_posted_receive_at_once() {
    let mut pair = Pair::new();
    let r = pair.recv(0, pat(Some(0), Some(1)), 8).unwrap();
    let s = self_send(&mut pair, 0, 1, b"me", false).unwrap();
    assert_eq!((r.ok().source, r.ok().count, &r.data()[..2]), (0, 2, &b"me"[..]));
    assert_eq!(s.outcome().unwrap().count, 2);
    assert_eq!(pair.queued(0), (0, 0));
}

#[test]
fn a_self_send_without_a_receive_is_held_under_the_budget() {
    let mut pair = Pair::new();
    let s = self_send(&mut pair, 1, 0, &[4; 300], false).unwrap();
    assert!(s.is_done(), "a standard self-send completes once copied");
    assert_eq!((pair.budget_used(1), pair.queued(1)), (300, (0, 1)));
    let r = pair.recv(1, pat(None, None), 300).unwrap();
    assert_eq!((r.ok().source, r.data()), (1, &[4; 300][..]));
    assert_eq!(pair.budget_used(1), 0);
}

#[test]
fn a_self_send_past_the_budget_is_refused() {
    let mut pair = Pair::with_budgets(1000, ROOMY);
    self_send(&mut pair, 0, 0, &[0; 600], false).unwrap();
    let e = self_send(&mut pair, 0, 0, &[0; 600], false).unwrap_err();
    assert_eq!(e.class, ErrorClass::NoMem);
    assert!(e.message.contains("exceed the 1000 bytes") && e.message.contains("600 in use"), "{e}");
    assert_eq!(pair.queued(0), (0, 1), "the refused message left nothing behind");
}

#[test]
fn a_sync_self_send_completes_when_a_receive_takes_it() {
    let mut pair = Pair::new();
    let s = self_send(&mut pair, 0, 5, b"sync", true).unwrap();
    assert!(!s.is_done());
    let r = pair.recv(0, pat(None, Some(5)), 4).unwrap();
    assert_eq!((s.outcome().unwrap().count, r.data()), (4, &b"sync"[..]));
}

#[test]
fn self_sends_and_remote_messages_keep_arrival_order_for_wildcards() {
    let mut pair = Pair::new();
    pair.send(0, 0, 0, b"remote", Mode::Eager);
    pair.settle(ALL).unwrap();
    self_send(&mut pair, 1, 0, b"itself", false).unwrap();
    let first = pair.recv(1, pat(None, None), 6).unwrap();
    let second = pair.recv(1, pat(None, None), 6).unwrap();
    assert_eq!((first.ok().source, first.data()), (0, &b"remote"[..]));
    assert_eq!((second.ok().source, second.data()), (1, &b"itself"[..]));
}
