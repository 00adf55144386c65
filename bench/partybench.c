/* partybench.c: MPI benchmark workloads (SYNC ASYNC BATCH ROUNDS REVEAL OVERLAP ICOLL RATE LAT BW EXCHANGE MEM STARTUP), built unchanged against partyline and Open MPI. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int rank, size, pred, succ, quick;
static long rss_at_init; /* VmRSS in KiB right after MPI_Init, -1 if unknown */
static const char *impl = "mpi";
/* --reps=N and --bytes=A,B,..: the WAN runner's fewer repetitions and its own sizes (0 / none: the defaults) */
static int reps_override, paced, sleeping;
static long bytes_list[16];
static int nbytes;

static void result(const char *wl, long sz, double v, const char *unit) {
  if (rank == 0) printf("RESULT impl=%s workload=%s size=%ld value=%.6g unit=%s\n", impl, wl, sz, v, unit);
  fflush(stdout);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) { fprintf(stderr, "partybench: out of memory allocating %zu bytes\n", n); MPI_Abort(MPI_COMM_WORLD, 2); }
  memset(p, (int)(rank + 1), n);
  return p;
}

static void need_ranks(int n, const char *wl) {
  if (size != n) {
    if (rank == 0) fprintf(stderr, "partybench: %s needs exactly %d ranks, got %d\n", wl, n, size);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
}

/* SYNC: blocking Send to pred, Recv from succ, 8 bytes (Secrecy's exchange_shares per AND gate). */
static void sync_ring(void) {
  int rounds = reps_override ? reps_override : quick ? 3000 : 20000;
  int64_t v = rank, got = 0;
  for (int i = 0; i < (reps_override ? 5 : 500); i++) {
    MPI_Send(&v, 1, MPI_INT64_T, pred, 0, MPI_COMM_WORLD);
    MPI_Recv(&got, 1, MPI_INT64_T, succ, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  for (int i = 0; i < rounds; i++) {
    MPI_Send(&v, 1, MPI_INT64_T, pred, 0, MPI_COMM_WORLD);
    MPI_Recv(&got, 1, MPI_INT64_T, succ, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  }
  double t = MPI_Wtime() - t0;
  if (got != succ) { fprintf(stderr, "partybench: SYNC bad data\n"); MPI_Abort(MPI_COMM_WORLD, 3); }
  result("SYNC", 8, t / rounds * 1e6, "us");
}

/* ASYNC: Irecv from succ, Isend to pred, Wait, Wait; 8 bytes. */
static void async_ring(void) {
  int rounds = quick ? 3000 : 20000;
  int64_t v = rank, got = 0;
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = 0;
  for (int i = -500; i < rounds; i++) {
    if (i == 0) { MPI_Barrier(MPI_COMM_WORLD); t0 = MPI_Wtime(); }
    MPI_Request rr, sr;
    MPI_Irecv(&got, 1, MPI_INT64_T, succ, 0, MPI_COMM_WORLD, &rr);
    MPI_Isend(&v, 1, MPI_INT64_T, pred, 0, MPI_COMM_WORLD, &sr);
    MPI_Wait(&rr, MPI_STATUS_IGNORE);
    MPI_Wait(&sr, MPI_STATUS_IGNORE);
  }
  double t = MPI_Wtime() - t0;
  if (got != succ) { fprintf(stderr, "partybench: ASYNC bad data\n"); MPI_Abort(MPI_COMM_WORLD, 3); }
  result("ASYNC", 8, t / rounds * 1e6, "us");
}

/* One ring exchange of n int64: Irecv from succ, Isend to pred, Waitall. */
static void exchange(int64_t *a, int64_t *b, long n, int tag) {
  MPI_Request q[2];
  MPI_Irecv(b, (int)n, MPI_INT64_T, succ, tag, MPI_COMM_WORLD, &q[0]);
  MPI_Isend(a, (int)n, MPI_INT64_T, pred, tag, MPI_COMM_WORLD, &q[1]);
  MPI_Waitall(2, q, MPI_STATUSES_IGNORE);
}

/* BATCH: ring exchange of 10^3 .. 10^7 int64 (or --bytes sizes); reports bytes sent per rank per second. */
static void batch(void) {
  static const long counts[] = {1000, 10000, 100000, 1000000, 10000000};
  static const int reps_full[] = {300, 100, 40, 10, 3};
  static const int reps_quick[] = {50, 0, 0, 3, 1};
  int ns = nbytes ? nbytes : 5;
  long most = 0;
  for (int s = 0; s < ns; s++) {
    long n = nbytes ? bytes_list[s] / 8 : counts[s];
    most = n > most ? n : most;
  }
  int64_t *a = xmalloc(most * 8), *b = xmalloc(most * 8);
  for (long i = 0; i < most; i++) a[i] = i + rank;
  for (int s = 0; s < ns; s++) {
    long n = nbytes ? bytes_list[s] / 8 : counts[s];
    int reps = reps_override ? reps_override : quick ? reps_quick[s] : reps_full[s];
    if (reps == 0) continue;
    exchange(a, b, n, 1);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int k = 0; k < reps; k++) exchange(a, b, n, 1);
    double t = MPI_Wtime() - t0;
    if (b[n - 1] != n - 1 + succ) { fprintf(stderr, "partybench: BATCH bad data\n"); MPI_Abort(MPI_COMM_WORLD, 3); }
    result("BATCH", n, reps * n * 8.0 / t / 1e6, "MB/s");
  }
  free(a);
  free(b);
}

/* ROUNDS: one blocking ring exchange round (Isend/Irecv/Waitall, so Open MPI's rendezvous cannot deadlock) of
   64 KiB, 256 KiB, 1 MiB (or --bytes sizes), one after another; time per round. */
static void rounds(void) {
  static const long dflt[] = {64L << 10, 256L << 10, 1L << 20};
  int ns = nbytes ? nbytes : 3;
  long most = 0;
  for (int s = 0; s < ns; s++) {
    long n = nbytes ? bytes_list[s] : dflt[s];
    most = n > most ? n : most;
  }
  char *a = xmalloc(most), *b = xmalloc(most);
  for (int s = 0; s < ns; s++) {
    long n = nbytes ? bytes_list[s] : dflt[s];
    int reps = reps_override ? reps_override : quick ? 20 : 100;
    MPI_Request q[2];
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = 0;
    for (int k = -1; k < reps; k++) {
      if (k == 0) { MPI_Barrier(MPI_COMM_WORLD); t0 = MPI_Wtime(); }
      MPI_Irecv(b, (int)n, MPI_BYTE, succ, 10, MPI_COMM_WORLD, &q[0]);
      MPI_Isend(a, (int)n, MPI_BYTE, pred, 10, MPI_COMM_WORLD, &q[1]);
      MPI_Waitall(2, q, MPI_STATUSES_IGNORE);
    }
    double t = MPI_Wtime() - t0;
    if (b[n - 1] != (char)(succ + 1)) { fprintf(stderr, "partybench: ROUNDS bad data\n"); MPI_Abort(MPI_COMM_WORLD, 3); }
    result("ROUNDS", n, t / reps * 1e6, "us");
  }
  free(a);
  free(b);
}

/* REVEAL: ranks 1 and 2 send n int64 to rank 0 (opening shares), 10^3 and 10^6 (or --bytes sizes); time per reveal.
   Reveals follow each other unpaced, or with --paced each waits for a 1-byte go from rank 0: across a WAN the unpaced
   sends all arrive before rank 0 leaves the barrier, so only a paced reveal measures one on rank 0's clock. */
static void reveal(void) {
  static const long counts[] = {1000, 1000000};
  int ns = nbytes ? nbytes : 2;
  long most = 0;
  for (int s = 0; s < ns; s++) {
    long n = nbytes ? bytes_list[s] / 8 : counts[s];
    most = n > most ? n : most;
  }
  int64_t *a = xmalloc(most * 8), *b = xmalloc(2 * most * 8);
  for (int s = 0; s < ns; s++) {
    long n = nbytes ? bytes_list[s] / 8 : counts[s];
    int reps = reps_override ? reps_override : n < 100000 ? (quick ? 100 : 500) : (quick ? 5 : 30);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = 0;
    for (int k = -1; k < reps; k++) {
      if (k == 0) { MPI_Barrier(MPI_COMM_WORLD); t0 = MPI_Wtime(); }
      char go = 1;
      if (rank == 0) {
        MPI_Request q[2];
        MPI_Irecv(b, (int)n, MPI_INT64_T, 1, 2, MPI_COMM_WORLD, &q[0]);
        MPI_Irecv(b + n, (int)n, MPI_INT64_T, 2, 2, MPI_COMM_WORLD, &q[1]);
        if (paced)
          for (int p = 1; p < 3; p++) MPI_Send(&go, 1, MPI_CHAR, p, 11, MPI_COMM_WORLD);
        MPI_Waitall(2, q, MPI_STATUSES_IGNORE);
      } else {
        if (paced) MPI_Recv(&go, 1, MPI_CHAR, 0, 11, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(a, (int)n, MPI_INT64_T, 0, 2, MPI_COMM_WORLD);
      }
    }
    double t = MPI_Wtime() - t0;
    result("REVEAL", n, t / reps * 1e6, "us");
  }
  free(a);
  free(b);
}

static volatile uint64_t sink;
/* A busy loop that touches no MPI: `iters` rounds of integer mixing. */
static void compute(uint64_t iters) {
  uint64_t x = 88172645463325252ULL;
  for (uint64_t i = 0; i < iters; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; }
  sink = x;
}

static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* OVERLAP: post a 64 MB ring exchange, compute for about its transfer time, then wait. */
static void overlap(void) {
  const long n = 64L * 1000 * 1000 / 8;
  int64_t *a = xmalloc(n * 8), *b = xmalloc(n * 8);
  double tt[3];
  exchange(a, b, n, 4);
  for (int k = 0; k < 3; k++) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    exchange(a, b, n, 4);
    tt[k] = MPI_Wtime() - t0;
  }
  qsort(tt, 3, sizeof tt[0], cmp_dbl);
  double transfer = tt[1], tmax;
  MPI_Allreduce(&transfer, &tmax, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  /* calibrate the loop (all ranks computing at once, as in the overlapped run) to the transfer time */
  uint64_t iters = 1000000;
  double cs[3];
  for (int k = 0; k < 6; k++) {
    MPI_Barrier(MPI_COMM_WORLD);
    double c0 = MPI_Wtime();
    compute(iters);
    double c = MPI_Wtime() - c0;
    if (k < 3) iters = (uint64_t)(iters * (tmax / c));
    else cs[k - 3] = c;
  }
  qsort(cs, 3, sizeof cs[0], cmp_dbl);
  double comp = cs[1];
  double tot[3], post[3];
  for (int k = 0; k < 3; k++) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    MPI_Request q[2];
    MPI_Irecv(b, (int)n, MPI_INT64_T, succ, 5, MPI_COMM_WORLD, &q[0]);
    MPI_Isend(a, (int)n, MPI_INT64_T, pred, 5, MPI_COMM_WORLD, &q[1]);
    post[k] = MPI_Wtime() - t0;
    compute(iters);
    MPI_Waitall(2, q, MPI_STATUSES_IGNORE);
    tot[k] = MPI_Wtime() - t0;
  }
  qsort(tot, 3, sizeof tot[0], cmp_dbl);
  qsort(post, 3, sizeof post[0], cmp_dbl);
  double total = tot[1];
  /* the time the two posting calls took from the computation */
  result("OVERLAP_POST", n * 8, post[1] * 1e3, "ms");
  result("OVERLAP", n * 8, total * 1e3, "ms");
  result("OVERLAP_COMPUTE", n * 8, comp * 1e3, "ms");
  result("OVERLAP_TRANSFER", n * 8, transfer * 1e3, "ms");
  /* 1.0: total = max(compute, transfer); 0.0: total = compute + transfer */
  double lo = comp < transfer ? comp : transfer;
  result("OVERLAP_HIDDEN", n * 8, (comp + transfer - total) / lo, "fraction");
  free(a);
  free(b);
}

/* Median of the per-rank maxima of `reps` timings (every rank's array is reduced elementwise). */
static double median_of_max(double *t, int reps) {
  MPI_Allreduce(MPI_IN_PLACE, t, reps, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  qsort(t, (size_t)reps, sizeof t[0], cmp_dbl);
  return t[reps / 2];
}

/* ICOLL's work between post and wait: the busy loop, or with --sleep a sleep of `secs` (work that leaves the CPU
   free, as waiting for a disk or a GPU does: it shows progress alone, apart from CPU contention). */
static void icoll_work(uint64_t iters, double secs) {
  if (!sleeping) {
    compute(iters);
    return;
  }
  struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
  nanosleep(&ts, NULL);
}

/* One nonblocking collective of ICOLL: kind 0 Iallreduce (sum of int64), 1 Igather to rank 0 (a reveal). */
static void icoll_post(int kind, int64_t *in, int64_t *out, long n, MPI_Request *q) {
  if (kind == 0) MPI_Iallreduce(in, out, (int)n, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD, q);
  else MPI_Igather(in, (int)n, MPI_INT64_T, out, (int)n, MPI_INT64_T, 0, MPI_COMM_WORLD, q);
}

/* ICOLL: OSU-style overlap of Iallreduce and Igather (64 KiB to 4 MiB per rank): the collective alone (post, wait),
   a busy loop calibrated to that time alone, then post, loop, wait. Overlap = (compute + coll - total) /
   min(compute, coll): 1 fully hidden, 0 serialized. Each time is the median over repetitions of the slowest rank. */
static void icoll(void) {
  static const long dflt[] = {64L << 10, 256L << 10, 1L << 20, 4L << 20};
  int nsizes = nbytes ? nbytes : (quick ? 2 : 4);
  for (int kind = 0; kind < 2; kind++) {
    const char *name = kind == 0 ? (sleeping ? "ICOLL_SLEEP_IALLREDUCE" : "ICOLL_IALLREDUCE")
                                 : (sleeping ? "ICOLL_SLEEP_IGATHER" : "ICOLL_IGATHER");
    for (int si = 0; si < nsizes; si++) {
      long bytes = nbytes ? bytes_list[si] : dflt[si], n = bytes / 8;
      int reps = reps_override ? reps_override : (quick ? 5 : (bytes <= (256L << 10) ? 41 : 15));
      int64_t *in = xmalloc((size_t)n * 8), *out = xmalloc((size_t)n * 8 * (size_t)size);
      for (long i = 0; i < n; i++) in[i] = i ^ rank;
      double *t = xmalloc(sizeof(double) * (size_t)reps);
      MPI_Request q;
      for (int k = 0; k < 3; k++) { icoll_post(kind, in, out, n, &q); MPI_Wait(&q, MPI_STATUS_IGNORE); }
      for (int k = 0; k < reps; k++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        icoll_post(kind, in, out, n, &q);
        MPI_Wait(&q, MPI_STATUS_IGNORE);
        t[k] = MPI_Wtime() - t0;
      }
      double coll = median_of_max(t, reps);
      /* calibrate the loop to the collective's time, with every rank computing at once */
      uint64_t iters = 100000;
      for (int k = 0; k < (sleeping ? 0 : 4); k++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double c0 = MPI_Wtime();
        compute(iters);
        double c = MPI_Wtime() - c0, cmax;
        MPI_Allreduce(&c, &cmax, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        iters = (uint64_t)((double)iters * (coll / (cmax > 1e-7 ? cmax : 1e-7)));
        if (iters < 100) iters = 100;
      }
      for (int k = 0; k < reps; k++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double c0 = MPI_Wtime();
        icoll_work(iters, coll);
        t[k] = MPI_Wtime() - c0;
      }
      double comp = median_of_max(t, reps);
      for (int k = 0; k < reps; k++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        icoll_post(kind, in, out, n, &q);
        icoll_work(iters, coll);
        MPI_Wait(&q, MPI_STATUS_IGNORE);
        t[k] = MPI_Wtime() - t0;
      }
      double total = median_of_max(t, reps);
      double lo = comp < coll ? comp : coll;
      char wl[64];
      snprintf(wl, sizeof wl, "%s", name);
      result(wl, bytes, total * 1e6, "us");
      snprintf(wl, sizeof wl, "%s_COLL", name);
      result(wl, bytes, coll * 1e6, "us");
      snprintf(wl, sizeof wl, "%s_COMPUTE", name);
      result(wl, bytes, comp * 1e6, "us");
      snprintf(wl, sizeof wl, "%s_OVERLAP", name);
      result(wl, bytes, 100.0 * (comp + coll - total) / lo, "%");
      free(t);
      free(in);
      free(out);
    }
  }
}

/* RATE: 1000 outstanding 8-byte Isends (and Irecvs) per peer; messages sent per second per rank. */
static void rate(void) {
  const int w = 1000, npeer = size - 1;
  int reps = quick ? 10 : 50;
  int64_t *sb = xmalloc(8), *rb = xmalloc((size_t)w * npeer * 8);
  MPI_Request *q = malloc(sizeof(MPI_Request) * 2 * w * npeer);
  double t0 = 0;
  for (int k = -2; k < reps; k++) {
    if (k == 0) { MPI_Barrier(MPI_COMM_WORLD); t0 = MPI_Wtime(); }
    int m = 0;
    for (int p = 0, j = 0; p < size; p++) {
      if (p == rank) continue;
      for (int i = 0; i < w; i++) MPI_Irecv(rb + (size_t)j * w + i, 1, MPI_INT64_T, p, 6, MPI_COMM_WORLD, &q[m++]);
      j++;
    }
    for (int p = 0; p < size; p++) {
      if (p == rank) continue;
      for (int i = 0; i < w; i++) MPI_Isend(sb, 1, MPI_INT64_T, p, 6, MPI_COMM_WORLD, &q[m++]);
    }
    MPI_Waitall(m, q, MPI_STATUSES_IGNORE);
  }
  double t = MPI_Wtime() - t0;
  result("RATE", 8, (double)reps * w * npeer / t, "msg/s");
  free(q);
  free(sb);
  free(rb);
}

/* Message sizes for LAT and BW: 1 B to 4 MiB, powers of 4 (powers of 16 plus 4 MiB in quick mode). */
static int next_size(long *s) {
  long step = quick ? 16 : 4;
  if (*s >= 4L << 20) return 0;
  *s = *s * step > (4L << 20) ? (4L << 20) : *s * step;
  return 1;
}

/* LAT: 2-rank ping-pong; one-way latency = half the round trip. */
static void lat(void) {
  need_ranks(2, "LAT");
  char *buf = xmalloc(4L << 20);
  long s = 1;
  do {
    long it = (256L << 20) / s;
    it = it < 20 ? 20 : it > (quick ? 500 : 3000) ? (quick ? 500 : 3000) : it;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = 0;
    for (long i = -5; i < it; i++) {
      if (i == 0) t0 = MPI_Wtime();
      if (rank == 0) {
        MPI_Send(buf, (int)s, MPI_BYTE, 1, 7, MPI_COMM_WORLD);
        MPI_Recv(buf, (int)s, MPI_BYTE, 1, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      } else {
        MPI_Recv(buf, (int)s, MPI_BYTE, 0, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(buf, (int)s, MPI_BYTE, 0, 7, MPI_COMM_WORLD);
      }
    }
    result("LAT", s, (MPI_Wtime() - t0) / it / 2 * 1e6, "us");
  } while (next_size(&s));
  free(buf);
}

/* BW: 2-rank window bandwidth: 64 Isends of one size, Waitall, then a 1-byte ack. */
static void bw(void) {
  need_ranks(2, "BW");
  const int w = 64;
  char *buf = xmalloc(4L << 20), ack = 0;
  MPI_Request q[64];
  long s = 1;
  do {
    long it = (512L << 20) / (w * s);
    it = it < 4 ? 4 : it > (quick ? 100 : 500) ? (quick ? 100 : 500) : it;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = 0;
    for (long i = -2; i < it; i++) {
      if (i == 0) t0 = MPI_Wtime();
      if (rank == 0) {
        for (int k = 0; k < w; k++) MPI_Isend(buf, (int)s, MPI_BYTE, 1, 8, MPI_COMM_WORLD, &q[k]);
        MPI_Waitall(w, q, MPI_STATUSES_IGNORE);
        MPI_Recv(&ack, 1, MPI_BYTE, 1, 9, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      } else {
        for (int k = 0; k < w; k++) MPI_Irecv(buf, (int)s, MPI_BYTE, 0, 8, MPI_COMM_WORLD, &q[k]);
        MPI_Waitall(w, q, MPI_STATUSES_IGNORE);
        MPI_Send(&ack, 1, MPI_BYTE, 0, 9, MPI_COMM_WORLD);
      }
    }
    result("BW", s, (double)it * w * s / (MPI_Wtime() - t0) / 1e6, "MB/s");
  } while (next_size(&s));
  free(buf);
}

/* EXCHANGE: 2 ranks swap S bytes each way at once (Irecv, Isend, Waitall), as an MPC engine's
   batched share exchange does; 1 MiB and 4 MiB unless --bytes. MB/s each way. */
static void pair_exchange(void) {
  need_ranks(2, "EXCHANGE");
  long sizes[16] = {1L << 20, 4L << 20};
  int n = nbytes ? nbytes : 2;
  if (nbytes) memcpy(sizes, bytes_list, sizeof(long) * (size_t)nbytes);
  int other = 1 - rank;
  for (int k = 0; k < n; k++) {
    long s = sizes[k];
    char *out = xmalloc(s), *in = xmalloc(s);
    memset(out, rank + 1, (size_t)s);
    long it = reps_override > 0 ? reps_override : (512L << 20) / s;
    it = it < 20 ? 20 : it > (quick ? 100 : 1000) ? (quick ? 100 : 1000) : it;
    MPI_Request q[2];
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = 0;
    for (long i = -3; i < it; i++) {
      if (i == 0) t0 = MPI_Wtime();
      MPI_Irecv(in, (int)s, MPI_BYTE, other, 11, MPI_COMM_WORLD, &q[0]);
      MPI_Isend(out, (int)s, MPI_BYTE, other, 11, MPI_COMM_WORLD, &q[1]);
      MPI_Waitall(2, q, MPI_STATUSES_IGNORE);
    }
    double t = MPI_Wtime() - t0;
    if (in[0] != (char)(other + 1) || in[s - 1] != (char)(other + 1)) {
      fprintf(stderr, "partybench: EXCHANGE received wrong data\n");
      MPI_Abort(MPI_COMM_WORLD, 4);
    }
    result("EXCHANGE", s, (double)it * s / t / 1e6, "MB/s");
    free(out);
    free(in);
  }
}

/* This process's resident memory (VmRSS) in KiB, or -1. */
static long vm_rss(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "VmRSS:", 6)) { kib = strtol(line + 6, NULL, 10); break; }
  fclose(f);
  return kib;
}

/* MEM: resident memory per rank right after MPI_Init (the largest over the ranks). */
static void mem(void) {
  long most = 0;
  MPI_Reduce(&rss_at_init, &most, 1, MPI_LONG, MPI_MAX, 0, MPI_COMM_WORLD);
  if (rank == 0 && most <= 0) { fprintf(stderr, "partybench: no VmRSS in /proc/self/status\n"); MPI_Abort(MPI_COMM_WORLD, 3); }
  result("MEM", size, most / 1024.0, "MiB");
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  rss_at_init = vm_rss();
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  pred = (rank + size - 1) % size;
  succ = (rank + 1) % size;
  const char *wl = argc > 1 ? argv[1] : "";
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) quick = 1;
    else if (!strncmp(argv[i], "--impl=", 7)) impl = argv[i] + 7;
    else if (!strncmp(argv[i], "--reps=", 7)) reps_override = atoi(argv[i] + 7);
    else if (!strcmp(argv[i], "--paced")) paced = 1;
    else if (!strcmp(argv[i], "--sleep")) sleeping = 1;
    else if (!strncmp(argv[i], "--bytes=", 8)) {
      for (char *p = argv[i] + 8; *p && nbytes < 16; p += *p == ',') {
        char *e;
        long v = strtol(p, &e, 10);
        if (e == p || v < 8 || v > (1L << 30)) {
          if (rank == 0) fprintf(stderr, "partybench: --bytes wants sizes of 8 bytes to 1 GiB separated by commas, got %s\n", argv[i] + 8);
          MPI_Abort(MPI_COMM_WORLD, 2);
        }
        bytes_list[nbytes++] = v;
        p = e;
      }
    }
  }
  if (!strcmp(wl, "SYNC")) sync_ring();
  else if (!strcmp(wl, "ASYNC")) async_ring();
  else if (!strcmp(wl, "BATCH")) batch();
  else if (!strcmp(wl, "ROUNDS")) rounds();
  else if (!strcmp(wl, "REVEAL")) { need_ranks(3, wl); reveal(); }
  else if (!strcmp(wl, "OVERLAP")) overlap();
  else if (!strcmp(wl, "ICOLL")) icoll();
  else if (!strcmp(wl, "RATE")) rate();
  else if (!strcmp(wl, "LAT")) lat();
  else if (!strcmp(wl, "BW")) bw();
  else if (!strcmp(wl, "EXCHANGE")) pair_exchange();
  else if (!strcmp(wl, "MEM")) mem();
  else if (!strcmp(wl, "STARTUP")) {} /* nothing: the runner times the launch, MPI_Init and MPI_Finalize */
  else {
    if (rank == 0) fprintf(stderr, "usage: partybench SYNC|ASYNC|BATCH|ROUNDS|REVEAL|OVERLAP|ICOLL|RATE|LAT|BW|EXCHANGE|MEM|STARTUP [--quick] [--impl=NAME] [--reps=N] [--bytes=A,B,...] [--paced] [--sleep]\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  MPI_Finalize();
  return 0;
}
