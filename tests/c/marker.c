/* marker.c: every rank sends its successor messages full of a fixed ASCII marker (small, eager,
 * and large) and checks what its predecessor sent. The TLS tests capture the traffic and look for
 * the marker: it must appear with plaintext links and never with TLS. */
#include "check.h"

#define MARKER "PARTYLINE-PLAINTEXT-MARKER."

static void fill(char *b, size_t len) {
    size_t m = strlen(MARKER);
    for (size_t i = 0; i < len; i++) b[i] = MARKER[i % m];
}

int main(int argc, char **argv) {
    int size;
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    const size_t lens[] = {64, 100000, 4 << 20};
    char *out = malloc(4 << 20), *in = malloc(4 << 20), *want = malloc(4 << 20);
    CHECK(out && in && want);
    fill(out, 4 << 20);
    fill(want, 4 << 20);
    int succ = (rank + 1) % size, pred = (rank + size - 1) % size;
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        MPI_Status st;
        memset(in, 0, lens[i]);
        OK(MPI_Sendrecv(out, (int)lens[i], MPI_CHAR, succ, 7, in, (int)lens[i], MPI_CHAR, pred, 7, MPI_COMM_WORLD, &st));
        CHECK(memcmp(in, want, lens[i]) == 0);
    }
    free(out);
    free(in);
    free(want);
    OK(MPI_Finalize());
    if (rank == 0) printf("PASS marker\n");
    return 0;
}
