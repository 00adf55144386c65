/* groups.c: MPI_Group_* operations, MPI_Comm_create/create_group/split_type/idup/dup_with_info,
   names, and the intercommunicator calls refused on them, checked against expectations computed here. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include "check.h"

static int rank, size;

static int group_size(MPI_Group g) {
    int n = -1;
    OK(MPI_Group_size(g, &n));
    return n;
}

static int group_rank(MPI_Group g) {
    int r = -2;
    OK(MPI_Group_rank(g, &r));
    return r;
}

static int group_compare(MPI_Group a, MPI_Group b) {
    int v = -1;
    OK(MPI_Group_compare(a, b, &v));
    return v;
}

/* World rank of rank r of g. */
static int world_of(MPI_Group g, int r) {
    MPI_Group world;
    int w = -2;
    OK(MPI_Comm_group(MPI_COMM_WORLD, &world));
    OK(MPI_Group_translate_ranks(g, 1, &r, world, &w));
    OK(MPI_Group_free(&world));
    return w;
}

/* Ring exchange in comm: each member sends its world rank to its successor and checks what
   its predecessor sent against members[] (world rank of each comm rank). */
static void ring_in(MPI_Comm comm, const int *members, int tag) {
    int r, n, v = rank, w = -1;
    OK(MPI_Comm_rank(comm, &r));
    OK(MPI_Comm_size(comm, &n));
    CHECK(members[r] == rank);
    OK(MPI_Sendrecv(&v, 1, MPI_INT, (r + 1) % n, tag, &w, 1, MPI_INT, (r - 1 + n) % n, tag, comm,
                    MPI_STATUS_IGNORE));
    CHECK(w == members[(r - 1 + n) % n]);
    int sum = -1;
    OK(MPI_Allreduce(&v, &sum, 1, MPI_INT, MPI_SUM, comm));
    int want = 0;
    for (int i = 0; i < n; i++) want += members[i];
    CHECK(sum == want);
}

static void test_group_ops(void) {
    MPI_Group world, evens, odds, u, x, d, g;
    OK(MPI_Comm_group(MPI_COMM_WORLD, &world));
    CHECK(group_size(world) == size && group_rank(world) == rank);

    int *ranks = malloc(sizeof(int) * (size_t)size), ne = 0, no = 0;
    int *oddr = malloc(sizeof(int) * (size_t)size);
    CHECK(ranks && oddr);
    for (int i = 0; i < size; i++) {
        if (i % 2 == 0) ranks[ne++] = i;
        else oddr[no++] = i;
    }
    OK(MPI_Group_incl(world, ne, ranks, &evens));
    OK(MPI_Group_excl(world, ne, ranks, &odds));
    CHECK(group_size(evens) == ne && group_size(odds) == no);
    CHECK(group_rank(evens) == (rank % 2 == 0 ? rank / 2 : MPI_UNDEFINED));
    CHECK(group_rank(odds) == (rank % 2 == 1 ? rank / 2 : MPI_UNDEFINED));
    if (no == 0) CHECK(odds == MPI_GROUP_EMPTY);

    /* The same groups by ranges: evens by stride 2, odds by exclusion. */
    int last_even = (size - 1) / 2 * 2;
    int ranges[1][3] = {{0, last_even, 2}};
    OK(MPI_Group_range_incl(world, 1, ranges, &g));
    CHECK(group_compare(g, evens) == MPI_IDENT);
    OK(MPI_Group_free(&g));
    CHECK(g == MPI_GROUP_NULL);
    OK(MPI_Group_range_excl(world, 1, ranges, &g));
    CHECK(group_compare(g, odds) == MPI_IDENT);
    OK(MPI_Group_free(&g));
    /* Descending range: the world in reverse, which is SIMILAR (IDENT when alone). */
    int rev[1][3] = {{size - 1, 0, -1}};
    OK(MPI_Group_range_incl(world, 1, rev, &g));
    CHECK(group_rank(g) == size - 1 - rank);
    CHECK(group_compare(g, world) == (size == 1 ? MPI_IDENT : MPI_SIMILAR));
    OK(MPI_Group_free(&g));

    /* Set operations: odds ∪ evens holds every rank, odds first. */
    OK(MPI_Group_union(odds, evens, &u));
    CHECK(group_size(u) == size);
    CHECK(group_compare(u, world) == (size == 1 ? MPI_IDENT : MPI_SIMILAR));
    for (int i = 0; i < size; i++) CHECK(world_of(u, i) == (i < no ? oddr[i] : ranks[i - no]));
    OK(MPI_Group_intersection(evens, world, &x));
    CHECK(group_compare(x, evens) == MPI_IDENT);
    OK(MPI_Group_free(&x));
    OK(MPI_Group_intersection(evens, odds, &x));
    CHECK(x == MPI_GROUP_EMPTY && group_size(x) == 0 && group_rank(x) == MPI_UNDEFINED);
    OK(MPI_Group_free(&x));
    OK(MPI_Group_difference(world, evens, &d));
    CHECK(group_compare(d, odds) == MPI_IDENT);
    CHECK(group_compare(evens, odds) == MPI_UNEQUAL || no == 0);
    OK(MPI_Group_free(&d));
    OK(MPI_Group_free(&u));

    /* Translate every world rank into evens, plus MPI_PROC_NULL. */
    int n = size + 1, *from = malloc(sizeof(int) * (size_t)n), *to = malloc(sizeof(int) * (size_t)n);
    CHECK(from && to);
    for (int i = 0; i < size; i++) from[i] = i;
    from[size] = MPI_PROC_NULL;
    OK(MPI_Group_translate_ranks(world, n, from, evens, to));
    for (int i = 0; i < size; i++) CHECK(to[i] == (i % 2 == 0 ? i / 2 : MPI_UNDEFINED));
    CHECK(to[size] == MPI_PROC_NULL);
    free(from);
    free(to);

    /* Bad arguments come back as errors under MPI_ERRORS_RETURN, and leave outputs alone. */
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    int bad[2] = {0, 0}, cls = -1;
    g = MPI_GROUP_NULL;
    int rc = MPI_Group_incl(world, 2, bad, &g);
    OK(MPI_Error_class(rc, &cls));
    CHECK(rc != MPI_SUCCESS && cls == MPI_ERR_RANK && g == MPI_GROUP_NULL);
    int zero_stride[1][3] = {{0, 0, 0}};
    rc = MPI_Group_range_incl(world, 1, zero_stride, &g);
    CHECK(rc != MPI_SUCCESS && g == MPI_GROUP_NULL);
    int out_of_range = size;
    rc = MPI_Group_excl(world, 1, &out_of_range, &g);
    OK(MPI_Error_class(rc, &cls));
    CHECK(cls == MPI_ERR_RANK);
    rc = MPI_Group_size(MPI_GROUP_NULL, &n);
    OK(MPI_Error_class(rc, &cls));
    CHECK(cls == MPI_ERR_GROUP);
    rc = MPI_Group_from_session_pset(NULL, "mpi://WORLD", &g); /* not a session */
    OK(MPI_Error_class(rc, &cls));
    CHECK(cls == MPI_ERR_SESSION && g == MPI_GROUP_NULL);
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));

    OK(MPI_Group_free(&evens));
    OK(MPI_Group_free(&odds));
    OK(MPI_Group_free(&world));
    free(ranks);
    free(oddr);
}

static void test_comm_create(void) {
    MPI_Group world, evens, mine;
    OK(MPI_Comm_group(MPI_COMM_WORLD, &world));
    int ne = (size + 1) / 2, *members = malloc(sizeof(int) * (size_t)size);
    CHECK(members != NULL);
    for (int i = 0; i < ne; i++) members[i] = 2 * i;
    OK(MPI_Group_incl(world, ne, members, &evens));

    /* Everyone passes the even group: evens get a communicator, odds MPI_COMM_NULL. */
    MPI_Comm ec = MPI_COMM_WORLD;
    OK(MPI_Comm_create(MPI_COMM_WORLD, evens, &ec));
    if (rank % 2 == 1) {
        CHECK(ec == MPI_COMM_NULL);
    } else {
        CHECK(ec != MPI_COMM_NULL);
        int r, n;
        OK(MPI_Comm_rank(ec, &r));
        OK(MPI_Comm_size(ec, &n));
        CHECK(r == rank / 2 && n == ne);
        OK(MPI_Comm_group(ec, &mine));
        CHECK(group_compare(mine, evens) == MPI_IDENT);
        OK(MPI_Group_free(&mine));
        ring_in(ec, members, 21);
        OK(MPI_Comm_free(&ec));
    }

    /* Disjoint groups at once (MPI 2.2): each rank passes its parity's group. */
    int np = 0;
    for (int i = rank % 2; i < size; i += 2) members[np++] = i;
    MPI_Group parity;
    OK(MPI_Group_incl(world, np, members, &parity));
    MPI_Comm pc;
    OK(MPI_Comm_create(MPI_COMM_WORLD, parity, &pc));
    CHECK(pc != MPI_COMM_NULL);
    ring_in(pc, members, 22);
    OK(MPI_Comm_free(&pc));
    OK(MPI_Group_free(&parity));

    /* MPI_GROUP_EMPTY everywhere: nobody gets a communicator. */
    OK(MPI_Comm_create(MPI_COMM_WORLD, MPI_GROUP_EMPTY, &pc));
    CHECK(pc == MPI_COMM_NULL);

    OK(MPI_Group_free(&evens));
    OK(MPI_Group_free(&world));
    free(members);
}

static void test_comm_create_group(void) {
    /* The upper half makes a communicator among itself, twice with the same tag; the lower
       half does not take part and talks among itself meanwhile. */
    int lo = size / 2, n = size - lo;
    MPI_Group world, upper;
    OK(MPI_Comm_group(MPI_COMM_WORLD, &world));
    int range[1][3] = {{lo, size - 1, 1}};
    OK(MPI_Group_range_incl(world, 1, range, &upper));
    int *members = malloc(sizeof(int) * (size_t)size);
    CHECK(members != NULL);
    for (int i = 0; i < n; i++) members[i] = lo + i;
    if (rank >= lo) {
        MPI_Comm a, b;
        OK(MPI_Comm_create_group(MPI_COMM_WORLD, upper, 7, &a));
        OK(MPI_Comm_create_group(MPI_COMM_WORLD, upper, 7, &b));
        int r, sz, cmp;
        OK(MPI_Comm_rank(a, &r));
        OK(MPI_Comm_size(a, &sz));
        CHECK(r == rank - lo && sz == n);
        OK(MPI_Comm_compare(a, b, &cmp));
        CHECK(cmp == MPI_CONGRUENT);
        /* Same tag and source on both: each communicator gets its own message. */
        int succ = (r + 1) % n, pred = (r - 1 + n) % n, va = 100 + rank, vb = 200 + rank, got = -1;
        MPI_Request rq[2];
        OK(MPI_Isend(&va, 1, MPI_INT, succ, 3, a, &rq[0]));
        OK(MPI_Isend(&vb, 1, MPI_INT, succ, 3, b, &rq[1]));
        OK(MPI_Recv(&got, 1, MPI_INT, pred, 3, b, MPI_STATUS_IGNORE));
        CHECK(got == 200 + members[pred]);
        OK(MPI_Recv(&got, 1, MPI_INT, pred, 3, a, MPI_STATUS_IGNORE));
        CHECK(got == 100 + members[pred]);
        OK(MPI_Waitall(2, rq, MPI_STATUSES_IGNORE));
        ring_in(a, members, 31);
        OK(MPI_Comm_free(&a));
        OK(MPI_Comm_free(&b));
    } else {
        /* Meanwhile the lower half makes its own, with another tag. */
        MPI_Comm low;
        MPI_Group lower;
        OK(MPI_Group_difference(world, upper, &lower));
        OK(MPI_Comm_create_group(MPI_COMM_WORLD, lower, 9, &low));
        OK(MPI_Group_free(&lower));
        for (int i = 0; i < lo; i++) members[i] = i;
        ring_in(low, members, 32);
        OK(MPI_Comm_free(&low));
    }
    /* A non-member calling with a group it is not in gets MPI_COMM_NULL without waiting. */
    if (rank < lo) {
        MPI_Comm none = MPI_COMM_WORLD;
        OK(MPI_Comm_create_group(MPI_COMM_WORLD, upper, 8, &none));
        CHECK(none == MPI_COMM_NULL);
    }
    OK(MPI_Barrier(MPI_COMM_WORLD));
    OK(MPI_Group_free(&upper));
    OK(MPI_Group_free(&world));
    free(members);
}

static void test_split_type_and_dups(void) {
    /* A local run: every rank is on this host, so SHARED gives the whole world, ordered by key. */
    MPI_Comm shared, none;
    OK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, size - rank, MPI_INFO_NULL, &shared));
    int r, n, *members = malloc(sizeof(int) * (size_t)size);
    CHECK(members != NULL);
    OK(MPI_Comm_rank(shared, &r));
    OK(MPI_Comm_size(shared, &n));
    CHECK(n == size && r == size - 1 - rank);
    for (int i = 0; i < size; i++) members[i] = size - 1 - i;
    ring_in(shared, members, 41);
    OK(MPI_Comm_free(&shared));
    OK(MPI_Comm_split_type(MPI_COMM_WORLD, rank == 0 ? MPI_UNDEFINED : MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL,
                           &shared));
    if (rank == 0) {
        CHECK(shared == MPI_COMM_NULL);
    } else {
        OK(MPI_Comm_size(shared, &n));
        CHECK(n == size - 1);
        OK(MPI_Comm_free(&shared));
    }
    /* No info key to guide it: the standard's answer is MPI_COMM_NULL. Unguided: one host is
       no strict subset of the world. */
    OK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_HW_GUIDED, 0, MPI_INFO_NULL, &none));
    CHECK(none == MPI_COMM_NULL);
    OK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_HW_UNGUIDED, 0, MPI_INFO_NULL, &none));
    CHECK(none == MPI_COMM_NULL);
    /* Guided by the one resource MPI names: shared memory, the host here (all ranks share it). */
    MPI_Info guide;
    OK(MPI_Info_create(&guide));
    OK(MPI_Info_set(guide, "mpi_hw_resource_type", "unheard-of"));
    OK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_RESOURCE_GUIDED, 0, guide, &none));
    CHECK(none == MPI_COMM_NULL);
    OK(MPI_Info_set(guide, "mpi_hw_resource_type", "mpi_shared_memory"));
    OK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_HW_GUIDED, 0, guide, &shared));
    OK(MPI_Comm_size(shared, &n));
    CHECK(n == size);
    OK(MPI_Comm_free(&shared));
    OK(MPI_Info_free(&guide));

    /* idup completes at once; the duplicate carries its own traffic. */
    MPI_Comm d1, d2;
    MPI_Request req;
    int flag = 0, cmp;
    OK(MPI_Comm_idup(MPI_COMM_WORLD, &d1, &req));
    OK(MPI_Test(&req, &flag, MPI_STATUS_IGNORE));
    CHECK(flag && req == MPI_REQUEST_NULL);
    OK(MPI_Comm_compare(MPI_COMM_WORLD, d1, &cmp));
    CHECK(cmp == MPI_CONGRUENT);
    for (int i = 0; i < size; i++) members[i] = i;
    ring_in(d1, members, 42);
    OK(MPI_Comm_dup_with_info(d1, MPI_INFO_NULL, &d2));
    ring_in(d2, members, 43);
    OK(MPI_Comm_idup_with_info(d2, MPI_INFO_NULL, &none, &req));
    OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    ring_in(none, members, 44);
    OK(MPI_Comm_free(&none));

    /* Names. */
    char name[MPI_MAX_OBJECT_NAME];
    int len = -1;
    OK(MPI_Comm_get_name(MPI_COMM_WORLD, name, &len));
    CHECK(strcmp(name, "MPI_COMM_WORLD") == 0 && len == 14);
    OK(MPI_Comm_get_name(MPI_COMM_NULL, name, &len));
    CHECK(strcmp(name, "MPI_COMM_NULL") == 0 && len == 13);
    OK(MPI_Comm_get_name(d1, name, &len));
    CHECK(len == 0 && name[0] == 0);
    OK(MPI_Comm_set_name(d1, "duplicate one"));
    OK(MPI_Comm_get_name(d1, name, &len));
    CHECK(strcmp(name, "duplicate one") == 0 && len == 13);

    /* Intercommunicators: none here, and the calls that need them say so; a remote leader in
       the local group is refused by the leader (MPI_ERR_RANK), which tells its group. */
    OK(MPI_Comm_test_inter(d1, &flag));
    CHECK(flag == 0);
    MPI_Comm parent = MPI_COMM_WORLD;
    OK(MPI_Comm_get_parent(&parent));
    CHECK(parent == MPI_COMM_NULL); /* never spawned */
    OK(MPI_Comm_set_errhandler(d1, MPI_ERRORS_RETURN));
    MPI_Comm inter = MPI_COMM_NULL;
    int cls = -1, rc = MPI_Intercomm_create(d1, 0, MPI_COMM_WORLD, 0, 5, &inter);
    OK(MPI_Error_class(rc, &cls));
    int d1rank;
    OK(MPI_Comm_rank(d1, &d1rank));
    CHECK(cls == (d1rank == 0 ? MPI_ERR_RANK : MPI_ERR_ARG) && inter == MPI_COMM_NULL);
    rc = MPI_Comm_remote_size(d1, &n);
    OK(MPI_Error_class(rc, &cls));
    CHECK(cls == MPI_ERR_COMM);

    OK(MPI_Comm_free(&d1));
    OK(MPI_Comm_free(&d2));
    free(members);
}

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    test_group_ops();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    test_comm_create();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    test_comm_create_group();
    test_split_type_and_dups();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    OK(MPI_Finalize());
    if (rank == 0) printf("PASS groups\n");
    return 0;
}
