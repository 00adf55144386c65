/* stats_traffic.c: exactly known traffic for the PARTYLINE_STATS test (tests/stats.rs), with no collectives.
 * Every rank r, with succ = r+1 and pred = r-1 (mod N):
 *   - one 300-byte self-send (Isend to itself, then Recv), which never waits;
 *   - a token ring of K = 4 rounds: message k of rank r to succ has SIZES[k] + r bytes (0 stays 0), so
 *     r sends 74008 + 3r bytes to succ; the holder sleeps before passing the token on, so every one of the
 *     K receives finds its message not yet there and blocks (sizes 0 to 16K are eager sends, 70000 + r is not);
 *   - then a 0-byte and a 100-byte Isend to succ, received from pred after a pause (unexpected messages).
 * So per rank: succ gets 6 messages, 74108 + 3r bytes; pred's 6 arrive, 74108 + 3 pred bytes; self 1/300 each
 * way; largest sent 70000 + r, received 70000 + pred; between K and K + 3 blocking waits. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <time.h>

#define K 4
static const int SIZES[K] = {0, 8, 4000, 70000};

static void pause_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int size_of(int k, int src) { return SIZES[k] == 0 ? 0 : SIZES[k] + src; }

static unsigned char out[70000 + 64], in[70000 + 64];

int main(int argc, char **argv) {
    int n;
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &n));
    CHECK(n <= 64);
    int succ = (rank + 1) % n, pred = (rank + n - 1) % n;
    MPI_Status st;
    int got;

    MPI_Request self;
    pattern_fill(out, 300, rank, 99);
    OK(MPI_Isend(out, 300, MPI_BYTE, rank, 200, MPI_COMM_WORLD, &self));
    OK(MPI_Recv(in, 300, MPI_BYTE, rank, 200, MPI_COMM_WORLD, &st));
    OK(MPI_Wait(&self, MPI_STATUS_IGNORE));
    pattern_verify(in, 300, rank, 99);

    /* Rank 0 starts late so every other rank is already waiting for the token. */
    if (rank == 0) pause_ms(200);
    for (int k = 0; k < K; k++) {
        if (rank != 0) {
            OK(MPI_Recv(in, sizeof in, MPI_BYTE, pred, k, MPI_COMM_WORLD, &st));
            OK(MPI_Get_count(&st, MPI_BYTE, &got));
            CHECK(got == size_of(k, pred));
            pattern_verify(in, got, pred, k);
        }
        if (rank != 0 || k > 0) pause_ms(30);
        pattern_fill(out, size_of(k, rank), rank, k);
        OK(MPI_Send(out, size_of(k, rank), MPI_BYTE, succ, k, MPI_COMM_WORLD));
        if (rank == 0) {
            OK(MPI_Recv(in, sizeof in, MPI_BYTE, pred, k, MPI_COMM_WORLD, &st));
            OK(MPI_Get_count(&st, MPI_BYTE, &got));
            CHECK(got == size_of(k, pred));
            pattern_verify(in, got, pred, k);
        }
    }

    MPI_Request sends[2];
    static unsigned char hundred[100], back[100];
    pattern_fill(hundred, 100, rank, 7);
    OK(MPI_Isend(NULL, 0, MPI_BYTE, succ, 100, MPI_COMM_WORLD, &sends[0]));
    OK(MPI_Isend(hundred, 100, MPI_BYTE, succ, 101, MPI_COMM_WORLD, &sends[1]));
    pause_ms(100);
    OK(MPI_Recv(NULL, 0, MPI_BYTE, pred, 100, MPI_COMM_WORLD, &st));
    OK(MPI_Recv(back, 100, MPI_BYTE, pred, 101, MPI_COMM_WORLD, &st));
    pattern_verify(back, 100, pred, 7);
    OK(MPI_Waitall(2, sends, MPI_STATUSES_IGNORE));

    OK(MPI_Finalize());
    if (rank == 0) printf("PASS stats_traffic\n");
    return 0;
}
