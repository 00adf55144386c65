/* p2p_more.c: the rest of point-to-point: Sendrecv_replace and Isendrecv(_replace) around the ring with checked
   values, Request_get_status (and _any/_all/_some) leaving requests active, the status accessors, buffered-send
   flushes (process and communicator buffers), and the large-count _c forms. */
#include "check.h"

static int size, pred, succ;

static int64_t value(int from, int round, int i) { return ((int64_t)from << 32) ^ ((int64_t)round << 20) ^ i; }

static void sendrecv_replace_ring(void) {
    enum { N = 5000 };
    static int64_t buf[N];
    for (int round = 0; round < 3; round++) {
        int n = round == 1 ? N : 1 + round * 7;
        for (int i = 0; i < n; i++) buf[i] = value(rank, round, i);
        MPI_Status st;
        OK(MPI_Sendrecv_replace(buf, n, MPI_INT64_T, succ, round, pred, round, MPI_COMM_WORLD, &st));
        CHECK(st.MPI_SOURCE == pred && st.MPI_TAG == round);
        for (int i = 0; i < n; i++) CHECK(buf[i] == value(pred, round, i));
        /* The same with a large count and the nonblocking forms. */
        for (int i = 0; i < n; i++) buf[i] = value(rank, round + 10, i);
        OK(MPI_Sendrecv_replace_c(buf, (MPI_Count)n, MPI_INT64_T, succ, 1, pred, 1, MPI_COMM_WORLD, &st));
        for (int i = 0; i < n; i++) CHECK(buf[i] == value(pred, round + 10, i));
        MPI_Request r;
        for (int i = 0; i < n; i++) buf[i] = value(rank, round + 20, i);
        OK(MPI_Isendrecv_replace(buf, n, MPI_INT64_T, succ, 2, pred, 2, MPI_COMM_WORLD, &r));
        OK(MPI_Wait(&r, &st));
        CHECK(r == MPI_REQUEST_NULL && st.MPI_SOURCE == pred && st.MPI_TAG == 2);
        int got = -1;
        OK(MPI_Get_count(&st, MPI_INT64_T, &got));
        CHECK(got == n);
        for (int i = 0; i < n; i++) CHECK(buf[i] == value(pred, round + 20, i));
        static int64_t out[N];
        for (int i = 0; i < n; i++) out[i] = value(rank, round + 30, i);
        OK(MPI_Isendrecv(out, n, MPI_INT64_T, succ, 3, buf, n, MPI_INT64_T, MPI_ANY_SOURCE, 3, MPI_COMM_WORLD, &r));
        OK(MPI_Wait(&r, &st));
        CHECK(st.MPI_SOURCE == pred);
        for (int i = 0; i < n; i++) CHECK(buf[i] == value(pred, round + 30, i));
    }
}

static void get_status_leaves_requests_active(void) {
    int x = -1, flag = 1, idx = 7, outcount = -5, indices[2];
    MPI_Request r[2];
    MPI_Status st, sts[2];
    OK(MPI_Irecv(&x, 1, MPI_INT, pred, 40, MPI_COMM_WORLD, &r[0]));
    r[1] = MPI_REQUEST_NULL;
    OK(MPI_Request_get_status(r[0], &flag, &st));
    /* Nothing is sent on tag 40 before the barrier below, so the receive cannot be done. */
    CHECK(flag == 0);
    OK(MPI_Request_get_status_any(2, r, &idx, &flag, &st));
    CHECK(flag == 0 && idx == MPI_UNDEFINED);
    OK(MPI_Request_get_status_all(2, r, &flag, sts));
    CHECK(flag == 0);
    OK(MPI_Request_get_status_some(2, r, &outcount, indices, sts));
    CHECK(outcount == 0);
    OK(MPI_Barrier(MPI_COMM_WORLD));
    int mine = 4000 + rank;
    OK(MPI_Send(&mine, 1, MPI_INT, succ, 40, MPI_COMM_WORLD));
    do {
        OK(MPI_Request_get_status(r[0], &flag, &st));
    } while (!flag);
    CHECK(r[0] != MPI_REQUEST_NULL && st.MPI_SOURCE == pred && st.MPI_TAG == 40 && x == 4000 + pred);
    OK(MPI_Request_get_status_any(2, r, &idx, &flag, &st));
    CHECK(flag == 1 && idx == 0 && st.MPI_SOURCE == pred);
    OK(MPI_Request_get_status_all(2, r, &flag, sts));
    CHECK(flag == 1 && sts[0].MPI_SOURCE == pred && sts[1].MPI_SOURCE == MPI_ANY_SOURCE);
    OK(MPI_Request_get_status_some(2, r, &outcount, indices, sts));
    CHECK(outcount == 1 && indices[0] == 0 && sts[0].MPI_TAG == 40);
    /* Still active: the ordinary completion call sees it and frees it. */
    CHECK(r[0] != MPI_REQUEST_NULL);
    OK(MPI_Wait(&r[0], &st));
    CHECK(r[0] == MPI_REQUEST_NULL && st.MPI_SOURCE == pred);
    r[0] = MPI_REQUEST_NULL;
    OK(MPI_Request_get_status_any(2, r, &idx, &flag, &st));
    CHECK(flag == 1 && idx == MPI_UNDEFINED);
    OK(MPI_Request_get_status_some(2, r, &outcount, indices, sts));
    CHECK(outcount == MPI_UNDEFINED);
}

static void status_accessors(void) {
    MPI_Status st;
    memset(&st, 0, sizeof st);
    OK(MPI_Status_set_elements(&st, MPI_DOUBLE, 12));
    int n = -1, flag = -1, v = 0;
    OK(MPI_Get_count(&st, MPI_DOUBLE, &n));
    CHECK(n == 12);
    OK(MPI_Get_count(&st, MPI_BYTE, &n));
    CHECK(n == 96);
    OK(MPI_Get_elements(&st, MPI_INT, &n));
    CHECK(n == 24);
    OK(MPI_Status_set_elements_x(&st, MPI_INT, (MPI_Count)5));
    OK(MPI_Get_count(&st, MPI_INT, &n));
    CHECK(n == 5);
    OK(MPI_Status_set_elements_c(&st, MPI_CHAR, (MPI_Count)3));
    OK(MPI_Get_count(&st, MPI_CHAR, &n));
    CHECK(n == 3);
    OK(MPI_Status_set_cancelled(&st, 1));
    OK(MPI_Test_cancelled(&st, &flag));
    CHECK(flag == 1);
    OK(MPI_Status_set_cancelled(&st, 0));
    OK(MPI_Test_cancelled(&st, &flag));
    CHECK(flag == 0);
    OK(MPI_Status_set_source(&st, 3));
    OK(MPI_Status_set_tag(&st, 77));
    OK(MPI_Status_set_error(&st, MPI_ERR_TRUNCATE));
    OK(MPI_Status_get_source(&st, &v));
    CHECK(v == 3 && st.MPI_SOURCE == 3);
    OK(MPI_Status_get_tag(&st, &v));
    CHECK(v == 77 && st.MPI_TAG == 77);
    OK(MPI_Status_get_error(&st, &v));
    CHECK(v == MPI_ERR_TRUNCATE);
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    CHECK(MPI_Status_set_elements(&st, MPI_INT, -1) != MPI_SUCCESS);
    CHECK(MPI_Status_set_elements(MPI_STATUS_IGNORE, MPI_INT, 1) != MPI_SUCCESS);
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
}

static void buffered_flushes(void) {
    enum { N = 100 };
    int space = 4 * (N * (int)sizeof(int) + MPI_BSEND_OVERHEAD);
    char *area = malloc((size_t)space), *comm_area = malloc((size_t)space);
    CHECK(area && comm_area);
    OK(MPI_Buffer_attach(area, space));
    int out[N], in[N];
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < N; i++) out[i] = rank * 1000 + k * 100 + i;
        OK(MPI_Bsend(out, N, MPI_INT, succ, 50 + k, MPI_COMM_WORLD));
        if (k == 1) {
            OK(MPI_Buffer_flush());
        } else {
            MPI_Request r;
            OK(MPI_Buffer_iflush(&r));
            OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
            CHECK(r == MPI_REQUEST_NULL);
        }
        OK(MPI_Recv(in, N, MPI_INT, pred, 50 + k, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        for (int i = 0; i < N; i++) CHECK(in[i] == pred * 1000 + k * 100 + i);
    }
    /* A communicator's own buffer serves its buffered sends. */
    MPI_Comm dup;
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &dup));
    OK(MPI_Comm_attach_buffer(dup, comm_area, space));
    for (int i = 0; i < N; i++) out[i] = -i - rank;
    OK(MPI_Bsend_c(out, (MPI_Count)N, MPI_INT, succ, 60, dup));
    OK(MPI_Comm_flush_buffer(dup));
    MPI_Request r;
    OK(MPI_Comm_iflush_buffer(dup, &r));
    OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
    OK(MPI_Recv_c(in, (MPI_Count)N, MPI_INT, pred, 60, dup, MPI_STATUS_IGNORE));
    for (int i = 0; i < N; i++) CHECK(in[i] == -i - pred);
    void *addr = NULL;
    int got = 0;
    OK(MPI_Comm_detach_buffer(dup, &addr, &got));
    CHECK(addr == comm_area && got == space);
    OK(MPI_Comm_free(&dup));
    MPI_Count big = 0;
    OK(MPI_Buffer_detach_c(&addr, &big));
    CHECK(addr == area && big == space);
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    CHECK(MPI_Bsend(out, 1, MPI_INT, succ, 61, MPI_COMM_WORLD) != MPI_SUCCESS); /* nothing attached */
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
    free(area);
    free(comm_area);
}

static void large_count_forms(void) {
    enum { N = 3000 };
    static int64_t out[N], in[N];
    for (int i = 0; i < N; i++) out[i] = value(rank, 99, i);
    MPI_Request r[2];
    OK(MPI_Irecv_c(in, (MPI_Count)N, MPI_INT64_T, pred, 70, MPI_COMM_WORLD, &r[0]));
    OK(MPI_Isend_c(out, (MPI_Count)N, MPI_INT64_T, succ, 70, MPI_COMM_WORLD, &r[1]));
    OK(MPI_Waitall(2, r, MPI_STATUSES_IGNORE));
    for (int i = 0; i < N; i++) CHECK(in[i] == value(pred, 99, i));
    MPI_Status st;
    OK(MPI_Sendrecv_c(out, (MPI_Count)N, MPI_INT64_T, succ, 71, in, (MPI_Count)N, MPI_INT64_T, pred, 71, MPI_COMM_WORLD,
                      &st));
    int n = 0;
    OK(MPI_Get_count(&st, MPI_INT64_T, &n));
    CHECK(n == N);
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    CHECK(MPI_Send_c(out, (MPI_Count)-1, MPI_INT64_T, succ, 72, MPI_COMM_WORLD) == MPI_ERR_COUNT);
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
}

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    pred = (rank + size - 1) % size;
    succ = (rank + 1) % size;
    sendrecv_replace_ring();
    get_status_leaves_requests_active();
    status_accessors();
    buffered_flushes();
    large_count_forms();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0) printf("PASS p2p_more\n");
    OK(MPI_Finalize());
    return 0;
}
