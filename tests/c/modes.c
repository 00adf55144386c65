/* modes.c: synchronous, ready, buffered and persistent sends, Sendrecv and Sendrecv_replace. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"

static int rank, size, succ, pred;


enum { N = 1000 };

static void fill(int *b, int n, int src, int k) {
    for (int i = 0; i < n; i++) b[i] = src * 1000003 + k * 7919 + i;
}
static void verify(const int *b, int n, int src, int k) {
    for (int i = 0; i < n; i++) CHECK(b[i] == src * 1000003 + k * 7919 + i);
}

static void test_ssend(void) {
    static int s[N], r[N];
    MPI_Request req;
    MPI_Status st;
    fill(s, N, rank, 1);
    OK(MPI_Irecv(r, N, MPI_INT, pred, 1, MPI_COMM_WORLD, &req));
    OK(MPI_Ssend(s, N, MPI_INT, succ, 1, MPI_COMM_WORLD));
    OK(MPI_Wait(&req, &st));
    verify(r, N, pred, 1);
    CHECK(st.MPI_SOURCE == pred && st.MPI_TAG == 1);

    /* Issend must not complete before the receiver has matched it: the
     * receiver only posts its receive after the barrier. */
    fill(s, N, rank, 2);
    OK(MPI_Issend(s, N, MPI_INT, succ, 2, MPI_COMM_WORLD, &req));
    double t0 = MPI_Wtime();
    while (MPI_Wtime() - t0 < 0.05) {
        int flag = 1;
        OK(MPI_Test(&req, &flag, MPI_STATUS_IGNORE));
        CHECK(!flag);
    }
    OK(MPI_Barrier(MPI_COMM_WORLD));
    MPI_Request rreq;
    OK(MPI_Irecv(r, N, MPI_INT, pred, 2, MPI_COMM_WORLD, &rreq));
    OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    OK(MPI_Wait(&rreq, &st));
    verify(r, N, pred, 2);
}

static void test_rsend(void) {
    static int s[N], r[N];
    MPI_Request req;
    fill(s, N, rank, 3);
    OK(MPI_Irecv(r, N, MPI_INT, pred, 3, MPI_COMM_WORLD, &req));
    OK(MPI_Barrier(MPI_COMM_WORLD)); /* every receive is posted before any Rsend */
    OK(MPI_Rsend(s, N, MPI_INT, succ, 3, MPI_COMM_WORLD));
    OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    verify(r, N, pred, 3);
}

static void test_bsend(void) {
    enum { K = 4, KI = 2 };
    int msg_bytes = 0;
    OK(MPI_Type_size(MPI_INT, &msg_bytes));
    msg_bytes *= N;
    int bufsize = (K + KI) * (msg_bytes + MPI_BSEND_OVERHEAD);
    char *buf = malloc((size_t)bufsize);
    CHECK(buf != NULL);
    OK(MPI_Buffer_attach(buf, bufsize));

    static int s[K + KI][N], r[N];
    MPI_Request ireq[KI];
    for (int k = 0; k < K + KI; k++) fill(s[k], N, rank, 10 + k);
    for (int k = 0; k < K; k++) OK(MPI_Bsend(s[k], N, MPI_INT, succ, 4, MPI_COMM_WORLD));
    for (int k = 0; k < KI; k++)
        OK(MPI_Ibsend(s[K + k], N, MPI_INT, succ, 4, MPI_COMM_WORLD, &ireq[k]));
    OK(MPI_Waitall(KI, ireq, MPI_STATUSES_IGNORE));
    /* Bsend copies: the user buffers may be clobbered at once. */
    memset(s, 0, sizeof s);
    for (int k = 0; k < K + KI; k++) {
        OK(MPI_Recv(r, N, MPI_INT, pred, 4, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        verify(r, N, pred, 10 + k);
    }

    void *det = NULL;
    int detsize = -1;
    OK(MPI_Buffer_detach(&det, &detsize));
    CHECK(det == (void *)buf && detsize == bufsize);
    free(buf);
}

static void test_persistent(void) {
    static int s[N], r[N];
    MPI_Request rq[2], ss;
    MPI_Status sts[2], st;
    OK(MPI_Recv_init(r, N, MPI_INT, pred, 5, MPI_COMM_WORLD, &rq[0]));
    OK(MPI_Send_init(s, N, MPI_INT, succ, 5, MPI_COMM_WORLD, &rq[1]));
    OK(MPI_Ssend_init(s, N, MPI_INT, succ, 5, MPI_COMM_WORLD, &ss));
    for (int k = 0; k < 5; k++) {
        fill(s, N, rank, 100 + k);
        memset(r, 0, sizeof r);
        OK(MPI_Startall(2, rq));
        OK(MPI_Waitall(2, rq, sts));
        CHECK(rq[0] != MPI_REQUEST_NULL && rq[1] != MPI_REQUEST_NULL); /* inactive, not freed */
        CHECK(sts[0].MPI_SOURCE == pred && sts[0].MPI_TAG == 5);
        verify(r, N, pred, 100 + k);
    }
    /* Waiting on an inactive persistent request returns an empty status. */
    OK(MPI_Wait(&rq[0], &st));
    CHECK(rq[0] != MPI_REQUEST_NULL);
    CHECK(st.MPI_SOURCE == MPI_ANY_SOURCE && st.MPI_TAG == MPI_ANY_TAG);
    for (int k = 0; k < 3; k++) {
        fill(s, N, rank, 200 + k);
        memset(r, 0, sizeof r);
        OK(MPI_Start(&rq[0]));
        OK(MPI_Start(&ss));
        OK(MPI_Wait(&ss, MPI_STATUS_IGNORE));
        OK(MPI_Wait(&rq[0], &st));
        CHECK(ss != MPI_REQUEST_NULL);
        verify(r, N, pred, 200 + k);
    }
    OK(MPI_Request_free(&rq[0]));
    OK(MPI_Request_free(&rq[1]));
    OK(MPI_Request_free(&ss));
    CHECK(rq[0] == MPI_REQUEST_NULL && rq[1] == MPI_REQUEST_NULL && ss == MPI_REQUEST_NULL);
}

static void test_sendrecv(void) {
    enum { BIG = 100000 }; /* 400 KB: above any eager threshold */
    static int s[N], r[BIG], b[BIG];
    MPI_Status st;
    int cnt = -1;
    fill(s, N, rank, 300);
    OK(MPI_Sendrecv(s, N, MPI_INT, succ, 6, r, BIG, MPI_INT, pred, 6, MPI_COMM_WORLD, &st));
    CHECK(st.MPI_SOURCE == pred && st.MPI_TAG == 6);
    OK(MPI_Get_count(&st, MPI_INT, &cnt));
    CHECK(cnt == N);
    verify(r, N, pred, 300);

    for (int k = 0; k < 3; k++) {
        fill(b, BIG, rank, 400 + k);
        OK(MPI_Sendrecv_replace(b, BIG, MPI_INT, succ, 7, pred, 7, MPI_COMM_WORLD, &st));
        CHECK(st.MPI_SOURCE == pred && st.MPI_TAG == 7);
        verify(b, BIG, pred, 400 + k);
    }
    /* Wildcard receive side. */
    fill(b, BIG, rank, 500);
    OK(MPI_Sendrecv_replace(b, BIG, MPI_INT, succ, 8, MPI_ANY_SOURCE, MPI_ANY_TAG,
                            MPI_COMM_WORLD, &st));
    CHECK(st.MPI_SOURCE == pred && st.MPI_TAG == 8);
    verify(b, BIG, pred, 500);
}

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    succ = (rank + 1) % size;
    pred = (rank - 1 + size) % size;

    test_ssend();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    test_rsend();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    test_bsend();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    test_persistent();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    test_sendrecv();
    OK(MPI_Barrier(MPI_COMM_WORLD));

    OK(MPI_Finalize());
    if (rank == 0) printf("PASS modes\n");
    return 0;
}
