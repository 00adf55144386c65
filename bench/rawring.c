/* rawring.c: the TCP floor: SYNC and BATCH ring shapes over plain loopback sockets, 3 processes forked here. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N 3
#define RAW_PROG "rawring"
#include "rawcommon.h"
static int to_pred, from_succ, quick;

/* Send `sn` bytes to pred while receiving `rn` bytes from succ, without deadlock at any size. */
static void xfer(char *sb, size_t sn, char *rb, size_t rn) {
  struct op o[2] = {{to_pred, 1, sb, sn, 0}, {from_succ, 0, rb, rn, 0}};
  run_ops(o, 2);
}

/* SYNC: 8 bytes to pred, then 8 bytes from succ, blocking. */
static void sync_ring(void) {
  int rounds = quick ? 3000 : 20000;
  int64_t v = rank, got = -1;
  double t0 = 0;
  for (int i = -500; i < rounds; i++) {
    if (i == 0) t0 = now();
    sync_step(to_pred, from_succ, v, &got);
  }
  if (got != (rank + 1) % N) { fprintf(stderr, "rawring: bad data\n"); exit(1); }
  result("SYNC", 8, (now() - t0) / rounds * 1e6, "us");
}

/* BATCH: ring exchange of 10^3 .. 10^7 int64, bytes sent per rank per second. */
static void batch(void) {
  static const long counts[] = {1000, 10000, 100000, 1000000, 10000000};
  static const int reps_full[] = {300, 100, 40, 10, 3};
  static const int reps_quick[] = {50, 0, 0, 3, 1};
  int64_t *a = malloc(10000000L * 8), *b = malloc(10000000L * 8);
  if (!a || !b) die("malloc");
  for (long i = 0; i < 10000000L; i++) a[i] = i + rank;
  for (int s = 0; s < 5; s++) {
    long n = counts[s];
    int reps = quick ? reps_quick[s] : reps_full[s];
    if (reps == 0) continue;
    int64_t tok = 0;
    for (int k = 0; k < 3; k++) xfer((char *)&tok, 8, (char *)&tok, 8); /* barrier-ish */
    xfer((char *)a, n * 8, (char *)b, n * 8);
    double t0 = now();
    for (int k = 0; k < reps; k++) xfer((char *)a, n * 8, (char *)b, n * 8);
    double t = now() - t0;
    if (b[n - 1] != n - 1 + (rank + 1) % N) { fprintf(stderr, "rawring: bad data\n"); exit(1); }
    result("BATCH", n, reps * n * 8.0 / t / 1e6, "MB/s");
  }
  free(a);
  free(b);
}

int main(int argc, char **argv) {
  const char *wl = argc > 1 ? argv[1] : "";
  quick = argc > 2 && !strcmp(argv[2], "--quick");
  if (strcmp(wl, "SYNC") && strcmp(wl, "BATCH")) {
    fprintf(stderr, "usage: rawring SYNC|BATCH [--quick]\n");
    return 2;
  }
  /* every rank's listener exists before any fork, so connects never race a bind */
  int lis[N];
  struct sockaddr_in addr[N];
  for (int i = 0; i < N; i++) {
    socklen_t len = sizeof addr[i];
    memset(&addr[i], 0, sizeof addr[i]);
    addr[i].sin_family = AF_INET;
    addr[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((lis[i] = socket(AF_INET, SOCK_STREAM, 0)) < 0) die("socket");
    if (bind(lis[i], (struct sockaddr *)&addr[i], sizeof addr[i]) || listen(lis[i], 4)) die("bind/listen");
    if (getsockname(lis[i], (struct sockaddr *)&addr[i], &len)) die("getsockname");
  }
  pid_t pid[N];
  for (int r = 0; r < N; r++) {
    if ((pid[r] = fork()) < 0) die("fork");
    if (pid[r] == 0) {
      rank = r;
      alarm(60);
      int pr = (r + N - 1) % N, one = 1;
      if ((to_pred = socket(AF_INET, SOCK_STREAM, 0)) < 0) die("socket");
      if (connect(to_pred, (struct sockaddr *)&addr[pr], sizeof addr[pr])) die("connect");
      if ((from_succ = accept(lis[r], NULL, NULL)) < 0) die("accept");
      setsockopt(to_pred, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      setsockopt(from_succ, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      for (int i = 0; i < N; i++) close(lis[i]);
      if (!strcmp(wl, "SYNC")) sync_ring();
      else batch();
      return 0;
    }
  }
  int bad = 0;
  for (int r = 0; r < N; r++) {
    int st;
    if (waitpid(pid[r], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
      fprintf(stderr, "rawring: rank %d failed (status %d)\n", r, st);
      bad = 1;
    }
  }
  return bad;
}
