/* errors_misc.c: what every MPI answers and partyline got wrong: MPI_Error_string knows every
   standard error class (MPI_ERR_ABI included), MPI_REPLACE and MPI_NO_OP are not commutative,
   and MPI_Errhandler_free refuses MPI_ERRHANDLER_NULL. */
#include "check.h"

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));

    const int codes[] = {MPI_ERR_ABI, MPI_ERR_SESSION, MPI_ERR_FILE, MPI_ERR_WIN, MPI_ERR_TOPOLOGY};
    const char *names[] = {"MPI_ERR_ABI", "MPI_ERR_SESSION", "MPI_ERR_FILE", "MPI_ERR_WIN", "MPI_ERR_TOPOLOGY"};
    for (int i = 0; i < 5; i++) {
        char text[MPI_MAX_ERROR_STRING];
        int len = 0;
        OK(MPI_Error_string(codes[i], text, &len));
        CHECK(len > 0 && strstr(text, names[i]) != NULL);
    }
    char text[MPI_MAX_ERROR_STRING];
    int len = -1;
    CHECK(MPI_Error_string(MPI_ERR_LASTCODE + 1, text, &len) != MPI_SUCCESS && len == -1);

    int commute = -1;
    OK(MPI_Op_commutative(MPI_SUM, &commute));
    CHECK(commute == 1);
    OK(MPI_Op_commutative(MPI_REPLACE, &commute));
    CHECK(commute == 0);
    commute = -1;
    OK(MPI_Op_commutative(MPI_NO_OP, &commute));
    CHECK(commute == 0);

    MPI_Errhandler handler = MPI_ERRHANDLER_NULL;
    CHECK(MPI_Errhandler_free(&handler) == MPI_ERR_ARG && handler == MPI_ERRHANDLER_NULL);
    OK(MPI_Comm_get_errhandler(MPI_COMM_WORLD, &handler));
    CHECK(handler == MPI_ERRORS_RETURN);
    OK(MPI_Errhandler_free(&handler));
    CHECK(handler == MPI_ERRHANDLER_NULL);

    OK(MPI_Finalize());
    if (rank == 0) printf("PASS errors_misc\n");
    return 0;
}
