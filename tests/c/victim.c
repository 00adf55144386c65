/* victim.c: rank 0 of a 2-rank job receives one message from rank 1, which the
   hostile-peer test impersonates; it reports what it got or the error, never crashing. */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    long long value = 0;
    MPI_Status st;
    int rc = MPI_Recv(&value, 1, MPI_LONG_LONG, 1, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
    if (rc == MPI_SUCCESS) {
        printf("received %lld with tag %d\n", value, st.MPI_TAG);
    } else {
        char text[MPI_MAX_ERROR_STRING];
        int len = 0, cls = 0;
        MPI_Error_string(rc, text, &len);
        MPI_Error_class(rc, &cls);
        printf("recv failed (class %d): %s\n", cls, text);
    }
    fflush(stdout);
    MPI_Finalize();
    return 0;
}
