/* exchange.c: every rank swaps 1 MB with every other rank for ROUNDS rounds and checks every byte; the traffic the
   link-fault tests break. Usage: exchange ROUNDS [-p], where -p prints a flushed progress line after each round. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"

#define LEN ((size_t)1 << 20)
#define MAXRANKS 16

/* The data src sends dst in round k: xorshift64 from a seed mixed (splitmix64) from all three, one word at a time. */
static uint64_t seed_of(int k, int src, int dst) {
    uint64_t z = ((uint64_t)k << 32) ^ ((uint64_t)src << 16) ^ (uint64_t)dst;
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return z ? z : 1;
}

static uint64_t next(uint64_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void fill(uint64_t *w, int k, int src, int dst) {
    uint64_t x = seed_of(k, src, dst);
    for (size_t j = 0; j < LEN / 8; j++) w[j] = next(&x);
}

static void verify(const uint64_t *w, int k, int src, int dst) {
    uint64_t x = seed_of(k, src, dst);
    for (size_t j = 0; j < LEN / 8; j++) {
        uint64_t want = next(&x);
        if (w[j] != want) {
            fprintf(stderr, "exchange: rank %d: round %d: data from rank %d differs at byte %zu (%016llx, want %016llx)\n",
                    dst, k, src, 8 * j, (unsigned long long)w[j], (unsigned long long)want);
            fflush(stderr);
            MPI_Abort(MPI_COMM_WORLD, 1);
            exit(1);
        }
    }
}

int main(int argc, char **argv) {
    int size, rounds = argc > 1 ? atoi(argv[1]) : 10;
    int progress = argc > 2 && strcmp(argv[2], "-p") == 0;
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    CHECK(size <= MAXRANKS && rounds > 0);
    uint64_t *out[MAXRANKS], *in[MAXRANKS];
    for (int p = 0; p < size; p++) {
        out[p] = malloc(LEN);
        in[p] = malloc(LEN);
        CHECK(out[p] != NULL && in[p] != NULL);
    }
    MPI_Request reqs[2 * MAXRANKS];
    MPI_Status sts[2 * MAXRANKS];
    for (int k = 0; k < rounds; k++) {
        int n = 0;
        for (int p = 0; p < size; p++) {
            if (p == rank) continue;
            memset(in[p], 0, LEN);
            OK(MPI_Irecv(in[p], (int)LEN, MPI_BYTE, p, k, MPI_COMM_WORLD, &reqs[n++]));
        }
        for (int p = 0; p < size; p++) {
            if (p == rank) continue;
            fill(out[p], k, rank, p);
            OK(MPI_Isend(out[p], (int)LEN, MPI_BYTE, p, k, MPI_COMM_WORLD, &reqs[n++]));
        }
        OK(MPI_Waitall(n, reqs, sts));
        for (int i = 0; i < size - 1; i++) {
            int cnt = -1;
            OK(MPI_Get_count(&sts[i], MPI_BYTE, &cnt));
            CHECK(cnt == (int)LEN && sts[i].MPI_TAG == k);
        }
        for (int p = 0; p < size; p++)
            if (p != rank) verify(in[p], k, p, rank);
        if (progress) {
            printf("exchange rank %d round %d\n", rank, k);
            fflush(stdout);
        }
    }
    for (int p = 0; p < size; p++) {
        free(out[p]);
        free(in[p]);
    }
    int rc = MPI_Finalize();
    if (rc != MPI_SUCCESS) {
        fprintf(stderr, "exchange: rank %d: MPI_Finalize returned %d\n", rank, rc);
        return 1;
    }
    printf("exchange OK rank %d rounds %d\n", rank, rounds);
    return 0;
}
