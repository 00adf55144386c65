//! The generated header compiled as C11 and C++17 with every warning an error, exercising the usual idioms.

use super::{functions, header};
use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// Calls made by the compile test when the header declares the function, so it exercises the
/// usual argument idioms (MPI_IN_PLACE, MPI_STATUS_IGNORE, callback casts) as the API grows.
const CALLS: &[(&str, &str)] = &[
    ("MPI_Init", "MPI_Init(&argc, &argv);"),
    ("MPI_Comm_rank", "MPI_Comm_rank(MPI_COMM_WORLD, &rank); PMPI_Comm_rank(c, &rank);"),
    ("MPI_Comm_size", "MPI_Comm_size(MPI_COMM_WORLD, &rank);"),
    ("MPI_Send", "MPI_Send(buf, 4, MPI_INT, 1, 0, MPI_COMM_WORLD);"),
    ("MPI_Recv", "MPI_Recv(buf, n, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);"),
    ("MPI_Isend", "MPI_Isend(buf, 4, MPI_INT, 1, 0, c, &req);"),
    ("MPI_Wait", "MPI_Wait(&req, &st);"),
    ("MPI_Waitall", "MPI_Waitall(1, &req, MPI_STATUSES_IGNORE);"),
    ("MPI_Allreduce", "MPI_Allreduce(MPI_IN_PLACE, buf, 4, MPI_INT, MPI_SUM, MPI_COMM_WORLD);"),
    ("MPI_Bcast", "MPI_Bcast(buf, 4, MPI_BYTE, 0, MPI_COMM_WORLD);"),
    ("MPI_Op_create", "MPI_Op_create((MPI_User_function *)reduce_fn, 1, &op); MPI_Op_create(uf, 0, &op);"),
    ("MPI_Comm_create_errhandler", "MPI_Comm_create_errhandler(comm_err, &eh);"),
    ("MPI_Get_count", "MPI_Get_count(&st, MPI_INT, &n);"),
    ("MPI_Wtime", "t0 = MPI_Wtime();"),
    ("MPI_Finalize", "MPI_Finalize();"),
];

fn test_source() -> String {
    let calls: String = CALLS
        .iter()
        .filter(|(f, _)| functions().iter().any(|d| d.name == *f))
        .map(|(_, call)| format!("    {call}\n"))
        .collect();
    format!(
        r#"#include <mpi.h>
#include <stddef.h>
#include <string.h>
#ifdef __cplusplus
#define STATIC_ASSERT static_assert
#else
#define STATIC_ASSERT _Static_assert
#endif

STATIC_ASSERT(sizeof(MPI_Status) == 32, "MPI_Status is 8 ints");
STATIC_ASSERT(offsetof(MPI_Status, MPI_ERROR) == 8, "public fields first");
STATIC_ASSERT(sizeof(MPI_Comm) == sizeof(void *), "handles are pointers");
STATIC_ASSERT(sizeof(MPI_Aint) == sizeof(void *), "MPI_Aint is intptr_t");
STATIC_ASSERT(sizeof(MPI_Offset) == 8 && sizeof(MPI_Count) == 8, "64-bit offsets and counts");
STATIC_ASSERT(MPI_VERSION == 5 && MPI_SUBVERSION == 0 && MPI_ABI_VERSION == 1, "versions");
#if MPI_VERSION < 5 || MPI_ANY_SOURCE != -1
#error "constants must work in #if"
#endif

static void reduce_fn(void *in, void *inout, int *len, MPI_Datatype *type) {{
    (void)in; (void)inout; (void)len; (void)type;
}}

static void comm_err(MPI_Comm *comm, int *code, ...) {{
    (void)comm; (void)code;
}}

int check(int argc, char **argv);
int check(int argc, char **argv) {{
    MPI_Status st;
    MPI_Comm c = MPI_COMM_WORLD;
    struct MPI_ABI_Comm *raw = c;
    MPI_Datatype t = MPI_INT;
    MPI_Request req = MPI_REQUEST_NULL;
    MPI_Op op = MPI_OP_NULL;
    MPI_Errhandler eh = MPI_ERRHANDLER_NULL;
    MPI_User_function *uf = reduce_fn;
    MPI_Comm_errhandler_function *ef = comm_err;
    int buf[4] = {{0, 0, 0, 0}};
    int n = 4, rank = 0;
    double t0 = 0.0;
    memset(&st, 0, sizeof st);
    st.MPI_SOURCE = MPI_PROC_NULL;
    if (c == (MPI_Comm)0x101 && raw == MPI_COMM_WORLD && req == MPI_REQUEST_NULL && t != MPI_DATATYPE_NULL) {{
        rank = st.MPI_SOURCE + st.MPI_TAG + st.MPI_ERROR;
    }}
    switch (rank) {{
    case MPI_ANY_SOURCE: case MPI_UNDEFINED: case MPI_SUCCESS: break;
    default: break;
    }}
    (void)argc; (void)argv; (void)op; (void)eh; (void)uf; (void)ef; (void)t0; (void)n;
    (void)MPI_IN_PLACE; (void)MPI_BOTTOM; (void)MPI_LONG_LONG_INT; (void)MPI_C_COMPLEX;
{calls}    return rank;
}}
"#
    )
}

fn compile(compiler_env: &str, default: &str, file: &str, flags: &[&str]) {
    // One directory per compiler: the tests run in parallel.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("header-{compiler_env}"));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("mpi.h"), header()).unwrap();
    let src = dir.join(file);
    fs::write(&src, test_source()).unwrap();
    let compiler = std::env::var(compiler_env).unwrap_or_else(|_| default.to_string());
    let out = Command::new(&compiler)
        .args(flags)
        .args(["-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only", "-I"])
        .arg(&dir)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("running {compiler} (set {compiler_env} to choose another): {e}"));
    assert!(
        out.status.success(),
        "{compiler} rejected mpi.h via {}:\n{}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn header_compiles_as_c() {
    compile("CC", "cc", "check_c.c", &["-std=c11", "-Wstrict-prototypes"]);
}

#[test]
fn header_compiles_as_cxx() {
    compile("CXX", "c++", "check_cxx.cpp", &["-std=c++17"]);
}
