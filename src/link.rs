//! One peer's link: a byte pump between its `Transport` and the engine's `Peer`, which decides what every byte means.

use crate::engine::{Ctx, Peer, MAX_BATCH};
use crate::error::{err, Error, Result};
use crate::transport::Transport;
use std::io::{ErrorKind, IoSlice};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

pub struct Link {
    pub peer: Peer,
    transport: Box<dyn Transport>,
    /// Bytes read and written on every link so far: a waiting thread keeps polling while
    /// this moves (see `spin.rs`).
    moved: Arc<AtomicU64>,
}

impl Link {
    pub fn new(peer: Peer, transport: Box<dyn Transport>, moved: Arc<AtomicU64>) -> Link {
        Link { peer, transport, moved }
    }

    pub fn has_output(&self) -> bool {
        self.peer.has_output() || self.transport.pending_output()
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

    /// Reads until the socket is drained, the link stalls, or it closes.
    pub fn read(&mut self, ctx: &mut Ctx) -> Result<()> {
        loop {
            let Some(space) = self.peer.recv_space(ctx) else { return Ok(()) };
            match self.transport.read(space) {
                Ok(0) => return self.peer.end_of_stream(ctx),
                Ok(n) => {
                    self.moved.fetch_add(n as u64, Relaxed);
                    self.peer.received(n, ctx)?;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(lost(self.peer.peer_rank(), &e)),
            }
        }
    }

    /// Writes as much queued output as the socket takes, then half-closes after a goodbye.
    pub fn flush(&mut self, ctx: &mut Ctx) -> Result<()> {
        let peer = self.peer.peer_rank();
        loop {
            // On the stack: a heap vector here was one allocation per flush, i.e. per message.
            let mut slices = [IoSlice::new(&[]); 2 * MAX_BATCH];
            let count = self.peer.output(&mut slices);
            if count == 0 {
                break;
            }
            match self.transport.write_vectored(&slices[..count]) {
                Ok(0) => return Err(err!(ProcAborted, "the link to rank {peer} accepts no more data")),
                Ok(n) => {
                    self.moved.fetch_add(n as u64, Relaxed);
                    self.peer.wrote(n, ctx.stats, ctx.fx);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(lost(peer, &e)),
            }
        }
        match self.transport.flush_pending() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(lost(peer, &e)),
            Ok(()) => {}
        }
        if self.peer.wants_shutdown() {
            match self.transport.shutdown_write() {
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() != ErrorKind::NotConnected => return Err(lost(peer, &e)),
                _ => self.peer.shut_down(),
            }
        }
        Ok(())
    }

    /// Closes both directions after a failure, so a peer still writing to us sees it promptly.
    pub fn close(&mut self) {
        let _ = self.transport.socket().shutdown(std::net::Shutdown::Both);
    }
}

/// The error for a broken connection, naming the peer.
pub fn lost(peer: usize, e: &std::io::Error) -> Error {
    if let Some(why) = crate::tls::hint(e) {
        return err!(ProcAborted, "the TLS link to rank {peer} failed: {why}");
    }
    err!(ProcAborted, "lost the connection to rank {peer} ({e}); it exited or crashed without calling MPI_Finalize")
}

#[cfg(test)]
mod tests;
