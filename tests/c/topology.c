/* topology.c: MPI_Dims_create, Cartesian communicators (create, get, rank/coords, shift with a
   neighbour exchange, sub, map, dup) and MPI_Topo_test, checked against values computed here. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include "check.h"

static int rank, size;

static void dims_is(int nnodes, int ndims, const int *start, const int *want) {
    int d[8];
    memcpy(d, start, sizeof(int) * (size_t)ndims);
    OK(MPI_Dims_create(nnodes, ndims, d));
    for (int i = 0; i < ndims; i++) CHECK(d[i] == want[i]);
}

static void test_dims_create(void) {
    dims_is(6, 2, (int[]){0, 0}, (int[]){3, 2});
    dims_is(12, 3, (int[]){0, 0, 0}, (int[]){3, 2, 2});
    dims_is(7, 2, (int[]){0, 0}, (int[]){7, 1});
    dims_is(16, 2, (int[]){0, 0}, (int[]){4, 4});
    dims_is(24, 3, (int[]){0, 0, 0}, (int[]){4, 3, 2});
    dims_is(12, 3, (int[]){0, 3, 0}, (int[]){2, 3, 2});
    dims_is(8, 2, (int[]){2, 0}, (int[]){2, 4});
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    int d[2] = {2, 0}, cls = -1;
    int rc = MPI_Dims_create(7, 2, d);
    OK(MPI_Error_class(rc, &cls));
    CHECK(cls == MPI_ERR_DIMS && d[0] == 2 && d[1] == 0);
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
}

/* World rank of the process at (row, col) of a rows x cols row-major grid, wrapping. */
static int at(int row, int col, int rows, int cols) {
    return ((row + rows) % rows) * cols + (col + cols) % cols;
}

static void test_cart_2d(void) {
    int dims[2] = {0, 0}, periods[2] = {1, 1}, status = -1;
    OK(MPI_Dims_create(size, 2, dims));
    CHECK(dims[0] * dims[1] == size && dims[0] >= dims[1]);
    OK(MPI_Topo_test(MPI_COMM_WORLD, &status));
    CHECK(status == MPI_UNDEFINED);

    MPI_Comm cart;
    OK(MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 1, &cart));
    CHECK(cart != MPI_COMM_NULL);
    OK(MPI_Topo_test(cart, &status));
    CHECK(status == MPI_CART);
    int nd = -1, gd[2], gp[2], gc[2], r, c[2];
    OK(MPI_Cartdim_get(cart, &nd));
    CHECK(nd == 2);
    OK(MPI_Comm_rank(cart, &r));
    CHECK(r == rank);
    OK(MPI_Cart_get(cart, 2, gd, gp, gc));
    CHECK(gd[0] == dims[0] && gd[1] == dims[1] && gp[0] == 1 && gp[1] == 1);
    CHECK(gc[0] == rank / dims[1] && gc[1] == rank % dims[1]);
    for (int q = 0; q < size; q++) {
        int back = -1;
        OK(MPI_Cart_coords(cart, q, 2, c));
        CHECK(c[0] == q / dims[1] && c[1] == q % dims[1]);
        OK(MPI_Cart_rank(cart, c, &back));
        CHECK(back == q);
    }
    /* Periodic: coordinates wrap. */
    int wrapped[2] = {gc[0] - dims[0], gc[1] + 3 * dims[1]}, back = -1;
    OK(MPI_Cart_rank(cart, wrapped, &back));
    CHECK(back == rank);

    /* Shift along each dimension, and exchange with both neighbours of each. */
    for (int dim = 0; dim < 2; dim++) {
        for (int disp = -1; disp <= 2; disp++) {
            int src = -9, dst = -9;
            OK(MPI_Cart_shift(cart, dim, disp, &src, &dst));
            int want_dst = dim == 0 ? at(gc[0] + disp, gc[1], dims[0], dims[1]) : at(gc[0], gc[1] + disp, dims[0], dims[1]);
            int want_src = dim == 0 ? at(gc[0] - disp, gc[1], dims[0], dims[1]) : at(gc[0], gc[1] - disp, dims[0], dims[1]);
            CHECK(src == want_src && dst == want_dst);
            int got = -1, mine = 1000 * dim + rank;
            OK(MPI_Sendrecv(&mine, 1, MPI_INT, dst, 50 + dim, &got, 1, MPI_INT, src, 50 + dim, cart, MPI_STATUS_IGNORE));
            CHECK(got == 1000 * dim + want_src);
        }
    }

    /* Rows: keep dimension 1. Each row holds the ranks of one grid row, in column order. */
    MPI_Comm row;
    int keep[2] = {0, 1}, rr, rn, sum = -1;
    OK(MPI_Cart_sub(cart, keep, &row));
    OK(MPI_Comm_rank(row, &rr));
    OK(MPI_Comm_size(row, &rn));
    CHECK(rr == gc[1] && rn == dims[1]);
    OK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, row));
    int want = 0;
    for (int j = 0; j < dims[1]; j++) want += gc[0] * dims[1] + j;
    CHECK(sum == want);
    OK(MPI_Cartdim_get(row, &nd));
    CHECK(nd == 1);
    OK(MPI_Cart_get(row, 1, gd, gp, c));
    CHECK(gd[0] == dims[1] && gp[0] == 1 && c[0] == gc[1]);
    OK(MPI_Comm_free(&row));
    /* Nothing kept: a zero-dimensional grid of one process. */
    MPI_Comm point;
    int none[2] = {0, 0};
    OK(MPI_Cart_sub(cart, none, &point));
    OK(MPI_Comm_size(point, &rn));
    OK(MPI_Cartdim_get(point, &nd));
    CHECK(rn == 1 && nd == 0);
    OK(MPI_Comm_free(&point));

    /* A duplicate keeps the topology. */
    MPI_Comm dup;
    OK(MPI_Comm_dup(cart, &dup));
    OK(MPI_Topo_test(dup, &status));
    CHECK(status == MPI_CART);
    OK(MPI_Cart_get(dup, 2, gd, gp, c));
    CHECK(gd[0] == dims[0] && c[0] == gc[0] && c[1] == gc[1]);
    OK(MPI_Comm_free(&dup));
    OK(MPI_Comm_free(&cart));
}

static void test_cart_line(void) {
    /* A non-periodic line over all but the last rank: that one gets MPI_COMM_NULL, and the
       ends of the line shift to MPI_PROC_NULL. */
    int n = size > 1 ? size - 1 : 1, periods = 0, newrank = -5;
    OK(MPI_Cart_map(MPI_COMM_WORLD, 1, &n, &periods, &newrank));
    CHECK(newrank == (rank < n ? rank : MPI_UNDEFINED));
    MPI_Comm line;
    OK(MPI_Cart_create(MPI_COMM_WORLD, 1, &n, &periods, 0, &line));
    if (rank >= n) {
        CHECK(line == MPI_COMM_NULL);
        return;
    }
    int src, dst;
    OK(MPI_Cart_shift(line, 0, 1, &src, &dst));
    CHECK(src == (rank == 0 ? MPI_PROC_NULL : rank - 1));
    CHECK(dst == (rank == n - 1 ? MPI_PROC_NULL : rank + 1));
    int got = -1;
    OK(MPI_Sendrecv(&rank, 1, MPI_INT, dst, 60, &got, 1, MPI_INT, src, 60, line, MPI_STATUS_IGNORE));
    CHECK(got == (rank == 0 ? -1 : rank - 1));

    OK(MPI_Comm_set_errhandler(line, MPI_ERRORS_RETURN));
    int outside = n, r = -7, cls = -1;
    int rc = MPI_Cart_rank(line, &outside, &r);
    OK(MPI_Error_class(rc, &cls));
    CHECK(cls == MPI_ERR_ARG && r == -7);
    rc = MPI_Cart_shift(line, 1, 1, &src, &dst);
    CHECK(rc != MPI_SUCCESS);
    OK(MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN));
    rc = MPI_Cartdim_get(MPI_COMM_SELF, &r);
    OK(MPI_Error_class(rc, &cls));
    CHECK(cls == MPI_ERR_TOPOLOGY);
    OK(MPI_Comm_free(&line));
}

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    test_dims_create();
    test_cart_2d();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    test_cart_line();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    OK(MPI_Finalize());
    if (rank == 0) printf("PASS topology\n");
    return 0;
}
