/* requests.c: Waitany/Waitsome/Testany/Testsome, cancel, self-sends, MPI_PROC_NULL, MPI_REQUEST_NULL. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"

static int rank, size, succ, pred;


enum { NR = 4, SLOTS = NR + 2, TAG0 = 50 };

/* An empty status, as returned for inactive/null requests. */
static void check_empty(MPI_Status *st) {
    int cnt = -1;
    CHECK(st->MPI_SOURCE == MPI_ANY_SOURCE && st->MPI_TAG == MPI_ANY_TAG);
    OK(MPI_Get_count(st, MPI_INT, &cnt));
    CHECK(cnt == 0);
}

/* Post NR receives from pred (tags TAG0..) in a SLOTS-array whose slots 0 and
 * NR+1 are MPI_REQUEST_NULL; pred sends them in reverse tag order.  slot_of
 * maps a slot to its message number (-1 for null slots). */
static void post(int k, int rbuf[SLOTS][2], MPI_Request reqs[SLOTS], int sbuf[NR][2],
                 MPI_Request sreq[NR]) {
    reqs[0] = reqs[NR + 1] = MPI_REQUEST_NULL;
    for (int m = 0; m < NR; m++) {
        rbuf[m + 1][0] = rbuf[m + 1][1] = -1;
        OK(MPI_Irecv(rbuf[m + 1], 2, MPI_INT, pred, TAG0 + m, MPI_COMM_WORLD, &reqs[m + 1]));
    }
    for (int m = NR - 1; m >= 0; m--) {
        sbuf[m][0] = rank;
        sbuf[m][1] = 1000 * k + m;
        OK(MPI_Isend(sbuf[m], 2, MPI_INT, succ, TAG0 + m, MPI_COMM_WORLD, &sreq[m]));
    }
}

/* A completion of slot idx: valid, first time, right message. */
static void completed(int k, int idx, MPI_Status *st, int rbuf[SLOTS][2], int seen[SLOTS],
                      MPI_Request reqs[SLOTS]) {
    CHECK(idx >= 1 && idx <= NR);
    CHECK(!seen[idx]);
    seen[idx] = 1;
    CHECK(reqs[idx] == MPI_REQUEST_NULL);
    CHECK(st->MPI_SOURCE == pred && st->MPI_TAG == TAG0 + idx - 1);
    CHECK(rbuf[idx][0] == pred && rbuf[idx][1] == 1000 * k + idx - 1);
}

static void test_any_some(void) {
    for (int k = 0; k < 4; k++) { /* 0 Waitany, 1 Testany, 2 Waitsome, 3 Testsome */
        int rbuf[SLOTS][2], sbuf[NR][2], seen[SLOTS] = {0}, done = 0, idx, flag;
        MPI_Request reqs[SLOTS], sreq[NR];
        MPI_Status st, sts[SLOTS];
        int indices[SLOTS], outcount;
        double t0 = MPI_Wtime();
        post(k, rbuf, reqs, sbuf, sreq);
        while (done < NR) {
            CHECK(MPI_Wtime() - t0 < 60.0);
            switch (k) {
            case 0:
                OK(MPI_Waitany(SLOTS, reqs, &idx, &st));
                completed(k, idx, &st, rbuf, seen, reqs);
                done++;
                break;
            case 1:
                OK(MPI_Testany(SLOTS, reqs, &idx, &flag, &st));
                if (flag) {
                    completed(k, idx, &st, rbuf, seen, reqs);
                    done++;
                } else {
                    CHECK(idx == MPI_UNDEFINED);
                }
                break;
            case 2:
            case 3:
                if (k == 2)
                    OK(MPI_Waitsome(SLOTS, reqs, &outcount, indices, sts));
                else
                    OK(MPI_Testsome(SLOTS, reqs, &outcount, indices, sts));
                CHECK(outcount >= (k == 2 ? 1 : 0) && outcount <= NR - done);
                for (int i = 0; i < outcount; i++)
                    completed(k, indices[i], &sts[i], rbuf, seen, reqs);
                done += outcount;
                break;
            }
        }
        /* Everything inactive now. */
        switch (k) {
        case 0:
            OK(MPI_Waitany(SLOTS, reqs, &idx, &st));
            CHECK(idx == MPI_UNDEFINED);
            check_empty(&st);
            break;
        case 1:
            flag = 0;
            OK(MPI_Testany(SLOTS, reqs, &idx, &flag, &st));
            CHECK(flag && idx == MPI_UNDEFINED);
            check_empty(&st);
            break;
        case 2:
            OK(MPI_Waitsome(SLOTS, reqs, &outcount, indices, sts));
            CHECK(outcount == MPI_UNDEFINED);
            break;
        case 3:
            OK(MPI_Testsome(SLOTS, reqs, &outcount, indices, sts));
            CHECK(outcount == MPI_UNDEFINED);
            break;
        }
        OK(MPI_Waitall(NR, sreq, MPI_STATUSES_IGNORE));
        OK(MPI_Waitany(0, NULL, &idx, &st)); /* empty list is fine */
        CHECK(idx == MPI_UNDEFINED);
    }
}

static void test_cancel(void) {
    int b = -1, flag = 0;
    MPI_Request req;
    MPI_Status st;
    /* Nobody ever sends tag 999: cancel, complete with Wait, check cancelled. */
    OK(MPI_Irecv(&b, 1, MPI_INT, pred, 999, MPI_COMM_WORLD, &req));
    OK(MPI_Cancel(&req));
    OK(MPI_Wait(&req, &st));
    CHECK(req == MPI_REQUEST_NULL);
    OK(MPI_Test_cancelled(&st, &flag));
    CHECK(flag);
    CHECK(b == -1);

    /* Cancel + free a wildcard receive; a later tag-998 message must go to
     * the next receive, not to the cancelled one. */
    OK(MPI_Irecv(&b, 1, MPI_INT, MPI_ANY_SOURCE, 998, MPI_COMM_WORLD, &req));
    OK(MPI_Cancel(&req));
    OK(MPI_Request_free(&req));
    CHECK(req == MPI_REQUEST_NULL);
    OK(MPI_Barrier(MPI_COMM_WORLD)); /* every rank's cancel is done */
    int v = 77 + rank, w = -1;
    MPI_Request sreq;
    OK(MPI_Isend(&v, 1, MPI_INT, succ, 998, MPI_COMM_WORLD, &sreq));
    OK(MPI_Recv(&w, 1, MPI_INT, pred, 998, MPI_COMM_WORLD, &st));
    CHECK(w == 77 + pred);
    CHECK(b == -1);
    OK(MPI_Test_cancelled(&st, &flag));
    CHECK(!flag);
    OK(MPI_Wait(&sreq, MPI_STATUS_IGNORE));
}

static void test_self(void) {
    int s[5], r[5], cnt;
    MPI_Request req;
    MPI_Status st;
    for (int i = 0; i < 5; i++) s[i] = rank * 10 + i;
    memset(r, 0, sizeof r);
    OK(MPI_Isend(s, 5, MPI_INT, rank, 7, MPI_COMM_WORLD, &req));
    OK(MPI_Recv(r, 5, MPI_INT, rank, 7, MPI_COMM_WORLD, &st));
    OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    CHECK(st.MPI_SOURCE == rank && st.MPI_TAG == 7);
    OK(MPI_Get_count(&st, MPI_INT, &cnt));
    CHECK(cnt == 5);
    for (int i = 0; i < 5; i++) CHECK(r[i] == rank * 10 + i);
    /* Receive posted first, then a blocking send to self. */
    memset(r, 0, sizeof r);
    OK(MPI_Irecv(r, 5, MPI_INT, MPI_ANY_SOURCE, 8, MPI_COMM_WORLD, &req));
    OK(MPI_Send(s, 3, MPI_INT, rank, 8, MPI_COMM_WORLD));
    OK(MPI_Wait(&req, &st));
    CHECK(st.MPI_SOURCE == rank && st.MPI_TAG == 8);
    OK(MPI_Get_count(&st, MPI_INT, &cnt));
    CHECK(cnt == 3);
    for (int i = 0; i < 3; i++) CHECK(r[i] == rank * 10 + i);
    CHECK(r[3] == 0 && r[4] == 0);
}

static void check_proc_null_status(MPI_Status *st) {
    int cnt = -1;
    CHECK(st->MPI_SOURCE == MPI_PROC_NULL && st->MPI_TAG == MPI_ANY_TAG);
    OK(MPI_Get_count(st, MPI_INT, &cnt));
    CHECK(cnt == 0);
}

static void test_proc_null(void) {
    int b[4] = {1, 2, 3, 4};
    MPI_Status st, sts[2];
    MPI_Request rq[2];
    OK(MPI_Send(b, 4, MPI_INT, MPI_PROC_NULL, 3, MPI_COMM_WORLD));
    OK(MPI_Recv(b, 4, MPI_INT, MPI_PROC_NULL, 3, MPI_COMM_WORLD, &st));
    check_proc_null_status(&st);
    CHECK(b[0] == 1 && b[3] == 4);
    OK(MPI_Isend(b, 4, MPI_INT, MPI_PROC_NULL, 3, MPI_COMM_WORLD, &rq[0]));
    OK(MPI_Irecv(b, 4, MPI_INT, MPI_PROC_NULL, MPI_ANY_TAG, MPI_COMM_WORLD, &rq[1]));
    OK(MPI_Waitall(2, rq, sts));
    check_proc_null_status(&sts[1]);
    CHECK(b[0] == 1 && b[3] == 4);
    OK(MPI_Sendrecv(b, 4, MPI_INT, MPI_PROC_NULL, 1, b, 4, MPI_INT, MPI_PROC_NULL, 1,
                    MPI_COMM_WORLD, &st));
    check_proc_null_status(&st);
    OK(MPI_Probe(MPI_PROC_NULL, 5, MPI_COMM_WORLD, &st));
    check_proc_null_status(&st);
}

static void test_request_null(void) {
    MPI_Request rq[4] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    MPI_Status st, sts[4];
    int flag = 0, v = rank + 500, w = -1;
    OK(MPI_Waitall(4, rq, sts));
    OK(MPI_Wait(&rq[0], &st));
    check_empty(&st);
    OK(MPI_Test(&rq[0], &flag, &st));
    CHECK(flag);
    check_empty(&st);
    OK(MPI_Testall(4, rq, &flag, sts));
    CHECK(flag);
    /* Mixed null and live requests. */
    OK(MPI_Irecv(&w, 1, MPI_INT, pred, 9, MPI_COMM_WORLD, &rq[1]));
    OK(MPI_Isend(&v, 1, MPI_INT, succ, 9, MPI_COMM_WORLD, &rq[3]));
    OK(MPI_Waitall(4, rq, sts));
    for (int i = 0; i < 4; i++) CHECK(rq[i] == MPI_REQUEST_NULL);
    CHECK(w == pred + 500);
    CHECK(sts[1].MPI_SOURCE == pred && sts[1].MPI_TAG == 9);
}

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    succ = (rank + 1) % size;
    pred = (rank - 1 + size) % size;

    test_any_some();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    test_cancel();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    test_self();
    test_proc_null();
    test_request_null();
    OK(MPI_Barrier(MPI_COMM_WORLD));

    OK(MPI_Finalize());
    if (rank == 0) printf("PASS requests\n");
    return 0;
}
