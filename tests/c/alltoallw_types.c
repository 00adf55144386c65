/* alltoallw_types.c: MPI_Alltoallw, MPI_Ialltoallw and MPI_Alltoallw_c with non-contiguous datatypes: every rank
   sends a strided vector type and receives with a different type per peer (contiguous ints from even ranks, a
   strided vector from odd ones); every element, and every gap left untouched, is checked. */
#include "check.h"

enum { SLOT = 64 }; /* ints per peer in each buffer */

static int v(int from, int to, int j) { return from * 10000 + to * 100 + j; }

int main(int argc, char **argv) {
    int n;
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &n));
    CHECK(n <= 16);
    /* Two ints 3 apart per item: extent 4 ints, a gap of 2 inside. */
    MPI_Datatype pairs;
    OK(MPI_Type_vector(2, 1, 3, MPI_INT, &pairs));
    OK(MPI_Type_commit(&pairs));
    MPI_Datatype strided[16];
    int *send = malloc(sizeof(int) * SLOT * (size_t)n), *recv = malloc(sizeof(int) * SLOT * (size_t)n);
    CHECK(send && recv);
    int sc[16], sd[16], rc[16], rd[16];
    MPI_Count scc[16], rcc[16];
    MPI_Aint sdc[16], rdc[16];
    MPI_Datatype st[16], rt[16];
    for (int r = 0; r < n; r++) {
        OK(MPI_Type_vector(2 * (r + 1), 1, 2, MPI_INT, &strided[r]));
        OK(MPI_Type_commit(&strided[r]));
        /* To rank r: r+1 pairs, i.e. 2(r+1) ints. */
        sc[r] = r + 1;
        sd[r] = r * SLOT * (int)sizeof(int);
        st[r] = pairs;
        /* From rank s = r: 2(s+1) ints, contiguous from even ranks, every other int from odd ones. */
        rc[r] = r % 2 == 0 ? 2 * (rank + 1) : 1;
        rt[r] = r % 2 == 0 ? MPI_INT : MPI_DATATYPE_NULL;
        rd[r] = r * SLOT * (int)sizeof(int);
        scc[r] = sc[r], rcc[r] = rc[r], sdc[r] = sd[r], rdc[r] = rd[r];
    }
    /* The strided receive type depends on how much this rank receives: 2(rank+1) ints. */
    for (int r = 0; r < n; r++)
        if (r % 2 == 1) rt[r] = strided[rank];
    for (int form = 0; form < 3; form++) {
        for (int i = 0; i < SLOT * n; i++) send[i] = -2, recv[i] = -1;
        for (int r = 0; r < n; r++)
            for (int j = 0; j < 2 * (r + 1); j++) send[r * SLOT + (j / 2) * 4 + (j % 2) * 3] = v(rank, r, j);
        if (form == 0) {
            OK(MPI_Alltoallw(send, sc, sd, st, recv, rc, rd, rt, MPI_COMM_WORLD));
        } else if (form == 1) {
            MPI_Request q;
            OK(MPI_Ialltoallw(send, sc, sd, st, recv, rc, rd, rt, MPI_COMM_WORLD, &q));
            OK(MPI_Wait(&q, MPI_STATUS_IGNORE));
        } else {
            OK(MPI_Alltoallw_c(send, scc, sdc, st, recv, rcc, rdc, rt, MPI_COMM_WORLD));
        }
        for (int s = 0; s < n; s++) {
            int *block = recv + s * SLOT, step = s % 2 == 0 ? 1 : 2, got = 2 * (rank + 1);
            for (int i = 0; i < SLOT; i++) {
                int j = i / step;
                int want = (i % step == 0 && j < got) ? v(s, rank, j) : -1;
                if (block[i] != want) {
                    fprintf(stderr, "rank %d form %d: from %d int %d is %d, want %d\n", rank, form, s, i, block[i], want);
                    CHECK(0);
                }
            }
        }
    }
    for (int r = 0; r < n; r++) OK(MPI_Type_free(&strided[r]));
    OK(MPI_Type_free(&pairs));
    free(send);
    free(recv);
    if (rank == 0) printf("PASS alltoallw_types\n");
    OK(MPI_Finalize());
    return 0;
}
