//! The receive side of one link: parse frames from the bytes the driver reads, check them, match them, and land payloads straight in posted buffers or in budgeted unexpected-message memory; count what is complete, for acknowledgements and replay.

use super::mailbox::{Arrival, PostedRecv, Resumption};
use super::matching::Envelope;
use super::peer::Peer;
use super::Ctx;
use crate::error::{err, Fault};
use crate::sync::lock;
use crate::wire::{FrameHeader, FrameKind, FLAG_ACK_NOW, FLAG_SYNC, HEADER_LEN};

type Result<T> = std::result::Result<T, Fault>;

/// Bytes offered per read for headers and small payloads.
const STAGE_LEN: usize = 256 << 10;
/// Payload left to read above which the driver reads straight into the destination,
/// skipping the stage.
const DIRECT_MIN: u64 = 32 << 10;
/// The stage offered after a payload was read straight into its destination. Large messages
/// tend to follow one another, and a full stage read would take the next one's first 256 KiB
/// into the stage, to be copied again; each read that fills the stage doubles it back.
const STAGE_AFTER_DIRECT: usize = 4 << 10;

pub(super) enum Sink {
    /// Into the user's posted buffer; bytes past its end are dropped (truncation).
    Direct(PostedRecv),
    /// Into our own memory, as unexpected message `id`.
    Buffer { id: u64, data: Vec<u8> },
    /// A link-down notice's text.
    Notice(Vec<u8>),
}

impl Sink {
    /// Where payload byte `at` onwards goes (empty once past the end: truncated bytes).
    fn from(&mut self, at: u64) -> &mut [u8] {
        let dest: &mut [u8] = match self {
            Sink::Direct(r) => r.buf.bytes_mut(),
            Sink::Buffer { data, .. } | Sink::Notice(data) => data,
        };
        let at = (at as usize).min(dest.len());
        &mut dest[at..]
    }
}

pub(super) enum State {
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
    pub(super) state: State,
    /// After a reconnect, the frame that was under way when the link broke: its header comes
    /// again first, then its payload from the start, into the same destination.
    pub(super) replaying: Option<State>,
    pub(super) stage: Vec<u8>,
    pub(super) start: usize,
    pub(super) end: usize,
    /// How much of the stage the next read is offered (see `STAGE_AFTER_DIRECT`).
    pub(super) offer: usize,
    /// The last space offered was a payload's destination, not the stage.
    pub(super) direct: bool,
    pub(super) next_seq: u64,
    /// Sequenced frames fully received: what our acknowledgements say.
    pub complete: u64,
    /// CRC32C of the current payload so far (plaintext links).
    pub(super) crc: u32,
    /// A frame whose sender waits for its acknowledgement came in.
    pub ack_now: bool,
}

pub(super) fn idle() -> State {
    State::Header { buf: [0; HEADER_LEN], filled: 0 }
}

fn envelope(peer: usize, h: &FrameHeader) -> Envelope {
    Envelope { context: h.context, source: peer as i32, tag: h.tag }
}

impl Rx {
    pub fn new() -> Rx {
        Rx {
            state: idle(),
            replaying: None,
            stage: vec![0; STAGE_LEN],
            start: 0,
            end: 0,
            offer: STAGE_LEN,
            direct: false,
            next_seq: 0,
            complete: 0,
            crc: 0,
            ack_now: false,
        }
    }

    /// The posted receive being filled right now, if any (for failing it).
    pub fn take_direct(&mut self) -> Option<PostedRecv> {
        let mut found = None;
        for state in [&mut self.state].into_iter().chain(self.replaying.as_mut()) {
            if let State::Payload { sink: Sink::Direct(_), .. } = state {
                if let State::Payload { sink: Sink::Direct(r), .. } = std::mem::replace(state, idle()) {
                    found = Some(r);
                }
            }
        }
        found
    }

    pub fn at_frame_boundary(&self) -> bool {
        matches!(self.state, State::Header { filled: 0, .. }) && self.start == self.end && self.replaying.is_none()
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
        let end = (rx.end + rx.offer).min(rx.stage.len());
        Some(&mut rx.stage[rx.end..end])
    }

    /// `n` bytes were read into the space `recv_space` offered: parse and deliver them.
    pub fn received(&mut self, n: usize, ctx: &mut Ctx) -> Result<()> {
        self.heard(ctx.now);
        if std::mem::take(&mut self.rx.direct) {
            let checksums = self.checksums;
            if let State::Payload { sink, done, .. } = &mut self.rx.state {
                if checksums {
                    self.rx.crc = crc32c::crc32c_append(self.rx.crc, &sink.from(*done)[..n]);
                }
                *done += n as u64;
            }
            self.rx.offer = STAGE_AFTER_DIRECT;
        } else {
            if n >= self.rx.offer {
                self.rx.offer = (self.rx.offer * 2).min(STAGE_LEN);
            }
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
                    let header = FrameHeader::decode(buf, self.peer, rx.next_seq, self.max_frame, self.checksums)?;
                    if header.kind.is_sequenced() {
                        rx.next_seq += 1;
                    }
                    rx.state = idle();
                    rx.crc = 0;
                    self.tx.acknowledge(header.ack, ctx.fx)?;
                    match self.rx.replaying.take() {
                        Some(state) => self.replay(header, state, ctx)?,
                        None => self.begin(header, ctx)?,
                    }
                }
                State::Payload { header, sink, done } => {
                    let remaining = header.len - *done;
                    if remaining == 0 {
                        if self.checksums && rx.crc != header.crc {
                            return Err(Fault::Break(format!(
                                "a message from rank {} failed its CRC32C checksum: the network corrupted it",
                                self.peer
                            )));
                        }
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
                    let bytes = &rx.stage[rx.start..rx.start + n];
                    if self.checksums {
                        rx.crc = crc32c::crc32c_append(rx.crc, bytes);
                    }
                    let dest = sink.from(*done);
                    let fits = n.min(dest.len());
                    dest[..fits].copy_from_slice(&bytes[..fits]);
                    rx.start += n;
                    *done += n as u64;
                }
            }
        }
    }

    /// Takes a frame whose header is complete.
    fn begin(&mut self, header: FrameHeader, ctx: &mut Ctx) -> Result<()> {
        if self.goodbye_received && header.kind != FrameKind::Ack {
            return Err(Fault::Fatal(err!(
                Other,
                "malformed stream from rank {}: a frame after its goodbye",
                self.peer
            )));
        }
        if !matches!(header.kind, FrameKind::Data | FrameKind::LinkDown | FrameKind::Ack) {
            self.rx.complete += 1;
        }
        match header.kind {
            FrameKind::Data => self.begin_data(header, ctx),
            FrameKind::SyncAck if !self.tx.sync_acknowledged(header.aux, ctx.fx) => {
                return Err(Fault::Fatal(err!(
                    Other,
                    "malformed frame from rank {}: acknowledgement of unknown frame {}",
                    self.peer,
                    header.aux
                )))
            }
            FrameKind::SyncAck | FrameKind::Ack => {}
            FrameKind::Goodbye => {
                // Everything it sent came before: receives naming it alone can never match.
                self.goodbye_received = true;
                self.rx.ack_now = true;
                self.finished(ctx);
            }
            FrameKind::Abort => {
                ctx.fx.abort.get_or_insert((self.peer, header.aux as i32));
            }
            FrameKind::LinkDown => {
                let text = Sink::Notice(vec![0; header.len as usize]);
                self.rx.state = State::Payload { header, sink: text, done: 0 };
            }
        }
        Ok(())
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
                self.frame_complete(&header);
                ctx.fx.changed = true;
                idle()
            }
        };
    }

    fn frame_complete(&mut self, header: &FrameHeader) {
        self.rx.complete += 1;
        if header.flags & FLAG_ACK_NOW != 0 {
            self.rx.ack_now = true;
        }
    }

    fn finish(&mut self, header: FrameHeader, sink: Sink, ctx: &mut Ctx) {
        self.frame_complete(&header);
        if header.kind == FrameKind::LinkDown {
            let Sink::Notice(text) = sink else { unreachable!("a notice has a text sink") };
            let why = String::from_utf8_lossy(&text).into_owned();
            let notice = super::LinkDown { reporter: self.peer, lost: header.aux as usize, why };
            ctx.fx.job_failure.get_or_insert(notice);
            return;
        }
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
            Sink::Notice(_) => unreachable!("only link-down notices have a text sink"),
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

    /// The peer closed its side: clean after its goodbye at a frame boundary; otherwise the
    /// connection broke (a crash, or a middlebox closing it), which a reconnect may repair.
    pub fn end_of_stream(&mut self, _ctx: &mut Ctx) -> Result<()> {
        if self.eof {
            return Ok(());
        }
        if self.goodbye_received && self.rx.at_frame_boundary() {
            self.eof = true;
            return Ok(());
        }
        Err(Fault::Break(format!("rank {} closed the connection without saying goodbye", self.peer)))
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
