/* coll_ops.c: every predefined reduction operation on every C type. Where MPI defines the pair, MPI_Allreduce,
   MPI_Reduce, MPI_Scan and MPI_Exscan must give exactly the result computed here from every rank's known inputs;
   elsewhere the call must fail with MPI_ERR_OP. Inputs are small integers (halves for floating point), so every
   float result is exact whatever the order of combination. */
#include <stdbool.h>
#include <wchar.h>
#include "check.h"

#define COUNT 8
#define MAXSIZE 32

enum group { CINT, FINT, REAL, CPLX, LOGIC, BYTE, PAIR, NONE };
enum kind { SINT, UINT, FLT, DBL, CFLT, CDBL, BOOL_, BYTE_, PAIR_ };

struct type {
    MPI_Datatype t;
    const char *name;
    enum group group;
    enum kind kind;
    int size;      /* bytes per element (the extent) */
    int val_kind;  /* pairs: the value's kind and size, and the index's offset */
    int val_size;
    int idx_off;
};

typedef struct { float v; int i; } float_int;
typedef struct { double v; int i; } double_int;
typedef struct { long v; int i; } long_int;
typedef struct { int v; int i; } int_int;
typedef struct { short v; int i; } short_int;

#define T(t, g, k, s) {t, #t, g, k, s, 0, 0, 0}
#define P(t, s, vk, vs, off) {t, #t, PAIR, PAIR_, s, vk, vs, off}
static const struct type types[] = {
    T(MPI_CHAR, NONE, SINT, 1),
    T(MPI_WCHAR, NONE, SINT, sizeof(wchar_t)),
    T(MPI_SIGNED_CHAR, CINT, SINT, 1),
    T(MPI_UNSIGNED_CHAR, CINT, UINT, 1),
    T(MPI_SHORT, CINT, SINT, sizeof(short)),
    T(MPI_UNSIGNED_SHORT, CINT, UINT, sizeof(short)),
    T(MPI_INT, CINT, SINT, sizeof(int)),
    T(MPI_UNSIGNED, CINT, UINT, sizeof(int)),
    T(MPI_LONG, CINT, SINT, sizeof(long)),
    T(MPI_UNSIGNED_LONG, CINT, UINT, sizeof(long)),
    T(MPI_LONG_LONG, CINT, SINT, sizeof(long long)),
    T(MPI_UNSIGNED_LONG_LONG, CINT, UINT, sizeof(long long)),
    T(MPI_INT8_T, CINT, SINT, 1),
    T(MPI_UINT8_T, CINT, UINT, 1),
    T(MPI_INT16_T, CINT, SINT, 2),
    T(MPI_UINT16_T, CINT, UINT, 2),
    T(MPI_INT32_T, CINT, SINT, 4),
    T(MPI_UINT32_T, CINT, UINT, 4),
    T(MPI_INT64_T, CINT, SINT, 8),
    T(MPI_UINT64_T, CINT, UINT, 8),
    T(MPI_AINT, FINT, SINT, sizeof(MPI_Aint)),
    T(MPI_OFFSET, FINT, SINT, sizeof(MPI_Offset)),
    T(MPI_COUNT, FINT, SINT, sizeof(MPI_Count)),
    T(MPI_FLOAT, REAL, FLT, sizeof(float)),
    T(MPI_DOUBLE, REAL, DBL, sizeof(double)),
    T(MPI_C_FLOAT_COMPLEX, CPLX, CFLT, 2 * sizeof(float)),
    T(MPI_C_DOUBLE_COMPLEX, CPLX, CDBL, 2 * sizeof(double)),
    T(MPI_C_BOOL, LOGIC, BOOL_, sizeof(bool)),
    T(MPI_BYTE, BYTE, BYTE_, 1),
    /* Long double arithmetic is not available: every operation is refused. */
    T(MPI_LONG_DOUBLE, NONE, DBL, sizeof(long double)),
    T(MPI_C_LONG_DOUBLE_COMPLEX, NONE, DBL, 2 * sizeof(long double)),
    P(MPI_FLOAT_INT, sizeof(float_int), FLT, sizeof(float), offsetof(float_int, i)),
    P(MPI_DOUBLE_INT, sizeof(double_int), DBL, sizeof(double), offsetof(double_int, i)),
    P(MPI_LONG_INT, sizeof(long_int), SINT, sizeof(long), offsetof(long_int, i)),
    P(MPI_2INT, sizeof(int_int), SINT, sizeof(int), offsetof(int_int, i)),
    P(MPI_SHORT_INT, sizeof(short_int), SINT, sizeof(short), offsetof(short_int, i)),
    T(MPI_LONG_DOUBLE_INT, NONE, DBL, 32),
};
#define NTYPES ((int)(sizeof types / sizeof types[0]))

enum opcode { MAX, MIN, SUM, PROD, LAND, LOR, LXOR, BAND, BOR, BXOR, MINLOC, MAXLOC, NOPS };
static const MPI_Op ops[NOPS] = {MPI_MAX, MPI_MIN,  MPI_SUM, MPI_PROD, MPI_LAND,   MPI_LOR,
                                 MPI_LXOR, MPI_BAND, MPI_BOR, MPI_BXOR, MPI_MINLOC, MPI_MAXLOC};
static const char *const op_names[NOPS] = {"MPI_MAX",  "MPI_MIN",  "MPI_SUM", "MPI_PROD", "MPI_LAND",   "MPI_LOR",
                                           "MPI_LXOR", "MPI_BAND", "MPI_BOR", "MPI_BXOR", "MPI_MINLOC", "MPI_MAXLOC"};

/* The MPI standard's table of which operation takes which group of types. */
static int applies(int op, enum group g) {
    switch (op) {
    case MAX: case MIN: return g == CINT || g == FINT || g == REAL;
    case SUM: case PROD: return g == CINT || g == FINT || g == REAL || g == CPLX;
    case LAND: case LOR: case LXOR: return g == CINT || g == LOGIC;
    case BAND: case BOR: case BXOR: return g == CINT || g == FINT || g == BYTE;
    default: return g == PAIR;
    }
}

static int size;

/* Inputs of rank r, element j: small integers (including zero and negatives, which wrap to large
   unsigned values), halves for floating point. */
static int64_t ival(int r, int j) { return (r * 5 + j * 3) % 7 - 3; }
static double rval(int r, int j) { return (double)ival(r, j) * 0.5; }
static double imval(int r, int j) { return (double)((r * 3 + j * 5) % 5 - 2) * 0.5; }
/* Pairs: ranks 2k and 2k+1 tie on value, and higher ranks have smaller indices, so ties test the tie-break. */
static int64_t pval(int r, int j) { return (r / 2 + j) % 3 - 1; }
static int pidx(int r, int j) { return (7 - r) * 10 + j; }

static int64_t load_int(const unsigned char *p, int sz, int is_signed) {
    uint64_t u = 0;
    memcpy(&u, p, (size_t)sz);
    if (is_signed && sz < 8) {
        uint64_t sign = 1ull << (8 * sz - 1);
        u = (u ^ sign) - sign;
    }
    return (int64_t)u;
}

static void store_int(unsigned char *p, int sz, int64_t v) { memcpy(p, &v, (size_t)sz); }

static double load_real(const unsigned char *p, int kind) {
    if (kind == FLT) { float f; memcpy(&f, p, sizeof f); return f; }
    double d; memcpy(&d, p, sizeof d); return d;
}

static void store_real(unsigned char *p, int kind, double v) {
    if (kind == FLT) { float f = (float)v; memcpy(p, &f, sizeof f); }
    else memcpy(p, &v, sizeof v);
}

/* Element j of rank r's input, written at p. */
static void input(const struct type *t, int r, int j, unsigned char *p) {
    memset(p, 0, (size_t)t->size);
    switch (t->kind) {
    case SINT: case UINT: store_int(p, t->size, ival(r, j)); break;
    case FLT: case DBL: store_real(p, t->kind, rval(r, j)); break;
    case CFLT: case CDBL: {
        int k = t->kind == CFLT ? FLT : DBL, half = t->size / 2;
        store_real(p, k, rval(r, j));
        store_real(p + half, k, imval(r, j));
        break;
    }
    case BOOL_: { bool b = (r + j) % 3 != 0; memcpy(p, &b, sizeof b); break; }
    case BYTE_: p[0] = (unsigned char)(0x5a ^ (r * 29 + j * 7)); break;
    case PAIR_:
        if (t->val_kind == SINT) store_int(p, t->val_size, pval(r, j));
        else store_real(p, t->val_kind, (double)pval(r, j));
        { int i = pidx(r, j); memcpy(p + t->idx_off, &i, sizeof i); }
        break;
    }
}

static int64_t int_op(int op, int64_t a, int64_t b, int is_signed) {
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    switch (op) {
    case MAX: return (is_signed ? a > b : ua > ub) ? a : b;
    case MIN: return (is_signed ? a < b : ua < ub) ? a : b;
    case SUM: return (int64_t)(ua + ub);
    case PROD: return (int64_t)(ua * ub);
    case LAND: return a && b;
    case LOR: return a || b;
    case LXOR: return !a != !b;
    case BAND: return (int64_t)(ua & ub);
    case BOR: return (int64_t)(ua | ub);
    default: return (int64_t)(ua ^ ub);
    }
}

static double real_op(int op, double a, double b) {
    switch (op) {
    case MAX: return a > b ? a : b;
    case MIN: return a < b ? a : b;
    case SUM: return a + b;
    default: return a * b;
    }
}

/* `acc = acc op x` for element bytes of type t. */
static void combine(int op, const struct type *t, unsigned char *acc, const unsigned char *x) {
    switch (t->kind) {
    case SINT: case UINT: {
        int s = t->kind == SINT;
        int64_t a = load_int(acc, t->size, s), b = load_int(x, t->size, s);
        store_int(acc, t->size, int_op(op, a, b, s));
        break;
    }
    case FLT: case DBL: store_real(acc, t->kind, real_op(op, load_real(acc, t->kind), load_real(x, t->kind))); break;
    case CFLT: case CDBL: {
        int k = t->kind == CFLT ? FLT : DBL, h = t->size / 2;
        double ar = load_real(acc, k), ai = load_real(acc + h, k), br = load_real(x, k), bi = load_real(x + h, k);
        double re = op == SUM ? ar + br : ar * br - ai * bi, im = op == SUM ? ai + bi : ar * bi + ai * br;
        store_real(acc, k, re);
        store_real(acc + h, k, im);
        break;
    }
    case BOOL_: { bool a, b; memcpy(&a, acc, 1); memcpy(&b, x, 1); a = (bool)int_op(op, a, b, 1); memcpy(acc, &a, 1); break; }
    case BYTE_: acc[0] = (unsigned char)int_op(op, acc[0], x[0], 0); break;
    case PAIR_: {
        double a = t->val_kind == SINT ? (double)load_int(acc, t->val_size, 1) : load_real(acc, t->val_kind);
        double b = t->val_kind == SINT ? (double)load_int(x, t->val_size, 1) : load_real(x, t->val_kind);
        int ai, bi;
        memcpy(&ai, acc + t->idx_off, sizeof ai);
        memcpy(&bi, x + t->idx_off, sizeof bi);
        int better = op == MINLOC ? b < a : b > a;
        if (better || (a == b && bi < ai)) {
            memcpy(acc, x, (size_t)t->val_size);
            memcpy(acc + t->idx_off, &bi, sizeof bi);
        }
        break;
    }
    }
}

/* Element j of the combination of ranks 0..upto-1's inputs. */
static void expect(int op, const struct type *t, int upto, int j, unsigned char *out) {
    unsigned char x[MAXSIZE];
    input(t, 0, j, out);
    for (int r = 1; r < upto; r++) {
        input(t, r, j, x);
        combine(op, t, out, x);
    }
}

/* The data bytes of one element: pair types have padding, which carries nothing. */
static int data_bytes(const struct type *t) { return t->kind == PAIR_ ? t->idx_off + (int)sizeof(int) : t->size; }

static void check_result(int op, const struct type *t, int upto, const unsigned char *got) {
    unsigned char want[MAXSIZE];
    for (int j = 0; j < COUNT; j++) {
        expect(op, t, upto, j, want);
        if (t->kind == PAIR_) {
            CHECK(memcmp(got + j * t->size, want, (size_t)t->val_size) == 0);
            CHECK(memcmp(got + j * t->size + t->idx_off, want + t->idx_off, sizeof(int)) == 0);
        } else if (memcmp(got + j * t->size, want, (size_t)data_bytes(t)) != 0) {
            fprintf(stderr, "rank %d: %s on %s over %d ranks: element %d differs\n", rank, op_names[op], t->name,
                    upto, j);
            CHECK(0);
        }
    }
}

static void test_pair(int op, const struct type *t) {
    unsigned char in[COUNT * MAXSIZE], out[COUNT * MAXSIZE];
    for (int j = 0; j < COUNT; j++) input(t, rank, j, in + j * t->size);
    int code = MPI_Allreduce(in, out, COUNT, t->t, ops[op], MPI_COMM_WORLD);
    if (!applies(op, t->group)) {
        CHECK(code == MPI_ERR_OP);
        CHECK(MPI_Reduce(in, out, COUNT, t->t, ops[op], 0, MPI_COMM_WORLD) == MPI_ERR_OP);
        CHECK(MPI_Reduce_local(in, out, COUNT, t->t, ops[op]) == MPI_ERR_OP);
        return;
    }
    OK(code);
    check_result(op, t, size, out);

    int root = size - 1;
    memset(out, 0xee, sizeof out);
    OK(MPI_Reduce(in, out, COUNT, t->t, ops[op], root, MPI_COMM_WORLD));
    if (rank == root) check_result(op, t, size, out);

    OK(MPI_Scan(in, out, COUNT, t->t, ops[op], MPI_COMM_WORLD));
    check_result(op, t, rank + 1, out);
    OK(MPI_Exscan(in, out, COUNT, t->t, ops[op], MPI_COMM_WORLD));
    if (rank > 0) check_result(op, t, rank, out);
}

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    int checked = 0, refused = 0;
    for (int ti = 0; ti < NTYPES; ti++) {
        CHECK(types[ti].size <= MAXSIZE);
        for (int op = 0; op < NOPS; op++) {
            test_pair(op, &types[ti]);
            if (applies(op, types[ti].group)) checked++; else refused++;
        }
    }

    /* The error message names both the operation and the type. */
    bool b[2] = {true, false};
    int code = MPI_Allreduce(MPI_IN_PLACE, b, 2, MPI_C_BOOL, MPI_SUM, MPI_COMM_WORLD), len;
    char msg[MPI_MAX_ERROR_STRING];
    CHECK(code == MPI_ERR_OP);
    OK(MPI_Error_string(code, msg, &len));
    CHECK(strstr(msg, "MPI_SUM") != NULL && strstr(msg, "MPI_C_BOOL") != NULL);
    CHECK(MPI_Allreduce(MPI_IN_PLACE, b, 2, MPI_C_BOOL, MPI_OP_NULL, MPI_COMM_WORLD) == MPI_ERR_OP);
    CHECK(MPI_Allreduce(MPI_IN_PLACE, b, 2, MPI_C_BOOL, MPI_REPLACE, MPI_COMM_WORLD) == MPI_ERR_OP);

    OK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0) printf("coll_ops: %d (op, type) pairs checked, %d refused\n", checked, refused);
    if (rank == 0) printf("PASS coll_ops\n");
    OK(MPI_Finalize());
    return 0;
}
