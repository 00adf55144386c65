/* stdin_echo.c: rank 0 reads its stdin to the end and reports how many bytes and lines came, and
   the first line; partyrun relays its own stdin to rank 0, also when rank 0 runs on another host. */
#include "check.h"

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    if (rank == 0) {
        char first[256] = "";
        size_t bytes = 0, lines = 0;
        int c, in_first = 1;
        size_t f = 0;
        while ((c = getchar()) != EOF) {
            bytes++;
            if (c == '\n') {
                lines++;
                in_first = 0;
            } else if (in_first && f + 1 < sizeof first) {
                first[f++] = (char)c;
            }
        }
        printf("rank 0 read %zu bytes in %zu lines, first: %s\n", bytes, lines, first);
    }
    OK(MPI_Barrier(MPI_COMM_WORLD));
    OK(MPI_Finalize());
    return 0;
}
