/* check.h: assertions shared by the C test programs. Each program defines `rank`; a failed
   check names the file, line, rank and condition, then ends the whole job. */
#ifndef PARTYLINE_TEST_CHECK_H
#define PARTYLINE_TEST_CHECK_H

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: rank %d: CHECK failed: %s\n", __FILE__,      \
                    __LINE__, rank, #cond);                                      \
            fflush(stderr);                                                      \
            MPI_Abort(MPI_COMM_WORLD, 1);                                        \
            exit(1);                                                             \
        }                                                                        \
    } while (0)
#define OK(call) CHECK((call) == MPI_SUCCESS)

#endif
