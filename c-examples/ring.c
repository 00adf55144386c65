/* ring.c: the Secrecy share-exchange shape (send to pred, receive from succ), timed and verified. */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Usage: ring [-r ROUNDS] [-m MAX_ELEMS] [-q]
 *   (a) ROUNDS rounds of a blocking 8-byte MPI_Send to pred + MPI_Recv from succ
 *   (b) ROUNDS rounds of an 8-byte Isend/Irecv pair + MPI_Waitall
 *   (c) int64 arrays of 10^3 .. MAX_ELEMS elements, Isend/Irecv and blocking
 * Times are the maximum over ranks.  -q: a quick run for tests. */

static int rank, size, pred, succ;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: rank %d: CHECK failed: %s\n", __FILE__,      \
                    __LINE__, rank, #cond);                                      \
            fflush(stderr);                                                      \
            MPI_Abort(MPI_COMM_WORLD, 1);                                        \
            exit(1);                                                             \
        }                                                                        \
    } while (0)
#define OK(call) CHECK((call) == MPI_SUCCESS)

/* Value i of iteration k sent by rank src. */
static int64_t val(int src, long k, long i) { return ((int64_t)src << 48) ^ ((int64_t)k << 32) ^ i; }

/* Maximum of t over all ranks, at rank 0 (point-to-point only: no MPI_Reduce). */
static double max_over_ranks(double t) {
    if (rank != 0) {
        OK(MPI_Send(&t, 1, MPI_DOUBLE, 0, 999, MPI_COMM_WORLD));
        return t;
    }
    for (int r = 1; r < size; r++) {
        double u;
        OK(MPI_Recv(&u, 1, MPI_DOUBLE, r, 999, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        if (u > t) t = u;
    }
    return t;
}

/* Send n values to pred, receive n from succ; blocking or nonblocking.  A
 * single rank is its own pred and succ, and a blocking self-send is not
 * valid MPI, so it always uses Isend. */
static void exchange(const int64_t *s, int64_t *r, int n, int blocking) {
    if (blocking && size > 1) {
        OK(MPI_Send(s, n, MPI_INT64_T, pred, 0, MPI_COMM_WORLD));
        OK(MPI_Recv(r, n, MPI_INT64_T, succ, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    } else {
        MPI_Request rq[2];
        OK(MPI_Irecv(r, n, MPI_INT64_T, succ, 0, MPI_COMM_WORLD, &rq[0]));
        OK(MPI_Isend(s, n, MPI_INT64_T, pred, 0, MPI_COMM_WORLD, &rq[1]));
        OK(MPI_Waitall(2, rq, MPI_STATUSES_IGNORE));
    }
}

static double element_wise(long rounds, int blocking) {
    OK(MPI_Barrier(MPI_COMM_WORLD));
    double t0 = MPI_Wtime();
    for (long k = 0; k < rounds; k++) {
        int64_t s = val(rank, k, 0), r = -1;
        exchange(&s, &r, 1, blocking);
        CHECK(r == val(succ, k, 0));
    }
    return max_over_ranks(MPI_Wtime() - t0) / (double)rounds * 1e6;
}

/* MB/s (per rank, bytes sent) for arrays of n elements. */
static double batched(long n, int iters, int blocking) {
    int64_t *s = malloc(sizeof(int64_t) * (size_t)n), *r = malloc(sizeof(int64_t) * (size_t)n);
    CHECK(s != NULL && r != NULL);
    double busy = 0.0;
    for (int k = 0; k < iters; k++) {
        for (long i = 0; i < n; i++) s[i] = val(rank, k, i);
        OK(MPI_Barrier(MPI_COMM_WORLD));
        double t0 = MPI_Wtime();
        exchange(s, r, (int)n, blocking);
        busy += MPI_Wtime() - t0;
        for (long i = 0; i < n; i++) CHECK(r[i] == val(succ, k, i));
    }
    free(s);
    free(r);
    double t = max_over_ranks(busy);
    return (double)n * 8.0 * iters / t / 1e6;
}

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    pred = (rank - 1 + size) % size;
    succ = (rank + 1) % size;

    long rounds = 10000, max_elems = 10000000;
    int quick = 0, opt;
    while ((opt = getopt(argc, argv, "r:m:q")) != -1) {
        switch (opt) {
        case 'r': rounds = atol(optarg); break;
        case 'm': max_elems = atol(optarg); break;
        case 'q': quick = 1; break;
        default:
            if (rank == 0) fprintf(stderr, "usage: ring [-r ROUNDS] [-m MAX_ELEMS] [-q]\n");
            MPI_Finalize();
            return 2;
        }
    }
    if (quick) {
        if (rounds > 300) rounds = 300;
        if (max_elems > 100000) max_elems = 100000;
    }
    CHECK(rounds >= 1 && max_elems >= 1 && max_elems <= 200000000);
    if (rank == 0) printf("ring: %d ranks, %ld rounds, arrays up to %ld int64\n", size, rounds, max_elems);

    double a = element_wise(rounds, 1);
    if (rank == 0) printf("(a) blocking Send/Recv, 8 B:       %9.2f us/round\n", a);
    double b = element_wise(rounds, 0);
    if (rank == 0) printf("(b) Isend/Irecv/Waitall, 8 B:      %9.2f us/round\n", b);

    for (long n = 1000; n <= max_elems; n *= 10) {
        int iters = quick ? 2 : (n <= 100000 ? 20 : 3);
        double nb = batched(n, iters, 0);
        double bl = batched(n, iters, 1);
        if (rank == 0)
            printf("(c) %8ld int64: Isend/Irecv %9.1f MB/s, Send/Recv %9.1f MB/s\n", n, nb, bl);
    }

    OK(MPI_Barrier(MPI_COMM_WORLD));
    OK(MPI_Finalize());
    if (rank == 0) printf("ring: OK\n");
    return 0;
}
