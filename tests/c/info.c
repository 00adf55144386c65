/* info.c: info objects (set/get/nthkey/dup/delete and their errors), MPI_INFO_ENV, communicator
   hints, MPI_Abi_get_version/info, handle toint/fromint round trips, MPI_Pcontrol, and MPI_T
   reporting no variables. */
#include "check.h"

/* The standard's own prototype: mpi.h's `int MPI_Pcontrol(int level, ...)` must be compatible
   (a by-value parameter's const is not part of the function type). */
int MPI_Pcontrol(const int level, ...);

int main(int argc, char **argv) {
    int size, flag, n, len;
    char value[MPI_MAX_INFO_VAL], key[MPI_MAX_INFO_KEY];
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));

    MPI_Info info, copy;
    OK(MPI_Info_create(&info));
    OK(MPI_Info_get_nkeys(info, &n));
    CHECK(n == 0);
    OK(MPI_Info_set(info, "alpha", "one"));
    OK(MPI_Info_set(info, "beta", "two"));
    OK(MPI_Info_set(info, "alpha", "uno"));
    OK(MPI_Info_get_nkeys(info, &n));
    CHECK(n == 2);
    OK(MPI_Info_get_nthkey(info, 0, key));
    CHECK(strcmp(key, "alpha") == 0);
    OK(MPI_Info_get_nthkey(info, 1, key));
    CHECK(strcmp(key, "beta") == 0);
    CHECK(MPI_Info_get_nthkey(info, 2, key) == MPI_ERR_ARG);
    OK(MPI_Info_get(info, "alpha", MPI_MAX_INFO_VAL - 1, value, &flag));
    CHECK(flag && strcmp(value, "uno") == 0);
    OK(MPI_Info_get(info, "alpha", 2, value, &flag));   /* truncated to 2 characters */
    CHECK(flag && strcmp(value, "un") == 0);
    OK(MPI_Info_get(info, "gamma", MPI_MAX_INFO_VAL - 1, value, &flag));
    CHECK(!flag);
    OK(MPI_Info_get_valuelen(info, "beta", &len, &flag));
    CHECK(flag && len == 3);
    len = MPI_MAX_INFO_VAL;
    OK(MPI_Info_get_string(info, "beta", &len, value, &flag));
    CHECK(flag && len == 4 && strcmp(value, "two") == 0);
    len = 0;
    OK(MPI_Info_get_string(info, "beta", &len, NULL, &flag));
    CHECK(flag && len == 4);

    OK(MPI_Info_dup(info, &copy));
    OK(MPI_Info_delete(info, "alpha"));
    CHECK(MPI_Info_delete(info, "alpha") == MPI_ERR_INFO_NOKEY);
    OK(MPI_Info_get_nkeys(info, &n));
    CHECK(n == 1);
    OK(MPI_Info_get_nkeys(copy, &n));
    CHECK(n == 2);

    char longkey[MPI_MAX_INFO_KEY + 8];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = 0;
    CHECK(MPI_Info_set(info, longkey, "v") == MPI_ERR_INFO_KEY);
    static char longval[MPI_MAX_INFO_VAL + 8];
    memset(longval, 'v', sizeof longval - 1);
    CHECK(MPI_Info_set(info, "k", longval) == MPI_ERR_INFO_VALUE);
    CHECK(MPI_Info_set(MPI_INFO_ENV, "k", "v") == MPI_ERR_INFO);
    CHECK(MPI_Info_set(MPI_INFO_NULL, "k", "v") == MPI_ERR_INFO);

    /* MPI_INFO_ENV describes the launch. */
    OK(MPI_Info_get(MPI_INFO_ENV, "maxprocs", MPI_MAX_INFO_VAL - 1, value, &flag));
    CHECK(flag && atoi(value) == size);
    OK(MPI_Info_get(MPI_INFO_ENV, "command", MPI_MAX_INFO_VAL - 1, value, &flag));
    CHECK(flag && strstr(value, "info") != NULL);

    /* Communicator hints come back as a new info object. */
    MPI_Comm c;
    MPI_Info used;
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &c));
    OK(MPI_Comm_set_info(c, copy));
    OK(MPI_Comm_get_info(c, &used));
    CHECK(used != copy);
    OK(MPI_Info_get(used, "beta", MPI_MAX_INFO_VAL - 1, value, &flag));
    CHECK(flag && strcmp(value, "two") == 0);
    MPI_Comm c2;
    MPI_Info used2;
    OK(MPI_Comm_dup(c, &c2));   /* a dup has the same hints */
    OK(MPI_Comm_get_info(c2, &used2));
    OK(MPI_Info_get(used2, "alpha", MPI_MAX_INFO_VAL - 1, value, &flag));
    CHECK(flag && strcmp(value, "uno") == 0);
    OK(MPI_Info_free(&used2));
    OK(MPI_Comm_free(&c2));

    /* Handle conversions. */
    CHECK(MPI_Comm_toint(MPI_COMM_WORLD) == 0x101);
    CHECK(MPI_Comm_fromint(MPI_Comm_toint(c)) == c);
    CHECK(MPI_Info_fromint(MPI_Info_toint(used)) == used);
    CHECK(MPI_Type_fromint(MPI_Type_toint(MPI_DOUBLE)) == MPI_DOUBLE);
    CHECK(MPI_Op_toint(MPI_SUM) == 0x21 && MPI_Op_fromint(0x21) == MPI_SUM);
    MPI_Request req;
    int v = rank;
    OK(MPI_Irecv(&v, 1, MPI_INT, rank, 3, MPI_COMM_WORLD, &req));
    CHECK(MPI_Request_fromint(MPI_Request_toint(req)) == req);
    OK(MPI_Send(&v, 1, MPI_INT, rank, 3, MPI_COMM_WORLD));
    OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
    CHECK(MPI_Group_fromint(MPI_Group_toint(MPI_GROUP_EMPTY)) == MPI_GROUP_EMPTY);
    CHECK(MPI_Errhandler_toint(MPI_ERRORS_RETURN) == 0x143);

    OK(MPI_Info_free(&used));
    CHECK(used == MPI_INFO_NULL);
    OK(MPI_Info_free(&copy));
    OK(MPI_Info_free(&info));
    CHECK(MPI_Info_free(&info) == MPI_ERR_INFO);
    OK(MPI_Comm_free(&c));

    /* Hardware resources: the host, as shared memory. */
    MPI_Info hw;
    OK(MPI_Get_hw_resource_info(&hw));
    OK(MPI_Info_get(hw, "mpi_hw_resource_type", MPI_MAX_INFO_VAL - 1, value, &flag));
    CHECK(flag && strcmp(value, "mpi_shared_memory") == 0);
    OK(MPI_Info_free(&hw));

    /* ABI introspection. */
    int major = -1, minor = -1;
    OK(MPI_Abi_get_version(&major, &minor));
    CHECK(major == 1 && minor == 0);
    MPI_Info abi;
    OK(MPI_Abi_get_info(&abi));
    OK(MPI_Info_get(abi, "mpi_aint_size", MPI_MAX_INFO_VAL - 1, value, &flag));
    CHECK(flag && atoi(value) == (int)sizeof(MPI_Aint));
    OK(MPI_Info_get(abi, "mpi_count_size", MPI_MAX_INFO_VAL - 1, value, &flag));
    CHECK(flag && atoi(value) == (int)sizeof(MPI_Count));
    OK(MPI_Info_get(abi, "mpi_offset_size", MPI_MAX_INFO_VAL - 1, value, &flag));
    CHECK(flag && atoi(value) == (int)sizeof(MPI_Offset));
    OK(MPI_Info_free(&abi));
    MPI_Info fortran;
    OK(MPI_Abi_get_fortran_info(&fortran));
    CHECK(fortran == MPI_INFO_NULL);
    int is_set = -1, t = 0, f = 0;
    OK(MPI_Abi_get_fortran_booleans(4, &t, &f, &is_set));
    CHECK(is_set == 0);
    OK(MPI_Pcontrol(1));
    OK(MPI_Pcontrol(2, "extra", 3.5));

    /* MPI_T: no variables, and codes without error handlers. */
    int provided, num;
    CHECK(MPI_T_cvar_get_num(&num) == MPI_T_ERR_NOT_INITIALIZED);
    OK(MPI_T_init_thread(MPI_THREAD_SINGLE, &provided));
    CHECK(provided == MPI_THREAD_SINGLE);
    OK(MPI_T_cvar_get_num(&num));
    CHECK(num == 0);
    OK(MPI_T_pvar_get_num(&num));
    CHECK(num == 0);
    OK(MPI_T_category_get_num(&num));
    CHECK(num == 0);
    OK(MPI_T_source_get_num(&num));
    CHECK(num == 0);
    OK(MPI_T_event_get_num(&num));
    CHECK(num == 0);
    CHECK(MPI_T_category_get_info(0, NULL, NULL, NULL, NULL, NULL, NULL, NULL) == MPI_T_ERR_INVALID_INDEX);
    int index = -1, changed = -1, main_thread = 0;
    CHECK(MPI_T_cvar_get_index("no_such_variable", &index) == MPI_T_ERR_INVALID_NAME && index == -1);
    CHECK(MPI_T_pvar_get_index("no_such_variable", MPI_T_PVAR_CLASS_COUNTER, &index) == MPI_T_ERR_INVALID_NAME);
    MPI_T_cvar_handle cvar = MPI_T_CVAR_HANDLE_NULL;
    CHECK(MPI_T_cvar_handle_alloc(0, NULL, &cvar, &num) == MPI_T_ERR_INVALID_INDEX && cvar == MPI_T_CVAR_HANDLE_NULL);
    CHECK(MPI_T_cvar_read(cvar, &num) == MPI_T_ERR_INVALID_HANDLE);
    MPI_T_pvar_session session = MPI_T_PVAR_SESSION_NULL;
    CHECK(MPI_T_pvar_session_create(&session) == MPI_T_ERR_NOT_SUPPORTED);
    OK(MPI_T_category_changed(&changed));
    CHECK(changed == 0);
    OK(MPI_Is_thread_main(&main_thread));
    CHECK(main_thread == 1);
    OK(MPI_T_finalize());
    CHECK(MPI_T_finalize() == MPI_T_ERR_NOT_INITIALIZED);

    OK(MPI_Finalize());
    printf("PASS info\n");
    return 0;
}
