/* rawcommon.h: what the raw-TCP floor programs (rawring.c, wan/rawnet.c) share: the rank, fatal errors, the clock and partybench's result line. Define RAW_PROG (the program's name) first. */
#ifndef PARTYLINE_RAWCOMMON_H
#define PARTYLINE_RAWCOMMON_H
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#endif
