/* thread_exchange.c: an MPC engine's MPI_THREAD_MULTIPLE traffic. T worker threads all use MPI_COMM_WORLD and tell
   their messages apart by tag (thread t: 1000 + 10t to the successor, 1000 + 10t + 1 to the predecessor); each round
   every thread posts large Irecv/Isend pairs (1 to 8 MiB) with both ring neighbours and waits for all four.
   Every byte is checked (pattern from sender, thread, round and direction).
   Usage: thread_exchange T [ROUNDS] [--bench KIB]: with --bench, every message is KIB KiB, nothing is checked,
   and rank 0 prints the aggregate exchange rate (bench/threads.py). */
#include <pthread.h>
#include <stdint.h>
#include "check.h"

static int size, pred, succ, threads, rounds = 3, bench_kib;
static const size_t SIZES[] = {1 << 20, 3 << 20, 8 << 20, 2 << 20};

static size_t length(int round) {
    return bench_kib ? (size_t)bench_kib << 10 : SIZES[round % (int)(sizeof SIZES / sizeof SIZES[0])];
}

/* The pattern round of thread t's message in direction dir (0: to the successor, 1: to the predecessor). */
static int key(int t, int round, int dir) { return t * 256 + round * 2 + dir; }

static void *worker(void *arg) {
    int t = (int)(intptr_t)arg, tag = 1000 + 10 * t;
    size_t max = bench_kib ? length(0) : 8 << 20;
    unsigned char *to_succ = malloc(max), *to_pred = malloc(max), *from_pred = malloc(max), *from_succ = malloc(max);
    CHECK(to_succ && to_pred && from_pred && from_succ);
    if (bench_kib) {
        pattern_fill(to_succ, max, rank, key(t, 0, 0));
        pattern_fill(to_pred, max, rank, key(t, 0, 1));
    }
    for (int r = 0; r < rounds; r++) {
        size_t len = length(r);
        if (!bench_kib) {
            pattern_fill(to_succ, len, rank, key(t, r, 0));
            pattern_fill(to_pred, len, rank, key(t, r, 1));
        }
        MPI_Request q[4];
        MPI_Status st[4];
        OK(MPI_Irecv(from_pred, (int)len, MPI_BYTE, pred, tag, MPI_COMM_WORLD, &q[0]));
        OK(MPI_Irecv(from_succ, (int)len, MPI_BYTE, succ, tag + 1, MPI_COMM_WORLD, &q[1]));
        OK(MPI_Isend(to_succ, (int)len, MPI_BYTE, succ, tag, MPI_COMM_WORLD, &q[2]));
        OK(MPI_Isend(to_pred, (int)len, MPI_BYTE, pred, tag + 1, MPI_COMM_WORLD, &q[3]));
        OK(MPI_Waitall(4, q, st));
        if (bench_kib) continue;
        int n0 = -1, n1 = -1;
        OK(MPI_Get_count(&st[0], MPI_BYTE, &n0));
        OK(MPI_Get_count(&st[1], MPI_BYTE, &n1));
        CHECK((size_t)n0 == len && (size_t)n1 == len);
        CHECK(st[0].MPI_SOURCE == pred && st[0].MPI_TAG == tag && st[1].MPI_SOURCE == succ && st[1].MPI_TAG == tag + 1);
        pattern_verify(from_pred, len, pred, key(t, r, 0));
        pattern_verify(from_succ, len, succ, key(t, r, 1));
    }
    free(to_succ);
    free(to_pred);
    free(from_pred);
    free(from_succ);
    return NULL;
}

int main(int argc, char **argv) {
    int provided = -1;
    OK(MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided));
    CHECK(provided == MPI_THREAD_MULTIPLE);
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    CHECK(argc >= 2);
    threads = atoi(argv[1]);
    if (argc >= 3) rounds = atoi(argv[2]);
    if (argc >= 5 && strcmp(argv[3], "--bench") == 0) bench_kib = atoi(argv[4]);
    CHECK(threads >= 1 && threads <= 64 && rounds >= 1);
    pred = (rank + size - 1) % size;
    succ = (rank + 1) % size;
    pthread_t th[64];
    OK(MPI_Barrier(MPI_COMM_WORLD));
    double start = MPI_Wtime();
    for (int t = 0; t < threads; t++) CHECK(pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t) == 0);
    for (int t = 0; t < threads; t++) CHECK(pthread_join(th[t], NULL) == 0);
    OK(MPI_Barrier(MPI_COMM_WORLD));
    double secs = MPI_Wtime() - start;
    if (rank == 0 && bench_kib) {
        /* Bytes each rank sent (two messages per thread and round), per second. */
        double bytes = 2.0 * threads * rounds * (double)length(0);
        printf("RESULT workload=THREADS threads=%d size=%d value=%.1f unit=MB/s secs=%.3f\n", threads,
               bench_kib << 10, bytes / secs / 1e6, secs);
    }
    if (rank == 0) printf("PASS thread_exchange\n");
    OK(MPI_Finalize());
    return 0;
}
