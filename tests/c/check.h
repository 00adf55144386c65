/* check.h: assertions and message patterns shared by the C test programs. Each program defines `rank`; a failed
   check names the file, line, rank and condition, then ends the whole job. */
#ifndef PARTYLINE_TEST_CHECK_H
#define PARTYLINE_TEST_CHECK_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every program's own rank in MPI_COMM_WORLD (a tentative definition: programs may repeat it). */
static int rank;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: rank %d: CHECK failed: %s\n", __FILE__,      \
                    __LINE__, rank, #cond);                                      \
            fflush(stderr);                                                      \
            MPI_Abort(MPI_COMM_WORLD, 1);                                        \
            exit(1);                                                             \
        }                                                                        \
    } while (0)
#define OK(call) CHECK((call) == MPI_SUCCESS)

/* Word j of a message of length len sent by src in exchange round k: every
 * 8-byte word differs, so lost, duplicated or shifted chunks are detected.
 * Word-wise loops keep fill/verify fast even in unoptimised builds. */
static inline uint64_t pattern_word(size_t j, int src, size_t len, int k) {
    return ((uint64_t)j * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)src << 56) ^
           ((uint64_t)k << 48) ^ (uint64_t)len;
}

static inline void pattern_fill(unsigned char *b, size_t len, int src, int k) {
    size_t nw = len / 8;
    uint64_t *w = (uint64_t *)b, t = pattern_word(nw, src, len, k);
    for (size_t j = 0; j < nw; j++) w[j] = pattern_word(j, src, len, k);
    memcpy(b + 8 * nw, &t, len % 8);
}

static inline void pattern_verify(const unsigned char *b, size_t len, int src, int k) {
    size_t nw = len / 8;
    const uint64_t *w = (const uint64_t *)b;
    uint64_t t = pattern_word(nw, src, len, k);
    for (size_t j = 0; j < nw; j++) {
        if (w[j] != pattern_word(j, src, len, k)) {
            fprintf(stderr, "rank %d: message of %zu B from %d (round %d): word %zu is %llx, want %llx\n",
                    rank, len, src, k, j, (unsigned long long)w[j],
                    (unsigned long long)pattern_word(j, src, len, k));
            CHECK(0 && "message contents");
        }
    }
    CHECK(memcmp(b + 8 * nw, &t, len % 8) == 0);
}

#endif
