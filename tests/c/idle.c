/* idle.c: every rank computes (sleeps) for 2 s between MPI calls, then reports the CPU time its
   process used meanwhile: partyline's threads must not spin while the program does not call MPI. */
#include "check.h"
#include <sys/resource.h>
#include <unistd.h>

static double cpu_seconds(void) {
    struct rusage u;
    CHECK(getrusage(RUSAGE_SELF, &u) == 0);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Barrier(MPI_COMM_WORLD));
    double before = cpu_seconds();
    sleep(2);
    double used = cpu_seconds() - before;
    printf("idle rank %d used %.3f s of CPU in 2 s\n", rank, used);
    OK(MPI_Barrier(MPI_COMM_WORLD));
    OK(MPI_Finalize());
    return 0;
}
