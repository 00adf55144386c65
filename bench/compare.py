#!/usr/bin/env python3
"""compare.py: runs bench/partybench.c under partyline and Open MPI (plus the raw-TCP floor, bench/rawring.c)
alternately, and partyline with TLS against partyline plaintext, and writes bench/results/latest.md,
latest.log and PNG plots of the medians. With --baseline, also runs another partyline build (the commit before a
change) as a third implementation and writes a before/after table.

Usage: bench/compare.py [--quick] [--runs N] [--timeout SECS] [--out DIR] [--baseline DIR] [--workloads LIST]
"""
import argparse
import datetime
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import benchlib  # bench/benchlib.py: this script's directory is on sys.path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOADS = [("SYNC", 3), ("ASYNC", 3), ("BATCH", 3), ("REVEAL", 3), ("OVERLAP", 3), ("RATE", 3), ("LAT", 2), ("BW", 2), ("EXCHANGE", 2),
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


run = benchlib.run


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


def check_baseline(base):
    """The release directory of another partyline build: its wrappers, launcher and library."""
    base = os.path.abspath(base)
    for f in ("mpicc", "partyrun", "libpartyline.so"):
        if not os.path.isfile(os.path.join(base, f)):
            fail(f"--baseline {base}: no {f} there (build it with: make build, in that tree)")
    if not os.path.exists(os.path.join(base, "libmpi_abi.so.1")):
        fail(f"--baseline {base}: no libmpi_abi.so.1 there (make build makes it, or: "
             f"ln -sf libpartyline.so {os.path.join(base, 'libmpi_abi.so.1')})")
    return base


def lib_env(libdir):
    """The environment for a binary built against the partyline in libdir: that directory first on LD_LIBRARY_PATH,
    so an inherited LD_LIBRARY_PATH (searched before the wrapper's RUNPATH) cannot load another build's library."""
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = libdir + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    return env


def check_loads(binary, libdir, env, what):
    """ldd must resolve the binary's libmpi_abi.so.1 to libdir's library."""
    out = run(["ldd", binary], 30, f"ldd {binary}", env=env)
    m = re.search(r"^\s*libmpi_abi\.so\.1 => (\S+)", out, re.M)
    want = os.path.realpath(os.path.join(libdir, "libpartyline.so"))
    if not m or os.path.realpath(m.group(1)) != want:
        fail(f"the {what} benchmark does not load {want}:\n{out}")
    print(f"{what}: {os.path.basename(binary)} loads {m.group(1)}", flush=True)


def build(tmp, base=None):
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
    envs = {}
    if base:
        # through the baseline's own mpicc, so the binary links (and its RUNPATH names) the baseline's library
        bins["baseline"] = os.path.join(tmp, "pb-baseline")
        run([os.path.join(base, "mpicc")] + cflags + [src, "-o", bins["baseline"]], 120,
            "compiling against the baseline")
        envs = {"partyline": lib_env(target), "partyline-tls": lib_env(target), "baseline": lib_env(base)}
        check_loads(bins["partyline"], target, envs["partyline"], "partyline")
        check_loads(bins["baseline"], base, envs["baseline"], "baseline")
    run([os.environ.get("CC", "cc")] + cflags + [os.path.join(ROOT, "bench", "rawring.c"), "-o", bins["raw"]], 120,
        "compiling rawring.c")
    certs = os.path.join(tmp, "certs")
    run([os.path.join(target, "partyrun"), "certs", "--parties", "3", "--out", certs], 60, "making TLS certificates")
    bins["partyline-tls"] = bins["partyline"]
    launch = {"partyline": lambda n: [os.path.join(target, "partyrun"), "-n", str(n)],
              "partyline-tls": lambda n: [os.path.join(target, "partyrun"), "--tls-dir", certs, "-n", str(n)],
              "openmpi": lambda n: [mpirun] + OMPI_FLAGS + ["-np", str(n)]}
    if base:
        launch["baseline"] = lambda n: [os.path.join(base, "partyrun"), "-n", str(n)]
    return bins, launch, envs, ver


def startup(bins, launch, envs, impl, timeout, vals, units, log):
    """Wall time of launching an empty 3-rank MPI_Init/MPI_Finalize program, launcher included."""
    for _ in range(STARTUP_LAUNCHES):
        cmd = launch[impl](3) + [bins[impl], "STARTUP"]
        t0 = time.monotonic()
        run(cmd, timeout, f"STARTUP under {impl}", env=envs.get(impl))
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


def change(new, old, unit):
    """The baseline table's new/old: >1 means the new build is better, whether the unit is a time or a rate."""
    if new is None or old is None or new <= 0 or old <= 0:
        return None
    return new / old if unit in HIGHER_BETTER else old / new


def git_rev(where=ROOT):
    return benchlib.git_rev(where)


def overlap_vs_max(med, impl):
    """OVERLAP total time over max(compute, transfer): 1 is perfect overlap."""
    t, c, x = (med.get((impl, w, 64000000)) for w in ("OVERLAP", "OVERLAP_COMPUTE", "OVERLAP_TRANSFER"))
    return t / max(c, x) if None not in (t, c, x) and max(c, x) > 0 else None


def write_md(path, med, units, runs, quick, ompi_ver, loads, base=None):
    def cell(x):
        return "—" if x is None else (f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}")
    order = {w: i for i, (w, _) in enumerate(WORKLOADS)}
    keys = sorted({(wl, s) for (i, wl, s) in med if i != "partyline-tls"}, key=lambda k: (order.get(k[0].split("_")[0], 99), k[0], k[1]))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    based = f"; baseline {git_rev(base)} from {base}" if base else ""
    impls = "partyline, the baseline and Open MPI" if base else "partyline and Open MPI"
    flags = (" --quick" if quick else "") + (" --baseline" if base else "")
    lines = [f"<!-- written by bench/compare.py{flags}; do not edit -->",
             f"Run {now} on {benchlib.machine()}; partyline {git_rev()}{based}; {ompi_ver} (TCP BTL on loopback).",
             f"Medians of {runs} runs, {impls} alternating run by run. \"speedup\" is how many times "
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
    ov = {i: overlap_vs_max(med, i) for i in ("partyline", "openmpi", "partyline-tls", "baseline")}
    ran_overlap = any(wl == "OVERLAP" for (_, wl, _) in med)
    if ran_overlap:
        lines.append(f"| OVERLAP_VS_MAX | 64 MB | ratio | {cell(ov['partyline'])} | {cell(ov['openmpi'])} | — | — | — | — |")
    if base:
        lines += ["", f"Before and after: the baseline build ({git_rev(base)}, {base}) against this one ({git_rev()}), "
                  "from the same runs. \"change\" is new/old performance (>1: this build better, whether the unit is "
                  "a time or a rate); \"within 5%?\" is whether this build is at most 5% worse (change >= 0.95).",
                  "", "| workload | size | unit | baseline | partyline | change (new/old, >1 better) | within 5%? |",
                  "| --- | --- | --- | ---: | ---: | ---: | --- |"]
        rows = [(wl, s, units[wl], med.get(("baseline", wl, s)), med.get(("partyline", wl, s))) for wl, s in keys]
        if ran_overlap:
            rows.append(("OVERLAP_VS_MAX", 64000000, "ratio", ov["baseline"], ov["partyline"]))
        worse = []
        for wl, s, u, b, p in rows:
            # OVERLAP_COMPUTE is the busy loop, calibrated to the transfer time: not a measure of either build
            c = change(p, b, u) if wl != "OVERLAP_COMPUTE" else None
            ok = "—" if c is None else ("yes" if c >= 0.95 else "**no**")
            if c is not None and c < 0.95:
                worse.append(f"{wl} {human(wl, s)} ({c:.3g}x)")
            lines.append(f"| {wl} | {human(wl, s)} | {u} | {cell(b)} | {cell(p)} | {cell(c)}{'x' if c else ''} | "
                         f"{ok} |")
        lines += ["", "More than 5% worse than the baseline: " + ("; ".join(worse) if worse else "none") + "."]
    tls = sorted({(wl, s) for (i, wl, s) in med if i == "partyline-tls"})
    if tls:
        lines += ["", "TLS 1.3 on every link (partyline only; `partyrun --tls-dir`), against partyline plaintext from "
                  "the same runs. \"TLS of plaintext\" is TLS performance as a fraction of plaintext's "
                  "(>1: TLS faster).", "", "| workload | size | unit | plaintext | TLS | TLS of plaintext |",
                  "| --- | --- | --- | ---: | ---: | ---: |"]
        for wl, s in tls:
            p, t = med.get(("partyline", wl, s)), med.get(("partyline-tls", wl, s))
            u = units[wl]
            r = speedup(t, p, u) if p is not None and t is not None and wl != "OVERLAP_COMPUTE" else None
            lines.append(f"| {wl} | {human(wl, s)} | {u} | {cell(p)} | {cell(t)} | {cell(r)}{'x' if r else ''} |")
        if ran_overlap:
            lines.append(f"| OVERLAP_VS_MAX | 64 MB | ratio | {cell(ov['partyline'])} | {cell(ov['partyline-tls'])} "
                         "| — |")
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
    names = {"partyline": "partyline", "openmpi": "Open MPI", "baseline": "partyline baseline"}
    for wl, fname, ylabel in (("LAT", "lat.png", "one-way latency (us)"), ("BW", "bw.png", "bandwidth (MB/s)")):
        if not any(w == wl for (_, w, _) in med):
            continue
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
    if not vals:
        return
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
    ap.add_argument("--baseline", metavar="DIR", help="release directory of another partyline build (mpicc, partyrun, "
                    "libpartyline.so), run as a third implementation, with a before/after table")
    ap.add_argument("--workloads", metavar="LIST", help="comma-separated subset to run, e.g. SYNC,BATCH,RATE "
                    "(default: all, " + ",".join([w for w, _ in WORKLOADS] + ["STARTUP"]) + ")")
    a = ap.parse_args()
    runs = a.runs or (2 if a.quick else 5)
    base = check_baseline(a.baseline) if a.baseline else None
    known = [w for w, _ in WORKLOADS] + ["STARTUP"]
    chosen = [w.strip().upper() for w in a.workloads.split(",") if w.strip()] if a.workloads else known
    unknown = [w for w in chosen if w not in known]
    if unknown or not chosen:
        fail(f"--workloads: unknown {','.join(unknown) or '(empty list)'}; choose from {','.join(known)}")
    workloads = [(w, n) for w, n in WORKLOADS if w in chosen]
    os.makedirs(a.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="partybench-")
    try:
        bins, launch, envs, ompi_ver = build(tmp, base)
        vals, units, loads = {}, {}, []
        extra = ["--quick"] if a.quick else []
        impls = ["partyline", "openmpi"] + (["baseline"] if base else [])
        with open(os.path.join(a.out, "latest.log"), "w") as log:
            for r in range(runs):
                # which goes first rotates run by run (with two implementations: alternates)
                order = impls[r % len(impls):] + impls[:r % len(impls)]
                for wl, n in workloads:
                    loads.append(os.getloadavg()[0])
                    for impl in order:
                        cmd = launch[impl](n) + [bins[impl], wl, f"--impl={impl}"] + extra
                        out = run(cmd, a.timeout, f"{wl} under {impl} (run {r + 1})", env=envs.get(impl))
                        if not parse(out, impl, vals, units, log):
                            fail(f"{wl} under {impl} printed no RESULT line: {' '.join(cmd)}\n{out[-1000:]}")
                        if impl == "partyline" and wl in TLS_WORKLOADS:
                            cmd = launch["partyline-tls"](n) + [bins[impl], wl, "--impl=partyline-tls"] + extra
                            out = run(cmd, a.timeout, f"{wl} under partyline with TLS (run {r + 1})",
                                      env=envs.get("partyline-tls"))
                            if not parse(out, "partyline-tls", vals, units, log):
                                fail(f"{wl} under partyline with TLS printed no RESULT line: {' '.join(cmd)}")
                    if wl in RAW:
                        out = run([bins["raw"], wl] + extra, a.timeout, f"{wl} raw TCP (run {r + 1})")
                        if not parse(out, "raw", vals, units, log):
                            fail(f"rawring {wl} printed no RESULT line")
                if "STARTUP" in chosen:
                    for impl in order:
                        startup(bins, launch, envs, impl, a.timeout, vals, units, log)
                print(f"run {r + 1}/{runs} done", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in vals.items()}
    if not loads:
        loads.append(os.getloadavg()[0])
    table = write_md(os.path.join(a.out, "latest.md"), med, units, runs, a.quick, ompi_ver, loads, base)
    plots(a.out, med)
    print(table)
    print(f"\nwrote {os.path.join(a.out, 'latest.md')}")


if __name__ == "__main__":
    try:
        main()
    except benchlib.Failure as e:
        fail(str(e))
