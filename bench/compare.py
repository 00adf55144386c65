#!/usr/bin/env python3
"""compare.py: runs bench/partybench.c under partyline and Open MPI (plus the raw-TCP floor, bench/rawring.c)
alternately, and partyline with TLS against partyline plaintext, and writes bench/results/latest.md,
latest.log and PNG plots of the medians.

Usage: bench/compare.py [--quick] [--runs N] [--timeout SECS] [--out DIR]
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOADS = [("SYNC", 3), ("ASYNC", 3), ("BATCH", 3), ("REVEAL", 3), ("OVERLAP", 3), ("RATE", 3), ("LAT", 2), ("BW", 2),
             ("MEM", 3)]
# Timed by this runner: launcher, MPI_Init and MPI_Finalize of a program that does nothing else.
STARTUP_LAUNCHES = 3
# Also run with TLS on every link (partyline only), against partyline plaintext from the same run.
TLS_WORKLOADS = {"SYNC", "BATCH", "OVERLAP"}
RAW = {"SYNC", "BATCH"}
HIGHER_BETTER = {"MB/s", "msg/s", "fraction"}
LINE = re.compile(r"^RESULT impl=(\S+) workload=(\S+) size=(\d+) value=(\S+) unit=(\S+)$")
OMPI_FLAGS = ["--oversubscribe", "--allow-run-as-root", "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "lo"]


def fail(msg):
    print(f"compare.py: error: {msg}", file=sys.stderr)
    sys.exit(1)


def run(cmd, timeout, what, **kw):
    # own process group, so a timeout stops the launcher and every rank it started
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, **kw)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        fail(f"{what} timed out after {timeout} s: {' '.join(cmd)}")
    p.stdout, p.stderr = out, err
    if p.returncode != 0:
        fail(f"{what} exited with status {p.returncode}: {' '.join(cmd)}\n--- stderr ---\n{p.stderr[-3000:]}"
             f"\n--- stdout ---\n{p.stdout[-1000:]}")
    return p.stdout


def find_openmpi():
    """Open MPI's own mpicc/mpirun, never partyline's wrappers that may be earlier on PATH."""
    bindir = os.environ.get("OMPI_BIN", "/usr/bin")
    mpicc, mpirun = os.path.join(bindir, "mpicc"), os.path.join(bindir, "mpirun")
    if not (os.access(mpicc, os.X_OK) and os.access(mpirun, os.X_OK)):
        fail(f"Open MPI not found in {bindir} (set OMPI_BIN); install it with: apt-get install -y openmpi-bin libopenmpi-dev")
    ver = subprocess.run([mpirun, "--version"], capture_output=True, text=True).stdout
    if "Open MPI" not in ver and "OpenRTE" not in ver:
        fail(f"{mpirun} is not Open MPI (set OMPI_BIN to Open MPI's bin directory)")
    return mpicc, mpirun, ver.splitlines()[0].strip()


def build(tmp):
    target = os.path.join(os.path.abspath(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))), "release")
    print("building partyline (make build) ...", flush=True)
    run(["make", "-s", "build"], 900, "make build", cwd=ROOT)
    mpicc, mpirun, ver = find_openmpi()
    cflags = ["-O2", "-Wall", "-Wextra", "-Werror"]
    src = os.path.join(ROOT, "bench", "partybench.c")
    bins = {"partyline": os.path.join(tmp, "pb-partyline"), "openmpi": os.path.join(tmp, "pb-openmpi"),
            "raw": os.path.join(tmp, "rawring")}
    run([os.path.join(target, "mpicc")] + cflags + [src, "-o", bins["partyline"]], 120, "compiling against partyline")
    run([mpicc] + cflags + [src, "-o", bins["openmpi"]], 120, "compiling against Open MPI")
    run([os.environ.get("CC", "cc")] + cflags + [os.path.join(ROOT, "bench", "rawring.c"), "-o", bins["raw"]], 120,
        "compiling rawring.c")
    certs = os.path.join(tmp, "certs")
    run([os.path.join(target, "partyrun"), "certs", "--parties", "3", "--out", certs], 60, "making TLS certificates")
    bins["partyline-tls"] = bins["partyline"]
    launch = {"partyline": lambda n: [os.path.join(target, "partyrun"), "-n", str(n)],
              "partyline-tls": lambda n: [os.path.join(target, "partyrun"), "--tls-dir", certs, "-n", str(n)],
              "openmpi": lambda n: [mpirun] + OMPI_FLAGS + ["-np", str(n)]}
    return bins, launch, ver


def startup(bins, launch, impl, timeout, vals, units, log):
    """Wall time of launching an empty 3-rank MPI_Init/MPI_Finalize program, launcher included."""
    for _ in range(STARTUP_LAUNCHES):
        cmd = launch[impl](3) + [bins[impl], "STARTUP"]
        t0 = time.monotonic()
        run(cmd, timeout, f"STARTUP under {impl}")
        ms = (time.monotonic() - t0) * 1e3
        vals.setdefault((impl, "STARTUP", 3), []).append(ms)
        units["STARTUP"] = "ms"
        log.write(f"RESULT impl={impl} workload=STARTUP size=3 value={ms:.6g} unit=ms\n")


def parse(out, impl, vals, units, log):
    got = 0
    for line in out.splitlines():
        m = LINE.match(line.strip())
        if not m or m.group(1) != impl:
            continue
        _, wl, size, value, unit = m.groups()
        vals.setdefault((impl, wl, int(size)), []).append(float(value))
        units[wl] = unit
        log.write(line.strip() + "\n")
        got += 1
    return got


def human(wl, size):
    if wl == "BATCH" or (wl == "REVEAL"):
        e = len(str(size)) - 1
        return f"1e{e} int64" if size == 10 ** e else f"{size} int64"
    if wl.startswith("OVERLAP"):
        return f"{size // 1000000} MB"
    if wl in ("MEM", "STARTUP"):
        return f"{size} ranks"
    for unit, div in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= div and size % div == 0:
            return f"{size // div} {unit}"
    return f"{size} B"


def speedup(p, o, unit):
    """How many times better partyline is than Open MPI (>1: partyline better)."""
    if unit == "fraction" or p <= 0 or o <= 0:
        return None
    return p / o if unit in HIGHER_BETTER else o / p


def machine():
    model = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs (nproc), {model}, Linux {platform.release()}"


def git_rev():
    p = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True, text=True)
    return p.stdout.strip() or "unknown"


def overlap_vs_max(med, impl):
    """OVERLAP total time over max(compute, transfer): 1 is perfect overlap."""
    t, c, x = (med.get((impl, w, 64000000)) for w in ("OVERLAP", "OVERLAP_COMPUTE", "OVERLAP_TRANSFER"))
    return t / max(c, x) if None not in (t, c, x) and max(c, x) > 0 else None


def write_md(path, med, units, runs, quick, ompi_ver, loads):
    def cell(x):
        return "—" if x is None else (f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}")
    order = {w: i for i, (w, _) in enumerate(WORKLOADS)}
    keys = sorted({(wl, s) for (i, wl, s) in med if i != "partyline-tls"}, key=lambda k: (order.get(k[0].split("_")[0], 99), k[0], k[1]))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"<!-- written by bench/compare.py{' --quick' if quick else ''}; do not edit -->",
             f"Run {now} on {machine()}; partyline {git_rev()}; {ompi_ver} (TCP BTL on loopback).",
             f"Medians of {runs} runs, partyline and Open MPI alternating run by run. \"speedup\" is how many times "
             "better partyline is than Open MPI (>1: partyline better, whether the unit is a time or a rate); "
             "\"of raw\" is partyline as a fraction of the raw-TCP floor (bench/rawring.c).",
             f"Load average (1 min) during the run: {min(loads):.2f} to {max(loads):.2f}, median "
             f"{statistics.median(loads):.2f} (sampled before every run of every workload).", "",
             "| workload | size | unit | partyline | Open MPI | speedup | raw TCP | partyline of raw | Open MPI of raw |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for wl, s in keys:
        u = units[wl]
        p, o, r = (med.get((i, wl, s)) for i in ("partyline", "openmpi", "raw"))
        sp = speedup(p, o, u) if p is not None and o is not None and wl != "OVERLAP_COMPUTE" else None
        pr = speedup(p, r, u) if p is not None and r is not None else None
        orr = speedup(o, r, u) if o is not None and r is not None else None
        lines.append(f"| {wl} | {human(wl, s)} | {u} | {cell(p)} | {cell(o)} | {cell(sp)}{'x' if sp else ''} | "
                     f"{cell(r)} | {cell(pr)} | {cell(orr)} |")
    ov = {i: overlap_vs_max(med, i) for i in ("partyline", "openmpi", "partyline-tls")}
    lines.append(f"| OVERLAP_VS_MAX | 64 MB | ratio | {cell(ov['partyline'])} | {cell(ov['openmpi'])} | — | — | — | — |")
    lines += ["", "TLS 1.3 on every link (partyline only; `partyrun --tls-dir`), against partyline plaintext from "
              "the same runs. \"TLS of plaintext\" is TLS performance as a fraction of plaintext's (>1: TLS faster).",
              "", "| workload | size | unit | plaintext | TLS | TLS of plaintext |", "| --- | --- | --- | ---: | ---: | ---: |"]
    for wl, s in sorted({(wl, s) for (i, wl, s) in med if i == "partyline-tls"}):
        p, t = med.get(("partyline", wl, s)), med.get(("partyline-tls", wl, s))
        u = units[wl]
        r = speedup(t, p, u) if p is not None and t is not None and wl != "OVERLAP_COMPUTE" else None
        lines.append(f"| {wl} | {human(wl, s)} | {u} | {cell(p)} | {cell(t)} | {cell(r)}{'x' if r else ''} |")
    lines.append(f"| OVERLAP_VS_MAX | 64 MB | ratio | {cell(ov['partyline'])} | {cell(ov['partyline-tls'])} | — |")
    lines += ["", "OVERLAP_VS_MAX = OVERLAP total / max(OVERLAP_COMPUTE, OVERLAP_TRANSFER) from the medians: 1 means "
              "the transfer is wholly hidden. MEM: resident memory (VmRSS) per rank right after MPI_Init, the largest "
              "of the ranks. STARTUP: wall time of launching an empty 3-rank MPI_Init/MPI_Finalize program, launcher "
              f"included ({STARTUP_LAUNCHES} launches per run)."]
    lines += ["", "OVERLAP: total time of a 64 MB ring exchange overlapped with a busy loop calibrated to the "
              "transfer time; OVERLAP_HIDDEN = (compute + transfer - total) / min(compute, transfer): 1 means fully "
              "overlapped, 0 means serialized. Plots: lat.png, bw.png, shapes.png."]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return "\n".join(lines)


def plots(outdir, med):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("compare.py: matplotlib is missing, so no plots were written; install it with: "
              "pip install matplotlib   (or apt-get install -y python3-matplotlib)", file=sys.stderr)
        return
    names = {"partyline": "partyline", "openmpi": "Open MPI"}
    for wl, fname, ylabel in (("LAT", "lat.png", "one-way latency (us)"), ("BW", "bw.png", "bandwidth (MB/s)")):
        fig, ax = plt.subplots(figsize=(6, 4))
        for impl, label in names.items():
            pts = sorted((s, v) for (i, w, s), v in med.items() if i == impl and w == wl)
            if pts:
                ax.plot([s for s, _ in pts], [v for _, v in pts], marker="o", label=label)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("message size (bytes)")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{wl}: 2 ranks on loopback (medians)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(outdir, fname), dpi=80)
        plt.close(fig)
    shapes = [("SYNC", 8), ("ASYNC", 8), ("BATCH", 10 ** 6), ("BATCH", 10 ** 7), ("REVEAL", 10 ** 6),
              ("OVERLAP", 64000000), ("RATE", 8), ("MEM", 3), ("STARTUP", 3)]
    labels, vals = [], []
    for wl, s in shapes:
        p, o = med.get(("partyline", wl, s)), med.get(("openmpi", wl, s))
        if p is not None and o is not None:
            labels.append(f"{wl}\n{human(wl, s)}" if wl in ("BATCH", "REVEAL") else wl)
            vals.append(speedup(p, o, "MB/s" if wl in ("BATCH", "RATE") else "us"))
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(labels, vals, color=["tab:green" if v >= 1 else "tab:red" for v in vals])
    ax.axhline(1, color="black", linewidth=0.8)
    ax.set_ylabel("partyline speedup over Open MPI (x)")
    ax.set_title("MPC shapes, 3 ranks on loopback (>1: partyline better)")
    for i, v in enumerate(vals):
        ax.annotate(f"{v:.2f}x", (i, v), ha="center", va="bottom", fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "shapes.png"), dpi=80)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description="partyline vs Open MPI benchmark comparison")
    ap.add_argument("--quick", action="store_true", help="smoke test: 2 runs, fewer sizes and rounds")
    ap.add_argument("--runs", type=int, help="runs per implementation (default 5, quick 2)")
    ap.add_argument("--timeout", type=float, default=120, help="seconds allowed per run (default 120)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"), help="output directory")
    a = ap.parse_args()
    runs = a.runs or (2 if a.quick else 5)
    os.makedirs(a.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="partybench-")
    try:
        bins, launch, ompi_ver = build(tmp)
        vals, units, loads = {}, {}, []
        extra = ["--quick"] if a.quick else []
        with open(os.path.join(a.out, "latest.log"), "w") as log:
            for r in range(runs):
                for wl, n in WORKLOADS:
                    loads.append(os.getloadavg()[0])
                    order = ["partyline", "openmpi"] if r % 2 == 0 else ["openmpi", "partyline"]
                    for impl in order:
                        cmd = launch[impl](n) + [bins[impl], wl, f"--impl={impl}"] + extra
                        out = run(cmd, a.timeout, f"{wl} under {impl} (run {r + 1})")
                        if not parse(out, impl, vals, units, log):
                            fail(f"{wl} under {impl} printed no RESULT line: {' '.join(cmd)}\n{out[-1000:]}")
                        if impl == "partyline" and wl in TLS_WORKLOADS:
                            cmd = launch["partyline-tls"](n) + [bins[impl], wl, "--impl=partyline-tls"] + extra
                            out = run(cmd, a.timeout, f"{wl} under partyline with TLS (run {r + 1})")
                            if not parse(out, "partyline-tls", vals, units, log):
                                fail(f"{wl} under partyline with TLS printed no RESULT line: {' '.join(cmd)}")
                    if wl in RAW:
                        out = run([bins["raw"], wl] + extra, a.timeout, f"{wl} raw TCP (run {r + 1})")
                        if not parse(out, "raw", vals, units, log):
                            fail(f"rawring {wl} printed no RESULT line")
                for impl in (["partyline", "openmpi"] if r % 2 == 0 else ["openmpi", "partyline"]):
                    startup(bins, launch, impl, a.timeout, vals, units, log)
                print(f"run {r + 1}/{runs} done", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in vals.items()}
    table = write_md(os.path.join(a.out, "latest.md"), med, units, runs, a.quick, ompi_ver, loads)
    plots(a.out, med)
    print(table)
    print(f"\nwrote {os.path.join(a.out, 'latest.md')}")


if __name__ == "__main__":
    main()
