/* sessions_mixed.c: MPI_Init with two sessions. Session groups match MPI_COMM_WORLD's; session
   calls on MPI_SESSION_NULL, a finalized handle or NULL arguments fail with the right class
   (under MPI_COMM_WORLD's MPI_ERRORS_RETURN, as they name no live session); MPI_Initialized and
   MPI_Finalized follow MPI_Init/MPI_Finalize only; a session outlives MPI_Finalize and keeps
   the runtime (its communicator still works) until it ends. */
#include "check.h"

static int size;

static int class_of(int code) {
    int c = -1;
    OK(MPI_Error_class(code, &c));
    return c;
}

/* A communicator from session s's mpi://WORLD, with the given tag. */
static MPI_Comm world_of(MPI_Session s, const char *tag) {
    MPI_Group g, cg;
    MPI_Comm c;
    int cmp = -1;
    OK(MPI_Group_from_session_pset(s, "mpi://WORLD", &g));
    OK(MPI_Comm_group(MPI_COMM_WORLD, &cg));
    OK(MPI_Group_compare(g, cg, &cmp));
    CHECK(cmp == MPI_IDENT);
    OK(MPI_Comm_create_from_group(g, tag, MPI_INFO_NULL, MPI_ERRORS_RETURN, &c));
    OK(MPI_Group_free(&g));
    OK(MPI_Group_free(&cg));
    OK(MPI_Comm_compare(c, MPI_COMM_WORLD, &cmp));
    CHECK(cmp == MPI_CONGRUENT);
    return c;
}

static void check_sum(MPI_Comm c) {
    int mine = rank * rank, sum = -1, want = 0;
    for (int i = 0; i < size; i++) want += i * i;
    OK(MPI_Allreduce(&mine, &sum, 1, MPI_INT, MPI_SUM, c));
    CHECK(sum == want);
}

static void null_and_stale(MPI_Session stale) {
    int n = -1, len = 0;
    char name[32];
    MPI_Info info = MPI_INFO_NULL;
    MPI_Group g = MPI_GROUP_NULL;
    MPI_Errhandler eh = MPI_ERRHANDLER_NULL;
    MPI_Session sessions[2] = {MPI_SESSION_NULL, stale};
    for (int i = 0; i < 2; i++) {
        MPI_Session s = sessions[i];
        CHECK(class_of(MPI_Session_get_num_psets(s, MPI_INFO_NULL, &n)) == MPI_ERR_SESSION);
        CHECK(class_of(MPI_Session_get_nth_pset(s, MPI_INFO_NULL, 0, &len, name)) == MPI_ERR_SESSION);
        CHECK(class_of(MPI_Session_get_info(s, &info)) == MPI_ERR_SESSION);
        CHECK(class_of(MPI_Session_get_pset_info(s, "mpi://SELF", &info)) == MPI_ERR_SESSION);
        CHECK(class_of(MPI_Group_from_session_pset(s, "mpi://SELF", &g)) == MPI_ERR_SESSION);
        CHECK(class_of(MPI_Session_get_errhandler(s, &eh)) == MPI_ERR_SESSION);
        CHECK(class_of(MPI_Session_set_errhandler(s, MPI_ERRORS_RETURN)) == MPI_ERR_SESSION);
        CHECK(class_of(MPI_Session_call_errhandler(s, MPI_ERR_OTHER)) == MPI_ERR_SESSION);
        CHECK(class_of(MPI_Session_flush_buffer(s)) == MPI_ERR_SESSION);
        MPI_Session copy = s;
        CHECK(class_of(MPI_Session_finalize(&copy)) == MPI_ERR_SESSION);
    }
    CHECK(n == -1 && info == MPI_INFO_NULL && g == MPI_GROUP_NULL && eh == MPI_ERRHANDLER_NULL);
    CHECK(class_of(MPI_Session_finalize(NULL)) == MPI_ERR_ARG);
    CHECK(class_of(MPI_Session_init(MPI_INFO_NULL, MPI_ERRORS_RETURN, NULL)) == MPI_ERR_ARG);
    CHECK(class_of(MPI_Session_init(MPI_INFO_NULL, MPI_ERRHANDLER_NULL, &stale)) == MPI_ERR_ARG);
    MPI_Info bad;
    MPI_Session never = MPI_SESSION_NULL;
    OK(MPI_Info_create(&bad));
    OK(MPI_Info_set(bad, "thread_level", "MPI_THREAD_SOMETIMES"));
    CHECK(class_of(MPI_Session_init(bad, MPI_ERRORS_RETURN, &never)) == MPI_ERR_ARG && never == MPI_SESSION_NULL);
    OK(MPI_Info_free(&bad));
}

int main(int argc, char **argv) {
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));

    MPI_Session one, two;
    MPI_Info asked;
    OK(MPI_Info_create(&asked));
    OK(MPI_Info_set(asked, "thread_level", "mpi_thread_serialized"));
    OK(MPI_Session_init(MPI_INFO_NULL, MPI_ERRORS_RETURN, &one));
    OK(MPI_Session_init(asked, MPI_ERRORS_RETURN, &two));
    OK(MPI_Info_free(&asked));
    CHECK(one != two && one != MPI_SESSION_NULL);
    int provided = -1, flag = -1;
    OK(MPI_Query_thread(&provided));
    CHECK(provided == MPI_THREAD_SINGLE); /* the world model's level, not a session's */
    OK(MPI_Initialized(&flag));
    CHECK(flag == 1);

    MPI_Comm c1 = world_of(one, "mixed"), c2 = world_of(two, "mixed");
    check_sum(c1);
    check_sum(c2);
    check_sum(MPI_COMM_WORLD);

    OK(MPI_Comm_free(&c1));
    MPI_Session stale = one;
    OK(MPI_Session_finalize(&one));
    CHECK(one == MPI_SESSION_NULL);
    null_and_stale(stale);

    /* MPI_Finalize with a session open: the world model ends, the runtime goes on. */
    OK(MPI_Finalize());
    OK(MPI_Finalized(&flag));
    CHECK(flag == 1);
    OK(MPI_Initialized(&flag));
    CHECK(flag == 1);
    check_sum(c2);
    OK(MPI_Comm_free(&c2));
    if (rank == 0) printf("PASS sessions_mixed\n");
    fflush(stdout);
    OK(MPI_Session_finalize(&two));
    return 0;
}
