/* flood.c: rank 0 sends COUNT blocking messages of SIZE bytes to rank 1, which computes (sleeps)
   before it receives any; rank 0 then reports its peak resident memory. Send budgets must keep
   that peak bounded, however many messages wait. */
#include "check.h"
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    CHECK(argc == 3);
    int count = atoi(argv[1]);
    int size = atoi(argv[2]);
    char *buf = malloc((size_t)size);
    CHECK(buf != NULL);
    if (rank == 0) {
        for (int i = 0; i < count; i++) {
            memset(buf, i & 0xff, (size_t)size);
            OK(MPI_Send(buf, size, MPI_BYTE, 1, 7, MPI_COMM_WORLD));
        }
        struct rusage usage;
        CHECK(getrusage(RUSAGE_SELF, &usage) == 0);
        printf("flood sender peak rss %ld KiB\n", usage.ru_maxrss);
    } else if (rank == 1) {
        sleep(2);
        for (int i = 0; i < count; i++) {
            OK(MPI_Recv(buf, size, MPI_BYTE, 0, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
            CHECK((unsigned char)buf[0] == (unsigned char)(i & 0xff));
            CHECK((unsigned char)buf[size - 1] == (unsigned char)(i & 0xff));
        }
        printf("flood received %d\n", count);
    }
    free(buf);
    OK(MPI_Finalize());
    return 0;
}
