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
    /// `AUTO_STREAMS` where one flow's send buffer bounds it below `ONE_FLOW_FLOOR` on this
    /// path (the kernel's send buffer maximum over the round trip measured at connect time),
    /// else one. Measured (bench/results/wan-streams.md): at 80 ms with the default 4 MiB
    /// maximum, two streams carry 1.45x one stream's bulk rate; at 40 ms, where one flow
    /// already fills the emulated path, extra streams only add contention.
    Auto,
    Fixed(usize),
}

/// Streams per link under `Streams::Auto` where one flow is bound by its send buffer.
pub const AUTO_STREAMS: usize = 2;
/// A round trip at least this long makes a path long (loopback and one data centre are shorter).
pub const LONG_PATH: Duration = Duration::from_millis(1);
/// Below this rate (bytes/s) a single flow is taken to be held back by its send buffer.
pub const ONE_FLOW_FLOOR: f64 = 60e6;

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

    /// The count for a new link whose connection measured `rtt` (None: unknown) to a peer on
    /// this host (`loopback`) or not, where a flow's send buffer may grow to `send_max` bytes.
    pub fn count(self, rtt: Option<Duration>, loopback: bool, send_max: Option<usize>) -> usize {
        match self {
            Streams::Fixed(n) => n,
            Streams::Auto => match (rtt, send_max) {
                (Some(rtt), Some(max))
                    if !loopback && rtt >= LONG_PATH && (max as f64) / rtt.as_secs_f64() < ONE_FLOW_FLOOR =>
                {
                    AUTO_STREAMS
                }
                _ => 1,
            },
        }
    }
}

/// The most a TCP send buffer may grow to by autotuning here (`net.ipv4.tcp_wmem`'s maximum, as
/// this process's network namespace has it).
pub fn send_buffer_max() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem").ok()?;
    text.split_whitespace().nth(2)?.parse().ok()
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
        let ms = Duration::from_millis;
        let four = Some(4 << 20);
        assert_eq!(Streams::Auto.count(Some(ms(80)), false, four), AUTO_STREAMS, "4 MiB per 80 ms: 52 MB/s");
        assert_eq!(Streams::Auto.count(Some(ms(40)), false, four), 1, "4 MiB per 40 ms: 105 MB/s");
        assert_eq!(Streams::Auto.count(Some(ms(80)), false, Some(32 << 20)), 1, "a host tuned for long paths");
        assert_eq!(Streams::Auto.count(Some(ms(80)), true, four), 1, "a busy loopback is no long path");
        assert_eq!(Streams::Auto.count(Some(Duration::from_micros(300)), false, Some(4096)), 1);
        assert_eq!(Streams::Auto.count(None, false, four), 1);
        assert_eq!(Streams::Auto.count(Some(ms(80)), false, None), 1);
        assert_eq!(Streams::Fixed(3).count(None, true, None), 3);
        assert!(send_buffer_max().is_some_and(|max| max >= 4096));
    }
}
