//! An in-memory, non-blocking duplex byte stream, and two TLS sessions connected through it:
//! for driving rustls without sockets in tests, benchmarks and the `records` fuzz target.

use super::session::{Endpoint, Session};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::rc::Rc;

/// The bytes travelling one way, and whether the writer has closed its end.
#[derive(Default)]
pub struct Lane {
    pub bytes: VecDeque<u8>,
    pub closed: bool,
}

/// One end of the stream: reads what the other end wrote; `WouldBlock` when nothing is there.
pub struct Pipe {
    inbox: Rc<RefCell<Lane>>,
    outbox: Rc<RefCell<Lane>>,
}

impl Pipe {
    pub fn pair() -> (Pipe, Pipe) {
        let (a, b) = (Rc::default(), Rc::default());
        (Pipe { inbox: Rc::clone(&a), outbox: Rc::clone(&b) }, Pipe { inbox: b, outbox: a })
    }

    /// What has arrived at this end and not been read: to alter or inspect it.
    pub fn inbox(&self) -> std::cell::RefMut<'_, Lane> {
        self.inbox.borrow_mut()
    }

    /// What this end sent and the other has not read.
    pub fn outbox(&self) -> std::cell::RefMut<'_, Lane> {
        self.outbox.borrow_mut()
    }

    /// End of stream for the other end, once it has read what is there.
    pub fn close(&self) {
        self.outbox.borrow_mut().closed = true;
    }
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut lane = self.inbox.borrow_mut();
        if lane.bytes.is_empty() && !buf.is_empty() {
            return if lane.closed { Ok(0) } else { Err(io::ErrorKind::WouldBlock.into()) };
        }
        lane.bytes.read(buf)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut lane = self.outbox.borrow_mut();
        if lane.closed {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        lane.bytes.extend(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs the handshake of `client` with `server` through a `Pipe`: the first error of either
/// side, or the two sessions ready for traffic.
pub fn connect<C: Endpoint, S: Endpoint>(client: C, server: S) -> io::Result<(Session<C, Pipe>, Session<S, Pipe>)> {
    let (near, far) = Pipe::pair();
    let (mut client, mut server) = (Session::new(client, near), Session::new(server, far));
    let (mut client_done, mut server_done) = (false, false);
    let step = |result: io::Result<()>, done: &mut bool| match result {
        Ok(()) => {
            *done = true;
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
        Err(e) => Err(e),
    };
    // A TLS 1.3 handshake takes two round trips; more turns mean a stall.
    for _ in 0..8 {
        if !client_done {
            step(client.handshake(), &mut client_done)?;
        }
        if !server_done {
            step(server.handshake(), &mut server_done)?;
        }
        if client_done && server_done {
            return Ok((client, server));
        }
    }
    Err(io::Error::other("the in-memory TLS handshake stalled"))
}
