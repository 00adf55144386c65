//! Three (or n) "hosts" for multi-host tests: network namespaces on one bridge, each running a real sshd.

use super::{build_dir, ip, namespaces_usable, run, secs, spawn, Running};
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Hosts built by `SshHosts::new`; everything is torn down on drop, even after a panic.
pub struct SshHosts {
    /// The launcher namespace (it also holds the bridge), then one namespace per host.
    launcher_ns: String,
    host_ns: Vec<String>,
    names: Vec<String>,
    addrs: Vec<String>,
    launcher_addr: String,
    /// The `sshd -D` listeners, one per host (`ip netns exec` execs, so these pids are sshd's).
    sshds: Vec<Child>,
    dir: PathBuf,
    config: PathBuf,
    config_unknown: PathBuf,
    bin: PathBuf,
}

/// Gives each SshHosts of this process its own subnet (the namespaces isolate them anyway, but
/// distinct addresses keep captures and messages unambiguous).
static SUBNETS: AtomicU32 = AtomicU32::new(0);

/// Every process in namespace `ns` (none if it is gone).
fn ns_pids(ns: &str) -> Vec<u32> {
    ip(&["netns", "pids", ns]).unwrap_or_default().lines().filter_map(|l| l.trim().parse().ok()).collect()
}

/// SIGKILL everything in `ns` until it is empty (bounded: a process can only resist while it exits).
fn empty_namespace(ns: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pids = ns_pids(ns);
        if pids.is_empty() || Instant::now() > deadline {
            return;
        }
        for p in pids {
            // SAFETY: kill(2) on a process inside a namespace this test created.
            unsafe { libc::kill(p as libc::pid_t, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Namespaces `partyline-PID-...` of test processes that died without cleaning up (SIGKILL,
/// a timeout in the harness): their sshds would run forever otherwise.
fn remove_stale_namespaces() {
    for line in ip(&["netns", "list"]).unwrap_or_default().lines() {
        let ns = line.split_whitespace().next().unwrap_or("");
        let Some(pid) = ns.strip_prefix("partyline-").and_then(|r| r.split('-').next()) else { continue };
        if pid.parse::<u32>().is_ok() && !Path::new(&format!("/proc/{pid}")).exists() {
            empty_namespace(ns);
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

/// `ssh-keygen` an ed25519 key pair at `path`; returns "TYPE BASE64" of the public key.
fn keygen(path: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "partyline-test", "-f"])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run ssh-keygen (`make deps` installs openssh-client): {e}"));
    assert!(out.status.success(), "ssh-keygen for {path:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    let public = read(&path.with_extension("pub"));
    public.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {path:?}: {e}"));
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path:?}: {e}"))
}

impl SshHosts {
    /// Builds everything for test `tag` (unique per test within one test binary), n hosts.
    /// Returns None (printing "skipping ...: reason") only when not root or `ip netns` is
    /// unusable; panics with a clear message on any other setup failure.
    pub fn new(tag: &str, n: usize) -> Option<SshHosts> {
        if !namespaces_usable(&format!("ssh hosts test {tag}")) {
            return None;
        }
        remove_stale_namespaces();
        let pid = std::process::id();
        let launcher_ns = format!("partyline-{pid}-{tag}-l");
        if let Err(e) = ip(&["netns", "add", &launcher_ns]) {
            println!("skipping ssh hosts test {tag}: {e}");
            return None;
        }
        let dir = build_dir().join(format!("sshhosts-{tag}"));
        let subnet = format!("10.78.{}", (pid + SUBNETS.fetch_add(1, Ordering::Relaxed)) % 250);
        // From here on, a panic drops `hosts`, which removes whatever was made so far.
        let mut hosts = SshHosts {
            launcher_ns,
            host_ns: Vec::new(),
            names: (0..n).map(|i| format!("h{i}")).collect(),
            addrs: (0..n).map(|i| format!("{subnet}.{}", i + 1)).collect(),
            launcher_addr: format!("{subnet}.254"),
            sshds: Vec::new(),
            config: dir.join("ssh_config"),
            config_unknown: dir.join("ssh_config_unknown_hosts"),
            bin: dir.join("bin"),
            dir,
        };
        let _ = std::fs::remove_dir_all(&hosts.dir);
        std::fs::create_dir_all(&hosts.bin).unwrap_or_else(|e| panic!("cannot create {:?}: {e}", hosts.bin));
        if let Err(e) = hosts.network(tag) {
            panic!("network namespace setup for {tag} failed: {e}");
        }
        hosts.keys_and_configs();
        for i in 0..n {
            hosts.start_sshd(i);
        }
        for i in 0..n {
            hosts.wait_for_sshd(i);
        }
        Some(hosts)
    }

    /// A bridge br0 in the launcher namespace, which also gets .254 on it, and a veth pair to
    /// each host namespace (host i's end is `eth0` with .(i+1)): all traffic stays inside.
    fn network(&mut self, tag: &str) -> Result<(), String> {
        let l = self.launcher_ns.clone();
        ip(&["-n", &l, "link", "set", "lo", "up"])?;
        ip(&["-n", &l, "link", "add", "br0", "type", "bridge"])?;
        let _ = ip(&["-n", &l, "link", "set", "br0", "type", "bridge", "forward_delay", "0"]);
        ip(&["-n", &l, "addr", "add", &format!("{}/24", self.launcher_addr), "dev", "br0"])?;
        ip(&["-n", &l, "link", "set", "br0", "up"])?;
        for i in 0..self.names.len() {
            let ns = format!("partyline-{}-{tag}-h{i}", std::process::id());
            ip(&["netns", "add", &ns])?;
            self.host_ns.push(ns.clone());
            // Interface names are per namespace, so short fixed ones cannot collide.
            let port = format!("h{i}");
            ip(&["-n", &l, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns])?;
            ip(&["-n", &l, "link", "set", &port, "master", "br0"])?;
            ip(&["-n", &l, "link", "set", &port, "up"])?;
            ip(&["-n", &ns, "addr", "add", &format!("{}/24", self.addrs[i]), "dev", "eth0"])?;
            ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        Ok(())
    }

    /// Host keys, the client key, known_hosts, the two client configs and the `ssh` wrapper.
    fn keys_and_configs(&self) {
        let client_pub = keygen(&self.dir.join("client_key"));
        write(&self.dir.join("authorized_keys"), &format!("{client_pub}\n"));
        write(&self.dir.join("known_hosts_empty"), "");
        let mut known = String::new();
        let (mut hosts, mut hosts_unknown) = (String::new(), String::new());
        for (i, (name, addr)) in self.names.iter().zip(&self.addrs).enumerate() {
            let host_pub = keygen(&self.dir.join(format!("host_key_{i}")));
            // The address too, so `ssh ADDR` (no alias, no HostKeyAlias) is accepted as well.
            known += &format!("{name},{addr} {host_pub}\n");
            let block = format!("Host {name}\n  HostName {addr}\n  HostKeyAlias {name}\n");
            hosts += &block;
            hosts_unknown += &block;
        }
        write(&self.dir.join("known_hosts"), &known);
        // Later values never override earlier ones in ssh_config, so `Host *` comes last. With -F,
        // /etc/ssh/ssh_config and ~/.ssh/config are not read; the rest shuts out ~/.ssh and agents.
        let common = |known_hosts: &str| {
            format!(
                "Host *\n  User root\n  IdentityFile {key}\n  IdentitiesOnly yes\n  IdentityAgent none\n  \
                 UserKnownHostsFile {known_hosts}\n  GlobalKnownHostsFile /dev/null\n  \
                 StrictHostKeyChecking yes\n  CheckHostIP no\n  UpdateHostKeys no\n  BatchMode yes\n  \
                 PasswordAuthentication no\n  KbdInteractiveAuthentication no\n  GSSAPIAuthentication no\n  \
                 ControlMaster no\n  ControlPath none\n  LogLevel ERROR\n  ConnectTimeout 10\n",
                key = self.dir.join("client_key").display(),
            )
        };
        write(&self.config, &(hosts + &common(&self.dir.join("known_hosts").to_string_lossy())));
        write(&self.config_unknown, &(hosts_unknown + &common(&self.dir.join("known_hosts_empty").to_string_lossy())));
        let ssh = self.bin.join("ssh");
        let config = self.config.to_string_lossy().replace('\'', r"'\''");
        write(&ssh, &format!("#!/bin/sh\nexec /usr/bin/ssh -F '{config}' \"$@\"\n"));
        std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("cannot make {ssh:?} executable: {e}"));
    }

    /// `sshd -D -e` in host i's namespace, listening on its address only, logging to a file.
    fn start_sshd(&mut self, i: usize) {
        let sshd = Path::new("/usr/sbin/sshd");
        assert!(sshd.exists(), "{sshd:?} is missing: `make deps` installs openssh-server");
        // sshd refuses to start without its privilege separation directory (the package
        // creates it only when its service starts, which containers often skip).
        std::fs::create_dir_all("/run/sshd").expect("cannot create /run/sshd for sshd");
        let _ = std::fs::set_permissions("/run/sshd", std::fs::Permissions::from_mode(0o755));
        let d = &self.dir;
        let config = d.join(format!("sshd_config_{i}"));
        write(
            &config,
            &format!(
                "ListenAddress {addr}\nPort 22\nHostKey {key}\nAuthorizedKeysFile {auth}\nPidFile {pid}\n\
                 UsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPrintMotd no\nPrintLastLog no\nUseDNS no\nX11Forwarding no\n",
                addr = self.addrs[i],
                key = d.join(format!("host_key_{i}")).display(),
                auth = d.join("authorized_keys").display(),
                pid = d.join(format!("sshd_{i}.pid")).display(),
            ),
        );
        let log = d.join(format!("sshd_{i}.log"));
        let log_file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("cannot create {log:?}: {e}"));
        let child = Command::new("ip")
            .args(["netns", "exec", &self.host_ns[i]])
            .arg(sshd)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start sshd for {} in {}: {e}", self.names[i], self.host_ns[i]));
        self.sshds.push(child);
    }

    /// Polls `ssh hN true` from the launcher namespace until it works; panics with sshd's log if
    /// sshd exits or it never does.
    fn wait_for_sshd(&mut self, i: usize) {
        let log = self.dir.join(format!("sshd_{i}.log"));
        let deadline = Instant::now() + secs(20);
        loop {
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "exec", &self.launcher_ns, "/usr/bin/ssh", "-F"]).arg(&self.config);
            cmd.args([&self.names[i], "true"]);
            let out = run(cmd, format!("ssh {} true", self.names[i]), secs(60));
            if out.status.success() {
                return;
            }
            let exited = self.sshds[i].try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > deadline {
                panic!(
                    "sshd for {} ({}) did not accept ssh (sshd exit: {exited:?}); last attempt: {}\n--- sshd log ---\n{}",
                    self.names[i],
                    self.addrs[i],
                    out.describe(),
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Host names as the ssh config knows them: "h0", "h1", ... (aliases, not resolvable by DNS).
    pub fn names(&self) -> Vec<String> {
        self.names.clone()
    }

    /// The hosts' IP addresses in the test network, in the same order.
    pub fn addrs(&self) -> Vec<String> {
        self.addrs.clone()
    }

    /// The launcher namespace (it also holds the bridge).
    pub fn launcher_ns(&self) -> &str {
        &self.launcher_ns
    }

    /// The launcher namespace's IP on the test network.
    pub fn launcher_addr(&self) -> &str {
        &self.launcher_addr
    }

    /// The namespace of host i.
    pub fn host_ns(&self, i: usize) -> &str {
        &self.host_ns[i]
    }

    /// The test-owned ssh client config (`ssh -F`): Host hN with HostName, HostKeyAlias hN, and
    /// a `Host *` block (User root, the test key only, the test known_hosts only, BatchMode, ...).
    pub fn ssh_config(&self) -> &Path {
        &self.config
    }

    /// A directory holding an executable `ssh` that runs `/usr/bin/ssh -F <ssh_config> "$@"`.
    pub fn ssh_path_dir(&self) -> &Path {
        &self.bin
    }

    /// A PATH value: ssh_path_dir() prepended to the current PATH.
    pub fn path_env(&self) -> OsString {
        let mut dirs = vec![self.bin.clone()];
        dirs.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
        std::env::join_paths(dirs).expect("the test directory and PATH join into a PATH")
    }

    /// Like ssh_config() but with an empty known_hosts: ssh fails with "Host key verification failed.".
    pub fn ssh_config_unknown_hosts(&self) -> &Path {
        &self.config_unknown
    }

    /// `ip netns exec <launcher ns> program` with PATH = path_env() (so a bare "ssh" is the wrapper).
    pub fn in_launcher(&self, program: &Path) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.launcher_ns]).arg(program).env("PATH", self.path_env());
        cmd
    }

    /// Every process in host i's namespace but its sshd listener, with its command line. sshd's
    /// per-connection processes count: they linger a moment after a session ends, so callers
    /// wait (poll) for an empty list rather than expect one at once.
    pub fn leftover_processes(&self, i: usize) -> Vec<(u32, String)> {
        let listener = self.sshds.get(i).map(Child::id);
        ns_pids(&self.host_ns[i])
            .into_iter()
            .filter(|&p| Some(p) != listener)
            // A process that exited since the listing has no command line left: skip it.
            .filter_map(|p| {
                let raw = std::fs::read(format!("/proc/{p}/cmdline")).ok().filter(|c| !c.is_empty())?;
                let parts: Vec<String> = raw
                    .split(|&b| b == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into())
                    .collect();
                Some((p, parts.join(" ")))
            })
            .collect()
    }

    /// Starts tcpdump on the bridge (in the launcher namespace) and returns a guard;
    /// `Capture::stop` returns what crossed. Stop it before dropping the hosts.
    pub fn capture(&self) -> Capture {
        let file = self.dir.join(format!("capture-{}.pcap", SUBNETS.fetch_add(1, Ordering::Relaxed)));
        let mut cmd = Command::new("ip");
        // Frames bridged between two hosts reach br0 only because tcpdump makes it promiscuous
        // (so no -p). -Z root: tcpdump must not drop to a user who cannot write the file.
        // A snapshot of 512 bytes holds a plaintext marker (it repeats every few dozen bytes) and
        // keeps the file small enough to search while bulk traffic runs.
        cmd.args(["netns", "exec", &self.launcher_ns, "tcpdump", "-i", "br0", "-U", "-n", "-s", "512", "-Z", "root"]);
        cmd.args(["-B", "65536", "-w"]).arg(&file);
        let dump = spawn(cmd, format!("tcpdump in {}", self.launcher_ns));
        dump.wait_for_stderr("listening on", secs(20));
        let sentinel = format!("partyline-capture-end-{}", file.display());
        Capture { dump, file, sentinel, ns: self.launcher_ns.clone(), dest: self.addrs[0].clone() }
    }
}

impl Drop for SshHosts {
    fn drop(&mut self) {
        for ns in self.host_ns.iter().chain([&self.launcher_ns]) {
            empty_namespace(ns);
        }
        for sshd in &mut self.sshds {
            let _ = sshd.kill();
            let _ = sshd.wait();
        }
        for ns in self.host_ns.iter().rev().chain([&self.launcher_ns]) {
            let _ = ip(&["netns", "del", ns]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A running packet capture on the test network (see `SshHosts::capture`).
pub struct Capture {
    dump: Running,
    file: PathBuf,
    /// Sent as the last packet; once it is in the file, everything sent before it is too.
    sentinel: String,
    ns: String,
    dest: String,
}

impl Capture {
    /// Stops tcpdump (SIGINT, after everything sent so far has been written) and returns the raw capture.
    pub fn stop(self) -> Vec<u8> {
        // A UDP datagram from the launcher to host 0 (its port 9 is closed: nothing answers).
        let script = format!("printf %s '{}' >/dev/udp/{}/9", self.sentinel, self.dest);
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns, "bash", "-c", &script]);
        run(cmd, "send the capture's end marker", secs(30));
        let deadline = Instant::now() + secs(10);
        let seen = |bytes: &[u8]| bytes.windows(self.sentinel.len()).any(|w| w == self.sentinel.as_bytes());
        while Instant::now() < deadline && !seen(&std::fs::read(&self.file).unwrap_or_default()) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let pid = self.dump.pid().expect("tcpdump is running");
        // SAFETY: kill(2) on the tcpdump this capture started; SIGINT makes it flush and exit.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGINT) };
        // `wait` counts from tcpdump's start, which may be long ago.
        let limit = self.dump.started().elapsed() + secs(20);
        self.dump.wait(limit);
        let bytes = std::fs::read(&self.file).unwrap_or_else(|e| panic!("cannot read capture {:?}: {e}", self.file));
        let _ = std::fs::remove_file(&self.file);
        bytes
    }
}
