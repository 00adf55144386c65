/* header.cpp: <mpi.h> must compile cleanly as C++17 and work from a small C++ program. */
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

static int rank = -1;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            std::fprintf(stderr, "%s:%d: rank %d: CHECK failed: %s\n", __FILE__,     \
                         __LINE__, rank, #cond);                                     \
            MPI_Abort(MPI_COMM_WORLD, 1);                                            \
            std::exit(1);                                                            \
        }                                                                            \
    } while (0)
#define OK(call) CHECK((call) == MPI_SUCCESS)

// Handles and constants must be usable in ordinary C++ contexts.
static MPI_Comm world() { return MPI_COMM_WORLD; }
static const MPI_Datatype kInt = MPI_INT;

int main(int argc, char **argv) {
    int size = 0;
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(world(), &rank));
    OK(MPI_Comm_size(world(), &size));
    int succ = (rank + 1) % size, pred = (rank - 1 + size) % size;

    std::vector<int> out(16), in(16, -1);
    for (int i = 0; i < 16; i++) out[i] = rank * 100 + i;
    MPI_Request req = MPI_REQUEST_NULL;
    MPI_Status st;
    OK(MPI_Isend(out.data(), 16, kInt, succ, 3, world(), &req));
    OK(MPI_Recv(in.data(), 16, kInt, MPI_ANY_SOURCE, MPI_ANY_TAG, world(), &st));
    OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    CHECK(req == MPI_REQUEST_NULL);
    CHECK(st.MPI_SOURCE == pred && st.MPI_TAG == 3);
    int count = 0;
    OK(MPI_Get_count(&st, MPI_INT, &count));
    CHECK(count == 16);
    for (int i = 0; i < 16; i++) CHECK(in[i] == pred * 100 + i);

    MPI_Request reqs[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    OK(MPI_Waitall(2, reqs, MPI_STATUSES_IGNORE));
    OK(MPI_Send(nullptr, 0, MPI_BYTE, MPI_PROC_NULL, 0, MPI_COMM_WORLD));
    CHECK(MPI_COMM_NULL != MPI_COMM_WORLD);
    char name[MPI_MAX_PROCESSOR_NAME];
    int len = 0;
    OK(MPI_Get_processor_name(name, &len));
    double t = MPI_Wtime();
    CHECK(t >= 0.0 || t < 0.0);

    OK(MPI_Barrier(MPI_COMM_WORLD));
    OK(MPI_Finalize());
    if (rank == 0) std::printf("PASS header\n");
    return 0;
}
