//! Matched probes at the runtime: reserve a message (`MPI_Improbe`/`MPI_Mprobe`) and receive exactly it (`MPI_Imrecv`).

use super::Runtime;
use crate::buffer::RecvBuf;
use crate::engine::mailbox::{Matched, Posting};
use crate::engine::matching::Pattern;
use crate::engine::{Effects, PostedRecv};
use crate::error::Result;
use crate::request::Request;
use std::sync::Arc;

impl Runtime {
    /// Reserves the earliest matching message that has arrived, if any: from now on only
    /// `imrecv` with the returned `Matched` can receive it, on any thread.
    pub fn improbe(&self, pattern: &Pattern) -> Result<Option<Matched>> {
        if let Some(e) = self.shared.notifier.poisoned() {
            return Err(e.clone());
        }
        let mut fx = Effects::default();
        let found = self.shared.mailbox().matched_probe(pattern, &mut fx);
        self.shared.apply(fx);
        found
    }

    /// Blocks until a matching message arrives, and reserves it.
    pub fn mprobe(&self, pattern: &Pattern) -> Result<Matched> {
        self.wait_until(|| self.improbe(pattern).transpose())?
    }

    /// Receives the reserved message `m` into `buf`: at once if it is buffered, else as its
    /// payload arrives.
    pub fn imrecv(&self, m: Matched, buf: RecvBuf) -> Result<Arc<Request>> {
        let req = Request::new();
        let recv = PostedRecv { req: req.clone(), buf };
        let mut fx = Effects::default();
        let posting = self.shared.mailbox().receive_matched(m, recv, &mut fx);
        let result = posting.map(|posting| {
            if let Posting::Ready(delivery) = posting {
                // The copy happens with the mailbox unlocked, as for an ordinary receive.
                let (req, outcome) = delivery.deliver();
                fx.complete(req, outcome);
            }
        });
        self.shared.apply(fx);
        result.map(|_| req)
    }
}
