//! A link's write to a connection its peer has closed fails with an error instead of raising SIGPIPE: C programs (unlike Rust's `main`) keep SIGPIPE's default action, which ends the process silently, as a survivor telling a dead rank about a lost link once did.

use partyline::transport::{PlainTcp, Transport};
use std::io::{ErrorKind, IoSlice};
use std::net::{TcpListener, TcpStream};

#[test]
fn writing_to_a_closed_connection_is_an_error_not_a_signal() {
    // This test binary is its own process: restoring the default action affects nothing else.
    // SAFETY: setting a signal's disposition to SIG_DFL installs no handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ours = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (theirs, _) = listener.accept().unwrap();
    drop(theirs);
    let mut link = PlainTcp::new(ours).unwrap();
    let data = [7u8; 4096];
    let mut failed = None;
    for _ in 0..1000 {
        match link.write_vectored(&[IoSlice::new(&data), IoSlice::new(&data)]) {
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(1)),
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(std::time::Duration::from_millis(1)),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let e = failed.expect("writes to a closed connection kept succeeding");
    assert!(matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset), "{e}");
}
