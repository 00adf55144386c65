#!/usr/bin/env python3
"""wan.py: runs partybench (partyline plaintext and TLS, Open MPI) and the raw-TCP floor across an emulated WAN.

Each of 3 parties gets its own network namespace; bench/wan/forwarder.c joins them with directed links of a given
one-way delay, rate, drop-tail queue and loss. Before each profile the emulator is checked (ping RTT, one TCP
flow's throughput); then, run by run, the implementations alternate on every workload (which goes first rotates),
and bench/results/wan-latest.md gets the medians and each as a fraction of the floor (payload at line rate plus
one-way delay). Needs root (namespaces, TUN).

Usage: bench/wan.py [--profiles LIST] [--runs N] [--quick] [--impls LIST] [--workloads LIST] [--timeout SECS] [--untuned] [--congestion NAME]
       [--mtu N] [--baseline DIR]
"""
import argparse
import datetime
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import benchlib  # bench/benchlib.py: this script's directory is on sys.path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WAN = os.path.join(ROOT, "bench", "wan")
# name, round-trip time (ms), rate (Mbit/s), loss probability per packet
# far-region: a long fast path (e.g. US-EU) where one flow's send buffer at the kernel's default maximum (4 MiB: 52
# MB/s at 80 ms) bounds a link below this emulator's own ceiling (run it --untuned to see that bound)
PROFILES = [("cross-AZ", 2, 1000, 0.0), ("cross-region", 40, 1000, 0.0), ("cross-region-lossy", 40, 1000, 0.001),
            ("slow-link", 80, 100, 0.0), ("far-region", 80, 1000, 0.0)]
# partyline-N: N TCP connections per link (PARTYLINE_STREAMS=N); partyline-1 is partyline before links of several
# streams. Any N from 1 to 64 may be asked for with --impls (partyline-baseline-N: the --baseline build).
# partyline-kernelbuf leaves every send buffer to the kernel's autotuning (PARTYLINE_SEND_BUFFER_MAX=0), as
# partyline did before it grew buffers that hold a link back.
# partyline-nospin blocks at once in every wait (PARTYLINE_SPIN_US=0).
# partyline-bbr and partyline-cubic run that congestion control on every connection throughout
# (PARTYLINE_CONGESTION), not auto's cubic until the first loss and BBR after.
IMPLS = ["partyline", "partyline-1", "partyline-kernelbuf", "partyline-nospin", "partyline-bbr", "partyline-cubic",
         "partyline-tls", "openmpi", "raw"]
# What a run compares unless --impls says otherwise; the variants above are for experiments.
DEFAULT_IMPLS = ["partyline", "partyline-tls", "openmpi", "raw"]
NAMES = {"partyline": "partyline", "partyline-tls": "partyline TLS", "openmpi": "Open MPI", "raw": "raw TCP",
         "partyline-kernelbuf": "partyline, kernel's send buffer", "partyline-nospin": "partyline, no polling",
         "partyline-bbr": "partyline, BBR throughout", "partyline-cubic": "partyline, cubic throughout"}
NAMES["partyline-baseline"] = "partyline baseline"  # --baseline
NAMES["partyline-baseline-tls"] = "partyline baseline TLS"
NAMES.update({f"{impl}-{n}": f"{name}, {n} stream{'s' if n > 1 else ''}" for n in range(1, 65)
              for impl, name in (("partyline", "partyline"), ("partyline-baseline", "partyline baseline"))})
# --stderr-log FILE: every rank's stderr is appended there, partyline's with PARTYLINE_VERBOSE=1.
STDERR_LOG = None
STREAMS = re.compile(r"^partyline-(?:baseline-)?(\d+)$")
# OVERLAP: a 64 MB ring exchange posted, a computation as long as the exchange, then the wait (partybench's); its
# rows have no floor: OVERLAP_POST is the time the two posting calls took from the computation, OVERLAP_HIDDEN the
# share of the shorter of computation and transfer that the other hid (1 = all). Raw TCP has no such workload.
WORKLOADS = ["SYNC", "ROUNDS", "BATCH", "REVEAL", "OVERLAP"]
N = 3
NET = "10.80.0"
LINE = re.compile(r"^RESULT impl=(\S+) workload=(\S+) size=(\d+) value=(\S+) unit=(\S+)$")
# Party namespaces get the host's large receive buffer maximum for sending too (the kernel's send default, 4 MiB,
# caps one flow at 4 MiB per round trip: 800 Mbit/s at 40 ms), as a host tuned for long links would; --untuned keeps
# the kernel's defaults, as on most cloud images.
TCP_SYSCTLS = {"net.ipv4.tcp_rmem": "4096 131072 33554432", "net.ipv4.tcp_wmem": "4096 16384 33554432"}
MTU_RANGE = (576, 9000)  # the forwarder's --mtu range


Failure = benchlib.Failure
def log(msg):
    print(f"wan.py: {msg}", flush=True)


run = benchlib.run


def run_parallel(cmds, timeout, what, env=None):
    """Start one command per rank at once (each in its own group), wait for all; return rank 0's stdout."""
    procs = []
    try:
        for c in cmds:
            procs.append(subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                          start_new_session=True, env=env))
        deadline = time.monotonic() + timeout
        outs = []
        for i, p in enumerate(procs):
            try:
                outs.append(p.communicate(timeout=max(0.1, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                raise Failure(f"{what} timed out after {timeout} s (rank {i} still running): {' '.join(cmds[i])}")
        bad = [(i, p.returncode) for i, p in enumerate(procs) if p.returncode != 0]
        if bad:
            i, rc = bad[0]
            raise Failure(f"{what}: rank {i} exited with status {rc}: {' '.join(cmds[i])}\n--- stderr ---\n"
                          f"{outs[i][1][-3000:]}\n--- stdout ---\n{outs[i][0][-1000:]}")
        if STDERR_LOG:
            with open(STDERR_LOG, "a") as f:
                for i, (_, err) in enumerate(outs):
                    f.write(f"=== {what} rank {i}\n{err}")
        return outs[0][0]
    finally:
        for p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()


class Emulator:
    """Three party namespaces and the forwarder between them; cleans up after itself on any exit."""

    def __init__(self, fwd_bin, queue_bytes=None, seed=1, tuned=True, congestion=None, mtu=1500):
        self.prefix = f"partyline-wan-{os.getpid()}"
        self.tuned, self.congestion, self.mtu = tuned, congestion, mtu
        self.ns = [f"{self.prefix}-p{i}" for i in range(N)]
        self.fwd_bin, self.queue_bytes, self.seed = fwd_bin, queue_bytes, seed
        self.fwd, self.counters, self.made = None, "", []

    def create(self):
        for ns in self.ns:
            run(["ip", "netns", "add", ns], 10, f"creating namespace {ns}")
            self.made.append(ns)
            run(["ip", "-n", ns, "link", "set", "lo", "up"], 10, "bringing up lo")
            for k, v in (TCP_SYSCTLS if self.tuned else {}).items():
                run(["ip", "netns", "exec", ns, "sysctl", "-qw", f"{k}={v}"], 10, f"setting {k}")
            if self.congestion:
                # Some kernels allow this only in the initial namespace; partyline still gets it per socket.
                cc = subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                                     f"net.ipv4.tcp_congestion_control={self.congestion}"], capture_output=True, text=True)
                if cc.returncode != 0:
                    log(f"cannot make {self.congestion} {ns}'s default ({cc.stderr.strip()}): only partyline uses it "
                        "(PARTYLINE_CONGESTION); raw TCP and Open MPI keep the host's")

    def sysctls(self):
        out = run(["ip", "netns", "exec", self.ns[0], "sysctl", "net.ipv4.tcp_congestion_control",
                   "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem", "net.ipv4.tcp_slow_start_after_idle"], 10, "sysctl")
        return "; ".join(" ".join(line.split()) for line in out.splitlines())

    def start(self, one_way_ms, rate_mbit, loss):
        """(Re)start the forwarder with these link settings and give every party its address."""
        self.stop()
        cmd = [self.fwd_bin, "--ns", ",".join(self.ns), "--delay-ms", f"{one_way_ms:.6f}", "--rate-mbit",
               str(rate_mbit), "--loss", str(loss), "--seed", str(self.seed), "--net", f"{NET}.0",
               "--txqueuelen", "1000", "--mtu", str(self.mtu)]
        if self.queue_bytes is not None:
            cmd += ["--queue-bytes", str(self.queue_bytes)]
        self.fwd = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    start_new_session=True)
        line = self.fwd.stdout.readline()  # the forwarder prints "ready" at once, or exits with a reason
        if not line.startswith("ready"):
            err = self.fwd.stderr.read() if self.fwd.poll() is not None else ""
            raise Failure(f"the forwarder did not start: {' '.join(cmd)}\n{line}{err}")
        for i, ns in enumerate(self.ns):
            run(["ip", "-n", ns, "addr", "add", f"{NET}.{i + 1}/24", "dev", "wan0"], 10, "adding an address")
            run(["ip", "-n", ns, "link", "set", "wan0", "up"], 10, "bringing up wan0")
        return line.strip()

    def stop(self):
        """Stop the forwarder (SIGTERM: it prints its counters) and keep them."""
        if self.fwd and self.fwd.poll() is None:
            self.fwd.send_signal(signal.SIGTERM)
            try:
                _, err = self.fwd.communicate(timeout=5)
                self.counters = err
            except subprocess.TimeoutExpired:
                self.fwd.kill()
                self.fwd.communicate()
        self.fwd = None

    def reap(self):
        """Kill whatever we started that is still running in our namespaces (a timed-out rank, an orted)."""
        for ns in self.made:
            p = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            for pid in p.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass

    def destroy(self):
        self.stop()
        self.reap()
        for ns in self.made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            # bench/wan/nsexec's session directories for orted
            shutil.rmtree(os.path.join(os.environ.get("TMPDIR", "/tmp"), ns + "-tmp"), ignore_errors=True)
        self.made = []

    def exec(self, i):
        return ["ip", "netns", "exec", self.ns[i]]


def ping_rtts(emu, count, interval, timeout=30):
    out = run(emu.exec(0) + ["chrt", "-f", "5", sys.executable, os.path.join(WAN, "probe.py"), "ping", f"{NET}.2",
                             str(count), str(interval)], timeout, "ping p0 -> p1")
    rtts = [float(x.split()[1]) for x in out.splitlines() if x.startswith("RTT")]
    if len(rtts) < count // 2:
        raise Failure(f"ping p0 -> p1 lost {count - len(rtts)} of {count} echoes:\n{out}")
    return rtts


def tcp_flow(emu, seconds, port=5201):
    """One TCP flow p0 -> p1 for `seconds`; bits per second as the receiver saw them."""
    probe = os.path.join(WAN, "probe.py")
    sink = subprocess.Popen(emu.exec(1) + [sys.executable, probe, "sink", str(port), str(seconds)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        time.sleep(0.3)
        run(emu.exec(0) + [sys.executable, probe, "source", f"{NET}.2", str(port), str(seconds)], seconds + 30,
            "TCP source p0 -> p1")
        out, err = sink.communicate(timeout=30)
    finally:
        if sink.poll() is None:
            os.killpg(sink.pid, signal.SIGKILL)
            sink.wait()
    m = re.search(r"RECV (\d+) ([0-9.]+)", out)
    if not m or float(m.group(2)) <= 0:
        raise Failure(f"the TCP sink in p1 reported nothing: {out} {err}")
    return int(m.group(1)) * 8 / float(m.group(2))


def build(tmp, baseline):
    target = os.path.join(os.path.abspath(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))), "release")
    log("building partyline (cargo build --release) ...")
    run(["cargo", "build", "--release"], 1200, "cargo build --release", cwd=ROOT)
    ompi = os.environ.get("OMPI_BIN", "/usr/bin")
    mpicc, mpirun = os.path.join(ompi, "mpicc"), os.path.join(ompi, "mpirun")
    if not (os.access(mpicc, os.X_OK) and os.access(mpirun, os.X_OK)):
        raise Failure(f"Open MPI not found in {ompi} (set OMPI_BIN); install it with: apt-get install -y openmpi-bin "
                      "libopenmpi-dev")
    ver = subprocess.run([mpirun, "--version"], capture_output=True, text=True).stdout.splitlines()[0].strip()
    cflags = ["-O2", "-Wall", "-Wextra", "-Werror"]
    cc = os.environ.get("CC", "cc")
    pb = os.path.join(ROOT, "bench", "partybench.c")
    b = {"partyline": os.path.join(tmp, "pb-partyline"), "openmpi": os.path.join(tmp, "pb-openmpi"),
         "raw": os.path.join(tmp, "rawnet"), "forwarder": os.path.join(tmp, "forwarder"),
         "partyrun": os.path.join(target, "partyrun"), "mpirun": mpirun}
    run([os.path.join(target, "mpicc")] + cflags + [pb, "-o", b["partyline"]], 120, "compiling partybench (partyline)")
    if baseline:
        b["partyline-baseline"] = os.path.join(tmp, "pb-partyline-baseline")
        run([os.path.join(baseline, "mpicc")] + cflags + [pb, "-o", b["partyline-baseline"]], 120,
            f"compiling partybench with {baseline}/mpicc (--baseline)")
    run([mpicc] + cflags + [pb, "-o", b["openmpi"]], 120, "compiling partybench (Open MPI)")
    run([cc] + cflags + [os.path.join(WAN, "rawnet.c"), "-o", b["raw"]], 120, "compiling rawnet.c")
    run([cc] + cflags + [os.path.join(WAN, "forwarder.c"), "-o", b["forwarder"]], 120, "compiling forwarder.c")
    b["certs"] = os.path.join(tmp, "certs")
    run([b["partyrun"], "certs", "--parties", str(N), "--out", b["certs"]], 60, "making TLS certificates")
    return b, ver


def workload_args(wl, one_way_s, quick, lossy=False, reps=None):
    """partybench/rawnet arguments for a workload on this profile: few enough repetitions to take seconds, unless
    `reps` (--reps) says how many."""
    if reps and wl != "OVERLAP":
        return [a if not a.startswith("--reps=") else f"--reps={reps}" for a in workload_args(wl, one_way_s, quick)]
    if wl == "SYNC":
        reps = int(max(20, min(2000, (1.0 if quick else 2.0) / one_way_s)))
        return [f"--reps={reps}"]
    if wl == "ROUNDS":
        # With loss, a round's time is decided by whether one of its packets is lost, so few rounds leave a row to
        # chance: at 0.1%, 1 MiB rounds took raw TCP itself 52.5 ms in one runner's median of 3 runs of 20 rounds,
        # and single runs of 60 rounds ranged 68-82 ms (bench/results/wan-lossy-rounds.md)
        # On short paths a round is over in a few ms: as many as fit in about half a second a size.
        reps = 5 if quick else 60 if lossy else int(max(20, min(500, 0.5 / (2 * one_way_s))))
        return ["--bytes=65536,262144,1048576", f"--reps={reps}"]
    if wl == "BATCH":
        return ["--bytes=1000000,10000000" + ("" if quick else ",100000000"), f"--reps={1 if quick else 2}"]
    if wl == "REVEAL":
        return ["--bytes=8000,8000000", f"--reps={3 if quick else 10}", "--paced"]
    if wl == "OVERLAP":
        return []
    raise ValueError(wl)


def reported(w):
    """Which workload a RESULT line's name belongs to (OVERLAP_POST is OVERLAP's)."""
    return w.split("_")[0]


def reps_of(args):
    return int(next((a for a in args if a.startswith("--reps=")), "--reps=1").split("=")[1])


def floor_s(wl, size, one_way_s, rate_bps, reps):
    """The floor of one reported value, in seconds: payload at line rate plus one-way delay (None: it has none)."""
    if wl.startswith("OVERLAP"):
        return None
    if wl == "SYNC":
        return one_way_s
    nbytes = size * 8 if wl in ("BATCH", "REVEAL") else size
    if wl == "REVEAL":
        # --paced: rank 0's go reaches the others, then their shares come back
        return nbytes * 8 / rate_bps + 2 * one_way_s
    return nbytes * 8 / rate_bps + one_way_s


def as_seconds(wl, size, value, unit):
    if unit == "us":
        return value * 1e-6
    if unit == "ms":
        return value * 1e-3
    if unit == "MB/s":
        return size * 8 / (value * 1e6)
    raise ValueError(unit)


def run_impl(impl, wl, args, b, emu, timeout, serial):
    """One run of one workload under one implementation; returns rank 0's stdout."""
    peers_port = 7000 + serial % 500  # a fresh port each run: no wait on the previous run's TIME_WAIT sockets
    what = f"{wl} under {impl}"
    if impl.startswith("partyline"):
        peers = ",".join(f"{NET}.{i + 1}:{peers_port}" for i in range(N))
        sec = [f"PARTYLINE_TLS_DIR={b['certs']}"] if impl.endswith("-tls") else ["PARTYLINE_INSECURE=1"]
        if STREAMS.match(impl):
            sec.append(f"PARTYLINE_STREAMS={STREAMS.match(impl).group(1)}")
        if impl == "partyline-kernelbuf":
            sec.append("PARTYLINE_SEND_BUFFER_MAX=0")
        if impl == "partyline-nospin":
            sec.append("PARTYLINE_SPIN_US=0")
        # An implementation named for its congestion control runs it whatever --congestion made the hosts' default
        # (it would otherwise be labelled with an algorithm it did not run).
        if impl in ("partyline-bbr", "partyline-cubic"):
            sec.append(f"PARTYLINE_CONGESTION={impl.split('-')[1]}")
        elif emu.congestion:
            sec.append(f"PARTYLINE_CONGESTION={emu.congestion}")
        if STDERR_LOG:
            sec.append("PARTYLINE_VERBOSE=1")
        cmds = [emu.exec(i) + ["env", f"PARTYLINE_RANK={i}", f"PARTYLINE_SIZE={N}", f"PARTYLINE_PEERS={peers}",
                               f"PARTYLINE_JOB_ID=wan-{os.getpid()}-{serial}"] + sec +
                [b["partyline-baseline" if "baseline" in impl else "partyline"], wl, f"--impl={impl}"] +
                args for i in range(N)]
        return run_parallel(cmds, timeout, what)
    if impl == "raw":
        hosts = ",".join(f"{NET}.{i + 1}" for i in range(N))
        cmds = [emu.exec(i) + [b["raw"], str(i), hosts, str(7500 + serial % 500), wl] + args for i in range(N)]
        return run_parallel(cmds, timeout, what)
    if impl == "openmpi":
        # mpirun runs in p0's namespace (10.80.0.1 is local to it); nsexec starts orted in p1 and p2's namespaces
        env = dict(os.environ, PARTYLINE_WAN_NS_PREFIX=emu.prefix)
        cmd = emu.exec(0) + [b["mpirun"], "--allow-run-as-root", "-np", str(N), "--host",
                             ",".join(f"{NET}.{i + 1}" for i in range(N)),
                             "--mca", "plm_rsh_agent", os.path.join(WAN, "nsexec"), "--mca", "btl", "tcp,self",
                             "--mca", "btl_tcp_if_include", f"{NET}.0/24", "--mca", "oob_tcp_if_include",
                             f"{NET}.0/24", "--mca", "mpi_yield_when_idle", "1",
                             b["openmpi"], wl, "--impl=openmpi"] + args
        return run(cmd, timeout, what, env=env)
    raise ValueError(impl)


def measure_max(emu, b, timeout):
    """The emulator's ceiling on this machine: a raw-TCP ring (3 flows at once) with no delay and no rate limit."""
    emu.start(0, 100000, 0)
    out = run_impl("raw", "BATCH", ["--bytes=100000000", "--reps=3"], b, emu, timeout, 0)
    emu.stop()
    m = LINE.search(out.strip().splitlines()[-1]) if out.strip() else None
    if not m:
        raise Failure(f"measuring the emulator's maximum: rawnet printed no result:\n{out}")
    per_flow = float(m.group(4)) * 8  # Mbit/s
    one = None
    emu.start(0, 100000, 0)
    one = tcp_flow(emu, 3) / 1e6
    emu.stop()
    return per_flow, one


def self_check(emu, name, rtt_ms, rate_mbit, max_flow_mbit, quick, wmem_max=None):
    rtts = ping_rtts(emu, 10, 0.2)
    med = statistics.median(rtts)
    ok_rtt = abs(med - rtt_ms) <= 0.1 * rtt_ms
    secs = 3 if quick else 4
    bps = tcp_flow(emu, secs)
    frac = bps / (rate_mbit * 1e6)
    bounded = max_flow_mbit is not None and rate_mbit > max_flow_mbit
    # One flow cannot have more than its send buffer in flight: below the rate on a long path of an untuned host.
    if wmem_max and rate_mbit > wmem_max * 8 / (rtt_ms / 1e3) / 1e6:
        log(f"{name}: one flow is bounded by its {wmem_max} B send buffer here ({wmem_max * 8 / rtt_ms / 1e3:.0f} "
            "Mbit/s at this RTT)")
        bounded = True
    check = {"rtt_ms": med, "rtt_min": min(rtts), "rtt_max": max(rtts), "rtt_ok": ok_rtt, "tcp_mbit": bps / 1e6,
             "tcp_frac": frac, "bounded": bounded, "secs": secs}
    log(f"{name}: self-check: RTT median {med:.3f} ms (want {rtt_ms} ms +-10%), one TCP flow {bps / 1e6:.0f} Mbit/s "
        f"= {frac:.2f} of the rate")
    if not ok_rtt:
        raise Failure(f"{name}: the emulator's RTT is {med:.3f} ms, not within 10% of {rtt_ms} ms (the machine may be "
                      "too loaded; see bench/README.md, WAN emulator)")
    if frac < 0.5 and not bounded:
        raise Failure(f"{name}: one TCP flow reached only {frac:.2f} of the {rate_mbit} Mbit/s rate (below 0.5); "
                      "the emulator or the machine cannot carry this profile")
    return check


def cell(x):
    return "—" if x is None else (f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}")


def human(wl, size):
    if wl in ("BATCH", "REVEAL"):
        b = size * 8
    elif wl == "SYNC":
        return "8 B"
    else:
        b = size
    for unit, div in (("MB", 10 ** 6), ("MiB", 1 << 20), ("KiB", 1 << 10), ("KB", 1000)):
        if b >= div and b % div == 0:
            return f"{b // div} {unit}"
    return f"{b} B"


def git_rev():
    return benchlib.git_rev(ROOT)


def write_md(path, a, ver, impls, prof_results, calib, maxes, sysctls, loads, elapsed):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    per_flow, one_flow = maxes
    L = [f"<!-- written by bench/wan.py {' '.join(sys.argv[1:])}; do not edit -->",
         f"Run {now} on {benchlib.machine()}; partyline {git_rev()}; {ver}; {a.runs} runs, medians; the implementations "
         f"alternate run by run (which goes first rotates). Took {elapsed / 60:.1f} minutes.",
         f"Load average (1 min) during the run: {min(loads):.2f} to {max(loads):.2f}, median "
         f"{statistics.median(loads):.2f}.",
         "",
         "Emulator: bench/wan/forwarder.c, one TUN device per party namespace, every directed link with its own "
         "delay, rate, drop-tail queue (one round trip's bandwidth-delay product unless --queue-bytes) and seeded "
         f"loss. Party sysctls: {sysctls}. Its own latency (ping RTT with no configured delay): "
         f"{calib:.3f} ms, taken off each link's configured delay so measured RTTs match the profile. MTU {a.mtu} "
         "(--mtu; the default, 1500, is the Internet's; jumbo frames, up to 9000, cut the emulator's cost per byte, "
         "one read and one write per packet, to show where the emulator rather than the library is the bound). Its "
         f"maximum here at MTU {a.mtu} (no delay, no rate limit): {per_flow:.0f} Mbit/s per flow with 3 raw-TCP "
         f"flows at once (a ring, {3 * per_flow:.0f} Mbit/s in all), {one_flow:.0f} Mbit/s for one flow alone.",
         "",
         "Each cell: median value, and in brackets the floor over it (1.0 = at the floor; 0.5 = twice the floor's "
         "time). Floors: SYNC one one-way delay per round; ROUNDS and BATCH payload/rate + one-way delay per "
         "exchange; REVEAL (rank 0 sends a 1-byte go, ranks 1 and 2 answer with their shares) payload/rate + two one-way delays. "
         # 52 bytes of IPv4 and TCP headers (with timestamps) in every packet of at most the MTU
         f"Payload only: TCP/IP headers alone hold the best possible to ~{(a.mtu - 52) / a.mtu:.3f} for bulk."]
    for (name, rtt, rate, loss), res in prof_results:
        chk, vals, units, fwd, args = res["check"], res["vals"], res["units"], res["counters"], res["args"]
        L += ["", f"## {name}: RTT {rtt} ms, {rate} Mbit/s, loss {loss * 100:g}%, MTU {a.mtu}", "",
              f"Self-check: ping RTT median {chk['rtt_ms']:.3f} ms (min {chk['rtt_min']:.3f}, max "
              f"{chk['rtt_max']:.3f}; want {rtt} ms +-10%: {'ok' if chk['rtt_ok'] else 'FAILED'}); one TCP flow "
              f"p0 -> p1 for {chk['secs']} s: {chk['tcp_mbit']:.0f} Mbit/s = {chk['tcp_frac']:.2f} of the rate"
              + (" (bounded by the emulator's maximum)" if chk["bounded"] else "") + " (both without loss)"
              + (f"; the same flow with the profile's loss: {chk['lossy_mbit']:.0f} Mbit/s = "
                 f"{chk['lossy_mbit'] / rate:.2f} of the rate" if "lossy_mbit" in chk else "") + ".", "",
              "| workload | size | floor | " + " | ".join(NAMES[i] for i in impls) + " |",
              "| --- | --- | ---: | " + " | ".join("---:" for _ in impls) + " |"]
        keys = sorted({(wl, s) for (_, wl, s) in vals}, key=lambda k: (WORKLOADS.index(reported(k[0])), k))
        one_way = rtt / 2e3
        for wl, s in keys:
            fl = floor_s(wl, s, one_way, rate * 1e6, reps_of(args[reported(wl)]))
            row = [wl, human(wl, s), "—" if fl is None else f"{fl * 1e3:.3g} ms"]
            for i in impls:
                v = vals.get((i, wl, s))
                if not v:
                    row.append("—")
                    continue
                m = statistics.median(v)
                if fl is None:
                    row.append(f"{cell(m)} {units[wl]}")
                    continue
                t = as_seconds(wl, s, m, units[wl])
                row.append(f"{cell(m)} {units[wl]} ({fl / t:.2f})")
            L.append("| " + " | ".join(row) + " |")
        L += ["", "Forwarder counters at the end of the profile (packets):", "", "```",
              fwd.strip().replace("forwarder: ", ""), "```"]
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")
    return "\n".join(L)


def plots(outdir, prof_results, impls):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is missing, so no plots were written (pip install matplotlib, or apt-get install -y "
            "python3-matplotlib); the table is complete without them")
        return
    for (name, rtt, rate, _), res in prof_results:
        vals, units, args = res["vals"], res["units"], res["args"]
        keys = sorted({(wl, s) for (_, wl, s) in vals if floor_s(wl, s, 1, 1, 1) is not None},
                      key=lambda k: (WORKLOADS.index(reported(k[0])), k))
        fig, ax = plt.subplots(figsize=(9, 4))
        w = 0.8 / len(impls)
        for j, i in enumerate(impls):
            ys = []
            for wl, s in keys:
                v = vals.get((i, wl, s))
                fl = floor_s(wl, s, rtt / 2e3, rate * 1e6, reps_of(args[reported(wl)]))
                ys.append(fl / as_seconds(wl, s, statistics.median(v), units[wl]) if v else 0)
            ax.bar([k + j * w for k in range(len(keys))], ys, w, label=NAMES[i])
        ax.set_xticks([k + 0.4 - w / 2 for k in range(len(keys))])
        ax.set_xticklabels([f"{wl}\n{human(wl, s)}" for wl, s in keys], fontsize=7)
        ax.set_ylabel("floor / measured (1 = at the floor)")
        ax.set_title(f"{name}: RTT {rtt} ms, {rate} Mbit/s")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(outdir, f"wan-{name}.png"), dpi=80)
        plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description="partyline, Open MPI and raw TCP across an emulated WAN")
    ap.add_argument("--profiles", help="comma-separated subset of " + ",".join(p[0] for p in PROFILES))
    ap.add_argument("--runs", type=int, default=3, help="runs per implementation, medians (default 3)")
    ap.add_argument("--quick", action="store_true", help="smaller sizes and fewer repetitions")
    ap.add_argument("--reps", type=int, help="repetitions per run of each workload (ROUNDS: rounds of each size), "
                                             "in place of the workload's own: more of them settle rows where a few "
                                             "random losses decide")
    ap.add_argument("--impls", help="comma-separated subset of " + ",".join(IMPLS) + " (default: " +
                    ",".join(DEFAULT_IMPLS) + "), or partyline-N for N streams")
    ap.add_argument("--workloads", help="comma-separated subset of " + ",".join(WORKLOADS))
    ap.add_argument("--timeout", type=float, default=300, help="seconds allowed per run (default 300)")
    ap.add_argument("--queue-bytes", type=int, help="drop-tail queue per link (default: one round trip's BDP)")
    ap.add_argument("--seed", type=int, default=1, help="loss seed")
    ap.add_argument("--congestion", metavar="NAME",
                    help="every party namespace's congestion control, partyline's too (e.g. cubic, as on hosts "
                         "without BBR); default: the host's, and partyline's own choice (BBR)")
    ap.add_argument("--untuned", action="store_true",
                    help="keep the kernel's TCP buffer limits in the party namespaces (4 MiB send maximum)")
    ap.add_argument("--mtu", type=int, default=1500,
                    help=f"the emulated links' MTU, {MTU_RANGE[0]} to {MTU_RANGE[1]} (default 1500, the Internet's); "
                         "jumbo frames (9000) cut the emulator's per-packet cost, to show where it is the bound")
    ap.add_argument("--baseline", metavar="DIR",
                    help="another partyline build's release directory (its mpicc), run as partyline-baseline: a "
                         "before/after in one run")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"), help="output directory")
    ap.add_argument("--stderr-log", metavar="FILE",
                    help="append every rank's stderr to FILE, partyline's verbose (PARTYLINE_VERBOSE=1): what each "
                         "link ran over, when it reopened and for how long it paused")
    a = ap.parse_args()
    global STDERR_LOG
    STDERR_LOG = a.stderr_log

    def pick(arg, known, what):
        if not arg:
            return list(known)
        chosen = [x.strip() for x in arg.split(",") if x.strip()]
        bad = [x for x in chosen if x not in known]
        if bad or not chosen:
            raise Failure(f"--{what}: unknown {','.join(bad) or '(empty list)'}; choose from {','.join(known)}")
        return [x for x in known if x in chosen]

    pnames = pick(a.profiles, [p[0] for p in PROFILES], "profiles")
    profiles = [p for p in PROFILES if p[0] in pnames]
    impls = pick(a.impls, IMPLS + [n for n in NAMES if n not in IMPLS], "impls") if a.impls else list(DEFAULT_IMPLS)
    if any("baseline" in i for i in impls) != bool(a.baseline):
        raise Failure("partyline-baseline(-tls) runs the build given by --baseline DIR: give both or neither")
    workloads = pick(a.workloads, WORKLOADS, "workloads")
    if not MTU_RANGE[0] <= a.mtu <= MTU_RANGE[1]:
        raise Failure(f"--mtu {a.mtu}: choose from {MTU_RANGE[0]} to {MTU_RANGE[1]} bytes")
    if os.geteuid() != 0:
        raise Failure("needs root (network namespaces and TUN devices); run it with sudo")
    for tool in ("ip", "chrt"):
        if not shutil.which(tool):
            raise Failure(f"{tool} is missing; install it with: apt-get install -y iproute2 util-linux")
    if not os.path.exists("/dev/net/tun"):
        raise Failure("/dev/net/tun is missing; load the module (modprobe tun)")
    os.makedirs(a.out, exist_ok=True)
    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="partyline-wan-")
    emu = None
    try:
        b, ver = build(tmp, a.baseline)
        emu = Emulator(b["forwarder"], a.queue_bytes, a.seed, tuned=not a.untuned, congestion=a.congestion,
                       mtu=a.mtu)
        emu.create()
        sysctls = emu.sysctls()
        emu.start(0, 100000, 0)
        calib = statistics.median(ping_rtts(emu, 20, 0.05))
        emu.stop()
        log(f"emulator's own RTT (no delay configured): {calib:.3f} ms")
        maxes = measure_max(emu, b, a.timeout)
        log(f"emulator maximum at MTU {a.mtu}: {maxes[0]:.0f} Mbit/s per flow with 3 flows, {maxes[1]:.0f} Mbit/s "
            "one flow")
        prof_results, loads, serial = [], [], 1
        logf = open(os.path.join(a.out, "wan-latest.log"), "w")
        for name, rtt, rate, loss in profiles:
            one_way = rtt / 2e3
            delay = max(0.0, rtt / 2 - calib / 2)
            # the check is of the emulator, so it runs without loss (one TCP flow cannot fill a lossy long link);
            # with loss, the same flow is measured again and reported
            log(f"{name}: {emu.start(delay, rate, 0)}")
            wmem = re.search(r"tcp_wmem = \d+ \d+ (\d+)", sysctls)
            check = self_check(emu, name, rtt, rate, maxes[1], a.quick, int(wmem.group(1)) if wmem else None)
            if loss:
                log(f"{name}: {emu.start(delay, rate, loss)}")
                check["lossy_mbit"] = tcp_flow(emu, check["secs"]) / 1e6
                log(f"{name}: one TCP flow with loss {loss}: {check['lossy_mbit']:.0f} Mbit/s")
            vals, units, args = {}, {}, {wl: workload_args(wl, one_way, a.quick, loss > 0, a.reps) for wl in workloads}
            for r in range(a.runs):
                order = impls[r % len(impls):] + impls[:r % len(impls)]
                for wl in workloads:
                    loads.append(os.getloadavg()[0])
                    for impl in order:
                        if impl == "raw" and wl == "OVERLAP":
                            continue  # rawnet computes nothing
                        serial += 1
                        try:
                            out = run_impl(impl, wl, args[wl], b, emu, a.timeout, serial)
                        finally:
                            emu.reap()  # nothing of a run outlives it, even a stuck orted
                        got = 0
                        for line in out.splitlines():
                            m = LINE.match(line.strip())
                            if m and m.group(1) == impl:
                                _, w, s, v, u = m.groups()
                                vals.setdefault((impl, w, int(s)), []).append(float(v))
                                units[w] = u
                                logf.write(f"profile={name} run={r + 1} {line.strip()}\n")
                                got += 1
                        if not got:
                            raise Failure(f"{wl} under {impl} printed no RESULT line:\n{out[-1000:]}")
                        logf.flush()
                log(f"{name}: run {r + 1}/{a.runs} done ({(time.monotonic() - started) / 60:.1f} min so far)")
            emu.stop()
            prof_results.append(((name, rtt, rate, loss), {"check": check, "vals": vals, "units": units,
                                                          "counters": emu.counters, "args": args}))
            # written after every profile, so a failure later still leaves the profiles done so far
            table = write_md(os.path.join(a.out, "wan-latest.md"), a, ver, impls, prof_results, calib, maxes,
                             sysctls, loads, time.monotonic() - started)
        logf.close()
        plots(a.out, prof_results, impls)
        print(table)
        log(f"wrote {os.path.join(a.out, 'wan-latest.md')}")
    finally:
        if emu:
            emu.destroy()
        shutil.rmtree(tmp, ignore_errors=True)


def on_term(sig, frame):
    raise KeyboardInterrupt  # the same clean-up as Ctrl-C: namespaces and processes go


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # also when started in the background, where SIGINT comes ignored
    try:
        main()
    except Failure as e:
        print(f"wan.py: error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("wan.py: interrupted; namespaces and processes removed", file=sys.stderr)
        sys.exit(130)
