//! The process-wide engine behind the C API: start-up, point-to-point operations, waits, shutdown.

mod internal;
mod matched;
mod shutdown;

use crate::bootstrap;
use crate::buffer::{Payload, RecvBuf, SendBuf};
use crate::config::Config;
use crate::engine::mailbox::Posting;
use crate::engine::matching::{Envelope, Pattern};
use crate::engine::{sent, Effects, LinkSettings, PostedRecv};
use crate::error::{err, Result};
use crate::notifier::Notifier;
use crate::progress::{Progress, WAKER_TOKEN};
use crate::reconnect::Relinker;
use crate::request::{Outcome, Request};
use crate::shared::{ProgressHandle, Shared};
use crate::token::{ProgressToken, BELL};
use crate::wire::{FrameHeader, FLAG_SYNC};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a blocking send's link may move none of its bytes before the rest is copied and the
/// call returns: what keeps the all-ranks-send-first ring from deadlocking at any size.
const DETACH_AFTER: Duration = Duration::from_millis(20);

/// How a send completes (MPI's send modes; ready mode behaves as standard).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMode {
    Standard,
    Synchronous,
    /// Always copied at once: the caller's buffer is free when the call returns.
    Buffered,
}

/// How the caller posted a frame, which decides how much of it its own thread writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Posted {
    /// The caller waits for it anyway (blocking sends, internal and closing frames): all.
    Blocking,
    /// A small nonblocking send, which may wait for the next ones (see `Link::hold`).
    Burst,
    /// A larger nonblocking send: its start (see `Link::flush_posted`).
    Nonblocking,
}

/// A posted receive, for cancelling it later.
#[derive(Debug, Clone, Copy)]
pub struct RecvTicket {
    pub context: u64,
    pub id: u64,
}

pub struct Runtime {
    pub config: Config,
    pub shared: Arc<Shared>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    pub started: Instant,
}

impl Runtime {
    /// Opens the mesh and starts the communication thread.
    pub fn start(config: Config) -> Result<Runtime> {
        let started = Instant::now();
        crate::log::set_rank(config.rank, config.verbose);
        let mesh = bootstrap::open_mesh(&config)?;
        let poll = mio::Poll::new().map_err(|e| err!(Intern, "cannot create a poller: {e}"))?;
        let waker = Arc::new(
            mio::Waker::new(poll.registry(), WAKER_TOKEN).map_err(|e| err!(Intern, "cannot create a waker: {e}"))?,
        );
        let (tx, rx) = crossbeam_channel::unbounded();
        let watch = mio::Poll::new().map_err(|e| err!(Intern, "cannot create a poller: {e}"))?;
        let bell = mio::Waker::new(watch.registry(), BELL).map_err(|e| err!(Intern, "cannot create a waker: {e}"))?;
        let mut fds = Vec::with_capacity(config.size);
        let mut transports = Vec::with_capacity(config.size);
        let mut streams = Vec::with_capacity(config.size);
        for (peer, bundle) in mesh.channels.into_iter().enumerate() {
            streams.push(bundle.as_ref().map_or(1, |b| b.count()));
            let Some(bundle) = bundle else {
                transports.push(None);
                fds.push(Vec::new());
                continue;
            };
            crate::log::info(&format!("the link to rank {peer} runs over {}", bundle.describe()));
            let settings = LinkSettings {
                max_frame: config.max_frame,
                send_budget: config.send_limit,
                link_timeout: config.link_timeout,
                checksums: bundle.checksums && !bundle.is_tls(),
            };
            let mut transport =
                bundle.into_transport().map_err(|e| err!(Other, "cannot set up the link to rank {peer}: {e}"))?;
            let mut link_fds = Vec::new();
            for socket in transport.sockets() {
                poll.registry()
                    .register(socket, mio::Token(peer), mio::Interest::READABLE | mio::Interest::WRITABLE)
                    .map_err(|e| err!(Other, "cannot poll the link to rank {peer}: {e}"))?;
                link_fds.push(socket.as_raw_fd());
            }
            fds.push(link_fds);
            transports.push(Some((transport, settings)));
        }
        let registry = poll.registry().try_clone().map_err(|e| err!(Intern, "cannot share the poller: {e}"))?;
        let token = ProgressToken::new(watch, fds, registry)?;
        let notifier = Notifier::with_bell(config.spin, Some(bell));
        let (relinks, relinked) = crossbeam_channel::unbounded();
        let relinker = (config.size > 1).then(|| {
            let cfg = Config { peers: mesh.peers.clone(), ..config.clone() };
            let relinker = Relinker::new(
                &cfg,
                mesh.tls.clone(),
                mesh.me.clone(),
                mesh.joiner.clone(),
                streams,
                relinks,
                waker.clone(),
            );
            if let Some(listener) = mesh.listener {
                relinker.listen(listener);
            }
            relinker
        });
        let progress = ProgressHandle { commands: tx, waker };
        let shared = Arc::new(Shared::new(&config, transports, notifier, token, progress, relinker));
        let thread = Progress::new(poll, rx, relinked, shared.clone()).spawn()?;
        Ok(Runtime { config, shared, thread: Mutex::new(Some(thread)), started })
    }

    pub fn rank(&self) -> usize {
        self.config.rank
    }

    pub fn size(&self) -> usize {
        self.config.size
    }

    /// Starts a send of `data` to world rank `dest`. Small and buffered sends are copied and
    /// complete at once; larger ones are sent from the caller's buffer.
    pub fn isend(&self, dest: usize, context: u64, tag: i32, data: SendBuf, mode: SendMode) -> Result<Arc<Request>> {
        self.start_send(dest, context, tag, data, mode, true)
    }

    /// `burst`: a nonblocking send, whose small eager frame may wait for the next ones (see
    /// `Link::hold`); a blocking send always writes at once.
    fn start_send(
        &self,
        dest: usize,
        context: u64,
        tag: i32,
        data: SendBuf,
        mode: SendMode,
        burst: bool,
    ) -> Result<Arc<Request>> {
        if let Some(why) = self.shared.mailbox().peer_error(dest) {
            return Err(why);
        }
        let req = Request::new();
        if dest == self.rank() {
            self.send_to_self(context, tag, data.bytes(0), mode, &req)?;
            return Ok(req);
        }
        // A standard send is copied only while the link's send budget has room; past it, the
        // send waits for the peer to acknowledge it instead (PARTYLINE_SEND_LIMIT).
        let eager_size = mode == SendMode::Standard && data.len() <= self.config.eager_limit;
        let copy = mode == SendMode::Buffered || (eager_size && self.shared.has_room(dest, data.len() as u64));
        let payload = if copy { Payload::copy_of(data.bytes(0)) } else { Payload::Lent(data) };
        let flags = if mode == SendMode::Synchronous { FLAG_SYNC } else { 0 };
        let header = FrameHeader::data(self.rank() as i32, tag, context, data.len() as u64, flags);
        // An eager copy frees the caller's buffer now, so the request is already complete.
        let eager = copy && mode == SendMode::Standard;
        let tracked = if eager { None } else { Some(req.clone()) };
        let posting = match (burst, eager) {
            (false, _) => Posted::Blocking,
            (true, true) => Posted::Burst,
            (true, false) => Posted::Nonblocking,
        };
        self.transmit(dest, header, payload, tracked, posting)?;
        if eager {
            req.complete(Outcome { count: data.len() as u64, ..Outcome::empty() });
        }
        Ok(req)
    }

    /// A blocking standard send. If the link stops moving (the receiver has no room and no
    /// receive posted), the data is copied so the call returns: this is what keeps the
    /// all-ranks-send-first ring from deadlocking at any message size.
    pub fn send(&self, dest: usize, context: u64, tag: i32, data: SendBuf, mode: SendMode) -> Result<Outcome> {
        let len = data.len();
        let req = self.start_send(dest, context, tag, data, mode, false)?;
        let _blocked = (!req.is_done()).then(|| self.shared.stats.blocked());
        let mut last = (req.progress(), Instant::now());
        loop {
            let outcome =
                self.shared.notifier.wait_for(self.progressing(|| req.outcome()), DETACH_AFTER, Some(&*self.shared))?;
            if let Some(outcome) = outcome {
                return outcome_result(outcome);
            }
            let progress = req.progress();
            if progress != last.0 {
                last = (progress, Instant::now());
                continue;
            }
            let stuck = last.1.elapsed();
            if mode != SendMode::Standard || stuck < DETACH_AFTER {
                continue;
            }
            let mut copied = false;
            let mut up = false;
            self.shared.with_link(dest, |link, ctx| {
                copied = link.peer.detach(&req, ctx.fx);
                up = link.is_up();
                Ok(())
            });
            // No room to copy, the link up (not reconnecting), and nothing moving for half the
            // link timeout (before the kernel's TCP_USER_TIMEOUT would cut a link that long
            // without room at the receiver): every rank is likely sending before it receives,
            // beyond the budgets.
            if !copied && up && stuck >= self.config.link_timeout / 2 {
                return Err(self.stuck_send(dest, len, stuck));
            }
        }
    }

    fn stuck_send(&self, dest: usize, len: usize, stuck: Duration) -> crate::error::Error {
        err!(
            Other,
            "MPI_Send of {len} bytes to rank {dest} made no progress for {} s: rank {dest} has not received it, and it is too large to copy within this link's send budget (PARTYLINE_SEND_LIMIT={} bytes). If every rank sends before it receives (a blocking ring), raise PARTYLINE_SEND_LIMIT or PARTYLINE_UNEXPECTED_LIMIT above the message size, or post the receive first (MPI_Irecv)",
            stuck.as_secs(),
            self.config.send_limit
        )
    }

    /// A message to this very process: matched at once, or held in the mailbox.
    fn send_to_self(&self, context: u64, tag: i32, data: &[u8], mode: SendMode, req: &Arc<Request>) -> Result<()> {
        let env = Envelope { context, source: self.rank() as i32, tag };
        let len = data.len() as u64;
        let sync = (mode == SendMode::Synchronous).then(|| req.clone());
        let matched = self.shared.mailbox().send_to_self(env, data, sync)?;
        self.shared.stats.sent(self.rank(), len);
        self.shared.stats.received(self.rank(), len);
        let mut fx = Effects::default();
        match matched {
            Some((recv, _)) => {
                let (recv_req, outcome) = recv.fill(&env, data);
                fx.complete(recv_req, outcome);
                fx.complete(req.clone(), sent(len));
            }
            None if mode == SendMode::Synchronous => fx.changed = true,
            None => fx.complete(req.clone(), sent(len)),
        }
        self.shared.apply(fx);
        Ok(())
    }

    /// Posts a receive into `buf`: takes the earliest matching unexpected message, or waits
    /// for one. `pattern.source` is a world rank.
    pub fn irecv(&self, pattern: Pattern, buf: RecvBuf) -> Result<(Arc<Request>, Option<RecvTicket>)> {
        let req = Request::new();
        let recv = PostedRecv { req: req.clone(), buf };
        let mut fx = Effects::default();
        let posting = self.shared.mailbox().post_recv(pattern, recv, &mut fx)?;
        let ticket = match posting {
            Posting::Waiting(id) => Some(RecvTicket { context: pattern.context, id }),
            Posting::Claimed => None,
            Posting::Ready(delivery) => {
                let (req, outcome) = delivery.deliver();
                fx.complete(req, outcome);
                None
            }
        };
        self.shared.apply(fx);
        Ok((req, ticket))
    }

    /// Withdraws a receive that has not matched; true if it was cancelled.
    pub fn cancel(&self, ticket: RecvTicket) -> bool {
        let recv = self.shared.mailbox().cancel(ticket.context, ticket.id);
        let Some(recv) = recv else { return false };
        let mut fx = Effects::default();
        fx.complete(recv.req, Outcome { cancelled: true, ..Outcome::empty() });
        self.shared.apply(fx);
        true
    }

    /// The envelope and length of the earliest matching unclaimed message, if one has arrived.
    pub fn iprobe(&self, pattern: &Pattern) -> Result<Option<(Envelope, u64)>> {
        if let Some(e) = self.shared.notifier.poisoned() {
            return Err(e.clone());
        }
        self.shared.mailbox().probe(pattern)
    }

    pub fn probe(&self, pattern: &Pattern) -> Result<(Envelope, u64)> {
        self.wait_until(|| self.iprobe(pattern).transpose())?
    }

    /// Blocks until `ready` yields (used by every wait); fails if the communication thread died.
    pub fn wait_until<T>(&self, mut ready: impl FnMut() -> Option<T>) -> Result<T> {
        if let Some(v) = ready() {
            return Ok(v);
        }
        let _blocked = self.shared.stats.blocked();
        self.shared.notifier.wait_parked(self.progressing(ready), Some(&*self.shared))
    }

    /// Wraps a wait's readiness check so the waiting thread moves ready bytes itself between
    /// checks: an arriving message then completes without a hand-off from the progress thread.
    fn progressing<'a, T>(&'a self, mut ready: impl FnMut() -> Option<T> + 'a) -> impl FnMut() -> Option<T> + 'a {
        move || {
            if let Some(v) = ready() {
                return Some(v);
            }
            self.shared.progress_links();
            ready()
        }
    }

    /// Queues a frame on the link to `peer` and writes what the way it was `posting`ed allows:
    /// all the socket takes, or a start (`Link::flush_posted`), or nothing yet (a small frame
    /// held back, see `Tx::hold`).
    fn transmit(
        &self,
        peer: usize,
        header: FrameHeader,
        payload: Payload,
        req: Option<Arc<Request>>,
        posting: Posted,
    ) -> Result<()> {
        let mut frame = Some((header, payload, req));
        let mut wake = false;
        let linked = self.shared.with_link(peer, |link, ctx| {
            let (header, payload, req) = frame.take().expect("the closure runs at most once");
            link.peer.send(header, payload, req, ctx.fx);
            let burst = posting == Posted::Burst;
            let result = match burst.then(|| link.peer.hold(ctx.now)).flatten() {
                Some(first) => {
                    wake = first;
                    Ok(())
                }
                None if posting == Posted::Nonblocking => link.flush_posted(ctx).map(|left| wake = left),
                None => link.flush(ctx),
            };
            if burst {
                link.peer.burst_send_done(Instant::now());
            }
            result
        });
        if wake {
            // Held frames, or the rest of a posted send, need a writer even if this thread
            // never calls MPI again.
            self.shared.wake_progress();
        }
        if !linked {
            return Err(err!(Rank, "there is no link to rank {peer}"));
        }
        // The link failed after the caller checked the peer: `with_link` skipped it, so fail
        // the request here rather than leave its waiter hanging.
        if let Some((_, _, Some(req))) = frame {
            let why = self
                .shared
                .mailbox()
                .peer_error(peer)
                .unwrap_or_else(|| err!(ProcAborted, "cannot send to rank {peer}: the link is closed"));
            let mut fx = Effects::default();
            fx.complete(req, Outcome::failed(why));
            self.shared.apply(fx);
        }
        Ok(())
    }
}

/// A completed request's outcome, or its error.
pub fn outcome_result(outcome: Outcome) -> Result<Outcome> {
    match &outcome.error {
        Some(e) => Err(e.clone()),
        None => Ok(outcome),
    }
}
