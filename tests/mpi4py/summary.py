#!/usr/bin/env python3
"""Summarizes one mpi4py test run from its per-rank unittest logs (tests/mpi4py/run.sh).

    summary.py MPI NPROCS EXIT_STATUS SECONDS TIMEOUT LOGDIR [FLOOR]

Prints pass/fail/error/skip counts per rank (rank 0 first; other ranks only when they differ),
the failing tests, and, for a run that timed out or died, the test each rank was in. With FLOOR,
exits 1 (saying why) when the run timed out, a rank stopped before unittest's summary, or rank 0
passed fewer than FLOOR tests: the regression check `make test` applies (tests/mpi4py/floor).
"""

import pathlib
import re
import sys


def parse(text):
    """Counts and failing tests from unittest's verbose output."""
    ran = re.findall(r"^Ran (\d+) tests? in", text, re.M)
    counts = {"ran": int(ran[-1]) if ran else None}
    for key in ("failures", "errors", "skipped", "expected failures", "unexpected successes"):
        m = re.findall(rf"^(?:FAILED|OK) \(.*?\b{key}=(\d+)", text, re.M)
        counts[key] = int(m[-1]) if m else 0
    failing = re.findall(r"^(FAIL|ERROR): (\S+) \((\S+)\)", text, re.M)
    # The test a rank was in when it stopped: the last `name (module.Class.name) ... ` without a result.
    started = re.findall(r"^(\w+) \(([\w.]+)\)(?: \S.*)? \.\.\. ?(.*)$", text, re.M)
    last = started[-1] if started else None
    unfinished = last[1] if last and not last[2].strip() else None
    return counts, failing, unfinished


def main(argv):
    mpi, nprocs, status, seconds, timeout, logdir = argv[1:7]
    logs = sorted(pathlib.Path(logdir).glob(f"n{nprocs}.rank*.log"), key=lambda p: int(p.stem.split("rank")[1]))
    floor = int(argv[7]) if len(argv) > 7 else None
    head = f"{mpi} -n {nprocs}: exit status {status}, {seconds} s"
    problems = []
    if status == "124" or status == "137":
        head += f" (KILLED after the {timeout} s timeout)"
        problems.append(f"the run hung and was killed after {timeout} s")
    print(head)
    if not logs:
        print("  no rank wrote a log")
        return ["no rank wrote a log"]
    reference = None
    rank0_passed = None
    for log in logs:
        rank = log.stem.split("rank")[1]
        counts, failing, unfinished = parse(log.read_text(errors="replace"))
        if counts["ran"] is None:
            print(f"  rank {rank}: no unittest summary; stopped in {unfinished or 'startup'}")
            problems.append(f"rank {rank} stopped in {unfinished or 'startup'} before the end of the suite")
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            for line in tail:
                print(f"    | {line[:200]}")
            continue
        # unittest counts each failing subtest and setUpClass as a failure or error of its own, so
        # the tests that passed are counted from the verbose `... ok` lines instead.
        text = log.read_text(errors="replace")
        passed = len(re.findall(r"\.\.\. ok$|^ok$", text, re.M))
        tests = {f[2] for f in failing}
        if rank0_passed is None:
            rank0_passed = passed
        summary = (f"ran {counts['ran']}: {passed} passed, {counts['skipped']} skipped; "
                   f"{counts['failures']} failures and {counts['errors']} errors in {len(tests)} tests")
        if reference is None or summary != reference[0] or {f[2] for f in failing} != reference[1]:
            print(f"  rank {rank}: {summary}")
            for kind, test in sorted({(k, t) for k, _, t in failing}, key=lambda f: f[1]):
                print(f"    {kind} {test}")
        if reference is None:
            reference = (summary, {f[2] for f in failing})
    if floor is not None and rank0_passed is not None and rank0_passed < floor:
        problems.append(f"rank 0 passed {rank0_passed} tests, fewer than the {floor} of tests/mpi4py/floor")
    return problems


if __name__ == "__main__":
    found = main(sys.argv)
    if len(sys.argv) > 7 and found:
        for p in found:
            print(f"mpi4py REGRESSION (-n {sys.argv[2]}): {p}", file=sys.stderr)
        sys.exit(1)
