/* check.c: built by tests/cmake/CMakeLists.txt; one ring exchange, then each rank reports. */
#include <mpi.h>
#include <stdio.h>

/* Another MPI's header on the include path would compile too; partyline's is MPI 5.0. */
#if MPI_VERSION != 5
#error "this is not partyline's mpi.h"
#endif

int main(int argc, char **argv) {
    int rank, size, got = -1, len = 0;
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Sendrecv(&rank, 1, MPI_INT, (rank + 1) % size, 7, &got, 1, MPI_INT, (rank + size - 1) % size, 7,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Get_library_version(version, &len);
    if (rank == 0) printf("%s library: %s\n", VARIANT, version);
    printf("%s rank %d of %d got %d\n", VARIANT, rank, size, got);
    fflush(stdout);
    MPI_Finalize();
    return got == (rank + size - 1) % size ? 0 : 1;
}
