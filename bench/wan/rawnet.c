/* rawnet.c: the raw-TCP floor across hosts or namespaces: one process per rank, SYNC/BATCH/ROUNDS/REVEAL shapes as in partybench.c, same RESULT lines. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define N 3
#define RAW_PROG "rawnet"
#include "../rawcommon.h"
static int pred, succ, to_pred, from_succ, reps_override, nbytes;
static long bytes_list[16];

static void *xmalloc(size_t n) {
  char *p = malloc(n ? n : 1);
  if (!p) die("malloc");
  memset(p, rank + 1, n);
  return p;
}

/* Ring exchange: send sn bytes to pred while receiving rn from succ. */
static void xfer(char *sb, size_t sn, char *rb, size_t rn) {
  struct op o[2] = {{to_pred, 1, sb, sn, 0}, {from_succ, 0, rb, rn, 0}};
  run_ops(o, 2);
}

/* Everyone has reached this point once a token has gone around the ring twice. */
static void barrier(void) {
  char t = 0, r;
  for (int k = 0; k < 2; k++) xfer(&t, 1, &r, 1);
}

/* SYNC: 8 bytes to pred, then 8 bytes from succ, blocking (Secrecy's exchange_shares). */
static void sync_ring(void) {
  int rounds = reps_override ? reps_override : 20000;
  int64_t v = rank, got = -1;
  barrier();
  double t0 = 0;
  for (int i = -5; i < rounds; i++) {
    if (i == 0) t0 = now();
    sync_step(to_pred, from_succ, v, &got);
  }
  if (got != succ) { fprintf(stderr, "rawnet: SYNC bad data\n"); exit(1); }
  result("SYNC", 8, (now() - t0) / rounds * 1e6, "us");
}

/* BATCH (MB/s sent per rank, size in int64) and ROUNDS (us per round, size in bytes): back-to-back ring exchanges. */
static void ring(int is_batch) {
  static const long batch_dflt[] = {8000, 80000, 800000, 8000000, 80000000}, rounds_dflt[] = {65536, 262144, 1048576};
  int ns = nbytes ? nbytes : is_batch ? 5 : 3;
  long most = 0;
  for (int s = 0; s < ns; s++) {
    long n = nbytes ? bytes_list[s] : is_batch ? batch_dflt[s] : rounds_dflt[s];
    most = n > most ? n : most;
  }
  char *a = xmalloc(most), *b = xmalloc(most);
  for (int s = 0; s < ns; s++) {
    long n = nbytes ? bytes_list[s] : is_batch ? batch_dflt[s] : rounds_dflt[s];
    int reps = reps_override ? reps_override : is_batch ? 3 : 100;
    barrier();
    xfer(a, n, b, n);
    barrier();
    double t0 = now();
    for (int k = 0; k < reps; k++) xfer(a, n, b, n);
    double t = now() - t0;
    if (b[n - 1] != (char)(succ + 1)) { fprintf(stderr, "rawnet: bad data\n"); exit(1); }
    if (is_batch) result("BATCH", n / 8, reps * (double)n / t / 1e6, "MB/s");
    else result("ROUNDS", n, t / reps * 1e6, "us");
  }
  free(a);
  free(b);
}

/* REVEAL: ranks 1 and 2 send n bytes to rank 0, each reveal after a 1-byte go from rank 0 (partybench's
   --paced); time per reveal, size in int64. */
static void reveal(void) {
  static const long dflt[] = {8000, 8000000};
  int ns = nbytes ? nbytes : 2;
  long most = 0;
  for (int s = 0; s < ns; s++) {
    long n = nbytes ? bytes_list[s] : dflt[s];
    most = n > most ? n : most;
  }
  char *a = xmalloc(most), *b = xmalloc(2 * most);
  for (int s = 0; s < ns; s++) {
    long n = nbytes ? bytes_list[s] : dflt[s];
    int reps = reps_override ? reps_override : 30;
    barrier();
    double t0 = 0;
    for (int k = -1; k < reps; k++) {
      if (k == 0) { barrier(); t0 = now(); }
      /* rank 1 reaches 0 on its link to its predecessor; rank 2 on the link rank 0 (its successor) opened to it */
      char go = 1;
      if (rank == 0) {
        struct op g[2] = {{from_succ, 1, &go, 1, 0}, {to_pred, 1, &go, 1, 0}};
        run_ops(g, 2);
        struct op o[2] = {{from_succ, 0, b, n, 0}, {to_pred, 0, b + n, n, 0}};
        run_ops(o, 2);
      } else {
        int fd = rank == 1 ? to_pred : from_succ;
        struct op g = {fd, 0, &go, 1, 0}, o = {fd, 1, a, n, 0};
        run_ops(&g, 1);
        run_ops(&o, 1);
      }
    }
    result("REVEAL", n / 8, (now() - t0) / reps * 1e6, "us");
  }
  free(a);
  free(b);
}

static void usage(void) {
  fprintf(stderr, "usage: rawnet RANK HOST0,HOST1,HOST2 PORT SYNC|BATCH|ROUNDS|REVEAL [--reps=N] [--bytes=A,B,...] [--paced]\n"
                  "  every rank listens on PORT at its own HOST and connects to its predecessor's\n");
  exit(2);
}

static struct sockaddr_in addr_of(const char *host, int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  if (!inet_aton(host, &a.sin_addr)) { fprintf(stderr, "rawnet: %s is not an IPv4 address\n", host); exit(2); }
  return a;
}

int main(int argc, char **argv) {
  if (argc < 5) usage();
  rank = atoi(argv[1]);
  char *hosts[N], *save = NULL;
  int nh = 0;
  for (char *h = strtok_r(argv[2], ",", &save); h && nh < N; h = strtok_r(NULL, ",", &save)) hosts[nh++] = h;
  int port = atoi(argv[3]);
  const char *wl = argv[4];
  if (nh != N || rank < 0 || rank >= N || port <= 0) usage();
  for (int i = 5; i < argc; i++) {
    if (!strncmp(argv[i], "--reps=", 7)) reps_override = atoi(argv[i] + 7);
    else if (!strncmp(argv[i], "--bytes=", 8)) {
      for (char *p = argv[i] + 8; *p && nbytes < 16; p += *p == ',') {
        char *e;
        long v = strtol(p, &e, 10);
        if (e == p || v < 8) { fprintf(stderr, "rawnet: --bytes wants sizes >= 8 separated by commas\n"); return 2; }
        bytes_list[nbytes++] = v;
        p = e;
      }
    } else if (strcmp(argv[i], "--paced")) usage(); /* reveals here are always paced (partybench's --paced) */
  }
  pred = (rank + N - 1) % N;
  succ = (rank + 1) % N;
  alarm(600); /* never outlive a stuck run by much; the runner's timeout is the real bound */
  int one = 1, lis = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in me = addr_of(hosts[rank], port), to = addr_of(hosts[pred], port);
  setsockopt(lis, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (lis < 0 || bind(lis, (struct sockaddr *)&me, sizeof me) || listen(lis, 4)) die("bind/listen");
  /* ranks start in any order: retry the connection to the predecessor for up to 30 s */
  double give_up = now() + 30;
  for (;;) {
    if ((to_pred = socket(AF_INET, SOCK_STREAM, 0)) < 0) die("socket");
    if (!connect(to_pred, (struct sockaddr *)&to, sizeof to)) break;
    if (now() > give_up) die("connect to the predecessor (is it running?)");
    close(to_pred);
    usleep(20000);
  }
  if ((from_succ = accept(lis, NULL, NULL)) < 0) die("accept");
  close(lis);
  setsockopt(to_pred, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(from_succ, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!strcmp(wl, "SYNC")) sync_ring();
  else if (!strcmp(wl, "BATCH")) ring(1);
  else if (!strcmp(wl, "ROUNDS")) ring(0);
  else if (!strcmp(wl, "REVEAL")) reveal();
  else usage();
  return 0;
}
