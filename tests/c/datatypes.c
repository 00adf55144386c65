/* datatypes.c: derived datatypes end to end: vector, struct with padding, indexed, subarray, resized and
   MPI_DOUBLE_INT sent around a ring and checked element by element (gaps untouched); counts and elements;
   pack/unpack (native and external32); envelope/contents; names; a Bcast, an Allreduce and an Allgather
   with a vector type; persistent receives; and the MPI_ERR_OP of reducing a mixed struct. */
#include "check.h"
#include <stddef.h>

#define ROWS 4
#define COLS 5

static int n, next, prev;

struct item {
    int a;
    double b;
    char c[3];
};

static MPI_Datatype item_type(void) {
    MPI_Datatype t;
    int lens[3] = {1, 1, 3};
    MPI_Aint displs[3] = {offsetof(struct item, a), offsetof(struct item, b), offsetof(struct item, c)};
    MPI_Datatype types[3] = {MPI_INT, MPI_DOUBLE, MPI_CHAR};
    OK(MPI_Type_create_struct(3, lens, displs, types, &t));
    OK(MPI_Type_commit(&t));
    return t;
}

/* Sends `count` of `st` from sbuf to the next rank, receives `rcount` of `rt` from the previous. */
static void ring(const void *sbuf, int count, MPI_Datatype st, void *rbuf, int rcount, MPI_Datatype rt, MPI_Status *s) {
    OK(MPI_Sendrecv(sbuf, count, st, next, 7, rbuf, rcount, rt, prev, 7, MPI_COMM_WORLD, s));
}

static void test_vector(void) {
    double a[ROWS][COLS], b[ROWS][COLS];
    MPI_Datatype column;
    OK(MPI_Type_vector(ROWS, 1, COLS, MPI_DOUBLE, &column));
    OK(MPI_Type_commit(&column));
    int size;
    MPI_Aint lb, extent, tlb, textent;
    OK(MPI_Type_size(column, &size));
    OK(MPI_Type_get_extent(column, &lb, &extent));
    OK(MPI_Type_get_true_extent(column, &tlb, &textent));
    CHECK(size == ROWS * 8 && lb == 0 && extent == ((ROWS - 1) * COLS + 1) * 8 && tlb == 0 && textent == extent);
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++) a[i][j] = rank * 100 + i * 10 + j, b[i][j] = -1;
    /* Column 1 of a lands in column 3 of b. */
    MPI_Status s;
    ring(&a[0][1], 1, column, &b[0][3], 1, column, &s);
    int count;
    OK(MPI_Get_count(&s, column, &count));
    CHECK(count == 1);
    OK(MPI_Get_count(&s, MPI_BYTE, &count));
    CHECK(count == ROWS * 8);
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++) CHECK(b[i][j] == (j == 3 ? prev * 100 + i * 10 + 1 : -1));
    /* Nonblocking, and a column received as a contiguous array. */
    double flat[ROWS];
    MPI_Request r[2];
    OK(MPI_Irecv(flat, ROWS, MPI_DOUBLE, prev, 8, MPI_COMM_WORLD, &r[0]));
    OK(MPI_Isend(&a[0][4], 1, column, next, 8, MPI_COMM_WORLD, &r[1]));
    OK(MPI_Waitall(2, r, MPI_STATUSES_IGNORE));
    for (int i = 0; i < ROWS; i++) CHECK(flat[i] == prev * 100 + i * 10 + 4);
    /* Persistent receive into a column, twice. */
    MPI_Request pr;
    OK(MPI_Recv_init(&b[0][0], 1, column, prev, 9, MPI_COMM_WORLD, &pr));
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < ROWS; i++) b[i][0] = -1;
        OK(MPI_Start(&pr));
        OK(MPI_Send(&a[0][round], 1, column, next, 9, MPI_COMM_WORLD));
        OK(MPI_Wait(&pr, MPI_STATUS_IGNORE));
        for (int i = 0; i < ROWS; i++) CHECK(b[i][0] == prev * 100 + i * 10 + round);
    }
    OK(MPI_Request_free(&pr));
    OK(MPI_Type_free(&column));
    CHECK(column == MPI_DATATYPE_NULL);
}

static void test_struct(void) {
    MPI_Datatype t = item_type();
    int size;
    MPI_Aint lb, extent;
    OK(MPI_Type_size(t, &size));
    OK(MPI_Type_get_extent(t, &lb, &extent));
    CHECK(size == 4 + 8 + 3 && lb == 0 && extent == sizeof(struct item));
    struct item out[2], in[2];
    memset(in, 0x5a, sizeof in);
    for (int k = 0; k < 2; k++) {
        out[k].a = rank * 10 + k;
        out[k].b = rank + k / 4.0;
        memcpy(out[k].c, k ? "xyz" : "abc", 3);
    }
    MPI_Status s;
    ring(out, 2, t, in, 2, t, &s);
    for (int k = 0; k < 2; k++) {
        CHECK(in[k].a == prev * 10 + k && in[k].b == prev + k / 4.0);
        CHECK(memcmp(in[k].c, k ? "xyz" : "abc", 3) == 0);
    }
    int count;
    OK(MPI_Get_count(&s, MPI_BYTE, &count));
    CHECK(count == 2 * 15); /* data only: no padding on the wire */
    OK(MPI_Get_elements(&s, t, &count));
    CHECK(count == 10);
    OK(MPI_Type_free(&t));
}

static void test_indexed(void) {
    int lens[3] = {2, 1, 3}, displs[3] = {0, 4, 7};
    MPI_Datatype t;
    OK(MPI_Type_indexed(3, lens, displs, MPI_INT, &t));
    OK(MPI_Type_commit(&t));
    int src[10], dst[10], flat[6];
    for (int i = 0; i < 10; i++) src[i] = rank * 100 + i, dst[i] = -1;
    MPI_Status s;
    ring(src, 1, t, dst, 1, t, &s);
    int want[10] = {0, 1, -1, -1, 4, -1, -1, 7, 8, 9};
    for (int i = 0; i < 10; i++) CHECK(dst[i] == (want[i] < 0 ? -1 : prev * 100 + want[i]));
    ring(src, 1, t, flat, 6, MPI_INT, &s);
    int order[6] = {0, 1, 4, 7, 8, 9};
    for (int i = 0; i < 6; i++) CHECK(flat[i] == prev * 100 + order[i]);
    /* Received as the indexed type from 4 ints: a partial item of 4 elements. */
    for (int i = 0; i < 10; i++) dst[i] = -1;
    ring(src, 4, MPI_INT, dst, 1, t, &s);
    int count;
    OK(MPI_Get_count(&s, t, &count));
    CHECK(count == MPI_UNDEFINED);
    OK(MPI_Get_elements(&s, t, &count));
    CHECK(count == 4);
    CHECK(dst[0] == prev * 100 && dst[1] == prev * 100 + 1 && dst[4] == prev * 100 + 2 && dst[7] == prev * 100 + 3);
    CHECK(dst[8] == -1 && dst[2] == -1);
    OK(MPI_Type_free(&t));
}

static void test_subarray(void) {
    int sizes[2] = {4, 6}, subsizes[2] = {2, 3}, starts[2] = {1, 2};
    MPI_Datatype c, f;
    OK(MPI_Type_create_subarray(2, sizes, subsizes, starts, MPI_ORDER_C, MPI_INT, &c));
    int fsizes[2] = {6, 4}, fsub[2] = {3, 2}, fstarts[2] = {2, 1};
    OK(MPI_Type_create_subarray(2, fsizes, fsub, fstarts, MPI_ORDER_FORTRAN, MPI_INT, &f));
    OK(MPI_Type_commit(&c));
    OK(MPI_Type_commit(&f));
    MPI_Aint lb, extent;
    OK(MPI_Type_get_extent(c, &lb, &extent));
    CHECK(lb == 0 && extent == 4 * 6 * 4);
    int a[4][6], flat[6], b[4][6];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 6; j++) a[i][j] = rank * 100 + i * 10 + j, b[i][j] = -1;
    MPI_Status s;
    ring(a, 1, c, flat, 6, MPI_INT, &s);
    for (int k = 0; k < 6; k++) CHECK(flat[k] == prev * 100 + (1 + k / 3) * 10 + 2 + k % 3);
    ring(a, 1, c, b, 1, f, &s); /* the same block, described in Fortran order */
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 6; j++)
            CHECK(b[i][j] == ((i == 1 || i == 2) && j >= 2 && j <= 4 ? prev * 100 + i * 10 + j : -1));
    OK(MPI_Type_free(&c));
    OK(MPI_Type_free(&f));
}

static void test_resized(void) {
    MPI_Datatype every_other;
    OK(MPI_Type_create_resized(MPI_INT, 0, 8, &every_other));
    OK(MPI_Type_commit(&every_other));
    MPI_Aint lb, extent;
    OK(MPI_Type_get_extent(every_other, &lb, &extent));
    CHECK(lb == 0 && extent == 8);
    int src[6], dst[6], flat[3];
    for (int i = 0; i < 6; i++) src[i] = rank * 10 + i, dst[i] = -1;
    MPI_Status s;
    ring(src, 3, every_other, flat, 3, MPI_INT, &s);
    for (int i = 0; i < 3; i++) CHECK(flat[i] == prev * 10 + 2 * i);
    ring(src, 3, MPI_INT, dst, 3, every_other, &s);
    for (int i = 0; i < 6; i++) CHECK(dst[i] == (i % 2 ? -1 : prev * 10 + i / 2));
    MPI_Datatype shifted;
    OK(MPI_Type_create_resized(MPI_INT, -4, 12, &shifted));
    MPI_Aint tlb, textent;
    OK(MPI_Type_get_extent(shifted, &lb, &extent));
    OK(MPI_Type_get_true_extent(shifted, &tlb, &textent));
    CHECK(lb == -4 && extent == 12 && tlb == 0 && textent == 4);
    MPI_Count clb, cextent;
    OK(MPI_Type_get_extent_x(shifted, &clb, &cextent));
    CHECK(clb == -4 && cextent == 12);
    OK(MPI_Type_free(&shifted));
    OK(MPI_Type_free(&every_other));
}

static void test_double_int(void) {
    struct { double v; int i; } out[3], in[3];
    for (int k = 0; k < 3; k++) out[k].v = rank + k * 0.5, out[k].i = rank * 10 + k;
    MPI_Status s;
    ring(out, 3, MPI_DOUBLE_INT, in, 3, MPI_DOUBLE_INT, &s);
    for (int k = 0; k < 3; k++) CHECK(in[k].v == prev + k * 0.5 && in[k].i == prev * 10 + k);
    int count;
    OK(MPI_Get_count(&s, MPI_BYTE, &count));
    CHECK(count == 36);
    OK(MPI_Get_count(&s, MPI_DOUBLE_INT, &count));
    CHECK(count == 3);
    OK(MPI_Get_elements(&s, MPI_DOUBLE_INT, &count));
    CHECK(count == 6);
    OK(MPI_Get_elements(&s, MPI_INT, &count));
    CHECK(count == 9);
    MPI_Count big;
    OK(MPI_Get_elements_x(&s, MPI_DOUBLE_INT, &big));
    CHECK(big == 6);
    /* 20 bytes: one pair and one double. */
    unsigned char raw[20];
    memcpy(raw, &out[0].v, 8);
    memcpy(raw + 8, &out[0].i, 4);
    memcpy(raw + 12, &out[1].v, 8);
    ring(raw, 20, MPI_BYTE, in, 3, MPI_DOUBLE_INT, &s);
    OK(MPI_Get_count(&s, MPI_DOUBLE_INT, &count));
    CHECK(count == MPI_UNDEFINED);
    OK(MPI_Get_elements(&s, MPI_DOUBLE_INT, &count));
    CHECK(count == 3);
    CHECK(in[0].i == prev * 10 && in[1].v == prev + 0.5);
}

static void test_pack(void) {
    double m[ROWS][COLS];
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++) m[i][j] = i * 10 + j;
    MPI_Datatype column, t = item_type();
    OK(MPI_Type_vector(ROWS, 1, COLS, MPI_DOUBLE, &column));
    OK(MPI_Type_commit(&column));
    struct item it = {42, 2.5, {'p', 'q', 'r'}};
    int size, total = 0, position = 0, x = 7;
    OK(MPI_Pack_size(1, MPI_INT, MPI_COMM_WORLD, &size));
    total += size;
    OK(MPI_Pack_size(1, column, MPI_COMM_WORLD, &size));
    CHECK(size == ROWS * 8);
    total += size;
    OK(MPI_Pack_size(1, t, MPI_COMM_WORLD, &size));
    CHECK(size == 15);
    total += size;
    unsigned char buf[256];
    OK(MPI_Pack(&x, 1, MPI_INT, buf, sizeof buf, &position, MPI_COMM_WORLD));
    OK(MPI_Pack(&m[0][2], 1, column, buf, sizeof buf, &position, MPI_COMM_WORLD));
    OK(MPI_Pack(&it, 1, t, buf, sizeof buf, &position, MPI_COMM_WORLD));
    CHECK(position == total);
    double col[ROWS];
    memcpy(col, buf + 4, sizeof col);
    for (int i = 0; i < ROWS; i++) CHECK(col[i] == i * 10 + 2);
    /* Send the packed bytes as MPI_PACKED and unpack them on the other side. */
    unsigned char got[256];
    MPI_Status s;
    ring(buf, position, MPI_PACKED, got, sizeof got, MPI_PACKED, &s);
    int len, y = 0;
    OK(MPI_Get_count(&s, MPI_PACKED, &len));
    CHECK(len == total);
    double back[ROWS][COLS];
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++) back[i][j] = -1;
    struct item it2;
    memset(&it2, 0, sizeof it2);
    position = 0;
    OK(MPI_Unpack(got, len, &position, &y, 1, MPI_INT, MPI_COMM_WORLD));
    OK(MPI_Unpack(got, len, &position, &back[0][4], 1, column, MPI_COMM_WORLD));
    OK(MPI_Unpack(got, len, &position, &it2, 1, t, MPI_COMM_WORLD));
    CHECK(position == total && y == 7 && it2.a == 42 && it2.b == 2.5 && memcmp(it2.c, "pqr", 3) == 0);
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++) CHECK(back[i][j] == (j == 4 ? i * 10 + 2 : -1));
    /* external32 is big-endian. */
    MPI_Aint epos = 0, esize;
    unsigned char ext[8];
    int v = 0x01020304;
    OK(MPI_Pack_external_size("external32", 1, MPI_INT, &esize));
    CHECK(esize == 4);
    OK(MPI_Pack_external("external32", &v, 1, MPI_INT, ext, sizeof ext, &epos));
    CHECK(epos == 4 && ext[0] == 1 && ext[1] == 2 && ext[2] == 3 && ext[3] == 4);
    int w = 0;
    epos = 0;
    OK(MPI_Unpack_external("external32", ext, 4, &epos, &w, 1, MPI_INT));
    CHECK(w == v && epos == 4);
    /* Too small an output buffer is a truncation error. */
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    position = 0;
    int class, rc = MPI_Pack(&m[0][0], 1, column, buf, 8, &position, MPI_COMM_WORLD);
    OK(MPI_Error_class(rc, &class));
    CHECK(class == MPI_ERR_TRUNCATE && position == 0);
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
    OK(MPI_Type_free(&column));
    OK(MPI_Type_free(&t));
}

static void test_envelope(void) {
    MPI_Datatype column, pair, t = item_type(), sub;
    OK(MPI_Type_vector(ROWS, 1, COLS, MPI_DOUBLE, &column));
    int ni, na, nd, combiner;
    OK(MPI_Type_get_envelope(column, &ni, &na, &nd, &combiner));
    CHECK(ni == 3 && na == 0 && nd == 1 && combiner == MPI_COMBINER_VECTOR);
    int ints[8];
    MPI_Aint addrs[8];
    MPI_Datatype types[8];
    OK(MPI_Type_get_contents(column, 8, 8, 8, ints, addrs, types));
    CHECK(ints[0] == ROWS && ints[1] == 1 && ints[2] == COLS && types[0] == MPI_DOUBLE);
    OK(MPI_Type_get_envelope(t, &ni, &na, &nd, &combiner));
    CHECK(ni == 4 && na == 3 && nd == 3 && combiner == MPI_COMBINER_STRUCT);
    OK(MPI_Type_get_contents(t, 8, 8, 8, ints, addrs, types));
    CHECK(ints[0] == 3 && ints[1] == 1 && ints[2] == 1 && ints[3] == 3);
    CHECK(addrs[0] == 0 && addrs[1] == 8 && addrs[2] == 16);
    CHECK(types[0] == MPI_INT && types[1] == MPI_DOUBLE && types[2] == MPI_CHAR);
    OK(MPI_Type_contiguous(2, column, &pair));
    OK(MPI_Type_get_envelope(pair, &ni, &na, &nd, &combiner));
    CHECK(ni == 1 && nd == 1 && combiner == MPI_COMBINER_CONTIGUOUS);
    OK(MPI_Type_get_contents(pair, 8, 8, 8, ints, addrs, types));
    CHECK(ints[0] == 2 && types[0] != column); /* a new handle to an equal type */
    OK(MPI_Type_get_envelope(types[0], &ni, &na, &nd, &combiner));
    CHECK(combiner == MPI_COMBINER_VECTOR);
    OK(MPI_Type_free(&types[0]));
    int sizes[1] = {10}, subsizes[1] = {4}, starts[1] = {3};
    OK(MPI_Type_create_subarray(1, sizes, subsizes, starts, MPI_ORDER_FORTRAN, MPI_INT, &sub));
    OK(MPI_Type_get_contents(sub, 8, 8, 8, ints, addrs, types));
    CHECK(ints[0] == 1 && ints[1] == 10 && ints[2] == 4 && ints[3] == 3 && ints[4] == MPI_ORDER_FORTRAN);
    OK(MPI_Type_get_envelope(MPI_INT, &ni, &na, &nd, &combiner));
    CHECK(combiner == MPI_COMBINER_NAMED && ni == 0 && nd == 0);
    /* Names. */
    char name[MPI_MAX_OBJECT_NAME];
    int len;
    OK(MPI_Type_get_name(MPI_DOUBLE, name, &len));
    CHECK(strcmp(name, "MPI_DOUBLE") == 0 && len == 10);
    OK(MPI_Type_get_name(MPI_DATATYPE_NULL, name, &len));
    CHECK(strcmp(name, "MPI_DATATYPE_NULL") == 0 && len == 17);
    OK(MPI_Type_get_name(column, name, &len));
    CHECK(len == 0 && name[0] == 0);
    OK(MPI_Type_set_name(column, "column"));
    OK(MPI_Type_get_name(column, name, &len));
    CHECK(strcmp(name, "column") == 0 && len == 6);
    MPI_Datatype matched;
    OK(MPI_Type_match_size(MPI_TYPECLASS_REAL, 8, &matched));
    CHECK(matched == MPI_REAL8);
    /* Addresses. */
    struct item it;
    MPI_Aint a0, a1;
    OK(MPI_Get_address(&it.a, &a0));
    OK(MPI_Get_address(&it.b, &a1));
    CHECK(MPI_Aint_diff(a1, a0) == offsetof(struct item, b) && MPI_Aint_add(a0, 8) == a1);
    OK(MPI_Type_free(&sub));
    OK(MPI_Type_free(&pair));
    OK(MPI_Type_free(&column));
    OK(MPI_Type_free(&t));
}

static void test_collectives(void) {
    double m[ROWS][COLS];
    MPI_Datatype column;
    OK(MPI_Type_vector(ROWS, 1, COLS, MPI_DOUBLE, &column));
    OK(MPI_Type_commit(&column));
    for (int root = 0; root < n; root++) {
        for (int i = 0; i < ROWS; i++)
            for (int j = 0; j < COLS; j++) m[i][j] = rank == root ? root * 100 + i * 10 + j : -1;
        OK(MPI_Bcast(&m[0][2], 1, column, root, MPI_COMM_WORLD));
        for (int i = 0; i < ROWS; i++)
            for (int j = 0; j < COLS; j++)
                CHECK(m[i][j] == (rank == root || j == 2 ? root * 100 + i * 10 + j : -1));
    }
    /* Sum of column 1 of every rank's matrix into column 3. */
    double in[ROWS][COLS], out[ROWS][COLS];
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++) in[i][j] = rank + i * 10 + j, out[i][j] = -1;
    OK(MPI_Allreduce(&in[0][1], &out[0][3], 1, column, MPI_SUM, MPI_COMM_WORLD));
    double ranks = n * (n - 1) / 2.0;
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++) CHECK(out[i][j] == (j == 3 ? ranks + n * (i * 10 + 1) : -1));
    /* In place. */
    OK(MPI_Allreduce(MPI_IN_PLACE, &in[0][0], 1, column, MPI_MAX, MPI_COMM_WORLD));
    for (int i = 0; i < ROWS; i++) CHECK(in[i][0] == n - 1 + i * 10 && in[i][1] == rank + i * 10 + 1);
    /* Allgather: each rank's column k of `in` into column (rank % COLS) of a gathered array of matrices. */
    double *all = malloc(sizeof(double) * ROWS * COLS * (size_t)n);
    CHECK(all != NULL);
    for (int k = 0; k < ROWS * COLS * n; k++) all[k] = -1;
    MPI_Datatype whole_column;
    OK(MPI_Type_create_resized(column, 0, sizeof(double) * ROWS * COLS, &whole_column));
    OK(MPI_Type_commit(&whole_column));
    OK(MPI_Allgather(&in[0][2], 1, column, all, 1, whole_column, MPI_COMM_WORLD));
    for (int r = 0; r < n; r++)
        for (int i = 0; i < ROWS; i++)
            for (int j = 0; j < COLS; j++)
                CHECK(all[r * ROWS * COLS + i * COLS + j] == (j == 0 ? r + i * 10 + 2 : -1));
    free(all);
    /* MINLOC on a derived type of a padded pair type. */
    MPI_Datatype pairs;
    OK(MPI_Type_contiguous(2, MPI_DOUBLE_INT, &pairs));
    OK(MPI_Type_commit(&pairs));
    struct { double v; int i; } mine[2], least[2];
    mine[0].v = (rank + 1) % n, mine[0].i = rank;
    mine[1].v = rank, mine[1].i = rank;
    OK(MPI_Allreduce(mine, least, 1, pairs, MPI_MINLOC, MPI_COMM_WORLD));
    CHECK(least[0].v == 0 && least[0].i == n - 1 && least[1].v == 0 && least[1].i == 0);
    OK(MPI_Type_free(&pairs));
    /* Reducing a struct of int, double and char is not defined. */
    MPI_Datatype t = item_type();
    struct item a[1], b[1];
    memset(a, 0, sizeof a);
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    int class, rc = MPI_Allreduce(a, b, 1, t, MPI_SUM, MPI_COMM_WORLD);
    OK(MPI_Error_class(rc, &class));
    CHECK(class == MPI_ERR_OP);
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
    OK(MPI_Type_free(&t));
    OK(MPI_Type_free(&whole_column));
    OK(MPI_Type_free(&column));
}

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &n));
    next = (rank + 1) % n;
    prev = (rank + n - 1) % n;
    test_vector();
    test_struct();
    test_indexed();
    test_subarray();
    test_resized();
    test_double_int();
    test_pack();
    test_envelope();
    test_collectives();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0) printf("PASS datatypes\n");
    OK(MPI_Finalize());
    return 0;
}
