/* large_count_coll.c: every large-count (_c) collective, blocking and nonblocking (MPI_Count counts, MPI_Aint
   displacements), checked against locally computed results; MPI_Reduce_local_c, an MPI_Op_create_c operation (its
   MPI_Count length seen by the function), the neighbour _c forms on a ring, and MPI_ERR_COUNT for negative counts. */
#include "check.h"

static int n; /* world size */

/* Runs the blocking call, or the nonblocking one (which fills `q`) and waits for it. */
#define RUN(nb, blocking_call, nonblocking_call)         \
    do {                                                 \
        if (nb) {                                        \
            MPI_Request q = MPI_REQUEST_NULL;            \
            OK(nonblocking_call);                        \
            OK(MPI_Wait(&q, MPI_STATUS_IGNORE));         \
        } else {                                         \
            OK(blocking_call);                           \
        }                                                \
    } while (0)

/* Rank k's block in the v tests: k+1 items at displacement off(k) + k (a gap of k before each). */
static MPI_Aint voff(int k) { return (MPI_Aint)k * (k + 1) / 2 + k; }

static void data_moving(int nb) {
    int buf[4], send[64], recv[256];
    MPI_Count counts[16];
    MPI_Aint displs[16];
    int total = voff(n) + 1;

    /* bcast from the last rank */
    for (int i = 0; i < 4; i++) buf[i] = rank == n - 1 ? 100 * rank + i : -1;
    RUN(nb, MPI_Bcast_c(buf, 4, MPI_INT, n - 1, MPI_COMM_WORLD), MPI_Ibcast_c(buf, 4, MPI_INT, n - 1, MPI_COMM_WORLD, &q));
    for (int i = 0; i < 4; i++) CHECK(buf[i] == 100 * (n - 1) + i);

    /* gather and allgather: two items per rank */
    send[0] = rank * 10, send[1] = rank * 10 + 1;
    for (int i = 0; i < 2 * n; i++) recv[i] = -1;
    RUN(nb, MPI_Gather_c(send, 2, MPI_INT, recv, 2, MPI_INT, 0, MPI_COMM_WORLD),
        MPI_Igather_c(send, 2, MPI_INT, recv, 2, MPI_INT, 0, MPI_COMM_WORLD, &q));
    for (int i = 0; i < 2 * n; i++) CHECK(recv[i] == (rank == 0 ? (i / 2) * 10 + i % 2 : -1));
    for (int i = 0; i < 2 * n; i++) recv[i] = -1;
    RUN(nb, MPI_Allgather_c(send, 2, MPI_INT, recv, 2, MPI_INT, MPI_COMM_WORLD),
        MPI_Iallgather_c(send, 2, MPI_INT, recv, 2, MPI_INT, MPI_COMM_WORLD, &q));
    for (int i = 0; i < 2 * n; i++) CHECK(recv[i] == (i / 2) * 10 + i % 2);

    /* gatherv and allgatherv: rank k sends k+1 items k*100+j, placed at voff(k) */
    for (int k = 0; k < n; k++) counts[k] = k + 1, displs[k] = voff(k);
    for (int j = 0; j <= rank; j++) send[j] = rank * 100 + j;
    for (int root = 0; root < n; root += n - 1 > 0 ? n - 1 : 1) {
        for (int i = 0; i < total; i++) recv[i] = -1;
        RUN(nb, MPI_Gatherv_c(send, rank + 1, MPI_INT, recv, counts, displs, MPI_INT, root, MPI_COMM_WORLD),
            MPI_Igatherv_c(send, rank + 1, MPI_INT, recv, counts, displs, MPI_INT, root, MPI_COMM_WORLD, &q));
        for (int k = 0; k < n; k++)
            for (int j = 0; j <= k; j++) CHECK(recv[voff(k) + j] == (rank == root ? k * 100 + j : -1));
        for (int k = 1; k < n; k++) CHECK(recv[voff(k) - 1] == -1); /* the gaps stay untouched */
    }
    for (int i = 0; i < total; i++) recv[i] = -1;
    RUN(nb, MPI_Allgatherv_c(send, rank + 1, MPI_INT, recv, counts, displs, MPI_INT, MPI_COMM_WORLD),
        MPI_Iallgatherv_c(send, rank + 1, MPI_INT, recv, counts, displs, MPI_INT, MPI_COMM_WORLD, &q));
    for (int k = 0; k < n; k++) {
        for (int j = 0; j <= k; j++) CHECK(recv[voff(k) + j] == k * 100 + j);
        if (k > 0) CHECK(recv[voff(k) - 1] == -1); /* the gap stays untouched */
    }

    /* scatter: the root's 2n items i, two per rank */
    for (int i = 0; i < 2 * n; i++) send[i] = rank == 0 ? 7 * i : -1;
    buf[0] = buf[1] = -1;
    RUN(nb, MPI_Scatter_c(send, 2, MPI_INT, buf, 2, MPI_INT, 0, MPI_COMM_WORLD),
        MPI_Iscatter_c(send, 2, MPI_INT, buf, 2, MPI_INT, 0, MPI_COMM_WORLD, &q));
    CHECK(buf[0] == 7 * (2 * rank) && buf[1] == 7 * (2 * rank + 1));

    /* scatterv: rank k gets the k+1 items at voff(k) */
    for (int i = 0; i < total; i++) recv[i] = 3 * i + 1;
    for (int j = 0; j < 16; j++) send[j] = -1;
    RUN(nb, MPI_Scatterv_c(recv, counts, displs, MPI_INT, send, rank + 1, MPI_INT, 0, MPI_COMM_WORLD),
        MPI_Iscatterv_c(recv, counts, displs, MPI_INT, send, rank + 1, MPI_INT, 0, MPI_COMM_WORLD, &q));
    for (int j = 0; j <= rank; j++) CHECK(send[j] == 3 * (int)(voff(rank) + j) + 1);
    CHECK(send[rank + 1] == -1);

    /* alltoall: item k goes to rank k */
    for (int k = 0; k < n; k++) send[k] = rank * 100 + k, recv[k] = -1;
    RUN(nb, MPI_Alltoall_c(send, 1, MPI_INT, recv, 1, MPI_INT, MPI_COMM_WORLD),
        MPI_Ialltoall_c(send, 1, MPI_INT, recv, 1, MPI_INT, MPI_COMM_WORLD, &q));
    for (int k = 0; k < n; k++) CHECK(recv[k] == k * 100 + rank);

    /* alltoallv: rank s sends d+1 items s*1000+d*10+j to rank d, packed in rank order */
    MPI_Count scounts[16], rcounts[16];
    MPI_Aint sdispls[16], rdispls[16];
    MPI_Aint at = 0;
    for (int d = 0; d < n; d++) {
        scounts[d] = d + 1, sdispls[d] = at;
        for (int j = 0; j <= d; j++) send[at + j] = rank * 1000 + d * 10 + j;
        at += d + 1;
    }
    for (int s = 0; s < n; s++) rcounts[s] = rank + 1, rdispls[s] = (MPI_Aint)s * (rank + 1);
    for (int i = 0; i < n * (rank + 1); i++) recv[i] = -1;
    RUN(nb, MPI_Alltoallv_c(send, scounts, sdispls, MPI_INT, recv, rcounts, rdispls, MPI_INT, MPI_COMM_WORLD),
        MPI_Ialltoallv_c(send, scounts, sdispls, MPI_INT, recv, rcounts, rdispls, MPI_INT, MPI_COMM_WORLD, &q));
    for (int s = 0; s < n; s++)
        for (int j = 0; j <= rank; j++) CHECK(recv[s * (rank + 1) + j] == s * 1000 + rank * 10 + j);

    /* alltoallw: one int per peer, byte displacements, received in reverse rank order */
    MPI_Datatype types[16];
    for (int k = 0; k < n; k++) {
        send[k] = rank * 100 + k, recv[k] = -1;
        scounts[k] = rcounts[k] = 1, types[k] = MPI_INT;
        sdispls[k] = (MPI_Aint)(k * sizeof(int)), rdispls[k] = (MPI_Aint)((n - 1 - k) * sizeof(int));
    }
    RUN(nb, MPI_Alltoallw_c(send, scounts, sdispls, types, recv, rcounts, rdispls, types, MPI_COMM_WORLD),
        MPI_Ialltoallw_c(send, scounts, sdispls, types, recv, rcounts, rdispls, types, MPI_COMM_WORLD, &q));
    for (int k = 0; k < n; k++) CHECK(recv[n - 1 - k] == k * 100 + rank);

    /* alltoallw from MPI_BOTTOM: absolute addresses as displacements */
    for (int k = 0; k < n; k++) {
        OK(MPI_Get_address(&send[k], &sdispls[k]));
        OK(MPI_Get_address(&recv[k], &rdispls[k]));
        send[k] = rank * 100 + k + 50, recv[k] = -1;
    }
    RUN(nb, MPI_Alltoallw_c(MPI_BOTTOM, scounts, sdispls, types, MPI_BOTTOM, rcounts, rdispls, types, MPI_COMM_WORLD),
        MPI_Ialltoallw_c(MPI_BOTTOM, scounts, sdispls, types, MPI_BOTTOM, rcounts, rdispls, types, MPI_COMM_WORLD, &q));
    for (int k = 0; k < n; k++) CHECK(recv[k] == k * 100 + rank + 50);
}

static MPI_Count last_len = -1; /* the length the user operation last saw */

static void isum_c(void *in, void *inout, MPI_Count *len, MPI_Datatype *dt) {
    CHECK(*dt == MPI_INT);
    last_len = *len;
    for (MPI_Count i = 0; i < *len; i++) ((int *)inout)[i] += ((const int *)in)[i];
}

static void reductions(int nb, MPI_Op sum) {
    int send[64], recv[64];
    /* reduce and allreduce: (r+1)*(i+1) summed over ranks */
    int tri = n * (n + 1) / 2;
    for (int i = 0; i < 3; i++) send[i] = (rank + 1) * (i + 1), recv[i] = -1;
    RUN(nb, MPI_Reduce_c(send, recv, 3, MPI_INT, sum, 0, MPI_COMM_WORLD),
        MPI_Ireduce_c(send, recv, 3, MPI_INT, sum, 0, MPI_COMM_WORLD, &q));
    for (int i = 0; i < 3; i++) CHECK(recv[i] == (rank == 0 ? tri * (i + 1) : -1));
    RUN(nb, MPI_Allreduce_c(send, recv, 3, MPI_INT, sum, MPI_COMM_WORLD),
        MPI_Iallreduce_c(send, recv, 3, MPI_INT, sum, MPI_COMM_WORLD, &q));
    for (int i = 0; i < 3; i++) CHECK(recv[i] == tri * (i + 1));
    for (int i = 0; i < 3; i++) recv[i] = rank - i;
    RUN(nb, MPI_Allreduce_c(MPI_IN_PLACE, recv, 3, MPI_INT, MPI_MAX, MPI_COMM_WORLD),
        MPI_Iallreduce_c(MPI_IN_PLACE, recv, 3, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &q));
    for (int i = 0; i < 3; i++) CHECK(recv[i] == n - 1 - i);

    /* reduce_scatter_block: 2 items each; input item i of rank r is r+i */
    int rsum = n * (n - 1) / 2;
    for (int i = 0; i < 2 * n; i++) send[i] = rank + i;
    recv[0] = recv[1] = -1;
    RUN(nb, MPI_Reduce_scatter_block_c(send, recv, 2, MPI_INT, sum, MPI_COMM_WORLD),
        MPI_Ireduce_scatter_block_c(send, recv, 2, MPI_INT, sum, MPI_COMM_WORLD, &q));
    for (int j = 0; j < 2; j++) CHECK(recv[j] == rsum + n * (2 * rank + j));

    /* reduce_scatter: rank k gets k+1 items, from offset k(k+1)/2 */
    MPI_Count counts[16];
    for (int k = 0; k < n; k++) counts[k] = k + 1;
    for (int i = 0; i < tri; i++) send[i] = rank + i;
    for (int j = 0; j <= rank; j++) recv[j] = -1;
    RUN(nb, MPI_Reduce_scatter_c(send, recv, counts, MPI_INT, sum, MPI_COMM_WORLD),
        MPI_Ireduce_scatter_c(send, recv, counts, MPI_INT, sum, MPI_COMM_WORLD, &q));
    for (int j = 0; j <= rank; j++) CHECK(recv[j] == rsum + n * (rank * (rank + 1) / 2 + j));

    /* scan and exscan of (r+1)*(i+1) */
    for (int i = 0; i < 2; i++) send[i] = (rank + 1) * (i + 1), recv[i] = -1;
    RUN(nb, MPI_Scan_c(send, recv, 2, MPI_INT, sum, MPI_COMM_WORLD),
        MPI_Iscan_c(send, recv, 2, MPI_INT, sum, MPI_COMM_WORLD, &q));
    for (int i = 0; i < 2; i++) CHECK(recv[i] == (rank + 1) * (rank + 2) / 2 * (i + 1));
    RUN(nb, MPI_Exscan_c(send, recv, 2, MPI_INT, sum, MPI_COMM_WORLD),
        MPI_Iexscan_c(send, recv, 2, MPI_INT, sum, MPI_COMM_WORLD, &q));
    if (rank > 0)
        for (int i = 0; i < 2; i++) CHECK(recv[i] == rank * (rank + 1) / 2 * (i + 1));
}

static void neighbours(int nb) {
    MPI_Comm ring;
    int dims[1] = {n}, periods[1] = {1};
    OK(MPI_Cart_create(MPI_COMM_WORLD, 1, dims, periods, 0, &ring));
    int lower = (rank + n - 1) % n, upper = (rank + 1) % n;
    int send[2] = {rank, -5}, recv[4] = {-1, -1, -1, -1};
    RUN(nb, MPI_Neighbor_allgather_c(send, 1, MPI_INT, recv, 1, MPI_INT, ring),
        MPI_Ineighbor_allgather_c(send, 1, MPI_INT, recv, 1, MPI_INT, ring, &q));
    CHECK(recv[0] == lower && recv[1] == upper && recv[2] == -1);
    /* allgatherv: the two blocks swapped, a gap between them */
    MPI_Count counts[2] = {1, 1}, scounts[2] = {1, 1};
    MPI_Aint displs[2] = {2, 0}, sdispls[2] = {1, 0};
    recv[0] = recv[1] = recv[2] = recv[3] = -1;
    RUN(nb, MPI_Neighbor_allgatherv_c(send, 1, MPI_INT, recv, counts, displs, MPI_INT, ring),
        MPI_Ineighbor_allgatherv_c(send, 1, MPI_INT, recv, counts, displs, MPI_INT, ring, &q));
    CHECK(recv[2] == lower && recv[0] == upper && recv[1] == -1);
    if (n >= 3) { /* with fewer ranks both neighbours are one rank, and the blocks' order is moot */
        send[0] = rank * 10, send[1] = rank * 10 + 1, recv[0] = recv[1] = -1;
        RUN(nb, MPI_Neighbor_alltoall_c(send, 1, MPI_INT, recv, 1, MPI_INT, ring),
            MPI_Ineighbor_alltoall_c(send, 1, MPI_INT, recv, 1, MPI_INT, ring, &q));
        CHECK(recv[0] == lower * 10 + 1 && recv[1] == upper * 10);
        /* alltoallv: the send blocks read in reverse order */
        recv[0] = recv[1] = -1;
        RUN(nb, MPI_Neighbor_alltoallv_c(send, scounts, sdispls, MPI_INT, recv, counts, sdispls, MPI_INT, ring),
            MPI_Ineighbor_alltoallv_c(send, scounts, sdispls, MPI_INT, recv, counts, sdispls, MPI_INT, ring, &q));
        CHECK(recv[1] == lower * 10 && recv[0] == upper * 10 + 1);
    }
    OK(MPI_Comm_free(&ring));
}

static void errors(void) {
    int buf[2] = {0, 0}, cls = 0;
    MPI_Request q;
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    int rc = MPI_Bcast_c(buf, -1, MPI_INT, 0, MPI_COMM_WORLD);
    OK(MPI_Error_class(rc, &cls));
    CHECK(cls == MPI_ERR_COUNT);
    rc = MPI_Iallreduce_c(buf, buf + 1, -3, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &q);
    OK(MPI_Error_class(rc, &cls));
    CHECK(cls == MPI_ERR_COUNT);
    MPI_Count counts[16];
    MPI_Aint displs[16];
    for (int k = 0; k < n; k++) counts[k] = k == n - 1 ? -2 : 0, displs[k] = 0;
    rc = MPI_Allgatherv_c(buf, 0, MPI_INT, buf, counts, displs, MPI_INT, MPI_COMM_WORLD);
    OK(MPI_Error_class(rc, &cls));
    CHECK(cls == MPI_ERR_COUNT);
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
}

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &n));
    CHECK(n <= 8);

    MPI_Op user_sum;
    OK(MPI_Op_create_c(isum_c, 1, &user_sum));
    int commute = 0;
    OK(MPI_Op_commutative(user_sum, &commute));
    CHECK(commute == 1);

    /* reduce_local_c, with a built-in and with the user operation */
    int in[3] = {1, 2, 3}, inout[3] = {10, 20, 30};
    OK(MPI_Reduce_local_c(in, inout, 3, MPI_INT, MPI_SUM));
    CHECK(inout[0] == 11 && inout[1] == 22 && inout[2] == 33);
    OK(MPI_Reduce_local_c(in, inout, 2, MPI_INT, user_sum));
    CHECK(inout[0] == 12 && inout[1] == 24 && inout[2] == 33 && last_len == 2);

    for (int nb = 0; nb < 2; nb++) {
        data_moving(nb);
        reductions(nb, MPI_SUM);
        reductions(nb, user_sum);
    }
    neighbours(0);
    neighbours(1);
    errors();

    OK(MPI_Op_free(&user_sum));
    OK(MPI_Barrier(MPI_COMM_WORLD));
    if (rank == 0) printf("PASS large_count_coll\n");
    OK(MPI_Finalize());
    return 0;
}
