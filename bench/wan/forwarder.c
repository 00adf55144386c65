/* forwarder.c: a packet-level WAN emulator: TUN devices in each party's network namespace, joined by directed links with delay, rate, a drop-tail queue and random loss. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAXP 8
#define MTU_MIN 576  /* the least every IPv4 host must accept */
#define MTU_MAX 9000 /* the usual jumbo frame */
#define SPIN_NS 60000 /* see the main loop */
#define BATCH 64  /* packets read from one TUN before turning to the others, so no party starves the rest */

/* One directed link i -> j: a FIFO ring of packet slots, ordered by delivery time (departures are serialized). */
struct link {
  uint8_t *data;      /* nslots * mtu */
  uint16_t *len;      /* per slot */
  int64_t *deliver;   /* per slot: CLOCK_MONOTONIC ns at which it reaches the far TUN */
  int64_t *depart;    /* per slot: when its last bit left the sender (for the queue's byte count) */
  uint32_t head, tail, nslots;
  int64_t last_depart; /* when the link finishes transmitting what it has accepted so far */
  uint64_t fwd, fwd_bytes, drop_queue, drop_loss, drop_slots;
};

static int np, tun[MAXP], mtu = 1500; /* wan0's MTU, and a packet slot's size: a read is one bare IP packet */
static struct link links[MAXP][MAXP];
static int64_t delay_ns, queue_bytes;
static double rate_bps, loss;
static uint64_t rng, unknown_dst, non_ipv4, too_big;
static uint32_t base_addr; /* 10.80.0.0 in host order: party i is base + i + 1 */
static volatile sig_atomic_t stop;

static void die(const char *what) {
  fprintf(stderr, "forwarder: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* xorshift64*: reproducible loss from --seed, cheap enough for a million packets a second */
static double uniform(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return (double)((rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* Open wan0 inside the namespace NAME and return its fd, back in our own namespace (the fd keeps working). */
static int open_tun(const char *name, int txqlen) {
  char path[256];
  snprintf(path, sizeof path, "/var/run/netns/%s", name);
  int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int ns = open(path, O_RDONLY | O_CLOEXEC);
  if (self < 0) die("open /proc/self/ns/net");
  if (ns < 0) {
    fprintf(stderr, "forwarder: cannot open namespace %s: %s (create it first: ip netns add %s)\n", path,
            strerror(errno), name);
    exit(1);
  }
  if (setns(ns, CLONE_NEWNET)) die("setns into a party's namespace");
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) die("open /dev/net/tun (is the tun module loaded?)");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strcpy(ifr.ifr_name, "wan0");
  if (ioctl(fd, TUNSETIFF, &ifr)) die("TUNSETIFF wan0");
  /* MTU and queue length through an ordinary socket in the same namespace */
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket");
  ifr.ifr_mtu = mtu;
  if (ioctl(s, SIOCSIFMTU, &ifr)) die("SIOCSIFMTU wan0");
  ifr.ifr_qlen = txqlen;
  if (ioctl(s, SIOCSIFTXQLEN, &ifr)) die("SIOCSIFTXQLEN wan0");
  close(s);
  if (setns(self, CLONE_NEWNET)) die("setns back");
  close(self);
  close(ns);
  return fd;
}

/* Accept a packet read from party i's TUN onto the link to its destination, or count why not. */
static void enqueue(int i, const uint8_t *p, size_t n, int64_t t) {
  if (n < 20 || (p[0] >> 4) != 4) { non_ipv4++; return; }
  if (n > (size_t)mtu) { too_big++; return; }
  uint32_t dst = ((uint32_t)p[16] << 24) | ((uint32_t)p[17] << 16) | ((uint32_t)p[18] << 8) | p[19];
  int64_t j = (int64_t)dst - (int64_t)base_addr - 1;
  if (j < 0 || j >= np || j == i) { unknown_dst++; return; }
  struct link *l = &links[i][j];
  /* bytes waiting to be transmitted: the backlog ahead of this packet, at the link's rate */
  int64_t start = l->last_depart > t ? l->last_depart : t;
  double backlog = (double)(start - t) * rate_bps / 8e9;
  if (backlog + (double)n > (double)queue_bytes) { l->drop_queue++; return; }
  if (loss > 0 && uniform() < loss) { l->drop_loss++; return; }
  if (l->tail - l->head == l->nslots) { l->drop_slots++; return; }
  uint32_t k = l->tail % l->nslots;
  int64_t dep = start + (int64_t)((double)n * 8e9 / rate_bps);
  memcpy(l->data + (size_t)k * mtu, p, n);
  l->len[k] = (uint16_t)n;
  l->depart[k] = dep;
  l->deliver[k] = dep + delay_ns;
  l->last_depart = dep;
  l->tail++;
}

/* Write every packet due by `t` to its destination's TUN; return the earliest delivery still pending (or -1). */
static int64_t deliver_due(int64_t t) {
  int64_t next = -1;
  for (int i = 0; i < np; i++)
    for (int j = 0; j < np; j++) {
      struct link *l = &links[i][j];
      while (l->head != l->tail) {
        uint32_t k = l->head % l->nslots;
        if (l->deliver[k] > t) {
          if (next < 0 || l->deliver[k] < next) next = l->deliver[k];
          break;
        }
        /* a TUN write hands the packet to the far stack at once; a failure (its queue full) is a loss there */
        if (write(tun[j], l->data + (size_t)k * mtu, l->len[k]) == (ssize_t)l->len[k]) {
          l->fwd++;
          l->fwd_bytes += l->len[k];
        } else {
          l->drop_slots++;
        }
        l->head++;
      }
    }
  return next;
}

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static void usage(void) {
  fprintf(stderr,
          "usage: forwarder --ns NS0,NS1[,...] --delay-ms D --rate-mbit R [--loss P] [--queue-bytes N] [--seed S]\n"
          "                 [--net 10.80.0.0] [--txqueuelen N] [--rt-priority N (SCHED_FIFO, default 10; 0: off)]\n"
          "                 [--mtu N (wan0's MTU, %d..%d, default 1500)]\n"
          "  party i's wan0 must get address NET+i+1; every directed link gets the same one-way delay D,\n"
          "  rate R, drop-tail queue N bytes (default: rate x 2D, one round trip's bandwidth-delay product)\n"
          "  and loss probability P per packet. Prints \"ready\" once every wan0 exists; counters on SIGTERM/SIGINT.\n",
          MTU_MIN, MTU_MAX);
  exit(2);
}

int main(int argc, char **argv) {
  char *nslist = NULL;
  double delay_ms = -1, rate_mbit = -1;
  long long qb = -1;
  unsigned long long seed = 1;
  int txqlen = 1000, rtprio = 10;
  const char *net = "10.80.0.0";
  for (int a = 1; a < argc; a++) {
    const char *o = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;
    if (!v) usage();
    if (!strcmp(o, "--ns")) nslist = argv[++a];
    else if (!strcmp(o, "--delay-ms")) delay_ms = atof(argv[++a]);
    else if (!strcmp(o, "--rate-mbit")) rate_mbit = atof(argv[++a]);
    else if (!strcmp(o, "--loss")) loss = atof(argv[++a]);
    else if (!strcmp(o, "--queue-bytes")) qb = atoll(argv[++a]);
    else if (!strcmp(o, "--seed")) seed = strtoull(argv[++a], NULL, 10);
    else if (!strcmp(o, "--net")) net = argv[++a];
    else if (!strcmp(o, "--txqueuelen")) txqlen = atoi(argv[++a]);
    else if (!strcmp(o, "--rt-priority")) rtprio = atoi(argv[++a]);
    else if (!strcmp(o, "--mtu")) {
      char *end;
      long m = strtol(argv[++a], &end, 10);
      if (*end || end == argv[a] || m < MTU_MIN || m > MTU_MAX) {
        fprintf(stderr, "forwarder: --mtu %s: want a whole number of bytes from %d to %d\n", argv[a], MTU_MIN,
                MTU_MAX);
        return 2;
      }
      mtu = (int)m;
    }
    else usage();
  }
  if (!nslist || delay_ms < 0 || rate_mbit <= 0 || loss < 0 || loss >= 1) usage();
  struct in_addr in;
  if (!inet_aton(net, &in)) { fprintf(stderr, "forwarder: --net %s is not an IPv4 address\n", net); return 2; }
  base_addr = ntohl(in.s_addr);
  delay_ns = (int64_t)(delay_ms * 1e6);
  rate_bps = rate_mbit * 1e6;
  queue_bytes = qb >= 0 ? qb : (int64_t)(rate_bps * 2 * delay_ms / 1e3 / 8);
  if (queue_bytes < 3 * mtu) queue_bytes = 3 * mtu; /* a queue must hold a few packets at least */
  rng = seed * 0x9E3779B97F4A7C15ULL + 1;
  /* slots for the queue plus what is in flight on the wire, in packets of 2/3 the MTU on average (full-size ones
     with room for small ones), so the slots' memory is about the same at any MTU */
  double inflight = rate_bps * delay_ms / 1e3 / 8;
  uint64_t nslots = (uint64_t)((queue_bytes + inflight) / (mtu * 2.0 / 3)) + 1024;
  if (nslots > 65536) nslots = 65536;

  char *save = NULL;
  for (char *n = strtok_r(nslist, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
    if (np == MAXP) { fprintf(stderr, "forwarder: at most %d namespaces\n", MAXP); return 2; }
    tun[np++] = open_tun(n, txqlen);
  }
  if (np < 2) usage();
  for (int i = 0; i < np; i++)
    for (int j = 0; j < np; j++) {
      if (i == j) continue;
      struct link *l = &links[i][j];
      l->nslots = (uint32_t)nslots;
      l->data = malloc(nslots * (size_t)mtu);
      l->len = calloc(nslots, sizeof *l->len);
      l->deliver = calloc(nslots, sizeof *l->deliver);
      l->depart = calloc(nslots, sizeof *l->depart);
      if (!l->data || !l->len || !l->deliver || !l->depart) die("allocating link buffers");
    }
  /* the timer wakes us for the next delivery; the default 50 us slack would add that much jitter to every one */
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  /* on a shared, loaded machine an ordinary thread can wait milliseconds for a core, which would show up as delay
     the profile does not ask for: run ahead of ordinary threads (it sleeps whenever it has nothing due) */
  if (rtprio > 0) {
    struct sched_param sp = {.sched_priority = rtprio};
    if (sched_setscheduler(0, SCHED_FIFO, &sp))
      fprintf(stderr, "forwarder: warning: SCHED_FIFO priority %d refused (%s); delays may grow under load\n", rtprio,
              strerror(errno));
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  int ep = epoll_create1(EPOLL_CLOEXEC), tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (ep < 0 || tfd < 0) die("epoll/timerfd");
  for (int i = 0; i <= np; i++) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, i < np ? tun[i] : tfd, &ev)) die("epoll_ctl");
  }
  printf("ready %d parties, delay %.3f ms, rate %.1f Mbit/s, queue %lld bytes, loss %g, MTU %d, %llu slots per link\n",
         np, delay_ms, rate_mbit, (long long)queue_bytes, loss, mtu, (unsigned long long)nslots);
  fflush(stdout);

  static uint8_t buf[65536];
  int64_t armed = -1, next = -1;
  while (!stop) {
    /* Block only when nothing is due within SPIN_NS; otherwise keep passing over the TUNs and the links. A timer
       wake-up on this VM comes 50-100 us late, 5-10% of a 1 ms one-way delay, so the timer is set SPIN_NS early and
       the rest is spun, still reading: a spin that only delivered would leave packets waiting in the TUN queues,
       which at high packet rates (something is always due soon) meant seconds of added queueing and drops. */
    if (next < 0 || next - now_ns() >= SPIN_NS) {
      int64_t wake = next >= 0 ? next - SPIN_NS : -1;
      if (wake != armed) {
        struct itimerspec its = {.it_value = {.tv_sec = wake / 1000000000LL, .tv_nsec = wake % 1000000000LL}};
        if (wake < 0) memset(&its, 0, sizeof its); /* disarm */
        if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL)) die("timerfd_settime");
        armed = wake;
      }
      struct epoll_event evs[MAXP + 1];
      int n = epoll_wait(ep, evs, MAXP + 1, 1000);
      if (n < 0 && errno != EINTR) die("epoll_wait");
      uint64_t expirations;
      if (read(tfd, &expirations, sizeof expirations) > 0) armed = -1; /* fired: the next wake must be set anew */
    }
    /* read every TUN until empty, BATCH packets at a time round-robin */
    int more = 1;
    while (more) {
      more = 0;
      for (int i = 0; i < np; i++) {
        for (int b = 0; b < BATCH; b++) {
          ssize_t k = read(tun[i], buf, sizeof buf);
          if (k < 0) {
            if (errno != EAGAIN && errno != EINTR) die("read from a TUN");
            break;
          }
          enqueue(i, buf, (size_t)k, now_ns());
          if (b == BATCH - 1) more = 1;
        }
      }
      /* deliveries that fall due while we read should not wait for the reading to stop */
      deliver_due(now_ns());
    }
    next = deliver_due(now_ns());
  }
  fprintf(stderr, "forwarder: link counters (packets): from -> to: forwarded (bytes), dropped by queue, by loss, by "
                  "full slots or TUN\n");
  for (int i = 0; i < np; i++)
    for (int j = 0; j < np; j++) {
      if (i == j) continue;
      struct link *l = &links[i][j];
      fprintf(stderr, "forwarder: link %d -> %d: %llu (%llu bytes), %llu, %llu, %llu\n", i, j,
              (unsigned long long)l->fwd, (unsigned long long)l->fwd_bytes, (unsigned long long)l->drop_queue,
              (unsigned long long)l->drop_loss, (unsigned long long)l->drop_slots);
    }
  fprintf(stderr,
          "forwarder: dropped: %llu to unknown destinations, %llu not IPv4, %llu larger than the MTU (%d bytes)\n",
          (unsigned long long)unknown_dst, (unsigned long long)non_ipv4, (unsigned long long)too_big, mtu);
  return 0;
}
