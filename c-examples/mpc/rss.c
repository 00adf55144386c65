/* rss.c: replicated secret sharing among three MPI ranks: setup, input sharing, gates, reveal. */
#define _POSIX_C_SOURCE 200809L
#include "rss.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct rss_stats rss_stats;
int rss_rank = -1, rss_pred = -1, rss_succ = -1;

static uint64_t own_stream;  /* PRG seeded with our k_i */
static uint64_t succ_stream; /* PRG seeded with k_{i+1}, in step with our successor's own_stream */
static uint64_t dealer;      /* private randomness for the inputs we share */

void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mpc: rank %d: ", rss_rank);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

uint64_t prg_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t fresh_seed(void) {
    uint64_t s = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (f != NULL) {
        if (fread(&s, sizeof s, 1, f) != 1) s = 0;
        fclose(f);
    }
    if (s == 0) {
        uint64_t mix = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)clock();
        s = prg_next(&mix);
    }
    return s;
}

void rss_setup(int rank) {
    rss_rank = rank;
    rss_pred = (rank + 2) % 3;
    rss_succ = (rank + 1) % 3;
    uint64_t k_own = fresh_seed(), k_succ = 0;
    OK(MPI_Send(&k_own, 1, MPI_UINT64_T, rss_pred, TAG_SEED, MPI_COMM_WORLD));
    OK(MPI_Recv(&k_succ, 1, MPI_UINT64_T, rss_succ, TAG_SEED, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    own_stream = k_own;
    succ_stream = k_succ;
    dealer = fresh_seed();
    memset(&rss_stats, 0, sizeof rss_stats);
}

/* Our part of a fresh sharing of zero: summed (or XORed) over the three
 * parties, r_0 - r_1 + r_1 - r_2 + r_2 - r_0 = 0. */
static uint64_t zero_share(sharing kind) {
    uint64_t a = prg_next(&own_stream), b = prg_next(&succ_stream);
    return kind == ARITHMETIC ? a - b : a ^ b;
}

static void *xmalloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (p == NULL) die("out of memory (%zu bytes)", bytes);
    return p;
}

shares shares_alloc(long n) {
    shares x;
    x.s1 = xmalloc(sizeof(uint64_t) * (size_t)n);
    x.s2 = xmalloc(sizeof(uint64_t) * (size_t)n);
    x.n = n;
    return x;
}

void shares_free(shares *x) {
    free(x->s1);
    free(x->s2);
    x->s1 = x->s2 = NULL;
    x->n = 0;
}

void share_input(int owner, const uint64_t *plain, long n, sharing kind, shares *out) {
    if (out->n != n) die("share_input: output holds %ld elements, not %ld", out->n, n);
    if (rss_rank != owner) {
        OK(MPI_Recv(out->s1, (int)n, MPI_UINT64_T, owner, TAG_SHARE_S1, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        OK(MPI_Recv(out->s2, (int)n, MPI_UINT64_T, owner, TAG_SHARE_S2, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        return;
    }
    /* x[p] is x_p, the share that parties p and p-1 hold. */
    uint64_t *x[3];
    for (int p = 0; p < 3; p++) x[p] = xmalloc(sizeof(uint64_t) * (size_t)n);
    for (long i = 0; i < n; i++) {
        x[0][i] = prg_next(&dealer);
        x[1][i] = prg_next(&dealer);
        x[2][i] = kind == ARITHMETIC ? plain[i] - x[0][i] - x[1][i] : plain[i] ^ x[0][i] ^ x[1][i];
    }
    for (int p = 0; p < 3; p++) {
        if (p == owner) continue;
        OK(MPI_Send(x[p], (int)n, MPI_UINT64_T, p, TAG_SHARE_S1, MPI_COMM_WORLD));
        OK(MPI_Send(x[(p + 1) % 3], (int)n, MPI_UINT64_T, p, TAG_SHARE_S2, MPI_COMM_WORLD));
    }
    memcpy(out->s1, x[owner], sizeof(uint64_t) * (size_t)n);
    memcpy(out->s2, x[(owner + 1) % 3], sizeof(uint64_t) * (size_t)n);
    for (int p = 0; p < 3; p++) free(x[p]);
}

void reveal_to_0(const shares *x, sharing kind, uint64_t *plain) {
    long n = x->n;
    if (rss_rank != 0) {
        OK(MPI_Send(x->s1, (int)n, MPI_UINT64_T, 0, TAG_REVEAL + rss_rank, MPI_COMM_WORLD));
        return;
    }
    uint64_t *x1 = xmalloc(sizeof(uint64_t) * (size_t)n), *x2 = xmalloc(sizeof(uint64_t) * (size_t)n);
    MPI_Request rq[2];
    OK(MPI_Irecv(x1, (int)n, MPI_UINT64_T, 1, TAG_REVEAL + 1, MPI_COMM_WORLD, &rq[0]));
    OK(MPI_Irecv(x2, (int)n, MPI_UINT64_T, 2, TAG_REVEAL + 2, MPI_COMM_WORLD, &rq[1]));
    OK(MPI_Waitall(2, rq, MPI_STATUSES_IGNORE));
    for (long i = 0; i < n; i++) {
        /* Rank 1's own share x_1 is our second share: they must agree. */
        if (x1[i] != x->s2[i])
            die("reveal: element %ld: rank 1 sent share %016llx, rank 0 holds %016llx", i,
                (unsigned long long)x1[i], (unsigned long long)x->s2[i]);
        plain[i] = kind == ARITHMETIC ? x->s1[i] + x1[i] + x2[i] : x->s1[i] ^ x1[i] ^ x2[i];
    }
    free(x1);
    free(x2);
}

/* ---- local gates ---- */

void xor_gate(shares *z, const shares *x, const shares *y) {
    for (long i = 0; i < z->n; i++) {
        z->s1[i] = x->s1[i] ^ y->s1[i];
        z->s2[i] = x->s2[i] ^ y->s2[i];
    }
}

/* A public constant enters through x_0, which rank 0 holds first and rank 2 second. */
void xor_const(shares *z, uint64_t c) {
    for (long i = 0; i < z->n; i++) {
        if (rss_rank == 0) z->s1[i] ^= c;
        if (rss_rank == 2) z->s2[i] ^= c;
    }
}

void and_const(shares *z, uint64_t c) {
    for (long i = 0; i < z->n; i++) {
        z->s1[i] &= c;
        z->s2[i] &= c;
    }
}

void shift_left(shares *z, const shares *x, int k) {
    for (long i = 0; i < z->n; i++) {
        z->s1[i] = x->s1[i] << k;
        z->s2[i] = x->s2[i] << k;
    }
}

void shift_right(shares *z, const shares *x, int k) {
    for (long i = 0; i < z->n; i++) {
        z->s1[i] = x->s1[i] >> k;
        z->s2[i] = x->s2[i] >> k;
    }
}

void add_gate(shares *z, const shares *x, const shares *y) {
    for (long i = 0; i < z->n; i++) {
        z->s1[i] = x->s1[i] + y->s1[i];
        z->s2[i] = x->s2[i] + y->s2[i];
    }
}

void add_const(shares *z, uint64_t c) {
    for (long i = 0; i < z->n; i++) {
        if (rss_rank == 0) z->s1[i] += c;
        if (rss_rank == 2) z->s2[i] += c;
    }
}

void mul_const(shares *z, uint64_t c) {
    for (long i = 0; i < z->n; i++) {
        z->s1[i] *= c;
        z->s2[i] *= c;
    }
}

/* ---- interactive gates ---- */

/* Our share z_i of x*y (or x&y): x_i y_i + x_i y_{i+1} + x_{i+1} y_i plus a
 * zero share; the three z_i sum to the product and each looks random. */
static uint64_t local_product(sharing kind, uint64_t x1, uint64_t x2, uint64_t y1, uint64_t y2) {
    if (kind == ARITHMETIC) return x1 * y1 + x1 * y2 + x2 * y1 + zero_share(kind);
    return (x1 & y1) ^ (x1 & y2) ^ (x2 & y1) ^ zero_share(kind);
}

/* Send our z_i to the predecessor (which holds it as its second share) and
 * receive z_{i+1} from the successor. */
static void exchange_array(const uint64_t *mine, uint64_t *theirs, long n, xchg_mode mode) {
    if (mode == XCHG_BLOCKING) {
        OK(MPI_Send(mine, (int)n, MPI_UINT64_T, rss_pred, TAG_XCHG, MPI_COMM_WORLD));
        OK(MPI_Recv(theirs, (int)n, MPI_UINT64_T, rss_succ, TAG_XCHG, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    } else {
        MPI_Request rq[2];
        OK(MPI_Irecv(theirs, (int)n, MPI_UINT64_T, rss_succ, TAG_XCHG, MPI_COMM_WORLD, &rq[0]));
        OK(MPI_Isend(mine, (int)n, MPI_UINT64_T, rss_pred, TAG_XCHG, MPI_COMM_WORLD, &rq[1]));
        OK(MPI_Waitall(2, rq, MPI_STATUSES_IGNORE));
    }
    rss_stats.rounds++;
    rss_stats.bytes += n * (long)sizeof(uint64_t);
}

static void product_gate(sharing kind, shares *z, const shares *x, const shares *y, xchg_mode mode) {
    long n = z->n;
    if (x->n != n || y->n != n) die("gate on arrays of %ld, %ld and %ld elements", z->n, x->n, y->n);
    if (mode == XCHG_ELEMENT) {
        /* Secrecy's exchange_shares: one blocking 8-byte round trip per element. */
        for (long i = 0; i < n; i++) {
            uint64_t mine = local_product(kind, x->s1[i], x->s2[i], y->s1[i], y->s2[i]), theirs = 0;
            OK(MPI_Send(&mine, 1, MPI_UINT64_T, rss_pred, TAG_XCHG, MPI_COMM_WORLD));
            OK(MPI_Recv(&theirs, 1, MPI_UINT64_T, rss_succ, TAG_XCHG, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
            z->s1[i] = mine;
            z->s2[i] = theirs;
        }
        rss_stats.rounds += n;
        rss_stats.bytes += n * (long)sizeof(uint64_t);
        return;
    }
    /* Compute all of z_i first (z may alias x or y), then one exchange. */
    uint64_t *mine = xmalloc(sizeof(uint64_t) * (size_t)n);
    for (long i = 0; i < n; i++) mine[i] = local_product(kind, x->s1[i], x->s2[i], y->s1[i], y->s2[i]);
    exchange_array(mine, z->s2, n, mode);
    memcpy(z->s1, mine, sizeof(uint64_t) * (size_t)n);
    free(mine);
}

void and_gate(shares *z, const shares *x, const shares *y, xchg_mode mode) {
    product_gate(BOOLEAN, z, x, y, mode);
    rss_stats.and_gates += z->n;
}

void mul_gate(shares *z, const shares *x, const shares *y, xchg_mode mode) {
    product_gate(ARITHMETIC, z, x, y, mode);
    rss_stats.mul_gates += z->n;
}
