//! How the links are protected: the `PARTYLINE_TLS_*` settings, and the rule that plaintext
//! across hosts needs an explicit opt-in.

use crate::error::{err, Result};
use std::net::ToSocketAddrs;
use std::path::PathBuf;

/// The DNS name a rank's certificate must carry unless `PARTYLINE_TLS_NAME` says otherwise.
pub const DEFAULT_NAME_PATTERN: &str = "rank-{rank}.partyline";

/// Where a party's TLS credentials come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A CA bundle to trust (a CA, or the peers' pinned self-signed certificates), plus our
    /// own certificate chain and key, all PEM.
    Files { ca: PathBuf, cert: PathBuf, key: PathBuf },
    /// A key file shared by all parties; see `tls::authority::from_psk`.
    PreShared(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Security {
    /// `None`: plaintext links.
    pub tls: Option<Credentials>,
    /// `PARTYLINE_INSECURE=1`: plaintext was asked for, so it may cross hosts (with a warning).
    pub insecure: bool,
    /// The name pattern binding a certificate to a rank; `{rank}` is replaced by the rank.
    pub name_pattern: String,
}

impl Default for Security {
    fn default() -> Security {
        Security { tls: None, insecure: false, name_pattern: DEFAULT_NAME_PATTERN.into() }
    }
}

impl Security {
    /// Reads `PARTYLINE_TLS_DIR`, `PARTYLINE_TLS_CA`/`CERT`/`KEY`, `PARTYLINE_TLS_PSK_FILE`,
    /// `PARTYLINE_TLS_NAME` and `PARTYLINE_INSECURE` through `var`.
    pub fn from_vars(rank: usize, var: impl Fn(&str) -> Option<String>) -> Result<Security> {
        let dir = var("PARTYLINE_TLS_DIR").map(PathBuf::from);
        let from_dir = |file: String| dir.as_ref().map(|d| d.join(file));
        let ca = var("PARTYLINE_TLS_CA").map(PathBuf::from).or_else(|| from_dir("ca.pem".into()));
        let cert = var("PARTYLINE_TLS_CERT").map(PathBuf::from).or_else(|| from_dir(format!("rank-{rank}.pem")));
        let key = var("PARTYLINE_TLS_KEY").map(PathBuf::from).or_else(|| from_dir(format!("rank-{rank}.key")));
        let psk = var("PARTYLINE_TLS_PSK_FILE").map(PathBuf::from);
        let insecure = matches!(var("PARTYLINE_INSECURE").as_deref(), Some("1" | "true" | "yes" | "on"));
        let name_pattern = var("PARTYLINE_TLS_NAME").unwrap_or_else(|| DEFAULT_NAME_PATTERN.into());
        if !name_pattern.contains("{rank}") {
            return Err(err!(Arg, "PARTYLINE_TLS_NAME={name_pattern:?} lacks {{rank}}: the name must differ per rank, e.g. rank-{{rank}}.mpc.example.org"));
        }
        let tls = match (ca, cert, key, psk) {
            (None, None, None, None) => None,
            (None, None, None, Some(psk)) => Some(Credentials::PreShared(psk)),
            (Some(_), _, _, Some(_)) | (_, Some(_), _, Some(_)) | (_, _, Some(_), Some(_)) => {
                return Err(err!(Arg, "both certificates (PARTYLINE_TLS_DIR/CA/CERT/KEY) and a pre-shared key (PARTYLINE_TLS_PSK_FILE) are configured; choose one"))
            }
            (Some(ca), Some(cert), Some(key), None) => Some(Credentials::Files { ca, cert, key }),
            (ca, cert, key, None) => {
                let missing: Vec<&str> = [("PARTYLINE_TLS_CA", ca.is_none()), ("PARTYLINE_TLS_CERT", cert.is_none()), ("PARTYLINE_TLS_KEY", key.is_none())]
                    .into_iter()
                    .filter_map(|(name, absent)| absent.then_some(name))
                    .collect();
                return Err(err!(Arg, "TLS is half configured: {} not set; set all three (or PARTYLINE_TLS_DIR), or none", missing.join(" and ")));
            }
        };
        if insecure && tls.is_some() {
            return Err(err!(
                Arg,
                "PARTYLINE_INSECURE=1 asks for plaintext but TLS credentials are configured too; unset one"
            ));
        }
        Ok(Security { tls, insecure, name_pattern })
    }

    /// Credentials handed over as inherited descriptors (`/proc/self/fd/N`, as partyrun does for
    /// ranks on other hosts) are marked close-on-exec once read, so the program's own children
    /// do not inherit this rank's key.
    pub fn keep_handed_keys_from_children(&self) {
        let paths: Vec<&PathBuf> = match &self.tls {
            Some(Credentials::Files { ca, cert, key }) => vec![ca, cert, key],
            Some(Credentials::PreShared(psk)) => vec![psk],
            None => vec![],
        };
        for fd in paths.iter().filter_map(|p| p.to_str()?.strip_prefix("/proc/self/fd/")?.parse::<i32>().ok()) {
            // SAFETY: fcntl on an integer descriptor touches no memory; on a descriptor that is
            // not open it fails harmlessly with EBADF.
            unsafe {
                let flags = libc::fcntl(fd, libc::F_GETFD);
                if flags >= 0 {
                    libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
                }
            }
        }
    }

    /// The certificate name of `rank`.
    pub fn rank_name(&self, rank: usize) -> String {
        self.name_pattern.replace("{rank}", &rank.to_string())
    }

    /// Plaintext may stay on this host; across hosts it needs `PARTYLINE_INSECURE=1`, and then
    /// gets a warning. Returns the warning to print, if any.
    pub fn check_plaintext(&self, rank: usize, peers: &[String]) -> Result<Option<String>> {
        if self.tls.is_some() {
            return Ok(None);
        }
        let Some(remote) = peers.iter().enumerate().find(|(r, p)| *r != rank && !is_local(p)) else {
            return Ok(None);
        };
        let (peer, addr) = remote;
        if self.insecure {
            return Ok(Some(format!("the link to rank {peer} at {addr} leaves this host unencrypted and unauthenticated (PARTYLINE_INSECURE=1); anyone on the path can read and alter the shares")));
        }
        Err(err!(Arg, "rank {peer} is at {addr}, not on this host, and partyline encrypts links between hosts: give every party TLS credentials (PARTYLINE_TLS_DIR from `partyrun certs`, or PARTYLINE_TLS_CA/CERT/KEY, or PARTYLINE_TLS_PSK_FILE), or set PARTYLINE_INSECURE=1 to send plaintext anyway"))
    }
}

/// True when `host:port` names a loopback address. Names that do not resolve count as remote.
fn is_local(spec: &str) -> bool {
    match spec.to_socket_addrs() {
        Ok(mut addrs) => addrs.all(|a| a.ip().is_loopback()),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> Result<Security> {
        let vars: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Security::from_vars(2, |name| vars.get(name).cloned())
    }

    #[test]
    fn a_directory_names_the_rank_files() {
        let s = read(&[("PARTYLINE_TLS_DIR", "/d")]).unwrap();
        let files =
            Credentials::Files { ca: "/d/ca.pem".into(), cert: "/d/rank-2.pem".into(), key: "/d/rank-2.key".into() };
        assert_eq!(s.tls, Some(files));
        assert_eq!(s.rank_name(2), "rank-2.partyline");
    }

    #[test]
    fn contradictions_and_gaps_are_named() {
        let e = read(&[("PARTYLINE_TLS_CA", "/ca.pem")]).unwrap_err();
        assert!(e.message.contains("PARTYLINE_TLS_CERT and PARTYLINE_TLS_KEY not set"), "{e}");
        let e = read(&[("PARTYLINE_TLS_DIR", "/d"), ("PARTYLINE_TLS_PSK_FILE", "/k")]).unwrap_err();
        assert!(e.message.contains("choose one"), "{e}");
        let e = read(&[("PARTYLINE_TLS_PSK_FILE", "/k"), ("PARTYLINE_INSECURE", "1")]).unwrap_err();
        assert!(e.message.contains("unset one"), "{e}");
        assert!(read(&[("PARTYLINE_TLS_NAME", "party.example")]).is_err());
    }

    #[test]
    fn plaintext_across_hosts_needs_opt_in() {
        let local = vec!["127.0.0.1:1".to_string(), "localhost:2".into(), "[::1]:3".into()];
        assert_eq!(Security::default().check_plaintext(0, &local).unwrap(), None);
        let remote = vec!["127.0.0.1:1".to_string(), "192.0.2.7:2".into()];
        let e = Security::default().check_plaintext(0, &remote).unwrap_err();
        assert!(e.message.contains("rank 1 is at 192.0.2.7:2") && e.message.contains("PARTYLINE_INSECURE=1"), "{e}");
        let opted = Security { insecure: true, ..Security::default() };
        assert!(opted.check_plaintext(0, &remote).unwrap().unwrap().contains("unencrypted"));
    }
}
