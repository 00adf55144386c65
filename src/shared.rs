//! What the compute threads and the progress thread share, and the commands between them.

use crate::buffer::Payload;
use crate::mailbox::Mailbox;
use crate::notifier::Notifier;
use crate::request::{Outcome, Request};
use crate::wire::FrameHeader;
use crossbeam_channel::Sender;
use std::sync::{Arc, Mutex, MutexGuard};

/// Work handed to the progress thread.
pub enum Command {
    /// Transmit a frame; the progress thread assigns its sequence number. `req` completes
    /// when the bytes are written (and, for synchronous sends, acknowledged).
    Send { peer: usize, header: FrameHeader, payload: Payload, req: Option<Arc<Request>> },
    /// Acknowledge a synchronous send from `peer` whose frame had this sequence number.
    Ack { peer: usize, seq: u64 },
    /// A stalled link may go on: a receive claimed its message, or budget was freed.
    Resume(usize),
    /// Copy a queued send's remaining bytes so its blocking sender can return.
    Detach(Arc<Request>),
    /// Say goodbye on every link, flush, half-close, and exit once every peer has done the same.
    Finalize,
}

pub struct Shared {
    pub rank: usize,
    pub size: usize,
    pub max_frame: u64,
    pub mailbox: Mutex<Mailbox>,
    pub notifier: Notifier,
    commands: Sender<Command>,
    waker: mio::Waker,
}

impl Shared {
    pub fn new(
        rank: usize,
        size: usize,
        max_frame: u64,
        mailbox: Mailbox,
        notifier: Notifier,
        commands: Sender<Command>,
        waker: mio::Waker,
    ) -> Shared {
        Shared { rank, size, max_frame, mailbox: Mutex::new(mailbox), notifier, commands, waker }
    }

    /// The mailbox; a panic elsewhere while it was held does not make it unusable, because
    /// every update to it leaves it consistent before anything that can panic.
    pub fn mailbox(&self) -> MutexGuard<'_, Mailbox> {
        self.mailbox.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands a command to the progress thread and wakes it.
    pub fn command(&self, cmd: Command) -> crate::error::Result<()> {
        if let Some(e) = self.notifier.poisoned() {
            return Err(e.clone());
        }
        self.commands.send(cmd).map_err(|_| {
            crate::error::err!(
                Intern,
                "the partyline communication thread has stopped; no more communication is possible"
            )
        })?;
        self.waker.wake().map_err(|e| crate::error::err!(Intern, "cannot wake the partyline communication thread: {e}"))
    }

    /// Completes a request and wakes its waiter.
    pub fn complete(&self, req: &Request, outcome: Outcome) {
        req.complete(outcome);
        self.notifier.notify();
    }
}
