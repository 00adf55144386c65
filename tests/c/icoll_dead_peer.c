/* icoll_dead_peer.c: rank 1 dies while the others have nonblocking collectives pending on it; their requests must
   fail with an error naming the lost peer, never hang, and so must collectives posted afterwards. */
#define _POSIX_C_SOURCE 200809L
#include <unistd.h>
#include "check.h"

static int size;

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    CHECK(size >= 2);
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    OK(MPI_Barrier(MPI_COMM_WORLD));
    /* Rank 1 dies once every survivor has confirmed it is past the barrier (see killed_peer.c). */
    int ready = 1;
    if (rank == 1) {
        for (int r = 0; r < size; r++)
            if (r != 1) OK(MPI_Recv(&ready, 1, MPI_INT, r, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        fflush(stdout);
        _exit(7);
    }
    OK(MPI_Send(&ready, 1, MPI_INT, 1, 1, MPI_COMM_WORLD));

    static int in[1 << 16], out[1 << 16];
    MPI_Request reqs[2];
    OK(MPI_Iallreduce(in, out, 1 << 16, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &reqs[0]));
    OK(MPI_Ibarrier(MPI_COMM_WORLD, &reqs[1]));
    int rc = MPI_Wait(&reqs[1], MPI_STATUS_IGNORE), rc0 = MPI_Wait(&reqs[0], MPI_STATUS_IGNORE);
    CHECK(rc != MPI_SUCCESS && rc0 != MPI_SUCCESS);
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    OK(MPI_Error_string(rc0, msg, &len));
    printf("rank %d: pending collective failed: %s\n", rank, msg);

    /* Posted after the failure: fails too, whether at the call or at the wait. */
    MPI_Request later;
    rc = MPI_Iallreduce(in, out, 4, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &later);
    if (rc == MPI_SUCCESS) rc = MPI_Wait(&later, MPI_STATUS_IGNORE);
    CHECK(rc != MPI_SUCCESS);
    printf("rank %d: later collective failed too\n", rank);
    fflush(stdout);
    MPI_Finalize();
    printf("rank %d: MPI_Finalize returned\n", rank);
    if (rank == 0) printf("PASS icoll_dead_peer\n");
    return 0;
}
