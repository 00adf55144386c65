// check.cpp: the C++ twin of check.c, built by tests/cmake/CMakeLists.txt with mpicxx's flags.
#include <mpi.h>

#include <cstdio>
#include <vector>

#if MPI_VERSION != 5
#error "this is not partyline's mpi.h"
#endif

int main(int argc, char **argv) {
    int rank = 0, size = 0, len = 0;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    std::vector<int> out(4, rank), in(4, -1);
    MPI_Sendrecv(out.data(), 4, MPI_INT, (rank + 1) % size, 7, in.data(), 4, MPI_INT, (rank + size - 1) % size, 7,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    std::vector<char> version(MPI_MAX_LIBRARY_VERSION_STRING);
    MPI_Get_library_version(version.data(), &len);
    if (rank == 0) std::printf("%s library: %s\n", VARIANT, version.data());
    std::printf("%s rank %d of %d got %d\n", VARIANT, rank, size, in[3]);
    std::fflush(stdout);
    MPI_Finalize();
    return in[3] == (rank + size - 1) % size ? 0 : 1;
}
