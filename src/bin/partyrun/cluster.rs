//! Starting a job whose ranks span hosts: partyrun serves the rendezvous, makes the job's TLS credentials, and starts each rank locally or through its host's agent.

use crate::args::{Config, Tls};
use crate::environment::{self, identity_vars, rendezvous_vars};
use crate::job::Job;
use crate::protocol::{Credentials, Spec};
use crate::remote::{Remote, Start};
use crate::reports::ReportDir;
use crate::{hosts, report, Fatal};
use partyline::rendezvous::{serve, Expected, Rendezvous};
use partyline::security::DEFAULT_NAME_PATTERN;
use partyline::tls::authority::Authority;
use std::ffi::OsString;
use std::net::{IpAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::time::Duration;

/// Sessions to one host still logging in at a time: sshd drops new connections at random beyond
/// 10 unauthenticated ones (its default MaxStartups 10:30:100), so more ranks per host start in waves.
const LOGINS_PER_HOST: usize = 8;
/// The job's own CA lives as long as partyrun; a long job outlasting this would fail to reconnect.
const JOB_CERT_DAYS: i64 = 30;

/// Starts every rank of a job across `hosts` (one entry per rank). On error, `job` holds the
/// ranks already started, for the caller to stop.
pub fn start(job: &mut Job, cfg: &Config, hosts: &[String], reports: Option<&ReportDir>) -> Result<(), Fatal> {
    let connect_timeout = cfg.connect_timeout;
    let job_id = environment::job_id(environment::given_job_id(&cfg.exports));
    let (given_host, given_port) = launcher_address(cfg)?;
    let listener = TcpListener::bind((bind_any(given_host.as_deref()), given_port.unwrap_or(0)))
        .map_err(|e| Fatal::new(1, format!("cannot listen for the ranks' rendezvous: {e}")))?;
    let port =
        listener.local_addr().map_err(|e| Fatal::new(1, format!("cannot read the rendezvous port: {e}")))?.port();
    serve_rendezvous(listener, job_id.to_string_lossy().into_owned(), hosts.len(), connect_timeout)?;
    let credentials = credentials(cfg, hosts.len())?;
    let mut env: Vec<(OsString, OsString)> = cfg.exports.clone();
    if cfg.tls == Tls::Insecure {
        env.push(("PARTYLINE_INSECURE".into(), "1".into()));
    }
    let wdir = match &cfg.wdir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir()
            .map_err(|e| {
                Fatal::new(1, format!("cannot read the working directory the ranks should use: {e}; pass --wdir"))
            })?
            .into(),
    };
    let mut local = Vec::new();
    let mut first_remote = None;
    for (rank, host) in hosts.iter().enumerate() {
        let local_rank = hosts[..rank].iter().filter(|h| *h == host).count();
        let mut vars: Vec<(OsString, OsString)> = env.clone();
        vars.extend(identity_vars(rank, hosts.len(), local_rank, &job_id).into_iter().map(|(k, v)| (k.into(), v)));
        if hosts::is_local(host) {
            local.push((rank, vars));
            continue;
        }
        let spec = Spec {
            rank: rank as u32,
            program: cfg.program.clone(),
            args: cfg.args.clone(),
            env: vars,
            wdir: wdir.clone(),
            coordinator_port: port,
            coordinator_host: given_host.clone(),
            suggested_host: route_to(host).map(|ip| ip.to_string()),
            credentials: credentials.as_ref().map(|c| c[rank].clone()),
            forward_stdin: rank == 0,
            kill_grace_ms: 1000,
        };
        wait_for_room(job, host, connect_timeout);
        let (stdout, stderr) = job.output_pipes(cfg, rank)?;
        let start = Start {
            agent: &cfg.launch_agent,
            host,
            rank,
            answer_within: connect_timeout + Duration::from_secs(5),
            stdout,
            stderr,
            stdin: rank == 0,
        };
        let (pid, remote) = Remote::start(start, &spec)?;
        first_remote.get_or_insert((job.ranks.len(), rank));
        job.add_remote(pid, remote);
    }
    if local.is_empty() {
        return Ok(());
    }
    let mut order: Vec<usize> = (0..hosts.len()).filter(|r| !hosts::is_local(&hosts[*r])).collect();
    // Local ranks must be reachable from the other hosts: they register from the address those
    // hosts reach partyrun at, which the first remote agent reports.
    let host = match (&given_host, first_remote) {
        (Some(h), _) => h.clone(),
        (None, Some((i, rank))) => {
            let remote =
                job.ranks[i].remote.as_ref().ok_or_else(|| Fatal::new(1, "lost track of a remote rank".into()))?;
            let seen = remote.coordinator(connect_timeout).ok_or_else(|| {
                Fatal::new(1, format!(
                    "rank {rank} on {} did not start ({}), and the ranks on this host need its answer to tell at which address the other hosts reach this one (or --launcher-address)",
                    remote.host,
                    remote.silence()
                ))
            })?;
            seen.rsplit_once(':').map_or(seen.clone(), |(h, _)| h.to_string())
        }
        (None, None) => "127.0.0.1".into(),
    };
    let coordinator = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    for (rank, mut vars) in local {
        vars.extend(rendezvous_vars(&coordinator).into_iter().map(|(k, v)| (k.into(), v)));
        job.spawn_rank(cfg, rank, vars, credentials.as_ref().map(|c| &c[rank]), reports)?;
        order.push(rank);
    }
    // The supervisor knows ranks by their place in `job.ranks`: put them back in rank order.
    let mut placed: Vec<_> = order.into_iter().zip(job.ranks.drain(..)).collect();
    placed.sort_by_key(|(rank, _)| *rank);
    job.ranks = placed.into_iter().map(|(_, r)| r).collect();
    Ok(())
}

/// Waits, oldest first, until fewer than `LOGINS_PER_HOST` sessions to `host` are still logging in
/// (a session that fails counts as done: the supervisor reports it).
fn wait_for_room(job: &Job, host: &str, limit: Duration) {
    let to_host = job.ranks.iter().filter_map(|r| r.remote.as_ref()).filter(|r| r.host == host);
    let pending: Vec<_> = to_host.filter(|r| !r.answered()).collect();
    for remote in pending.iter().take((pending.len() + 1).saturating_sub(LOGINS_PER_HOST)) {
        remote.coordinator(limit);
    }
}

/// `--launcher-address HOST[:PORT]`, else the address of `--mca oob_tcp_if_include`'s interface.
fn launcher_address(cfg: &Config) -> Result<(Option<String>, Option<u16>), Fatal> {
    if let Some(addr) = &cfg.launcher_address {
        if let Ok(sock) = addr.parse::<std::net::SocketAddr>() {
            return Ok((Some(sock.ip().to_string()), Some(sock.port())));
        }
        return match addr.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => {
                let port = p.parse::<u16>().map_err(|_| {
                    Fatal::new(2, format!("--launcher-address {addr:?}: {p:?} is not a port; give HOST or HOST:PORT"))
                })?;
                Ok((Some(h.to_string()), Some(port)))
            }
            _ => Ok((Some(addr.trim_start_matches('[').trim_end_matches(']').to_string()), None)),
        };
    }
    let Some(want) = &cfg.interface else { return Ok((None, None)) };
    let found = hosts::interfaces().into_iter().find(|(name, ip)| name == want || in_cidr(*ip, want));
    match found {
        Some((_, ip)) => Ok((Some(ip.to_string()), None)),
        None => {
            report(format_args!("no interface here matches {want} (oob/btl_tcp_if_include); the ranks reach partyrun where their SSH sessions came from"));
            Ok((None, None))
        }
    }
}

fn in_cidr(ip: IpAddr, cidr: &str) -> bool {
    let Some((net, bits)) = cidr.split_once('/') else { return false };
    let (Ok(IpAddr::V4(net)), Ok(bits), IpAddr::V4(ip)) = (net.parse::<IpAddr>(), bits.parse::<u32>(), ip) else {
        return false;
    };
    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits.min(32)) };
    u32::from(ip) & mask == u32::from(net) & mask
}

fn bind_any(host: Option<&str>) -> IpAddr {
    match host.and_then(|h| h.parse::<IpAddr>().ok()) {
        Some(IpAddr::V6(_)) => IpAddr::from([0u16; 8]),
        _ => IpAddr::from([0u8; 4]),
    }
}

/// This host's address on the route to `host`, when `host` is an IP literal (no DNS, which could
/// hang): the launcher's guess, used only by agents that cannot see where their session came from.
fn route_to(host: &str) -> Option<IpAddr> {
    let ip: IpAddr = host.trim_start_matches('[').trim_end_matches(']').parse().ok()?;
    let socket = UdpSocket::bind((bind_any(Some(&ip.to_string())), 0)).ok()?;
    socket.connect((ip, 9)).ok()?;
    Some(socket.local_addr().ok()?.ip())
}

fn serve_rendezvous(listener: TcpListener, job_id: String, size: usize, timeout: Duration) -> Result<(), Fatal> {
    let serving = move || {
        let rv = Rendezvous {
            listener: &listener,
            address: "partyrun".into(),
            expected: Expected { job_id, size },
            timeout,
            greeting_timeout: Duration::from_secs(5),
            raise: "raise PARTYLINE_CONNECT_TIMEOUT (partyrun -x PARTYLINE_CONNECT_TIMEOUT=SECS)".into(),
        };
        if let Err(e) = serve(&rv, None) {
            report(e.message);
        }
    };
    std::thread::Builder::new()
        .name("rendezvous".into())
        .spawn(serving)
        .map(drop)
        .map_err(|e| Fatal::new(1, format!("cannot start the rendezvous thread: {e}")))
}

/// Every rank's credentials, or `None` for plaintext.
fn credentials(cfg: &Config, ranks: usize) -> Result<Option<Vec<Credentials>>, Fatal> {
    let read =
        |path: &Path| std::fs::read(path).map_err(|e| Fatal::new(1, format!("cannot read {}: {e}", path.display())));
    match &cfg.tls {
        Tls::Insecure => Ok(None),
        Tls::Psk(file) => Ok(Some(vec![Credentials::PreShared(read(file)?); ranks])),
        Tls::Dir(dir) => (0..ranks)
            .map(|r| {
                Ok(Credentials::Certs {
                    ca: read(&dir.join("ca.pem"))?,
                    cert: read(&dir.join(format!("rank-{r}.pem")))?,
                    key: read(&dir.join(format!("rank-{r}.key")))?,
                })
            })
            .collect::<Result<Vec<_>, Fatal>>()
            .map(Some),
        Tls::Default => {
            let fail = |e: partyline::error::Error| {
                Fatal::new(1, format!("cannot make the job's TLS certificates: {}", e.message))
            };
            let ca = Authority::generate("partyline job CA", JOB_CERT_DAYS).map_err(fail)?;
            let now = time::OffsetDateTime::now_utc();
            let (from, until) = (now - time::Duration::days(1), now + time::Duration::days(JOB_CERT_DAYS));
            (0..ranks)
                .map(|r| {
                    let name = DEFAULT_NAME_PATTERN.replace("{rank}", &r.to_string());
                    let (cert, key) = ca.issue(&name, from, until).map_err(fail)?;
                    Ok(Credentials::Certs {
                        ca: ca.cert_pem().into_bytes(),
                        cert: cert.into_bytes(),
                        key: key.into_bytes(),
                    })
                })
                .collect::<Result<Vec<_>, Fatal>>()
                .map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_and_routes() {
        assert!(in_cidr("10.1.2.3".parse().unwrap(), "10.1.0.0/16"));
        assert!(!in_cidr("10.2.2.3".parse().unwrap(), "10.1.0.0/16"));
        assert!(!in_cidr("10.1.2.3".parse().unwrap(), "eth0"));
        assert_eq!(route_to("127.0.0.1"), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(route_to("h0"), None);
    }
}
