/* mprobe.c: matched probe and receive. Several threads Mprobe+Mrecv messages with the same source and tag
   at once; each must get a distinct whole message (checked word by word), and together all of them.
   Improbe before and after arrival, Imrecv, Mprobe/Improbe on MPI_PROC_NULL, and MPI_MESSAGE_NULL. */
#include <pthread.h>
#include <stdint.h>
#include "check.h"

enum { THREADS = 4, EACH = 20, TOTAL = THREADS * EACH, TAG = 7, LATE_TAG = 8, BIG = 300000 };
static int rank, size, pred, succ;
static int seen[TOTAL];
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;

/* Message i's length, unique per i so the receiver can tell which one it got; every fifth is large
   enough to wait in the socket for its receive (or arrive in pieces). */
static size_t length(int i) { return i % 5 == 0 ? (size_t)BIG + i : 8 + (size_t)i * 37; }

static int index_of(size_t len) {
    for (int i = 0; i < TOTAL; i++)
        if (length(i) == len) return i;
    return -1;
}

static void *receiver(void *arg) {
    (void)arg;
    for (int k = 0; k < EACH; k++) {
        MPI_Message msg = MPI_MESSAGE_NULL;
        MPI_Status st;
        OK(MPI_Mprobe(pred, TAG, MPI_COMM_WORLD, &msg, &st));
        CHECK(msg != MPI_MESSAGE_NULL && st.MPI_SOURCE == pred && st.MPI_TAG == TAG);
        int n = -1;
        OK(MPI_Get_count(&st, MPI_BYTE, &n));
        int i = index_of((size_t)n);
        CHECK(i >= 0);
        unsigned char *buf = malloc((size_t)n);
        CHECK(buf);
        MPI_Status got;
        OK(MPI_Mrecv(buf, n, MPI_BYTE, &msg, &got));
        CHECK(msg == MPI_MESSAGE_NULL);
        int m = -1;
        OK(MPI_Get_count(&got, MPI_BYTE, &m));
        CHECK(m == n && got.MPI_SOURCE == pred && got.MPI_TAG == TAG);
        pattern_verify(buf, (size_t)n, pred, i);
        free(buf);
        pthread_mutex_lock(&seen_lock);
        seen[i]++;
        pthread_mutex_unlock(&seen_lock);
    }
    return NULL;
}

static void threads_take_distinct_messages(void) {
    unsigned char *out[TOTAL];
    MPI_Request reqs[TOTAL];
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) CHECK(pthread_create(&th[t], NULL, receiver, NULL) == 0);
    for (int i = 0; i < TOTAL; i++) {
        out[i] = malloc(length(i));
        CHECK(out[i]);
        pattern_fill(out[i], length(i), rank, i);
        OK(MPI_Isend(out[i], (int)length(i), MPI_BYTE, succ, TAG, MPI_COMM_WORLD, &reqs[i]));
    }
    OK(MPI_Waitall(TOTAL, reqs, MPI_STATUSES_IGNORE));
    for (int t = 0; t < THREADS; t++) CHECK(pthread_join(th[t], NULL) == 0);
    for (int i = 0; i < TOTAL; i++) {
        CHECK(seen[i] == 1);
        free(out[i]);
    }
}

static void improbe_before_and_after_arrival(void) {
    int flag = -1;
    MPI_Message msg = MPI_MESSAGE_NULL;
    MPI_Status st;
    OK(MPI_Improbe(pred, LATE_TAG, MPI_COMM_WORLD, &flag, &msg, &st));
    CHECK(flag == 0 && msg == MPI_MESSAGE_NULL);
    OK(MPI_Barrier(MPI_COMM_WORLD)); /* nobody sends LATE_TAG before every rank probed */
    int64_t out[3] = {rank, 1000 + rank, -rank}, in[3] = {0, 0, 0};
    MPI_Request sreq;
    OK(MPI_Isend(out, 3, MPI_INT64_T, succ, LATE_TAG, MPI_COMM_WORLD, &sreq));
    do {
        OK(MPI_Improbe(MPI_ANY_SOURCE, LATE_TAG, MPI_COMM_WORLD, &flag, &msg, &st));
    } while (!flag);
    CHECK(msg != MPI_MESSAGE_NULL && st.MPI_SOURCE == pred && st.MPI_TAG == LATE_TAG);
    int n = -1;
    OK(MPI_Get_count(&st, MPI_INT64_T, &n));
    CHECK(n == 3);
    /* The matched message is no longer visible to an ordinary probe. */
    int other = -1;
    OK(MPI_Iprobe(MPI_ANY_SOURCE, LATE_TAG, MPI_COMM_WORLD, &other, MPI_STATUS_IGNORE));
    CHECK(other == 0);
    MPI_Request rreq;
    OK(MPI_Imrecv(in, 3, MPI_INT64_T, &msg, &rreq));
    CHECK(msg == MPI_MESSAGE_NULL);
    OK(MPI_Wait(&rreq, &st));
    OK(MPI_Wait(&sreq, MPI_STATUS_IGNORE));
    CHECK(st.MPI_SOURCE == pred && in[0] == pred && in[1] == 1000 + pred && in[2] == -pred);
}

static void proc_null_and_message_null(void) {
    MPI_Message msg = MPI_MESSAGE_NULL;
    MPI_Status st;
    OK(MPI_Mprobe(MPI_PROC_NULL, 3, MPI_COMM_WORLD, &msg, &st));
    CHECK(msg == MPI_MESSAGE_NO_PROC && st.MPI_SOURCE == MPI_PROC_NULL && st.MPI_TAG == MPI_ANY_TAG);
    int n = -1;
    OK(MPI_Get_count(&st, MPI_BYTE, &n));
    CHECK(n == 0);
    char c = 'x';
    OK(MPI_Mrecv(&c, 1, MPI_CHAR, &msg, &st));
    CHECK(msg == MPI_MESSAGE_NULL && st.MPI_SOURCE == MPI_PROC_NULL && c == 'x');
    int flag = 0;
    OK(MPI_Improbe(MPI_PROC_NULL, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &msg, &st));
    CHECK(flag == 1 && msg == MPI_MESSAGE_NO_PROC);
    MPI_Request r;
    OK(MPI_Imrecv(&c, 1, MPI_CHAR, &msg, &r));
    OK(MPI_Wait(&r, &st));
    CHECK(r == MPI_REQUEST_NULL && st.MPI_SOURCE == MPI_PROC_NULL);
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    msg = MPI_MESSAGE_NULL;
    CHECK(MPI_Mrecv(&c, 1, MPI_CHAR, &msg, &st) != MPI_SUCCESS);
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
}

int main(int argc, char **argv) {
    int provided = -1;
    OK(MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided));
    CHECK(provided == MPI_THREAD_MULTIPLE);
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    pred = (rank + size - 1) % size;
    succ = (rank + 1) % size;
    threads_take_distinct_messages();
    improbe_before_and_after_arrival();
    proc_null_and_message_null();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0) printf("PASS mprobe\n");
    OK(MPI_Finalize());
    return 0;
}
