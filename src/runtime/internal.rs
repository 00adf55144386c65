//! Internal traffic (collectives and the like): copies of bytes sent and received by world rank.

use super::{outcome_result, Posted, Runtime, SendMode};
use crate::buffer::{Payload, RecvBuf};
use crate::engine::matching::Pattern;
use crate::error::Result;
use crate::request::{Outcome, Request};
use crate::wire::FrameHeader;

impl Runtime {
    /// Sends a copy of `data` (internal traffic such as collectives).
    pub fn send_bytes(&self, dest: usize, context: u64, tag: i32, data: &[u8]) -> Result<()> {
        if dest == self.rank() {
            return self.send_to_self(context, tag, data, SendMode::Buffered, &Request::new());
        }
        let payload = Payload::copy_of(data);
        let header = FrameHeader::data(self.rank() as i32, tag, context, data.len() as u64, 0);
        self.transmit(dest, header, payload, None, Posted::Blocking)
    }

    /// Receives exactly into `buf` from world rank `src` (internal traffic).
    pub fn recv_bytes(&self, src: usize, context: u64, tag: i32, buf: &mut [u8]) -> Result<Outcome> {
        let pattern = Pattern { context, source: Some(src as i32), tag: Some(tag) };
        // SAFETY: `buf` stays mutably borrowed until this call returns, and the call does not
        // return while the receive can still be written: it waits for completion, and on a
        // failed wait it withdraws the receive first (a dead thread writes nothing).
        let user = unsafe { RecvBuf::new(buf.as_mut_ptr(), buf.len()) };
        let (req, ticket) = self.irecv(pattern, user)?;
        match self.wait_until(|| req.outcome()) {
            Ok(outcome) => outcome_result(outcome),
            Err(e) => {
                if let Some(t) = ticket {
                    self.cancel(t);
                }
                Err(e)
            }
        }
    }
}
