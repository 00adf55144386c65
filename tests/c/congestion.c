/* congestion.c: after MPI_Init, every rank lists the TCP congestion control of each of its
   connected TCP sockets (its links), "rank R links: bbr bbr", so a test can check what
   PARTYLINE_CONGESTION chose on loopback and across hosts. */
#define _DEFAULT_SOURCE
#include "check.h"
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Barrier(MPI_COMM_WORLD));
    char line[1024] = "";
    DIR *dir = opendir("/proc/self/fd");
    CHECK(dir != NULL);
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        int fd = atoi(e->d_name);
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        char cc[16] = "";
        socklen_t cclen = sizeof cc;
        /* Connected TCP sockets only: listeners have no peer. */
        if (getpeername(fd, (struct sockaddr *)&peer, &len) != 0) continue;
        if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, &cclen) != 0) continue;
        if (strlen(line) + strlen(cc) + 2 < sizeof line) {
            strcat(line, " ");
            strcat(line, cc);
        }
    }
    closedir(dir);
    printf("rank %d links:%s\n", rank, line);
    OK(MPI_Barrier(MPI_COMM_WORLD));
    OK(MPI_Finalize());
    return 0;
}
