/* fail_one.c: after a barrier, rank argv[1] fails (argv[2]: "exit" -> exit(3), "kill" -> SIGKILL,
   "abort" -> MPI_Abort(3)) while the others block in MPI_Recv: one from the failing rank, the
   rest from a healthy rank, so they only learn of the failure second hand. partyrun must blame
   the failing rank, not the ones that end because of it. */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"

static int rank, size;

int main(int argc, char **argv) {
    CHECK(argc == 3);
    const char *mode = argv[2];
    CHECK(strcmp(mode, "exit") == 0 || strcmp(mode, "kill") == 0 || strcmp(mode, "abort") == 0);
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    int failing = atoi(argv[1]);
    CHECK(size >= 2 && failing >= 0 && failing < size);
    /* The default error handler stays MPI_ERRORS_ARE_FATAL: the survivors' receives end them. */
    OK(MPI_Barrier(MPI_COMM_WORLD));

    if (rank == failing) {
        fflush(stdout);
        if (strcmp(mode, "kill") == 0) raise(SIGKILL);
        if (strcmp(mode, "abort") == 0) MPI_Abort(MPI_COMM_WORLD, 3);
        exit(3);
    }
    /* The rank after the failing one waits on it; every other rank waits on that healthy one. */
    int watcher = (failing + 1) % size;
    int from = rank == watcher ? failing : watcher;
    int v = -1;
    int rc = MPI_Recv(&v, 1, MPI_INT, from, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    /* Nobody sends this message: reaching here means the failure did not end us. */
    fprintf(stderr, "rank %d: MPI_Recv from %d returned %d\n", rank, from, rc);
    return 1;
}
