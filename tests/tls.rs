//! TLS between real processes: data over TLS with certificates and with a pre-shared key, no
//! plaintext on the wire, and clear refusals on both sides for a wrong CA, an expired certificate,
//! another rank's certificate, a party without TLS, and rogue clients.

mod common;

use common::*;
use partyline::tls::authority::Authority;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn marker() -> PathBuf {
    compile("tests/c/marker.c")
}

fn unique(name: &str) -> PathBuf {
    build_dir().join(format!("tls-{name}-{}", std::process::id()))
}

/// `partyrun certs --parties n --out DIR` into a fresh directory.
fn certs(name: &str, n: usize) -> PathBuf {
    let dir = unique(name);
    let _ = std::fs::remove_dir_all(&dir);
    let mut cmd = Command::new(partyrun());
    cmd.args(["certs", "--parties", &n.to_string(), "--out"]).arg(&dir);
    run(cmd, "partyrun certs", secs(30)).assert_success();
    dir
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Starts marker ranks `ranks` of `n` by hand on `ports`, each with the variables `env(rank)` adds.
fn start(
    ranks: std::ops::Range<usize>,
    n: usize,
    ports: &mut RankPorts,
    connect_timeout: f64,
    env: &dyn Fn(usize) -> Vec<(String, String)>,
) -> Vec<Running> {
    let (bin, peers) = (marker(), ports.peers());
    let job = format!("tls-{}-{}", std::process::id(), ports.ports()[0]);
    ranks
        .map(|r| {
            let mut cmd = rank_cmd(&bin, &[], r, n, &peers, &job, connect_timeout);
            cmd.envs(env(r));
            ports.hand_to(r, &mut cmd);
            spawn(cmd, format!("marker rank {r}/{n}"))
        })
        .collect()
}

/// Runs all `n` marker ranks by hand on `ports` and waits for them.
fn by_hand(
    n: usize,
    ports: &mut RankPorts,
    connect_timeout: f64,
    env: impl Fn(usize) -> Vec<(String, String)>,
) -> Vec<Output> {
    wait_all(start(0..n, n, ports, connect_timeout, &env), secs(120))
}

fn files(dir: &Path, ca: &Path, rank: usize) -> Vec<(String, String)> {
    vec![
        ("PARTYLINE_TLS_CA".into(), s(ca)),
        ("PARTYLINE_TLS_CERT".into(), s(&dir.join(format!("rank-{rank}.pem")))),
        ("PARTYLINE_TLS_KEY".into(), s(&dir.join(format!("rank-{rank}.key")))),
    ]
}

/// Every rank exited 0, and rank 0 printed the verdict.
fn assert_job_passed(outs: &[Output]) {
    outs.iter().for_each(Output::assert_success);
    outs[0].assert_pass("marker");
}

fn assert_failed(out: &Output, needle: &str) {
    assert_ne!(out.code(), Some(0), "expected a failure: {}", out.describe());
    out.assert_stderr_contains(needle);
}

#[test]
fn ranks_exchange_data_over_tls() {
    let dir = certs("good", 4);
    for n in [2, 3, 4] {
        let cmd = partyrun_cmd_with(&["--tls-dir", &s(&dir)], n, &marker(), &[]);
        run(cmd, format!("partyrun --tls-dir -n {n} marker"), secs(120)).assert_pass("marker");
    }
    let order = compile("tests/c/order.c");
    run(partyrun_cmd_with(&["--tls-dir", &s(&dir)], 3, &order, &[]), "order over TLS", secs(120)).assert_pass("order");
}

#[test]
fn pre_shared_key_mode() {
    let (key, other) = (unique("job.psk"), unique("other.psk"));
    for path in [&key, &other] {
        let mut cmd = Command::new(partyrun());
        cmd.args(["certs", "--psk"]).arg(path);
        run(cmd, "partyrun certs --psk", secs(30)).assert_success();
    }
    let cmd = partyrun_cmd_with(&["--tls-psk", &s(&key)], 3, &marker(), &[]);
    run(cmd, "partyrun --tls-psk -n 3 marker", secs(120)).assert_pass("marker");

    // A party holding another key is refused, and says why.
    let outs = by_hand(3, &mut RankPorts::reserve(3), 4.0, |r| {
        let file = if r == 2 { &other } else { &key };
        vec![("PARTYLINE_TLS_PSK_FILE".into(), s(file))]
    });
    assert_failed(&outs[2], "not signed by a CA we trust");
    assert_failed(&outs[0], "refused our certificate");
}

#[test]
fn certificate_of_another_ca_is_refused_on_both_sides() {
    let (good, other) = (certs("ca-good", 3), certs("ca-other", 3));
    let ca = good.join("ca.pem");
    let outs = by_hand(3, &mut RankPorts::reserve(3), 4.0, |r| files(if r == 1 { &other } else { &good }, &ca, r));
    assert_failed(&outs[0], "not signed by a CA we trust");
    assert_failed(&outs[1], "refused our certificate");
}

#[test]
fn expired_certificate_is_refused_on_both_sides() {
    let dir = unique("expired");
    std::fs::create_dir_all(&dir).unwrap();
    let ca = Authority::generate("test CA", 30).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.cert_pem()).unwrap();
    let now = time::OffsetDateTime::now_utc();
    for rank in 0..3 {
        let day = time::Duration::days(1);
        let (from, until) = if rank == 1 { (now - 10 * day, now - day) } else { (now - day, now + day) };
        let (cert, key) = ca.issue(&format!("rank-{rank}.partyline"), from, until).unwrap();
        std::fs::write(dir.join(format!("rank-{rank}.pem")), cert).unwrap();
        std::fs::write(dir.join(format!("rank-{rank}.key")), key).unwrap();
    }
    let outs = by_hand(3, &mut RankPorts::reserve(3), 4.0, |_| vec![("PARTYLINE_TLS_DIR".into(), s(&dir))]);
    assert_failed(&outs[0], "has expired");
    assert_failed(&outs[1], "refused our certificate");
}

#[test]
fn certificate_of_another_rank_is_refused_on_both_sides() {
    let dir = certs("stolen", 3);
    let ca = dir.join("ca.pem");
    // Rank 2 presents rank 1's certificate and key.
    let outs = by_hand(3, &mut RankPorts::reserve(3), 4.0, |r| files(&dir, &ca, if r == 2 { 1 } else { r }));
    assert_failed(&outs[0], "it claims rank 2 but its certificate is not issued for rank-2.partyline");
    assert_failed(&outs[2], "refused rank 2: it claims rank 2 but its certificate is not issued for rank-2.partyline");
}

#[test]
fn a_party_without_tls_is_told_so() {
    let dir = certs("mixed", 3);
    let outs = by_hand(3, &mut RankPorts::reserve(3), 4.0, |r| {
        if r == 1 {
            Vec::new()
        } else {
            vec![("PARTYLINE_TLS_DIR".into(), s(&dir))]
        }
    });
    assert_failed(&outs[1], "this party requires TLS but the connecting one has none");
    assert_failed(&outs[0], "sent a plaintext greeting, but this party requires TLS");
}

/// Captures loopback TCP traffic on `ports` while `job` runs; returns the raw capture.
fn capture(name: &str, ports: &[u16], job: impl FnOnce()) -> Vec<u8> {
    let pcap = unique(&format!("{name}.pcap"));
    let filter = ports.iter().map(|p| format!("tcp port {p}")).collect::<Vec<_>>().join(" or ");
    let mut dump = Command::new("tcpdump")
        // A large buffer (in KiB): 64 KiB loopback segments overflow the default one.
        .args(["-i", "lo", "-U", "-s", "0", "-n", "-B", "131072", "-w"])
        .arg(&pcap)
        .arg(&filter)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcpdump is needed for this test; `make deps` installs it");
    let mut lines = BufReader::new(dump.stderr.take().expect("piped stderr")).lines();
    let started = lines.by_ref().map_while(|l| l.ok()).any(|l| l.contains("listening on"));
    assert!(started, "tcpdump did not start capturing on lo (is this run as root?)");
    job();
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: kill(2) on the tcpdump process this test started; SIGINT makes it flush and exit.
    unsafe {
        libc::kill(dump.id() as libc::pid_t, libc::SIGINT);
    }
    let _ = dump.wait();
    std::fs::read(&pcap).expect("read the capture")
}

fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|w| w == &needle).count()
}

#[test]
fn no_plaintext_payload_on_the_wire_with_tls() {
    const MARKER: &[u8] = b"PARTYLINE-PLAINTEXT-MARKER.";
    let dir = certs("capture", 3);
    let mut ports = RankPorts::reserve(3);
    // The control run shows the capture sees the payload when links are plaintext.
    let numbers = ports.ports().to_vec();
    // Links between hosts are TCP; on one host they would be Unix sockets, which tcpdump cannot see.
    let tcp = || ("PARTYLINE_LOCAL_LINKS".into(), "tcp".into());
    let plain = capture("plain", &numbers, || {
        assert_job_passed(&by_hand(3, &mut ports, 20.0, |_| vec![tcp()]));
    });
    assert!(occurrences(&plain, MARKER) > 100, "the capture missed the plaintext run ({} bytes)", plain.len());
    let mut ports = RankPorts::reserve(3);
    let numbers = ports.ports().to_vec();
    let tls = capture("tls", &numbers, || {
        assert_job_passed(&by_hand(3, &mut ports, 20.0, |_| vec![("PARTYLINE_TLS_DIR".into(), s(&dir)), tcp()]));
    });
    assert!(tls.len() > 1 << 20, "the TLS capture holds only {} bytes: the job's traffic was not captured", tls.len());
    assert_eq!(occurrences(&tls, MARKER), 0, "plaintext payload found in the TLS capture");
    assert_eq!(occurrences(&tls, b"PARTYLN"), 0, "the handshake greeting crossed in plaintext");
}

/// Pesters `port` until `stop` (and at least 4 times): port scans, garbage, a TLS client without a
/// certificate, and a slowloris that dribbles a TLS record header.
fn rogue(port: u16, stop: &AtomicBool) -> usize {
    let mut attempts = 0;
    while attempts < 4 || !stop.load(Ordering::Relaxed) {
        attempts += 1;
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        let _ = s.set_write_timeout(Some(Duration::from_millis(200)));
        match attempts % 3 {
            0 => {}
            1 => {
                let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff\x16\x03\x01garbage");
            }
            _ => {
                for b in [0x16u8, 0x03, 0x03, 0x00] {
                    let _ = s.write_all(&[b]);
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        drop(s);
    }
    attempts
}

#[test]
fn rogue_clients_do_not_disturb_a_tls_job() {
    let dir = certs("rogue", 3);
    let mut ports = RankPorts::reserve(3);
    let env = |_| vec![("PARTYLINE_TLS_DIR".to_string(), s(&dir))];
    // Rank 0 waits alone under fire until it has refused a pest, then the others join while the
    // pests go on.
    let mut ranks = start(0..1, 3, &mut ports, 30.0, &env);
    let stop = Arc::new(AtomicBool::new(false));
    let pests: Vec<_> = ports.ports()[..2]
        .iter()
        .map(|&p| {
            let stop = stop.clone();
            std::thread::spawn(move || rogue(p, &stop))
        })
        .collect();
    ranks[0].wait_for_stderr("refused connection from", secs(60));
    ranks.extend(start(1..3, 3, &mut ports, 30.0, &env));
    let outs = wait_all(ranks, secs(120));
    stop.store(true, Ordering::Relaxed);
    let attempts: usize = pests.into_iter().map(|p| p.join().expect("rogue client thread")).sum();
    assert_job_passed(&outs);
    assert!(attempts > 3, "the rogue clients made only {attempts} attempts");
    let refusals = outs[0].stderr.matches("refused connection from").count();
    assert!(refusals > 0, "rank 0 logged no refused connection: {}", outs[0].describe());
}

/// Forwards every connection `listener` gets (for 60 s) to port `to`, flipping one bit of the
/// byte at offset `flip` of each in the client-to-server direction. Detached: the test never
/// waits for it, so a rank that never dials cannot hang the test.
fn tampering_proxy(listener: std::net::TcpListener, to: u16, flip: usize) {
    listener.set_nonblocking(true).unwrap();
    let until = Instant::now() + secs(60);
    std::thread::spawn(move || {
        while Instant::now() < until {
            match listener.accept() {
                Ok((client, _)) => {
                    client.set_nonblocking(false).unwrap();
                    std::thread::spawn(move || forward_flipping(client, to, flip, until));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
}

fn forward_flipping(mut client: TcpStream, to: u16, flip: usize, until: Instant) {
    use std::io::Read;
    // Rank 1 may dial before rank 0 listens: keep trying, as partyline itself does.
    let mut server = loop {
        match TcpStream::connect(("127.0.0.1", to)) {
            Ok(s) => break s,
            Err(_) if Instant::now() < until => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => return,
        }
    };
    let (mut client_r, mut server_w) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut server, &mut client);
        // Pass the server's close on, as a network would: otherwise the clone that reads below
        // keeps the client's connection open, and a client waiting for the server never learns
        // that it has gone.
        let _ = client.shutdown(std::net::Shutdown::Both);
    });
    let (mut seen, mut buf) = (0usize, vec![0u8; 65536]);
    while let Ok(n) = client_r.read(&mut buf) {
        if n == 0 {
            break;
        }
        if (seen..seen + n).contains(&flip) {
            buf[flip - seen] ^= 0x01;
        }
        seen += n;
        if server_w.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = server_w.shutdown(std::net::Shutdown::Write);
}

#[test]
fn tampering_on_the_wire_is_detected() {
    let dir = certs("tamper", 2);
    let mut ports = RankPorts::reserve(2);
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let via = proxy.local_addr().unwrap().port();
    // Past the handshake and the greeting, inside the 4 MiB message.
    tampering_proxy(proxy, ports.ports()[0], 1 << 20);
    let bin = marker();
    let job = format!("tamper-{}", std::process::id());
    let ranks = (0..2)
        .map(|r| {
            // Rank 1 reaches rank 0 through the proxy; rank 0 listens on its real port.
            let peers = if r == 1 { local_peers(&[via, ports.ports()[1]]) } else { ports.peers() };
            let mut cmd = rank_cmd(&bin, &[], r, 2, &peers, &job, 20.0);
            cmd.env("PARTYLINE_TLS_DIR", s(&dir));
            ports.hand_to(r, &mut cmd);
            spawn(cmd, format!("marker rank {r}/2 behind a tampering proxy"))
        })
        .collect();
    let outs = wait_all(ranks, secs(90));
    for out in &outs {
        println!("{}", out.describe());
    }
    assert_failed(&outs[0], "the TLS link to rank 1 failed");
    assert_ne!(outs[1].code(), Some(0), "{}", outs[1].describe());
}
