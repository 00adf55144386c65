//! The communication thread: owns the sockets, polls them with mio, and runs commands.

use crate::error::{err, Error, Result};
use crate::link::Link;
use crate::shared::{Command, Shared};
use crate::transport::Transport;
use crossbeam_channel::Receiver;
use mio::{Events, Interest, Poll, Token};
use std::sync::Arc;
use std::time::Duration;

pub const WAKER_TOKEN: Token = Token(usize::MAX);

pub struct Progress {
    poll: Poll,
    links: Vec<Option<Link>>,
    commands: Receiver<Command>,
    shared: Arc<Shared>,
    finalizing: bool,
}

impl Progress {
    pub fn new(
        poll: Poll,
        transports: Vec<Option<Box<dyn Transport>>>,
        commands: Receiver<Command>,
        shared: Arc<Shared>,
    ) -> Result<Progress> {
        let mut links = Vec::with_capacity(transports.len());
        for (peer, t) in transports.into_iter().enumerate() {
            links.push(match t {
                None => None,
                Some(mut t) => {
                    poll.registry()
                        .register(t.socket(), Token(peer), Interest::READABLE | Interest::WRITABLE)
                        .map_err(|e| err!(Other, "cannot poll the link to rank {peer}: {e}"))?;
                    Some(Link::new(peer, t))
                }
            });
        }
        Ok(Progress { poll, links, commands, shared, finalizing: false })
    }

    /// Runs the thread body; a panic or fatal error poisons shared state so waiters fail.
    pub fn spawn(mut self) -> Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("partyline-progress".into())
            .spawn(move || {
                let shared = self.shared.clone();
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run()));
                let failure = match result {
                    Ok(Ok(())) => return,
                    Ok(Err(e)) => e.message,
                    Err(panic) => panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic".into()),
                };
                let why =
                    err!(Intern, "the partyline communication thread died ({failure}); no communication is possible");
                crate::log::error(&why.message);
                shared.notifier.poison(why);
            })
            .map_err(|e| err!(Intern, "cannot start the communication thread: {e}"))
    }

    fn run(&mut self) -> Result<()> {
        let mut events = Events::with_capacity(256);
        loop {
            if let Err(e) = self.poll.poll(&mut events, None) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err!(Intern, "polling the links failed: {e}"));
            }
            self.run_commands();
            for event in events.iter() {
                if event.token() == WAKER_TOKEN {
                    continue;
                }
                let peer = event.token().0;
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    self.with_link(peer, |link, sh| link.on_readable(sh));
                }
            }
            self.flush_all();
            if self.finalizing && self.links.iter().flatten().all(Link::is_closed) {
                return Ok(());
            }
        }
    }

    fn run_commands(&mut self) {
        while let Ok(cmd) = self.commands.try_recv() {
            match cmd {
                Command::Send { peer, header, payload, req } => {
                    let sh = self.shared.clone();
                    match self.links.get_mut(peer).and_then(Option::as_mut) {
                        Some(link) => link.enqueue(header, payload, req, &sh),
                        None => {
                            if let Some(req) = req {
                                sh.complete(
                                    &req,
                                    crate::request::Outcome::failed(err!(Intern, "no link to rank {peer}")),
                                );
                            }
                        }
                    }
                }
                Command::Ack { peer, seq } => self.with_link(peer, |link, sh| {
                    link.queue_ack(seq, sh);
                    Ok(())
                }),
                Command::Resume(peer) => self.with_link(peer, |link, sh| link.resume(sh)),
                Command::Detach(req) => {
                    let sh = self.shared.clone();
                    let found = self.links.iter_mut().flatten().any(|l| l.detach(&req, &sh));
                    if !found {
                        // Already written out: the completion is on its way or done.
                        sh.notifier.notify();
                    }
                }
                Command::Finalize => {
                    self.finalizing = true;
                    let sh = self.shared.clone();
                    for link in self.links.iter_mut().flatten() {
                        let bye = crate::wire::FrameHeader::control(crate::wire::FrameKind::Goodbye, sh.rank as i32, 0);
                        link.enqueue(bye, crate::buffer::Payload::Owned(bytes::Bytes::new()), None, &sh);
                    }
                }
            }
        }
    }

    fn flush_all(&mut self) {
        for peer in 0..self.links.len() {
            if self.links[peer].as_ref().is_some_and(|l| !l.failed && l.has_output()) {
                self.with_link(peer, |link, sh| link.flush(sh));
            }
        }
    }

    /// Runs `f` on a live link; an error fails the link (never the whole thread).
    fn with_link(&mut self, peer: usize, f: impl FnOnce(&mut Link, &Shared) -> Result<()>) {
        let sh = self.shared.clone();
        if let Some(link) = self.links.get_mut(peer).and_then(Option::as_mut) {
            if link.failed {
                return;
            }
            if let Err(e) = f(link, &sh) {
                report(&e);
                link.fail(e, &sh);
                let _ = self.poll.registry().deregister(link.transport.socket());
            }
        }
    }
}

/// A dead peer is reported where the program waits on it; anything else (a malformed
/// frame, a protocol violation) is logged here, since no wait may ever see it.
fn report(e: &Error) {
    if e.class == crate::error::ErrorClass::ProcAborted {
        crate::log::info(&e.message);
    } else {
        crate::log::warn(&format!("dropping the link: {}", e.message));
    }
}

/// How long a blocking send waits without progress before copying its data and returning.
pub const STALL_DETACH: Duration = Duration::from_millis(20);
