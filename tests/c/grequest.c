/* grequest.c: generalized requests (MPI_Grequest_start/_complete): completion from another thread
   while the main thread waits, query_fn filling the status, its error becoming the call's (and
   MPI_ERR_IN_STATUS in Waitall), cancel_fn's complete flag, and free_fn's timing and order
   (after query_fn; at MPI_Request_free or MPI_Grequest_complete, whichever is last). */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <pthread.h>
#include <time.h>
#include "check.h"

static int size;

/* What each callback saw: a log of calls ('q', 'f', 'c') and what the status should say. */
struct op {
    char log[16];
    int nlog;
    int source, tag, count, query_error, cancelled, cancel_complete;
    MPI_Request req;
};

static void note(struct op *o, char c) {
    CHECK(o->nlog < 15);
    o->log[o->nlog++] = c;
    o->log[o->nlog] = 0;
}

static int query_fn(void *extra, MPI_Status *status) {
    struct op *o = extra;
    note(o, 'q');
    status->MPI_SOURCE = o->source;
    status->MPI_TAG = o->tag;
    OK(MPI_Status_set_elements(status, MPI_INT, o->count));
    OK(MPI_Status_set_cancelled(status, o->cancelled));
    return o->query_error;
}

static int free_fn(void *extra) {
    note(extra, 'f');
    return MPI_SUCCESS;
}

static int cancel_fn(void *extra, int complete) {
    struct op *o = extra;
    note(o, 'c');
    o->cancel_complete = complete;
    o->cancelled = 1;
    return MPI_SUCCESS;
}

static struct op *make(int source, int tag, int count, int query_error) {
    struct op *o = calloc(1, sizeof *o);
    CHECK(o);
    o->source = source;
    o->tag = tag;
    o->count = count;
    o->query_error = query_error;
    OK(MPI_Grequest_start(query_fn, free_fn, cancel_fn, o, &o->req));
    CHECK(o->req != MPI_REQUEST_NULL);
    return o;
}

static void *complete_later(void *arg) {
    struct op *o = arg;
    struct timespec t = {0, 50 * 1000 * 1000};
    nanosleep(&t, NULL);
    OK(MPI_Grequest_complete(o->req));
    return NULL;
}

/* The main thread blocks in MPI_Wait while another thread completes the request. */
static void completes_from_another_thread(void) {
    struct op *o = make(rank, 42 + rank, 7, MPI_SUCCESS);
    MPI_Request req = o->req;
    int flag = 1;
    OK(MPI_Test(&req, &flag, MPI_STATUS_IGNORE));
    CHECK(flag == 0 && o->nlog == 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, complete_later, o) == 0);
    MPI_Status s;
    OK(MPI_Wait(&req, &s));
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(req == MPI_REQUEST_NULL);
    CHECK(strcmp(o->log, "qf") == 0);
    CHECK(s.MPI_SOURCE == rank && s.MPI_TAG == 42 + rank);
    int n = -1;
    OK(MPI_Get_count(&s, MPI_INT, &n));
    CHECK(n == 7);
    OK(MPI_Test_cancelled(&s, &flag));
    CHECK(flag == 0);
    free(o);
}

/* MPI_Request_get_status calls query_fn but frees nothing; MPI_Test then completes it. */
static void get_status_queries_without_freeing(void) {
    struct op *o = make(0, 5, 3, MPI_SUCCESS);
    MPI_Request req = o->req;
    int flag = 1;
    MPI_Status s;
    OK(MPI_Request_get_status(req, &flag, &s));
    CHECK(flag == 0 && o->nlog == 0);
    OK(MPI_Grequest_complete(req));
    OK(MPI_Request_get_status(req, &flag, &s));
    CHECK(flag == 1 && strcmp(o->log, "q") == 0 && s.MPI_TAG == 5);
    OK(MPI_Test(&req, &flag, &s));
    CHECK(flag == 1 && req == MPI_REQUEST_NULL && strcmp(o->log, "qqf") == 0);
    int n;
    OK(MPI_Get_count(&s, MPI_INT, &n));
    CHECK(n == 3);
    free(o);
}

/* query_fn's error is MPI_Wait's error; in Waitall it is MPI_ERR_IN_STATUS with the code in the status. */
static void query_errors(void) {
    struct op *o = make(0, 1, 0, MPI_ERR_OTHER);
    MPI_Request req = o->req;
    OK(MPI_Grequest_complete(req));
    CHECK(MPI_Wait(&req, MPI_STATUS_IGNORE) == MPI_ERR_OTHER);
    CHECK(req == MPI_REQUEST_NULL && strcmp(o->log, "qf") == 0);
    free(o);

    /* A user-defined error code comes back exactly. */
    int cls, code;
    OK(MPI_Add_error_class(&cls));
    OK(MPI_Add_error_code(cls, &code));
    struct op *good = make(0, 2, 1, MPI_SUCCESS), *bad = make(0, 3, 1, code);
    MPI_Request reqs[3] = {good->req, bad->req, MPI_REQUEST_NULL};
    /* A real message in the same Waitall, to a neighbour. */
    int to = (rank + 1) % size, from = (rank + size - 1) % size, sent = 1000 + rank, got = -1;
    MPI_Request p2p[2];
    OK(MPI_Irecv(&got, 1, MPI_INT, from, 9, MPI_COMM_WORLD, &p2p[0]));
    OK(MPI_Isend(&sent, 1, MPI_INT, to, 9, MPI_COMM_WORLD, &p2p[1]));
    reqs[2] = p2p[0];
    OK(MPI_Grequest_complete(bad->req));
    OK(MPI_Grequest_complete(good->req));
    MPI_Status s[3];
    CHECK(MPI_Waitall(3, reqs, s) == MPI_ERR_IN_STATUS);
    CHECK(s[0].MPI_ERROR == MPI_SUCCESS && s[0].MPI_TAG == 2);
    CHECK(s[1].MPI_ERROR == code && s[1].MPI_TAG == 3);
    CHECK(s[2].MPI_ERROR == MPI_SUCCESS && s[2].MPI_SOURCE == from && got == 1000 + from);
    OK(MPI_Wait(&p2p[1], MPI_STATUS_IGNORE));
    CHECK(strcmp(good->log, "qf") == 0 && strcmp(bad->log, "qf") == 0);
    free(good);
    free(bad);
}

/* MPI_Cancel calls cancel_fn with whether the request is complete; query_fn reports it. */
static void cancelling(void) {
    struct op *o = make(0, 1, 0, MPI_SUCCESS);
    MPI_Request req = o->req;
    OK(MPI_Cancel(&req));
    CHECK(strcmp(o->log, "c") == 0 && o->cancel_complete == 0);
    OK(MPI_Grequest_complete(req));
    MPI_Status s;
    OK(MPI_Wait(&req, &s));
    int flag = 0;
    OK(MPI_Test_cancelled(&s, &flag));
    CHECK(flag == 1 && strcmp(o->log, "cqf") == 0);
    free(o);

    o = make(0, 1, 0, MPI_SUCCESS);
    req = o->req;
    OK(MPI_Grequest_complete(req));
    OK(MPI_Cancel(&req));
    CHECK(o->cancel_complete == 1);
    OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    CHECK(strcmp(o->log, "cqf") == 0);
    free(o);
}

/* MPI_Request_free: free_fn runs at the later of it and MPI_Grequest_complete, never query_fn. */
static void freeing(void) {
    struct op *o = make(0, 1, 0, MPI_SUCCESS);
    MPI_Request req = o->req, kept = o->req;
    OK(MPI_Request_free(&req));
    CHECK(req == MPI_REQUEST_NULL && o->nlog == 0);
    OK(MPI_Grequest_complete(kept));
    CHECK(strcmp(o->log, "f") == 0);
    free(o);

    o = make(0, 1, 0, MPI_SUCCESS);
    req = o->req;
    OK(MPI_Grequest_complete(req));
    CHECK(o->nlog == 0);
    OK(MPI_Request_free(&req));
    CHECK(strcmp(o->log, "f") == 0);
    free(o);
}

/* Waitany and Testany over several, completed by a thread in reverse order. */
static void *complete_all_reversed(void *arg) {
    struct op **ops = arg;
    for (int i = 3; i >= 0; i--) {
        struct timespec t = {0, 5 * 1000 * 1000};
        nanosleep(&t, NULL);
        OK(MPI_Grequest_complete(ops[i]->req));
    }
    return NULL;
}

static void any_and_some(void) {
    struct op *ops[4];
    MPI_Request reqs[4];
    for (int i = 0; i < 4; i++) {
        ops[i] = make(0, 10 + i, i, MPI_SUCCESS);
        reqs[i] = ops[i]->req;
    }
    int index, flag;
    OK(MPI_Testany(4, reqs, &index, &flag, MPI_STATUS_IGNORE));
    CHECK(flag == 0 && index == MPI_UNDEFINED);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, complete_all_reversed, ops) == 0);
    int seen = 0;
    while (seen < 4) {
        MPI_Status s;
        OK(MPI_Waitany(4, reqs, &index, &s));
        CHECK(index >= 0 && index < 4 && reqs[index] == MPI_REQUEST_NULL);
        CHECK(s.MPI_TAG == 10 + index && strcmp(ops[index]->log, "qf") == 0);
        seen++;
    }
    OK(MPI_Waitany(4, reqs, &index, MPI_STATUS_IGNORE));
    CHECK(index == MPI_UNDEFINED);
    CHECK(pthread_join(th, NULL) == 0);
    for (int i = 0; i < 4; i++) free(ops[i]);
}

static void errors(void) {
    CHECK(MPI_Grequest_complete(MPI_REQUEST_NULL) == MPI_ERR_REQUEST);
    struct op *o = make(0, 1, 0, MPI_SUCCESS);
    MPI_Request req = o->req;
    OK(MPI_Grequest_complete(req));
    CHECK(MPI_Grequest_complete(req) == MPI_ERR_REQUEST);
    OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    CHECK(MPI_Grequest_complete(o->req) == MPI_ERR_REQUEST);
    CHECK(MPI_Grequest_start(query_fn, free_fn, cancel_fn, o, NULL) != MPI_SUCCESS);
    /* A plain request is no generalized request. */
    MPI_Request plain;
    int x = 0;
    OK(MPI_Irecv(&x, 1, MPI_INT, MPI_PROC_NULL, 0, MPI_COMM_WORLD, &plain));
    CHECK(MPI_Grequest_complete(plain) == MPI_ERR_REQUEST);
    OK(MPI_Wait(&plain, MPI_STATUS_IGNORE));
    free(o);
}

int main(int argc, char **argv) {
    int provided;
    OK(MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided));
    CHECK(provided == MPI_THREAD_MULTIPLE);
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    OK(MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN));
    completes_from_another_thread();
    get_status_queries_without_freeing();
    query_errors();
    cancelling();
    freeing();
    any_and_some();
    errors();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0) printf("PASS grequest\n");
    OK(MPI_Finalize());
    return 0;
}
