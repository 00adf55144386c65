//! One round of collective traffic: receives and sends posted together from borrowed slices, all awaited before the borrows end.
//!
//! Posting every receive of a round before its sends, then waiting for all of them, keeps
//! large messages zero-copy (they land in, and leave from, the caller's memory) and cannot
//! deadlock: nothing waits for a peer before everything this rank owes the round is posted.

use crate::buffer::{RecvBuf, SendBuf};
use crate::engine::matching::Pattern;
use crate::error::{Error, Result};
use crate::request::Request;
use crate::runtime::{outcome_result, RecvTicket, Runtime, SendMode};
use std::marker::PhantomData;
use std::sync::Arc;

/// The operations of a round in flight; only `round` makes one, and it always drains it.
pub struct Round<'a> {
    rt: &'a Runtime,
    context: u64,
    pending: Vec<(Arc<Request>, Option<RecvTicket>)>,
    /// The slices handed to `send`/`recv` stay borrowed for `'a`, which outlives `round`.
    _lent: PhantomData<&'a mut [u8]>,
}

impl<'a> Round<'a> {
    /// Posts a receive of the message with `tag` from world rank `from` into `buf`.
    pub fn recv(&mut self, from: usize, tag: i32, buf: &'a mut [u8]) -> Result<()> {
        let pattern = Pattern { context: self.context, source: Some(from as i32), tag: Some(tag) };
        // SAFETY: `buf` is borrowed for `'a`, which outlives the `round` call, and `round`
        // does not return before this receive has completed or been withdrawn.
        let user = unsafe { RecvBuf::new(buf.as_mut_ptr(), buf.len()) };
        let (req, ticket) = self.rt.irecv(pattern, user)?;
        self.pending.push((req, ticket));
        Ok(())
    }

    /// Starts a send of `data` with `tag` to world rank `to`.
    pub fn send(&mut self, to: usize, tag: i32, data: &'a [u8]) -> Result<()> {
        // SAFETY: a send only reads its buffer; `data` is borrowed for `'a`, past the point
        // where `round` has waited for this send to complete.
        let user = unsafe { SendBuf::new(data.as_ptr(), data.len()) };
        let req = self.rt.isend(to, self.context, tag, user, SendMode::Standard)?;
        self.pending.push((req, None));
        Ok(())
    }

    /// Waits for everything posted. After the first failure the receives that have not
    /// matched yet are withdrawn, so a dead peer does not leave this rank waiting for it.
    fn finish(self, mut failed: Option<Error>) -> Result<()> {
        let mut pending = self.pending.into_iter();
        while let Some((req, ticket)) = pending.next() {
            if failed.is_some() {
                if let Some(t) = ticket {
                    self.rt.cancel(t);
                }
            }
            match self.rt.wait_until(|| req.outcome()) {
                Ok(outcome) => {
                    if let Err(e) = outcome_result(outcome) {
                        failed.get_or_insert(e);
                    }
                }
                Err(e) => {
                    // The communication thread is gone: nothing will complete any more, so
                    // withdraw every receive (a dead thread writes nothing) and stop.
                    for t in ticket.into_iter().chain(pending.filter_map(|(_, t)| t)) {
                        self.rt.cancel(t);
                    }
                    return Err(failed.unwrap_or(e));
                }
            }
        }
        failed.map_or(Ok(()), Err)
    }
}

/// Runs `post` to start a round's sends and receives on `context`, then waits for all of
/// them, even if `post` failed part-way; the first error wins.
pub fn round<'a>(rt: &'a Runtime, context: u64, post: impl FnOnce(&mut Round<'a>) -> Result<()>) -> Result<()> {
    let mut r = Round { rt, context, pending: Vec::new(), _lent: PhantomData };
    let posted = post(&mut r);
    r.finish(posted.err())
}
