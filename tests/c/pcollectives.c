/* pcollectives.c: MPI 4 persistent collectives. Every MPI_Xxx_init (and some _c forms) set up once and started
   several times, the send buffers changed between starts, each result checked against locally computed values;
   MPI_Startall over collective and point-to-point persistent requests together, completed with Waitall, Waitany
   and Testall; a persistent collective interleaved with blocking ones; neighbour collectives on a ring; count
   arrays read once, at init; and the error paths: bad arguments at init, starting an active request, freeing or
   cancelling an active one. */
#include "check.h"

#define ROUNDS 3

static int me, n; /* rank and size in MPI_COMM_WORLD */

/* Element j of what rank r contributes in round k: small integers. */
static int val(int r, int k, int j) { return (r * 31 + k * 7 + j * 3) % 101 - 50; }

/* What rank `from` sends rank `to` in round k (all-to-all). */
static int pair(int from, int to, int k, int j) { return val(from * 7 + to, k, j); }

static int sum_of(int ranks, int k, int j) {
    int s = 0;
    for (int r = 0; r < ranks; r++) s += val(r, k, j);
    return s;
}

static int *ints(size_t count) {
    int *p = malloc(sizeof(int) * (count ? count : 1));
    CHECK(p != NULL);
    for (size_t i = 0; i < count; i++) p[i] = -1;
    return p;
}

static void clear(int *p, size_t count) {
    for (size_t i = 0; i < count; i++) p[i] = -1;
}

/* Starts an inactive persistent request, waits for it, and checks it stays allocated and inactive. */
static void run(MPI_Request *req) {
    int flag = 0;
    OK(MPI_Start(req));
    OK(MPI_Wait(req, MPI_STATUS_IGNORE));
    CHECK(*req != MPI_REQUEST_NULL);
    OK(MPI_Request_get_status(*req, &flag, MPI_STATUS_IGNORE));
    CHECK(flag == 1); /* inactive: done at once */
}

static void release(MPI_Request *req) {
    OK(MPI_Request_free(req));
    CHECK(*req == MPI_REQUEST_NULL);
}

/* Rank r's count in the v variants (0 for every third rank, so empty blocks occur), and
   displacements in reverse rank order with one-element gaps; returns the buffer length. */
static int vcount(int r) { return (r % 3) * 2; }
static int reversed(const int *counts, int *displs) {
    int at = 1;
    for (int r = n - 1; r >= 0; r--) {
        displs[r] = at;
        at += counts[r] + 1;
    }
    return at;
}

static void test_rooted(MPI_Comm comm, int root) {
    MPI_Request bcast, gather, gatherv, scatter, scatterv, reduce;
    int b[5], mine[3], *all = ints(3 * (size_t)n), *sall = ints(3 * (size_t)n), got[3];
    int counts[64], displs[64], vlen, *vall, vmine[4], vgot[5], red[4], redsum[4];
    for (int r = 0; r < n; r++) counts[r] = vcount(r);
    vlen = reversed(counts, displs);
    vall = ints((size_t)vlen);
    OK(MPI_Bcast_init(b, 5, MPI_INT, root, comm, MPI_INFO_NULL, &bcast));
    OK(MPI_Gather_init(mine, 3, MPI_INT, all, 3, MPI_INT, root, comm, MPI_INFO_NULL, &gather));
    OK(MPI_Gatherv_init(vmine, vcount(me), MPI_INT, vall, counts, displs, MPI_INT, root, comm, MPI_INFO_NULL,
                        &gatherv));
    OK(MPI_Scatter_init(sall, 3, MPI_INT, got, 3, MPI_INT, root, comm, MPI_INFO_NULL, &scatter));
    OK(MPI_Scatterv_init(vall, counts, displs, MPI_INT, vgot, vcount(me), MPI_INT, root, comm, MPI_INFO_NULL,
                         &scatterv));
    OK(MPI_Reduce_init(red, redsum, 4, MPI_INT, MPI_SUM, root, comm, MPI_INFO_NULL, &reduce));
    for (int k = 0; k < ROUNDS; k++) {
        for (int j = 0; j < 5; j++) b[j] = me == root ? val(root, k, j) : -1;
        run(&bcast);
        for (int j = 0; j < 5; j++) CHECK(b[j] == val(root, k, j));

        for (int j = 0; j < 3; j++) mine[j] = val(me, k, j);
        clear(all, 3 * (size_t)n);
        run(&gather);
        if (me == root)
            for (int r = 0; r < n; r++)
                for (int j = 0; j < 3; j++) CHECK(all[3 * r + j] == val(r, k, j));

        for (int j = 0; j < vcount(me); j++) vmine[j] = val(me, k + 10, j);
        clear(vall, (size_t)vlen);
        run(&gatherv);
        if (me == root)
            for (int r = 0; r < n; r++)
                for (int j = 0; j < counts[r]; j++) CHECK(vall[displs[r] + j] == val(r, k + 10, j));

        for (int r = 0; r < n; r++)
            for (int j = 0; j < 3; j++) sall[3 * r + j] = me == root ? val(r, k + 20, j) : -1;
        clear(got, 3);
        run(&scatter);
        for (int j = 0; j < 3; j++) CHECK(got[j] == val(me, k + 20, j));

        if (me == root)
            for (int r = 0; r < n; r++)
                for (int j = 0; j < counts[r]; j++) vall[displs[r] + j] = val(r, k + 30, j);
        clear(vgot, 5);
        run(&scatterv);
        for (int j = 0; j < vcount(me); j++) CHECK(vgot[j] == val(me, k + 30, j));
        CHECK(vgot[vcount(me)] == -1);

        for (int j = 0; j < 4; j++) red[j] = val(me, k + 40, j);
        clear(redsum, 4);
        run(&reduce);
        if (me == root)
            for (int j = 0; j < 4; j++) CHECK(redsum[j] == sum_of(n, k + 40, j));
    }
    release(&bcast), release(&gather), release(&gatherv), release(&scatter), release(&scatterv);
    release(&reduce);
    free(all), free(sall), free(vall);
}

static void test_all(MPI_Comm comm) {
    MPI_Request req[12];
    int mine[2], *all = ints(2 * (size_t)n), counts[64], displs[64], vmine[4], vlen, *vall;
    int *to = ints(2 * (size_t)n), *from = ints(2 * (size_t)n);
    int scounts[64], sdispls[64], rcounts[64], rdispls[64], bs[64], br[64];
    int *vto = ints(2 * (size_t)n), *vfrom = ints(2 * (size_t)n);
    int *wto = ints(2 * (size_t)n), *wfrom = ints(2 * (size_t)n);
    int ar[3], arsum[3], inplace[3], *rsb = ints(2 * (size_t)n), rsbgot[2], rscounts[64], *rs, rsgot[2];
    int sc[2], scsum[2], exsum[2];
    for (int r = 0; r < n; r++) counts[r] = vcount(r);
    vlen = reversed(counts, displs);
    vall = ints((size_t)vlen);
    int st = 0, rt = 0, rstotal = 0;
    for (int r = 0; r < n; r++) {
        scounts[r] = (me + r) % 3, rcounts[r] = (r + me) % 3;
        sdispls[r] = st, rdispls[r] = rt;
        bs[r] = st * (int)sizeof(int), br[r] = rt * (int)sizeof(int);
        st += scounts[r], rt += rcounts[r];
        rscounts[r] = r % 2 + 1, rstotal += rscounts[r];
    }
    rs = ints((size_t)rstotal);
    MPI_Datatype ty[64];
    for (int r = 0; r < n; r++) ty[r] = MPI_INT;
    OK(MPI_Allgather_init(mine, 2, MPI_INT, all, 2, MPI_INT, comm, MPI_INFO_NULL, &req[0]));
    OK(MPI_Allgatherv_init(vmine, vcount(me), MPI_INT, vall, counts, displs, MPI_INT, comm, MPI_INFO_NULL, &req[1]));
    OK(MPI_Alltoall_init(to, 2, MPI_INT, from, 2, MPI_INT, comm, MPI_INFO_NULL, &req[2]));
    OK(MPI_Alltoallv_init(vto, scounts, sdispls, MPI_INT, vfrom, rcounts, rdispls, MPI_INT, comm, MPI_INFO_NULL,
                          &req[3]));
    OK(MPI_Alltoallw_init(wto, scounts, bs, ty, wfrom, rcounts, br, ty, comm, MPI_INFO_NULL, &req[4]));
    OK(MPI_Allreduce_init(ar, arsum, 3, MPI_INT, MPI_SUM, comm, MPI_INFO_NULL, &req[5]));
    OK(MPI_Allreduce_init(MPI_IN_PLACE, inplace, 3, MPI_INT, MPI_MAX, comm, MPI_INFO_NULL, &req[6]));
    OK(MPI_Reduce_scatter_block_init(rsb, rsbgot, 2, MPI_INT, MPI_SUM, comm, MPI_INFO_NULL, &req[7]));
    OK(MPI_Reduce_scatter_init(rs, rsgot, rscounts, MPI_INT, MPI_SUM, comm, MPI_INFO_NULL, &req[8]));
    OK(MPI_Scan_init(sc, scsum, 2, MPI_INT, MPI_SUM, comm, MPI_INFO_NULL, &req[9]));
    OK(MPI_Exscan_init(sc, exsum, 2, MPI_INT, MPI_SUM, comm, MPI_INFO_NULL, &req[10]));
    OK(MPI_Barrier_init(comm, MPI_INFO_NULL, &req[11]));
    for (int k = 0; k < ROUNDS; k++) {
        for (int j = 0; j < 2; j++) mine[j] = val(me, k, j);
        for (int j = 0; j < vcount(me); j++) vmine[j] = val(me, k + 5, j);
        for (int r = 0; r < n; r++) {
            for (int j = 0; j < 2; j++) to[2 * r + j] = pair(me, r, k, j);
            for (int j = 0; j < scounts[r]; j++) vto[sdispls[r] + j] = pair(me, r, k + 5, j);
            for (int j = 0; j < scounts[r]; j++) wto[sdispls[r] + j] = pair(me, r, k + 9, j);
        }
        for (int j = 0; j < 3; j++) ar[j] = val(me, k + 1, j), inplace[j] = val(me, k + 2, j);
        for (int i = 0; i < 2 * n; i++) rsb[i] = val(me, k + 3, i);
        for (int i = 0; i < rstotal; i++) rs[i] = val(me, k + 4, i);
        for (int j = 0; j < 2; j++) sc[j] = val(me, k + 6, j);
        clear(all, 2 * (size_t)n), clear(vall, (size_t)vlen), clear(from, 2 * (size_t)n);
        clear(vfrom, 2 * (size_t)n), clear(wfrom, 2 * (size_t)n), clear(arsum, 3), clear(rsbgot, 2);
        clear(rsgot, 2), clear(scsum, 2), clear(exsum, 2);
        /* All at once in one Startall, completed in a different way each round. */
        OK(MPI_Startall(12, req));
        if (k == 0) {
            MPI_Status statuses[12];
            OK(MPI_Waitall(12, req, statuses));
        } else if (k == 1) {
            for (int left = 12; left > 0; left--) {
                int index = -1;
                OK(MPI_Waitany(12, req, &index, MPI_STATUS_IGNORE));
                CHECK(index >= 0 && index < 12);
            }
            int index = 0;
            OK(MPI_Waitany(12, req, &index, MPI_STATUS_IGNORE));
            CHECK(index == MPI_UNDEFINED); /* all inactive again */
        } else {
            int flag = 0;
            while (!flag) OK(MPI_Testall(12, req, &flag, MPI_STATUSES_IGNORE));
        }
        for (int i = 0; i < 12; i++) CHECK(req[i] != MPI_REQUEST_NULL);
        for (int r = 0; r < n; r++) {
            for (int j = 0; j < 2; j++) CHECK(all[2 * r + j] == val(r, k, j));
            for (int j = 0; j < counts[r]; j++) CHECK(vall[displs[r] + j] == val(r, k + 5, j));
            for (int j = 0; j < 2; j++) CHECK(from[2 * r + j] == pair(r, me, k, j));
            for (int j = 0; j < rcounts[r]; j++) CHECK(vfrom[rdispls[r] + j] == pair(r, me, k + 5, j));
            for (int j = 0; j < rcounts[r]; j++) CHECK(wfrom[rdispls[r] + j] == pair(r, me, k + 9, j));
        }
        for (int j = 0; j < 3; j++) {
            CHECK(arsum[j] == sum_of(n, k + 1, j));
            int max = val(0, k + 2, j);
            for (int r = 1; r < n; r++) max = val(r, k + 2, j) > max ? val(r, k + 2, j) : max;
            CHECK(inplace[j] == max);
        }
        for (int j = 0; j < 2; j++) CHECK(rsbgot[j] == sum_of(n, k + 3, 2 * me + j));
        int at = 0;
        for (int r = 0; r < me; r++) at += rscounts[r];
        for (int j = 0; j < rscounts[me]; j++) CHECK(rsgot[j] == sum_of(n, k + 4, at + j));
        for (int j = 0; j < 2; j++) {
            CHECK(scsum[j] == sum_of(me + 1, k + 6, j));
            if (me > 0) CHECK(exsum[j] == sum_of(me, k + 6, j));
        }
    }
    for (int i = 0; i < 12; i++) release(&req[i]);
    free(all), free(vall), free(to), free(from), free(vto), free(vfrom), free(wto), free(wfrom), free(rsb), free(rs);
}

/* Startall over point-to-point and collective persistent requests together: a ring shift and an allreduce. */
static void test_mixed(void) {
    int out = 0, in = 0, x = 0, sum = 0;
    MPI_Request req[4];
    OK(MPI_Send_init(&out, 1, MPI_INT, (me + 1) % n, 7, MPI_COMM_WORLD, &req[0]));
    OK(MPI_Allreduce_init(&x, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, MPI_INFO_NULL, &req[1]));
    OK(MPI_Recv_init(&in, 1, MPI_INT, (me + n - 1) % n, 7, MPI_COMM_WORLD, &req[2]));
    OK(MPI_Barrier_init(MPI_COMM_WORLD, MPI_INFO_NULL, &req[3]));
    for (int k = 0; k < ROUNDS; k++) {
        out = val(me, k, 0), x = val(me, k, 1), in = sum = -1;
        OK(MPI_Startall(4, req));
        OK(MPI_Waitall(4, req, MPI_STATUSES_IGNORE));
        CHECK(in == val((me + n - 1) % n, k, 0));
        CHECK(sum == sum_of(n, k, 1));
    }
    for (int i = 0; i < 4; i++) release(&req[i]);
}

/* A persistent collective started, then blocking collectives, then the wait: all ranks in the same order. */
static void test_interleaved(void) {
    int x = 0, sum = 0, b = 0;
    MPI_Request req;
    OK(MPI_Allreduce_init(&x, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, MPI_INFO_NULL, &req));
    for (int k = 0; k < ROUNDS; k++) {
        x = val(me, k, 2), sum = -1, b = me == 0 ? k * 100 : -1;
        OK(MPI_Start(&req));
        OK(MPI_Bcast(&b, 1, MPI_INT, 0, MPI_COMM_WORLD));
        int y = me, ysum = -1;
        OK(MPI_Allreduce(&y, &ysum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
        OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
        CHECK(b == k * 100 && ysum == n * (n - 1) / 2 && sum == sum_of(n, k, 2));
    }
    release(&req);
}

/* The large-count forms, one of each shape. */
static void test_large_count(void) {
    MPI_Request req[3];
    int b[4], mine[2], *all = ints(2 * (size_t)n), s[2], t[2];
    MPI_Count counts[64];
    MPI_Aint displs[64];
    for (int r = 0; r < n; r++) counts[r] = 2, displs[r] = 2 * (n - 1 - r);
    OK(MPI_Bcast_init_c(b, 4, MPI_INT, n - 1, MPI_COMM_WORLD, MPI_INFO_NULL, &req[0]));
    OK(MPI_Allgatherv_init_c(mine, 2, MPI_INT, all, counts, displs, MPI_INT, MPI_COMM_WORLD, MPI_INFO_NULL,
                             &req[1]));
    OK(MPI_Allreduce_init_c(s, t, 2, MPI_INT, MPI_SUM, MPI_COMM_WORLD, MPI_INFO_NULL, &req[2]));
    for (int k = 0; k < ROUNDS; k++) {
        for (int j = 0; j < 4; j++) b[j] = me == n - 1 ? val(n, k, j) : -1;
        for (int j = 0; j < 2; j++) mine[j] = val(me, k, j), s[j] = val(me, k + 1, j);
        clear(all, 2 * (size_t)n), clear(t, 2);
        OK(MPI_Startall(3, req));
        OK(MPI_Waitall(3, req, MPI_STATUSES_IGNORE));
        for (int j = 0; j < 4; j++) CHECK(b[j] == val(n, k, j));
        for (int r = 0; r < n; r++)
            for (int j = 0; j < 2; j++) CHECK(all[2 * (n - 1 - r) + j] == val(r, k, j));
        for (int j = 0; j < 2; j++) CHECK(t[j] == sum_of(n, k + 1, j));
    }
    for (int i = 0; i < 3; i++) release(&req[i]);
    free(all);
}

/* The count and displacement arrays are read at init (as other MPIs do, and mpi4py relies on): overwritten and
   freed before the start, they still describe the blocks. */
static void test_arrays_read_at_init(void) {
    int *counts = ints((size_t)n), *displs = ints((size_t)n), mine[2], *all = ints(2 * (size_t)n), got[2];
    for (int r = 0; r < n; r++) counts[r] = 2, displs[r] = 2 * r;
    int *rscounts = ints((size_t)n), *contrib = ints(2 * (size_t)n);
    for (int r = 0; r < n; r++) rscounts[r] = 2;
    MPI_Request req[2];
    OK(MPI_Allgatherv_init(mine, 2, MPI_INT, all, counts, displs, MPI_INT, MPI_COMM_WORLD, MPI_INFO_NULL, &req[0]));
    OK(MPI_Reduce_scatter_init(contrib, got, rscounts, MPI_INT, MPI_SUM, MPI_COMM_WORLD, MPI_INFO_NULL, &req[1]));
    for (int r = 0; r < n; r++) counts[r] = displs[r] = rscounts[r] = 1000000;
    free(counts), free(displs), free(rscounts);
    for (int k = 0; k < ROUNDS; k++) {
        for (int j = 0; j < 2; j++) mine[j] = val(me, k, j);
        for (int i = 0; i < 2 * n; i++) contrib[i] = val(me, k + 1, i);
        OK(MPI_Startall(2, req));
        OK(MPI_Waitall(2, req, MPI_STATUSES_IGNORE));
        for (int r = 0; r < n; r++)
            for (int j = 0; j < 2; j++) CHECK(all[2 * r + j] == val(r, k, j));
        for (int j = 0; j < 2; j++) CHECK(got[j] == sum_of(n, k + 1, 2 * me + j));
    }
    release(&req[0]), release(&req[1]);
    free(all), free(contrib);
}

/* Neighbour collectives on a periodic ring: the lower neighbour first, then the upper one. */
static void test_neighbours(void) {
    MPI_Comm ring;
    int dims[1] = {n}, periods[1] = {1};
    OK(MPI_Cart_create(MPI_COMM_WORLD, 1, dims, periods, 0, &ring));
    int lower = (me + n - 1) % n, upper = (me + 1) % n;
    int send[2], recv[4], counts[2] = {1, 1}, displs[2] = {2, 0}, sd[2] = {0, 1};
    MPI_Aint bd[2] = {0, sizeof(int)}, rbd[2] = {0, sizeof(int)};
    MPI_Datatype ty[2] = {MPI_INT, MPI_INT};
    MPI_Request req[6];
    OK(MPI_Neighbor_allgather_init(send, 1, MPI_INT, recv, 1, MPI_INT, ring, MPI_INFO_NULL, &req[0]));
    OK(MPI_Neighbor_allgatherv_init(send, 1, MPI_INT, recv, counts, displs, MPI_INT, ring, MPI_INFO_NULL, &req[1]));
    OK(MPI_Neighbor_alltoall_init(send, 1, MPI_INT, recv, 1, MPI_INT, ring, MPI_INFO_NULL, &req[2]));
    OK(MPI_Neighbor_alltoallv_init(send, counts, sd, MPI_INT, recv, counts, sd, MPI_INT, ring, MPI_INFO_NULL,
                                   &req[3]));
    OK(MPI_Neighbor_alltoallw_init(send, counts, bd, ty, recv, counts, rbd, ty, ring, MPI_INFO_NULL, &req[4]));
    OK(MPI_Neighbor_alltoall_init_c(send, 1, MPI_INT, recv, 1, MPI_INT, ring, MPI_INFO_NULL, &req[5]));
    for (int k = 0; k < ROUNDS; k++) {
        send[0] = val(me, k, 0), send[1] = val(me, k, 1);
        clear(recv, 4);
        run(&req[0]);
        CHECK(recv[0] == val(lower, k, 0) && recv[1] == val(upper, k, 0) && recv[2] == -1);
        clear(recv, 4);
        run(&req[1]);
        CHECK(recv[2] == val(lower, k, 0) && recv[0] == val(upper, k, 0) && recv[1] == -1);
        for (int i = 2; i < 6; i++) {
            clear(recv, 4);
            run(&req[i]);
            /* block 0 goes down and block 1 up, so the lower neighbour's block 1 arrives first */
            if (n >= 3) {
                CHECK(recv[0] == val(lower, k, 1) && recv[1] == val(upper, k, 0));
            } else { /* both neighbours are one rank: the blocks' order is moot */
                CHECK(recv[0] + recv[1] == val(lower, k, 1) + val(upper, k, 0));
            }
            CHECK(recv[2] == -1);
        }
    }
    for (int i = 0; i < 6; i++) release(&req[i]);
    OK(MPI_Comm_free(&ring));
}

static void expect(int rc, int cls) {
    int got;
    CHECK(rc != MPI_SUCCESS);
    OK(MPI_Error_class(rc, &got));
    CHECK(got == cls);
}

static void test_errors(void) {
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    MPI_Request req = MPI_REQUEST_NULL, keep;
    int b[2] = {0, 0}, x = 1, sum = 0;
    /* Bad arguments fail the init and leave the request alone. */
    expect(MPI_Bcast_init(b, 2, MPI_INT, n, MPI_COMM_WORLD, MPI_INFO_NULL, &req), MPI_ERR_ROOT);
    expect(MPI_Allreduce_init(&x, &sum, -1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, MPI_INFO_NULL, &req), MPI_ERR_COUNT);
    expect(MPI_Allreduce_init(&x, &sum, 1, MPI_INT, MPI_OP_NULL, MPI_COMM_WORLD, MPI_INFO_NULL, &req), MPI_ERR_OP);
    expect(MPI_Barrier_init(MPI_COMM_NULL, MPI_INFO_NULL, &req), MPI_ERR_COMM);
    expect(MPI_Barrier_init(MPI_COMM_WORLD, MPI_INFO_NULL, NULL), MPI_ERR_ARG);
    expect(MPI_Neighbor_allgather_init(&x, 1, MPI_INT, b, 1, MPI_INT, MPI_COMM_WORLD, MPI_INFO_NULL, &req),
           MPI_ERR_TOPOLOGY);
    CHECK(req == MPI_REQUEST_NULL);
    /* An inactive request: Wait and Test return at once, Cancel does nothing. */
    OK(MPI_Allreduce_init(&x, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, MPI_INFO_NULL, &req));
    keep = req;
    int flag = 0;
    OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    OK(MPI_Test(&req, &flag, MPI_STATUS_IGNORE));
    CHECK(flag == 1 && req == keep);
    /* An active one cannot be started again, cancelled or freed; after completing, it can be restarted. */
    OK(MPI_Start(&req));
    expect(MPI_Start(&req), MPI_ERR_REQUEST);
    expect(MPI_Startall(1, &req), MPI_ERR_REQUEST);
    expect(MPI_Cancel(&req), MPI_ERR_REQUEST);
    expect(MPI_Request_free(&req), MPI_ERR_REQUEST);
    CHECK(req == keep);
    flag = 0;
    while (!flag) OK(MPI_Test(&req, &flag, MPI_STATUS_IGNORE));
    CHECK(req == keep && sum == n);
    x = 2;
    run(&req);
    CHECK(sum == 2 * n);
    release(&req);
    expect(MPI_Start(&keep), MPI_ERR_REQUEST); /* freed */
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
}

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &n));
    me = rank;
    CHECK(n <= 64);
    test_rooted(MPI_COMM_WORLD, n - 1);
    test_rooted(MPI_COMM_WORLD, 0);
    test_all(MPI_COMM_WORLD);
    test_mixed();
    test_interleaved();
    test_large_count();
    test_arrays_read_at_init();
    test_neighbours();
    test_errors();
    OK(MPI_Finalize());
    if (rank == 0) printf("PASS pcollectives\n");
    return 0;
}
