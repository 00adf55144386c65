//! The links' life after `MPI_Init`: timers (heartbeats, silence), new connections replacing broken ones, and what losing a link for good means for the job.

use super::Shared;
use crate::bundle::Bundle;
use crate::engine::LinkDown;
use crate::error::{err, Error, Fault};
use crate::handshake::{Greeting, Resume};
use crate::reconnect::Relink;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Instant;

impl Shared {
    /// Heartbeats, owed acknowledgements and silence timeouts on every link, and the
    /// widenings they ask for (opened outside the link's lock).
    pub fn on_timers(&self) {
        for peer in 0..self.size {
            let mut widen = None;
            self.with_link(peer, |link, ctx| {
                let result = link.on_timer(ctx);
                widen = link.take_widen_request();
                result
            });
            if let (Some(widen), Some(relinker)) = (widen, &self.relinker) {
                relinker.widen(peer, widen.streams, widen.epoch, widen.cause);
            }
        }
    }

    /// Carries out what a reconnect attempt came to (on the progress thread).
    pub fn relink(&self, event: Relink) {
        match event {
            Relink::Dialed { peer, bundle, received, epoch } => self.install(peer, bundle, received, epoch),
            Relink::Incoming { peer, bundle, received, epoch } => self.answer(peer, bundle, received, epoch),
            Relink::Poked { peer, epoch } => {
                // A poke about an older connection than ours is stale: we reconnected already.
                let why = format!("rank {peer} reports that the link broke");
                let current = |link: &crate::link::Link| link.is_up() && link.epoch <= epoch;
                self.with_link(peer, |link, _| if current(link) { Err(Fault::Break(why)) } else { Ok(()) });
            }
            Relink::Dead { peer, why } => {
                self.with_link(peer, |link, _| if link.is_up() { Ok(()) } else { Err(Fault::Fatal(why)) });
            }
            Relink::Widened { peer, opened, epoch, cause } => {
                let Some(relinker) = &self.relinker else { return };
                let streams = opened.count();
                // The break's reconnect resumes on them; if the link has moved on (broken,
                // saying goodbye), they are dropped.
                relinker.hold_opened(peer, epoch, opened);
                self.with_link(peer, |link, _| link.break_to_widen(streams, epoch, cause));
                if let Some(unused) = relinker.take_opened(peer, epoch) {
                    unused.withdraw();
                }
            }
            Relink::NotWidened { peer, streams, why } => crate::log::info(&format!(
                "could not open {streams} connections to rank {peer} ({why}); the link keeps its one"
            )),
        }
    }

    /// The higher rank `peer` dialed us: the new connection replaces whatever we have (our
    /// side may not have noticed the break yet), and we tell it how far we got.
    fn answer(&self, peer: usize, mut bundle: Bundle, received: u64, epoch: u64) {
        let mut ours = None;
        self.with_link(peer, |link, ctx| {
            if epoch <= link.epoch || link.peer.is_failed() {
                return Ok(());
            }
            if link.is_up() {
                let cause = if link.mark_widening(bundle.count()) {
                    format!("rank {peer} moves it to {} connections, opened beside it", bundle.count())
                } else {
                    format!("rank {peer} reconnected (it saw the link break)")
                };
                self.break_link(link, cause, ctx);
            }
            link.epoch = epoch;
            ours = Some(link.peer.received_count());
            Ok(())
        });
        let (Some(ours), Some(relinker)) = (ours, &self.relinker) else { return };
        let mine = Resume { hello: relinker.me().clone(), target: peer as u32, epoch, received: ours };
        if let Err(e) = Greeting::Resumed(mine).write_to(&mut bundle.first, &format!("rank {peer}")) {
            crate::log::info(&format!("reconnecting rank {peer} failed: {e}"));
            return;
        }
        self.install(peer, bundle, received, epoch);
    }

    /// A greeted connection becomes the link to `peer`, which has received `received` of
    /// our frames; the rest are replayed.
    fn install(&self, peer: usize, bundle: Bundle, received: u64, epoch: u64) {
        if let Err(e) = crate::bootstrap::tune_link(&bundle, &self.link_socket) {
            crate::log::warn(&format!("{e}"));
        }
        let over = bundle.describe();
        let mut transport = match bundle.into_transport() {
            Ok(t) => t,
            Err(e) => return crate::log::info(&format!("cannot use the new connection to rank {peer}: {e}")),
        };
        let mut fds = Vec::new();
        for socket in transport.sockets() {
            fds.push(std::os::fd::AsRawFd::as_raw_fd(socket));
        }
        let streams = fds.len();
        let mut fds = Some(fds);
        let mut transport = Some(transport);
        let (mut down_for, mut widened) = (None, false);
        self.with_link(peer, |link, ctx| {
            if link.is_up() || link.peer.is_failed() || epoch < link.epoch {
                return Ok(());
            }
            down_for = link.broken_since.map(|since| ctx.now.saturating_duration_since(since));
            widened = link.is_widened_by(streams);
            self.token.revive(peer, fds.take().unwrap_or_default())?;
            link.restore(transport.take().expect("installed once"), received, epoch, ctx)
        });
        if let Some(down_for) = down_for {
            if let Some(relinker) = &self.relinker {
                relinker.settled(peer);
            }
            self.stats.reconnected(peer, down_for, widened);
            let down_for = down_for.as_secs_f64();
            crate::log::info(&format!("the link to rank {peer} is back after {down_for:.6} s, over {over}"));
        }
    }

    /// Our link to `peer` is lost for good: tell every other rank, then fail the job.
    pub(super) fn link_lost(&self, peer: usize, why: Error) {
        if let Some(relinker) = &self.relinker {
            relinker.settled(peer);
        }
        if !self.job_failed.load(SeqCst) {
            self.tell_others(peer, peer, &why.message);
        }
        self.fail_job(why);
    }

    /// Another rank says the job lost a link: pass the word on (ranks that cannot reach the
    /// reporter learn it first from us), then fail the job with that cause.
    pub(super) fn link_down_reported(&self, notice: LinkDown) {
        if !self.job_failed.load(SeqCst) {
            self.tell_others(notice.reporter, notice.lost, &notice.why);
        }
        self.fail_job(err!(ProcAborted, "{} (reported by rank {})", notice.why, notice.reporter));
    }

    /// Sends a link-down notice about the link to `lost` to every rank but `except`.
    fn tell_others(&self, except: usize, lost: usize, why: &str) {
        for other in (0..self.size).filter(|p| *p != except) {
            self.with_link(other, |link, ctx| {
                link.peer.notify_link_down(lost, why, ctx.fx);
                link.flush(ctx)
            });
        }
    }

    /// The job cannot go on as it was: waits that cannot complete fail with `why` from now
    /// on, and under MPI_ERRORS_ARE_FATAL the process ends, saying why.
    pub(super) fn fail_job(&self, why: Error) {
        if self.job_failed.swap(true, SeqCst) {
            return;
        }
        self.notifier.poison(why.clone());
        self.notifier.notify();
        if !self.fatal_errors.load(SeqCst) {
            crate::log::error(&format!(
                "{}; every wait that cannot complete now fails (MPI_ERRORS_RETURN)",
                why.message
            ));
            return;
        }
        crate::log::error(&format!("{}; ending this process (MPI_ERRORS_ARE_FATAL)", why.message));
        crate::exit_report::collateral(None, &why.message);
        // Let the notices just queued reach the other ranks before the sockets close.
        let linger = Instant::now() + std::time::Duration::from_millis(100);
        while Instant::now() < linger {
            for peer in 0..self.size {
                self.try_with_link(peer, |link, ctx| link.flush(ctx));
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        std::process::exit(why.class.code());
    }

    /// This process is ending the job itself (`MPI_Abort`): the links the other ranks drop
    /// meanwhile are no failure to report.
    pub fn ending(&self) {
        self.job_failed.store(true, SeqCst);
    }

    /// Set from the world communicator's error handler.
    pub fn set_fatal_errors(&self, fatal: bool) {
        self.fatal_errors.store(fatal, SeqCst);
    }
}
