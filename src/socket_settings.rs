//! What every link's socket is set to: timeouts, buffer sizes, congestion control and checksums, read from the configuration.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Which TCP congestion control a link uses (`PARTYLINE_CONGESTION`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Congestion {
    /// On links that leave the host, over a round trip of `LONG_RTT` or more: cubic, paced by
    /// the kernel (unpaced, its line-rate bursts overfilled a 40 ms path's queue: lossless BATCH
    /// 100 MB 80.9 against 92.9 MB/s, bench/results/wan-unpaced-start-bbr-host.md), until the
    /// connection first retransmits, then BBR where the kernel offers it (`Link` watches). BBR
    /// paces every message at its estimate of the path's rate, which for the bursts of a
    /// round-based exchange stays far below the link: at 40 ms and 1 Gbit/s, a 64 KiB message
    /// took 7 ms to leave, and rounds of 64 KiB / 256 KiB / 1 MiB took 30.6 / 30.3 / 32.3 ms
    /// under BBR against 25.2 / 23.7 / 28.6 under cubic. But cubic halves its rate at every
    /// lost packet: with 0.1% loss it moved BATCH 100 MB at 0.01 of the floor against BBR's
    /// 0.72 (bench/results/wan-congestion.md). On shorter paths, BBR from the start: there its
    /// pacing cost little, and cubic's unpaced 1 MiB bursts overflowed a 2 ms path's queue.
    /// Loopback links keep the system default: nothing is lost there, and pacing would only
    /// cost CPU.
    Auto,
    /// The system's default (`net.ipv4.tcp_congestion_control`).
    System,
    /// This algorithm on every link; if the kernel refuses it, a warning and the default.
    Named(String),
}

/// What `Congestion::Auto` starts a connection that leaves the host on, and what it moves it
/// to once the connection retransmits.
pub const UNTIL_LOSS: &str = "cubic";
pub const AFTER_LOSS: &str = "bbr";

impl Congestion {
    /// The algorithm a connection moves to once it retransmits, if the setting asks for a move
    /// (only connections that started on `UNTIL_LOSS` move).
    pub fn after_loss(&self) -> Option<&'static str> {
        matches!(self, Congestion::Auto).then_some(AFTER_LOSS)
    }

    /// What `Auto` starts a connection that leaves the host on, by its round trip at connect.
    pub fn auto_start(rtt: Option<Duration>) -> &'static str {
        if rtt.is_some_and(|rtt| rtt >= LONG_RTT) {
            UNTIL_LOSS
        } else {
            AFTER_LOSS
        }
    }

    /// Reads `PARTYLINE_CONGESTION`: unset or `auto`, `system`, or an algorithm's name.
    pub fn parse(value: Option<&str>) -> Result<Congestion, String> {
        match value.map(str::trim) {
            None | Some("" | "auto") => Ok(Congestion::Auto),
            Some("system" | "default") => Ok(Congestion::System),
            Some(name) if name.len() < 16 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
                Ok(Congestion::Named(name.to_string()))
            }
            Some(other) => Err(format!("PARTYLINE_CONGESTION={other:?} is not auto, system or a congestion control name such as bbr or cubic (see /proc/sys/net/ipv4/tcp_available_congestion_control)")),
        }
    }
}

/// Whether plaintext frames carry CRC32C checksums (`PARTYLINE_CHECKSUMS`). A link has them
/// when either end asks; TLS links never do (their records are authenticated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checksums {
    /// On every link that leaves the host. TCP's 16-bit checksum lets some corruption by NICs
    /// and middleboxes through; a connection within one host crosses neither, and there the
    /// CRC cost 30% of a 1 MiB ping-pong (190 us against 134 without it,
    /// bench/results/issue15-checksums.md).
    Auto,
    On,
    Off,
}

impl Checksums {
    /// Reads `PARTYLINE_CHECKSUMS`: unset or `auto`, `on` or `off`.
    pub fn parse(value: Option<&str>) -> Result<Checksums, String> {
        match value.map(str::trim) {
            None | Some("" | "auto") => Ok(Checksums::Auto),
            Some("on" | "1" | "yes") => Ok(Checksums::On),
            Some("off" | "0" | "no") => Ok(Checksums::Off),
            Some(other) => Err(format!("PARTYLINE_CHECKSUMS={other:?} is not auto, on or off")),
        }
    }

    /// Whether this end asks for checksums on a link whose connection leaves the host or not
    /// (`None`: unknown). Both ends see the same pair of addresses, so `auto` decides alike.
    pub fn wanted(self, leaves_host: Option<bool>) -> bool {
        match self {
            Checksums::On => true,
            Checksums::Off => false,
            // Addresses it cannot tell: checked.
            Checksums::Auto => leaves_host.unwrap_or(true),
        }
    }
}

/// Whether a connection between `local` and `peer` leaves this host; `None` where either
/// address is unknown, and each caller decides what that means for it.
pub fn leaves_host(local: Option<SocketAddr>, peer: Option<SocketAddr>) -> Option<bool> {
    let (local, peer) = local.zip(peer)?;
    Some(!on_one_host(local.ip(), peer.ip()))
}

/// Whether a connection between these addresses stays inside one host: both loopback, or the
/// same address (the kernel routes a connection to one of its own addresses over loopback).
pub fn on_one_host(local: IpAddr, peer: IpAddr) -> bool {
    let (local, peer) = (local.to_canonical(), peer.to_canonical());
    local == peer || (local.is_loopback() && peer.is_loopback())
}

/// How links between ranks on one host connect (`PARTYLINE_LOCAL_LINKS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalLinks {
    /// A Unix-domain socket where the peer's address is loopback and it listens on one (see
    /// `conn`); TCP otherwise.
    Unix,
    /// TCP always, e.g. to watch links with TCP tools or to pass them through a local proxy.
    Tcp,
}

impl LocalLinks {
    /// Reads `PARTYLINE_LOCAL_LINKS`: unset, `unix` or `tcp`.
    pub fn parse(value: Option<&str>) -> Result<LocalLinks, String> {
        match value.map(str::trim) {
            None | Some("" | "unix") => Ok(LocalLinks::Unix),
            Some("tcp") => Ok(LocalLinks::Tcp),
            Some(other) => Err(format!("PARTYLINE_LOCAL_LINKS={other:?} is not unix or tcp")),
        }
    }
}

/// How many TCP connections carry one link (`PARTYLINE_STREAMS`). The dialing (higher) rank
/// chooses for each of its links; the accepting one takes what it is offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Streams {
    /// One. Measured on bench/wan.py's emulated 40 ms paths at MTU 9000 (bench/results/
    /// wan-streams-cubic-auto.md): with BBR, extra streams only cost where one flow fills the
    /// path; with cubic and 0.1% loss, eight carried BATCH 100 MB at 0.66 of the floor where one
    /// carried 0.07, but without loss eight took 1 MiB rounds 12% longer and 10 MB exchanges at
    /// half the rate. Loss cannot be known when a link opens, so a link at risk
    /// (`lossy_path_risk`) reopens over `LOSSY_PATH_STREAMS` at its first loss instead
    /// (`Link::widen_on_loss`).
    Auto,
    Fixed(usize),
}

/// The streams a link at `Streams::lossy_path_risk` reopens with once it loses packets.
pub const LOSSY_PATH_STREAMS: usize = 8;
/// The round trip from which a path counts as long: one cubic flow at 0.1% loss carries
/// MSS/RTT x 1.22/sqrt(p), about 11 MB/s at 5 ms and 1.4 MB/s at 40 ms.
pub const LONG_RTT: Duration = Duration::from_millis(5);

impl Streams {
    /// Reads `PARTYLINE_STREAMS`: unset or `auto`, or a count from 1 to `MAX_STREAMS`.
    pub fn parse(value: Option<&str>) -> Result<Streams, String> {
        let max = crate::stripe::MAX_STREAMS;
        match value.map(str::trim) {
            None | Some("" | "auto") => Ok(Streams::Auto),
            Some(n) => match n.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(Streams::Fixed(n)),
                _ => Err(format!(
                    "PARTYLINE_STREAMS={n:?} is not auto or a count of TCP connections per link from 1 to {max}"
                )),
            },
        }
    }

    /// The count for a new link.
    pub fn count(self) -> usize {
        match self {
            Streams::Fixed(n) => n,
            Streams::Auto => 1,
        }
    }

    /// Whether a link left at `auto` whose first connection leaves the host (or not), runs the
    /// congestion control `algorithm` (None: unknown) and measured the round trip `rtt` is one
    /// where losses would hold it to a small part of the path: a loss-based algorithm (cubic,
    /// reno; BBR paces to the measured rate instead) on a long path, over one connection.
    pub fn lossy_path_risk(self, leaves_host: bool, algorithm: Option<&str>, rtt: Option<Duration>) -> bool {
        let loss_based = algorithm.is_some_and(|a| !a.starts_with("bbr"));
        let long = rtt.is_some_and(|rtt| rtt >= LONG_RTT);
        self == Streams::Auto && leaves_host && loss_based && long
    }
}

/// What `apply_link_socket_options` sets on every link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkSocket {
    pub link_timeout: Duration,
    /// Both buffer sizes (`PARTYLINE_SOCKET_BUFFER`); `None` keeps the kernel's autotuning.
    pub buffer: Option<usize>,
    /// The send buffer alone (`PARTYLINE_SEND_BUFFER`), receive autotuning kept.
    pub send_buffer: Option<usize>,
    pub congestion: Congestion,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn congestion_settings_parse() {
        assert_eq!(Congestion::parse(None), Ok(Congestion::Auto));
        assert_eq!(Congestion::parse(Some(" auto ")), Ok(Congestion::Auto));
        assert_eq!(Congestion::parse(Some("system")), Ok(Congestion::System));
        assert_eq!(Congestion::parse(Some("cubic")), Ok(Congestion::Named("cubic".into())));
        assert!(Congestion::parse(Some("bbr; rm")).unwrap_err().contains("PARTYLINE_CONGESTION"));
    }

    #[test]
    fn checksums_stay_off_only_inside_one_host() {
        assert_eq!(Checksums::parse(None), Ok(Checksums::Auto));
        assert_eq!(Checksums::parse(Some(" on")), Ok(Checksums::On));
        assert_eq!(Checksums::parse(Some("off")), Ok(Checksums::Off));
        assert!(Checksums::parse(Some("maybe")).unwrap_err().contains("PARTYLINE_CHECKSUMS"));
        let at = |s: &str| Some(s.parse::<SocketAddr>().unwrap());
        let auto = |local, peer| Checksums::Auto.wanted(leaves_host(local, peer));
        assert!(!auto(at("127.0.0.1:5000"), at("127.0.0.1:6000")));
        assert!(!auto(at("127.0.0.2:5000"), at("127.0.0.1:6000")));
        assert!(!auto(at("[::1]:5000"), at("[::ffff:127.0.0.1]:6000")));
        assert!(!auto(at("10.0.0.1:5000"), at("10.0.0.1:6000")), "own address: loopback inside");
        assert!(auto(at("10.0.0.1:5000"), at("10.0.0.2:6000")));
        // Seen from a container behind a port forward: the host end reports loopback, this end
        // does not, and the link has checksums because one end asks.
        assert!(auto(at("172.17.0.2:5000"), at("172.17.0.1:6000")));
        assert!(auto(None, at("127.0.0.1:6000")), "unknown addresses: checked");
        assert!(!Checksums::Auto.wanted(Some(false)), "a Unix socket");
        assert!(Checksums::On.wanted(Some(false)));
        assert!(!Checksums::Off.wanted(Some(true)));
    }

    #[test]
    fn auto_congestion_starts_long_paths_on_cubic_and_moves_them_to_bbr() {
        let ms = Duration::from_millis;
        assert_eq!(Congestion::auto_start(Some(ms(40))), "cubic");
        assert_eq!(Congestion::auto_start(Some(LONG_RTT)), "cubic");
        assert_eq!(Congestion::auto_start(Some(ms(2))), "bbr", "a short path");
        assert_eq!(Congestion::auto_start(None), "bbr", "a round trip the kernel cannot tell");
        assert_eq!(Congestion::Auto.after_loss(), Some("bbr"));
        assert_eq!(Congestion::System.after_loss(), None);
        assert_eq!(Congestion::Named("cubic".into()).after_loss(), None, "chosen by the user");
    }

    #[test]
    fn local_links_parse() {
        assert_eq!(LocalLinks::parse(None), Ok(LocalLinks::Unix));
        assert_eq!(LocalLinks::parse(Some(" tcp ")), Ok(LocalLinks::Tcp));
        assert_eq!(LocalLinks::parse(Some("unix")), Ok(LocalLinks::Unix));
        assert!(LocalLinks::parse(Some("shm")).unwrap_err().contains("PARTYLINE_LOCAL_LINKS"));
    }

    #[test]
    fn stream_counts_and_the_lossy_path_risk() {
        assert_eq!(Streams::parse(None), Ok(Streams::Auto));
        assert_eq!(Streams::parse(Some(" 3")), Ok(Streams::Fixed(3)));
        assert_eq!(Streams::parse(Some("64")), Ok(Streams::Fixed(64)));
        for bad in ["0", "65", "many", "-1"] {
            assert!(Streams::parse(Some(bad)).unwrap_err().contains("PARTYLINE_STREAMS"), "{bad}");
        }
        assert_eq!(Streams::Auto.count(), 1);
        assert_eq!(Streams::Fixed(3).count(), 3);
        let (ms, far) = (Duration::from_millis, true);
        assert!(Streams::Auto.lossy_path_risk(far, Some("cubic"), Some(ms(40))));
        assert!(Streams::Auto.lossy_path_risk(far, Some("reno"), Some(ms(5))));
        assert!(!Streams::Fixed(1).lossy_path_risk(far, Some("cubic"), Some(ms(40))), "chosen by the user");
        assert!(!Streams::Auto.lossy_path_risk(far, Some("bbr"), Some(ms(40))), "BBR");
        assert!(!Streams::Auto.lossy_path_risk(far, Some("cubic"), Some(ms(2))), "a short path");
        assert!(!Streams::Auto.lossy_path_risk(!far, Some("cubic"), Some(ms(40))), "within the host");
        assert!(!Streams::Auto.lossy_path_risk(far, None, Some(ms(40))), "unknown algorithm");
        assert!(!Streams::Auto.lossy_path_risk(far, Some("cubic"), None), "unknown round trip");
    }
}
