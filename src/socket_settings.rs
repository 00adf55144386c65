//! What every link's socket is set to: timeouts, buffer sizes and congestion control, read from the configuration.

use std::time::Duration;

/// Which TCP congestion control a link uses (`PARTYLINE_CONGESTION`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Congestion {
    /// BBR on links that leave the host, where the kernel offers it; else the system default.
    /// Loss-based algorithms (cubic, reno) halve their rate at every lost packet, which on a
    /// long path with 0.1% loss leaves a link at a fraction of its bandwidth. Loopback links
    /// keep the default: nothing is lost there, and pacing would only cost CPU.
    Auto,
    /// The system's default (`net.ipv4.tcp_congestion_control`).
    System,
    /// This algorithm on every link; if the kernel refuses it, a warning and the default.
    Named(String),
}

impl Congestion {
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

/// How many TCP connections carry one link (`PARTYLINE_STREAMS`). The dialing (higher) rank
/// chooses for each of its links; the accepting one takes what it is offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Streams {
    /// One, for now. Measured on bench/wan.py's emulated paths (bench/results/wan-streams.md):
    /// where one flow's 4 MiB send buffer bounds it (80 ms, 1 Gbit/s), two streams carried
    /// 23-72 MB/s from run to run where one carried a steady 47-48; where one flow already fills
    /// the path (40 ms), extra streams only cost. A default has to be dependable first.
    Auto,
    Fixed(usize),
}

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
    fn stream_counts_follow_the_path() {
        assert_eq!(Streams::parse(None), Ok(Streams::Auto));
        assert_eq!(Streams::parse(Some(" 3")), Ok(Streams::Fixed(3)));
        for bad in ["0", "17", "many", "-1"] {
            assert!(Streams::parse(Some(bad)).unwrap_err().contains("PARTYLINE_STREAMS"), "{bad}");
        }
        assert_eq!(Streams::Auto.count(), 1);
        assert_eq!(Streams::Fixed(3).count(), 3);
    }
}
