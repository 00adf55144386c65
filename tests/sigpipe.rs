//! A link's write to a connection its peer has closed fails with an error instead of raising SIGPIPE: C programs (unlike Rust's `main`) keep SIGPIPE's default action, which ends the process silently, as a survivor telling a dead rank about a lost link once did.

use partyline::conn::Conn;
use partyline::transport::{Plain, Transport};
use std::io::{ErrorKind, IoSlice};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;

/// Writes to `ours`, whose peer has closed, until a write fails; that error.
fn write_until_it_fails(ours: Conn) -> std::io::Error {
    // This test binary is its own process: restoring the default action affects nothing else.
    // SAFETY: setting a signal's disposition to SIG_DFL installs no handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let mut link = Plain::new(ours.into_stream().unwrap());
    let data = [7u8; 4096];
    for _ in 0..1000 {
        match link.write_vectored(&[IoSlice::new(&data), IoSlice::new(&data)]) {
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(1)),
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(std::time::Duration::from_millis(1)),
            Err(e) => return e,
        }
    }
    panic!("writes to a closed connection kept succeeding");
}

#[test]
fn writing_to_a_closed_connection_is_an_error_not_a_signal() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ours = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (theirs, _) = listener.accept().unwrap();
    drop(theirs);
    let e = write_until_it_fails(Conn::Tcp(ours));
    assert!(matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset), "{e}");
}

#[test]
fn writing_to_a_closed_unix_socket_is_an_error_not_a_signal() {
    let (ours, theirs) = UnixStream::pair().unwrap();
    drop(theirs);
    let e = write_until_it_fails(Conn::Unix(ours));
    assert_eq!(e.kind(), ErrorKind::BrokenPipe, "{e}");
}
