/* intercomm_coll.h: the collective checks of intercomm.c (included by it). Process p's datum i is V(world rank
   of p, i); each check compares against what the remote group's processes must have sent. */
#define V(w, i) ((w) * 100 + (i))

/* The roots of a rooted collective: MPI_ROOT at rank `at` of the low group (root_low) or of
   the high group, MPI_PROC_NULL at the rest of its group, its rank at the other group. */
static int root_arg(int low, int root_low, int me, int at) {
    if (low == root_low) return me == at ? MPI_ROOT : MPI_PROC_NULL;
    return at;
}

static void check_rooted(MPI_Comm ic, int low, int lsize, int rsize, const int *rw, int root_low, int at) {
    int me;
    OK(MPI_Comm_rank(ic, &me));
    int root = root_arg(low, root_low, me, at);
    (void)lsize;
    /* The root's world rank, as the other group sees it. */
    int root_world = root >= 0 ? rw[root] : -1;
    int n = rsize, big = 3 * n + 3;
    int *buf = malloc(sizeof(int) * big), *blk = malloc(sizeof(int) * big);
    int *counts = malloc(sizeof(int) * n), *displs = malloc(sizeof(int) * n);
    MPI_Request req;

    /* Bcast, blocking and nonblocking. */
    for (int nb = 0; nb < 2; nb++) {
        buf[0] = root == MPI_ROOT ? V(rank, 1) : -1;
        buf[1] = root == MPI_ROOT ? V(rank, 2) : -1;
        if (nb) {
            OK(MPI_Ibcast(buf, 2, MPI_INT, root, ic, &req));
            OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
        } else {
            OK(MPI_Bcast(root == MPI_PROC_NULL ? NULL : buf, 2, MPI_INT, root, ic));
        }
        if (root >= 0) CHECK(buf[0] == V(root_world, 1) && buf[1] == V(root_world, 2));
        if (root == MPI_PROC_NULL) CHECK(buf[0] == -1);
    }
    /* Gather and Igather: two items from every leaf. */
    for (int nb = 0; nb < 2; nb++) {
        int mine[2] = {V(rank, 0), V(rank, 1)};
        for (int i = 0; i < big; i++) buf[i] = -1;
        if (nb) {
            OK(MPI_Igather(mine, 2, MPI_INT, buf, 2, MPI_INT, root, ic, &req));
            OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
        } else {
            /* Arguments MPI calls insignificant may be anything: NULL here. */
            OK(MPI_Gather(root >= 0 ? mine : NULL, 2, MPI_INT, root == MPI_ROOT ? buf : NULL, 2, MPI_INT, root, ic));
        }
        if (root == MPI_ROOT)
            for (int j = 0; j < n; j++) CHECK(buf[2 * j] == V(rw[j], 0) && buf[2 * j + 1] == V(rw[j], 1));
    }
    /* Gatherv: leaf j sends j+1 items, stored from the back of the buffer. */
    {
        int mine[64];
        for (int i = 0; i <= me; i++) mine[i] = V(rank, i);
        int at_ = big;
        for (int j = 0; j < n; j++) counts[j] = j + 1, at_ -= j + 1, displs[j] = at_;
        for (int i = 0; i < big; i++) buf[i] = -1;
        OK(MPI_Gatherv(mine, me + 1, MPI_INT, buf, counts, displs, MPI_INT, root, ic));
        if (root == MPI_ROOT)
            for (int j = 0; j < n; j++)
                for (int i = 0; i <= j; i++) CHECK(buf[displs[j] + i] == V(rw[j], i));
    }
    /* Scatter and Iscatter: leaf j gets V(root, j). */
    for (int nb = 0; nb < 2; nb++) {
        for (int j = 0; j < n; j++) buf[j] = V(rank, j);
        int got = -1;
        if (nb) {
            OK(MPI_Iscatter(buf, 1, MPI_INT, &got, 1, MPI_INT, root, ic, &req));
            OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
        } else {
            OK(MPI_Scatter(buf, 1, MPI_INT, &got, 1, MPI_INT, root, ic));
        }
        if (root >= 0) CHECK(got == V(root_world, me));
    }
    /* Scatterv: leaf j gets j+1 items. */
    {
        for (int j = 0, at_ = 0; j < n; j++) counts[j] = j + 1, displs[j] = at_, at_ += j + 1;
        for (int i = 0; i < big; i++) buf[i] = V(rank, i);
        int got[64];
        OK(MPI_Scatterv(buf, counts, displs, MPI_INT, got, me + 1, MPI_INT, root, ic));
        if (root >= 0) {
            int from = me * (me + 1) / 2;
            for (int i = 0; i <= me; i++) CHECK(got[i] == V(root_world, from + i));
        }
    }
    /* Reduce and Ireduce: the sum and the max of the leaves' three items. */
    for (int nb = 0; nb < 2; nb++) {
        int mine[3] = {V(rank, 0), V(rank, 1), V(rank, 2)}, sum[3] = {-1, -1, -1}, max[3];
        if (nb) {
            OK(MPI_Ireduce(mine, sum, 3, MPI_INT, MPI_SUM, root, ic, &req));
            OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
        } else {
            OK(MPI_Reduce(root >= 0 ? mine : NULL, root == MPI_ROOT ? sum : NULL, 3, MPI_INT, MPI_SUM, root, ic));
        }
        /* MPI_PROC_NULL ranks' other arguments are insignificant, the datatype too. */
        OK(MPI_Reduce(mine, max, 3, root == MPI_PROC_NULL ? MPI_DATATYPE_NULL : MPI_INT, MPI_MAX, root, ic));
        if (root == MPI_ROOT)
            for (int i = 0; i < 3; i++) {
                int s = 0, m = -1;
                for (int j = 0; j < n; j++) s += V(rw[j], i), m = V(rw[j], i) > m ? V(rw[j], i) : m;
                CHECK(sum[i] == s && max[i] == m);
            }
        if (root == MPI_PROC_NULL) CHECK(sum[0] == -1);
    }
    free(buf), free(blk), free(counts), free(displs);
}

static void check_collectives(MPI_Comm ic, int a) {
    int low = rank < a, lsize = low ? a : nworld - a, rsize = nworld - lsize, me;
    OK(MPI_Comm_rank(ic, &me));
    int *rw = malloc(sizeof(int) * rsize);
    for (int j = 0; j < rsize; j++) rw[j] = world_of(!low, a, j);
    OK(MPI_Barrier(ic));
    MPI_Request req;
    OK(MPI_Ibarrier(ic, &req));
    OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    check_rooted(ic, low, lsize, rsize, rw, 1, 0);
    check_rooted(ic, low, lsize, rsize, rw, 0, nworld - a - 1);

    int n = rsize, total = lsize * rsize;
    int *sbuf = malloc(sizeof(int) * (total + 4 * n)), *rbuf = malloc(sizeof(int) * (total + 4 * n));
    int *sc = malloc(sizeof(int) * n), *sd = malloc(sizeof(int) * n), *rc = malloc(sizeof(int) * n), *rd = malloc(sizeof(int) * n);
    /* Allgather and Iallgather: one item from each remote process. */
    for (int nb = 0; nb < 2; nb++) {
        int mine = V(rank, 0);
        if (nb) {
            OK(MPI_Iallgather(&mine, 1, MPI_INT, rbuf, 1, MPI_INT, ic, &req));
            OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
        } else {
            OK(MPI_Allgather(&mine, 1, MPI_INT, rbuf, 1, MPI_INT, ic));
        }
        for (int j = 0; j < n; j++) CHECK(rbuf[j] == V(rw[j], 0));
    }
    /* Allgatherv: remote j sends its rank + 1 items. */
    {
        for (int i = 0; i <= me; i++) sbuf[i] = V(rank, i);
        for (int j = 0, at = 0; j < n; j++) rc[j] = j + 1, rd[j] = at, at += j + 1;
        OK(MPI_Allgatherv(sbuf, me + 1, MPI_INT, rbuf, rc, rd, MPI_INT, ic));
        for (int j = 0; j < n; j++)
            for (int i = 0; i <= j; i++) CHECK(rbuf[rd[j] + i] == V(rw[j], i));
    }
    /* Alltoall and Ialltoall: block j to remote j. */
    for (int nb = 0; nb < 2; nb++) {
        for (int j = 0; j < n; j++) sbuf[j] = V(rank, j);
        if (nb) {
            OK(MPI_Ialltoall(sbuf, 1, MPI_INT, rbuf, 1, MPI_INT, ic, &req));
            OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
        } else {
            OK(MPI_Alltoall(sbuf, 1, MPI_INT, rbuf, 1, MPI_INT, ic));
        }
        for (int j = 0; j < n; j++) CHECK(rbuf[j] == V(rw[j], me));
    }
    /* Alltoallv and Alltoallw: (me + j) % 2 + 1 items between local me and remote j. */
    for (int w = 0; w < 2; w++) {
        int at = 0;
        for (int j = 0; j < n; j++) {
            sc[j] = rc[j] = (me + j) % 2 + 1;
            sd[j] = rd[j] = at;
            for (int i = 0; i < sc[j]; i++) sbuf[at + i] = V(rank, 10 * j + i);
            at += sc[j];
        }
        for (int i = 0; i < at; i++) rbuf[i] = -1;
        if (w) {
            MPI_Datatype *types = malloc(sizeof(MPI_Datatype) * n);
            int *sdb = malloc(sizeof(int) * n), *rdb = malloc(sizeof(int) * n);
            for (int j = 0; j < n; j++) types[j] = MPI_INT, sdb[j] = sd[j] * 4, rdb[j] = rd[j] * 4;
            OK(MPI_Alltoallw(sbuf, sc, sdb, types, rbuf, rc, rdb, types, ic));
            free(types), free(sdb), free(rdb);
        } else {
            OK(MPI_Alltoallv(sbuf, sc, sd, MPI_INT, rbuf, rc, rd, MPI_INT, ic));
        }
        for (int j = 0; j < n; j++)
            for (int i = 0; i < rc[j]; i++) CHECK(rbuf[rd[j] + i] == V(rw[j], 10 * me + i));
    }
    /* Allreduce and Iallreduce: the sum of the remote group's two items. */
    for (int nb = 0; nb < 2; nb++) {
        int mine[2] = {V(rank, 0), V(rank, 1)}, sum[2];
        if (nb) {
            OK(MPI_Iallreduce(mine, sum, 2, MPI_INT, MPI_SUM, ic, &req));
            OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
        } else {
            OK(MPI_Allreduce(mine, sum, 2, MPI_INT, MPI_SUM, ic));
        }
        for (int i = 0; i < 2; i++) {
            int s = 0;
            for (int j = 0; j < n; j++) s += V(rw[j], i);
            CHECK(sum[i] == s);
        }
    }
    /* Reduce_scatter_block: vectors of lsize * rsize items (the same on both sides), rsize per
       local process; Reduce_scatter: local rank 0 gets 2 * rsize, rank 1 none, others rsize. */
    for (int v = 0; v < 2; v++) {
        for (int i = 0; i < total; i++) sbuf[i] = V(rank, i);
        int *counts = malloc(sizeof(int) * lsize), from = 0, mine;
        for (int i = 0; i < lsize; i++) counts[i] = lsize == 1 ? rsize : i == 0 ? 2 * rsize : i == 1 ? 0 : rsize;
        for (int i = 0; i < me; i++) from += counts[i];
        for (int i = 0; i <= total; i++) rbuf[i] = -1;
        if (v) {
            OK(MPI_Reduce_scatter(sbuf, rbuf, counts, MPI_INT, MPI_SUM, ic));
            mine = counts[me];
        } else {
            OK(MPI_Reduce_scatter_block(sbuf, rbuf, rsize, MPI_INT, MPI_SUM, ic));
            from = me * rsize, mine = rsize;
        }
        for (int i = 0; i < mine; i++) {
            int s = 0;
            for (int j = 0; j < n; j++) s += V(rw[j], from + i);
            CHECK(rbuf[i] == s);
        }
        CHECK(rbuf[mine] == -1);
        free(counts);
    }
    free(sbuf), free(rbuf), free(sc), free(sd), free(rc), free(rd), free(rw);
}
