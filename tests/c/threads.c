/* threads.c: MPI_THREAD_MULTIPLE for real: several threads per rank exchange around the ring
   at once, each on its own tag, with blocking and nonblocking calls, and every value checked. */
#include <mpi.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "check.h"

enum { THREADS = 4, ROUNDS = 300, BIG = 20000 };
static int rank, size;

static int64_t value(int from, int thread, int round, int i) {
    return ((int64_t)from << 40) ^ ((int64_t)thread << 32) ^ ((int64_t)round << 16) ^ i;
}

static void *worker(void *arg) {
    int t = (int)(intptr_t)arg;
    int pred = (rank + size - 1) % size, succ = (rank + 1) % size;
    int64_t *out = malloc(BIG * sizeof *out), *in = malloc(BIG * sizeof *in);
    CHECK(out && in);
    for (int r = 0; r < ROUNDS; r++) {
        int n = (r % 10 == 0) ? BIG : 1 + r % 7;
        for (int i = 0; i < n; i++) out[i] = value(rank, t, r, i);
        MPI_Status st;
        if (r % 2) {
            OK(MPI_Sendrecv(out, n, MPI_INT64_T, pred, t, in, n, MPI_INT64_T, succ, t, MPI_COMM_WORLD, &st));
        } else {
            MPI_Request q[2];
            OK(MPI_Irecv(in, n, MPI_INT64_T, succ, t, MPI_COMM_WORLD, &q[0]));
            OK(MPI_Isend(out, n, MPI_INT64_T, pred, t, MPI_COMM_WORLD, &q[1]));
            OK(MPI_Waitall(2, q, MPI_STATUSES_IGNORE));
        }
        for (int i = 0; i < n; i++) CHECK(in[i] == value(succ, t, r, i));
    }
    free(out);
    free(in);
    return NULL;
}

int main(int argc, char **argv) {
    int provided = -1;
    OK(MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    CHECK(provided == MPI_THREAD_MULTIPLE);
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) CHECK(pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t) == 0);
    for (int t = 0; t < THREADS; t++) CHECK(pthread_join(th[t], NULL) == 0);
    OK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0) printf("PASS threads\n");
    OK(MPI_Finalize());
    return 0;
}
