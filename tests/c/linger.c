/* linger.c: every rank meets the others, says "ready rank N" on stdout, then computes (sleeps) for
   ten minutes. Tests stop the job meanwhile and check that no rank process is left anywhere. */
#include "check.h"
#include <unistd.h>

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Barrier(MPI_COMM_WORLD));
    printf("ready rank %d\n", rank);
    fflush(stdout);
    sleep(600);
    OK(MPI_Finalize());
    return 0;
}
