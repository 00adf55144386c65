/* init.c: the unikernel's /init.  Linked into the same static binary as the party's program
 * (compiled with -Dmain=party_main), it does what a distribution's init and network scripts
 * would: mount /proc and /dev, bring up lo and eth0 with ioctls, run the program, report its
 * exit status on the console and power the VM off.  There is no shell and no other process.
 *
 * Configuration comes from the kernel command line: NAME=value words the kernel does not know
 * become init's environment (PARTYLINE_* for partyline, UNIKERNEL_IP=a.b.c.d/prefix here), and
 * the words after `--` become the program's arguments. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int party_main(int argc, char **argv);
int __real_MPI_Init(int *argc, char ***argv);

#ifndef PARTY_NAME
#define PARTY_NAME "party"
#endif

static const char *rank = "?";

/* Seconds since the kernel started keeping time (early in boot; firmware time is not included). */
static double since_boot(void) {
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Prints a line and powers off: init must never return, or the kernel panics. */
static void power_off(void) {
    fflush(NULL);
    sync();
    reboot(RB_POWER_OFF);
    /* Only reached if ACPI power-off failed; halting still ends a -no-reboot QEMU via panic. */
    fprintf(stderr, "unikernel: rank %s: reboot(RB_POWER_OFF) failed: %s\n", rank, strerror(errno));
    _exit(127);
}

/* Runs on every exit() path, including a program that calls exit() itself after MPI_Abort. */
static void on_party_exit(int status, void *arg) {
    (void)arg;
    printf("unikernel: rank %s: %s exited with status %d at %.3f s\n", rank, PARTY_NAME, status,
           since_boot());
    power_off();
}

/* ld --wrap=MPI_Init sends the program's MPI_Init here, to time boot and mesh set-up. */
int __wrap_MPI_Init(int *argc, char ***argv) {
    double t0 = since_boot();
    printf("unikernel: rank %s: MPI_Init entered at %.3f s after boot\n", rank, t0);
    int rc = __real_MPI_Init(argc, argv);
    double t1 = since_boot();
    printf("unikernel: rank %s: MPI_Init returned %d at %.3f s (mesh up in %.3f s)\n", rank, rc, t1,
           t1 - t0);
    return rc;
}

static int fail(const char *what) {
    fprintf(stderr, "unikernel: rank %s: %s: %s\n", rank, what, strerror(errno));
    return -1;
}

static int set_flags_up(int fd, const char *ifname) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) return fail("SIOCGIFFLAGS");
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) return fail("SIOCSIFFLAGS");
    return 0;
}

static int set_addr(int fd, const char *ifname, unsigned long req, struct in_addr a) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr = a};
    memcpy(&ifr.ifr_addr, &sin, sizeof sin);
    if (ioctl(fd, req, &ifr) < 0) return fail(req == SIOCSIFADDR ? "SIOCSIFADDR" : "SIOCSIFNETMASK");
    return 0;
}

/* lo (the kernel gives it 127.0.0.1 when it comes up), then eth0 with UNIKERNEL_IP=a.b.c.d/n;
 * setting the address and netmask makes the kernel add the on-link route. */
static int network(void) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail("socket");
    int rc = set_flags_up(fd, "lo");
    const char *ip = getenv("UNIKERNEL_IP");
    if (rc == 0 && ip != NULL) {
        char buf[32];
        snprintf(buf, sizeof buf, "%s", ip);
        char *slash = strchr(buf, '/');
        int prefix = slash ? atoi(slash + 1) : 24;
        if (slash) *slash = '\0';
        struct in_addr addr, mask;
        if (inet_pton(AF_INET, buf, &addr) != 1 || prefix < 1 || prefix > 32) {
            fprintf(stderr, "unikernel: rank %s: UNIKERNEL_IP=%s is not a.b.c.d/prefix\n", rank, ip);
            return close(fd), -1;
        }
        mask.s_addr = htonl((uint32_t)(0xffffffffull << (32 - prefix)));
        if (set_addr(fd, "eth0", SIOCSIFADDR, addr) < 0 ||
                   set_addr(fd, "eth0", SIOCSIFNETMASK, mask) < 0 || set_flags_up(fd, "eth0") < 0) {
            rc = -1;
        } else {
            printf("unikernel: rank %s: eth0 %s/%d up\n", rank, buf, prefix);
        }
    }
    close(fd);
    return rc;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (getenv("PARTYLINE_RANK")) rank = getenv("PARTYLINE_RANK");
    printf("unikernel: rank %s: init started at %.3f s after boot\n", rank, since_boot());
    on_exit(on_party_exit, NULL);
    /* /proc for glibc (pthread_getattr_np reads /proc/self/maps), /dev for /dev/urandom. */
    mkdir("/proc", 0555);
    mkdir("/dev", 0755);
    mkdir("/tmp", 01777);
    if (mount("proc", "/proc", "proc", 0, NULL) < 0) fail("mount /proc");
    if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) < 0) fail("mount /dev");
    if (mount("tmpfs", "/tmp", "tmpfs", 0, NULL) < 0) fail("mount /tmp");
    if (network() < 0) {
        fprintf(stderr, "unikernel: rank %s: network set-up failed; not starting %s\n", rank, PARTY_NAME);
        exit(126);
    }
    argv[0] = PARTY_NAME;
    exit(party_main(argc, argv));
}
