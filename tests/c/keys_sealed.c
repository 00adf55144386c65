/* keys_sealed.c: a rank that got its TLS credentials as inherited in-memory files (partyrun across
   hosts) must not pass them on to the programs it starts: after MPI_Init every such descriptor is
   close-on-exec. Prints how many it found, so the test knows they were there. */
#define _DEFAULT_SOURCE
#include "check.h"
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    DIR *dir = opendir("/proc/self/fd");
    CHECK(dir != NULL);
    int found = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        char path[300], target[256];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = '\0';
        if (strncmp(target, "/memfd:partyline", 16) != 0) continue;
        found++;
        int flags = fcntl(atoi(e->d_name), F_GETFD);
        CHECK(flags >= 0 && (flags & FD_CLOEXEC));
    }
    closedir(dir);
    printf("rank %d: %d sealed key files\n", rank, found);
    OK(MPI_Barrier(MPI_COMM_WORLD));
    OK(MPI_Finalize());
    return 0;
}
