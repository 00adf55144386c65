#!/usr/bin/env python3
"""overlap.py: ICOLL (nonblocking collective overlap, OSU style) under partyline and Open MPI, alternating runs, medians to bench/results/overlap.md."""
import argparse
import os
import re
import statistics
import sys
import time

from benchlib import Failure, git_rev, machine, run

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OMPI = os.environ.get("OMPI_BIN", "/usr/bin")
LINE = re.compile(r"RESULT impl=(\S+) workload=(\S+) size=(\d+) value=(\S+) unit=(\S+)")


def build(release):
    flags = ["-O2", "-Wall", "-Wextra", "-Werror", os.path.join(HERE, "partybench.c")]
    run([os.path.join(release, "mpicc"), *flags, "-o", "/tmp/partybench-partyline"], 120, "compiling with partyline's mpicc")
    run([os.path.join(OMPI, "mpicc.openmpi"), *flags, "-o", "/tmp/partybench-openmpi"], 120, "compiling with Open MPI's mpicc")


def command(impl, release, ranks, extra):
    if impl == "partyline":
        return [os.path.join(release, "partyrun"), "-n", str(ranks), "/tmp/partybench-partyline", "ICOLL", *extra]
    return [os.path.join(OMPI, "mpirun"), "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "lo",
            "--oversubscribe", "--allow-run-as-root", "-np", str(ranks), "/tmp/partybench-openmpi", "ICOLL", *extra]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ranks", type=int, default=3)
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--release", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release"))
    ap.add_argument("--out", default=os.path.join(HERE, "results", "overlap.md"))
    args = ap.parse_args()
    build(args.release)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    if os.path.exists(args.out.replace(".md", ".log")):
        os.remove(args.out.replace(".md", ".log"))
    values = {}
    loads = []
    for round_ in range(args.runs):
        impls = ["partyline", "openmpi"] if round_ % 2 == 0 else ["openmpi", "partyline"]
        for impl in impls:
            for extra in ([], ["--sleep"]):
                cmd = command(impl, args.release, args.ranks, [*extra, f"--impl={impl}"])
                try:
                    stdout = run(cmd, args.timeout, f"ICOLL under {impl}")
                except Failure as e:
                    sys.exit(str(e))
                found = LINE.findall(stdout)
                if not found:
                    sys.exit(f"ICOLL under {impl} printed no result: {' '.join(cmd)}\n{stdout}")
                with open(args.out.replace(".md", ".log"), "a") as log:
                    log.write(stdout)
                for i, wl, size, value, unit in found:
                    values.setdefault((i, wl, int(size)), []).append(float(value))
                loads.append(os.getloadavg()[0])
                print(f"run {round_ + 1}/{args.runs} {impl} {' '.join(extra) or 'busy'}: ok", flush=True)
    write(args, values, loads)


def write(args, values, loads):
    med = {k: statistics.median(v) for k, v in values.items()}
    rows = []
    for mode, prefix in (("busy loop", "ICOLL_"), ("sleep", "ICOLL_SLEEP_")):
        for op in ("IALLREDUCE", "IGATHER"):
            sizes = sorted({k[2] for k in med if k[1] == prefix + op})
            for size in sizes:
                cells = []
                for impl in ("partyline", "openmpi"):
                    coll, work, total = (med.get((impl, prefix + op + s, size), float("nan")) for s in ("_COLL", "_COMPUTE", ""))
                    # From the medians shown, so the row is self-consistent (each run's own ratio is in the log).
                    overlap = 100 * (work + coll - total) / min(work, coll)
                    cells.append(f"{coll:,.0f} | {work:,.0f} | {total:,.0f} | **{overlap:.0f}%**")
                rows.append(f"| {op.title()} | {mode} | {size >> 10} KiB | " + " | ".join(cells) + " |")
    lines = [
        "# Nonblocking collective overlap (ICOLL)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {machine()}; partyline {git_rev(ROOT)}; "
        f"{args.ranks} ranks on loopback; medians of {args.runs} alternating runs (each time itself the median over "
        f"repetitions of the slowest rank); load average during the runs {min(loads):.1f}-{max(loads):.1f} "
        "(other jobs shared the machine). Every RESULT line is in overlap.log.",
        "Open MPI 4.1.4: `mpirun --mca btl tcp,self --mca btl_tcp_if_include lo --oversubscribe`.",
        "",
        "Times in us per operation: coll = post then wait at once; work = the work alone; total = post, work, wait.",
        "Overlap = (work + coll - total) / min(work, coll): 100% fully hidden, 0% serialized, below 0 worse than serialized.",
        "Busy loop: every rank computes on the CPU. Sleep: the work leaves the CPU free (as waiting for a disk or GPU).",
        "",
        "| op | work | size per rank | partyline coll | work | total | overlap | Open MPI coll | work | total | overlap |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
