#!/usr/bin/env python3
"""probe.py: the WAN emulator's self-check tools, run inside a party's namespace by bench/wan.py.

  probe.py ping DST COUNT INTERVAL      ICMP echo round trips (ping is not installed here), prints "RTT ms" per reply
  probe.py sink PORT SECONDS            accept one TCP connection, read until it closes, print "RECV bytes seconds"
                                        (from 1 s after the first byte: the steady state)
  probe.py source DST PORT SECONDS      send as fast as TCP allows for SECONDS, print "SENT bytes"
"""
import os
import select
import socket
import struct
import sys
import time


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ping(dst, count, interval):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    for seq in range(count):
        payload = struct.pack("!d", time.monotonic()) + b"x" * 48
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        pkt = struct.pack("!BBHHH", 8, 0, checksum(hdr + payload), ident, seq) + payload
        t0 = time.monotonic()
        s.sendto(pkt, (dst, 0))
        deadline = t0 + 2.0
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                print("LOST", flush=True)
                break
            data = s.recv(2048)
            ihl = (data[0] & 0xF) * 4
            typ, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if typ == 0 and rid == ident and rseq == seq:
                print(f"RTT {(time.monotonic() - t0) * 1e3:.3f}", flush=True)
                break
        time.sleep(max(0.0, interval - (time.monotonic() - t0)))


def sink(port, seconds):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(1)
    ls.settimeout(seconds + 10)
    c, _ = ls.accept()
    c.settimeout(seconds + 10)
    # bytes and time counted from 1 s after the first byte: the steady state, not the congestion control's start
    n, t0, t1, n1, buf = 0, None, None, 0, bytearray(1 << 20)
    while True:
        k = c.recv_into(buf)
        if not k:
            break
        now = time.monotonic()
        if t0 is None:
            t0 = now
        elif t1 is None and now - t0 >= 1.0:
            t1, n1 = now, n
        n += k
    end = time.monotonic()
    if t1 is None or end - t1 < 0.5:
        t1, n1 = t0 or end, 0
    print(f"RECV {n - n1} {end - t1:.6f} total {n}", flush=True)


def source(dst, port, seconds):
    deadline = time.monotonic() + 5
    while True:
        try:
            s = socket.create_connection((dst, port), timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    chunk, n = b"\0" * (1 << 20), 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s.sendall(chunk)
        n += len(chunk)
    s.close()
    print(f"SENT {n}", flush=True)


def main():
    a = sys.argv[1:]
    if a[:1] == ["ping"] and len(a) == 4:
        ping(a[1], int(a[2]), float(a[3]))
    elif a[:1] == ["sink"] and len(a) == 3:
        sink(int(a[1]), float(a[2]))
    elif a[:1] == ["source"] and len(a) == 4:
        source(a[1], int(a[2]), float(a[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
