/* errhandler.c: user error handlers (called with the communicator and code of an error raised on
   it, then the call returns the code), MPI_Comm_call_errhandler, handler inheritance at dup, and
   user error classes/codes/strings round-tripping through MPI_Error_class / MPI_Error_string. */
#include "check.h"

static int calls;
static int last_code;
static MPI_Comm last_comm;

static void handler(MPI_Comm *comm, int *code, ...) {
    calls++;
    last_code = *code;
    last_comm = *comm;
}

int main(int argc, char **argv) {
    int size;
    OK(MPI_Init(&argc, &argv));
    OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    OK(MPI_Comm_size(MPI_COMM_WORLD, &size));

    MPI_Errhandler eh, got;
    OK(MPI_Comm_create_errhandler(handler, &eh));
    CHECK(eh != MPI_ERRHANDLER_NULL && eh != MPI_ERRORS_RETURN);
    MPI_Comm c;
    OK(MPI_Comm_dup(MPI_COMM_WORLD, &c));
    OK(MPI_Comm_set_errhandler(c, eh));
    OK(MPI_Comm_get_errhandler(c, &got));
    CHECK(got == eh);
    OK(MPI_Errhandler_free(&got));
    CHECK(got == MPI_ERRHANDLER_NULL);

    /* An error on c: the handler sees c and the code, then the call returns the code. */
    int v = 0;
    int rc = MPI_Send(&v, 1, MPI_INT, size + 5, 0, c);
    CHECK(rc == MPI_ERR_RANK);
    CHECK(calls == 1 && last_code == MPI_ERR_RANK && last_comm == c);

    /* A dup inherits the handler; an error on MPI_COMM_WORLD does not call it. */
    MPI_Comm d;
    OK(MPI_Comm_dup(c, &d));
    rc = MPI_Send(&v, 1, MPI_INT, 0, -7, d);
    CHECK(rc == MPI_ERR_TAG && calls == 2 && last_comm == d);

    /* Freeing the handler while communicators use it: they keep it. */
    OK(MPI_Errhandler_free(&eh));
    CHECK(eh == MPI_ERRHANDLER_NULL);
    rc = MPI_Comm_call_errhandler(c, MPI_ERR_OTHER);
    CHECK(rc == MPI_SUCCESS && calls == 3 && last_code == MPI_ERR_OTHER && last_comm == c);

    /* User error classes, codes and strings. */
    int cls, code, code2, rcls, len;
    char text[MPI_MAX_ERROR_STRING];
    OK(MPI_Add_error_class(&cls));
    CHECK(cls > MPI_ERR_LASTCODE);
    OK(MPI_Add_error_code(cls, &code));
    OK(MPI_Add_error_code(MPI_ERR_ARG, &code2));
    CHECK(code != cls && code2 != code);
    OK(MPI_Error_class(code, &rcls));
    CHECK(rcls == cls);
    OK(MPI_Error_class(cls, &rcls));
    CHECK(rcls == cls);
    OK(MPI_Error_class(code2, &rcls));
    CHECK(rcls == MPI_ERR_ARG);
    OK(MPI_Error_string(code, text, &len)); /* no string set yet: "" (MPI_Add_error_string) */
    CHECK(text[0] == '\0' && len == 0);
    OK(MPI_Add_error_string(code, "the widget is out of sprockets"));
    OK(MPI_Error_string(code, text, &len));
    CHECK(strcmp(text, "the widget is out of sprockets") == 0 && len == (int)strlen(text));
    OK(MPI_Add_error_string(cls, "widget trouble"));
    OK(MPI_Error_string(cls, text, &len));
    CHECK(strcmp(text, "widget trouble") == 0);
    int *last, flag;
    OK(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_LASTUSEDCODE, &last, &flag));
    CHECK(flag && *last == code2);

    /* A user code raised on c reaches the handler as is. */
    OK(MPI_Comm_call_errhandler(c, code));
    CHECK(calls == 4 && last_code == code);

    OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    CHECK(MPI_Add_error_string(MPI_ERR_ARG, "no") != MPI_SUCCESS);
    CHECK(MPI_Remove_error_class(cls) != MPI_SUCCESS);   /* still has a code */
    CHECK(MPI_Remove_error_code(code) != MPI_SUCCESS);    /* still has a string */
    OK(MPI_Remove_error_string(code));
    OK(MPI_Remove_error_code(code));
    CHECK(MPI_Remove_error_class(cls) != MPI_SUCCESS);   /* still has a string */
    OK(MPI_Remove_error_string(cls));
    OK(MPI_Remove_error_class(cls));
    CHECK(MPI_Error_class(cls, &rcls) != MPI_SUCCESS);
    CHECK(calls == 4);   /* errors on MPI_COMM_WORLD never reached c's handler */

    MPI_Errhandler none;
    CHECK(MPI_Win_create_errhandler(NULL, &none) == MPI_ERR_UNSUPPORTED_OPERATION);

    OK(MPI_Comm_free(&d));
    OK(MPI_Comm_free(&c));
    OK(MPI_Finalize());
    printf("PASS errhandler\n");
    return 0;
}
