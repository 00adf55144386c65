/* abort.c: rank N-1 calls MPI_Abort(MPI_COMM_WORLD, 5) while the others block in MPI_Recv from it. */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "check.h"

static int rank, size;


int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    OK(MPI_Barrier(MPI_COMM_WORLD));

    if (rank == size - 1) {
        /* Give the others time to block in MPI_Recv first. */
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
        printf("rank %d: calling MPI_Abort(MPI_COMM_WORLD, 5)\n", rank);
        fflush(stdout);
        MPI_Abort(MPI_COMM_WORLD, 5);
        fprintf(stderr, "rank %d: MPI_Abort returned\n", rank);
        return 3;
    }
    int v = -1;
    int rc = MPI_Recv(&v, 1, MPI_INT, size - 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    /* Nobody sends this message: reaching here means the abort did not end us. */
    fprintf(stderr, "rank %d: MPI_Recv returned %d after the abort\n", rank, rc);
    return 3;
}
