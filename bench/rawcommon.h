/* rawcommon.h: what the raw-TCP floor programs (rawring.c, wan/rawnet.c) share: the rank, fatal errors, the clock, partybench's result line and the socket loops. Define RAW_PROG (the program's name) first. */
#ifndef PARTYLINE_RAWCOMMON_H
#define PARTYLINE_RAWCOMMON_H
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static int rank;

static void die(const char *what) {
  fprintf(stderr, RAW_PROG " rank %d: %s: %s\n", rank, what, strerror(errno));
  exit(1);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The line bench/compare.py and bench/wan.py parse, as partybench prints it. */
static void result(const char *wl, long sz, double v, const char *unit) {
  if (rank == 0) printf("RESULT impl=raw workload=%s size=%ld value=%.6g unit=%s\n", wl, sz, v, unit);
  fflush(stdout);
}
/* One transfer in progress: send or receive `len` bytes on `fd`. */
struct op {
  int fd, out;
  char *buf;
  size_t len, off;
};

/* Run all ops to completion at once (non-blocking, poll), so a ring never deadlocks at any size. */
static void run_ops(struct op *o, int n) {
  for (;;) {
    struct pollfd p[4];
    int left = 0;
    for (int i = 0; i < n; i++) {
      while (o[i].off < o[i].len) {
        ssize_t k = o[i].out ? send(o[i].fd, o[i].buf + o[i].off, o[i].len - o[i].off, MSG_DONTWAIT | MSG_NOSIGNAL)
                             : recv(o[i].fd, o[i].buf + o[i].off, o[i].len - o[i].off, MSG_DONTWAIT);
        if (k > 0) { o[i].off += (size_t)k; continue; }
        if (k == 0) { errno = ECONNRESET; die("recv: peer closed"); }
        if (errno == EAGAIN || errno == EINTR) break;
        die(o[i].out ? "send" : "recv");
      }
      p[i].fd = o[i].fd;
      p[i].events = o[i].off < o[i].len ? (o[i].out ? POLLOUT : POLLIN) : 0;
      left += o[i].off < o[i].len;
    }
    if (!left) return;
    if (poll(p, (nfds_t)n, 30000) <= 0) die("poll (stalled 30 s)");
  }
}

/* One SYNC step (Secrecy's exchange_shares): 8 bytes to `to`, then 8 bytes from `from`, blocking. */
static void sync_step(int to, int from, int64_t v, int64_t *got) {
  if (send(to, &v, 8, MSG_NOSIGNAL) != 8) die("send");
  size_t o = 0;
  while (o < 8) {
    ssize_t k = recv(from, (char *)got + o, 8 - o, 0);
    if (k <= 0) die("recv");
    o += (size_t)k;
  }
}
#endif
