/* ring_blocking.c: Secrecy's exchange_shares shape: blocking MPI_Send to pred, then MPI_Recv from succ. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"

/* Every rank sends first, so this only completes if MPI_Send returns before
 * the matching receive is posted (buffered sends at every size).  Standard
 * MPI does not promise that above the eager limit; partyline does. */

static int rank, size;



int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    size_t max = (size_t)64 << 20;
    if (argc > 1) max = (size_t)strtoull(argv[1], NULL, 0);
    int pred = (rank - 1 + size) % size, succ = (rank + 1) % size;

    const size_t sizes[] = {8, 65535, 65536, 65537, (size_t)1 << 20, (size_t)16 << 20,
                            (size_t)64 << 20};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t len = sizes[si];
        if (len > max) break;
        unsigned char *s = malloc(len), *r = malloc(len);
        CHECK(s != NULL && r != NULL);
        int rounds = len <= ((size_t)1 << 20) ? 5 : 2;
        double t0 = MPI_Wtime();
        for (int k = 0; k < rounds; k++) {
            MPI_Status st;
            int cnt = -1;
            pattern_fill(s, len, rank, k);
            memset(r, 0, len);
            if (size == 1) {
                /* Self-exchange: a blocking self-send could deadlock in MPI. */
                MPI_Request req;
                OK(MPI_Isend(s, (int)len, MPI_BYTE, pred, 0, MPI_COMM_WORLD, &req));
                OK(MPI_Recv(r, (int)len, MPI_BYTE, succ, 0, MPI_COMM_WORLD, &st));
                OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
            } else {
                OK(MPI_Send(s, (int)len, MPI_BYTE, pred, 0, MPI_COMM_WORLD));
                OK(MPI_Recv(r, (int)len, MPI_BYTE, succ, 0, MPI_COMM_WORLD, &st));
            }
            CHECK(st.MPI_SOURCE == succ && st.MPI_TAG == 0);
            OK(MPI_Get_count(&st, MPI_BYTE, &cnt));
            CHECK(cnt == (int)len);
            pattern_verify(r, len, succ, k);
            /* The send buffer is reusable as soon as MPI_Send returns. */
            memset(s, 0xA5, len);
        }
        if (rank == 0)
            printf("ring_blocking: %zu B x %d rounds ok (%.3f s)\n", len, rounds,
                   MPI_Wtime() - t0);
        free(s);
        free(r);
    }

    OK(MPI_Barrier(MPI_COMM_WORLD));
    OK(MPI_Finalize());
    if (rank == 0) printf("PASS ring_blocking\n");
    return 0;
}
