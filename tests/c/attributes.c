/* attributes.c: keyvals and attribute caching on communicators and datatypes: set/get, copy at
   MPI_Comm_dup (MPI_COMM_DUP_FN, MPI_COMM_NULL_COPY_FN, a user copy function, one that fails),
   delete callbacks exactly once at overwrite/delete/free, deferred keyval free, the deprecated
   MPI-1 calls, and MPI_COMM_SELF's attributes deleted first at MPI_Finalize in reverse order. */
#include "check.h"

static int deletes[64];   /* value deleted, in order */
static int ndeletes;
static int copies;

static int record_delete(MPI_Comm comm, int keyval, void *value, void *extra) {
    (void)comm;
    (void)keyval;
    CHECK(extra == (void *)&deletes);
    CHECK(ndeletes < 64);
    deletes[ndeletes++] = *(int *)value;
    return MPI_SUCCESS;
}

/* Copies to a value one larger (values are pointers into this array). */
static int values[16];

static int copy_plus_one(MPI_Comm comm, int keyval, void *extra, void *in, void *out, int *flag) {
    (void)comm;
    (void)keyval;
    (void)extra;
    int *v = (int *)in;
    CHECK(v >= values && v < values + 15);
    *(void **)out = v + 1;
    *flag = 1;
    copies++;
    return MPI_SUCCESS;
}

static int copy_fails(MPI_Comm comm, int keyval, void *extra, void *in, void *out, int *flag) {
    (void)comm; (void)keyval; (void)extra; (void)in; (void)out;
    *flag = 0;
    return MPI_ERR_OTHER;
}

static int refusal_code;
static int refuse_delete(MPI_Comm comm, int keyval, void *value, void *extra) {
    (void)comm; (void)keyval; (void)value; (void)extra;
    return refusal_code;
}

static int type_deletes;
static int type_delete(MPI_Datatype t, int keyval, void *value, void *extra) {
    (void)t; (void)keyval; (void)extra;
    CHECK(value == &values[7]);
    type_deletes++;
    return MPI_SUCCESS;
}

/* At MPI_Finalize: SELF's callbacks run while MPI still works, last set first. */
static int self_order[2], nself;
static int self_delete(MPI_Comm comm, int keyval, void *value, void *extra) {
    (void)keyval; (void)extra;
    int finalized = 1, r = -1;
    CHECK(comm == MPI_COMM_SELF);
    OK(MPI_Finalized(&finalized));
    CHECK(!finalized);
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &r));
    CHECK(r == rank);
    self_order[nself++] = *(int *)value;
    return MPI_SUCCESS;
}

static void *get(MPI_Comm comm, int key, int *flag) {
    void *v = NULL;
    OK(MPI_Comm_get_attr(comm, key, &v, flag));
    return v;
}

int main(int argc, char **argv) {
    int size, flag;
    for (int i = 0; i < 16; i++) values[i] = 100 + i;
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));

    /* Predefined attributes. */
    int *p = get(MPI_COMM_WORLD, MPI_TAG_UB, &flag);
    CHECK(flag && *p >= 32767);
    p = get(MPI_COMM_WORLD, MPI_UNIVERSE_SIZE, &flag);
    CHECK(flag && *p == size);
    p = get(MPI_COMM_WORLD, MPI_APPNUM, &flag);
    CHECK(flag && *p == 0);
    p = get(MPI_COMM_WORLD, MPI_WTIME_IS_GLOBAL, &flag);
    CHECK(flag && *p == 0);
    CHECK(MPI_Comm_set_attr(MPI_COMM_WORLD, MPI_TAG_UB, &values[0]) == MPI_ERR_KEYVAL);

    int kdup, knull, kuser, kfail;
    OK(MPI_Comm_create_keyval(MPI_COMM_DUP_FN, record_delete, &kdup, &deletes));
    OK(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, record_delete, &knull, &deletes));
    OK(MPI_Comm_create_keyval(copy_plus_one, record_delete, &kuser, &deletes));
    OK(MPI_Comm_create_keyval(copy_fails, MPI_COMM_NULL_DELETE_FN, &kfail, NULL));
    CHECK(kdup != knull && knull != kuser && kdup != MPI_KEYVAL_INVALID);

    MPI_Comm c;
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &c));
    get(c, kdup, &flag);
    CHECK(!flag);
    OK(MPI_Comm_set_attr(c, kdup, &values[0]));
    OK(MPI_Comm_set_attr(c, knull, &values[1]));
    OK(MPI_Comm_set_attr(c, kuser, &values[2]));
    CHECK(get(c, kdup, &flag) == &values[0] && flag);
    CHECK(ndeletes == 0);

    /* Overwrite: the old value's delete callback runs once. */
    OK(MPI_Comm_set_attr(c, kdup, &values[3]));
    CHECK(ndeletes == 1 && deletes[0] == 100);
    CHECK(get(c, kdup, &flag) == &values[3]);

    /* Dup: DUP_FN copies, NULL_COPY does not, the user function decides. */
    MPI_Comm d;
    OK(MPI_Comm_dup(c, &d));
    CHECK(copies == 1);
    CHECK(get(d, kdup, &flag) == &values[3] && flag);
    get(d, knull, &flag);
    CHECK(!flag);
    CHECK(get(d, kuser, &flag) == &values[3] && flag);
    CHECK(get(c, kuser, &flag) == &values[2] && flag);

    /* Delete: callback once, then the attribute is gone; deleting again does nothing. */
    OK(MPI_Comm_delete_attr(c, knull));
    CHECK(ndeletes == 2 && deletes[1] == 101);
    get(c, knull, &flag);
    CHECK(!flag);
    OK(MPI_Comm_delete_attr(c, knull));
    CHECK(ndeletes == 2);

    /* Free: remaining attributes deleted, last set first (c: kuser then kdup). */
    OK(MPI_Comm_free(&c));
    CHECK(ndeletes == 4 && deletes[2] == 102 && deletes[3] == 103);

    /* A failing copy callback fails the dup with its code and leaves no communicator. */
    OK(MPI_Comm_set_attr(d, kfail, &values[4]));
    MPI_Comm e = MPI_COMM_NULL;
    CHECK(MPI_Comm_dup(d, &e) == MPI_ERR_OTHER);
    CHECK(e == MPI_COMM_NULL);
    CHECK(ndeletes == 4 + 2);   /* the copies made before the failure were deleted again */
    OK(MPI_Comm_delete_attr(d, kfail));

    /* Freeing a keyval in use: the attribute stays and its callback still runs at free. */
    int kdup_copy = kdup;
    OK(MPI_Comm_free_keyval(&kdup));
    CHECK(kdup == MPI_KEYVAL_INVALID);
    CHECK(MPI_Comm_set_attr(d, kdup_copy, &values[5]) == MPI_ERR_KEYVAL);
    int before = ndeletes;
    OK(MPI_Comm_free(&d));
    CHECK(ndeletes == before + 2);   /* kuser's 103 and kdup's 103 */
    CHECK(MPI_Comm_free_keyval(&kdup_copy) == MPI_ERR_KEYVAL);
    OK(MPI_Comm_free_keyval(&knull));
    OK(MPI_Comm_free_keyval(&kuser));
    OK(MPI_Comm_free_keyval(&kfail));
    CHECK(MPI_Comm_get_attr(MPI_COMM_WORLD, 999999, &p, &flag) == MPI_ERR_KEYVAL);

    /* A delete callback's own error code (here a user-defined one) fails the call with it. */
    int kref, ucls;
    OK(MPI_Add_error_class(&ucls));
    OK(MPI_Add_error_code(ucls, &refusal_code));
    OK(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, refuse_delete, &kref, NULL));
    OK(MPI_Comm_set_attr(MPI_COMM_WORLD, kref, &values[6]));
    CHECK(MPI_Comm_delete_attr(MPI_COMM_WORLD, kref) == refusal_code);
    CHECK(get(MPI_COMM_WORLD, kref, &flag) == &values[6] && flag);   /* still there */
    refusal_code = MPI_SUCCESS;
    OK(MPI_Comm_delete_attr(MPI_COMM_WORLD, kref));
    OK(MPI_Comm_free_keyval(&kref));

    /* Datatypes: attributes on a derived and a predefined type; delete at MPI_Type_free. */
    int ktype;
    OK(MPI_Type_create_keyval(MPI_TYPE_DUP_FN, type_delete, &ktype, NULL));
    CHECK(MPI_Comm_set_attr(MPI_COMM_WORLD, ktype, &values[7]) == MPI_ERR_KEYVAL);
    MPI_Datatype t;
    OK(MPI_Type_contiguous(4, MPI_INT, &t));
    OK(MPI_Type_commit(&t));
    OK(MPI_Type_set_attr(t, ktype, &values[7]));
    void *tv = NULL;
    OK(MPI_Type_get_attr(t, ktype, &tv, &flag));
    CHECK(flag && tv == &values[7]);
    OK(MPI_Type_set_attr(MPI_DOUBLE, ktype, &values[7]));
    OK(MPI_Type_get_attr(MPI_INT, ktype, &tv, &flag));
    CHECK(!flag);
    OK(MPI_Type_delete_attr(MPI_DOUBLE, ktype));
    CHECK(type_deletes == 1);
    OK(MPI_Type_free(&t));
    CHECK(type_deletes == 2);
    OK(MPI_Type_free_keyval(&ktype));

    /* Window keyvals exist even without windows. */
    int kwin;
    OK(MPI_Win_create_keyval(MPI_WIN_DUP_FN, MPI_WIN_NULL_DELETE_FN, &kwin, NULL));
    OK(MPI_Win_free_keyval(&kwin));
    CHECK(kwin == MPI_KEYVAL_INVALID);

    /* The MPI-1 names. */
    int kold;
    OK(MPI_Keyval_create(MPI_DUP_FN, MPI_NULL_DELETE_FN, &kold, NULL));
    OK(MPI_Attr_put(MPI_COMM_WORLD, kold, &values[8]));
    void *ov = NULL;
    OK(MPI_Attr_get(MPI_COMM_WORLD, kold, &ov, &flag));
    CHECK(flag && ov == &values[8]);
    OK(MPI_Attr_delete(MPI_COMM_WORLD, kold));
    OK(MPI_Attr_get(MPI_COMM_WORLD, kold, &ov, &flag));
    CHECK(!flag);
    OK(MPI_Keyval_free(&kold));

    /* MPI_COMM_SELF attributes: deleted at MPI_Finalize, the last set first. */
    int kself;
    OK(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, self_delete, &kself, NULL));
    int kself2;
    OK(MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, self_delete, &kself2, NULL));
    OK(MPI_Comm_set_attr(MPI_COMM_SELF, kself, &values[10]));
    OK(MPI_Comm_set_attr(MPI_COMM_SELF, kself2, &values[11]));
    OK(MPI_Comm_free_keyval(&kself));   /* still runs at finalize: the attribute holds it */
    OK(MPI_Barrier(MPI_COMM_WORLD));
    OK(MPI_Finalize());
    CHECK(nself == 2 && self_order[0] == 111 && self_order[1] == 110);
    printf("PASS attributes\n");
    return 0;
}
