//! One peer's link: a byte pump between its current `Transport` and the engine's `Peer`, which decides what every byte means; between a break and a reconnect it has no transport and only queues.

use crate::engine::{Ctx, Peer, MAX_BATCH};
use crate::error::{err, Error, Fault};
use crate::send_buffer::{Advice, SendBuffer};
use crate::transport::Transport;
use std::io::{ErrorKind, IoSlice};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

type Result<T> = std::result::Result<T, Fault>;

/// What a thread posting a nonblocking send writes of it on a link that leaves the host: one
/// TLS write's worth; the communication thread writes the rest. There the socket takes
/// megabytes at once (a send buffer holds the path's bandwidth-delay product, up to 64 MiB),
/// which the path then needs many milliseconds to carry; copying, sealing or checksumming them
/// all on the caller's thread would take that time from its computation and send nothing
/// sooner (a frame's checksum covers its whole payload, so a larger message goes to the
/// communication thread whole). Within one host the receiver drains as fast as we write, and
/// writing is the transfer itself. With its header, so a 256 KiB message goes out whole.
const POSTING_WRITE: usize = (256 << 10) + crate::wire::HEADER_LEN;

pub struct Link {
    pub peer: Peer,
    transport: Option<Box<dyn Transport>>,
    /// When the connection broke, until a new one replaces it (the cause travels with the
    /// reconnect attempt).
    pub broken_since: Option<Instant>,
    /// How many times the link has been re-established; a reconnect must bring a newer one.
    pub epoch: u64,
    /// Bytes read and written on every link so far: a waiting thread keeps polling while
    /// this moves (see `spin.rs`).
    moved: Arc<AtomicU64>,
    /// How far each connection's send buffer may grow (0: never), and each one's judge.
    grow_limit: usize,
    send_buffers: Vec<SendBuffer>,
    /// Whether the connection leaves this host (see `leaves_host`).
    leaves_host: bool,
    /// The congestion control a connection that leaves the host moves to once it retransmits
    /// (see `Congestion::Auto`), and which connections still wait for that: those that started
    /// on `UNTIL_LOSS` and have not retransmitted yet.
    after_loss: Option<&'static str>,
    watching_for_loss: Vec<bool>,
    /// Whether a link of one connection reopens over several once it loses packets (see
    /// `widen_on_loss`); the widening it asks for, until taken; and the count it broke to
    /// reopen with.
    widens_on_loss: bool,
    widen_request: Option<Widen>,
    widening: Option<usize>,
    /// The connection a widening replaced, open but unread until the new ones take over: closed
    /// at once, it would tell the peer of a break before the resume tells it of the switch.
    retired: Option<Box<dyn Transport>>,
}

impl Link {
    pub fn new(
        peer: Peer,
        mut transport: Box<dyn Transport>,
        moved: Arc<AtomicU64>,
        grow_limit: usize,
        after_loss: Option<&'static str>,
    ) -> Link {
        let leaves_host = leaves_host(&mut *transport);
        let mut link = Link {
            peer,
            transport: Some(transport),
            broken_since: None,
            epoch: 0,
            moved,
            grow_limit,
            send_buffers: Vec::new(),
            leaves_host,
            after_loss,
            watching_for_loss: Vec::new(),
            widens_on_loss: false,
            widen_request: None,
            widening: None,
            retired: None,
        };
        link.measure_path();
        link
    }

    /// Lets the link reopen over several connections once it loses packets: for the links
    /// this rank dials (the dialing rank decides how many connections a link has) where
    /// `PARTYLINE_STREAMS` is `auto` and broken links are re-established.
    pub fn widening_on_loss(mut self, widens: bool) -> Link {
        self.widens_on_loss = widens;
        self
    }

    /// The widening the link asks for, if it has asked since the last call.
    pub fn take_widen_request(&mut self) -> Option<Widen> {
        self.widen_request.take()
    }

    /// Breaks the link, which is to be widened over `streams` connections, for `cause`; they
    /// are open already unless it is gone or saying goodbye, when it stays as it is. For the
    /// connection of `epoch` only.
    pub fn break_to_widen(&mut self, streams: usize, epoch: u64, cause: String) -> Result<()> {
        if !self.is_up() || self.epoch != epoch || self.peer.saying_goodbye() {
            return Ok(());
        }
        self.widening = Some(streams);
        Err(Fault::Break(cause))
    }

    /// Whether `streams` new connections replace fewer that a widening retired.
    pub fn is_widened_by(&mut self, streams: usize) -> bool {
        self.retired.as_mut().is_some_and(|old| streams > old.sockets().len())
    }

    /// The connection count the link broke to reopen with, if that is why it broke.
    pub fn take_widening(&mut self) -> Option<usize> {
        self.widening.take()
    }

    /// If `streams` connections, which the peer dialed to replace the link's, are more than it
    /// has, marks the break that follows as a widening; whether it is one.
    pub fn mark_widening(&mut self, streams: usize) -> bool {
        let now = self.transport.as_mut().map_or(0, |t| t.sockets().len());
        let widens = streams > now && now > 0;
        if widens {
            self.widening = Some(streams);
        }
        widens
    }

    pub fn has_output(&self) -> bool {
        let Some(t) = &self.transport else { return false };
        self.peer.has_output() || t.pending_output()
    }

    /// Reads what the socket has ready, then writes what is queued: a waiting thread's turn.
    pub fn pump(&mut self, ctx: &mut Ctx) -> Result<()> {
        self.read(ctx)?;
        if self.has_output() {
            self.flush(ctx)?;
        }
        Ok(())
    }

    /// Lets a stalled link read on if the engine now has a home for its message.
    pub fn resume(&mut self, ctx: &mut Ctx) -> Result<()> {
        if !self.peer.is_stalled() {
            return Ok(());
        }
        self.peer.resume(ctx)?;
        self.read(ctx)
    }

    /// Reads until the socket is drained, the link stalls, or it closes; then acknowledges
    /// what came in, if a sender waits for that.
    pub fn read(&mut self, ctx: &mut Ctx) -> Result<()> {
        let Some(transport) = self.transport.as_mut() else { return Ok(()) };
        while let Some(space) = self.peer.recv_space(ctx) {
            match transport.read(space) {
                Ok(0) => return self.peer.end_of_stream(ctx),
                Ok(n) => {
                    self.moved.fetch_add(n as u64, Relaxed);
                    self.peer.received(n, ctx)?;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(lost(self.peer.peer_rank(), &e)),
            }
        }
        if self.peer.acknowledge_if_due(ctx.fx) {
            self.flush(ctx)?;
        }
        Ok(())
    }

    /// Writes as much queued output as the socket takes, then half-closes after the goodbyes.
    pub fn flush(&mut self, ctx: &mut Ctx) -> Result<()> {
        self.flush_up_to(usize::MAX, ctx)
    }

    /// A thread that posts a nonblocking send writes its start; on a link that leaves the
    /// host it stops after `POSTING_WRITE` bytes and leaves the rest to the communication
    /// thread (see `POSTING_WRITE`). Whether that thread must be woken for it: a socket we
    /// stopped writing to while it had room will not report itself writable again.
    pub fn flush_posted(&mut self, ctx: &mut Ctx) -> Result<bool> {
        if !self.leaves_host {
            self.flush(ctx)?;
            return Ok(false);
        }
        self.flush_up_to(POSTING_WRITE, ctx)?;
        Ok(self.has_output())
    }

    /// `flush`, stopping once `budget` bytes are written.
    fn flush_up_to(&mut self, budget: usize, ctx: &mut Ctx) -> Result<()> {
        let peer = self.peer.peer_rank();
        let Some(transport) = self.transport.as_mut() else { return Ok(()) };
        let mut written = 0;
        while written < budget {
            // On the stack: a heap vector here was one allocation per flush, i.e. per message.
            let mut slices = [IoSlice::new(&[]); 2 * MAX_BATCH];
            // One write can take megabytes where the send buffer is large: the budget bounds
            // what each write is offered, not just how many writes there are.
            let count = self.peer.output(&mut slices, budget - written);
            if count == 0 {
                break;
            }
            match transport.write_vectored(&slices[..count]) {
                Ok(0) => return Err(Fault::Break(format!("the connection to rank {peer} accepts no more data"))),
                Ok(n) => {
                    written += n;
                    self.moved.fetch_add(n as u64, Relaxed);
                    self.peer.wrote(n, ctx);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(lost(peer, &e)),
            }
        }
        match transport.flush_pending() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(lost(peer, &e)),
            Ok(()) => {}
        }
        if self.peer.wants_shutdown() {
            match transport.shutdown_write() {
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() != ErrorKind::NotConnected => return Err(lost(peer, &e)),
                _ => self.peer.shut_down(),
            }
        }
        Ok(())
    }

    /// Heartbeats, acknowledgements owed, and the silence timeout, at `ctx.now`.
    pub fn on_timer(&mut self, ctx: &mut Ctx) -> Result<()> {
        if self.transport.is_none() {
            return Ok(());
        }
        self.peer.on_timer(ctx.now, ctx.fx)?;
        if self.leaves_host {
            self.measure_path();
            if self.grow_limit > 0 {
                self.size_send_buffers();
            }
            if let Some(algorithm) = self.after_loss {
                self.move_on_loss(algorithm);
            }
            if let Some(cause) = self.widen_on_loss() {
                let (streams, epoch) = (crate::socket_settings::LOSSY_PATH_STREAMS, self.epoch);
                self.widen_request = Some(Widen { streams, epoch, cause });
            }
        }
        if self.has_output() {
            self.flush(ctx)?;
        }
        Ok(())
    }

    /// Grows each connection's send buffer where it holds the link back (see `send_buffer`).
    fn size_send_buffers(&mut self) {
        let Some(transport) = self.transport.as_mut() else { return };
        let (peer, limit) = (self.peer.peer_rank(), self.grow_limit);
        let sockets = transport.sockets();
        self.send_buffers.resize_with(sockets.len(), || SendBuffer::new(limit));
        for (socket, judge) in sockets.into_iter().zip(&mut self.send_buffers) {
            if let Some(now) = crate::tcp_info::sending(&*socket) {
                let advice = judge.judge(now);
                follow(advice, judge, &*socket, now.buffer, peer, limit);
            }
        }
    }

    /// Tells the engine the path's round trip as the kernel measures it, which decides whether
    /// written frames are copied (see `Tx::set_path_rtt`). Also when the link opens: the
    /// handshake has measured it, and before the first timer a job's first rounds waited a round
    /// trip each (on a 2 ms path, 64 KiB rounds took 2.3 ms against raw TCP's 1.5). Loopback is
    /// never a long path, even when a busy machine makes the kernel's estimate of it jump past a
    /// millisecond (copies then only cost time).
    fn measure_path(&mut self) {
        if !self.leaves_host {
            return;
        }
        if let Some(rtt) = self.transport.as_mut().and_then(|t| crate::tcp_info::path_rtt(&*t.socket())) {
            self.peer.set_path_rtt(rtt);
        }
    }

    pub fn is_up(&self) -> bool {
        self.transport.is_some()
    }

    /// The connection broke at `now`: closes it (or, for a `widening`, keeps it unread until the
    /// new connections take over); frames stay queued for the reconnect.
    pub fn break_off(&mut self, now: Instant, widening: bool) {
        if widening {
            self.retired = self.transport.take();
        } else {
            self.close();
            self.transport = None;
        }
        self.broken_since.get_or_insert(now);
    }

    /// A new connection, over which the peer has received `received` of our frames.
    pub fn restore(
        &mut self,
        mut transport: Box<dyn Transport>,
        received: u64,
        epoch: u64,
        ctx: &mut Ctx,
    ) -> Result<()> {
        self.peer.reconnected(received, ctx.now, ctx.fx)?;
        if let Some(old) = self.retired.take() {
            abort(old);
        }
        self.leaves_host = leaves_host(&mut *transport);
        self.transport = Some(transport);
        self.measure_path();
        self.send_buffers.clear();
        self.watching_for_loss.clear();
        self.broken_since = None;
        self.epoch = epoch;
        self.flush(ctx)
    }

    /// Closes both directions after a failure, so a peer still writing to us sees it promptly.
    pub fn close(&mut self) {
        if let Some(old) = self.retired.take() {
            abort(old);
        }
        if let Some(t) = self.transport.as_mut() {
            for socket in t.sockets() {
                let _ = socket.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

/// Closes a connection that a widening replaced, discarding what its kernel still holds (a
/// reset, not a FIN after the queued bytes): the frames in it that the peer had not received
/// are replayed over the new connections, and its queued bytes would only compete with them.
fn abort(mut old: Box<dyn Transport>) {
    for socket in old.sockets() {
        let _ = socket2::SockRef::from(&*socket).set_linger(Some(std::time::Duration::ZERO));
    }
}

/// Whether the transport's connection leaves this host (see `socket_settings::leaves_host`);
/// one whose addresses cannot be read is taken as local, as congestion control takes it.
fn leaves_host(transport: &mut dyn Transport) -> bool {
    transport.socket().leaves_host().unwrap_or(false)
}

/// Carries out `advice` on the connection `socket` of the link to `peer`, whose send buffer is
/// `buffer` bytes and may grow to `limit`, and says what came of it.
fn follow(advice: Advice, judge: &mut SendBuffer, socket: &impl AsRawFd, buffer: usize, peer: usize, limit: usize) {
    let waited = |percent| {
        format!("the link to rank {peer} waited on its TCP send buffer {percent}% of the time it was sending")
    };
    const KIND: &str = "links held back by their send buffer";
    match advice {
        Advice::Keep => {}
        Advice::Grow { to, bound_percent } => match crate::tcp_info::grow_send_buffer(socket, to, buffer) {
            Ok(granted) if granted > buffer => crate::log::info(&format!(
                "{}: grew it from {buffer} to {granted} bytes (at most PARTYLINE_SEND_BUFFER_MAX={limit})",
                waited(bound_percent)
            )),
            outcome => {
                judge.capped_at(buffer);
                let why = outcome.err().map_or(String::new(), |e| format!(" ({e})"));
                crate::log::warn_repeated(
                    KIND,
                    &format!(
                        "{}, and the kernel gives it no more than {buffer} bytes{why}: for paths with a large \
                     bandwidth-delay product, raise net.core.wmem_max and net.ipv4.tcp_wmem's maximum (e.g. to \
                     {limit}) or run with CAP_NET_ADMIN",
                        waited(bound_percent)
                    ),
                );
            }
        },
        Advice::PeerWindow { bound_percent } => crate::log::warn_repeated(
            KIND,
            &format!(
                "the link to rank {peer} waited on rank {peer}'s TCP receive window {bound_percent}% of the time it \
             was sending: rank {peer} reads too slowly, or its receive buffer is too small for this path (for \
             paths with a large bandwidth-delay product, raise net.ipv4.tcp_rmem's maximum on its host, e.g. to \
             {limit})"
            ),
        ),
        Advice::AtLimit { buffer, bound_percent } => crate::log::warn_repeated(
            KIND,
            &format!(
                "{} at {buffer} bytes, PARTYLINE_SEND_BUFFER_MAX={limit}: raise it for this path",
                waited(bound_percent)
            ),
        ),
    }
}

/// What a failed read or write on the link to `peer` means: tampering under TLS ends the
/// job; anything else is the network's doing, which a reconnect may repair.
pub fn lost(peer: usize, e: &std::io::Error) -> Fault {
    if let Some(why) = crate::tls::hint(e) {
        return Fault::Fatal(err!(ProcAborted, "the TLS link to rank {peer} failed: {why}"));
    }
    Fault::Break(e.to_string())
}

/// The error for a link that could not be repaired: names both ends and the cause.
pub fn dead_link(me: usize, peer: usize, cause: &str) -> Error {
    let (a, b) = (me.min(peer), me.max(peer));
    err!(ProcAborted, "the link between rank {a} and rank {b} is lost: {cause}")
}

mod loss;
pub use loss::Widen;

#[cfg(test)]
mod tests;
