/* print_then_abort.c: every rank printf()s a line without fflush, then rank 1 fails an assert. Under partyrun the
   line must not be lost: stdout is a pty, which stdio line-buffers, rather than a fully buffered pipe. */
#define _POSIX_C_SOURCE 200809L
#include <assert.h>
#include <unistd.h>
#include "check.h"

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    printf("Runtime Setup...OK rank %d (stdout %s a terminal)\n", rank, isatty(STDOUT_FILENO) ? "is" : "is not");
    /* Every rank has printed before rank 1 fails, so every line is expected. */
    OK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 1) {
        assert(0 && "rank 1 fails after printing");
    }
    OK(MPI_Barrier(MPI_COMM_WORLD));
    OK(MPI_Finalize());
    return 0;
}
