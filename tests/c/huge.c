/* huge.c: one 3 GiB message (1 MiB contiguous type x 3072) from rank 0 to rank 1; other ranks idle. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"

static int rank, size;


#define BLOCK ((size_t)1 << 20)
#define PAGE ((size_t)4096)

/* One 8-byte word per 4 KiB page, at a page-dependent offset, so a lost,
 * repeated or shifted page is detected without touching every byte.  The
 * last word of each page is never used, so the tail marker cannot collide. */
static size_t slot(size_t page) { return page * PAGE + ((page * 7) % (PAGE / 8 - 1)) * 8; }
static uint64_t val(size_t page) { return page * 0x9E3779B97F4A7C15ull ^ 0x5EED; }

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    double gib = argc > 1 ? strtod(argv[1], NULL) : 3.0;
    int blocks = (int)(gib * 1024.0); /* 1 MiB blocks */
    CHECK(blocks >= 1);
    size_t len = (size_t)blocks * BLOCK, pages = len / PAGE;

    MPI_Datatype mib;
    OK(MPI_Type_contiguous((int)BLOCK, MPI_BYTE, &mib));
    OK(MPI_Type_commit(&mib));

    if (size >= 2 && rank < 2) {
        unsigned char *buf = malloc(len);
        CHECK(buf != NULL);
        OK(MPI_Barrier(MPI_COMM_WORLD));
        double t0 = MPI_Wtime();
        if (rank == 0) {
            for (size_t p = 0; p < pages; p++) {
                uint64_t v = val(p);
                memcpy(buf + slot(p), &v, 8);
            }
            memset(buf + len - 8, 0xC3, 8);
            t0 = MPI_Wtime();
            OK(MPI_Send(buf, blocks, mib, 1, 42, MPI_COMM_WORLD));
        } else {
            MPI_Status st;
            int cnt = -1;
            OK(MPI_Recv(buf, blocks, mib, 0, 42, MPI_COMM_WORLD, &st));
            double dt = MPI_Wtime() - t0;
            CHECK(st.MPI_SOURCE == 0 && st.MPI_TAG == 42);
            OK(MPI_Get_count(&st, mib, &cnt));
            CHECK(cnt == blocks);
            for (size_t p = 0; p < pages; p++) {
                uint64_t v;
                memcpy(&v, buf + slot(p), 8);
                if (v != val(p)) {
                    fprintf(stderr, "rank 1: page %zu holds %llx, want %llx\n", p,
                            (unsigned long long)v, (unsigned long long)val(p));
                    CHECK(0 && "message contents");
                }
            }
            for (size_t i = len - 8; i < len; i++) CHECK(buf[i] == 0xC3);
            printf("huge: %d MiB received in %.2f s (%.0f MB/s)\n", blocks, dt,
                   (double)len / dt / 1e6);
            fflush(stdout);
        }
        free(buf);
    } else {
        OK(MPI_Barrier(MPI_COMM_WORLD));
    }

    OK(MPI_Type_free(&mib));
    OK(MPI_Barrier(MPI_COMM_WORLD));
    OK(MPI_Finalize());
    if (rank == 0) printf("PASS huge\n");
    return 0;
}
