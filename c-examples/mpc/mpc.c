/* mpc.c: a three-party MPC program in Secrecy's style: shares, circuits, checks and Alice/Bob. */
#define _POSIX_C_SOURCE 200809L
#include "circuits.h"
#include "rss.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Usage: mpc [-n N] [-e E] [-b] [-s SEED] [-F]
 *   -n N     elements for the batched circuits (default 100000)
 *   -e E     elements for the element-wise circuits, one blocking 8-byte
 *            MPI_Send/MPI_Recv per gate and element (default min(N, 1000))
 *   -b       batched exchanges with blocking MPI_Send/MPI_Recv of whole arrays
 *            instead of MPI_Isend/MPI_Irecv (Open MPI hangs above 8192 elements)
 *   -s SEED  seed of rank 0's plaintext inputs (default 1)
 *   -F       fault injection: rank 2 corrupts one share; the check must fail
 * Rank 0 holds the inputs, shares them, and checks every revealed result
 * against the plaintext.  Then Alice (rank 0, 25) and Bob (rank 1, 50)
 * compute a*b - 5*(a+b) with rank 2 as the helper; only Alice learns it. */

static int rank;
static long fault_at = -1; /* element whose share rank 2 corrupts (-F) */

static const char *mode_name(xchg_mode m) {
    switch (m) {
    case XCHG_ELEMENT: return "element-wise Send/Recv";
    case XCHG_BATCH: return "batched Isend/Irecv";
    default: return "batched blocking Send/Recv";
    }
}

/* ---- per-phase accounting (rank 0 prints; every party runs the same gates) ---- */

static struct rss_stats before;
static double t_start;

static void phase_begin(void) {
    OK(MPI_Barrier(MPI_COMM_WORLD));
    before = rss_stats;
    t_start = MPI_Wtime();
}

static void phase_end(const char *what, const char *how, long n) {
    double ms = (MPI_Wtime() - t_start) * 1e3;
    if (rank != 0) return;
    printf("  %-12s %-27s %7ld elems %8ld AND %7ld mul %7ld rounds %9.2f ms\n", what, how, n,
           rss_stats.and_gates - before.and_gates, rss_stats.mul_gates - before.mul_gates,
           rss_stats.rounds - before.rounds, ms);
    fflush(stdout);
}

/* ---- plaintext inputs and checks (rank 0) ---- */

/* Pairs that exercise both outcomes: equal, off by one, one bit apart, random. */
static void make_inputs(uint64_t seed, uint64_t *a, uint64_t *b, long n) {
    for (long i = 0; i < n; i++) {
        a[i] = prg_next(&seed);
        uint64_t r = prg_next(&seed);
        switch (i % 5) {
        case 0: b[i] = a[i]; break;
        case 1: b[i] = a[i] + 1; break;
        case 2: b[i] = a[i] - 1; break;
        case 3: b[i] = a[i] ^ ((uint64_t)1 << (r % 64)); break;
        default: b[i] = r; break;
        }
    }
    if (n > 1) {
        a[0] = 0, b[0] = 0;
        a[n - 1] = 0, b[n - 1] = ~(uint64_t)0;
    }
}

typedef enum { OP_EQ, OP_LT, OP_MUL, OP_XOR } op;

static uint64_t plain_op(op o, uint64_t a, uint64_t b) {
    switch (o) {
    case OP_EQ: return a == b;
    case OP_LT: return a < b;
    case OP_MUL: return a * b;
    default: return a ^ b;
    }
}

static const char *op_name[] = {"equality", "less-than", "multiply", "xor"};

/* Reveal z to rank 0 and compare with the plaintext result of `o`. */
static void reveal_and_check(op o, const shares *z, sharing kind, const uint64_t *a, const uint64_t *b) {
    long n = z->n;
    uint64_t *got = rank == 0 ? malloc(sizeof(uint64_t) * (size_t)n) : NULL;
    if (rank == 0 && got == NULL) die("out of memory");
    reveal_to_0(z, kind, got);
    if (rank != 0) return;
    for (long i = 0; i < n; i++) {
        uint64_t want = plain_op(o, a[i], b[i]);
        if (got[i] != want)
            die("MISMATCH in %s at element %ld of %ld: MPC gave %llu, plaintext %llu "
                "(a = %llu, b = %llu)",
                op_name[o], i, n, (unsigned long long)got[i], (unsigned long long)want,
                (unsigned long long)a[i], (unsigned long long)b[i]);
    }
    free(got);
}

/* Run the boolean and arithmetic circuits on the first n elements. */
static void circuits(xchg_mode mode, long n, shares *ab, shares *bb, shares *aa, shares *ba, const uint64_t *a,
                     const uint64_t *b) {
    shares xa = {ab->s1, ab->s2, n}, xb = {bb->s1, bb->s2, n};
    shares ya = {aa->s1, aa->s2, n}, yb = {ba->s1, ba->s2, n};
    shares z = shares_alloc(n);

    phase_begin();
    equal_circuit(&z, &xa, &xb, mode);
    if (fault_at >= 0 && fault_at < n && rank == 2) z.s1[fault_at] ^= 1;
    reveal_and_check(OP_EQ, &z, BOOLEAN, a, b);
    phase_end("equality", mode_name(mode), n);

    phase_begin();
    less_than_circuit(&z, &xa, &xb, mode);
    reveal_and_check(OP_LT, &z, BOOLEAN, a, b);
    phase_end("less-than", mode_name(mode), n);

    phase_begin();
    mul_gate(&z, &ya, &yb, mode);
    reveal_and_check(OP_MUL, &z, ARITHMETIC, a, b);
    phase_end("multiply", mode_name(mode), n);

    shares_free(&z);
}

/* The classic example: Alice (rank 0) holds 25, Bob (rank 1) holds 50; they
 * compute a*b - 5*(a+b) with rank 2 as the third party, and only Alice
 * learns the result.  Each input is shared by its owner. */
static void alice_and_bob(void) {
    uint64_t alice = 25, bob = 50, result = 0;
    shares a = shares_alloc(1), b = shares_alloc(1), prod = shares_alloc(1), sum = shares_alloc(1);
    share_input(0, rank == 0 ? &alice : NULL, 1, ARITHMETIC, &a);
    share_input(1, rank == 1 ? &bob : NULL, 1, ARITHMETIC, &b);
    mul_gate(&prod, &a, &b, XCHG_ELEMENT);
    add_gate(&sum, &a, &b);
    mul_const(&sum, (uint64_t)-5);
    add_gate(&prod, &prod, &sum);
    reveal_to_0(&prod, ARITHMETIC, &result);
    if (rank == 0) {
        printf("Alice learns %lld\n", (long long)result);
        /* A known answer: Alice alone cannot recompute it without Bob's input. */
        if (result != 875) die("MISMATCH in Alice and Bob: got %lld, want 875", (long long)result);
    }
    shares_free(&a);
    shares_free(&b);
    shares_free(&prod);
    shares_free(&sum);
}

static int usage(void) {
    if (rank == 0) fprintf(stderr, "usage: mpc [-n ELEMENTS] [-e ELEMENTWISE] [-b] [-s SEED] [-F]\n");
    MPI_Finalize();
    return 2;
}

int main(int argc, char **argv) {
    int size;
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    if (size != 3) {
        if (rank == 0) fprintf(stderr, "mpc needs exactly 3 parties, got %d\n", size);
        MPI_Finalize();
        return 1;
    }

    long n = 100000, e = -1;
    uint64_t seed = 1;
    xchg_mode batch = XCHG_BATCH;
    int opt;
    opterr = rank == 0; /* one complaint about a bad option, not three */
    while ((opt = getopt(argc, argv, "n:e:bs:F")) != -1) {
        switch (opt) {
        case 'n': n = atol(optarg); break;
        case 'e': e = atol(optarg); break;
        case 'b': batch = XCHG_BLOCKING; break;
        case 's': seed = strtoull(optarg, NULL, 0); break;
        case 'F': fault_at = 0; break;
        default: return usage();
        }
    }
    if (e < 0) e = n < 1000 ? n : 1000;
    /* The less-than circuit exchanges 2n elements in one message. */
    if (n < 1 || n > INT_MAX / 2 || e < 0 || e > n || optind != argc) return usage();
    if (fault_at >= 0) fault_at = n / 2;

    rss_setup(rank);
    OK(MPI_Barrier(MPI_COMM_WORLD));
    double t0 = MPI_Wtime();

    /* Rank 0 holds the plaintext, and shares it both ways. */
    uint64_t *a = NULL, *b = NULL;
    if (rank == 0) {
        a = malloc(sizeof(uint64_t) * (size_t)n);
        b = malloc(sizeof(uint64_t) * (size_t)n);
        if (a == NULL || b == NULL) die("out of memory for %ld inputs", n);
        make_inputs(seed, a, b, n);
        printf("mpc: 3 parties, %ld elements %s, %ld %s\n", n, mode_name(batch), e, mode_name(XCHG_ELEMENT));
    }
    shares ab = shares_alloc(n), bb = shares_alloc(n), aa = shares_alloc(n), ba = shares_alloc(n);
    phase_begin();
    share_input(0, a, n, BOOLEAN, &ab);
    share_input(0, b, n, BOOLEAN, &bb);
    share_input(0, a, n, ARITHMETIC, &aa);
    share_input(0, b, n, ARITHMETIC, &ba);
    phase_end("share inputs", "tagged Send from rank 0", n);

    /* XOR is local: reveal it straight away. */
    shares x = shares_alloc(n);
    xor_gate(&x, &ab, &bb);
    reveal_and_check(OP_XOR, &x, BOOLEAN, a, b);
    shares_free(&x);

    circuits(batch, n, &ab, &bb, &aa, &ba, a, b);
    if (e > 0) circuits(XCHG_ELEMENT, e, &ab, &bb, &aa, &ba, a, b);

    alice_and_bob();

    OK(MPI_Barrier(MPI_COMM_WORLD));
    double wall = MPI_Wtime() - t0;
    if (rank == 0)
        printf("mpc: OK: %ld AND gates, %ld multiplications, %ld rounds, %.1f MB sent per party, %.3f s\n",
               rss_stats.and_gates, rss_stats.mul_gates, rss_stats.rounds, (double)rss_stats.bytes / 1e6, wall);
    shares_free(&ab);
    shares_free(&bb);
    shares_free(&aa);
    shares_free(&ba);
    free(a);
    free(b);
    OK(MPI_Finalize());
    return 0;
}
