/* coll_reduce.c: reduce, allreduce, reduce_scatter(_block), scan and exscan with MPI_IN_PLACE, counts smaller than
   the number of ranks, large vectors, contiguous derived types, user operations (a non-commutative 2x2 matrix product
   checked against the rank-order product), on world, dup and split communicators; plus argument errors. */
#include <stdbool.h>
#include "check.h"

static int me, n; /* rank and size in the communicator under test */

/* Element j of rank r's input: small integers, exact as doubles. */
static int ival(int r, int j) { return (r * 7 + j * 3) % 11 - 4; }

static int isum(int upto, int j) {
    int s = 0;
    for (int r = 0; r < upto; r++) s += ival(r, j);
    return s;
}

static void test_sums(MPI_Comm comm, int count) {
    int *in = malloc(sizeof(int) * (size_t)count * (size_t)n + 1), *out = malloc(sizeof(int) * (size_t)count * (size_t)n + 1);
    CHECK(in != NULL && out != NULL);
    for (int inplace = 0; inplace < 2; inplace++) {
        /* allreduce */
        for (int j = 0; j < count; j++) in[j] = ival(me, j);
        if (inplace) memcpy(out, in, sizeof(int) * (size_t)count);
        OK(MPI_Allreduce(inplace ? MPI_IN_PLACE : in, out, count, MPI_INT, MPI_SUM, comm));
        for (int j = 0; j < count; j++) CHECK(out[j] == isum(n, j));

        /* reduce, to every root */
        for (int root = 0; root < n; root++) {
            for (int j = 0; j < count; j++) out[j] = me == root && inplace ? ival(me, j) : -99;
            const void *send = inplace && me == root ? MPI_IN_PLACE : in;
            OK(MPI_Reduce(send, me == root ? out : NULL, count, MPI_INT, MPI_SUM, root, comm));
            for (int j = 0; j < count; j++) CHECK(out[j] == (me == root ? isum(n, j) : -99));
        }

        /* scan and exscan */
        if (inplace) memcpy(out, in, sizeof(int) * (size_t)count);
        OK(MPI_Scan(inplace ? MPI_IN_PLACE : in, out, count, MPI_INT, MPI_SUM, comm));
        for (int j = 0; j < count; j++) CHECK(out[j] == isum(me + 1, j));
        for (int j = 0; j < count; j++) out[j] = inplace ? ival(me, j) : -99;
        OK(MPI_Exscan(inplace ? MPI_IN_PLACE : in, out, count, MPI_INT, MPI_SUM, comm));
        for (int j = 0; j < count; j++) CHECK(out[j] == (me == 0 ? (inplace ? ival(0, j) : -99) : isum(me, j)));

        /* reduce_scatter_block: rank r gets elements [r*count, (r+1)*count) of the sum */
        for (int j = 0; j < count * n; j++) in[j] = ival(me, j);
        if (inplace) memcpy(out, in, sizeof(int) * (size_t)count * (size_t)n);
        OK(MPI_Reduce_scatter_block(inplace ? MPI_IN_PLACE : in, out, count, MPI_INT, MPI_SUM, comm));
        for (int j = 0; j < count; j++) CHECK(out[j] == isum(n, me * count + j));

        /* reduce_scatter with uneven counts: rank r gets r % 3 elements (some none) */
        int counts[64], at = 0, mine_at = 0;
        for (int r = 0; r < n; r++) {
            counts[r] = r % 3;
            if (r == me) mine_at = at;
            at += counts[r];
        }
        for (int j = 0; j < at; j++) in[j] = ival(me, j);
        if (inplace) memcpy(out, in, sizeof(int) * (size_t)at);
        OK(MPI_Reduce_scatter(inplace ? MPI_IN_PLACE : in, out, counts, MPI_INT, MPI_SUM, comm));
        for (int j = 0; j < counts[me]; j++) CHECK(out[j] == isum(n, mine_at + j));
    }
    free(in);
    free(out);
}

/* A large vector, so blocks travel zero-copy and the kernels run over megabytes. */
static void test_large(MPI_Comm comm) {
    const int count = 300000;
    double *in = malloc(sizeof(double) * (size_t)count), *out = malloc(sizeof(double) * (size_t)count);
    CHECK(in != NULL && out != NULL);
    for (int j = 0; j < count; j++) in[j] = ival(me, j) * 0.5;
    OK(MPI_Allreduce(in, out, count, MPI_DOUBLE, MPI_SUM, comm));
    for (int j = 0; j < count; j++) CHECK(out[j] == isum(n, j) * 0.5);
    OK(MPI_Allreduce(MPI_IN_PLACE, in, count, MPI_DOUBLE, MPI_MAX, comm));
    for (int j = 0; j < count; j++) {
        int m = ival(0, j);
        for (int r = 1; r < n; r++) m = ival(r, j) > m ? ival(r, j) : m;
        CHECK(in[j] == m * 0.5);
    }
    free(in);
    free(out);
}

/* Row-major 2x2 integer matrices; the user operation is inout = in x inout, which does not commute. */
typedef struct { int a, b, c, d; } mat;
static MPI_Datatype mat_type;
static int calls_with_wrong_type;

static mat mat_of(int r) { return (mat){1, r + 1, r % 2, 1 + (r % 3)}; }
static mat mul(mat x, mat y) {
    return (mat){x.a * y.a + x.b * y.c, x.a * y.b + x.b * y.d, x.c * y.a + x.d * y.c, x.c * y.b + x.d * y.d};
}
static mat product(int from, int to) { /* M_from x ... x M_(to-1) */
    mat p = {1, 0, 0, 1};
    for (int r = from; r < to; r++) p = mul(p, mat_of(r));
    return p;
}
static int same(mat x, mat y) { return x.a == y.a && x.b == y.b && x.c == y.c && x.d == y.d; }

static void matmul(void *in, void *inout, int *len, MPI_Datatype *type) {
    if (*type != mat_type) calls_with_wrong_type++;
    mat *x = in, *y = inout;
    for (int i = 0; i < *len; i++) y[i] = mul(x[i], y[i]);
}

static void intsum(void *in, void *inout, int *len, MPI_Datatype *type) {
    (void)type;
    for (int i = 0; i < *len; i++) ((int *)inout)[i] += ((int *)in)[i];
}

static void test_user_ops(MPI_Comm comm) {
    MPI_Op nc, comm_op;
    int flag = -1;
    OK(MPI_Op_create(matmul, 0, &nc));
    OK(MPI_Op_create(intsum, 1, &comm_op));
    OK(MPI_Op_commutative(nc, &flag));
    CHECK(flag == 0);
    OK(MPI_Op_commutative(comm_op, &flag));
    CHECK(flag == 1);
    OK(MPI_Op_commutative(MPI_SUM, &flag));
    CHECK(flag == 1);

    /* Three matrices per rank (the same one), so each call multiplies whole vectors. */
    mat in[3], out[3];
    for (int k = 0; k < 3; k++) in[k] = mat_of(me);
    OK(MPI_Allreduce(in, out, 3, mat_type, nc, comm));
    for (int k = 0; k < 3; k++) CHECK(same(out[k], product(0, n)));
    for (int root = 0; root < n; root++) {
        memset(out, 0, sizeof out);
        OK(MPI_Reduce(in, out, 3, mat_type, nc, root, comm));
        if (me == root)
            for (int k = 0; k < 3; k++) CHECK(same(out[k], product(0, n)));
    }
    OK(MPI_Scan(in, out, 3, mat_type, nc, comm));
    for (int k = 0; k < 3; k++) CHECK(same(out[k], product(0, me + 1)));
    OK(MPI_Exscan(in, out, 3, mat_type, nc, comm));
    if (me > 0)
        for (int k = 0; k < 3; k++) CHECK(same(out[k], product(0, me)));
    mat *many = malloc(sizeof(mat) * (size_t)n), one;
    CHECK(many != NULL);
    for (int r = 0; r < n; r++) many[r] = mat_of(me);
    OK(MPI_Reduce_scatter_block(many, &one, 1, mat_type, nc, comm));
    CHECK(same(one, product(0, n)));
    free(many);
    mat local = mat_of(5);
    OK(MPI_Reduce_local(&in[0], &local, 1, mat_type, nc));
    CHECK(same(local, mul(mat_of(me), mat_of(5))));
    CHECK(calls_with_wrong_type == 0);

    /* A commutative user operation on a predefined type. */
    int v[5], w[5];
    for (int j = 0; j < 5; j++) v[j] = ival(me, j);
    OK(MPI_Allreduce(v, w, 5, MPI_INT, comm_op, comm));
    for (int j = 0; j < 5; j++) CHECK(w[j] == isum(n, j));

    OK(MPI_Op_free(&nc));
    OK(MPI_Op_free(&comm_op));
    CHECK(nc == MPI_OP_NULL && comm_op == MPI_OP_NULL);
}

/* Predefined operations on a contiguous derived type apply to each basic element. */
static void test_derived(MPI_Comm comm) {
    MPI_Datatype triple;
    OK(MPI_Type_contiguous(3, MPI_DOUBLE, &triple));
    OK(MPI_Type_commit(&triple));
    double in[6], out[6];
    for (int j = 0; j < 6; j++) in[j] = ival(me, j) * 0.25;
    OK(MPI_Allreduce(in, out, 2, triple, MPI_SUM, comm));
    for (int j = 0; j < 6; j++) CHECK(out[j] == isum(n, j) * 0.25);
    OK(MPI_Type_free(&triple));
}

static void run_all(MPI_Comm comm) {
    OK(MPI_Comm_rank(comm, &me));
    OK(MPI_Comm_size(comm, &n));
    for (int count = 0; count <= 9; count += 3) test_sums(comm, count); /* 3 < n for 7 ranks: empty blocks */
    test_sums(comm, 1);
    test_user_ops(comm);
    test_derived(comm);
}

static void test_errors(void) {
    int v[2] = {1, 2}, w[2], len;
    char msg[MPI_MAX_ERROR_STRING];
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    int code = MPI_Reduce(v, w, 2, MPI_INT, MPI_SUM, n + 2, MPI_COMM_WORLD);
    CHECK(code == MPI_ERR_ROOT);
    OK(MPI_Error_string(code, msg, &len));
    char want[80];
    snprintf(want, sizeof want, "root %d is out of range for a communicator of %d ranks", n + 2, n);
    CHECK(strstr(msg, want) != NULL);
    CHECK(MPI_Allreduce(v, w, -1, MPI_INT, MPI_SUM, MPI_COMM_WORLD) == MPI_ERR_COUNT);
    CHECK(MPI_Allreduce(NULL, w, 2, MPI_INT, MPI_SUM, MPI_COMM_WORLD) == MPI_ERR_BUFFER);
    MPI_Op sum = MPI_SUM;
    CHECK(MPI_Op_free(&sum) == MPI_ERR_OP);
    /* A derived type inherits its basic type's operations. */
    MPI_Datatype bools;
    bool b[4] = {true, false, true, true}, c[4];
    OK(MPI_Type_contiguous(2, MPI_C_BOOL, &bools));
    OK(MPI_Type_commit(&bools));
    code = MPI_Allreduce(b, c, 2, bools, MPI_SUM, MPI_COMM_WORLD);
    CHECK(code == MPI_ERR_OP);
    OK(MPI_Error_string(code, msg, &len));
    CHECK(strstr(msg, "MPI_SUM") != NULL && strstr(msg, "MPI_C_BOOL") != NULL);
    OK(MPI_Allreduce(b, c, 2, bools, MPI_LOR, MPI_COMM_WORLD));
    OK(MPI_Type_free(&bools));
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
}

int main(int argc, char **argv) {
    int size;
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    CHECK(size <= 64);
    OK(MPI_Type_contiguous(4, MPI_INT, &mat_type));
    OK(MPI_Type_commit(&mat_type));

    run_all(MPI_COMM_WORLD);
    test_large(MPI_COMM_WORLD);
    MPI_Comm dup, split;
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &dup));
    run_all(dup);
    /* Two halves with ranks in reverse order: the rank order of a non-commutative reduction is the communicator's. */
    OK(MPI_Comm_split(MPI_COMM_WORLD, rank % 2, -rank, &split));
    run_all(split);
    test_large(split);
    OK(MPI_Comm_free(&split));
    OK(MPI_Comm_free(&dup));

    OK(MPI_Comm_rank(MPI_COMM_WORLD, &me));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &n));
    test_errors();
    OK(MPI_Type_free(&mat_type));
    OK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0) printf("PASS coll_reduce\n");
    OK(MPI_Finalize());
    return 0;
}
