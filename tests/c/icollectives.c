/* icollectives.c: every nonblocking collective checked against locally computed results, with MPI_IN_PLACE;
   several in flight at once on one communicator (waited in reverse order) and on two; a blocking collective
   right behind pending ones; Testall polling; a freed active request finishing in the background; MPI_Cancel
   refused; and progress with no MPI call at all: every rank posts, then only sleeps and watches its buffer. */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <time.h>
#include "check.h"

static int me, n; /* rank and size in the communicator under test */

/* Element j of what rank r contributes in test k: small integers. */
static int val(int r, int k, int j) { return (r * 31 + k * 7 + j * 3) % 101 - 50; }

static int *ints(size_t count) {
    int *p = malloc(sizeof(int) * (count ? count : 1));
    CHECK(p != NULL);
    for (size_t i = 0; i < count; i++) p[i] = -1;
    return p;
}

static void wait1(MPI_Request *req) {
    OK(MPI_Wait(req, MPI_STATUS_IGNORE));
    CHECK(*req == MPI_REQUEST_NULL);
}

/* Rank r's count in the v variants: 0 for every third rank, so empty blocks occur. */
static int vcount(int r) { return (r % 3) * 2; }

/* Displacements in reverse rank order with one-element gaps; returns the buffer length. */
static int reversed(const int *counts, int *displs) {
    int at = 1;
    for (int r = n - 1; r >= 0; r--) {
        displs[r] = at;
        at += counts[r] + 1;
    }
    return at;
}

static void test_rooted(MPI_Comm comm) {
    MPI_Request req;
    for (int root = 0; root < n; root++) {
        for (int inplace = 0; inplace < 2; inplace++) {
            int k = root * 2 + inplace;
            /* Ibcast */
            int b[50];
            for (int j = 0; j < 50; j++) b[j] = me == root ? val(root, k, j) : -1;
            OK(MPI_Ibcast(b, 50, MPI_INT, root, comm, &req));
            wait1(&req);
            for (int j = 0; j < 50; j++) CHECK(b[j] == val(root, k, j));

            /* Igather */
            int mine[3], *all = ints(3 * (size_t)n);
            for (int j = 0; j < 3; j++) mine[j] = val(me, k, j);
            const void *send = mine;
            if (inplace && me == root) {
                memcpy(all + 3 * me, mine, sizeof mine);
                send = MPI_IN_PLACE;
            }
            OK(MPI_Igather(send, 3, MPI_INT, all, 3, MPI_INT, root, comm, &req));
            wait1(&req);
            if (me == root)
                for (int i = 0; i < 3 * n; i++) CHECK(all[i] == val(i / 3, k, i % 3));
            free(all);

            /* Igatherv */
            int counts[64], displs[64];
            for (int r = 0; r < n; r++) counts[r] = vcount(r);
            int len = reversed(counts, displs);
            int *v = ints((size_t)len), *own = ints((size_t)vcount(me));
            for (int j = 0; j < vcount(me); j++) own[j] = val(me, k, j);
            send = own;
            if (inplace && me == root) {
                memcpy(v + displs[me], own, sizeof(int) * (size_t)vcount(me));
                send = MPI_IN_PLACE;
            }
            OK(MPI_Igatherv(send, vcount(me), MPI_INT, v, counts, displs, MPI_INT, root, comm, &req));
            wait1(&req);
            if (me == root)
                for (int r = 0; r < n; r++) {
                    CHECK(v[displs[r] - 1] == -1);
                    for (int j = 0; j < counts[r]; j++) CHECK(v[displs[r] + j] == val(r, k, j));
                }

            /* Iscatter */
            int *sall = ints(4 * (size_t)n), got4[4] = {-1, -1, -1, -1};
            if (me == root)
                for (int i = 0; i < 4 * n; i++) sall[i] = val(i / 4, k, i % 4);
            void *recv = inplace && me == root ? MPI_IN_PLACE : (void *)got4;
            OK(MPI_Iscatter(sall, 4, MPI_INT, recv, 4, MPI_INT, root, comm, &req));
            wait1(&req);
            const int *got = recv == MPI_IN_PLACE ? sall + 4 * me : got4;
            for (int j = 0; j < 4; j++) CHECK(got[j] == val(me, k, j));
            free(sall);

            /* Iscatterv */
            for (int i = 0; i < len; i++) v[i] = -1;
            if (me == root)
                for (int r = 0; r < n; r++)
                    for (int j = 0; j < counts[r]; j++) v[displs[r] + j] = val(r, k + 1, j);
            for (int j = 0; j < vcount(me); j++) own[j] = -1;
            recv = inplace && me == root ? MPI_IN_PLACE : (void *)own;
            OK(MPI_Iscatterv(v, counts, displs, MPI_INT, recv, vcount(me), MPI_INT, root, comm, &req));
            wait1(&req);
            got = recv == MPI_IN_PLACE ? v + displs[me] : own;
            for (int j = 0; j < vcount(me); j++) CHECK(got[j] == val(me, k + 1, j));
            free(v);
            free(own);

            /* Ireduce */
            int in[7], out[7];
            for (int j = 0; j < 7; j++) in[j] = val(me, k, j), out[j] = me == root && inplace ? in[j] : -99;
            send = inplace && me == root ? MPI_IN_PLACE : in;
            OK(MPI_Ireduce(send, me == root ? out : NULL, 7, MPI_INT, MPI_SUM, root, comm, &req));
            wait1(&req);
            for (int j = 0; j < 7; j++) {
                int s = 0;
                for (int r = 0; r < n; r++) s += val(r, k, j);
                CHECK(out[j] == (me == root ? s : -99));
            }
        }
    }
}

static int sum_upto(int upto, int k, int j) {
    int s = 0;
    for (int r = 0; r < upto; r++) s += val(r, k, j);
    return s;
}

static void test_all(MPI_Comm comm) {
    MPI_Request req;
    OK(MPI_Ibarrier(comm, &req));
    wait1(&req);
    for (int inplace = 0; inplace < 2; inplace++) {
        int k = 100 + inplace, count = 1000;
        /* Iallgather */
        int *mine = ints((size_t)count), *all = ints((size_t)count * (size_t)n);
        for (int j = 0; j < count; j++) mine[j] = val(me, k, j);
        const void *send = mine;
        if (inplace) {
            memcpy(all + count * me, mine, sizeof(int) * (size_t)count);
            send = MPI_IN_PLACE;
        }
        OK(MPI_Iallgather(send, count, MPI_INT, all, count, MPI_INT, comm, &req));
        wait1(&req);
        for (int i = 0; i < count * n; i++) CHECK(all[i] == val(i / count, k, i % count));

        /* Iallgatherv */
        int counts[64], displs[64];
        for (int r = 0; r < n; r++) counts[r] = vcount(r);
        int len = reversed(counts, displs);
        int *v = ints((size_t)len);
        send = mine;
        if (inplace) {
            memcpy(v + displs[me], mine, sizeof(int) * (size_t)vcount(me));
            send = MPI_IN_PLACE;
        }
        OK(MPI_Iallgatherv(send, vcount(me), MPI_INT, v, counts, displs, MPI_INT, comm, &req));
        wait1(&req);
        for (int r = 0; r < n; r++) {
            CHECK(v[displs[r] - 1] == -1);
            for (int j = 0; j < counts[r]; j++) CHECK(v[displs[r] + j] == val(r, k, j));
        }
        free(v);

        /* Ialltoall: block j of rank r holds val(r, k, j * 5 + i) */
        int *s = ints(5 * (size_t)n), *d = ints(5 * (size_t)n);
        for (int i = 0; i < 5 * n; i++) s[i] = val(me, k, i);
        if (inplace) memcpy(d, s, sizeof(int) * 5 * (size_t)n);
        OK(MPI_Ialltoall(inplace ? MPI_IN_PLACE : s, 5, MPI_INT, d, 5, MPI_INT, comm, &req));
        wait1(&req);
        for (int r = 0; r < n; r++)
            for (int i = 0; i < 5; i++) CHECK(d[5 * r + i] == val(r, k, 5 * me + i));

        /* Ialltoallv: rank r sends rank q (r + q) % 3 elements */
        int sc[64], sd[64], rc[64], rd[64], at = 0;
        for (int q = 0; q < n; q++) sc[q] = (me + q) % 3, sd[q] = at, at += sc[q] + 1;
        int *vs = ints((size_t)at);
        for (int q = 0; q < n; q++)
            for (int j = 0; j < sc[q]; j++) vs[sd[q] + j] = val(me, k, q * 10 + j);
        for (int r = 0; r < n; r++) rc[r] = (r + me) % 3;
        int rlen = reversed(rc, rd);
        int *vr = ints((size_t)rlen);
        if (inplace) {
            /* In place, send and receive layouts are the receive ones: the message to q is rc[q] long. */
            for (int q = 0; q < n; q++)
                for (int j = 0; j < rc[q]; j++) vr[rd[q] + j] = val(me, k, q * 10 + j);
        }
        OK(MPI_Ialltoallv(inplace ? MPI_IN_PLACE : vs, sc, sd, MPI_INT, vr, rc, rd, MPI_INT, comm, &req));
        wait1(&req);
        for (int r = 0; r < n; r++) {
            CHECK(vr[rd[r] - 1] == -1);
            for (int j = 0; j < rc[r]; j++) CHECK(vr[rd[r] + j] == val(r, k, me * 10 + j));
        }
        /* Ialltoallw and Alltoallw: the same exchange with byte displacements and a datatype per peer (int or
           pairs of ints, so counts halve where the pair type is used: counts are then (r + q) % 3 * 2 ints) */
        for (int blocking = 0; blocking < 2; blocking++) {
            int wsc[64], wsd[64], wrc[64], wrd[64];
            MPI_Datatype wst[64], wrt[64];
            int sat = 0, rat = 0;
            for (int q = 0; q < n; q++) {
                int pairs = q % 2; /* messages to odd ranks go as MPI_2INT */
                wst[q] = pairs ? MPI_2INT : MPI_INT;
                wsc[q] = pairs ? (me + q) % 3 : (me + q) % 3 * 2;
                wsd[q] = sat * (int)sizeof(int), sat += (me + q) % 3 * 2 + 1;
            }
            for (int r = 0; r < n; r++) {
                int pairs = me % 2;
                wrt[r] = pairs ? MPI_2INT : MPI_INT;
                wrc[r] = pairs ? (r + me) % 3 : (r + me) % 3 * 2;
                wrd[r] = rat * (int)sizeof(int), rat += (r + me) % 3 * 2 + 1;
            }
            int *ws = ints((size_t)sat), *wr = ints((size_t)rat);
            for (int q = 0; q < n; q++)
                for (int j = 0; j < (me + q) % 3 * 2; j++) ws[wsd[q] / 4 + j] = val(me, k + blocking, q * 10 + j);
            if (blocking)
                OK(MPI_Alltoallw(ws, wsc, wsd, wst, wr, wrc, wrd, wrt, comm));
            else {
                OK(MPI_Ialltoallw(ws, wsc, wsd, wst, wr, wrc, wrd, wrt, comm, &req));
                wait1(&req);
            }
            for (int r = 0; r < n; r++)
                for (int j = 0; j < (r + me) % 3 * 2; j++) CHECK(wr[wrd[r] / 4 + j] == val(r, k + blocking, me * 10 + j));
            free(ws);
            free(wr);
        }

        free(vs);
        free(vr);
        free(s);
        free(d);

        /* Iallreduce, Iscan, Iexscan */
        int *out = ints((size_t)count);
        if (inplace) memcpy(out, mine, sizeof(int) * (size_t)count);
        OK(MPI_Iallreduce(inplace ? MPI_IN_PLACE : mine, out, count, MPI_INT, MPI_SUM, comm, &req));
        wait1(&req);
        for (int j = 0; j < count; j++) CHECK(out[j] == sum_upto(n, k, j));
        if (inplace) memcpy(out, mine, sizeof(int) * (size_t)count);
        OK(MPI_Iscan(inplace ? MPI_IN_PLACE : mine, out, count, MPI_INT, MPI_SUM, comm, &req));
        wait1(&req);
        for (int j = 0; j < count; j++) CHECK(out[j] == sum_upto(me + 1, k, j));
        for (int j = 0; j < count; j++) out[j] = inplace ? mine[j] : -99;
        OK(MPI_Iexscan(inplace ? MPI_IN_PLACE : mine, out, count, MPI_INT, MPI_SUM, comm, &req));
        wait1(&req);
        for (int j = 0; j < count; j++)
            CHECK(out[j] == (me == 0 ? (inplace ? mine[j] : -99) : sum_upto(me, k, j)));

        /* Ireduce_scatter_block: rank r gets elements [3r, 3r + 3) of the sum */
        for (int j = 0; j < 3 * n; j++) all[j] = val(me, k, j);
        OK(MPI_Ireduce_scatter_block(inplace ? MPI_IN_PLACE : all, inplace ? all : out, 3, MPI_INT, MPI_SUM, comm,
                                     &req));
        wait1(&req);
        for (int j = 0; j < 3; j++) CHECK((inplace ? all : out)[j] == sum_upto(n, k, 3 * me + j));

        /* Ireduce_scatter with counts r % 3 */
        int rs[64], total = 0, before = 0;
        for (int r = 0; r < n; r++) rs[r] = r % 3, before += r < me ? rs[r] : 0, total += rs[r];
        for (int j = 0; j < total; j++) all[j] = val(me, k, j);
        OK(MPI_Ireduce_scatter(inplace ? MPI_IN_PLACE : all, inplace ? all : out, rs, MPI_INT, MPI_SUM, comm, &req));
        wait1(&req);
        for (int j = 0; j < rs[me]; j++) CHECK((inplace ? all : out)[j] == sum_upto(n, k, before + j));
        free(out);
        free(mine);
        free(all);
    }
}

/* Two Iallreduce and an Ibcast posted back to back, waited in reverse order; then the same kinds again, with a
   blocking Allreduce right behind them, completed by a Testall polling loop. */
static void test_in_flight(MPI_Comm comm) {
    enum { C = 20000 };
    int *a = ints(C), *ra = ints(C), *b = ints(C), *rb = ints(C), *bc = ints(C);
    for (int round = 0; round < 3; round++) {
        for (int j = 0; j < C; j++) a[j] = val(me, round, j), b[j] = val(me, round + 50, j), bc[j] = me == 0 ? j ^ round : -1;
        MPI_Request reqs[3];
        OK(MPI_Iallreduce(a, ra, C, MPI_INT, MPI_SUM, comm, &reqs[0]));
        OK(MPI_Iallreduce(b, rb, C, MPI_INT, MPI_MAX, comm, &reqs[1]));
        OK(MPI_Ibcast(bc, C, MPI_INT, 0, comm, &reqs[2]));
        if (round == 1) {
            /* A blocking collective behind pending ones runs after them, on every rank. */
            int x = me + 1, y = 0;
            OK(MPI_Allreduce(&x, &y, 1, MPI_INT, MPI_SUM, comm));
            CHECK(y == n * (n + 1) / 2);
        }
        if (round == 2) {
            int flag = 0;
            long polls = 0;
            while (!flag) {
                OK(MPI_Testall(3, reqs, &flag, MPI_STATUSES_IGNORE));
                polls++;
            }
            CHECK(polls >= 1);
            for (int i = 0; i < 3; i++) CHECK(reqs[i] == MPI_REQUEST_NULL);
        } else {
            for (int i = 2; i >= 0; i--) wait1(&reqs[i]);
        }
        for (int j = 0; j < C; j++) {
            int mx = val(0, round + 50, j);
            for (int r = 1; r < n; r++) mx = val(r, round + 50, j) > mx ? val(r, round + 50, j) : mx;
            CHECK(ra[j] == sum_upto(n, round, j));
            CHECK(rb[j] == mx);
            CHECK(bc[j] == (j ^ round));
        }
    }
    free(a);
    free(ra);
    free(b);
    free(rb);
    free(bc);
}

/* Collectives in flight on two communicators at once, completed by one Waitall. */
static void test_two_comms(void) {
    MPI_Comm dup, half;
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &dup));
    OK(MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half));
    int hn, hme;
    OK(MPI_Comm_size(half, &hn));
    OK(MPI_Comm_rank(half, &hme));
    int x[100], y[100], p[100], q[100];
    for (int j = 0; j < 100; j++) x[j] = rank + j, p[j] = rank * j;
    MPI_Request reqs[4];
    OK(MPI_Iallreduce(x, y, 100, MPI_INT, MPI_SUM, dup, &reqs[0]));
    OK(MPI_Iallreduce(p, q, 100, MPI_INT, MPI_SUM, half, &reqs[1]));
    OK(MPI_Ibarrier(half, &reqs[2]));
    OK(MPI_Ibarrier(dup, &reqs[3]));
    OK(MPI_Waitall(4, reqs, MPI_STATUSES_IGNORE));
    for (int j = 0; j < 100; j++) {
        int sy = 0, sq = 0;
        for (int r = 0; r < n; r++) sy += r + j, sq += r % 2 == rank % 2 ? r * j : 0;
        CHECK(y[j] == sy && q[j] == sq);
    }
    /* A freed active request finishes in the background; the next collective on the communicator runs after it. */
    OK(MPI_Iallreduce(x, y, 100, MPI_INT, MPI_MAX, dup, &reqs[0]));
    OK(MPI_Request_free(&reqs[0]));
    CHECK(reqs[0] == MPI_REQUEST_NULL);
    OK(MPI_Barrier(dup));
    for (int j = 0; j < 100; j++) CHECK(y[j] == n - 1 + j);
    /* MPI does not let a collective be cancelled; freeing the communicator with one pending lets it finish. */
    OK(MPI_Ibarrier(dup, &reqs[0]));
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    int err = MPI_Cancel(&reqs[0]), cls = 0;
    OK(MPI_Error_class(err, &cls));
    CHECK(cls == MPI_ERR_REQUEST);
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
    OK(MPI_Comm_free(&dup));
    wait1(&reqs[0]);
    OK(MPI_Comm_free(&half));
    (void)hn;
    (void)hme;
}

static void nap_ms(int ms) {
    struct timespec t = {0, ms * 1000000L};
    nanosleep(&t, NULL);
}

/* Progress without the caller: every rank posts an Iallreduce (two rounds of messages, each needing every rank)
   and an Ibcast from the last rank (forwarded along a tree), then makes no MPI call at all, only sleeping in small
   steps until its buffers hold the results (at most 60 s). A library that moves data only inside MPI calls never
   gets there. */
static void test_background_progress(void) {
    enum { C = 1 << 16 };
    int *in = ints(C), *out = ints(C), *bc = ints(C);
    for (int j = 0; j < C; j++) in[j] = val(rank, 7, j), bc[j] = rank == n - 1 ? j * 3 : -1;
    MPI_Request reqs[2];
    OK(MPI_Iallreduce(in, out, C, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &reqs[0]));
    OK(MPI_Ibcast(bc, C, MPI_INT, n - 1, MPI_COMM_WORLD, &reqs[1]));
    const volatile int *vo = out, *vb = bc;
    int done = 0;
    for (int waited = 0; !done && waited < 60000; waited++) {
        nap_ms(1);
        done = 1;
        for (int j = 0; j < C && done; j += 97) done = vo[j] == sum_upto(n, 7, j) && vb[j] == j * 3;
        done = done && vo[C - 1] == sum_upto(n, 7, C - 1) && vb[C - 1] == (C - 1) * 3;
    }
    CHECK(done && "the collectives progressed while this rank made no MPI call");
    atomic_thread_fence(memory_order_seq_cst);
    OK(MPI_Waitall(2, reqs, MPI_STATUSES_IGNORE));
    for (int j = 0; j < C; j++) CHECK(out[j] == sum_upto(n, 7, j) && bc[j] == j * 3);
    free(in);
    free(out);
    free(bc);
}

int main(int argc, char **argv) {
    int provided;
    OK(MPI_Init_thread(&argc, &argv, MPI_THREAD_SINGLE, &provided));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &n));
    me = rank;
    CHECK(n <= 64);
    test_rooted(MPI_COMM_WORLD);
    test_all(MPI_COMM_WORLD);
    test_in_flight(MPI_COMM_WORLD);
    test_two_comms();
    test_background_progress();
    OK(MPI_Finalize());
    if (rank == 0) printf("PASS icollectives\n");
    return 0;
}
