/* intercomm.c: intercommunicators. World is split into a low group (world ranks 0..a-1) and a
   high group (a..n-1), for even and uneven splits; the test checks the intercommunicator's
   groups, point-to-point both ways (blocking, nonblocking, persistent, probes, MPI_ANY_SOURCE),
   every intercommunicator collective against locally computed expectations, merge, dup,
   MPI_Intercomm_create_from_groups, and the error paths. */
#include "check.h"

static int nworld;

/* World rank of rank r of the low (low != 0) or high group of the split at a. */
static int world_of(int low, int a, int r) { return low ? r : a + r; }

static void check_groups(MPI_Comm ic, int a) {
    int low = rank < a, lsize = low ? a : nworld - a, rsize = nworld - lsize;
    int flag = 0, size, me, remote;
    OK(MPI_Comm_test_inter(ic, &flag));
    CHECK(flag == 1);
    OK(MPI_Comm_size(ic, &size));
    OK(MPI_Comm_rank(ic, &me));
    OK(MPI_Comm_remote_size(ic, &remote));
    CHECK(size == lsize && remote == rsize && me == (low ? rank : rank - a));
    MPI_Group wg, lg, rg;
    OK(MPI_Comm_group(MPI_COMM_WORLD, &wg));
    OK(MPI_Comm_group(ic, &lg));
    OK(MPI_Comm_remote_group(ic, &rg));
    int gs;
    OK(MPI_Group_size(rg, &gs));
    CHECK(gs == rsize);
    for (int r = 0; r < rsize; r++) {
        int w;
        OK(MPI_Group_translate_ranks(rg, 1, &r, wg, &w));
        CHECK(w == world_of(!low, a, r));
    }
    for (int r = 0; r < lsize; r++) {
        int w;
        OK(MPI_Group_translate_ranks(lg, 1, &r, wg, &w));
        CHECK(w == world_of(low, a, r));
    }
    OK(MPI_Group_free(&wg));
    OK(MPI_Group_free(&lg));
    OK(MPI_Group_free(&rg));
}

/* Every process sends every remote rank one message, in several ways, and checks what it gets. */
static void check_p2p(MPI_Comm ic) {
    int me, rsize;
    OK(MPI_Comm_rank(ic, &me));
    OK(MPI_Comm_remote_size(ic, &rsize));
    OK(MPI_Comm_set_errhandler(ic, MPI_ERRORS_RETURN));
    /* Nonblocking sends, receives from MPI_ANY_SOURCE: the status names the remote rank. */
    int *out = malloc(sizeof(int) * rsize), *in = malloc(sizeof(int) * rsize);
    MPI_Request *reqs = malloc(sizeof(MPI_Request) * rsize);
    for (int d = 0; d < rsize; d++) {
        out[d] = rank * 1000 + d;
        OK(MPI_Isend(&out[d], 1, MPI_INT, d, 5, ic, &reqs[d]));
    }
    int seen = 0;
    for (int k = 0; k < rsize; k++) {
        MPI_Status s;
        int v;
        OK(MPI_Recv(&v, 1, MPI_INT, MPI_ANY_SOURCE, 5, ic, &s));
        CHECK(s.MPI_SOURCE >= 0 && s.MPI_SOURCE < rsize && s.MPI_TAG == 5);
        CHECK(!(seen & (1 << s.MPI_SOURCE)));
        seen |= 1 << s.MPI_SOURCE;
        MPI_Group rg, wg;
        int w;
        OK(MPI_Comm_remote_group(ic, &rg));
        OK(MPI_Comm_group(MPI_COMM_WORLD, &wg));
        OK(MPI_Group_translate_ranks(rg, 1, &s.MPI_SOURCE, wg, &w));
        OK(MPI_Group_free(&rg));
        OK(MPI_Group_free(&wg));
        CHECK(v == w * 1000 + me);
    }
    OK(MPI_Waitall(rsize, reqs, MPI_STATUSES_IGNORE));
    /* Blocking receives from each named source after a probe; sends with MPI_Send. */
    for (int d = 0; d < rsize; d++) OK(MPI_Isend(&out[d], 1, MPI_INT, d, 6, ic, &reqs[d]));
    for (int s = 0; s < rsize; s++) {
        MPI_Status st;
        int count;
        OK(MPI_Probe(s, 6, ic, &st));
        OK(MPI_Get_count(&st, MPI_INT, &count));
        CHECK(st.MPI_SOURCE == s && count == 1);
        OK(MPI_Recv(&in[s], 1, MPI_INT, s, 6, ic, MPI_STATUS_IGNORE));
    }
    OK(MPI_Waitall(rsize, reqs, MPI_STATUSES_IGNORE));
    int *src_world = malloc(sizeof(int) * rsize);
    {
        MPI_Group rg, wg;
        int *rr = malloc(sizeof(int) * rsize);
        for (int s = 0; s < rsize; s++) rr[s] = s;
        OK(MPI_Comm_remote_group(ic, &rg));
        OK(MPI_Comm_group(MPI_COMM_WORLD, &wg));
        OK(MPI_Group_translate_ranks(rg, rsize, rr, wg, src_world));
        OK(MPI_Group_free(&rg));
        OK(MPI_Group_free(&wg));
        free(rr);
    }
    for (int s = 0; s < rsize; s++) CHECK(in[s] == src_world[s] * 1000 + me);
    /* Persistent requests: a send to and a receive from remote rank me % rsize... every pair. */
    MPI_Request *sreq = malloc(sizeof(MPI_Request) * rsize), *rreq = malloc(sizeof(MPI_Request) * rsize);
    for (int d = 0; d < rsize; d++) {
        OK(MPI_Send_init(&out[d], 1, MPI_INT, d, 7, ic, &sreq[d]));
        OK(MPI_Recv_init(&in[d], 1, MPI_INT, d, 7, ic, &rreq[d]));
    }
    for (int round = 0; round < 2; round++) {
        for (int d = 0; d < rsize; d++) {
            out[d] = rank * 1000 + d + round * 100000;
            in[d] = -1;
        }
        OK(MPI_Startall(rsize, rreq));
        OK(MPI_Startall(rsize, sreq));
        OK(MPI_Waitall(rsize, rreq, MPI_STATUSES_IGNORE));
        OK(MPI_Waitall(rsize, sreq, MPI_STATUSES_IGNORE));
        for (int s = 0; s < rsize; s++) CHECK(in[s] == src_world[s] * 1000 + me + round * 100000);
    }
    for (int d = 0; d < rsize; d++) {
        OK(MPI_Request_free(&sreq[d]));
        OK(MPI_Request_free(&rreq[d]));
    }
    /* MPI_PROC_NULL and a rank past the remote group. */
    MPI_Status st;
    OK(MPI_Recv(in, 1, MPI_INT, MPI_PROC_NULL, 0, ic, &st));
    CHECK(st.MPI_SOURCE == MPI_PROC_NULL);
    CHECK(MPI_Send(out, 1, MPI_INT, rsize, 0, ic) == MPI_ERR_RANK);
    free(out), free(in), free(reqs), free(src_world), free(sreq), free(rreq);
}

/* Merge with the low group passing high=hi_low and the high group hi_high; on a tie the group
   holding world rank 0 comes first. */
static void check_merge(MPI_Comm ic, int a, int hi_low, int hi_high) {
    int low = rank < a;
    MPI_Comm m;
    OK(MPI_Intercomm_merge(ic, low ? hi_low : hi_high, &m));
    int flag, size, me;
    OK(MPI_Comm_test_inter(m, &flag));
    OK(MPI_Comm_size(m, &size));
    OK(MPI_Comm_rank(m, &me));
    CHECK(flag == 0 && size == nworld);
    int want = hi_low == hi_high || !hi_low ? rank : (low ? (nworld - a) + rank : rank - a);
    CHECK(me == want);
    int sum;
    OK(MPI_Allreduce(&me, &sum, 1, MPI_INT, MPI_SUM, m));
    CHECK(sum == nworld * (nworld - 1) / 2);
    OK(MPI_Comm_free(&m));
}

static MPI_Comm make_intercomm(int a, MPI_Comm *local) {
    int low = rank < a;
    OK(MPI_Comm_split(MPI_COMM_WORLD, low, rank, local));
    MPI_Comm ic;
    OK(MPI_Intercomm_create(*local, 0, MPI_COMM_WORLD, low ? a : 0, 77, &ic));
    return ic;
}

#include "intercomm_coll.h"

/* MPI_Comm_split by parity of the local rank, in reverse order, and split_type by host. */
static void check_split(MPI_Comm ic) {
    int me, lsize, rsize;
    OK(MPI_Comm_rank(ic, &me));
    OK(MPI_Comm_size(ic, &lsize));
    OK(MPI_Comm_remote_size(ic, &rsize));
    MPI_Comm sub;
    OK(MPI_Comm_split(ic, me % 2, -me, &sub));
    int color = me % 2, lwant = (lsize - color + 1) / 2, rwant = (rsize - color + 1) / 2;
    if (rwant == 0) {
        CHECK(sub == MPI_COMM_NULL);
    } else {
        int flag, size, r, remote;
        OK(MPI_Comm_test_inter(sub, &flag));
        OK(MPI_Comm_size(sub, &size));
        OK(MPI_Comm_rank(sub, &r));
        OK(MPI_Comm_remote_size(sub, &remote));
        CHECK(flag && size == lwant && remote == rwant && r == lwant - 1 - me / 2);
        check_p2p(sub);
        int sum, mine = rank;
        OK(MPI_Allreduce(&mine, &sum, 1, MPI_INT, MPI_MAX, sub));
        OK(MPI_Comm_free(&sub));
    }
    OK(MPI_Comm_split(ic, MPI_UNDEFINED, 0, &sub));
    CHECK(sub == MPI_COMM_NULL);
    OK(MPI_Comm_split_type(ic, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &sub));
    int size, remote;
    OK(MPI_Comm_size(sub, &size));
    OK(MPI_Comm_remote_size(sub, &remote));
    CHECK(size == lsize && remote == rsize);
    OK(MPI_Comm_free(&sub));
    OK(MPI_Comm_split_type(ic, MPI_UNDEFINED, 0, MPI_INFO_NULL, &sub));
    CHECK(sub == MPI_COMM_NULL);
    /* MPI_Comm_create: the local group reversed faces the remote group reversed. */
    MPI_Group lg, rev;
    int range[1][3] = {{lsize - 1, 0, -1}};
    OK(MPI_Comm_group(ic, &lg));
    OK(MPI_Group_range_incl(lg, 1, range, &rev));
    OK(MPI_Comm_create(ic, rev, &sub));
    int r;
    OK(MPI_Comm_rank(sub, &r));
    OK(MPI_Comm_size(sub, &size));
    OK(MPI_Comm_remote_size(sub, &remote));
    CHECK(r == lsize - 1 - me && size == lsize && remote == rsize);
    check_p2p(sub);
    OK(MPI_Comm_free(&sub));
    OK(MPI_Group_free(&rev));
    /* Without local rank 0 on either side: MPI_COMM_NULL there, and where the other side is empty. */
    int zero = 0;
    OK(MPI_Group_excl(lg, 1, &zero, &rev));
    OK(MPI_Comm_create(ic, rev, &sub));
    if (me == 0 || lsize == 1 || rsize == 1) {
        CHECK(sub == MPI_COMM_NULL);
    } else {
        OK(MPI_Comm_size(sub, &size));
        OK(MPI_Comm_remote_size(sub, &remote));
        CHECK(size == lsize - 1 && remote == rsize - 1);
        OK(MPI_Comm_free(&sub));
    }
    OK(MPI_Group_free(&rev));
    OK(MPI_Group_free(&lg));
}

static void errors(int a) {
    int low = rank < a;
    MPI_Comm local, ic;
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    OK(MPI_Comm_split(MPI_COMM_WORLD, low, rank, &local));
    OK(MPI_Comm_set_errhandler(local, MPI_ERRORS_RETURN));
    /* A local leader outside the local group: every member says so, none waits. */
    CHECK(MPI_Intercomm_create(local, 99, MPI_COMM_WORLD, 0, 78, &ic) == MPI_ERR_RANK);
    /* A remote leader outside peer_comm: the leader says so and tells its group. */
    int rc = MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, nworld + 5, 78, &ic);
    int lrank;
    OK(MPI_Comm_rank(local, &lrank));
    CHECK(rc != MPI_SUCCESS);
    if (lrank == 0) CHECK(rc == MPI_ERR_RANK);
    /* Remote-group queries and merge on an intracommunicator. */
    int n;
    CHECK(MPI_Comm_remote_size(MPI_COMM_WORLD, &n) == MPI_ERR_COMM);
    MPI_Comm m;
    CHECK(MPI_Intercomm_merge(MPI_COMM_WORLD, 0, &m) == MPI_ERR_COMM);
    OK(MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, low ? a : 0, 79, &ic));
    OK(MPI_Comm_set_errhandler(ic, MPI_ERRORS_RETURN));
    int x = 1, y;
    CHECK(MPI_Scan(&x, &y, 1, MPI_INT, MPI_SUM, ic) == MPI_ERR_COMM);
    CHECK(MPI_Exscan(&x, &y, 1, MPI_INT, MPI_SUM, ic) == MPI_ERR_COMM);
    CHECK(MPI_Allreduce(MPI_IN_PLACE, &y, 1, MPI_INT, MPI_SUM, ic) == MPI_ERR_BUFFER);
    CHECK(MPI_Barrier(ic) == MPI_SUCCESS);
    MPI_Comm sub;
    MPI_Group g;
    OK(MPI_Comm_group(MPI_COMM_WORLD, &g));
    CHECK(MPI_Comm_create(ic, g, &sub) == MPI_ERR_GROUP); /* not a subgroup of the local group */
    OK(MPI_Group_free(&g));
    int dims[1], periods[1] = {0};
    OK(MPI_Comm_size(ic, &dims[0]));
    CHECK(MPI_Cart_create(ic, 1, dims, periods, 0, &sub) == MPI_ERR_COMM);
    int one = 1, got[64];
    CHECK(MPI_Neighbor_allgather(&one, 1, MPI_INT, got, 1, MPI_INT, ic) == MPI_ERR_COMM);
    OK(MPI_Comm_free(&ic));
    OK(MPI_Comm_free(&local));
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
}

static void from_groups(int a) {
    int low = rank < a;
    MPI_Group wg, lg, rg;
    OK(MPI_Comm_group(MPI_COMM_WORLD, &wg));
    int lo[2] = {0, a - 1, }, hi[2] = {a, nworld - 1};
    int rl[1][3] = {{lo[0], lo[1], 1}}, rh[1][3] = {{hi[0], hi[1], 1}};
    OK(MPI_Group_range_incl(wg, 1, low ? rl : rh, &lg));
    OK(MPI_Group_range_incl(wg, 1, low ? rh : rl, &rg));
    MPI_Comm ic;
    OK(MPI_Intercomm_create_from_groups(lg, 0, rg, 0, "partyline-test", MPI_INFO_NULL, MPI_ERRORS_RETURN, &ic));
    check_groups(ic, a);
    check_p2p(ic);
    MPI_Errhandler eh;
    OK(MPI_Comm_get_errhandler(ic, &eh));
    CHECK(eh == MPI_ERRORS_RETURN);
    OK(MPI_Comm_free(&ic));
    OK(MPI_Group_free(&wg));
    OK(MPI_Group_free(&lg));
    OK(MPI_Group_free(&rg));
}

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &nworld));
    CHECK(nworld >= 2);
    int splits[2] = {nworld / 2, 1};
    for (int k = 0; k < 2; k++) {
        int a = splits[k];
        if (k == 1 && a == splits[0]) break;
        MPI_Comm local, ic;
        ic = make_intercomm(a, &local);
        check_groups(ic, a);
        check_p2p(ic);
        check_collectives(ic, a);
        check_split(ic);
        check_merge(ic, a, 0, 1);
        check_merge(ic, a, 1, 0);
        check_merge(ic, a, 1, 1);
        MPI_Comm dup;
        OK(MPI_Comm_dup(ic, &dup));
        int cmp;
        OK(MPI_Comm_compare(ic, dup, &cmp));
        CHECK(cmp == MPI_CONGRUENT);
        OK(MPI_Comm_compare(ic, local, &cmp));
        CHECK(cmp == MPI_UNEQUAL);
        OK(MPI_Comm_set_name(dup, "dup of intercomm"));
        check_groups(dup, a);
        check_p2p(dup);
        OK(MPI_Barrier(dup));
        MPI_Request req;
        MPI_Comm idup;
        OK(MPI_Comm_idup(dup, &idup, &req));
        OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
        check_groups(idup, a);
        check_p2p(idup);
        OK(MPI_Comm_free(&idup));
        OK(MPI_Comm_free(&dup));
        OK(MPI_Comm_free(&ic));
        OK(MPI_Comm_free(&local));
        from_groups(a);
        errors(a);
    }
    OK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0) printf("PASS intercomm\n");
    OK(MPI_Finalize());
    return 0;
}
