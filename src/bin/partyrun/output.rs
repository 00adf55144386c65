//! Copies the ranks' output to partyrun's: as it comes, or line by line prefixed with the rank (`--tag-output`).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::{Duration, Instant};

/// Lines longer than this are forwarded in pieces, so a rank writing without newlines
/// cannot make partyrun buffer without bound.
const MAX_LINE: u64 = 64 * 1024;

#[derive(Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Chunks read at once by the raw copy; a rank's write may arrive in several.
const CHUNK: usize = 64 * 1024;
/// How long the raw copy holds the end of an unfinished line, waiting for the rest of it.
const HOLD: Duration = Duration::from_millis(50);

/// What output is read from: a pty master or a pipe (something `poll` can wait on).
pub trait Source: Read + AsRawFd + Send + 'static {}
impl<T: Read + AsRawFd + Send + 'static> Source for T {}

impl AsRawFd for Box<dyn Source> {
    fn as_raw_fd(&self) -> RawFd {
        (**self).as_raw_fd()
    }
}

/// The forwarding threads of a job; each reports on `done` when its pipe closes.
pub struct Forwarders {
    done_tx: Sender<()>,
    done_rx: Receiver<()>,
    running: usize,
}

impl Forwarders {
    pub fn new() -> Forwarders {
        let (done_tx, done_rx) = mpsc::channel();
        Forwarders { done_tx, done_rx, running: 0 }
    }

    /// Forwards `pipe` to our `stream`, each line prefixed with `[rank N] `.
    pub fn start(&mut self, rank: usize, pipe: impl Read + Send + 'static, stream: Stream) -> io::Result<()> {
        self.run(rank, move || forward(format!("[rank {rank}] ").as_bytes(), pipe, |msg| emit(stream, msg)))
    }

    /// Copies `pipe` to our `stream` unchanged, each chunk flushed as it comes, so that a prompt
    /// without a newline shows at once.
    pub fn start_raw(&mut self, rank: usize, pipe: impl Source, stream: Stream) -> io::Result<()> {
        let fd = pipe.as_raw_fd();
        self.run(rank, move || copy_raw(pipe, |wait| readable_within(fd, wait), |chunk| emit(stream, chunk)))
    }

    fn run(&mut self, rank: usize, copy: impl FnOnce() -> io::Result<()> + Send + 'static) -> io::Result<()> {
        let done = self.done_tx.clone();
        thread::Builder::new().name(format!("rank{rank}-output")).spawn(move || {
            // A write error (say, our stdout is a closed pipe) ends forwarding; dropping the
            // pipe then gives the rank an error (EPIPE, or EIO on a pty), as writing there directly would.
            let _ = copy();
            let _ = done.send(());
        })?;
        self.running += 1;
        Ok(())
    }

    /// Waits until every pipe has closed, or `limit` has passed: a process the ranks left
    /// behind could hold a pipe open for ever, and must not keep partyrun from exiting.
    pub fn finish(mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.running > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if self.done_rx.recv_timeout(left).is_err() {
                break;
            }
            self.running -= 1;
        }
    }
}

/// Copies `pipe` to `sink` one prefixed line (or piece of an over-long line) at a time.
fn forward(prefix: &[u8], pipe: impl Read, mut sink: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(MAX_LINE as usize, pipe);
    let mut line = Vec::new();
    let mut msg = Vec::new();
    let mut at_line_start = true;
    loop {
        line.clear();
        // A read error on a pipe means the rank is gone: treat it as end of file.
        let n = (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line).unwrap_or(0);
        msg.clear();
        if n == 0 {
            if !at_line_start {
                msg.push(b'\n'); // end the piece of a long final line we already wrote
                sink(&msg)?;
            }
            return Ok(());
        }
        if at_line_start {
            msg.extend_from_slice(prefix);
        }
        msg.extend_from_slice(&line);
        let cut_short = !line.ends_with(b"\n") && line.len() as u64 == MAX_LINE;
        if !line.ends_with(b"\n") && !cut_short {
            msg.push(b'\n'); // a final line without newline: keep it, and end it
        }
        at_line_start = !cut_short;
        sink(&msg)?;
    }
}

/// Copies `pipe` to `sink` unchanged as it arrives, but whole lines at a time, so that the lines
/// of ranks writing at once never mix (a pty may hand over half a line). The end of an unfinished
/// line (a prompt) goes out once `ready` has waited `HOLD` for more in vain; a line longer than
/// the buffer goes out in pieces.
fn copy_raw(
    mut pipe: impl Read,
    mut ready: impl FnMut(Duration) -> bool,
    mut sink: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut buf = vec![0; CHUNK];
    let mut held = 0;
    loop {
        if held > 0 && !ready(HOLD) {
            sink(&buf[..held])?;
            held = 0;
        }
        let n = match pipe.read(&mut buf[held..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // As in `forward`: a read error means the rank is gone.
            Err(_) => 0,
        };
        if n == 0 {
            return if held > 0 { sink(&buf[..held]) } else { Ok(()) };
        }
        let end = held + n;
        match buf[..end].iter().rposition(|&b| b == b'\n') {
            Some(last) => {
                sink(&buf[..=last])?;
                buf.copy_within(last + 1..end, 0);
                held = end - last - 1;
            }
            None if end == buf.len() => {
                sink(&buf[..end])?;
                held = 0;
            }
            None => held = end,
        }
    }
}

/// True when `fd` has something to read (or has ended) within `wait`.
pub fn readable_within(fd: RawFd, wait: Duration) -> bool {
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    let ms = wait.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: poll reads and writes only the one pollfd we pass.
    unsafe { libc::poll(&mut pfd, 1, ms) != 0 }
}

/// Writes one whole message under the stream's lock, so lines from different ranks never mix.
fn emit(stream: Stream, msg: &[u8]) -> io::Result<()> {
    match stream {
        Stream::Stdout => {
            let mut out = io::stdout().lock();
            out.write_all(msg)?;
            out.flush()
        }
        Stream::Stderr => {
            let mut err = io::stderr().lock();
            err.write_all(msg)?;
            err.flush()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> Vec<Vec<u8>> {
        let mut got = Vec::new();
        forward(b"[rank 2] ", input, |m| {
            got.push(m.to_vec());
            Ok(())
        })
        .unwrap();
        got
    }

    #[test]
    fn prefixes_lines_and_keeps_an_unterminated_last_line() {
        assert_eq!(run(b"a\n\nb"), [&b"[rank 2] a\n"[..], b"[rank 2] \n", b"[rank 2] b\n"]);
        assert!(run(b"").is_empty());
    }

    #[test]
    fn raw_copy_keeps_every_byte() {
        let input: Vec<u8> = (0..=255u8).cycle().take(3 * CHUNK + 7).collect();
        let mut got = Vec::new();
        copy_raw(
            &input[..],
            |_| true,
            |c| {
                got.extend_from_slice(c);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(got, input);
    }

    #[test]
    fn raw_copy_sends_whole_lines_and_a_prompt_after_a_pause() {
        // Reads that split lines: "a\nb" then "c\nd" then a pause, then "e".
        struct Chunks<'a>(std::vec::IntoIter<&'a [u8]>);
        impl Read for Chunks<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let Some(c) = self.0.next() else { return Ok(0) };
                buf[..c.len()].copy_from_slice(c);
                Ok(c.len())
            }
        }
        let mut waits = 0;
        let mut got: Vec<Vec<u8>> = Vec::new();
        copy_raw(
            Chunks(vec![&b"a\nb"[..], b"c\nd", b"e"].into_iter()),
            |_| {
                waits += 1;
                waits != 2 // the second wait, for "d"'s line, finds nothing: a pause
            },
            |c| {
                got.push(c.to_vec());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(got, [&b"a\n"[..], b"bc\n", b"d", b"e"]);
    }

    #[test]
    fn long_lines_come_in_pieces_with_one_prefix() {
        let mut input = vec![b'x'; MAX_LINE as usize + 10];
        input.push(b'\n');
        input.extend_from_slice(b"y");
        let got = run(&input);
        assert_eq!(got.len(), 3);
        assert!(got[0].starts_with(b"[rank 2] xxx") && !got[0].ends_with(b"\n"));
        assert_eq!(got[1], [&[b'x'; 10][..], b"\n"].concat());
        assert_eq!(got[2], b"[rank 2] y\n");
    }
}
