//! The communication thread: polls every link with mio and moves bytes whenever the sockets
//! are ready, so transfers advance while the program computes.

use crate::error::{err, Result};
use crate::reconnect::Relink;
use crate::shared::{Command, Shared};
use crate::token::TICK;
use crossbeam_channel::Receiver;
use mio::{Events, Poll, Token};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const WAKER_TOKEN: Token = Token(usize::MAX);

/// How often the links' timers (heartbeats, owed acknowledgements, silence) are checked.
const TIMERS: Duration = Duration::from_millis(50);

pub struct Progress {
    poll: Poll,
    commands: Receiver<Command>,
    relinks: Receiver<Relink>,
    shared: Arc<Shared>,
    finalizing: bool,
}

impl Progress {
    /// `poll` must already have every link's socket registered, with the link's rank as token.
    pub fn new(poll: Poll, commands: Receiver<Command>, relinks: Receiver<Relink>, shared: Arc<Shared>) -> Progress {
        Progress { poll, commands, relinks, shared, finalizing: false }
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
                    Err(panic) => crate::sync::panic_message(&*panic),
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
        let sh = self.shared.clone();
        let mut touches = sh.token.touches();
        let mut timers = Instant::now() + TIMERS;
        loop {
            // Standing aside (a compute thread watches the links), tick to notice when the
            // program stops waiting and computes: from then on, this thread moves the bytes.
            // A deferred message must be buffered in time even if nothing else happens.
            let nap = if sh.token.is_aside() { TICK } else { timers.saturating_duration_since(Instant::now()) };
            let timeout = sh.nap_cap(Some(nap));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err!(Intern, "polling the links failed: {e}"));
            }
            while let Ok(Command::Finalize) = self.commands.try_recv() {
                self.finalizing = true;
                for peer in 0..sh.size {
                    sh.with_link(peer, |link, ctx| {
                        link.peer.say_goodbye(ctx.fx);
                        link.flush(ctx)
                    });
                }
            }
            while let Ok(event) = self.relinks.try_recv() {
                sh.relink(event);
            }
            if Instant::now() >= timers {
                sh.on_timers();
                timers = Instant::now() + TIMERS;
            }
            sh.expire_deferrals();
            if sh.token.is_aside() {
                let seen = std::mem::replace(&mut touches, sh.token.touches());
                let idle = seen == touches && !sh.token.is_watched();
                if !((idle || self.finalizing) && sh.token.take_over(self.finalizing)) {
                    // Frames a burst of sends held back (`Link::hold`) may have woken us.
                    for peer in 0..sh.size {
                        sh.try_with_link(peer, |link, ctx| if link.has_output() { link.flush(ctx) } else { Ok(()) });
                    }
                    continue;
                }
            }
            for event in events.iter().filter(|e| e.token() != WAKER_TOKEN) {
                let peer = event.token().0;
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    sh.with_link(peer, |link, ctx| link.read(ctx));
                }
            }
            for peer in 0..sh.size {
                sh.with_link(peer, |link, ctx| if link.has_output() { link.flush(ctx) } else { Ok(()) });
            }
            if self.finalizing && sh.all_links_closed() {
                return Ok(());
            }
        }
    }
}
