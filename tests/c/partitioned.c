/* partitioned.c: partitioned point-to-point around the ring (and on MPI_COMM_SELF): several
   rounds, partitions marked ready in reverse and shuffled order and from several threads, with
   MPI_Pready_range/_list, MPI_Parrived polled (an arrived partition's data is checked at once),
   different partition counts at the two ends, and the error paths (partition out of range,
   inactive request, marked twice, wrong end, different totals). */
#include <mpi.h>
#include <pthread.h>
#include "check.h"

static int size;
static MPI_Comm comm;

static int value(int src, int round, long i) {
    return src * 1000003 + round * 7919 + (int)i;
}

/* A permutation of 0..n-1 that differs by round (a Fisher-Yates shuffle with an LCG). */
static void shuffle(int *order, int n, unsigned seed) {
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = n - 1; i > 0; i--) {
        seed = seed * 1103515245u + 12345u;
        int j = (int)((seed >> 8) % (unsigned)(i + 1));
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

struct marker {
    MPI_Request req;
    int first, step, parts;
};

static void *mark_some(void *arg) {
    struct marker *m = arg;
    for (int p = m->first; p < m->parts; p += m->step) OK(MPI_Pready(p, m->req));
    return NULL;
}

enum how { REVERSE, SHUFFLED, THREADS, RANGE, LIST };

/* One transfer set-up run for several rounds: to `to` in `sparts` partitions, from `from` in
   `rparts` partitions, `total` ints each way. */
static void transfer(MPI_Comm c, int to, int from, int total, int sparts, int rparts, enum how how, int rounds) {
    int me;
    OK(MPI_Comm_rank(c, &me));
    int *sbuf = malloc(sizeof(int) * (size_t)total + 1), *rbuf = malloc(sizeof(int) * (size_t)total + 1);
    CHECK(sbuf && rbuf);
    MPI_Request sreq, rreq;
    OK(MPI_Psend_init(sbuf, sparts, total / sparts, MPI_INT, to, 5, c, MPI_INFO_NULL, &sreq));
    OK(MPI_Precv_init(rbuf, rparts, total / rparts, MPI_INT, from, 5, c, MPI_INFO_NULL, &rreq));
    int rlen = total / rparts;
    int *seen = calloc((size_t)rparts, sizeof(int)), *order = malloc(sizeof(int) * (size_t)sparts);
    CHECK(seen && order);
    for (int r = 0; r < rounds; r++) {
        for (long i = 0; i < total; i++) {
            sbuf[i] = value(me, r, i);
            rbuf[i] = -1;
        }
        OK(MPI_Start(&rreq));
        OK(MPI_Start(&sreq));
        int flag = 1;
        OK(MPI_Parrived(rreq, 0, &flag)); /* any answer is fine before the sender is ready */
        switch (how) {
        case REVERSE:
            for (int p = sparts - 1; p >= 0; p--) OK(MPI_Pready(p, sreq));
            break;
        case SHUFFLED:
            shuffle(order, sparts, (unsigned)(r * 31 + me));
            for (int p = 0; p < sparts; p++) OK(MPI_Pready(order[p], sreq));
            break;
        case THREADS: {
            enum { T = 4 };
            pthread_t th[T];
            struct marker m[T];
            for (int t = 0; t < T; t++) {
                m[t] = (struct marker){sreq, t, T, sparts};
                CHECK(pthread_create(&th[t], NULL, mark_some, &m[t]) == 0);
            }
            for (int t = 0; t < T; t++) CHECK(pthread_join(th[t], NULL) == 0);
            break;
        }
        case RANGE:
            OK(MPI_Pready_range(sparts / 2, sparts - 1, sreq));
            if (sparts / 2 > 0) OK(MPI_Pready_range(0, sparts / 2 - 1, sreq));
            break;
        case LIST:
            for (int p = 0; p < sparts; p++) order[p] = sparts - 1 - p;
            OK(MPI_Pready_list(sparts, order, sreq));
            break;
        }
        /* Poll every receive partition; check each one's data the moment it shows arrived. */
        int left = rparts;
        for (int q = 0; q < rparts; q++) seen[q] = 0;
        while (left > 0) {
            for (int q = 0; q < rparts; q++) {
                if (seen[q]) continue;
                OK(MPI_Parrived(rreq, q, &flag));
                if (!flag) continue;
                for (long i = (long)q * rlen; i < (long)(q + 1) * rlen; i++) CHECK(from == MPI_PROC_NULL || rbuf[i] == value(from, r, i));
                seen[q] = 1;
                left--;
            }
        }
        MPI_Status s;
        OK(MPI_Wait(&rreq, &s));
        CHECK(rreq != MPI_REQUEST_NULL);
        OK(MPI_Wait(&sreq, MPI_STATUS_IGNORE));
        CHECK(sreq != MPI_REQUEST_NULL);
        CHECK(s.MPI_SOURCE == from);
        if (from != MPI_PROC_NULL) {
            CHECK(s.MPI_TAG == 5);
            int count;
            OK(MPI_Get_count(&s, MPI_INT, &count));
            CHECK(count == total);
            for (long i = 0; i < total; i++) CHECK(rbuf[i] == value(from, r, i));
        }
        /* An inactive receive reports every partition arrived. */
        OK(MPI_Parrived(rreq, rparts - 1, &flag));
        CHECK(flag == 1);
    }
    OK(MPI_Request_free(&sreq));
    OK(MPI_Request_free(&rreq));
    CHECK(sreq == MPI_REQUEST_NULL && rreq == MPI_REQUEST_NULL);
    free(sbuf);
    free(rbuf);
    free(seen);
    free(order);
}

static void errors(void) {
    int to = (rank + 1) % size, from = (rank + size - 1) % size;
    int sbuf[12] = {0}, rbuf[12];
    MPI_Request sreq, rreq;
    OK(MPI_Psend_init(sbuf, 4, 3, MPI_INT, to, 9, comm, MPI_INFO_NULL, &sreq));
    OK(MPI_Precv_init(rbuf, 2, 6, MPI_INT, from, 9, comm, MPI_INFO_NULL, &rreq));
    CHECK(MPI_Pready(0, sreq) == MPI_ERR_REQUEST); /* inactive */
    OK(MPI_Start(&sreq));
    OK(MPI_Start(&rreq));
    CHECK(MPI_Start(&sreq) == MPI_ERR_REQUEST); /* already active */
    CHECK(MPI_Pready(4, sreq) == MPI_ERR_ARG);
    CHECK(MPI_Pready(-1, sreq) == MPI_ERR_ARG);
    CHECK(MPI_Pready_range(2, 1, sreq) == MPI_ERR_ARG);
    int bad[2] = {1, 7};
    CHECK(MPI_Pready_list(2, bad, sreq) == MPI_ERR_ARG);
    CHECK(MPI_Pready(0, rreq) == MPI_ERR_REQUEST); /* a receive */
    int flag;
    CHECK(MPI_Parrived(sreq, 0, &flag) == MPI_ERR_REQUEST); /* a send */
    CHECK(MPI_Parrived(rreq, 2, &flag) == MPI_ERR_ARG);
    OK(MPI_Pready_range(0, 3, sreq));
    CHECK(MPI_Pready(2, sreq) == MPI_ERR_REQUEST); /* twice */
    OK(MPI_Wait(&sreq, MPI_STATUS_IGNORE));
    OK(MPI_Wait(&rreq, MPI_STATUS_IGNORE));
    OK(MPI_Request_free(&sreq));
    OK(MPI_Request_free(&rreq));
    CHECK(MPI_Pready(0, sreq) == MPI_ERR_REQUEST); /* MPI_REQUEST_NULL */
    CHECK(MPI_Psend_init(sbuf, 0, 3, MPI_INT, to, 9, comm, MPI_INFO_NULL, &sreq) == MPI_ERR_ARG);
    CHECK(MPI_Precv_init(rbuf, 2, 6, MPI_INT, MPI_ANY_SOURCE, 9, comm, MPI_INFO_NULL, &rreq) == MPI_ERR_ARG);

    /* Different totals: 10 ints sent, 12 expected; both ends' rounds fail, neither hangs. */
    OK(MPI_Psend_init(sbuf, 2, 5, MPI_INT, to, 10, comm, MPI_INFO_NULL, &sreq));
    OK(MPI_Precv_init(rbuf, 3, 4, MPI_INT, from, 10, comm, MPI_INFO_NULL, &rreq));
    OK(MPI_Start(&rreq));
    OK(MPI_Start(&sreq));
    OK(MPI_Pready_range(0, 1, sreq));
    int err = MPI_Wait(&rreq, MPI_STATUS_IGNORE), cls;
    OK(MPI_Error_class(err, &cls));
    CHECK(cls == MPI_ERR_COUNT);
    err = MPI_Wait(&sreq, MPI_STATUS_IGNORE);
    OK(MPI_Error_class(err, &cls));
    CHECK(cls == MPI_ERR_COUNT);
    OK(MPI_Request_free(&sreq));
    OK(MPI_Request_free(&rreq));
}

int main(int argc, char **argv) {
    int provided;
    OK(MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided));
    CHECK(provided == MPI_THREAD_MULTIPLE);
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &comm));
    OK(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN));
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    int to = (rank + 1) % size, from = (rank + size - 1) % size;
    transfer(comm, to, from, 8000, 8, 8, REVERSE, 4);
    transfer(comm, to, from, 2400, 6, 4, SHUFFLED, 5);
    transfer(comm, to, from, 2400, 4, 6, SHUFFLED, 3);
    transfer(comm, to, from, 3000, 1, 5, LIST, 3);
    transfer(comm, to, from, 3000, 5, 1, RANGE, 3);
    transfer(comm, to, from, 1 << 18, 16, 4, THREADS, 3); /* 1 MiB: beyond any eager size */
    transfer(comm, to, from, 0, 3, 2, REVERSE, 2); /* nothing to move: still one message per partition */
    transfer(MPI_COMM_SELF, 0, 0, 1200, 3, 4, SHUFFLED, 3);
    transfer(comm, MPI_PROC_NULL, MPI_PROC_NULL, 12, 3, 4, REVERSE, 1);
    errors();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    OK(MPI_Comm_free(&comm));
    if (rank == 0) printf("PASS partitioned\n");
    OK(MPI_Finalize());
    return 0;
}
