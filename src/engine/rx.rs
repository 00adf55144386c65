//! The receive side of one link: parse frames from the bytes the driver reads, match them, and land payloads straight in posted buffers or in budgeted unexpected-message memory.

use super::mailbox::{Arrival, PostedRecv, Resumption};
use super::matching::Envelope;
use super::peer::Peer;
use super::Ctx;
use crate::error::{err, Result};
use crate::sync::lock;
use crate::wire::{FrameHeader, FrameKind, FLAG_SYNC, HEADER_LEN};

/// Bytes offered per read for headers and small payloads.
const STAGE_LEN: usize = 256 << 10;
/// Payload left to read above which the driver reads straight into the destination,
/// skipping the stage.
const DIRECT_MIN: u64 = 32 << 10;

enum Sink {
    /// Into the user's posted buffer; bytes past its end are dropped (truncation).
    Direct(PostedRecv),
    /// Into our own memory, as unexpected message `id`.
    Buffer { id: u64, data: Vec<u8> },
}

impl Sink {
    /// Where payload byte `at` onwards goes (empty once past the end: truncated bytes).
    fn from(&mut self, at: u64) -> &mut [u8] {
        let dest: &mut [u8] = match self {
            Sink::Direct(r) => r.buf.bytes_mut(),
            Sink::Buffer { data, .. } => data,
        };
        let at = (at as usize).min(dest.len());
        &mut dest[at..]
    }
}

enum State {
    Header {
        buf: [u8; HEADER_LEN],
        filled: usize,
    },
    Payload {
        header: FrameHeader,
        sink: Sink,
        done: u64,
    },
    /// Header in, payload waiting in the socket for a receive or for budget (unexpected `id`).
    Stalled {
        header: FrameHeader,
        id: u64,
    },
}

pub(super) struct Rx {
    state: State,
    stage: Vec<u8>,
    start: usize,
    end: usize,
    /// The last space offered was a payload's destination, not the stage.
    direct: bool,
    next_seq: u64,
}

fn idle() -> State {
    State::Header { buf: [0; HEADER_LEN], filled: 0 }
}

fn envelope(peer: usize, h: &FrameHeader) -> Envelope {
    Envelope { context: h.context, source: peer as i32, tag: h.tag }
}

impl Rx {
    pub fn new() -> Rx {
        Rx { state: idle(), stage: vec![0; STAGE_LEN], start: 0, end: 0, direct: false, next_seq: 0 }
    }

    /// The posted receive being filled right now, if any (for failing it).
    pub fn take_direct(&mut self) -> Option<PostedRecv> {
        match std::mem::replace(&mut self.state, idle()) {
            State::Payload { sink: Sink::Direct(r), .. } => Some(r),
            _ => None,
        }
    }

    pub fn at_frame_boundary(&self) -> bool {
        matches!(self.state, State::Header { filled: 0, .. }) && self.start == self.end
    }

    pub fn is_stalled(&self) -> bool {
        matches!(self.state, State::Stalled { .. })
    }
}

impl Peer {
    /// Where the driver should read the link's next bytes, or `None` while the link waits
    /// for a receive or for room (`resume` continues it).
    pub fn recv_space(&mut self, ctx: &mut Ctx) -> Option<&mut [u8]> {
        let rx = &mut self.rx;
        if rx.start == rx.end {
            rx.start = 0;
            rx.end = 0;
        } else if rx.end == rx.stage.len() {
            // Never offer an empty space: a read into it would look like end of stream.
            rx.stage.copy_within(rx.start..rx.end, 0);
            rx.end -= rx.start;
            rx.start = 0;
        }
        rx.direct = false;
        match &mut rx.state {
            State::Stalled { .. } => return None,
            State::Payload { header, sink, done } if rx.start == rx.end && header.len - *done >= DIRECT_MIN => {
                adopt_claim(sink, *done, header, ctx);
                let remaining = (header.len - *done) as usize;
                let dest = sink.from(*done);
                if !dest.is_empty() {
                    rx.direct = true;
                    let n = dest.len().min(remaining);
                    return Some(&mut dest[..n]);
                }
            }
            _ => {}
        }
        Some(&mut rx.stage[rx.end..])
    }

    /// `n` bytes were read into the space `recv_space` offered: parse and deliver them.
    pub fn received(&mut self, n: usize, ctx: &mut Ctx) -> Result<()> {
        if std::mem::take(&mut self.rx.direct) {
            if let State::Payload { done, .. } = &mut self.rx.state {
                *done += n as u64;
            }
        } else {
            self.rx.end += n;
        }
        self.consume(ctx)
    }

    /// Parses the staged bytes as far as they go.
    fn consume(&mut self, ctx: &mut Ctx) -> Result<()> {
        loop {
            let rx = &mut self.rx;
            let available = rx.end - rx.start;
            match &mut rx.state {
                State::Stalled { .. } => return Ok(()),
                State::Header { buf, filled } => {
                    let n = (HEADER_LEN - *filled).min(available);
                    buf[*filled..*filled + n].copy_from_slice(&rx.stage[rx.start..rx.start + n]);
                    *filled += n;
                    rx.start += n;
                    if *filled < HEADER_LEN {
                        return Ok(());
                    }
                    let header = FrameHeader::decode(buf, self.peer, rx.next_seq, self.max_frame)?;
                    rx.next_seq += 1;
                    rx.state = idle();
                    self.begin(header, ctx)?;
                }
                State::Payload { header, sink, done } => {
                    let remaining = header.len - *done;
                    if remaining == 0 {
                        let State::Payload { header, sink, .. } = std::mem::replace(&mut rx.state, idle()) else {
                            unreachable!("matched above")
                        };
                        self.finish(header, sink, ctx);
                        continue;
                    }
                    if available == 0 {
                        return Ok(());
                    }
                    let n = available.min(remaining as usize);
                    let dest = sink.from(*done);
                    let fits = n.min(dest.len());
                    dest[..fits].copy_from_slice(&rx.stage[rx.start..rx.start + fits]);
                    rx.start += n;
                    *done += n as u64;
                }
            }
        }
    }

    fn begin(&mut self, header: FrameHeader, ctx: &mut Ctx) -> Result<()> {
        if self.goodbye_received {
            return Err(err!(Other, "malformed stream from rank {}: a frame after its goodbye", self.peer));
        }
        match header.kind {
            FrameKind::Data => {
                self.begin_data(header, ctx);
                Ok(())
            }
            FrameKind::SyncAck => match self.tx.acknowledged(header.aux, ctx.fx) {
                true => Ok(()),
                false => Err(err!(
                    Other,
                    "malformed frame from rank {}: acknowledgement of unknown frame {}",
                    self.peer,
                    header.aux
                )),
            },
            FrameKind::Goodbye => {
                self.goodbye_received = true;
                Ok(())
            }
            FrameKind::Abort => {
                ctx.fx.abort.get_or_insert((self.peer, header.aux as i32));
                Ok(())
            }
        }
    }

    fn begin_data(&mut self, header: FrameHeader, ctx: &mut Ctx) {
        let env = envelope(self.peer, &header);
        let sync = (header.flags & FLAG_SYNC != 0).then_some(header.seq);
        let arrival = lock(ctx.mailbox).arrive(self.peer, env, header.len, sync, ctx.now);
        self.rx.state = match arrival {
            Arrival::Direct(recv) => {
                if let Some(seq) = sync {
                    self.queue_ack(seq, ctx.fx);
                }
                State::Payload { header, sink: Sink::Direct(recv), done: 0 }
            }
            Arrival::Buffer { id } => {
                State::Payload { header, sink: Sink::Buffer { id, data: vec![0; header.len as usize] }, done: 0 }
            }
            Arrival::Stall { id } => {
                ctx.fx.changed = true;
                State::Stalled { header, id }
            }
            Arrival::Done => {
                // Complete already: it never reaches `finish`, so it is counted here.
                ctx.stats.received(self.peer, 0);
                ctx.fx.changed = true;
                idle()
            }
        };
    }

    fn finish(&mut self, header: FrameHeader, sink: Sink, ctx: &mut Ctx) {
        ctx.stats.received(self.peer, header.len);
        let env = envelope(self.peer, &header);
        match sink {
            Sink::Direct(recv) => {
                let outcome = recv.outcome(&env, header.len);
                ctx.fx.complete(recv.req, outcome);
            }
            Sink::Buffer { id, data } => {
                let claimed = lock(ctx.mailbox).buffered(env.context, id, data, ctx.fx);
                match claimed {
                    Some((recv, data)) => {
                        let (req, outcome) = recv.fill(&env, &data);
                        ctx.fx.complete(req, outcome);
                    }
                    None => ctx.fx.changed = true,
                }
            }
        }
    }

    /// Continues a stalled link once its message is claimed, or, when budget is free and it
    /// is not (or no longer) deferred, into our memory. The driver reads on afterwards.
    pub fn resume(&mut self, ctx: &mut Ctx) -> Result<()> {
        let State::Stalled { header, id } = self.rx.state else { return Ok(()) };
        let sink = match lock(ctx.mailbox).resume(self.peer, header.context, id, ctx.now) {
            Resumption::Direct(recv) => Sink::Direct(recv),
            Resumption::Buffer => Sink::Buffer { id, data: vec![0; header.len as usize] },
            Resumption::Wait => return Ok(()),
        };
        self.rx.state = State::Payload { header, sink, done: 0 };
        // The read that brought the header may have staged payload and later frames too: they
        // may be all the peer sends, so no further read would bring them to `consume`, and a
        // full stage would offer the driver no room (read as end of stream).
        self.consume(ctx)
    }

    /// The peer closed its side: clean after its goodbye at a frame boundary, a failure otherwise.
    pub fn end_of_stream(&mut self, ctx: &mut Ctx) -> Result<()> {
        if self.eof {
            return Ok(());
        }
        self.eof = true;
        if self.goodbye_received && self.rx.at_frame_boundary() {
            self.finished(ctx);
            return Ok(());
        }
        Err(err!(
            ProcAborted,
            "lost the connection to rank {}: it exited or crashed without calling MPI_Finalize",
            self.peer
        ))
    }
}

/// A large unexpected message still arriving into our memory was claimed by a receive
/// meanwhile: copy what is in over and read the rest straight into the receive's buffer,
/// instead of buffering it all and copying it at the end.
fn adopt_claim(sink: &mut Sink, done: u64, header: &FrameHeader, ctx: &mut Ctx) {
    let Sink::Buffer { id, .. } = sink else { return };
    let Some(recv) = lock(ctx.mailbox).take_claim(header.context, *id, ctx.fx) else { return };
    let Sink::Buffer { data, .. } = std::mem::replace(sink, Sink::Direct(recv)) else { unreachable!("matched above") };
    let dest = sink.from(0);
    let n = (done as usize).min(dest.len());
    dest[..n].copy_from_slice(&data[..n]);
}
