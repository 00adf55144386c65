//! Matched probes through the whole engine: a reserved message is invisible to every other receive and probe, and its matched receive gets exactly it, whether it was buffered, still streaming in, or stalled in the socket.

use super::*;
use crate::engine::mailbox::Matched;
use crate::engine::stall::DEFER_MIN;
use crate::engine::PeerState;
use crate::error::ErrorClass;
use crate::wire::HEADER_LEN;

impl Pair {
    /// A matched probe on side `s`, as `Runtime::improbe` does.
    fn mprobe(&mut self, s: usize, pattern: Pattern) -> Result<Option<Matched>> {
        let mut fx = Effects::default();
        let found = self.sides[s].mailbox.lock().unwrap().matched_probe(&pattern, &mut fx);
        self.apply(s, fx);
        found
    }

    /// The matched receive of `m` into `cap` bytes on side `s`, as `Runtime::imrecv` does.
    fn mrecv(&mut self, s: usize, m: Matched, cap: usize) -> Result<Recv> {
        let req = Request::new();
        let mut mem = vec![0u8; cap];
        // SAFETY: as in `Pair::recv`: `mem` moves into the returned `Recv` with its heap block
        // in place and is read only after the request completed.
        let buf = unsafe { RecvBuf::new(mem.as_mut_ptr(), cap) };
        let mut fx = Effects::default();
        let posting =
            self.sides[s].mailbox.lock().unwrap().receive_matched(m, PostedRecv { req: req.clone(), buf }, &mut fx);
        match posting? {
            Posting::Waiting(_) => unreachable!("a matched receive never queues"),
            Posting::Claimed => {}
            Posting::Ready(delivery) => {
                let (req, outcome) = delivery.deliver();
                fx.complete(req, outcome);
            }
        }
        self.apply(s, fx);
        Ok(Recv { req, ticket: None, context: m.env.context, mem })
    }
}

#[test]
fn a_matched_message_is_invisible_to_other_probes_and_receives() {
    let mut pair = Pair::new();
    for (tag, byte) in [(4, 1u8), (4, 2), (4, 3)] {
        pair.send(0, tag, 0, &[byte; 8], Mode::Eager);
    }
    pair.settle(ALL).unwrap();
    let first = pair.mprobe(1, pat(Some(0), Some(4))).unwrap().expect("arrived");
    assert_eq!((first.env.source, first.env.tag, first.len), (0, 4, 8));
    let second = pair.mprobe(1, pat(None, None)).unwrap().expect("the next one");
    assert_ne!(first, second, "two matched probes never take the same message");
    let ordinary = pair.recv(1, pat(Some(0), Some(4)), 8).unwrap();
    assert_eq!(ordinary.data(), &[3; 8], "an ordinary receive skips both reserved messages");
    assert!(pair.mprobe(1, pat(None, None)).unwrap().is_none(), "nothing open is left");
    let b = pair.mrecv(1, second, 8).unwrap();
    let a = pair.mrecv(1, first, 8).unwrap();
    assert_eq!((a.data(), b.data()), (&[1u8; 8][..], &[2u8; 8][..]), "each gets exactly its message");
    assert_eq!((pair.queued(1), pair.budget_used(1)), ((0, 0), 0));
    let again = pair.mrecv(1, first, 8).err().expect("a message is received once");
    assert_eq!(again.class, ErrorClass::Request);
}

#[test]
fn a_matched_probe_finds_nothing_before_arrival_and_the_message_after() {
    let mut pair = Pair::new();
    assert!(pair.mprobe(1, pat(Some(0), Some(1))).unwrap().is_none());
    let waiting = pair.recv(1, pat(Some(0), Some(2)), 4).unwrap();
    pair.send(0, 2, 0, b"post", Mode::Eager);
    pair.send(0, 1, 0, b"probe", Mode::Eager);
    pair.settle(ALL).unwrap();
    assert_eq!(waiting.data(), b"post", "a posted receive still takes its message directly");
    let m = pair.mprobe(1, pat(Some(0), None)).unwrap().expect("arrived now");
    assert_eq!((m.env.tag, m.len), (1, 5));
    let r = pair.mrecv(1, m, 16).unwrap();
    assert_eq!((r.ok().count, &r.data()[..5]), (5, &b"probe"[..]));
}

#[test]
fn a_message_still_streaming_in_completes_its_matched_receive_when_whole() {
    let mut pair = Pair::new();
    let data = pattern_bytes(3, 100_000);
    pair.send(0, 9, 0, &data, Mode::Tracked);
    pair.write(0, ALL);
    pair.read(1, HEADER_LEN + 1000, ALL).unwrap();
    let m = pair.mprobe(1, pat(None, Some(9))).unwrap().expect("the header is in");
    assert_eq!(m.len, data.len() as u64);
    let other = pair.recv(1, pat(None, Some(9)), data.len()).unwrap();
    assert!(other.ticket.is_some(), "the reserved message is not the ordinary receive's");
    let r = pair.mrecv(1, m, data.len()).unwrap();
    assert!(!r.req.is_done());
    pair.settle(ALL).unwrap();
    assert_eq!(r.data(), &data[..]);
    assert!(!other.req.is_done());
    assert_eq!(pair.budget_used(1), 0, "its room was returned");
}

#[test]
fn a_large_stalled_message_waits_in_the_socket_until_its_matched_receive() {
    let mut pair = Pair::with_budgets(ROOMY, 1000);
    let data = pattern_bytes(4, DEFER_MIN as usize * 2);
    pair.send(0, 5, 0, &data, Mode::Lent);
    pair.send(0, 6, 0, b"behind", Mode::Eager);
    pair.settle(ALL).unwrap();
    assert!(pair.sides[1].peer.is_stalled());
    let m = pair.mprobe(1, pat(Some(0), None)).unwrap().expect("its header is in");
    assert_eq!((m.env.tag, m.len), (5, data.len() as u64));
    assert!(pair.sides[1].peer.is_stalled(), "the probe alone moves nothing");
    let r = pair.mrecv(1, m, data.len()).unwrap();
    pair.settle(ALL).unwrap();
    assert_eq!(r.data(), &data[..], "straight into the matched receive");
    let behind = pair.recv(1, pat(None, Some(6)), 6).unwrap();
    assert_eq!(behind.data(), b"behind");
}

#[test]
fn a_matched_probe_completes_a_synchronous_send() {
    let mut pair = Pair::new();
    let send = pair.send(0, 1, 0, b"sync", Mode::Sync);
    pair.settle(ALL).unwrap();
    assert!(!send.is_done(), "unmatched yet");
    let m = pair.mprobe(1, pat(None, None)).unwrap().unwrap();
    pair.settle(ALL).unwrap();
    assert!(send.is_done(), "matching is what a synchronous send waits for");
    assert_eq!(pair.mrecv(1, m, 4).unwrap().data(), b"sync");
}

#[test]
fn a_matched_message_from_a_failed_sender_fails_its_receive() {
    let mut pair = Pair::new();
    let data = pattern_bytes(5, 50_000);
    pair.send(0, 1, 0, &data, Mode::Tracked);
    pair.write(0, ALL);
    pair.read(1, HEADER_LEN + 100, ALL).unwrap();
    let m = pair.mprobe(1, pat(None, None)).unwrap().unwrap();
    let mut fx = Effects::default();
    let why = err!(ProcAborted, "rank 0 is gone");
    let doomed = pair.sides[1].mailbox.lock().unwrap().bury_peer(0, PeerState::Failed(why), false, &mut fx);
    assert!(doomed.is_empty());
    let e = pair.mrecv(1, m, data.len()).err().expect("the message is lost");
    assert_eq!(e.class, ErrorClass::ProcAborted);
}
