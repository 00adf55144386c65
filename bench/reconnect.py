#!/usr/bin/env python3
"""reconnect.py: how long a link is down after a TCP reset, until traffic flows again.

Two ranks exchange 1 MB buffers (tests/c/exchange.c) while the link from rank 1 to rank 0 passes
through a proxy here that resets both of its connections (SO_LINGER 0, so both ends see an RST)
every --every MB. Each rank logs (PARTYLINE_VERBOSE=1) "the link to rank R is back after X s",
measured from the moment it saw the break to the moment the new connection was installed and
replay began. Prints the median, minimum and maximum over all resets, per side, and checks that
the exchange still verified every byte.

Usage: bench/reconnect.py [--resets N] [--every MB] [--rounds N] [--tls]
"""
import argparse
import os
import re
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BACK = re.compile(r"rank (\d+)\]: the link to rank \d+ is back after ([0-9.]+) s")


class Proxy:
    """Forwards each accepted connection to `target`; resets it after `every` bytes from the
    client, at most `resets` times in all."""

    def __init__(self, target, every, resets):
        self.target, self.every, self.left = target, every, resets
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            client, _ = self.listener.accept()
            server = socket.create_connection(self.target)
            pair = (client, server)
            threading.Thread(target=self.pump, args=(client, server, pair, True), daemon=True).start()
            threading.Thread(target=self.pump, args=(server, client, pair, False), daemon=True).start()

    def pump(self, src, dst, pair, counted):
        moved = 0
        while True:
            try:
                data = src.recv(1 << 16)
            except OSError:
                return
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            try:
                dst.sendall(data)
            except OSError:
                return
            moved += len(data)
            if counted and moved >= self.every:
                with self.lock:
                    if self.left <= 0:
                        counted = False
                        continue
                    self.left -= 1
                for s in pair:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    s.close()
                return


def free_listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resets", type=int, default=20)
    ap.add_argument("--every", type=int, default=16, help="MB from rank 1 to rank 0 between resets")
    ap.add_argument("--rounds", type=int, default=None, help="exchange rounds (default: enough for every reset)")
    ap.add_argument("--tls", action="store_true")
    args = ap.parse_args()
    release = os.path.join(ROOT, "target", "release")
    subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="partyline-reconnect-")
    program = os.path.join(work, "exchange")
    subprocess.run([os.path.join(release, "mpicc"), "-O2", "-o", program,
                    os.path.join(ROOT, "tests", "c", "exchange.c")], check=True)
    rounds = args.rounds or (args.resets + 2) * args.every
    # Rank 0's listener is made here and handed over (PARTYLINE_LISTEN_FD): no port race.
    listener0 = free_listener()
    port0 = listener0.getsockname()[1]
    proxy = Proxy(("127.0.0.1", port0), args.every << 20, args.resets)
    listener1 = free_listener()
    port1 = listener1.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTYLINE_")}
    env.update(PARTYLINE_SIZE="2", PARTYLINE_JOB_ID=f"reconnect-{os.getpid()}", PARTYLINE_VERBOSE="1",
               PARTYLINE_RECONNECT_TIMEOUT="30")
    if args.tls:
        certs = os.path.join(work, "certs")
        subprocess.run([os.path.join(release, "partyrun"), "certs", "--parties", "2", "--out", certs], check=True,
                       stdout=subprocess.DEVNULL)
        env["PARTYLINE_TLS_DIR"] = certs
    else:
        env["PARTYLINE_INSECURE"] = "1"
    peers = [f"127.0.0.1:{port0}", f"127.0.0.1:{port1}"]
    ranks = []
    for rank, listener in enumerate([listener0, listener1]):
        mine = list(peers)
        if rank == 1:
            mine[0] = f"127.0.0.1:{proxy.port}"
        e = dict(env, PARTYLINE_RANK=str(rank), PARTYLINE_PEERS=",".join(mine),
                 PARTYLINE_LISTEN_FD=str(listener.fileno()))
        ranks.append(subprocess.Popen([program, str(rounds)], env=e, pass_fds=[listener.fileno()],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    listener0.close()
    listener1.close()
    outs = [r.communicate(timeout=600) for r in ranks]
    for rank, (p, (out, err)) in enumerate(zip(ranks, outs)):
        if p.returncode != 0 or "exchange OK" not in out:
            sys.exit(f"rank {rank} failed (status {p.returncode}):\n{err[-3000:]}")
    downs = {0: [], 1: []}
    for _, err in outs:
        for rank, secs in BACK.findall(err):
            downs[int(rank)].append(float(secs) * 1000)
    mode = "TLS" if args.tls else "plaintext"
    print(f"{args.resets - proxy.left} resets, {rounds} rounds of 1 MB each way, {mode}; every byte verified")
    for rank, ms in downs.items():
        if ms:
            print(f"rank {rank} ({'dials' if rank else 'accepts'}): {len(ms)} reconnects, down median "
                  f"{statistics.median(ms):.2f} ms, min {min(ms):.2f} ms, max {max(ms):.2f} ms")
    print(f"RESULT reconnect {mode} median_ms={statistics.median(downs[0] + downs[1]):.2f}")


if __name__ == "__main__":
    main()
