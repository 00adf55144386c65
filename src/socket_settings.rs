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

/// What `apply_link_socket_options` sets on every link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkSocket {
    pub link_timeout: Duration,
    /// Both buffer sizes (`PARTYLINE_SOCKET_BUFFER`); `None` keeps the kernel's autotuning.
    pub buffer: Option<usize>,
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
}
