/* many_requests.c: 10,000 outstanding Isend + 10,000 Irecv per rank, completed by Waitall and Testall. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include "check.h"

static int rank, size;


enum { NMSG = 10000, WORDS = 3, NTAGS = 97 };

/* Message i of round k from src: each request has its own small buffer. */
static void fill(int *b, int src, int i, int k) {
    b[0] = src;
    b[1] = i;
    b[2] = src * 7919 + i * 31 + k;
}

/* One round: NMSG Irecv from pred and NMSG Isend to succ all outstanding at
 * once.  Tags repeat (i % NTAGS), so message i must match receive i purely
 * by non-overtaking order.  recv_first selects posting receives before sends
 * (expected path) or after (unexpected-message path). */
static void round_trip(int k, int recv_first, int use_testall) {
    int succ = (rank + 1) % size, pred = (rank - 1 + size) % size;
    int (*sbuf)[WORDS] = malloc(sizeof(int[WORDS]) * NMSG);
    int (*rbuf)[WORDS] = malloc(sizeof(int[WORDS]) * NMSG);
    MPI_Request *reqs = malloc(sizeof(MPI_Request) * 2 * NMSG);
    MPI_Status *sts = malloc(sizeof(MPI_Status) * 2 * NMSG);
    CHECK(sbuf && rbuf && reqs && sts);
    MPI_Request *rreq = recv_first ? reqs : reqs + NMSG;
    MPI_Request *sreq = recv_first ? reqs + NMSG : reqs;

    for (int pass = 0; pass < 2; pass++) {
        if ((pass == 0) == (recv_first != 0)) {
            for (int i = 0; i < NMSG; i++) {
                rbuf[i][0] = rbuf[i][1] = rbuf[i][2] = -1;
                OK(MPI_Irecv(rbuf[i], WORDS, MPI_INT, pred, i % NTAGS, MPI_COMM_WORLD, &rreq[i]));
            }
        } else {
            for (int i = 0; i < NMSG; i++) {
                fill(sbuf[i], rank, i, k);
                OK(MPI_Isend(sbuf[i], WORDS, MPI_INT, succ, i % NTAGS, MPI_COMM_WORLD, &sreq[i]));
            }
        }
    }

    if (use_testall) {
        int flag = 0;
        long polls = 0;
        double t0 = MPI_Wtime();
        while (!flag) {
            OK(MPI_Testall(2 * NMSG, reqs, &flag, sts));
            polls++;
            CHECK(MPI_Wtime() - t0 < 120.0);
        }
        CHECK(polls >= 1);
    } else {
        OK(MPI_Waitall(2 * NMSG, reqs, sts));
    }

    for (int i = 0; i < 2 * NMSG; i++) CHECK(reqs[i] == MPI_REQUEST_NULL);
    MPI_Status *rsts = recv_first ? sts : sts + NMSG;
    for (int i = 0; i < NMSG; i++) {
        int want[WORDS], cnt = -1;
        fill(want, pred, i, k);
        for (int w = 0; w < WORDS; w++) CHECK(rbuf[i][w] == want[w]);
        CHECK(rsts[i].MPI_SOURCE == pred && rsts[i].MPI_TAG == i % NTAGS);
        OK(MPI_Get_count(&rsts[i], MPI_INT, &cnt));
        CHECK(cnt == WORDS);
    }
    free(sbuf);
    free(rbuf);
    free(reqs);
    free(sts);
}

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));

    round_trip(0, 1, 0); /* receives first, Waitall */
    OK(MPI_Barrier(MPI_COMM_WORLD));
    round_trip(1, 0, 0); /* sends first, Waitall */
    OK(MPI_Barrier(MPI_COMM_WORLD));
    round_trip(2, 1, 1); /* receives first, Testall loop */
    OK(MPI_Barrier(MPI_COMM_WORLD));
    round_trip(3, 0, 1); /* sends first, Testall loop */
    OK(MPI_Barrier(MPI_COMM_WORLD));

    OK(MPI_Finalize());
    if (rank == 0) printf("PASS many_requests\n");
    return 0;
}
