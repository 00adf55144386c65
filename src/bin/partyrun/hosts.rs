//! Where the ranks run: host lists and host files in the forms mpirun users type, and the placement of ranks into their slots.

use std::net::IpAddr;

/// One host and how many ranks it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    pub name: String,
    pub slots: usize,
}

/// `a,b:2,c` (Open MPI's `--host`; `a:2` gives `a` two slots).
pub fn parse_list(list: &str) -> Result<Vec<Host>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|entry| host_with_slots(entry).map_err(|why| format!("--host {list:?}: {why}")))
        .collect()
}

/// A host file: one host per line, `host`, `host:N`, `host slots=N` (Open MPI) or `host:N` (Hydra),
/// `#` starts a comment. Open MPI's `max_slots=N` is accepted and ignored.
pub fn parse_file(text: &str, origin: &str) -> Result<Vec<Host>, String> {
    let mut hosts = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let at = |why: String| format!("{origin} line {}: {why}", number + 1);
        let mut words = line.split_whitespace();
        let mut host = host_with_slots(words.next().unwrap_or_default()).map_err(at)?;
        for word in words {
            match word.split_once('=') {
                Some(("slots", n)) => host.slots = slot_count(n).map_err(at)?,
                Some(("max_slots" | "max-slots", _)) => {}
                _ => return Err(at(format!("{word:?} is not understood; write `host`, `host:N` or `host slots=N`"))),
            }
        }
        hosts.push(host);
    }
    if hosts.is_empty() {
        return Err(format!("{origin} names no host"));
    }
    Ok(hosts)
}

fn host_with_slots(entry: &str) -> Result<Host, String> {
    // An IPv6 literal holds colons of its own: only `[::1]:2` carries slots.
    let (name, slots) = match entry.rsplit_once(':') {
        Some((name, n)) if !name.contains(':') || name.ends_with(']') => (name, Some(n)),
        _ => (entry, None),
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    if name.is_empty() {
        return Err(format!("{entry:?} has no host name"));
    }
    let slots = slots.map(slot_count).transpose()?.unwrap_or(1);
    Ok(Host { name: name.to_string(), slots })
}

fn slot_count(n: &str) -> Result<usize, String> {
    match n.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{n:?} is not a slot count (1 or more)")),
    }
}

/// The host of every rank, in rank order: ranks fill each host's slots in the order the hosts
/// were given. A host named twice adds its slots. `ranks` defaults to the number of slots;
/// more ranks than slots need `oversubscribe`, and then go round the hosts again.
pub fn place(hosts: &[Host], ranks: Option<usize>, oversubscribe: bool) -> Result<Vec<String>, String> {
    let mut merged: Vec<Host> = Vec::new();
    for h in hosts {
        match merged.iter_mut().find(|m| m.name == h.name) {
            Some(m) => m.slots += h.slots,
            None => merged.push(h.clone()),
        }
    }
    let slots: usize = merged.iter().map(|h| h.slots).sum();
    let ranks = ranks.unwrap_or(slots.min(crate::args::MAX_RANKS));
    if ranks > slots && !oversubscribe {
        let offered = merged.iter().map(|h| format!("{} {}", h.name, h.slots)).collect::<Vec<_>>().join(", ");
        return Err(format!(
            "{ranks} ranks asked for, but the hosts offer {slots} slot{} ({offered}); give hosts more slots \
             (--host NAME:N, or slots=N in the host file) or pass --oversubscribe",
            if slots == 1 { "" } else { "s" }
        ));
    }
    let order: Vec<&str> = merged.iter().flat_map(|h| std::iter::repeat_n(h.name.as_str(), h.slots)).collect();
    Ok((0..ranks).map(|r| order[r % order.len()].to_string()).collect())
}

/// True when `host` is this machine: `localhost`, a loopback address, our own host name, or an
/// address of one of our interfaces. Nothing is looked up in DNS, which could hang.
pub fn is_local(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    if host.eq_ignore_ascii_case("localhost") || host.eq_ignore_ascii_case("localhost.localdomain") {
        return true;
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return ip.is_loopback() || interface_addresses().contains(&ip);
    }
    own_hostname().is_some_and(|own| {
        let short = own.split('.').next().unwrap_or(&own).to_string();
        host.eq_ignore_ascii_case(&own) || host.eq_ignore_ascii_case(&short)
    })
}

pub fn own_hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8(buf[..end].to_vec()).ok().filter(|h| !h.is_empty())
}

/// Every address of this machine's interfaces, with the interface's name.
pub fn interfaces() -> Vec<(String, IpAddr)> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs allocates the list and stores its head in `list`, freed below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut cur = list;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, not yet freed.
        let ifa = unsafe { &*cur };
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) }.to_string_lossy().into_owned();
        if let Some(ip) = sockaddr_ip(ifa.ifa_addr) {
            out.push((name, ip));
        }
        cur = ifa.ifa_next;
    }
    // SAFETY: `list` came from getifaddrs and is freed once, after its last use.
    unsafe { libc::freeifaddrs(list) };
    out
}

fn interface_addresses() -> Vec<IpAddr> {
    interfaces().into_iter().map(|(_, ip)| ip).collect()
}

fn sockaddr_ip(addr: *const libc::sockaddr) -> Option<IpAddr> {
    if addr.is_null() {
        return None;
    }
    // SAFETY: a non-null ifa_addr points at a sockaddr whose family says how long it is.
    unsafe {
        match i32::from((*addr).sa_family) {
            libc::AF_INET => {
                let v4 = &*addr.cast::<libc::sockaddr_in>();
                Some(IpAddr::from(u32::from_be(v4.sin_addr.s_addr).to_be_bytes()))
            }
            libc::AF_INET6 => Some(IpAddr::from((*addr.cast::<libc::sockaddr_in6>()).sin6_addr.s6_addr)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(name: &str, slots: usize) -> Host {
        Host { name: name.into(), slots }
    }

    #[test]
    fn lists_and_files() {
        assert_eq!(
            parse_list("a, b:2,,[::1]:3,fe80::1").unwrap(),
            [h("a", 1), h("b", 2), h("::1", 3), h("fe80::1", 1)]
        );
        assert!(parse_list("a:0").unwrap_err().contains("slot count"));
        let file = "# hosts\nm1 slots=2 max_slots=4\nm2:3   # comment\n\n m3\n";
        assert_eq!(parse_file(file, "hf").unwrap(), [h("m1", 2), h("m2", 3), h("m3", 1)]);
        assert!(parse_file("m1 cpus=2\n", "hf").unwrap_err().contains("hf line 1"));
        assert!(parse_file("# nothing\n", "hf").unwrap_err().contains("names no host"));
    }

    #[test]
    fn placement_fills_slots_in_order() {
        let hosts = [h("a", 2), h("b", 1), h("a", 1)];
        assert_eq!(place(&hosts, None, false).unwrap(), ["a", "a", "a", "b"]);
        assert_eq!(place(&hosts, Some(2), false).unwrap(), ["a", "a"]);
        let e = place(&hosts, Some(5), false).unwrap_err();
        assert!(e.contains("5 ranks") && e.contains("4 slots") && e.contains("--oversubscribe"), "{e}");
        assert_eq!(place(&[h("a", 1), h("b", 1)], Some(3), true).unwrap(), ["a", "b", "a"]);
    }

    #[test]
    fn local_names() {
        assert!(is_local("localhost") && is_local("127.0.0.5") && is_local("::1"));
        assert!(!is_local("192.0.2.1") && !is_local("h0"));
        if let Some(own) = own_hostname() {
            assert!(is_local(&own));
        }
    }
}
