//! `TlsTcp`: a link's TLS session once the greeting is done, on its non-blocking socket. rustls
//! seals and opens the records (`session.rs`); encryption runs wherever the link is driven: on
//! the communication thread, or on a waiting compute thread that progresses its own links.

use super::session::{Endpoint, Session};
use crate::conn::Stream;
use crate::transport::Transport;
use std::io::{self, IoSlice};
use std::net::Shutdown;

/// TLS 1.3 over TCP or a Unix socket, client or server side.
pub type TlsTcp<C> = Session<C, Stream>;

impl<C: Endpoint> Transport for TlsTcp<C> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Session::read(self, buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        Session::write_vectored(self, bufs)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.close_notify()?;
        self.io_mut().shutdown(Shutdown::Write)
    }

    fn socket(&mut self) -> &mut Stream {
        self.io_mut()
    }

    fn pending_output(&self) -> bool {
        Session::pending_output(self)
    }

    fn flush_pending(&mut self) -> io::Result<()> {
        self.push()
    }
}
