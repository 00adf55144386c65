/* sessions.c: the MPI 4 sessions model alone (MPI_Init is never called): process sets and their
   info, a communicator from mpi://WORLD with an Allreduce and a ring Sendrecv, communicators of
   the same group with two tags (also made at once by two threads) and of two groups with one
   tag kept apart, one from mpi://SELF,
   a session buffer, a session error handler, the error paths under MPI_ERRORS_RETURN, and the
   runtime's end with the last session. */
#include <pthread.h>
#include "check.h"

static int size;

/* The error class of a call's result. */
static int class_of(int code) {
    int c = -1;
    OK(MPI_Error_class(code, &c));
    return c;
}

static void expect_pset_size(MPI_Session s, const char *name, int want) {
    MPI_Info info;
    char value[16];
    int len = sizeof value, flag = 0;
    OK(MPI_Session_get_pset_info(s, name, &info));
    OK(MPI_Info_get_string(info, "mpi_size", &len, value, &flag));
    CHECK(flag && atoi(value) == want);
    OK(MPI_Info_free(&info));
}

static void check_psets(MPI_Session s) {
    int n = -1, saw_world = 0, saw_self = 0;
    OK(MPI_Session_get_num_psets(s, MPI_INFO_NULL, &n));
    CHECK(n == 2);
    for (int i = 0; i < n; i++) {
        char name[MPI_MAX_PSET_NAME_LEN], small[5];
        int len = 0, room = sizeof small;
        OK(MPI_Session_get_nth_pset(s, MPI_INFO_NULL, i, &len, NULL)); /* 0: asks for the size */
        CHECK(len > 5 && len <= MPI_MAX_PSET_NAME_LEN);
        OK(MPI_Session_get_nth_pset(s, MPI_INFO_NULL, i, &len, name));
        CHECK((int)strlen(name) == len - 1);
        /* A buffer too small gets the name truncated and the size needed. */
        OK(MPI_Session_get_nth_pset(s, MPI_INFO_NULL, i, &room, small));
        CHECK(room == len && strlen(small) == 4 && strncmp(small, name, 4) == 0);
        saw_world += strcmp(name, "mpi://WORLD") == 0;
        saw_self += strcmp(name, "mpi://SELF") == 0;
    }
    CHECK(saw_world == 1 && saw_self == 1);
    expect_pset_size(s, "mpi://WORLD", size);
    expect_pset_size(s, "mpi://self", 1); /* names compare without case */
}

/* Allreduce and a ring Sendrecv on comm, whose members are the world ranks `members`. */
static void exercise(MPI_Comm comm, const int *members) {
    int r, n, sum = -1, max = -1, got = -1;
    OK(MPI_Comm_rank(comm, &r));
    OK(MPI_Comm_size(comm, &n));
    CHECK(members[r] == rank);
    int mine = rank + 1, want_sum = 0, want_max = 0;
    for (int i = 0; i < n; i++) {
        want_sum += members[i] + 1;
        want_max = members[i] + 1 > want_max ? members[i] + 1 : want_max;
    }
    OK(MPI_Allreduce(&mine, &sum, 1, MPI_INT, MPI_SUM, comm));
    OK(MPI_Allreduce(&mine, &max, 1, MPI_INT, MPI_MAX, comm));
    CHECK(sum == want_sum && max == want_max);
    MPI_Status st;
    OK(MPI_Sendrecv(&rank, 1, MPI_INT, (r + 1) % n, 7, &got, 1, MPI_INT, (r - 1 + n) % n, 7, comm, &st));
    CHECK(got == members[(r - 1 + n) % n] && st.MPI_SOURCE == (r - 1 + n) % n);
}

/* A thread's communicator from the world group with its own tag, used at once with the other's. */
struct job {
    MPI_Group group;
    const char *tag;
    int factor;
    MPI_Comm comm;
};

static void *make_and_use(void *arg) {
    struct job *j = arg;
    int mine = (rank + 1) * j->factor, sum = -1, got = -1, right = (rank + 1) % size, left = (rank - 1 + size) % size;
    OK(MPI_Comm_create_from_group(j->group, j->tag, MPI_INFO_NULL, MPI_ERRORS_RETURN, &j->comm));
    OK(MPI_Allreduce(&mine, &sum, 1, MPI_INT, MPI_SUM, j->comm));
    CHECK(sum == j->factor * size * (size + 1) / 2);
    OK(MPI_Sendrecv(&mine, 1, MPI_INT, right, 5, &got, 1, MPI_INT, left, 5, j->comm, MPI_STATUS_IGNORE));
    CHECK(got == (left + 1) * j->factor);
    return NULL;
}

static void two_threads(MPI_Group world_group) {
    struct job jobs[2] = {{world_group, "org.partyline.test.thread0", 1, MPI_COMM_NULL},
                          {world_group, "org.partyline.test.thread1", 2, MPI_COMM_NULL}};
    pthread_t th[2];
    for (int t = 0; t < 2; t++) {
        int which = rank % 2 ? 1 - t : t; /* odd ranks start them the other way round */
        CHECK(pthread_create(&th[which], NULL, make_and_use, &jobs[which]) == 0);
    }
    for (int t = 0; t < 2; t++) CHECK(pthread_join(th[t], NULL) == 0);
    for (int t = 0; t < 2; t++) OK(MPI_Comm_free(&jobs[t].comm));
}

static int handler_calls, handler_code;
static MPI_Session handler_session;

static void on_session_error(MPI_Session *s, int *code, ...) {
    handler_calls++;
    handler_code = *code;
    handler_session = *s;
}

static void error_paths(MPI_Session s) {
    MPI_Group g = MPI_GROUP_NULL;
    MPI_Info info = MPI_INFO_NULL;
    char name[64];
    int n = 0, len = sizeof name;
    CHECK(class_of(MPI_Session_get_pset_info(s, "mpi://nowhere", &info)) == MPI_ERR_ARG);
    CHECK(class_of(MPI_Group_from_session_pset(s, "@qerty!#$", &g)) == MPI_ERR_ARG && g == MPI_GROUP_NULL);
    CHECK(class_of(MPI_Session_get_nth_pset(s, MPI_INFO_NULL, 2, &len, name)) == MPI_ERR_ARG);
    CHECK(class_of(MPI_Session_get_nth_pset(s, MPI_INFO_NULL, -1, &len, name)) == MPI_ERR_ARG);
    CHECK(class_of(MPI_Session_get_nth_pset(s, MPI_INFO_NULL, 0, NULL, name)) == MPI_ERR_ARG);
    CHECK(class_of(MPI_Session_get_num_psets(s, MPI_INFO_NULL, NULL)) == MPI_ERR_ARG);
    CHECK(class_of(MPI_Session_get_pset_info(s, NULL, &info)) == MPI_ERR_ARG);
    CHECK(class_of(MPI_Session_set_errhandler(s, MPI_ERRHANDLER_NULL)) == MPI_ERR_ARG);
    OK(MPI_Session_get_num_psets(s, MPI_INFO_NULL, &n));
    CHECK(n == 2 && info == MPI_INFO_NULL);

    /* A handler of the program's own: called with the session and the code, for errors too. */
    MPI_Errhandler mine, old;
    OK(MPI_Session_create_errhandler(on_session_error, &mine));
    OK(MPI_Session_set_errhandler(s, mine));
    OK(MPI_Session_call_errhandler(s, MPI_ERR_OTHER));
    CHECK(handler_calls == 1 && handler_code == MPI_ERR_OTHER && handler_session == s);
    CHECK(class_of(MPI_Session_get_pset_info(s, "mpi://nowhere", &info)) == MPI_ERR_ARG);
    CHECK(handler_calls == 2 && handler_code == MPI_ERR_ARG);
    OK(MPI_Session_get_errhandler(s, &old));
    CHECK(old == mine);
    OK(MPI_Errhandler_free(&old));
    OK(MPI_Session_set_errhandler(s, MPI_ERRORS_RETURN));
    OK(MPI_Errhandler_free(&mine));
    OK(MPI_Session_get_errhandler(s, &old));
    CHECK(old == MPI_ERRORS_RETURN);
}

int main(void) {
    MPI_Session s, self_session;
    MPI_Info asked;
    OK(MPI_Info_create(&asked));
    OK(MPI_Info_set(asked, "thread_level", "MPI_THREAD_MULTIPLE"));
    OK(MPI_Session_init(asked, MPI_ERRORS_RETURN, &s));
    OK(MPI_Info_free(&asked));
    int flag = -1;
    OK(MPI_Initialized(&flag));
    CHECK(flag == 0); /* sessions are not the world model */

    MPI_Info used;
    char level[64];
    int len = sizeof level;
    OK(MPI_Session_get_info(s, &used));
    OK(MPI_Info_get_string(used, "thread_level", &len, level, &flag));
    CHECK(flag && strcmp(level, "MPI_THREAD_MULTIPLE") == 0);
    OK(MPI_Info_free(&used));

    MPI_Group world_group, again;
    OK(MPI_Group_from_session_pset(s, "mpi://WORLD", &world_group));
    OK(MPI_Group_size(world_group, &size));
    OK(MPI_Group_rank(world_group, &rank));
    CHECK(size >= 1 && rank >= 0 && rank < size);
    OK(MPI_Group_from_session_pset(s, "MPI://World", &again));
    int cmp = -1;
    OK(MPI_Group_compare(world_group, again, &cmp));
    CHECK(cmp == MPI_IDENT);
    OK(MPI_Group_free(&again));
    check_psets(s);

    int *everyone = malloc(sizeof(int) * size);
    for (int i = 0; i < size; i++) everyone[i] = i;
    MPI_Comm world, world_b;
    OK(MPI_Comm_create_from_group(world_group, "org.partyline.test.a", MPI_INFO_NULL, MPI_ERRORS_RETURN, &world));
    MPI_Errhandler eh;
    OK(MPI_Comm_get_errhandler(world, &eh));
    CHECK(eh == MPI_ERRORS_RETURN);
    exercise(world, everyone);

    /* The same group with another tag: traffic stays apart even with equal message tags. */
    OK(MPI_Comm_create_from_group(world_group, "org.partyline.test.b", MPI_INFO_NULL, MPI_ERRORS_RETURN, &world_b));
    exercise(world_b, everyone);
    int right = (rank + 1) % size, left = (rank - 1 + size) % size, a = 100 + rank, b = 200 + rank, got_a = -1, got_b = -1;
    MPI_Request reqs[2];
    OK(MPI_Isend(&a, 1, MPI_INT, right, 3, world, &reqs[0]));
    OK(MPI_Isend(&b, 1, MPI_INT, right, 3, world_b, &reqs[1]));
    OK(MPI_Recv(&got_b, 1, MPI_INT, left, 3, world_b, MPI_STATUS_IGNORE));
    OK(MPI_Recv(&got_a, 1, MPI_INT, left, 3, world, MPI_STATUS_IGNORE));
    OK(MPI_Waitall(2, reqs, MPI_STATUSES_IGNORE));
    CHECK(got_a == 100 + left && got_b == 200 + left);

    two_threads(world_group);

    /* Two disjoint groups (even and odd ranks) with one tag at once. */
    int half[64], nhalf = 0;
    for (int i = rank % 2; i < size && nhalf < 64; i += 2) half[nhalf++] = i;
    MPI_Group parity_group;
    MPI_Comm parity;
    OK(MPI_Group_incl(world_group, nhalf, half, &parity_group));
    OK(MPI_Comm_create_from_group(parity_group, "org.partyline.test.a", MPI_INFO_NULL, MPI_ERRORS_RETURN, &parity));
    exercise(parity, half);

    /* A buffered send from the session's own buffer. */
    int bufsize = 4 * (int)sizeof(int) + MPI_BSEND_OVERHEAD, detached_size = 0, value = 1000 + rank, got = -1;
    char *buffer = malloc(bufsize), *detached = NULL;
    OK(MPI_Session_attach_buffer(s, buffer, bufsize));
    CHECK(class_of(MPI_Session_attach_buffer(s, buffer, bufsize)) == MPI_ERR_BUFFER); /* already attached */
    OK(MPI_Bsend(&value, 1, MPI_INT, right, 9, world));
    OK(MPI_Recv(&got, 1, MPI_INT, left, 9, world, MPI_STATUS_IGNORE));
    CHECK(got == 1000 + left);
    OK(MPI_Session_flush_buffer(s));
    MPI_Request flushed;
    OK(MPI_Session_iflush_buffer(s, &flushed));
    OK(MPI_Wait(&flushed, MPI_STATUS_IGNORE));
    OK(MPI_Session_detach_buffer(s, &detached, &detached_size));
    CHECK(detached == buffer && detached_size == bufsize);
    CHECK(class_of(MPI_Session_detach_buffer(s, &detached, &detached_size)) == MPI_ERR_BUFFER);
    free(buffer);

    /* mpi://SELF from a second session: a communicator like MPI_COMM_SELF. */
    OK(MPI_Session_init(MPI_INFO_NULL, MPI_ERRORS_RETURN, &self_session));
    MPI_Group self_group;
    MPI_Comm self;
    int self_size = -1, self_rank = -1;
    OK(MPI_Group_from_session_pset(self_session, "mpi://SELF", &self_group));
    OK(MPI_Comm_create_from_group(self_group, "org.partyline.test.self", MPI_INFO_NULL, MPI_ERRORS_RETURN, &self));
    OK(MPI_Comm_size(self, &self_size));
    OK(MPI_Comm_rank(self, &self_rank));
    CHECK(self_size == 1 && self_rank == 0);
    int just_me[1] = {rank};
    exercise(self, just_me);

    error_paths(s);

    /* A session with communicators still made from it cannot end; freed, it can. */
    CHECK(class_of(MPI_Session_finalize(&self_session)) == MPI_ERR_SESSION && self_session != MPI_SESSION_NULL);
    MPI_Comm self_dup; /* derived from the session too, through its communicator */
    OK(MPI_Comm_dup(self, &self_dup));
    OK(MPI_Comm_free(&self));
    CHECK(class_of(MPI_Session_finalize(&self_session)) == MPI_ERR_SESSION);
    OK(MPI_Comm_free(&self_dup));
    OK(MPI_Group_free(&self_group));
    OK(MPI_Session_finalize(&self_session));
    CHECK(self_session == MPI_SESSION_NULL);

    OK(MPI_Comm_free(&parity));
    OK(MPI_Group_free(&parity_group));
    OK(MPI_Comm_free(&world_b));
    OK(MPI_Comm_free(&world));
    OK(MPI_Group_free(&world_group));
    free(everyone);
    OK(MPI_Initialized(&flag));
    CHECK(flag == 0);
    if (rank == 0) printf("PASS sessions\n");
    fflush(stdout);
    OK(MPI_Session_finalize(&s));
    CHECK(s == MPI_SESSION_NULL);
    OK(MPI_Finalized(&flag));
    CHECK(flag == 0); /* the world model never ran */
    /* The runtime ended with the last session; partyline starts MPI once per process. */
    MPI_Session late = MPI_SESSION_NULL;
    CHECK(MPI_Session_init(MPI_INFO_NULL, MPI_ERRORS_RETURN, &late) != MPI_SUCCESS && late == MPI_SESSION_NULL);
    return 0;
}
