//! The configuration read back: statistics destinations, byte sizes, and errors that name the setting at fault.

use super::*;

fn base() -> Config {
    Config::for_tests()
}

#[test]
fn stats_destinations() {
    assert_eq!(StatsDestination::parse(" 0 "), None);
    assert_eq!(StatsDestination::parse("off"), None);
    assert_eq!(StatsDestination::parse("1"), Some(StatsDestination::Stderr));
    assert_eq!(StatsDestination::parse("/tmp/s-%r.json"), Some(StatsDestination::Json("/tmp/s-%r.json".into())));
    assert_eq!(StatsDestination::parse("s.json"), Some(StatsDestination::Json("s.json".into())));
    assert_eq!(StatsDestination::parse("2"), Some(StatsDestination::Invalid("2".into())));
}

#[test]
fn byte_sizes() {
    assert_eq!(parse_bytes("X", "64K").unwrap(), 65536);
    assert_eq!(parse_bytes("X", "2g").unwrap(), 2 << 30);
    assert_eq!(parse_bytes("X", "17").unwrap(), 17);
    assert!(parse_bytes("X", "lots").is_err());
}

#[test]
fn validation_names_the_problem() {
    assert!(base().validate().is_ok());
    let mut c = base();
    c.rank = 5;
    let e = c.validate().unwrap_err();
    assert!(e.message.contains("PARTYLINE_RANK=5") && e.message.contains("SIZE=3"), "{e}");
    let mut c = base();
    c.peers.pop();
    assert!(c.validate().unwrap_err().message.contains("2 entries"));
    let mut c = base();
    c.peers[1] = "nohost".into();
    assert!(c.validate().unwrap_err().message.contains("not host:port"));
    let mut c = base();
    c.size = 65;
    assert!(c.validate().is_err());
    let mut c = base();
    c.link_timeout = Duration::from_millis(500);
    assert!(c.validate().unwrap_err().message.contains("PARTYLINE_LINK_TIMEOUT=0.5 s is below 1 s"));
}

#[test]
fn rendezvous_validation() {
    let mut c = base();
    c.peers.clear();
    c.coordinator = Some("10.0.0.1:7000".into());
    assert!(c.validate().is_ok());
    c.advertise = Some("203.0.113.5:0".into());
    assert!(c.validate().unwrap_err().message.contains("PARTYLINE_ADVERTISE"));
    c.advertise = Some("[2001:db8::1]:7001".into());
    assert!(c.validate().is_ok());
    c.coordinator = Some("10.0.0.1".into());
    assert!(c.validate().unwrap_err().message.contains("PARTYLINE_COORDINATOR=\"10.0.0.1\""));
    let mut c = base();
    c.coordinator = Some("10.0.0.1:7000".into());
    assert!(c.validate().unwrap_err().message.contains("both given"));
}
