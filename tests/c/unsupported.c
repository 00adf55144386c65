/* unsupported.c: a function partyline does not implement fails honestly: MPI_ERR_UNSUPPORTED_OPERATION through
   the error handler, a message naming the function and its feature family, and output arguments untouched. */
#include "check.h"

static void expect_unsupported(int code, const char *function, const char *family) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0, class = -1;
    CHECK(code == MPI_ERR_UNSUPPORTED_OPERATION);
    OK(MPI_Error_class(code, &class));
    CHECK(class == MPI_ERR_UNSUPPORTED_OPERATION);
    OK(MPI_Error_string(code, text, &len));
    CHECK(len > 0 && (size_t)len == strlen(text));
    if (!strstr(text, function) || !strstr(text, family) || !strstr(text, "Unsupported MPI features")) {
        fprintf(stderr, "rank %d: message of %s lacks its name or family: %s\n", rank, function, text);
        CHECK(0);
    }
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));

    /* One-sided: the window handle stays as it was. */
    int base[4] = {0, 0, 0, 0};
    MPI_Win win = (MPI_Win)0x7777;
    expect_unsupported(MPI_Win_create(base, sizeof base, sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &win),
                       "MPI_Win_create", "one-sided communication");
    CHECK(win == (MPI_Win)0x7777);
    expect_unsupported(MPI_Put(base, 1, MPI_INT, 0, 0, 1, MPI_INT, MPI_WIN_NULL), "MPI_Put", "one-sided");

    /* MPI-IO: the file handle stays as it was. */
    MPI_File file = (MPI_File)0x5555;
    expect_unsupported(MPI_File_open(MPI_COMM_WORLD, "/nonexistent", MPI_MODE_RDONLY, MPI_INFO_NULL, &file),
                       "MPI_File_open", "MPI-IO");
    CHECK(file == (MPI_File)0x5555);

    /* Dynamic processes: no intercommunicator, no error codes written. */
    MPI_Comm child = (MPI_Comm)0x3333;
    int errcodes[2] = {-7, -7};
    expect_unsupported(MPI_Comm_spawn("true", MPI_ARGV_NULL, 2, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &child, errcodes),
                       "MPI_Comm_spawn", "dynamic process");
    CHECK(child == (MPI_Comm)0x3333 && errcodes[0] == -7 && errcodes[1] == -7);

    /* The profiling entry point is the same stub. */
    expect_unsupported(PMPI_Win_fence(0, MPI_WIN_NULL), "MPI_Win_fence", "one-sided");

    /* The job is still healthy afterwards. */
    int sum = 0, one = 1, size = 0;
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    OK(MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
    CHECK(sum == size);
    MPI_Finalize();
    if (rank == 0) printf("PASS unsupported\n");
    return 0;
}
