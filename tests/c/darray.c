/* darray.c: MPI_Type_create_darray (and _c) against a locally enumerated expectation: for each
   grid, distribution and order, every virtual rank's type packs exactly its elements of the
   global array in array order, the ranks together cover each element once, and the envelope
   gives the arguments back. Runs at 1 rank (the darray's size and rank are arguments). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"

#define MAXN 4
#define MAXE 4096

/* The global indices of one dimension that grid coordinate `at` owns; returns how many. */
static int owned(int global, int dist, int darg, int procs, int at, int *out) {
    int n = 0;
    if (dist == MPI_DISTRIBUTE_NONE) {
        for (int i = 0; i < global; i++) out[n++] = i;
    } else if (dist == MPI_DISTRIBUTE_BLOCK) {
        int b = darg == MPI_DISTRIBUTE_DFLT_DARG ? (global + procs - 1) / procs : darg;
        for (int i = at * b; i < global && i < (at + 1) * b; i++) out[n++] = i;
    } else {
        int b = darg == MPI_DISTRIBUTE_DFLT_DARG ? 1 : darg;
        for (int i = 0; i < global; i++)
            if ((i / b) % procs == at) out[n++] = i;
    }
    return n;
}

/* Expected element indices (linear, in the array's order) of `rank`, in type-map order. */
static int expected(int nd, const int *g, const int *dist, const int *darg, const int *p, int order, int rank,
                    int *out) {
    int coords[MAXN], left = rank;
    for (int d = nd - 1; d >= 0; d--) { coords[d] = left % p[d]; left /= p[d]; }
    int idx[MAXN][64], cnt[MAXN];
    for (int d = 0; d < nd; d++) cnt[d] = owned(g[d], dist[d], darg[d], p[d], coords[d], idx[d]);
    /* Dimensions from the slowest-varying: C order dim 0 first, Fortran the last first. */
    int slow[MAXN];
    for (int k = 0; k < nd; k++) slow[k] = order == MPI_ORDER_C ? k : nd - 1 - k;
    int n = 0, pos[MAXN] = {0};
    for (int d = 0; d < nd; d++) if (cnt[d] == 0) return 0;
    for (;;) {
        long lin = 0;
        if (order == MPI_ORDER_C) {
            for (int d = 0; d < nd; d++) lin = lin * g[d] + idx[d][pos[d]];
        } else {
            for (int d = nd - 1; d >= 0; d--) lin = lin * g[d] + idx[d][pos[d]];
        }
        out[n++] = (int)lin;
        int k = nd - 1;
        while (k >= 0 && ++pos[slow[k]] == cnt[slow[k]]) { pos[slow[k]] = 0; k--; }
        if (k < 0) return n;
    }
}

static void check_case(int nd, const int *g, const int *dist, const int *darg, const int *p, int order, int wide) {
    int size = 1, total = 1;
    for (int d = 0; d < nd; d++) { size *= p[d]; total *= g[d]; }
    int *global = malloc(sizeof(int) * (size_t)total), *seen = calloc((size_t)total, sizeof(int));
    for (int i = 0; i < total; i++) global[i] = i;
    for (int r = 0; r < size; r++) {
        MPI_Datatype t;
        if (wide) {
            MPI_Count gc[MAXN];
            for (int d = 0; d < nd; d++) gc[d] = g[d];
            OK(MPI_Type_create_darray_c(size, r, nd, gc, dist, darg, p, order, MPI_INT, &t));
        } else {
            OK(MPI_Type_create_darray(size, r, nd, g, dist, darg, p, order, MPI_INT, &t));
        }
        OK(MPI_Type_commit(&t));
        int want[MAXE];
        int n = expected(nd, g, dist, darg, p, order, r, want);
        int tsize;
        MPI_Aint lb, extent;
        OK(MPI_Type_size(t, &tsize));
        OK(MPI_Type_get_extent(t, &lb, &extent));
        CHECK(tsize == n * (int)sizeof(int));
        CHECK(lb == 0 && extent == (MPI_Aint)total * (MPI_Aint)sizeof(int));
        int packed[MAXE], at = 0;
        OK(MPI_Pack(global, 1, t, packed, (int)sizeof packed, &at, MPI_COMM_SELF));
        CHECK(at == n * (int)sizeof(int));
        for (int i = 0; i < n; i++) {
            CHECK(packed[i] == want[i]);
            seen[want[i]]++;
        }
        int ni, na, nc, comb;
        OK(MPI_Type_get_envelope(t, &ni, &na, &nc, &comb));
        CHECK(comb == MPI_COMBINER_DARRAY && ni == 4 * nd + 4 && na == 0 && nc == 1);
        int ints[4 * MAXN + 4];
        MPI_Aint none[1];
        MPI_Datatype old;
        OK(MPI_Type_get_contents(t, ni, 0, 1, ints, none, &old));
        CHECK(ints[0] == size && ints[1] == r && ints[2] == nd && ints[4 * nd + 3] == order);
        for (int d = 0; d < nd; d++)
            CHECK(ints[3 + d] == g[d] && ints[3 + nd + d] == dist[d] && ints[3 + 2 * nd + d] == darg[d] &&
                  ints[3 + 3 * nd + d] == p[d]);
        CHECK(old == MPI_INT);
        OK(MPI_Type_free(&t));
    }
    for (int i = 0; i < total; i++) CHECK(seen[i] == 1); /* every element has exactly one owner */
    free(global);
    free(seen);
}

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    const int B = MPI_DISTRIBUTE_BLOCK, C = MPI_DISTRIBUTE_CYCLIC, N = MPI_DISTRIBUTE_NONE,
              D = MPI_DISTRIBUTE_DFLT_DARG;
    const int orders[2] = {MPI_ORDER_C, MPI_ORDER_FORTRAN};
    for (int o = 0; o < 2; o++) {
        for (int wide = 0; wide < 2; wide++) {
            int g1[] = {10}, p1[] = {3}, d1[] = {B}, a1[] = {D};
            check_case(1, g1, d1, a1, p1, orders[o], wide);
            int c1[] = {C}, a2[] = {2};
            check_case(1, g1, c1, a2, p1, orders[o], wide);
            int g2[] = {6, 5}, p2[] = {2, 2}, dist2[] = {B, C}, arg2[] = {D, 2};
            check_case(2, g2, dist2, arg2, p2, orders[o], wide);
            int dist3[] = {C, B}, arg3[] = {D, 4};
            check_case(2, g2, dist3, arg3, p2, orders[o], wide);
            int g4[] = {4, 3, 5}, p4[] = {2, 1, 3}, dist4[] = {B, N, C}, arg4[] = {D, D, D};
            check_case(3, g4, dist4, arg4, p4, orders[o], wide);
            int g5[] = {9, 8}, p5[] = {4, 2}, dist5[] = {B, B}, arg5[] = {3, D}; /* rank 3 holds nothing */
            check_case(2, g5, dist5, arg5, p5, orders[o], wide);
        }
    }

    /* Bad arguments are errors, not types. */
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    MPI_Datatype t;
    int g[] = {8, 8}, p[] = {2, 2}, dist[] = {B, B}, arg[] = {D, D};
    CHECK(MPI_Type_create_darray(3, 0, 2, g, dist, arg, p, MPI_ORDER_C, MPI_INT, &t) != MPI_SUCCESS); /* 2x2 != 3 */
    CHECK(MPI_Type_create_darray(4, 4, 2, g, dist, arg, p, MPI_ORDER_C, MPI_INT, &t) != MPI_SUCCESS); /* rank */
    int small[] = {3, D};
    CHECK(MPI_Type_create_darray(4, 0, 2, g, dist, small, p, MPI_ORDER_C, MPI_INT, &t) != MPI_SUCCESS); /* 2x3 < 8 */
    int none[] = {N, B};
    CHECK(MPI_Type_create_darray(4, 0, 2, g, none, arg, p, MPI_ORDER_C, MPI_INT, &t) != MPI_SUCCESS); /* NONE over 2 */
    CHECK(MPI_Type_create_darray(4, 0, 2, g, dist, arg, p, 7, MPI_INT, &t) != MPI_SUCCESS);
    int bad[] = {42, B};
    CHECK(MPI_Type_create_darray(4, 0, 2, g, bad, arg, p, MPI_ORDER_C, MPI_INT, &t) != MPI_SUCCESS);

    OK(MPI_Finalize());
    printf("PASS darray\n");
    return 0;
}
