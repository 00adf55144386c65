/* topology.c: MPI_Dims_create, Cartesian communicators (create, get, rank/coords, shift with a
   neighbour exchange, sub, map, dup), graph and distributed-graph topologies and MPI_Topo_test,
   checked against values computed here. */
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

    /* Neighbour collectives: per dimension the -1 then the +1 neighbour; what a rank sends to
       its +1 side arrives in that rank's -1 slot (also when both sides are the same rank). */
    int all[4] = {-1, -1, -1, -1}, blocks[4], got4[4];
    OK(MPI_Neighbor_allgather(&rank, 1, MPI_INT, all, 1, MPI_INT, cart));
    for (int k = 0; k < 4; k++) blocks[k] = 100 * rank + k;
    OK(MPI_Neighbor_alltoall(blocks, 1, MPI_INT, got4, 1, MPI_INT, cart));
    for (int dim = 0; dim < 2; dim++) {
        int minus = dim == 0 ? at(gc[0] - 1, gc[1], dims[0], dims[1]) : at(gc[0], gc[1] - 1, dims[0], dims[1]);
        int plus = dim == 0 ? at(gc[0] + 1, gc[1], dims[0], dims[1]) : at(gc[0], gc[1] + 1, dims[0], dims[1]);
        CHECK(all[2 * dim] == minus && all[2 * dim + 1] == plus);
        CHECK(got4[2 * dim] == 100 * minus + 2 * dim + 1 && got4[2 * dim + 1] == 100 * plus + 2 * dim);
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

static void test_graphs(void) {
    /* A ring as a graph: node i's neighbours are i+1 and i-1 (once when they coincide). */
    int *index = malloc(sizeof(int) * (size_t)size), *edges = malloc(sizeof(int) * 2 * (size_t)size), ne = 0;
    CHECK(index && edges);
    for (int i = 0; i < size; i++) {
        int next = (i + 1) % size, prev = (i - 1 + size) % size;
        edges[ne++] = next;
        if (prev != next) edges[ne++] = prev;
        index[i] = ne;
    }
    MPI_Comm g;
    int status = -1, nn = -1, nedges = -1, cnt = -1, nb[2];
    OK(MPI_Graph_create(MPI_COMM_WORLD, size, index, edges, 0, &g));
    OK(MPI_Topo_test(g, &status));
    CHECK(status == MPI_GRAPH);
    OK(MPI_Graphdims_get(g, &nn, &nedges));
    CHECK(nn == size && nedges == ne);
    OK(MPI_Graph_neighbors_count(g, rank, &cnt));
    OK(MPI_Graph_neighbors(g, rank, 2, nb));
    CHECK(cnt == (size <= 2 ? 1 : 2) && nb[0] == (rank + 1) % size);
    if (cnt == 2) CHECK(nb[1] == (rank - 1 + size) % size);
    int *gi = malloc(sizeof(int) * (size_t)size), *ge = malloc(sizeof(int) * 2 * (size_t)size);
    CHECK(gi && ge);
    OK(MPI_Graph_get(g, size, ne, gi, ge));
    CHECK(memcmp(gi, index, sizeof(int) * (size_t)size) == 0 && memcmp(ge, edges, sizeof(int) * (size_t)ne) == 0);
    OK(MPI_Comm_free(&g));

    /* The same ring, each rank naming its own neighbours, weighted by the sender's rank. */
    int next = (rank + 1) % size, prev = (rank - 1 + size) % size, in = -1, outd = -1, weighted = -1;
    int w_in = prev, w_out = rank;
    MPI_Comm d;
    OK(MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 1, &prev, &w_in, 1, &next, &w_out, MPI_INFO_NULL, 0, &d));
    OK(MPI_Topo_test(d, &status));
    CHECK(status == MPI_DIST_GRAPH);
    OK(MPI_Dist_graph_neighbors_count(d, &in, &outd, &weighted));
    CHECK(in == 1 && outd == 1 && weighted == 1);
    OK(MPI_Comm_free(&d));

    /* Rank 0 names every edge i -> i+1 with weight 10 i; each rank must learn its own. */
    int n = rank == 0 ? size : 0;
    int *src = malloc(sizeof(int) * (size_t)size), *deg = malloc(sizeof(int) * (size_t)size);
    int *dst = malloc(sizeof(int) * (size_t)size), *wt = malloc(sizeof(int) * (size_t)size);
    CHECK(src && deg && dst && wt);
    for (int i = 0; i < size; i++) {
        src[i] = i;
        deg[i] = 1;
        dst[i] = (i + 1) % size;
        wt[i] = 10 * i;
    }
    OK(MPI_Dist_graph_create(MPI_COMM_WORLD, n, src, deg, dst, wt, MPI_INFO_NULL, 0, &d));
    OK(MPI_Dist_graph_neighbors_count(d, &in, &outd, &weighted));
    CHECK(in == 1 && outd == 1);
    int s = -1, sw = -1, t = -1, tw = -1;
    OK(MPI_Dist_graph_neighbors(d, 1, &s, &sw, 1, &t, &tw));
    CHECK(s == prev && sw == 10 * prev && t == next && tw == 10 * rank);
    /* Traffic along the graph. */
    int got = -1;
    OK(MPI_Sendrecv(&rank, 1, MPI_INT, t, 70, &got, 1, MPI_INT, s, 70, d, MPI_STATUS_IGNORE));
    CHECK(got == prev);
    int mine = 7 * rank, from = -1;
    OK(MPI_Neighbor_alltoall(&mine, 1, MPI_INT, &from, 1, MPI_INT, d));
    CHECK(from == 7 * prev);
    OK(MPI_Neighbor_allgather(&mine, 1, MPI_INT, &from, 1, MPI_INT, d));
    CHECK(from == 7 * prev);
    OK(MPI_Comm_free(&d));
    free(index);
    free(edges);
    free(gi);
    free(ge);
    free(src);
    free(deg);
    free(dst);
    free(wt);
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
    test_graphs();
    OK(MPI_Barrier(MPI_COMM_WORLD));
    OK(MPI_Finalize());
    if (rank == 0) printf("PASS topology\n");
    return 0;
}
