//! Tests of the connection kinds: which one a dial opens, and what each reports.

use super::*;
use crate::dial::dial;
use crate::listener::{listen_local, Listener};
use crate::socket_settings::LocalLinks;
use std::net::TcpListener;

const WAIT: Duration = Duration::from_secs(5);

fn is_unix(conn: &Conn) -> bool {
    matches!(conn, Conn::Unix(_))
}

/// A TCP listener on `ip`, and its Unix socket beside it if `local` says so.
fn listener(ip: &str, local: LocalLinks) -> Listener {
    let tcp = TcpListener::bind((ip, 0)).unwrap();
    let unix = (local == LocalLinks::Unix).then(|| listen_local(tcp.local_addr().unwrap())).flatten();
    let listener = Listener::new(tcp, unix);
    listener.set_nonblocking(true).unwrap();
    listener
}

/// The connection `listener` (non-blocking) accepts next.
fn accepted(listener: &Listener) -> Conn {
    loop {
        match listener.accept() {
            Ok((conn, _)) => return conn,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => listener.wait(),
            Err(e) => panic!("accept: {e}"),
        }
    }
}

#[test]
fn a_rank_on_this_host_is_dialed_on_its_unix_socket() {
    let l = listener("127.0.0.1", LocalLinks::Unix);
    let addr = l.local_addr().unwrap();
    let mut ours = dial(addr, WAIT, LocalLinks::Unix).unwrap();
    assert!(is_unix(&ours));
    let mut theirs = accepted(&l);
    assert!(is_unix(&theirs), "the listener hands out the Unix connection");
    assert_eq!(ours.leaves_host(), Some(false));
    assert!(ours.tcp().is_none());
    ours.write_all(b"ping").unwrap();
    let mut got = [0u8; 4];
    assert_eq!(theirs.peek(&mut got).unwrap(), 4);
    theirs.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"ping");
}

#[test]
fn tcp_is_used_where_either_end_says_so() {
    let unix = listener("127.0.0.1", LocalLinks::Unix);
    let conn = dial(unix.local_addr().unwrap(), WAIT, LocalLinks::Tcp).unwrap();
    assert!(conn.tcp().is_some(), "PARTYLINE_LOCAL_LINKS=tcp on the dialing rank");
    assert!(!is_unix(&accepted(&unix)));
    let tcp_only = listener("127.0.0.1", LocalLinks::Tcp);
    let conn = dial(tcp_only.local_addr().unwrap(), WAIT, LocalLinks::Unix).unwrap();
    assert!(conn.tcp().is_some(), "a rank without a Unix socket (or a proxy) is reached over TCP");
    assert_eq!(conn.leaves_host(), Some(false));
}

#[test]
fn a_rank_bound_to_any_address_is_reached_on_its_unix_socket_from_loopback() {
    let l = listener("0.0.0.0", LocalLinks::Unix);
    let port = l.local_addr().unwrap().port();
    let conn = dial(SocketAddr::from(([127, 0, 0, 1], port)), WAIT, LocalLinks::Unix).unwrap();
    assert!(is_unix(&conn));
}

#[test]
fn only_loopback_addresses_have_local_names() {
    assert!(local_names("10.0.0.1:5000".parse().unwrap()).is_empty());
    let names = local_names("127.0.0.1:5000".parse().unwrap());
    assert_eq!(names, ["partyline/127.0.0.1:5000", "partyline/0.0.0.0:5000", "partyline/[::]:5000"]);
    assert_eq!(local_names("[::1]:7".parse().unwrap())[0], "partyline/[::1]:7");
    assert!(listen_local("10.0.0.1:5000".parse().unwrap()).is_none(), "another host's address");
}

#[test]
fn a_dead_rank_refuses_like_a_closed_port() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let unix = listen_local(addr).unwrap();
    drop((l, unix));
    let e = dial(addr, WAIT, LocalLinks::Unix).map(|_| ()).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");
}

#[test]
fn a_name_taken_by_another_user_is_passed_over_for_tcp() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: only root can run a listener as another user here");
        return;
    }
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = tcp.local_addr().unwrap();
    // Another user's process takes the rank's name first (it cannot take the TCP port).
    let script = format!(
        "import socket,sys,time\ns=socket.socket(socket.AF_UNIX)\ns.bind('\\0{}')\ns.listen()\nprint('ready',flush=True)\nsys.stdin.read()",
        local_name(addr)
    );
    let mut squatter = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", &script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("setpriv and python3 (util-linux, python3)");
    let mut ready = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(squatter.stdout.take().unwrap()), &mut ready).unwrap();
    assert_eq!(ready.trim(), "ready");
    assert!(listen_local(addr).is_none(), "the name is taken");
    let conn = dial(addr, WAIT, LocalLinks::Unix).unwrap();
    drop(squatter.stdin.take());
    let _ = squatter.wait();
    assert!(conn.tcp().is_some(), "the other user's socket was trusted");
    drop(tcp);
}

#[test]
fn polled_streams_report_where_they_go() {
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let stream = Conn::Unix(a).into_stream().unwrap();
    assert_eq!(stream.leaves_host(), Some(false));
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let stream = Conn::Tcp(tcp).into_stream().unwrap();
    assert_eq!(stream.leaves_host(), Some(false));
}

#[test]
fn the_listener_takes_its_two_sockets_in_turn() {
    let l = listener("127.0.0.1", LocalLinks::Unix);
    let addr = l.local_addr().unwrap();
    // Two waiting on each socket: four accepts alternate between them, whichever goes first.
    let dialed: Vec<Conn> = [LocalLinks::Unix, LocalLinks::Tcp, LocalLinks::Unix, LocalLinks::Tcp]
        .into_iter()
        .map(|local| dial(addr, WAIT, local).unwrap())
        .collect();
    let kinds: Vec<bool> = (0..4).map(|_| is_unix(&accepted(&l))).collect();
    assert!(kinds.windows(2).all(|w| w[0] != w[1]), "accepted in the order {kinds:?} (true: Unix)");
    drop(dialed);
}
