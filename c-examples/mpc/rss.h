/* rss.h: three-party replicated secret sharing (RSS) of 64-bit values: sharing, gates, reveal. */
#ifndef MPC_RSS_H
#define MPC_RSS_H

#include <mpi.h>
#include <stdint.h>

/* Party i holds the pair (x_i, x_{i+1}) of a value x = x_0 + x_1 + x_2
 * (arithmetic, mod 2^64) or x = x_0 ^ x_1 ^ x_2 (boolean), in arrays of n. */
typedef struct {
    uint64_t *s1; /* x_i: our own share */
    uint64_t *s2; /* x_{i+1}: our successor's share */
    long n;
} shares;

typedef enum { BOOLEAN, ARITHMETIC } sharing;

/* How a gate's local results travel to the predecessor (Secrecy's exchange_shares). */
typedef enum {
    XCHG_ELEMENT, /* per element: blocking 8-byte MPI_Send to pred, MPI_Recv from succ */
    XCHG_BATCH,   /* whole array: MPI_Irecv + MPI_Isend + MPI_Waitall */
    XCHG_BLOCKING /* whole array: blocking MPI_Send then MPI_Recv (hangs Open MPI above 64 KiB) */
} xchg_mode;

/* Message tags, distinct per purpose. */
enum {
    TAG_SEED = 42,      /* PRF seed to the predecessor at setup */
    TAG_XCHG = 7,       /* gate results around the ring */
    TAG_SHARE_S1 = 100, /* input distribution: first share of the pair */
    TAG_SHARE_S2 = 101, /* input distribution: second share of the pair */
    TAG_REVEAL = 700    /* reveal to rank 0: TAG_REVEAL + sender's rank */
};

/* Counters of this party (all parties run the same gates). */
struct rss_stats {
    long and_gates; /* 64-bit boolean AND gates */
    long mul_gates; /* 64-bit arithmetic multiplications */
    long rounds;    /* ring exchanges (one per element in XCHG_ELEMENT mode) */
    long bytes;     /* bytes sent around the ring */
};
extern struct rss_stats rss_stats;
extern int rss_rank, rss_pred, rss_succ;

/* Print "mpc: <message>" to stderr and end the whole job. */
void die(const char *fmt, ...);
#define OK(call)                                                                 \
    do {                                                                         \
        if ((call) != MPI_SUCCESS) die("%s:%d: %s failed", __FILE__, __LINE__, #call); \
    } while (0)

/* splitmix64: a small seeded PRG.  Not cryptographic: a real engine uses a
 * PRF such as AES-CTR; the protocol structure is the same. */
uint64_t prg_next(uint64_t *state);
/* A secret 64-bit seed from /dev/urandom (falls back to time and pid). */
uint64_t fresh_seed(void);

/* Setup: each party draws a seed k_i, sends it to its predecessor and gets
 * k_{i+1} from its successor; afterwards r_i - r_{i+1} (or r_i ^ r_{i+1})
 * from the two PRG streams is a sharing of zero. */
void rss_setup(int rank);

shares shares_alloc(long n);
void shares_free(shares *x);

/* `owner` splits plain[0..n) (only read on the owner) into random shares and
 * sends each other party its pair with tagged MPI_Send; everyone gets `out`. */
void share_input(int owner, const uint64_t *plain, long n, sharing kind, shares *out);
/* Ranks 1 and 2 send x_1 and x_2 to rank 0 (tags TAG_REVEAL+1, +2); rank 0
 * checks x_1 against its own copy and writes the values to plain[0..n). */
void reveal_to_0(const shares *x, sharing kind, uint64_t *plain);

/* Local gates (no communication). */
void xor_gate(shares *z, const shares *x, const shares *y);
void xor_const(shares *z, uint64_t c); /* z ^= c (public) */
void and_const(shares *z, uint64_t c); /* z &= c (public) */
void shift_left(shares *z, const shares *x, int k);
void shift_right(shares *z, const shares *x, int k);
void add_gate(shares *z, const shares *x, const shares *y);
void add_const(shares *z, uint64_t c); /* z += c (public) */
void mul_const(shares *z, uint64_t c); /* z *= c (public) */

/* Interactive gates: z = x & y (boolean) or z = x * y (arithmetic), one ring
 * exchange.  z may alias x or y. */
void and_gate(shares *z, const shares *x, const shares *y, xchg_mode mode);
void mul_gate(shares *z, const shares *x, const shares *y, xchg_mode mode);

#endif
