#!/usr/bin/env python3
"""launch.py: job start-to-end time and rank stdout throughput of partyrun (3 SSH hosts, local) vs Open MPI and a baseline.

Builds three "hosts" itself, as tests/common/sshhosts.rs does: network namespaces on one bridge
(the bridge and the launcher at .254 live in a launcher namespace), each host running a real
sshd with generated host keys, and a client key and ssh config (HostKeyAlias, known_hosts,
BatchMode, IdentitiesOnly, ...) owned by this run. The filesystem is shared, so every host sees
the same partyrun, orted and programs. Everything is removed on exit, Ctrl-C and errors included.

Measured, in one invocation, implementations alternating within each round (who goes first
rotates), medians of --runs rounds:
  1. `hello` (MPI_Init, MPI_Barrier, print rank, MPI_Finalize) over h0,h1,h2: partyrun with TLS
     (the default), partyrun --insecure, Open MPI's mpirun over ssh;
  2. the same locally, 3 ranks: partyrun, the baseline build's partyrun, Open MPI;
  3. stdout throughput through the launcher, locally: one rank writing 256 MiB, and 3 ranks
     writing 64 MiB each, partyrun's stdout to /dev/null and to a file;
  4. stdout throughput from one rank on h0 writing 64 MiB through the SSH session.

Usage: bench/launch.py [--runs N] [--timeout S] [--baseline DIR] [--out FILE] [--build]
Needs root (namespaces), openssh-server/client, iproute2, Open MPI (/usr/bin/mpicc, mpirun),
a release build of this tree (target/release, or --build to run `cargo build --release`) and
of the baseline (DIR holds its partyrun and mpicc; default ../base/target/release, e.g. `git worktree add ../base REV`).
"""
import argparse
import ctypes
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OMPI_BIN = os.environ.get("OMPI_BIN", "/usr/bin")
CLONE_NEWNET = 0x40000000
MIB = 1 << 20

HELLO_C = r"""
#include <mpi.h>
#include <stdio.h>
int main(int argc, char **argv) {
    int rank;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Barrier(MPI_COMM_WORLD);
    printf("hello from rank %d\n", rank);
    MPI_Finalize();
    return 0;
}
"""


# The kernel's own pseudo-terminal cost, with no launcher logic: one writer on a raw pty, this
# loop copying the master side to stdout (64 KiB reads, as many as the pty gives at once).
PTY_COPY = r"""
import os, subprocess, sys, tty
master, slave = os.openpty()
tty.setraw(slave)
p = subprocess.Popen(["sh", "-c", "head -c %s /dev/zero" % sys.argv[1]], stdin=subprocess.DEVNULL, stdout=slave)
os.close(slave)
while True:
    try:
        data = os.read(master, 1 << 16)
    except OSError:  # EIO: the writer closed its side
        break
    if not data:
        break
    while data:
        data = data[os.write(1, data):]
sys.exit(p.wait())
"""


class Failure(Exception):
    """A setup step or a measured run failed; the message says which command and what it printed."""


def check(cmd, what=None, timeout=60, **kw):
    """Run a setup command; raise Failure with its output if it fails."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise Failure(f"{what or shlex.join(cmd)}: timed out after {timeout} s")
    except OSError as e:
        raise Failure(f"{what or shlex.join(cmd)}: cannot run: {e}")
    if p.returncode != 0:
        raise Failure(f"{what or shlex.join(cmd)} failed (status {p.returncode}):\n{p.stdout.strip()}")
    return p.stdout


def ip(*args):
    return check(["ip", *args])


def ns_pids(ns):
    p = subprocess.run(["ip", "netns", "pids", ns], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return [int(x) for x in p.stdout.split()] if p.returncode == 0 else []


def empty_namespace(ns):
    """SIGKILL everything in ns until it is empty (bounded: a process only resists while it exits)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pids = ns_pids(ns)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)


def remove_stale_namespaces():
    """Namespaces of earlier runs of this script that were SIGKILLed: their sshds would run forever."""
    out = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():
        ns = line.split()[0] if line.split() else ""
        if not ns.startswith("partyline-bench-"):
            continue
        pid = ns.split("-")[2]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            empty_namespace(ns)
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


_libc = ctypes.CDLL(None, use_errno=True)


def enter_netns(ns):
    """A preexec_fn that moves the child into namespace ns before exec (so `ip netns exec`'s own
    start-up is not part of the measured time); also a new session, so a timeout kills the tree."""
    path = f"/run/netns/{ns}"

    def enter():
        os.setsid()
        fd = os.open(path, os.O_RDONLY)
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            os._exit(126)
        os.close(fd)

    return enter


class Hosts:
    """Three hosts h0..h2 in namespaces with sshd, and the launcher namespace holding the bridge."""

    def __init__(self, work, n=3):
        self.pid = os.getpid()
        self.dir = os.path.join(work, "ssh")
        os.makedirs(self.dir)
        # 10.79.x: the tests use 10.78.x, so a test run at the same time cannot collide.
        self.subnet = f"10.79.{self.pid % 250}"
        self.cidr = f"{self.subnet}.0/24"
        self.launcher_ns = f"partyline-bench-{self.pid}-l"
        self.host_ns = []
        self.names = [f"h{i}" for i in range(n)]
        self.addrs = [f"{self.subnet}.{i + 1}" for i in range(n)]
        self.launcher_addr = f"{self.subnet}.254"
        self.config = os.path.join(self.dir, "ssh_config")
        self.sshds = []

    def start(self):
        remove_stale_namespaces()
        l = self.launcher_ns
        ip("netns", "add", l)
        ip("-n", l, "link", "set", "lo", "up")
        ip("-n", l, "link", "add", "br0", "type", "bridge")
        subprocess.run(["ip", "-n", l, "link", "set", "br0", "type", "bridge", "forward_delay", "0"],
                       stderr=subprocess.DEVNULL)
        ip("-n", l, "addr", "add", f"{self.launcher_addr}/24", "dev", "br0")
        ip("-n", l, "link", "set", "br0", "up")
        for i, addr in enumerate(self.addrs):
            ns = f"partyline-bench-{self.pid}-h{i}"
            ip("netns", "add", ns)
            self.host_ns.append(ns)
            # Interface names are per namespace, so short fixed ones cannot collide.
            ip("-n", l, "link", "add", f"h{i}", "type", "veth", "peer", "name", "eth0", "netns", ns)
            ip("-n", l, "link", "set", f"h{i}", "master", "br0")
            ip("-n", l, "link", "set", f"h{i}", "up")
            ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")
        self.keys_and_config()
        # sshd refuses to start without its privilege separation directory (the package makes it
        # only when its service starts, which containers skip).
        os.makedirs("/run/sshd", exist_ok=True)
        os.chmod("/run/sshd", 0o755)
        for i in range(len(self.names)):
            self.start_sshd(i)
        for i in range(len(self.names)):
            self.wait_for_sshd(i)

    def keygen(self, path):
        check(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "partyline-bench", "-f", path],
              "ssh-keygen (apt-get install openssh-client)")
        with open(path + ".pub") as f:
            return " ".join(f.read().split()[:2])

    def keys_and_config(self):
        d = self.dir
        with open(os.path.join(d, "authorized_keys"), "w") as f:
            f.write(self.keygen(os.path.join(d, "client_key")) + "\n")
        known, hosts = "", ""
        for i, (name, addr) in enumerate(zip(self.names, self.addrs)):
            known += f"{name},{addr} {self.keygen(os.path.join(d, f'host_key_{i}'))}\n"
            hosts += f"Host {name}\n  HostName {addr}\n  HostKeyAlias {name}\n"
        with open(os.path.join(d, "known_hosts"), "w") as f:
            f.write(known)
        # Later values never override earlier ones in ssh_config, so `Host *` comes last. With -F,
        # /etc/ssh/ssh_config and ~/.ssh/config are not read; the rest shuts out ~/.ssh and agents.
        # No ControlMaster: every launch pays for its own SSH handshakes, as a real job does.
        common = (
            f"Host *\n  User root\n  IdentityFile {d}/client_key\n  IdentitiesOnly yes\n  IdentityAgent none\n"
            f"  UserKnownHostsFile {d}/known_hosts\n  GlobalKnownHostsFile /dev/null\n"
            "  StrictHostKeyChecking yes\n  CheckHostIP no\n  UpdateHostKeys no\n  BatchMode yes\n"
            "  PasswordAuthentication no\n  KbdInteractiveAuthentication no\n  GSSAPIAuthentication no\n"
            "  ControlMaster no\n  ControlPath none\n  LogLevel ERROR\n  ConnectTimeout 10\n")
        with open(self.config, "w") as f:
            f.write(hosts + common)

    def start_sshd(self, i):
        if not os.path.exists("/usr/sbin/sshd"):
            raise Failure("/usr/sbin/sshd is missing: apt-get install openssh-server")
        d = self.dir
        conf = os.path.join(d, f"sshd_config_{i}")
        with open(conf, "w") as f:
            f.write(f"ListenAddress {self.addrs[i]}\nPort 22\nHostKey {d}/host_key_{i}\n"
                    f"AuthorizedKeysFile {d}/authorized_keys\nPidFile {d}/sshd_{i}.pid\n"
                    "UsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nPrintMotd no\nPrintLastLog no\nUseDNS no\nX11Forwarding no\n")
        log = open(os.path.join(d, f"sshd_{i}.log"), "w")
        self.sshds.append(subprocess.Popen(["ip", "netns", "exec", self.host_ns[i], "/usr/sbin/sshd", "-D", "-e",
                                            "-f", conf], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                           stderr=log))
        log.close()

    def wait_for_sshd(self, i):
        deadline = time.monotonic() + 20
        while True:
            p = subprocess.run(["/usr/bin/ssh", "-F", self.config, self.names[i], "true"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=60,
                               preexec_fn=enter_netns(self.launcher_ns))
            if p.returncode == 0:
                return
            exited = self.sshds[i].poll()
            if exited is not None or time.monotonic() > deadline:
                with open(os.path.join(self.dir, f"sshd_{i}.log")) as f:
                    log = f.read()
                raise Failure(f"sshd for {self.names[i]} ({self.addrs[i]}) did not accept ssh (sshd exit: {exited}); "
                              f"last attempt: {p.stdout.strip()}\n--- sshd log ---\n{log}")
            time.sleep(0.05)

    def close(self):
        for ns in self.host_ns + [self.launcher_ns]:
            empty_namespace(ns)
        for p in self.sshds:
            p.kill()
            p.wait()
        for ns in list(reversed(self.host_ns)) + [self.launcher_ns]:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


class Timer:
    """Runs one measured command: bounded by the timeout, stdout where asked, fails loudly."""

    def __init__(self, timeout, env, cwd):
        self.timeout, self.env, self.cwd = timeout, env, cwd

    def run(self, cmd, ns=None, stdout=None, expect=None, env=None):
        """Wall time in seconds of cmd, from spawn to exit. stdout: None (captured and checked
        against expect, a list of lines that must all appear) or a path to write it to."""
        out = open(stdout, "wb") if stdout else subprocess.PIPE
        err = tempfile.TemporaryFile()
        pre = enter_netns(ns) if ns else os.setsid
        start = time.monotonic()
        try:
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=self.cwd,
                                 env=env or self.env, preexec_fn=pre)
        finally:
            if stdout:
                out.close()
        try:
            captured, _ = p.communicate(timeout=self.timeout)
            elapsed = time.monotonic() - start
        except subprocess.TimeoutExpired:
            # The launcher's whole session: mpirun/partyrun and whatever they started here.
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            elapsed = None
        except BaseException:
            # Ctrl-C or SIGTERM: the child is in its own session, so it got no signal; end it too.
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            raise
        err.seek(0)
        errors = err.read().decode(errors="replace")
        captured = (captured or b"").decode(errors="replace")
        problem = None
        if elapsed is None:
            problem = f"timed out after {self.timeout} s"
        elif p.returncode != 0:
            problem = f"exited with status {p.returncode}"
        elif expect and not all(line in captured.splitlines() for line in expect):
            problem = "did not print every expected line " + repr(expect)
        if problem:
            where = f" (in namespace {ns})" if ns else ""
            raise Failure(f"`{shlex.join(cmd)}`{where} {problem}\n--- stdout ---\n{captured[-3000:]}"
                          f"\n--- stderr ---\n{errors[-3000:]}")
        return elapsed


def fmt(x):
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.3f}" if x < 1 else f"{x:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="rounds; medians over them (default 7)")
    ap.add_argument("--timeout", type=float, default=120, help="seconds any one run may take (default 120)")
    ap.add_argument("--baseline", default=os.path.join(os.path.dirname(ROOT), "base", "target", "release"),
                    help="release directory of the baseline build (its partyrun and mpicc)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "issue14-launch.md"))
    ap.add_argument("--build", action="store_true", help="run `cargo build --release` here first")
    ap.add_argument("--no-ompi", action="store_true", help="leave Open MPI out")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("launch.py needs root: it makes network namespaces and runs sshd")
    release = os.path.join(ROOT, "target", "release")
    if args.build:
        subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)
    base = os.path.abspath(args.baseline)
    for d, what in [(release, "this build (cargo build --release, or --build)"),
                    (base, "the baseline (--baseline DIR; cargo build --release in its tree)")]:
        for f in ("partyrun", "mpicc"):
            if not os.access(os.path.join(d, f), os.X_OK):
                sys.exit(f"{os.path.join(d, f)} is missing: build {what}")
    use_ompi = not args.no_ompi
    if use_ompi and not all(os.access(os.path.join(OMPI_BIN, f), os.X_OK) for f in ("mpicc", "mpirun", "orted")):
        sys.exit(f"Open MPI's mpicc, mpirun or orted is missing from {OMPI_BIN} (apt-get install openmpi-bin "
                 "libopenmpi-dev), or pass --no-ompi")
    # Ctrl-C raises KeyboardInterrupt; SIGTERM and SIGHUP are made to unwind the same way, through
    # the finally below that removes the namespaces, the sshds and the work directory.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("launch.py: terminated"))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit("launch.py: hung up"))
    # Even when started with SIGINT ignored (a background job of a script), Ctrl-C must clean up.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # Work directory on the shared filesystem: the ranks on every host run the programs from here.
    work = tempfile.mkdtemp(prefix=f"partyline-bench-{os.getpid()}-")
    hosts = Hosts(work)
    try:
        measure(args, release, base, use_ompi, work, hosts)
    except Failure as e:
        sys.exit(f"launch.py: {e}")
    except KeyboardInterrupt:
        sys.exit("launch.py: interrupted; namespaces, sshds and the work directory removed")
    finally:
        hosts.close()
        shutil.rmtree(work, ignore_errors=True)


def compile_programs(work, release, base, use_ompi, env):
    """hello built three times, each partyline build's program checked to load its own library
    (both libraries have the same SONAME; the wrappers set a RUNPATH, and LD_LIBRARY_PATH is unset)."""
    src = os.path.join(work, "hello.c")
    with open(src, "w") as f:
        f.write(HELLO_C)
    progs = {}
    builds = [("new", os.path.join(release, "mpicc")), ("base", os.path.join(base, "mpicc"))]
    if use_ompi:
        builds.append(("ompi", os.path.join(OMPI_BIN, "mpicc")))
    for tag, cc in builds:
        progs[tag] = os.path.join(work, f"hello_{tag}")
        check([cc, "-O2", "-Wall", "-Wextra", "-Werror", "-o", progs[tag], src], env=env)
    for tag, d in (("new", release), ("base", base)):
        libs = check(["ldd", progs[tag]], env=env)
        if os.path.join(d, "libmpi_abi.so.1") not in libs:
            raise Failure(f"{progs[tag]} does not load {d}/libmpi_abi.so.1:\n{libs}")
    return progs


def snapshot(build, dest):
    """Copy a build's launcher, wrapper and libraries to dest and return dest: a rebuild of the tree
    during the run (someone else working there) cannot then mix two builds in one table. mpicc
    finds its library next to itself and sets the programs' RUNPATH there."""
    os.makedirs(dest)
    for f in ("partyrun", "mpicc", "libmpi_abi.so.1", "libpartyline.so"):
        if os.path.exists(os.path.join(build, f)):
            shutil.copy2(os.path.join(build, f), os.path.join(dest, f))
    # A copy taken while the linker was still writing would fail here rather than mid-run.
    check([os.path.join(dest, "partyrun"), "--version"])
    return dest


def git_rev(tree):
    p = subprocess.run(["git", "-C", tree, "describe", "--always", "--dirty", "--abbrev=7"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return p.stdout.strip() or "unknown"


def first_line(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return (p.stdout.strip().splitlines() or ["unknown"])[0]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def measure(args, release, base, use_ompi, work, hosts):
    began = time.monotonic()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    # The ranks must not inherit settings from whoever runs this (a PARTYLINE_INSECURE, an
    # LD_LIBRARY_PATH that would send both builds' programs to one library).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PARTYLINE_", "OMPI_", "PMIX_")) and k != "LD_LIBRARY_PATH"}
    built = os.stat(os.path.join(release, "partyrun")).st_mtime
    release_dir, base_dir = release, base
    # The tree's state when its build is copied (it may move on while this runs).
    rev, base_rev = git_rev(ROOT), git_rev(os.path.dirname(os.path.dirname(base_dir)))
    release = snapshot(release_dir, os.path.join(work, "new"))
    base = snapshot(base_dir, os.path.join(work, "base"))
    progs = compile_programs(work, release, base, use_ompi, env)
    print(f"starting three hosts (namespaces partyline-bench-{os.getpid()}-*, sshd each) ...", flush=True)
    hosts.start()
    lns, cidr = hosts.launcher_ns, hosts.cidr
    agent = f"/usr/bin/ssh -F {hosts.config}"
    new_run, base_run = os.path.join(release, "partyrun"), os.path.join(base, "partyrun")
    mpirun = os.path.join(OMPI_BIN, "mpirun")
    ompi_local = [mpirun, "--oversubscribe", "--allow-run-as-root", "--mca", "btl", "tcp,self",
                  "--mca", "btl_tcp_if_include", "lo"]
    # plm_rsh_no_tree_spawn: every orted is started by mpirun's own ssh, as partyrun starts its agents.
    ompi_remote = [mpirun, "--allow-run-as-root", "--mca", "plm_rsh_agent", agent, "--mca", "plm_rsh_no_tree_spawn",
                   "1", "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", cidr,
                   "--mca", "oob_tcp_if_include", cidr]
    hosts3 = ",".join(hosts.names)
    hello = [f"hello from rank {r}" for r in range(3)]
    outfile = os.path.join(work, "stdout.bin")

    def writer(nbytes):
        return ["sh", "-c", f"head -c {nbytes} /dev/zero"]

    # Each group: its title, unit, bytes moved (for MB/s; None: a time), its implementations
    # as (label, command, namespace, stdout file or None, expected lines), and the ratios to report.
    groups = []
    remote = [("partyrun (TLS)", [new_run, "--host", hosts3, "-n", "3", "--launch-agent", agent, progs["new"]]),
              ("partyrun --insecure", [new_run, "--host", hosts3, "-n", "3", "--launch-agent", agent, "--insecure",
                                       progs["new"]])]
    if use_ompi:
        remote.append(("Open MPI", ompi_remote + ["--host", hosts3, "-np", "3", progs["ompi"]]))
    # The floor of any ssh launcher: three logins at once, each running the program's path alone
    # (it fails without a launcher, so `true` instead): what is left above it is the launcher's own.
    logins = "; ".join(f"{agent} {h} true & p{i}=$!" for i, h in enumerate(hosts.names))
    waits = " && ".join(f"wait $p{i}" for i in range(len(hosts.names)))
    floor = ("3 ssh logins alone", ["sh", "-c", f"{logins}; {waits}"])
    groups.append(dict(title="hello, 3 ranks on h0,h1,h2 over ssh", unit="s", nbytes=None,
                       impls=[(lbl, cmd, lns, None, hello) for lbl, cmd in remote]
                       + [(floor[0], floor[1], lns, None, None)],
                       ratios=[("partyrun (TLS)", "Open MPI"), ("partyrun --insecure", "Open MPI"),
                               ("partyrun (TLS)", "partyrun --insecure"), ("partyrun (TLS)", "3 ssh logins alone")]))
    local = [("partyrun", [new_run, "-n", "3", progs["new"]]), ("baseline partyrun", [base_run, "-n", "3", progs["base"]])]
    if use_ompi:
        local.append(("Open MPI", ompi_local + ["-np", "3", progs["ompi"]]))
    groups.append(dict(title="hello, 3 ranks locally", unit="s", nbytes=None,
                       impls=[(lbl, cmd, None, None, hello) for lbl, cmd in local],
                       ratios=[("partyrun", "baseline partyrun"), ("partyrun", "Open MPI"),
                               ("baseline partyrun", "Open MPI")]))
    for ranks, each in ((1, 256 * MIB), (3, 64 * MIB)):
        for dest, path in (("/dev/null", os.devnull), ("a file", outfile)):
            impls = [("no launcher", writer(each * ranks), None, path, None),
                     ("partyrun", [new_run, "-n", str(ranks)] + writer(each), None, path, None),
                     ("baseline partyrun", [base_run, "-n", str(ranks)] + writer(each), None, path, None)]
            if use_ompi:
                impls.append(("Open MPI", ompi_local + ["-np", str(ranks)] + writer(each), None, path, None))
            ratios = [("partyrun", "baseline partyrun"), ("partyrun", "Open MPI"), ("partyrun", "no launcher")]
            if ranks == 1:
                # What a pty costs by itself: is partyrun's copy loop the limit, or the kernel's pty?
                impls.append(("bare pty copy", [sys.executable, "-c", PTY_COPY, str(each)], None, path, None))
                ratios.append(("partyrun", "bare pty copy"))
            groups.append(dict(title=f"stdout, {ranks} rank{'s' if ranks > 1 else ''} x {each // MIB} MiB locally "
                                     f"to {dest}", unit="MB/s", nbytes=each * ranks, impls=impls, ratios=ratios))
    impls = [("partyrun (TLS)", [new_run, "--host", "h0", "-n", "1", "--launch-agent", agent] + writer(64 * MIB),
              lns, os.devnull, None)]
    if use_ompi:
        impls.append(("Open MPI", ompi_remote + ["--host", "h0", "-np", "1"] + writer(64 * MIB), lns, os.devnull, None))
    # What the SSH session itself carries: the same writer run by ssh directly (no pty, no agent).
    impls.append(("ssh alone", agent.split() + ["h0", f"head -c {64 * MIB} /dev/zero"], lns, os.devnull, None))
    groups.append(dict(title="stdout, 1 rank x 64 MiB on h0 over ssh to /dev/null", unit="MB/s", nbytes=64 * MIB,
                       impls=impls, ratios=[("partyrun (TLS)", "Open MPI"), ("partyrun (TLS)", "ssh alone")]))

    timer = Timer(args.timeout, env, work)
    samples = {(g["title"], impl[0]): [] for g in groups for impl in g["impls"]}
    loads = []
    # Round 0 is a warm-up, not counted: page cache, first ssh logins, and any failure shows at once.
    for rnd in range(args.runs + 1):
        loads.append(os.getloadavg()[0])
        label = "warm-up" if rnd == 0 else f"round {rnd}/{args.runs}"
        print(f"{label} (load {loads[-1]:.2f}) ...", flush=True)
        for g in groups:
            impls = g["impls"]
            # Who goes first rotates round by round.
            k = rnd % len(impls)
            for lbl, cmd, ns, stdout, expect in impls[k:] + impls[:k]:
                secs = timer.run(cmd, ns=ns, stdout=stdout, expect=expect)
                if stdout == outfile:
                    size = os.path.getsize(outfile)
                    os.remove(outfile)
                    if size != g["nbytes"]:
                        raise Failure(f"`{shlex.join(cmd)}` wrote {size} bytes to its stdout file, not {g['nbytes']}")
                if rnd > 0:
                    samples[(g["title"], lbl)].append(g["nbytes"] / secs / 1e6 if g["nbytes"] else secs)
    elapsed = time.monotonic() - began

    med = {k: statistics.median(v) for k, v in samples.items()}
    rows = ["| measurement | implementation | median | unit | min | max |", "| --- | --- | ---: | --- | ---: | ---: |"]
    ratio_rows = ["| measurement | ratio | value |", "| --- | --- | ---: |"]
    for g in groups:
        for lbl, *_ in g["impls"]:
            v = samples[(g["title"], lbl)]
            rows.append(f"| {g['title']} | {lbl} | {fmt(med[(g['title'], lbl)])} | {g['unit']} | {fmt(min(v))} | "
                        f"{fmt(max(v))} |")
        for a, b in g["ratios"]:
            if (g["title"], a) in med and (g["title"], b) in med:
                what = "time" if g["unit"] == "s" else "throughput"
                ratio_rows.append(f"| {g['title']} | {what} {a} / {b} | "
                                  f"{med[(g['title'], a)] / med[(g['title'], b)]:.3f} |")
    ompi = first_line([mpirun, "--version"]) if use_ompi else "not run"
    header = [
        "<!-- header and tables written by bench/launch.py; notes after the tables, if any, added by hand -->",
        f"Run {when} on {os.cpu_count()} CPUs (nproc), {cpu_model()}, Linux {platform.release()}; "
        f"partyline {rev} ({release_dir}, partyrun built "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(built))}, copied at the start); "
        f"baseline {base_rev} ({base_dir}); {ompi}; "
        f"{first_line(['ssh', '-V'])}.",
        f"Reproduce (root): `bench/launch.py --runs {args.runs} --baseline {base_dir}` "
        f"(this run took {elapsed / 60:.1f} min).",
        "",
        f"Medians of {args.runs} rounds after one warm-up round, every implementation of a row group run once per "
        "round, who goes first rotating. Times are wall time from spawning the launcher to its exit, "
        "launcher start-up and teardown included. The hosts are network namespaces on one bridge, each "
        "with its own sshd, on the same 2-core machine; remote launches run from the launcher namespace "
        f"with `--launch-agent \"/usr/bin/ssh -F CONFIG\"` (Open MPI: `--mca plm_rsh_agent` with the same "
        f"command, `--mca plm_rsh_no_tree_spawn 1`, TCP BTL and OOB on {cidr}). No SSH connection sharing: "
        "every launch pays for its own SSH logins. Throughput is bytes written by the ranks (MB = 10^6 bytes) "
        "over the same wall time; \"no launcher\" is the writer alone (`sh -c 'head -c N /dev/zero'`) "
        "with its stdout to the same place; \"bare pty copy\" is the writer on a raw pseudo-terminal whose "
        "master side a Python loop copies to stdout (64 KiB reads): the kernel's pty cost without partyrun; "
        "\"3 ssh logins alone\" is `ssh hN true` to the three hosts at once and \"ssh alone\" the writer run "
        "by `ssh h0` directly: the SSH floor under any ssh launcher.",
        f"Load average (1 min) before each round: {min(loads):.2f} to {max(loads):.2f}, "
        f"median {statistics.median(loads):.2f}.",
        "",
    ]
    text = "\n".join(header + rows + ["", "Ratios of medians (time: <1 means the first is faster; throughput: "
                                          ">1 means the first is faster):", ""] + ratio_rows) + "\n"
    print()
    print(text)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
