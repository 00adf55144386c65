//! What a reconnect means for the receive side: bytes staged from the old connection are dropped, and a frame that was under way is received again from its start, into the same destination, once its replayed header proves it is the same frame.

use super::peer::Peer;
use super::rx::{idle, Rx, State};
use super::Ctx;
use crate::error::{err, Fault};
use crate::wire::FrameHeader;

type Result<T> = std::result::Result<T, Fault>;

impl Rx {
    /// A new connection replaces the broken one: bytes staged from the old one are dropped,
    /// and a frame under way is expected again from its first byte.
    pub fn rewind(&mut self) {
        self.start = 0;
        self.end = 0;
        self.direct = false;
        self.crc = 0;
        self.next_seq = self.complete;
        let state = std::mem::replace(&mut self.state, idle());
        let pending = self.replaying.take();
        self.replaying = match state {
            State::Header { .. } => pending,
            State::Payload { header, sink, .. } => Some(State::Payload { header, sink, done: 0 }),
            stalled @ State::Stalled { .. } => Some(stalled),
        };
    }
}

impl Peer {
    /// The replayed header of the frame that was under way when the link broke: it must be
    /// that frame's, and its payload continues into the same destination.
    pub(super) fn replay(&mut self, header: FrameHeader, state: State, ctx: &mut Ctx) -> Result<()> {
        let (State::Payload { header: was, .. } | State::Stalled { header: was, .. }) = &state else {
            unreachable!("only frames under way are replayed")
        };
        let same = |h: &FrameHeader| FrameHeader { ack: 0, ..*h };
        if same(was) != same(&header) {
            return Err(Fault::Fatal(err!(
                Other,
                "rank {} replayed frame {} with a different header after reconnecting",
                self.peer,
                header.seq
            )));
        }
        self.rx.state = state;
        // A receive may have claimed the stalled message while the link was down.
        self.resume(ctx)
    }
}
