//! Matched probes (`MPI_Mprobe`): a message taken out of matching, then received by exactly the receive given its handle.
//!
//! A matched probe marks an unexpected message reserved instead of removing it: its payload
//! may still be arriving or stalled in the socket, and the link's receive state refers to it
//! by id, so it stays where it is and simply stops being eligible for any other receive or
//! probe. The matched receive later takes it by id the way an ordinary receive takes the
//! message it found.

use super::{Envelope, Mailbox, PostedRecv, Posting, Unexpected};
use crate::engine::matching::Pattern;
use crate::engine::Effects;
use crate::error::{err, Result};

/// A message reserved by a matched probe: who sent it, its length, and where it is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Matched {
    pub env: Envelope,
    /// Payload bytes.
    pub len: u64,
    id: u64,
}

impl Mailbox {
    /// Reserves the earliest matching open message, if one has arrived: no other receive or
    /// probe can see it from now on. A synchronous sender learns its message was matched.
    pub fn matched_probe(&mut self, pattern: &Pattern, fx: &mut Effects) -> Result<Option<Matched>> {
        let found = self.matcher.find_unexpected(pattern, Unexpected::open);
        let Some((id, env, u)) = found else {
            return match pattern.source.and_then(|s| self.peer_error(s as usize)) {
                Some(why) => Err(why),
                None => Ok(None),
            };
        };
        u.reserved = true;
        let len = u.len;
        Self::notify_sync(u, fx);
        Ok(Some(Matched { env, len, id }))
    }

    /// Receives the message a matched probe reserved into `recv`. Fails if the message is
    /// gone (its sender failed before the payload was in) or was already received.
    pub fn receive_matched(&mut self, m: Matched, recv: PostedRecv, fx: &mut Effects) -> Result<Posting> {
        let held = self.matcher.unexpected_mut(m.env.context, m.id).is_some_and(|u| u.reserved && u.claimed.is_none());
        if !held {
            let source = m.env.source;
            return Err(self.peer_error(source as usize).unwrap_or_else(|| {
                err!(Request, "the matched message from rank {source} (tag {}) was already received", m.env.tag)
            }));
        }
        Ok(self.take_unexpected(m.env, m.id, recv, fx))
    }
}
