/* datatype_f90.c: datatypes chosen by properties (MPI_Type_create_f90_integer/_real/_complex,
   MPI_Type_get_value_index), renaming predefined types, and MPI_Type_get_contents_c reporting a
   count beyond int as a large count. */
#include "check.h"

static void check_f90(MPI_Datatype t, int size, int combiner, int ni, int i0, int i1) {
    int s, n_i, n_a, n_d, comb;
    OK(MPI_Type_size(t, &s));
    CHECK(s == size);
    OK(MPI_Type_get_envelope(t, &n_i, &n_a, &n_d, &comb));
    CHECK(comb == combiner && n_i == ni && n_a == 0 && n_d == 0);
    int ints[2] = {-1, -1};
    OK(MPI_Type_get_contents(t, 2, 0, 0, ints, NULL, NULL));
    CHECK(ints[0] == i0);
    if (ni > 1) CHECK(ints[1] == i1);
}

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    OK(MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN));

    /* The smallest kind meeting precision and range. */
    MPI_Datatype t, again;
    const int ranges[][2] = {{1, 1}, {2, 1}, {3, 2}, {4, 2}, {5, 4}, {9, 4}, {10, 8}, {18, 8}};
    for (int k = 0; k < 8; k++) {
        OK(MPI_Type_create_f90_integer(ranges[k][0], &t));
        check_f90(t, ranges[k][1], MPI_COMBINER_F90_INTEGER, 1, ranges[k][0], 0);
    }
    OK(MPI_Type_create_f90_real(6, 30, &t));
    check_f90(t, 4, MPI_COMBINER_F90_REAL, 2, 6, 30);
    OK(MPI_Type_create_f90_real(6, 30, &again));
    CHECK(again == t); /* the same request gives the same handle */
    OK(MPI_Type_create_f90_real(7, MPI_UNDEFINED, &t));
    check_f90(t, 8, MPI_COMBINER_F90_REAL, 2, 7, MPI_UNDEFINED);
    OK(MPI_Type_create_f90_real(MPI_UNDEFINED, 300, &t));
    check_f90(t, 8, MPI_COMBINER_F90_REAL, 2, MPI_UNDEFINED, 300);
    OK(MPI_Type_create_f90_complex(15, 300, &t));
    check_f90(t, 16, MPI_COMBINER_F90_COMPLEX, 2, 15, 300);
    OK(MPI_Type_create_f90_complex(6, MPI_UNDEFINED, &t));
    check_f90(t, 8, MPI_COMBINER_F90_COMPLEX, 2, 6, MPI_UNDEFINED);
    /* Usable in communication as its predefined kind. */
    double out[2] = {1.5, -2.25}, in[2] = {0, 0};
    OK(MPI_Type_create_f90_real(15, MPI_UNDEFINED, &t));
    OK(MPI_Sendrecv(out, 2, t, 0, 1, in, 2, t, 0, 1, MPI_COMM_SELF, MPI_STATUS_IGNORE));
    CHECK(in[0] == 1.5 && in[1] == -2.25);
    OK(MPI_Allreduce(out, in, 2, t, MPI_SUM, MPI_COMM_SELF));
    CHECK(in[0] == 1.5 && in[1] == -2.25);
    CHECK(MPI_Type_free(&t) == MPI_ERR_TYPE); /* predefined: not freeable */
    /* Unsatisfiable or malformed requests. */
    CHECK(MPI_Type_create_f90_real(MPI_UNDEFINED, MPI_UNDEFINED, &t) == MPI_ERR_ARG);
    CHECK(MPI_Type_create_f90_real(6, 100000, &t) == MPI_ERR_ARG);
    CHECK(MPI_Type_create_f90_real(-2, 30, &t) == MPI_ERR_ARG);
    CHECK(MPI_Type_create_f90_integer(100, &t) == MPI_ERR_ARG);
    CHECK(MPI_Type_create_f90_integer(MPI_UNDEFINED, &t) == MPI_ERR_ARG);

    /* Pair types for MINLOC/MAXLOC. */
    MPI_Datatype pair;
    OK(MPI_Type_get_value_index(MPI_DOUBLE, MPI_INT, &pair));
    CHECK(pair == MPI_DOUBLE_INT);
    OK(MPI_Type_get_value_index(MPI_INT, MPI_INT, &pair));
    CHECK(pair == MPI_2INT);
    OK(MPI_Type_get_value_index(MPI_SHORT, MPI_INT, &pair));
    CHECK(pair == MPI_SHORT_INT);
    OK(MPI_Type_get_value_index(MPI_DOUBLE, MPI_FLOAT, &pair));
    CHECK(pair == MPI_DATATYPE_NULL);
    CHECK(MPI_Type_get_value_index(MPI_DATATYPE_NULL, MPI_INT, &pair) == MPI_ERR_TYPE);
    CHECK(MPI_Type_get_value_index(MPI_INT, MPI_DATATYPE_NULL, &pair) == MPI_ERR_TYPE);

    /* Renaming a predefined type. */
    char name[MPI_MAX_OBJECT_NAME];
    int len;
    OK(MPI_Type_get_name(MPI_INT, name, &len));
    CHECK(strcmp(name, "MPI_INT") == 0);
    OK(MPI_Type_set_name(MPI_INT, "my int"));
    OK(MPI_Type_get_name(MPI_INT, name, &len));
    CHECK(strcmp(name, "my int") == 0 && len == 6);
    OK(MPI_Type_set_name(MPI_INT, "MPI_INT"));

    /* A count beyond int: MPI_Type_get_contents_c reports it as a large count. */
    MPI_Count big = (MPI_Count)INT32_MAX + 1000, ni, na, nc, nd;
    int comb;
    OK(MPI_Type_contiguous_c(big, MPI_BYTE, &t));
    OK(MPI_Type_get_envelope_c(t, &ni, &na, &nc, &nd, &comb));
    CHECK(comb == MPI_COMBINER_CONTIGUOUS && ni == 0 && na == 0 && nc == 1 && nd == 1);
    MPI_Count counts[1] = {0};
    MPI_Datatype base;
    OK(MPI_Type_get_contents_c(t, 0, 0, 1, 1, NULL, NULL, counts, &base));
    CHECK(counts[0] == big && base == MPI_BYTE);
    CHECK(MPI_Type_get_contents(t, 1, 0, 1, (int[1]){0}, NULL, &base) == MPI_ERR_COUNT);
    OK(MPI_Type_free(&t));
    /* Small counts stay integers. */
    OK(MPI_Type_vector(3, 2, 5, MPI_INT, &t));
    OK(MPI_Type_get_envelope_c(t, &ni, &na, &nc, &nd, &comb));
    CHECK(comb == MPI_COMBINER_VECTOR && ni == 3 && nc == 0);
    OK(MPI_Type_free(&t));

    if (rank == 0) printf("PASS datatype_f90\n");
    OK(MPI_Finalize());
    return 0;
}
