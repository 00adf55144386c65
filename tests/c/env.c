/* env.c: init/finalize state, version/name queries, timers, attributes, error codes, memory and datatypes. */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "check.h"

static int rank = -1, size;

/* Outside MPI_Init..MPI_Finalize MPI_Abort may not be called. */
#define CHECK_NOMPI(cond)                                                        \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: rank %d: CHECK failed: %s\n", __FILE__,      \
                    __LINE__, rank, #cond);                                      \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

static int err_class(int rc) {
    int cls = -1;
    OK(MPI_Error_class(rc, &cls));
    return cls;
}

static void test_version_names(void) {
    char lib[MPI_MAX_LIBRARY_VERSION_STRING], proc[MPI_MAX_PROCESSOR_NAME];
    int len = -1;
    OK(MPI_Get_library_version(lib, &len));
    CHECK(len > 0 && len < MPI_MAX_LIBRARY_VERSION_STRING && strlen(lib) > 0);
#ifdef OPEN_MPI /* Open MPI 4.1 counts the terminating NUL */
    CHECK((int)strlen(lib) == len || (int)strlen(lib) + 1 == len);
#else
    CHECK((int)strlen(lib) == len);
#endif
    len = -1;
    OK(MPI_Get_processor_name(proc, &len));
    CHECK(len > 0 && len < MPI_MAX_PROCESSOR_NAME && (int)strlen(proc) == len);
}

static void test_time(void) {
    double prev = MPI_Wtime(), tick = MPI_Wtick();
    CHECK(tick > 0.0 && tick < 1.0);
    for (int i = 0; i < 10000; i++) {
        double t = MPI_Wtime();
        CHECK(t >= prev);
        prev = t;
    }
    struct timespec ts = {0, 20 * 1000 * 1000};
    double t0 = MPI_Wtime();
    nanosleep(&ts, NULL);
    double dt = MPI_Wtime() - t0;
    CHECK(dt >= 0.015 && dt < 5.0);
}

static void test_attr(void) {
    int *tag_ub = NULL, flag = 0, v = 11, w = 0;
    OK(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &tag_ub, &flag));
    CHECK(flag && tag_ub != NULL && *tag_ub >= 32767);
    /* The upper bound itself is a usable tag. */
    MPI_Request req;
    OK(MPI_Isend(&v, 1, MPI_INT, rank, *tag_ub, MPI_COMM_WORLD, &req));
    OK(MPI_Recv(&w, 1, MPI_INT, rank, *tag_ub, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    CHECK(w == 11);
}

static void test_errors(void) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = -1, v = 1, rc;
    OK(MPI_Error_string(MPI_ERR_TRUNCATE, msg, &len));
    CHECK(len > 0 && len < MPI_MAX_ERROR_STRING && (int)strlen(msg) == len);
    CHECK(err_class(MPI_ERR_TRUNCATE) == MPI_ERR_TRUNCATE);
    CHECK(err_class(MPI_SUCCESS) == MPI_SUCCESS);
    CHECK(err_class(MPI_ERR_RANK) == MPI_ERR_RANK);

    MPI_Errhandler eh;
    OK(MPI_Comm_get_errhandler(MPI_COMM_WORLD, &eh));
    CHECK(eh == MPI_ERRORS_ARE_FATAL); /* the default on MPI_COMM_WORLD */
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    OK(MPI_Comm_get_errhandler(MPI_COMM_WORLD, &eh));
    CHECK(eh == MPI_ERRORS_RETURN);

    const int bad_rank = -100, bad_tag = -7;
    CHECK(bad_rank != MPI_PROC_NULL && bad_rank != MPI_ANY_SOURCE && bad_rank != MPI_ROOT);
    CHECK(bad_tag != MPI_ANY_TAG);
    rc = MPI_Send(&v, 1, MPI_INT, size, 0, MPI_COMM_WORLD);
    CHECK(rc != MPI_SUCCESS && err_class(rc) == MPI_ERR_RANK);
    rc = MPI_Recv(&v, 1, MPI_INT, size, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    CHECK(rc != MPI_SUCCESS && err_class(rc) == MPI_ERR_RANK);
    MPI_Request req = MPI_REQUEST_NULL;
    rc = MPI_Isend(&v, 1, MPI_INT, bad_rank, 0, MPI_COMM_WORLD, &req);
    CHECK(rc != MPI_SUCCESS && err_class(rc) == MPI_ERR_RANK);
    rc = MPI_Send(&v, 1, MPI_INT, 0, bad_tag, MPI_COMM_WORLD);
    CHECK(rc != MPI_SUCCESS && err_class(rc) == MPI_ERR_TAG);
    rc = MPI_Send(&v, 1, MPI_INT, 0, MPI_ANY_TAG, MPI_COMM_WORLD);
    CHECK(rc != MPI_SUCCESS && err_class(rc) == MPI_ERR_TAG);
    rc = MPI_Error_string(rc, msg, &len);
    CHECK(rc == MPI_SUCCESS && len > 0);

    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
    OK(MPI_Comm_get_errhandler(MPI_COMM_WORLD, &eh));
    CHECK(eh == MPI_ERRORS_ARE_FATAL);
}

static void test_alloc_mem(void) {
    const MPI_Aint n = 1 << 20;
    unsigned char *p = NULL;
    OK(MPI_Alloc_mem(n, MPI_INFO_NULL, &p));
    CHECK(p != NULL);
    for (MPI_Aint i = 0; i < n; i++) p[i] = (unsigned char)(i * 13 + rank);
    for (MPI_Aint i = 0; i < n; i++) CHECK(p[i] == (unsigned char)(i * 13 + rank));
    OK(MPI_Free_mem(p));
}

static void check_type(MPI_Datatype t, int want_size, MPI_Aint want_extent) {
    int sz = -1;
    MPI_Aint lb = -1, ext = -1;
    OK(MPI_Type_size(t, &sz));
    OK(MPI_Type_get_extent(t, &lb, &ext));
    CHECK(sz == want_size && lb == 0 && ext == want_extent);
}

static void test_types(void) {
    check_type(MPI_INT, 4, 4);
    check_type(MPI_DOUBLE, 8, 8);
    check_type(MPI_INT64_T, 8, 8);
    check_type(MPI_CHAR, 1, 1);
    check_type(MPI_BYTE, 1, 1);
    check_type(MPI_2INT, 8, 8);
    /* struct { double; int; }: 12 bytes of data, padded extent 16. */
    check_type(MPI_DOUBLE_INT, 12, 16);

    MPI_Datatype t = MPI_DATATYPE_NULL;
    OK(MPI_Type_contiguous(3, MPI_DOUBLE, &t));
    OK(MPI_Type_commit(&t));
    check_type(t, 24, 24);
    int succ = (rank + 1) % size, pred = (rank - 1 + size) % size, cnt = -1;
    double s[6], r[12];
    for (int i = 0; i < 6; i++) s[i] = rank * 100.0 + i + 0.25;
    for (int i = 0; i < 12; i++) r[i] = -1.0;
    MPI_Request req;
    MPI_Status st;
    OK(MPI_Isend(s, 2, t, succ, 3, MPI_COMM_WORLD, &req));
    OK(MPI_Recv(r, 4, t, pred, 3, MPI_COMM_WORLD, &st));
    OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    OK(MPI_Get_count(&st, t, &cnt));
    CHECK(cnt == 2);
    OK(MPI_Get_elements(&st, t, &cnt));
    CHECK(cnt == 6);
    OK(MPI_Get_count(&st, MPI_DOUBLE, &cnt));
    CHECK(cnt == 6);
    for (int i = 0; i < 6; i++) CHECK(r[i] == pred * 100.0 + i + 0.25);
    for (int i = 6; i < 12; i++) CHECK(r[i] == -1.0);
    OK(MPI_Type_free(&t));
    CHECK(t == MPI_DATATYPE_NULL);
}

int main(int argc, char **argv) {
    int flag = -1, version = -1, subversion = -1, provided = -1;
    /* These may be called before MPI_Init. */
    CHECK_NOMPI(MPI_Initialized(&flag) == MPI_SUCCESS && flag == 0);
    CHECK_NOMPI(MPI_Finalized(&flag) == MPI_SUCCESS && flag == 0);
    CHECK_NOMPI(MPI_Get_version(&version, &subversion) == MPI_SUCCESS);

    OK(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    CHECK(MPI_THREAD_SINGLE < MPI_THREAD_FUNNELED && MPI_THREAD_FUNNELED < MPI_THREAD_SERIALIZED &&
          MPI_THREAD_SERIALIZED < MPI_THREAD_MULTIPLE);
    CHECK(provided == MPI_THREAD_SINGLE || provided == MPI_THREAD_FUNNELED ||
          provided == MPI_THREAD_SERIALIZED || provided == MPI_THREAD_MULTIPLE);
    OK(MPI_Initialized(&flag));
    CHECK(flag == 1);
    OK(MPI_Is_thread_main(&flag)); /* this thread called MPI_Init_thread */
    CHECK(flag == 1);
    OK(MPI_Finalized(&flag));
    CHECK(flag == 0);

    int v2 = -1, s2 = -1;
    OK(MPI_Get_version(&v2, &s2));
    CHECK(v2 == version && s2 == subversion);
    CHECK(version == MPI_VERSION && subversion == MPI_SUBVERSION);
#ifndef OPEN_MPI /* the suite is also validated against Open MPI 4.1 (MPI 3.1) */
    CHECK(version == 5 && subversion == 0);
#endif

    test_version_names();
    test_time();
    test_attr();
    test_errors();
    test_alloc_mem();
    test_types();
    OK(MPI_Barrier(MPI_COMM_WORLD));

    OK(MPI_Finalize());
    CHECK_NOMPI(MPI_Finalized(&flag) == MPI_SUCCESS && flag == 1);
    CHECK_NOMPI(MPI_Initialized(&flag) == MPI_SUCCESS && flag == 1);
    if (rank == 0) printf("PASS env\n");
    return 0;
}
