//! One link over several TCP connections: the byte stream is cut into numbered chunks spread over the streams and put back in order on arrival, so a long path gets the send buffers and loss recovery of several flows.
//!
//! A chunk is a 16-byte header (length, sequence number, CRC-32C of both) and its bytes. Each
//! chunk travels whole on one stream, and every stream carries its chunks in rising order, so
//! the receiver always knows which stream the next chunk must come from. Chunks that arrive
//! ahead of their turn wait in a bounded buffer per stream; past the bound, that stream is not
//! read, and TCP's flow control holds the rest at the sender.

use crate::conn::Stream;
use crate::tcp_info::Queue;
use crate::transport::Transport;
use std::collections::VecDeque;
use std::io::{self, ErrorKind, IoSlice};

/// The largest chunk. Large enough that headers cost nothing; small enough that a message of a
/// few chunks already uses several streams.
pub const CHUNK: usize = 256 << 10;
/// Most streams a link may have (`PARTYLINE_STREAMS`).
pub const MAX_STREAMS: usize = 64;
pub const HEADER: usize = 16;
/// Bytes of early chunks one stream may hold before we stop reading it.
const PARKED_LIMIT: usize = 4 << 20;
/// Most slices handed to one stream's write (a shorter write is always allowed).
const MAX_SLICES: usize = 64;
/// Bounds on the unsent bytes each stream's kernel queue takes (TCP_NOTSENT_LOWAT), which
/// follow half the stream's congestion window between them. A stream whose queue is full
/// refuses more (the next stream gets the chunk) and wakes us when it drains, so every stream
/// is kept busy; a shallow queue means a chunk is sent within about half a round trip of being
/// written, instead of waiting behind megabytes while later chunks arrive on other streams.
const MIN_UNSENT: usize = 16 << 10;
const MAX_UNSENT: usize = 1 << 20;

/// A stream's send queue (congestion window, send-buffer room, unsent bytes), if the kernel can tell.
pub type Window = fn(&mut Stream) -> Option<Queue>;

pub struct Striped {
    lanes: Vec<Lane>,
    /// The sequence number of the next chunk to deliver.
    next_in: u64,
    out: Outgoing,
    window: Window,
}

/// One of the link's connections.
struct Lane {
    transport: Box<dyn Transport>,
    header: [u8; HEADER],
    header_len: usize,
    current: Option<Incoming>,
    parked: VecDeque<Parked>,
    parked_bytes: usize,
    /// The sequence number of the last chunk this stream began (chunks rise on each stream).
    last_seq: Option<u64>,
    ended: bool,
    shut: bool,
    /// The TCP_NOTSENT_LOWAT set on this stream.
    unsent_limit: usize,
}

/// The chunk a stream is in the middle of.
struct Incoming {
    seq: u64,
    left: usize,
    /// Arriving ahead of its turn: its bytes go to the back of `parked`.
    parked: bool,
}

/// A chunk that arrived (or is arriving) ahead of its turn.
struct Parked {
    seq: u64,
    data: Vec<u8>,
    filled: usize,
    taken: usize,
}

/// The chunk being written.
struct Outgoing {
    lane: usize,
    /// Data bytes of the chunk not yet written; 0 between chunks.
    left: usize,
    header: [u8; HEADER],
    header_sent: usize,
    seq: u64,
}

impl Striped {
    /// A link over `streams`, which both ends list in the same order (index 0 first).
    pub fn new(streams: Vec<Box<dyn Transport>>) -> Striped {
        Striped::with_window(streams, |socket| crate::tcp_info::queue(socket))
    }

    /// `new`, with the streams' send queues (window, room, unsent bytes) measured by `window`.
    pub fn with_window(streams: Vec<Box<dyn Transport>>, window: Window) -> Striped {
        let lanes = streams
            .into_iter()
            .map(|transport| Lane {
                transport,
                header: [0; HEADER],
                header_len: 0,
                current: None,
                parked: VecDeque::new(),
                parked_bytes: 0,
                last_seq: None,
                ended: false,
                shut: false,
                unsent_limit: 0,
            })
            .collect();
        let out = Outgoing { lane: 0, left: 0, header: [0; HEADER], header_sent: 0, seq: 0 };
        Striped { lanes, next_in: 0, out, window }
    }

    /// Copies out of the next chunk if it is parked.
    fn deliver_parked(&mut self, buf: &mut [u8]) -> Option<usize> {
        let next = self.next_in;
        let lane = self.lanes.iter_mut().find(|l| l.parked.front().is_some_and(|p| p.seq == next))?;
        let chunk = lane.parked.front_mut().expect("found above");
        let n = buf.len().min(chunk.filled - chunk.taken);
        buf[..n].copy_from_slice(&chunk.data[chunk.taken..chunk.taken + n]);
        chunk.taken += n;
        lane.parked_bytes -= n;
        if chunk.taken == chunk.data.len() {
            lane.parked.pop_front();
            self.next_in += 1;
        } else if chunk.taken == chunk.filled {
            // Still arriving: the rest is read straight into the caller's buffer.
            lane.parked.pop_front();
            if let Some(current) = lane.current.as_mut() {
                current.parked = false;
            }
        }
        (n > 0).then_some(n)
    }

    /// Reads the next chunk's bytes straight into `buf`, if its stream is on it.
    fn read_direct(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let next = self.next_in;
        let Some(index) =
            self.lanes.iter().position(|l| l.current.as_ref().is_some_and(|c| c.seq == next && !c.parked))
        else {
            return Ok(None);
        };
        let lane = &mut self.lanes[index];
        let left = lane.current.as_ref().map_or(0, |c| c.left);
        let want = buf.len().min(left);
        let n = match lane.transport.read(&mut buf[..want]) {
            Ok(0) => return Err(cut(index)),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e),
        };
        if left == n {
            lane.current = None;
            self.next_in += 1;
        } else if let Some(current) = lane.current.as_mut() {
            current.left -= n;
        }
        Ok(Some(n))
    }

    /// Reads headers and early chunks on every stream that has room; true if anything arrived.
    fn pull(&mut self) -> io::Result<bool> {
        let mut progressed = false;
        for index in 0..self.lanes.len() {
            progressed |= self.pull_lane(index)?;
        }
        Ok(progressed)
    }

    fn pull_lane(&mut self, index: usize) -> io::Result<bool> {
        let next = self.next_in;
        let lane = &mut self.lanes[index];
        let mut progressed = false;
        while !lane.ended {
            let read = match &lane.current {
                None => lane.transport.read(&mut lane.header[lane.header_len..]),
                Some(c) if !c.parked || lane.parked_bytes >= PARKED_LIMIT => break,
                Some(_) => {
                    let chunk = lane.parked.back_mut().expect("a parked chunk is being filled");
                    lane.transport.read(&mut chunk.data[chunk.filled..])
                }
            };
            let n = match read {
                Ok(0) if lane.current.is_none() && lane.header_len == 0 => {
                    lane.ended = true;
                    return Ok(true);
                }
                Ok(0) => return Err(cut(index)),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            progressed = true;
            match lane.current.as_mut() {
                None => {
                    lane.header_len += n;
                    if lane.header_len == HEADER {
                        lane.header_len = 0;
                        let seq = lane.begin(index, next)?;
                        return self.claim(index, seq).map(|()| true);
                    }
                }
                Some(current) => {
                    current.left -= n;
                    lane.parked_bytes += n;
                    let chunk = lane.parked.back_mut().expect("a parked chunk is being filled");
                    chunk.filled += n;
                    if current.left == 0 {
                        lane.current = None;
                    }
                }
            }
        }
        Ok(progressed)
    }

    /// Checks that no other stream carries chunk `seq`, which stream `index` just began.
    fn claim(&self, index: usize, seq: u64) -> io::Result<()> {
        let holds =
            |l: &Lane| l.current.as_ref().is_some_and(|c| c.seq == seq) || l.parked.iter().any(|p| p.seq == seq);
        match self.lanes.iter().enumerate().find(|(i, l)| *i != index && holds(l)) {
            Some((other, _)) => Err(corrupt(format!("streams {other} and {index} of the link both sent chunk {seq}"))),
            None => Ok(()),
        }
    }

    /// Whether no stream can move: each has ended or holds all the early chunks it may.
    fn stuck(&self) -> bool {
        let full = |l: &Lane| l.parked_bytes >= PARKED_LIMIT && l.current.as_ref().is_some_and(|c| c.parked);
        self.lanes.iter().all(|l| l.ended || full(l))
    }

    /// Starts the next chunk, of `chunk` bytes, on stream `lane`; None (and no chunk in
    /// progress) if the stream took none of it.
    fn start_chunk(&mut self, lane: usize, chunk: usize, bufs: &[IoSlice<'_>]) -> Option<io::Result<usize>> {
        let header = chunk_header(chunk, self.out.seq);
        self.out = Outgoing { lane, left: chunk, header, header_sent: 0, ..self.out };
        match self.send(bufs) {
            Err(e) if e.kind() == ErrorKind::WouldBlock && self.out.header_sent == 0 => {
                self.out.left = 0;
                None
            }
            other => Some(other),
        }
    }

    /// Writes the chunk in progress (header first) on its stream; the data bytes written.
    fn send(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let out = &mut self.out;
        let mut slices = [IoSlice::new(&[]); MAX_SLICES];
        let mut count = 0;
        if out.header_sent < HEADER {
            slices[0] = IoSlice::new(&out.header[out.header_sent..]);
            count = 1;
        }
        let mut room = out.left;
        for buf in bufs {
            if room == 0 || count == MAX_SLICES {
                break;
            }
            let take = buf.len().min(room);
            slices[count] = IoSlice::new(&buf[..take]);
            count += 1;
            room -= take;
        }
        if count == 0 {
            return Ok(0);
        }
        let mut n = self.lanes[out.lane].transport.write_vectored(&slices[..count])?;
        if n == 0 {
            return Err(ErrorKind::WriteZero.into());
        }
        let header_part = n.min(HEADER - out.header_sent);
        out.header_sent += header_part;
        n -= header_part;
        out.left -= n;
        if out.left == 0 {
            out.seq += 1;
        }
        Ok(n)
    }
}

impl Lane {
    /// Measures the stream and bounds its unsent queue to half its congestion window (within
    /// MIN_UNSENT..MAX_UNSENT); the largest chunk of at most `len` bytes it takes whole now, and
    /// whether that is worth giving it. None if the kernel cannot tell.
    ///
    /// Worth it means the stream is below half its bound, which is also when the kernel calls it
    /// writable (Linux wakes a poller once unsent bytes fall below half of TCP_NOTSENT_LOWAT). A
    /// stream above that still takes a few bytes (into its last unsent packet); judged by that
    /// alone, a busy stream would be given chunk after chunk while idle ones wait.
    fn fit(&mut self, window: Window, len: usize) -> Option<(usize, bool)> {
        let queue = window(self.transport.socket())?;
        let limit = (queue.window / 2).clamp(MIN_UNSENT, MAX_UNSENT);
        if limit.abs_diff(self.unsent_limit) > self.unsent_limit / 4 {
            // Without the bound the link still works, only with deeper queues.
            if crate::tcp_info::limit_unsent(self.transport.socket(), limit).is_ok() {
                self.unsent_limit = limit;
            }
        }
        let bound = if self.unsent_limit > 0 { self.unsent_limit } else { limit };
        let fit = len.min(bound.saturating_sub(queue.unsent)).min(queue.room);
        Some((fit, fit > 0 && (fit == len || queue.unsent <= bound / 2)))
    }

    /// A whole header has arrived: checks it and starts its chunk, whose number it returns.
    fn begin(&mut self, index: usize, next: u64) -> io::Result<u64> {
        let h = &self.header;
        let len = u32::from_le_bytes(h[..4].try_into().expect("4 bytes")) as usize;
        let seq = u64::from_le_bytes(h[4..12].try_into().expect("8 bytes"));
        let check = u32::from_le_bytes(h[12..].try_into().expect("4 bytes"));
        if crc32c::crc32c(&h[..12]) != check {
            return Err(corrupt(format!("stream {index} of the link sent a chunk header that fails its checksum")));
        }
        let rising = self.last_seq.is_none_or(|last| seq > last);
        if len == 0 || len > CHUNK || seq < next || !rising || seq - next > u64::from(u32::MAX) {
            return Err(corrupt(format!(
                "stream {index} of the link sent chunk {seq} of {len} bytes while chunk {next} was due"
            )));
        }
        self.last_seq = Some(seq);
        let parked = seq != next;
        if parked {
            self.parked.push_back(Parked { seq, data: vec![0; len], filled: 0, taken: 0 });
        }
        self.current = Some(Incoming { seq, left: len, parked });
        Ok(seq)
    }
}

impl Transport for Striped {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(n) = self.deliver_parked(buf) {
                return Ok(n);
            }
            if let Some(n) = self.read_direct(buf)? {
                return Ok(n);
            }
            if self.pull()? {
                continue;
            }
            if self.lanes.iter().all(|l| l.ended && l.parked.is_empty()) {
                return Ok(0);
            }
            if self.stuck() {
                return Err(corrupt(format!("chunk {} of the link never arrived on any of its streams", self.next_in)));
            }
            return Err(ErrorKind::WouldBlock.into());
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        // Records sealed earlier on a stream this write may not touch (TLS) go out now.
        for lane in self.lanes.iter_mut().filter(|l| l.transport.pending_output()) {
            match lane.transport.flush_pending() {
                Err(e) if e.kind() != ErrorKind::WouldBlock => return Err(e),
                _ => {}
            }
        }
        if self.out.left > 0 {
            return self.send(bufs);
        }
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if total == 0 {
            return Ok(0);
        }
        let len = total.min(CHUNK);
        let window = self.window;
        let fits: Vec<Option<(usize, bool)>> = self.lanes.iter_mut().map(|l| l.fit(window, len)).collect();
        for (lane, chunk) in schedule(&fits, len) {
            if let Some(written) = self.start_chunk(lane, chunk, bufs) {
                return written;
            }
        }
        // Nothing was written. Every stream passed over for being busy must wake us once it
        // drains; one that drained meanwhile is written to now instead.
        for (lane, fit) in fits.iter().enumerate() {
            let Some((fit, false)) = *fit else { continue };
            if !crate::tcp_info::writable_or_armed(self.lanes[lane].transport.socket()) {
                continue;
            }
            if let Some(written) = self.start_chunk(lane, fit.max(MIN_UNSENT.min(len)), bufs) {
                return written;
            }
        }
        Err(ErrorKind::WouldBlock.into())
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        for lane in self.lanes.iter_mut().filter(|l| !l.shut) {
            lane.transport.shutdown_write()?;
            lane.shut = true;
        }
        Ok(())
    }

    fn socket(&mut self) -> &mut Stream {
        self.lanes[0].transport.socket()
    }

    fn sockets(&mut self) -> Vec<&mut Stream> {
        self.lanes.iter_mut().map(|l| l.transport.socket()).collect()
    }

    fn pending_output(&self) -> bool {
        self.lanes.iter().any(|l| l.transport.pending_output())
    }

    fn flush_pending(&mut self) -> io::Result<()> {
        let mut blocked = None;
        for lane in &mut self.lanes {
            if let Err(e) = lane.transport.flush_pending() {
                blocked.get_or_insert(e);
            }
        }
        blocked.map_or(Ok(()), Err)
    }
}

/// The header of chunk `seq` of `len` bytes.
pub fn chunk_header(len: usize, seq: u64) -> [u8; HEADER] {
    let mut header = [0u8; HEADER];
    header[..4].copy_from_slice(&(len as u32).to_le_bytes());
    header[4..12].copy_from_slice(&seq.to_le_bytes());
    let check = crc32c::crc32c(&header[..12]);
    header[12..].copy_from_slice(&check.to_le_bytes());
    header
}

fn cut(index: usize) -> io::Error {
    io::Error::new(ErrorKind::UnexpectedEof, format!("stream {index} of the link closed in the middle of a chunk"))
}

fn corrupt(why: String) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, format!("{why}; the connection is corrupted"))
}

mod schedule;
pub(crate) use schedule::schedule;

#[cfg(test)]
mod tests;
