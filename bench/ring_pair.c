/* ring_pair.c: the two shapes the core issue reports, built unchanged against partyline and
   Open MPI: the 8-byte blocking ring round, and the 8 MB (10^6 int64) Isend/Irecv ring exchange. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int r, n; MPI_Comm_rank(MPI_COMM_WORLD, &r); MPI_Comm_size(MPI_COMM_WORLD, &n);
  int pred = (r + n - 1) % n, succ = (r + 1) % n;
  int rounds = argc > 1 ? atoi(argv[1]) : 20000;
  int64_t v = r, got;
  for (int i = 0; i < 1000; i++) { MPI_Send(&v, 1, MPI_INT64_T, pred, 0, MPI_COMM_WORLD); MPI_Recv(&got, 1, MPI_INT64_T, succ, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE); }
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  for (int i = 0; i < rounds; i++) { MPI_Send(&v, 1, MPI_INT64_T, pred, 0, MPI_COMM_WORLD); MPI_Recv(&got, 1, MPI_INT64_T, succ, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE); }
  double t1 = MPI_Wtime();
  size_t cnt = 1000000; /* 8 MB */
  int64_t *a = malloc(cnt * 8), *b = malloc(cnt * 8);
  for (size_t i = 0; i < cnt; i++) a[i] = i + r;
  int reps = 20;
  MPI_Barrier(MPI_COMM_WORLD);
  double t2 = MPI_Wtime();
  for (int k = 0; k < reps; k++) {
    MPI_Request q[2];
    MPI_Irecv(b, cnt, MPI_INT64_T, succ, 1, MPI_COMM_WORLD, &q[0]);
    MPI_Isend(a, cnt, MPI_INT64_T, pred, 1, MPI_COMM_WORLD, &q[1]);
    MPI_Waitall(2, q, MPI_STATUSES_IGNORE);
  }
  double t3 = MPI_Wtime();
  if (b[5] != 5 + succ) { fprintf(stderr, "bad data\n"); return 1; }
  if (r == 0) printf("sync8_us %.2f batch8MB_MBps %.0f\n", (t1 - t0) / rounds * 1e6, reps * cnt * 8.0 / (t3 - t2) / 1e6);
  MPI_Finalize();
  return 0;
}
