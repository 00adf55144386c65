/* sizes.c: zero-length and 1 B .. 256 MiB messages between rank pairs, contents verified. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"

static int rank, size;


static void check_count(MPI_Status *st, int src, int tag, size_t len) {
    int cnt = -1;
    OK(MPI_Get_count(st, MPI_BYTE, &cnt));
    CHECK(cnt == (int)len);
    CHECK(st->MPI_SOURCE == src && st->MPI_TAG == tag);
}

/* Exchange len bytes with partner p twice: (0) pre-posted Irecv + blocking
 * Send, (1) ordered blocking Send/Recv (lower rank sends first).  A rank that
 * is its own partner uses Isend + Recv, which is valid MPI at any size. */
static void exchange(int p, size_t len) {
    unsigned char *s = malloc(len), *r = malloc(len);
    CHECK(s != NULL && r != NULL);
    int n = (int)len, tag = (int)(len % 30000);
    for (int k = 0; k < 2; k++) {
        MPI_Status st;
        MPI_Request req;
        pattern_fill(s, len, rank, k);
        memset(r, 0xEE, len);
        if (p == rank) {
            OK(MPI_Isend(s, n, MPI_BYTE, p, tag, MPI_COMM_WORLD, &req));
            OK(MPI_Recv(r, n, MPI_BYTE, p, tag, MPI_COMM_WORLD, &st));
            OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
        } else if (k == 0) {
            OK(MPI_Irecv(r, n, MPI_BYTE, p, tag, MPI_COMM_WORLD, &req));
            OK(MPI_Send(s, n, MPI_BYTE, p, tag, MPI_COMM_WORLD));
            OK(MPI_Wait(&req, &st));
        } else if (rank < p) {
            OK(MPI_Send(s, n, MPI_BYTE, p, tag, MPI_COMM_WORLD));
            OK(MPI_Recv(r, n, MPI_BYTE, p, tag, MPI_COMM_WORLD, &st));
        } else {
            OK(MPI_Recv(r, n, MPI_BYTE, p, tag, MPI_COMM_WORLD, &st));
            OK(MPI_Send(s, n, MPI_BYTE, p, tag, MPI_COMM_WORLD));
        }
        check_count(&st, p, tag, len);
        pattern_verify(r, len, p, k);
    }
    free(s);
    free(r);
}

/* Zero-length messages with NULL and non-NULL buffers; a larger receive
 * buffer must be left untouched. */
static void zero_length(int p) {
    unsigned char sb[16], rb[16];
    MPI_Status st;
    MPI_Request rq[2];
    memset(sb, 0x11, sizeof sb);
    memset(rb, 0x5A, sizeof rb);

    OK(MPI_Isend(NULL, 0, MPI_BYTE, p, 1, MPI_COMM_WORLD, &rq[0]));
    OK(MPI_Recv(NULL, 0, MPI_BYTE, p, 1, MPI_COMM_WORLD, &st));
    check_count(&st, p, 1, 0);
    OK(MPI_Wait(&rq[0], MPI_STATUS_IGNORE));

    OK(MPI_Isend(sb, 0, MPI_BYTE, p, 2, MPI_COMM_WORLD, &rq[0]));
    OK(MPI_Recv(rb, 16, MPI_BYTE, p, 2, MPI_COMM_WORLD, &st));
    check_count(&st, p, 2, 0);
    for (int i = 0; i < 16; i++) CHECK(rb[i] == 0x5A);
    OK(MPI_Wait(&rq[0], MPI_STATUS_IGNORE));

    /* NULL send into a non-NULL receive, both nonblocking, several in a row. */
    for (int k = 0; k < 5; k++) {
        OK(MPI_Irecv(rb, 16, MPI_INT, p, 3, MPI_COMM_WORLD, &rq[0]));
        OK(MPI_Isend(NULL, 0, MPI_INT, p, 3, MPI_COMM_WORLD, &rq[1]));
        OK(MPI_Waitall(2, rq, MPI_STATUSES_IGNORE));
    }
    /* A zero-length message followed by a real one: nothing lost or merged. */
    int v = 4242 + rank, w = 0;
    OK(MPI_Isend(NULL, 0, MPI_INT, p, 4, MPI_COMM_WORLD, &rq[0]));
    OK(MPI_Isend(&v, 1, MPI_INT, p, 4, MPI_COMM_WORLD, &rq[1]));
    OK(MPI_Recv(&w, 1, MPI_INT, p, 4, MPI_COMM_WORLD, &st));
    check_count(&st, p, 4, 0);
    OK(MPI_Recv(&w, 1, MPI_INT, p, 4, MPI_COMM_WORLD, &st));
    CHECK(w == 4242 + p);
    OK(MPI_Waitall(2, rq, MPI_STATUSES_IGNORE));
    for (int i = 0; i < 16; i++) CHECK(rb[i] == 0x5A);
}

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    size_t max = (size_t)256 << 20;
    if (argc > 1) max = (size_t)strtoull(argv[1], NULL, 0);

    /* Pairs (0,1), (2,3), ...; an odd last rank pairs with itself. */
    int p = (rank ^ 1) < size ? (rank ^ 1) : rank;
    zero_length(p);
    OK(MPI_Barrier(MPI_COMM_WORLD));

    const size_t sizes[] = {1, 7, 1024, 65535, 65536, 65537,
                            (size_t)1 << 20, (size_t)16 << 20, (size_t)256 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t len = sizes[i];
        if (len > max) break;
        /* The largest size only between ranks 0 and 1 to bound memory. */
        int active = len <= ((size_t)16 << 20) || rank < 2;
        if (active) exchange(p, len);
        OK(MPI_Barrier(MPI_COMM_WORLD));
        if (rank == 0) printf("sizes: %zu B ok\n", len);
    }

    OK(MPI_Finalize());
    if (rank == 0) printf("PASS sizes\n");
    return 0;
}
