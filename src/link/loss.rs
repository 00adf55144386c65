//! What a link does about lost packets on a long path: moving a connection to BBR, or asking to widen over more connections.

use super::Link;

/// A link's request to reopen over more connections (see `Link::widen_on_loss`).
pub struct Widen {
    pub streams: usize,
    /// The epoch of the connection the new ones replace.
    pub epoch: u64,
    pub cause: String,
}

impl Link {
    /// Moves each connection that started on `UNTIL_LOSS` to `algorithm` once it has
    /// retransmitted. Each connection's algorithm is read once, when first seen: those that
    /// started on another (short paths, `Congestion::auto_start`) are never watched, and one
    /// that has moved, or could not, is not read again.
    pub(super) fn move_on_loss(&mut self, algorithm: &str) {
        let Some(transport) = self.transport.as_mut() else { return };
        let sockets = transport.sockets();
        for socket in &sockets[self.watching_for_loss.len().min(sockets.len())..] {
            let started = crate::tcp_info::congestion(&**socket);
            self.watching_for_loss.push(started.as_deref() == Some(crate::socket_settings::UNTIL_LOSS));
        }
        for (stream, (socket, watching)) in sockets.into_iter().zip(&mut self.watching_for_loss).enumerate() {
            if !*watching {
                continue;
            }
            let lost = crate::tcp_info::retransmitted(&*socket).unwrap_or(0);
            if lost == 0 {
                continue;
            }
            *watching = false;
            let peer = self.peer.peer_rank();
            let what = format!("connection {stream} of the link to rank {peer} has retransmitted ({lost} packets)");
            match crate::tcp_info::set_congestion(&*socket, algorithm) {
                Ok(()) => crate::log::info(&format!(
                    "{what}: it now runs {algorithm}, which keeps its rate where packets are lost"
                )),
                // The warning at MPI_Init named the fix (`Streams::lossy_path_risk`).
                Err(e) => crate::log::info(&format!("{what}, and cannot run {algorithm} ({e})")),
            }
        }
    }

    /// Whether the link should reopen over `LOSSY_PATH_STREAMS` connections now, and why: it has
    /// one connection, over a long path, whose congestion control halves its rate at every loss
    /// (BBR was not to be had, see `move_on_loss`), and packets were lost on it either way. One
    /// such flow at 40 ms and 0.1% loss carried BATCH 100 MB at 0.07 of the floor, eight
    /// 0.66 (`Streams::Auto`); without loss, one does better, so links start with one. The new
    /// connections open beside the old one; then the link breaks and resumes on them, replaying
    /// the frames in flight (`Relinker::widen`).
    pub(super) fn widen_on_loss(&mut self) -> Option<String> {
        if !self.widens_on_loss || self.peer.saying_goodbye() {
            return None;
        }
        let mut sockets = self.transport.as_mut()?.sockets();
        let [socket] = sockets.as_mut_slice() else { return None };
        let algorithm = crate::tcp_info::congestion(&**socket)?;
        let rtt = crate::tcp_info::path_rtt(&**socket);
        if !crate::socket_settings::Streams::Auto.lossy_path_risk(true, Some(&algorithm), rtt) {
            return None;
        }
        let lost = crate::tcp_info::lost_either_way(&**socket)?;
        if lost == 0 {
            return None;
        }
        self.widens_on_loss = false;
        // Where the kernel offers BBR, each end moves its connection there at its own first
        // retransmission (`move_on_loss`), so more connections are not needed; the peer's losses
        // alone (seen here as out-of-order packets) leave ours on cubic, whose bursts serve
        // rounds best.
        if self.after_loss.is_some_and(crate::tcp_info::offers) {
            return None;
        }
        let streams = crate::socket_settings::LOSSY_PATH_STREAMS;
        Some(format!(
            "its one TCP connection runs {algorithm}, which halves its rate at every loss, over a {:.0} ms round trip and has lost packets ({lost} sent again or received out of order): it moves to {streams} connections, opened beside it (PARTYLINE_STREAMS=auto; set a count to keep one)",
            rtt.unwrap_or_default().as_secs_f64() * 1e3
        ))
    }
}
