//! The striped link against in-memory streams that hold back, reorder and cut: what goes in comes out in order, or the failure is named.

use super::*;
use proptest::prelude::*;
use std::io::IoSlice;
use std::sync::{Arc, Mutex};

/// One direction of one stream: bytes written, and how many of them the reader may see yet.
#[derive(Default)]
struct Wire {
    bytes: VecDeque<u8>,
    visible: usize,
    capacity: usize,
    closed: bool,
    /// Visible bytes follow writes at once.
    instant: bool,
}

type Shared = Arc<Mutex<Wire>>;

/// Either end of an in-memory stream (each end only reads or only writes in these tests).
struct End {
    wire: Shared,
    socket: Stream,
}

impl Transport for End {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut w = self.wire.lock().unwrap();
        if w.visible == 0 {
            return if w.closed && w.bytes.is_empty() { Ok(0) } else { Err(ErrorKind::WouldBlock.into()) };
        }
        let n = buf.len().min(w.visible);
        for (slot, b) in buf.iter_mut().zip(w.bytes.drain(..n)) {
            *slot = b;
        }
        w.visible -= n;
        Ok(n)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut w = self.wire.lock().unwrap();
        let room = w.capacity - w.bytes.len();
        if room == 0 {
            return Err(ErrorKind::WouldBlock.into());
        }
        let mut n = 0;
        for b in bufs {
            let take = b.len().min(room - n);
            w.bytes.extend(&b[..take]);
            n += take;
        }
        if w.instant {
            w.visible = w.bytes.len();
        }
        Ok(n)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.wire.lock().unwrap().closed = true;
        Ok(())
    }

    fn socket(&mut self) -> &mut Stream {
        &mut self.socket
    }
}

fn socket() -> Stream {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    crate::conn::Conn::Tcp(stream).into_stream().unwrap()
}

/// A sender and a receiver over `capacities.len()` streams; `instant` streams show bytes at once.
fn pair(capacities: &[usize], instant: bool) -> (Striped, Striped, Vec<Shared>) {
    pair_with(capacities, instant, |_| None)
}

/// `pair`, with the sender's streams' windows and room measured by `window`.
fn pair_with(capacities: &[usize], instant: bool, window: Window) -> (Striped, Striped, Vec<Shared>) {
    let wires: Vec<Shared> = capacities
        .iter()
        .map(|&capacity| Arc::new(Mutex::new(Wire { capacity, instant, ..Wire::default() })))
        .collect();
    let ends = |wires: &[Shared]| -> Vec<Box<dyn Transport>> {
        wires.iter().map(|w| Box::new(End { wire: w.clone(), socket: socket() }) as Box<dyn Transport>).collect()
    };
    (Striped::with_window(ends(&wires), window), Striped::with_window(ends(&wires), |_| None), wires)
}

/// Writes as much of `data[*sent..]` as the streams take, in pieces of `piece`.
fn write_some(tx: &mut Striped, data: &[u8], sent: &mut usize, piece: usize) -> io::Result<()> {
    while *sent < data.len() {
        let end = (*sent + piece).min(data.len());
        let (a, b) = data[*sent..end].split_at((end - *sent) / 2);
        match tx.write_vectored(&[IoSlice::new(a), IoSlice::new(b)]) {
            Ok(n) => *sent += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads what is ready into `got`, in pieces of `piece`; true at end of stream.
fn read_some(rx: &mut Striped, got: &mut Vec<u8>, piece: usize) -> io::Result<bool> {
    let mut buf = vec![0u8; piece];
    loop {
        match rx.read(&mut buf) {
            Ok(0) => return Ok(true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
    }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Streams that release their bytes in any order and amount still deliver the exact byte
    /// stream, with early chunks held within the bound.
    #[test]
    fn any_release_order_delivers_the_stream_in_order(
        streams in 1usize..5,
        len in 0usize..3_000_000,
        capacity in 1usize..600_000,
        write_piece in 1usize..700_000,
        read_piece in 1usize..400_000,
        releases in proptest::collection::vec((0usize..5, 1usize..500_000), 1..40),
    ) {
        let capacities = vec![capacity; streams];
        let (mut tx, mut rx, wires) = pair(&capacities, false);
        let data = pattern(len);
        let (mut sent, mut got, mut step) = (0, Vec::new(), 0usize);
        loop {
            write_some(&mut tx, &data, &mut sent, write_piece).unwrap();
            if sent == data.len() {
                tx.shutdown_write().unwrap();
            }
            // Scripted releases first; past them, everything becomes visible.
            let (which, amount) = releases.get(step).copied().unwrap_or((0, usize::MAX));
            for (i, wire) in wires.iter().enumerate() {
                let mut w = wire.lock().unwrap();
                if step >= releases.len() || i == which % streams {
                    w.visible = (w.visible.saturating_add(amount)).min(w.bytes.len());
                }
            }
            step += 1;
            let ended = read_some(&mut rx, &mut got, read_piece).unwrap();
            for lane in &rx.lanes {
                prop_assert!(lane.parked_bytes <= PARKED_LIMIT + CHUNK);
            }
            if ended {
                break;
            }
            prop_assert!(step < 100_000, "no progress");
        }
        prop_assert_eq!(got.len(), data.len());
        prop_assert!(got == data);
    }
}

#[test]
fn what_overflows_the_first_stream_goes_to_the_next() {
    // Each stream's buffer holds one chunk: a message of four fills all four.
    let (mut tx, _rx, wires) = pair(&[CHUNK + HEADER; 4], true);
    let data = pattern(4 * CHUNK);
    let mut sent = 0;
    write_some(&mut tx, &data, &mut sent, data.len()).unwrap();
    assert_eq!(sent, data.len());
    for wire in &wires {
        assert_eq!(wire.lock().unwrap().bytes.len(), CHUNK + HEADER);
    }
}

#[test]
fn messages_that_fit_stay_on_the_first_stream() {
    let (mut tx, _rx, wires) = pair(&[1 << 22; 4], true);
    let mut sent = 0;
    for _ in 0..8 {
        sent = 0;
        write_some(&mut tx, &pattern(64 << 10), &mut sent, 64 << 10).unwrap();
    }
    assert_eq!(sent, 64 << 10);
    assert_eq!(wires[0].lock().unwrap().bytes.len(), 8 * ((64 << 10) + HEADER));
    for wire in &wires[1..] {
        assert!(wire.lock().unwrap().bytes.is_empty());
    }
}

#[test]
fn a_full_stream_is_passed_over_for_one_with_room() {
    let (mut tx, mut rx, wires) = pair(&[100, 1 << 20], true);
    wires[0].lock().unwrap().bytes.extend([0u8; 100]);
    let data = pattern(5000);
    let mut sent = 0;
    write_some(&mut tx, &data, &mut sent, 1000).unwrap();
    assert_eq!(sent, data.len());
    assert_eq!(wires[0].lock().unwrap().bytes.len(), 100);
    wires[0].lock().unwrap().bytes.clear();
    wires[0].lock().unwrap().visible = 0;
    let mut got = Vec::new();
    read_some(&mut rx, &mut got, 4096).unwrap();
    assert!(got == data);
}

#[test]
fn a_corrupted_header_is_named() {
    let (mut tx, mut rx, wires) = pair(&[1 << 20; 2], true);
    let mut sent = 0;
    write_some(&mut tx, &pattern(1000), &mut sent, 1000).unwrap();
    wires[0].lock().unwrap().bytes[5] ^= 1;
    let e = read_some(&mut rx, &mut Vec::new(), 4096).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert!(e.to_string().contains("checksum"), "{e}");
}

#[test]
fn a_replayed_chunk_is_refused() {
    let (mut tx, mut rx, wires) = pair(&[1 << 20; 2], true);
    let mut sent = 0;
    write_some(&mut tx, &pattern(1000), &mut sent, 1000).unwrap();
    let copy: Vec<u8> = wires[0].lock().unwrap().bytes.iter().copied().collect();
    let mut got = Vec::new();
    read_some(&mut rx, &mut got, 4096).unwrap();
    let mut w = wires[1].lock().unwrap();
    w.bytes.extend(&copy);
    w.visible = w.bytes.len();
    drop(w);
    let e = read_some(&mut rx, &mut got, 4096).unwrap_err();
    assert!(e.to_string().contains("chunk 0 of 1000 bytes while chunk 1 was due"), "{e}");
}

#[test]
fn a_stream_cut_mid_chunk_is_an_error_and_a_clean_end_is_not() {
    let (mut tx, mut rx, wires) = pair(&[1 << 20; 2], true);
    let mut sent = 0;
    write_some(&mut tx, &pattern(1000), &mut sent, 1000).unwrap();
    tx.shutdown_write().unwrap();
    let mut got = Vec::new();
    assert!(read_some(&mut rx, &mut got, 4096).unwrap(), "end of stream after the data");
    assert_eq!(got.len(), 1000);

    let (mut tx, mut rx, wires2) = pair(&[1 << 20; 2], true);
    drop(wires);
    let mut sent = 0;
    write_some(&mut tx, &pattern(1000), &mut sent, 1000).unwrap();
    let mut w = wires2[0].lock().unwrap();
    w.bytes.truncate(500);
    w.visible = 500;
    w.closed = true;
    drop(w);
    let e = read_some(&mut rx, &mut Vec::new(), 4096).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnexpectedEof);
    assert!(e.to_string().contains("stream 0"), "{e}");
}

#[test]
fn a_chunk_that_never_comes_is_named_once_every_stream_ended() {
    // Stream 0 has room for chunk 0 alone, so the next chunks go to stream 1.
    let (mut tx, mut rx, wires) = pair(&[10 + HEADER, 1 << 20], true);
    let mut sent = 0;
    write_some(&mut tx, &pattern(10), &mut sent, 10).unwrap();
    write_some(&mut tx, &pattern(3 * CHUNK), &mut sent, CHUNK).unwrap();
    // Chunk 0 is lost with stream 0; chunk 1 waits on stream 1.
    wires[0].lock().unwrap().bytes.clear();
    wires[0].lock().unwrap().visible = 0;
    for w in &wires {
        w.lock().unwrap().closed = true;
    }
    let e = read_some(&mut rx, &mut Vec::new(), 4096).unwrap_err();
    assert!(e.to_string().contains("chunk 0 of the link never arrived"), "{e}");
}

#[test]
fn a_chunk_on_two_streams_at_once_is_refused() {
    let (mut tx, mut rx, wires) = pair(&[1 << 20; 2], true);
    let mut sent = 0;
    write_some(&mut tx, &pattern(1000), &mut sent, 1000).unwrap();
    let copy: Vec<u8> = wires[0].lock().unwrap().bytes.iter().copied().collect();
    let mut w = wires[1].lock().unwrap();
    w.bytes.extend(&copy);
    w.visible = w.bytes.len();
    drop(w);
    let e = read_some(&mut rx, &mut Vec::new(), 4096).unwrap_err();
    assert!(e.to_string().contains("streams 0 and 1 of the link both sent chunk 0"), "{e}");
}

#[test]
fn chunks_are_at_most_half_their_streams_window() {
    let (mut tx, mut rx, wires) =
        pair_with(&[1 << 20; 2], true, |_| Some(Queue { window: 80_000, room: 1 << 30, unsent: 0 }));
    // Stream 0 is full: the rest goes to stream 1 in chunks of half its window.
    wires[0].lock().unwrap().capacity = 0;
    let data = pattern(100_000);
    let mut sent = 0;
    write_some(&mut tx, &data, &mut sent, data.len()).unwrap();
    assert_eq!(sent, data.len());
    assert_eq!(wires[1].lock().unwrap().bytes.len(), 100_000 + 3 * HEADER, "chunks of 40,000, 40,000, 20,000");
    let mut got = Vec::new();
    read_some(&mut rx, &mut got, 4096).unwrap();
    assert!(got == data);
    // However small the window, chunks of 16 KiB still go.
    let (mut tx, _, _) = pair_with(&[1 << 20; 2], true, |_| Some(Queue { window: 100, room: 1 << 30, unsent: 0 }));
    assert_eq!(tx.write_vectored(&[IoSlice::new(&data)]).unwrap(), MIN_UNSENT);
}

#[test]
fn a_busy_stream_is_passed_over_for_idle_ones() {
    // Stream 0 has most of its unsent bound queued: it would take a few bytes, but the chunks
    // go to the idle streams, the one taking most first.
    let busy = Some((5_000, false));
    let order = schedule(&[busy, Some((16_384, true)), Some((40_000, true))], CHUNK);
    assert_eq!(order, vec![(2, 40_000), (1, 16_384)]);
    // Every stream busy: nothing is offered (the caller arms them to wake it).
    assert!(schedule(&[busy, busy], CHUNK).is_empty());
}

#[test]
fn stream_0_keeps_what_it_takes_whole() {
    let order = schedule(&[Some((40_000, true)), Some((40_000, true))], 40_000);
    assert_eq!(order, vec![(0, 40_000), (1, 40_000)]);
    // Otherwise the stream that takes most goes first.
    let order = schedule(&[Some((20_000, true)), Some((40_000, true))], 40_000);
    assert_eq!(order, vec![(1, 40_000), (0, 20_000)]);
    // Unmeasured streams are offered the whole chunk, in order.
    assert_eq!(schedule(&[None, None], 500), vec![(0, 500), (1, 500)]);
}

#[test]
fn a_stream_past_half_its_bound_is_not_worth_a_chunk() {
    let (mut tx, _, _) =
        pair_with(&[1 << 20; 2], true, |_| Some(Queue { window: 110_000, room: 1 << 30, unsent: 50_000 }));
    // The bound is half the window, 55,000 bytes, of which 50,000 are queued.
    assert_eq!(tx.lanes[0].fit(tx.window, CHUNK), Some((5_000, false)));
    assert_eq!(tx.lanes[0].fit(tx.window, 5_000), Some((5_000, true)), "it still takes what fits whole");
    let (mut tx, _, _) =
        pair_with(&[1 << 20; 2], true, |_| Some(Queue { window: 110_000, room: 1 << 30, unsent: 20_000 }));
    assert_eq!(tx.lanes[1].fit(tx.window, CHUNK), Some((35_000, true)));
    let (mut tx, _, _) = pair_with(&[1 << 20; 2], true, |_| Some(Queue { window: 110_000, room: 9_000, unsent: 0 }));
    assert_eq!(tx.lanes[0].fit(tx.window, CHUNK), Some((9_000, true)), "no more than the send buffer's room");
}
