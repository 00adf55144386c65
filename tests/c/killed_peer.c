/* killed_peer.c: rank 1 dies after a barrier; survivors' MPI_Recv from it must fail (or abort), never hang. */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"

/* argv[1]: none or "exit" -> rank 1 calls _exit(7); "kill" -> rank 1 raises
 * SIGKILL; "fatal" -> like "exit" but survivors keep MPI_ERRORS_ARE_FATAL, so
 * their MPI_Recv must end the process with a message naming rank 1. */

static int rank, size;


int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "exit";
    int fatal = strcmp(mode, "fatal") == 0, kill = strcmp(mode, "kill") == 0;
    CHECK(fatal || kill || strcmp(mode, "exit") == 0);
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    if (size < 2) { /* no peer to lose */
        OK(MPI_Finalize());
        printf("PASS killed_peer\n");
        return 0;
    }
    if (!fatal) OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    OK(MPI_Barrier(MPI_COMM_WORLD));

    /* A returned MPI_Send (or barrier) does not mean the data has left the
     * process, so rank 1 dies only after every survivor confirms it is past
     * the barrier: the survivors' failure must come from the dead peer, not
     * from a barrier message lost with it. */
    int ready = 1;
    if (rank == 1) {
        for (int r = 0; r < size; r++)
            if (r != 1) OK(MPI_Recv(&ready, 1, MPI_INT, r, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        fflush(stdout);
        if (kill) raise(SIGKILL);
        _exit(7); /* no MPI_Finalize, no atexit handlers: a crash as far as MPI knows */
    }

    OK(MPI_Send(&ready, 1, MPI_INT, 1, 1, MPI_COMM_WORLD));
    /* One receive from the dead peer and one that completes, in one MPI_Waitall: the
       failure is in a status, and MPI_Error_string on it must still say what happened. */
    int v = -1, mine = 5, back = -1;
    MPI_Request reqs[2];
    MPI_Status sts[2];
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    int rc = MPI_Irecv(&v, 1, MPI_INT, 1, 0, MPI_COMM_WORLD, &reqs[0]);
    if (rc == MPI_SUCCESS) {
        OK(MPI_Irecv(&back, 1, MPI_INT, rank, 9, MPI_COMM_WORLD, &reqs[1]));
        OK(MPI_Send(&mine, 1, MPI_INT, rank, 9, MPI_COMM_WORLD));
        rc = MPI_Waitall(2, reqs, sts);
    }
    if (fatal) {
        fprintf(stderr, "rank %d: MPI_Waitall on dead rank 1 returned %d under MPI_ERRORS_ARE_FATAL\n",
                rank, rc);
        return 3;
    }
    if (rc == MPI_ERR_IN_STATUS) {
        CHECK(sts[0].MPI_ERROR != MPI_SUCCESS);
        CHECK(sts[1].MPI_ERROR == MPI_SUCCESS && back == 5);
        rc = sts[0].MPI_ERROR;
    }
    /* Rank 1 died before the receive was posted: the call itself failed. */
    CHECK(rc != MPI_SUCCESS);
    OK(MPI_Error_string(rc, msg, &len));
    printf("rank %d: detected failure of peer 1: %s\n", rank, msg);
    fflush(stdout);

    /* A later receive from it fails at once, with the same story. */
    rc = MPI_Recv(&v, 1, MPI_INT, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    CHECK(rc != MPI_SUCCESS);

    /* Further traffic to the dead peer must also return, whatever the code. */
    rc = MPI_Send(&v, 1, MPI_INT, 1, 0, MPI_COMM_WORLD);
    printf("rank %d: MPI_Send to dead peer 1 returned %d\n", rank, rc);

    /* Finalize must return even with a dead peer; an error code is tolerated. */
    rc = MPI_Finalize();
    printf("rank %d: MPI_Finalize returned %d\n", rank, rc);
    if (rank == 0) printf("PASS killed_peer\n");
    fflush(stdout);
    return 0;
}
