/* comm.c: Comm_dup/split/compare/free/disconnect, message isolation between communicators, barriers, MPI_COMM_SELF. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include "check.h"

static int rank, size, succ, pred;


static int compare(MPI_Comm a, MPI_Comm b) {
    int r = -1;
    OK(MPI_Comm_compare(a, b, &r));
    return r;
}

/* Ring exchange inside comm: each member sends its world rank to its
 * successor; the value from the predecessor must be members[pred]. */
static void ring_in(MPI_Comm comm, const int *members, int tag) {
    int r, n, v = rank, w = -1;
    OK(MPI_Comm_rank(comm, &r));
    OK(MPI_Comm_size(comm, &n));
    CHECK(members[r] == rank);
    MPI_Request req;
    MPI_Status st;
    OK(MPI_Isend(&v, 1, MPI_INT, (r + 1) % n, tag, comm, &req));
    OK(MPI_Recv(&w, 1, MPI_INT, (r - 1 + n) % n, tag, comm, &st));
    OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    CHECK(st.MPI_SOURCE == (r - 1 + n) % n && st.MPI_TAG == tag);
    CHECK(w == members[(r - 1 + n) % n]);
}

static void test_dup(void) {
    MPI_Comm dup = MPI_COMM_NULL;
    int r = -1, n = -1;
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &dup));
    CHECK(dup != MPI_COMM_NULL && dup != MPI_COMM_WORLD);
    OK(MPI_Comm_rank(dup, &r));
    OK(MPI_Comm_size(dup, &n));
    CHECK(r == rank && n == size);
    CHECK(compare(MPI_COMM_WORLD, MPI_COMM_WORLD) == MPI_IDENT);
    CHECK(compare(MPI_COMM_WORLD, dup) == MPI_CONGRUENT);

    /* Same source and tag on both communicators; receiving in the opposite
     * order must still give each communicator its own message. */
    int sw[2] = {rank, 1}, sd[2] = {rank, 2}, rv[2];
    MPI_Request rq[2];
    OK(MPI_Isend(sw, 2, MPI_INT, succ, 7, MPI_COMM_WORLD, &rq[0]));
    OK(MPI_Isend(sd, 2, MPI_INT, succ, 7, dup, &rq[1]));
    OK(MPI_Recv(rv, 2, MPI_INT, pred, 7, dup, MPI_STATUS_IGNORE));
    CHECK(rv[0] == pred && rv[1] == 2);
    OK(MPI_Recv(rv, 2, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    CHECK(rv[0] == pred && rv[1] == 1);
    OK(MPI_Waitall(2, rq, MPI_STATUSES_IGNORE));

    /* A dup of a dup is again distinct. */
    MPI_Comm dup2;
    OK(MPI_Comm_dup(dup, &dup2));
    CHECK(compare(dup, dup2) == MPI_CONGRUENT);
    int *all = malloc(sizeof(int) * (size_t)size);
    CHECK(all != NULL);
    for (int i = 0; i < size; i++) all[i] = i;
    ring_in(dup2, all, 3);
    OK(MPI_Barrier(dup2));
    free(all);

    OK(MPI_Comm_free(&dup2));
    OK(MPI_Comm_free(&dup));
    CHECK(dup == MPI_COMM_NULL && dup2 == MPI_COMM_NULL);
}

static void test_split(void) {
    /* Even/odd colours, key = -rank: new ranks in descending world order. */
    int color = rank % 2, r = -1, n = -1;
    MPI_Comm sub;
    OK(MPI_Comm_split(MPI_COMM_WORLD, color, -rank, &sub));
    CHECK(sub != MPI_COMM_NULL);
    int *members = malloc(sizeof(int) * (size_t)size), m = 0;
    CHECK(members != NULL);
    for (int w = size - 1; w >= 0; w--)
        if (w % 2 == color) members[m++] = w;
    OK(MPI_Comm_rank(sub, &r));
    OK(MPI_Comm_size(sub, &n));
    CHECK(n == m);
    CHECK(members[r] == rank);
    ring_in(sub, members, 11);
    OK(MPI_Barrier(sub));
    CHECK(compare(MPI_COMM_WORLD, sub) == (size == 1 ? MPI_CONGRUENT : MPI_UNEQUAL));

    /* Same group, reversed order: SIMILAR (CONGRUENT when alone). */
    MPI_Comm rev;
    OK(MPI_Comm_split(MPI_COMM_WORLD, 0, -rank, &rev));
    OK(MPI_Comm_rank(rev, &r));
    CHECK(r == size - 1 - rank);
    CHECK(compare(MPI_COMM_WORLD, rev) == (size == 1 ? MPI_CONGRUENT : MPI_SIMILAR));
    for (int i = 0; i < size; i++) members[i] = size - 1 - i;
    ring_in(rev, members, 12);
    OK(MPI_Barrier(rev));

    /* Rank 0 opts out with MPI_UNDEFINED; key ties keep world order. */
    MPI_Comm rest = MPI_COMM_WORLD;
    OK(MPI_Comm_split(MPI_COMM_WORLD, rank == 0 ? MPI_UNDEFINED : 1, 0, &rest));
    if (rank == 0) {
        CHECK(rest == MPI_COMM_NULL);
    } else {
        OK(MPI_Comm_rank(rest, &r));
        OK(MPI_Comm_size(rest, &n));
        CHECK(r == rank - 1 && n == size - 1);
        for (int i = 0; i < size - 1; i++) members[i] = i + 1;
        ring_in(rest, members, 13);
        OK(MPI_Barrier(rest));
        OK(MPI_Comm_free(&rest));
        CHECK(rest == MPI_COMM_NULL);
    }

    /* Split a sub-communicator again (by halves of its ranks). */
    MPI_Comm subsub;
    OK(MPI_Comm_rank(sub, &r));
    OK(MPI_Comm_size(sub, &n));
    OK(MPI_Comm_split(sub, r < n / 2, r, &subsub));
    int r2, n2;
    OK(MPI_Comm_rank(subsub, &r2));
    OK(MPI_Comm_size(subsub, &n2));
    CHECK(r < n / 2 ? (r2 == r && n2 == n / 2) : (r2 == r - n / 2 && n2 == n - n / 2));
    OK(MPI_Barrier(subsub));
    OK(MPI_Comm_free(&subsub));

    OK(MPI_Comm_free(&rev));
    OK(MPI_Comm_free(&sub));
    CHECK(sub == MPI_COMM_NULL && rev == MPI_COMM_NULL);
    free(members);
}

static void test_self(void) {
    int r = -1, n = -1, v = 1000 + rank, a = -1, b = -1;
    OK(MPI_Comm_rank(MPI_COMM_SELF, &r));
    OK(MPI_Comm_size(MPI_COMM_SELF, &n));
    CHECK(r == 0 && n == 1);
    CHECK(compare(MPI_COMM_SELF, MPI_COMM_WORLD) == (size == 1 ? MPI_CONGRUENT : MPI_UNEQUAL));
    /* Self-message on WORLD first, then on SELF; receive SELF first. */
    MPI_Request rq[2];
    MPI_Status st;
    int v2 = v + 1;
    OK(MPI_Isend(&v, 1, MPI_INT, rank, 9, MPI_COMM_WORLD, &rq[0]));
    OK(MPI_Isend(&v2, 1, MPI_INT, 0, 9, MPI_COMM_SELF, &rq[1]));
    OK(MPI_Recv(&a, 1, MPI_INT, 0, 9, MPI_COMM_SELF, &st));
    CHECK(a == v2 && st.MPI_SOURCE == 0);
    OK(MPI_Recv(&b, 1, MPI_INT, rank, 9, MPI_COMM_WORLD, &st));
    CHECK(b == v && st.MPI_SOURCE == rank);
    OK(MPI_Waitall(2, rq, MPI_STATUSES_IGNORE));
    OK(MPI_Barrier(MPI_COMM_SELF));
}

/* Disconnect: a collective free, after the communicator's traffic has completed. */
static void test_disconnect(void) {
    MPI_Comm d;
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &d));
    int v = rank, got = -1;
    OK(MPI_Sendrecv(&v, 1, MPI_INT, succ, 3, &got, 1, MPI_INT, pred, 3, d, MPI_STATUS_IGNORE));
    CHECK(got == pred);
    OK(MPI_Comm_disconnect(&d));
    CHECK(d == MPI_COMM_NULL);
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    MPI_Comm null = MPI_COMM_NULL, world = MPI_COMM_WORLD;
    int cls = 0;
    MPI_Error_class(MPI_Comm_disconnect(&null), &cls);
    CHECK(cls == MPI_ERR_COMM);
    MPI_Error_class(MPI_Comm_disconnect(&world), &cls);
    CHECK(cls == MPI_ERR_COMM && world == MPI_COMM_WORLD);
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
}

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    succ = (rank + 1) % size;
    pred = (rank - 1 + size) % size;

    OK(MPI_Barrier(MPI_COMM_WORLD));
    test_dup();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    test_split();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    test_self();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    test_disconnect();

    OK(MPI_Finalize());
    if (rank == 0) printf("PASS comm\n");
    return 0;
}
