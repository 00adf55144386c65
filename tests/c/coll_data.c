/* coll_data.c: broadcast, gather(v), scatter(v), allgather(v), alltoall(v), with MPI_IN_PLACE, uneven counts (zeros
   included), scattered displacements and large messages, on MPI_COMM_WORLD, a dup and a split; plus argument errors. */
#include "check.h"

static int me, n; /* rank and size in the communicator under test */

/* The value element j of the block that rank src sends to rank dst carries. */
static int val(int src, int dst, int j) { return src * 1000000 + dst * 1000 + j; }

/* Uneven block sizes: rank r contributes r + 1 elements, except every third rank contributes none. */
static int vcount(int r) { return r % 3 == 1 ? 0 : r + 1; }

/* Displacements that place the blocks in reverse rank order with a 2-element gap before each;
   returns the buffer length needed. */
static int reversed(const int *counts, int *displs) {
    int at = 0;
    for (int r = n - 1; r >= 0; r--) {
        at += 2;
        displs[r] = at;
        at += counts[r];
    }
    return at;
}

static int *ints(int count) {
    int *p = malloc(sizeof(int) * (size_t)(count > 0 ? count : 1));
    CHECK(p != NULL);
    for (int i = 0; i < count; i++) p[i] = -1;
    return p;
}

static void test_bcast(MPI_Comm comm) {
    for (int root = 0; root < n; root++) {
        for (int count = 0; count <= 100000; count = count ? count * 100 : 10) {
            int *b = ints(count);
            if (me == root)
                for (int j = 0; j < count; j++) b[j] = val(root, 0, j);
            OK(MPI_Bcast(b, count, MPI_INT, root, comm));
            for (int j = 0; j < count; j++) CHECK(b[j] == val(root, 0, j));
            free(b);
        }
    }
}

static void test_gather(MPI_Comm comm) {
    for (int root = 0; root < n; root += n > 2 ? n - 1 : 1) {
        for (int inplace = 0; inplace < 2; inplace++) {
            int mine[3], *all = ints(3 * n);
            for (int j = 0; j < 3; j++) mine[j] = val(me, root, j);
            const void *send = mine;
            if (inplace && me == root) {
                memcpy(all + 3 * me, mine, sizeof mine);
                send = MPI_IN_PLACE;
            }
            OK(MPI_Gather(send, 3, MPI_INT, all, 3, MPI_INT, root, comm));
            if (me == root)
                for (int i = 0; i < 3 * n; i++) CHECK(all[i] == val(i / 3, root, i % 3));
            free(all);

            int counts[64], displs[64], len;
            for (int r = 0; r < n; r++) counts[r] = vcount(r);
            len = reversed(counts, displs);
            int *v = ints(len), *own = ints(vcount(me));
            for (int j = 0; j < vcount(me); j++) own[j] = val(me, root, j);
            send = own;
            if (inplace && me == root) {
                memcpy(v + displs[me], own, sizeof(int) * (size_t)vcount(me));
                send = MPI_IN_PLACE;
            }
            OK(MPI_Gatherv(send, vcount(me), MPI_INT, v, counts, displs, MPI_INT, root, comm));
            if (me == root) {
                for (int r = 0; r < n; r++) {
                    CHECK(v[displs[r] - 1] == -1 && v[displs[r] - 2] == -1); /* the gaps stay untouched */
                    for (int j = 0; j < counts[r]; j++) CHECK(v[displs[r] + j] == val(r, root, j));
                }
            }
            free(v);
            free(own);
        }
    }
}

static void test_scatter(MPI_Comm comm) {
    for (int root = 0; root < n; root += n > 2 ? n - 1 : 1) {
        for (int inplace = 0; inplace < 2; inplace++) {
            int *all = ints(4 * n), mine[4] = {-1, -1, -1, -1};
            if (me == root)
                for (int i = 0; i < 4 * n; i++) all[i] = val(root, i / 4, i % 4);
            void *recv = inplace && me == root ? MPI_IN_PLACE : (void *)mine;
            OK(MPI_Scatter(all, 4, MPI_INT, recv, 4, MPI_INT, root, comm));
            const int *got = recv == MPI_IN_PLACE ? all + 4 * me : mine;
            for (int j = 0; j < 4; j++) CHECK(got[j] == val(root, me, j));
            free(all);

            int counts[64], displs[64], len;
            for (int r = 0; r < n; r++) counts[r] = vcount(r);
            len = reversed(counts, displs);
            int *v = ints(len), *own = ints(vcount(me));
            if (me == root)
                for (int r = 0; r < n; r++)
                    for (int j = 0; j < counts[r]; j++) v[displs[r] + j] = val(root, r, j);
            recv = inplace && me == root ? MPI_IN_PLACE : (void *)own;
            OK(MPI_Scatterv(v, counts, displs, MPI_INT, recv, vcount(me), MPI_INT, root, comm));
            got = recv == MPI_IN_PLACE ? v + displs[me] : own;
            for (int j = 0; j < vcount(me); j++) CHECK(got[j] == val(root, me, j));
            free(v);
            free(own);
        }
    }
}

static void test_allgather(MPI_Comm comm) {
    for (int inplace = 0; inplace < 2; inplace++) {
        for (int count = 2; count <= 20000; count *= 100) {
            int *mine = ints(count), *all = ints(count * n);
            for (int j = 0; j < count; j++) mine[j] = val(me, 0, j);
            const void *send = mine;
            if (inplace) {
                memcpy(all + count * me, mine, sizeof(int) * (size_t)count);
                send = MPI_IN_PLACE;
            }
            OK(MPI_Allgather(send, count, MPI_INT, all, count, MPI_INT, comm));
            for (int i = 0; i < count * n; i++) CHECK(all[i] == val(i / count, 0, i % count));
            free(mine);
            free(all);
        }

        int counts[64], displs[64], len;
        for (int r = 0; r < n; r++) counts[r] = vcount(r);
        len = reversed(counts, displs);
        int *v = ints(len), *own = ints(vcount(me));
        for (int j = 0; j < vcount(me); j++) own[j] = val(me, 0, j);
        const void *send = own;
        if (inplace) {
            memcpy(v + displs[me], own, sizeof(int) * (size_t)vcount(me));
            send = MPI_IN_PLACE;
        }
        OK(MPI_Allgatherv(send, vcount(me), MPI_INT, v, counts, displs, MPI_INT, comm));
        for (int r = 0; r < n; r++) {
            CHECK(v[displs[r] - 1] == -1);
            for (int j = 0; j < counts[r]; j++) CHECK(v[displs[r] + j] == val(r, 0, j));
        }
        free(v);
        free(own);
    }
}

/* Elements rank a sends to rank b in the v test: symmetric, as MPI_IN_PLACE needs, and zero for some pairs. */
static int pair_count(int a, int b) { return (a + b) % 3; }

static void test_alltoall(MPI_Comm comm) {
    for (int inplace = 0; inplace < 2; inplace++) {
        int *s = ints(2 * n), *r = ints(2 * n);
        for (int i = 0; i < 2 * n; i++) s[i] = val(me, i / 2, i % 2);
        if (inplace) memcpy(r, s, sizeof(int) * 2 * (size_t)n);
        OK(MPI_Alltoall(inplace ? MPI_IN_PLACE : s, 2, MPI_INT, r, 2, MPI_INT, comm));
        for (int i = 0; i < 2 * n; i++) CHECK(r[i] == val(i / 2, me, i % 2));
        free(s);
        free(r);

        int scounts[64], sdispls[64], rcounts[64], rdispls[64], slen, rlen = 0;
        for (int p = 0; p < n; p++) {
            scounts[p] = pair_count(me, p);
            rcounts[p] = pair_count(p, me);
            rdispls[p] = rlen;
            rlen += rcounts[p] + 1;
        }
        slen = reversed(scounts, sdispls);
        s = ints(slen);
        r = ints(rlen);
        for (int p = 0; p < n; p++)
            for (int j = 0; j < scounts[p]; j++) {
                s[sdispls[p] + j] = val(me, p, j);
                if (inplace) r[rdispls[p] + j] = val(me, p, j);
            }
        OK(MPI_Alltoallv(inplace ? MPI_IN_PLACE : s, scounts, sdispls, MPI_INT, r, rcounts, rdispls, MPI_INT, comm));
        for (int p = 0; p < n; p++) {
            for (int j = 0; j < rcounts[p]; j++) CHECK(r[rdispls[p] + j] == val(p, me, j));
            CHECK(r[rdispls[p] + rcounts[p]] == -1);
        }
        free(s);
        free(r);
    }
}

/* Send and receive types differ but the signatures match: 2 MPI_INTs arrive as one contiguous pair. */
static void test_mixed_types(MPI_Comm comm) {
    MPI_Datatype two;
    OK(MPI_Type_contiguous(2, MPI_INT, &two));
    OK(MPI_Type_commit(&two));
    int mine[2] = {val(me, 0, 0), val(me, 0, 1)}, *all = ints(2 * n);
    OK(MPI_Allgather(mine, 2, MPI_INT, all, 1, two, comm));
    for (int i = 0; i < 2 * n; i++) CHECK(all[i] == val(i / 2, 0, i % 2));
    OK(MPI_Type_free(&two));
    free(all);
}

static void test_errors(MPI_Comm comm) {
    int buf[4] = {0, 0, 0, 0}, *big = ints(4 * n), code, cls;
    OK(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN));
    CHECK(MPI_Bcast(buf, 1, MPI_INT, n, comm) == MPI_ERR_ROOT);
    CHECK(MPI_Gather(buf, 1, MPI_INT, big, 1, MPI_INT, -1, comm) == MPI_ERR_ROOT);
    CHECK(MPI_Bcast(buf, -1, MPI_INT, 0, comm) == MPI_ERR_COUNT);
    CHECK(MPI_Allgather(NULL, 2, MPI_INT, big, 2, MPI_INT, comm) == MPI_ERR_BUFFER);
    /* The root expects 1 element per rank but every rank sends 2: the root sees the truncation. */
    code = MPI_Gather(buf, 2, MPI_INT, big, 1, MPI_INT, 0, comm);
    OK(MPI_Error_class(code, &cls));
    if (me == 0 && n > 1) CHECK(cls == MPI_ERR_TRUNCATE);
    if (me != 0) CHECK(code == MPI_SUCCESS);
    if (me == 0 && n == 1) CHECK(cls == MPI_ERR_TRUNCATE); /* its own block is too small too */
    OK(MPI_Comm_set_errhandler(comm, MPI_ERRORS_ARE_FATAL));
    OK(MPI_Barrier(comm));
    free(big);
}

static void run_all(MPI_Comm comm) {
    OK(MPI_Comm_rank(comm, &me));
    OK(MPI_Comm_size(comm, &n));
    test_bcast(comm);
    test_gather(comm);
    test_scatter(comm);
    test_allgather(comm);
    test_alltoall(comm);
    test_mixed_types(comm);
}

int main(int argc, char **argv) {
    int size;
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    CHECK(size <= 64);

    run_all(MPI_COMM_WORLD);

    MPI_Comm dup, split;
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &dup));
    run_all(dup);
    /* Two halves with ranks in reverse order, so communicator and world ranks differ. */
    OK(MPI_Comm_split(MPI_COMM_WORLD, rank % 2, -rank, &split));
    run_all(split);
    test_errors(split);
    OK(MPI_Comm_free(&split));
    OK(MPI_Comm_free(&dup));

    OK(MPI_Comm_rank(MPI_COMM_WORLD, &me));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &n));
    test_errors(MPI_COMM_WORLD);
    OK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0) printf("PASS coll_data\n");
    OK(MPI_Finalize());
    return 0;
}
