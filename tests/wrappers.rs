//! The drop-in path end to end: `make install`, mpicc/mpicxx from the prefix, CMake's FindMPI, pkg-config, mpirun.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The prefix `make install` filled, once per test binary; an install failure is
/// reported by every test that needs it rather than retried.
fn prefix() -> PathBuf {
    static PREFIX: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let res = PREFIX.get_or_init(|| make_install("prefix", &[]));
    match res {
        Ok(p) => p.clone(),
        Err(e) => panic!("`make install` into a temporary prefix failed: {e}"),
    }
}

/// `make install PREFIX=<build dir>/<name> <extra>`; the prefix, or why it failed.
fn make_install(name: &str, extra: &[&str]) -> Result<PathBuf, String> {
    let dir = build_dir().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    let mut cmd = Command::new("make");
    cmd.current_dir(root()).arg("install").arg(format!("PREFIX={}", dir.display())).args(extra);
    // The Makefile installs from the repository's target/release; an outer
    // CARGO_TARGET_DIR would make cargo build somewhere else. An outer make's
    // jobserver descriptors are not ours to inherit.
    for v in ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "DESTDIR", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "DEBUG"] {
        cmd.env_remove(v);
    }
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cmd, "make install", secs(1800))));
    match out {
        Ok(out) if out.status.success() => dir.canonicalize().map_err(|e| format!("{}: {e}", dir.display())),
        Ok(out) => Err(out.describe()),
        Err(_) => Err("make install timed out (see the panic above)".to_string()),
    }
}

/// A scratch directory for one test's outputs.
fn work(name: &str) -> PathBuf {
    let dir = build_dir().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create work directory");
    dir
}

/// `program` with none of the variables that could make a test pass by accident:
/// no LD_LIBRARY_PATH (the rpath must do), no compiler override, no PARTYLINE_* job.
fn clean(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    clear_partyline_env(&mut cmd);
    for v in ["LD_LIBRARY_PATH", "PARTYLINE_CC", "PARTYLINE_CXX", "MPI_HOME", "CC", "CXX"] {
        cmd.env_remove(v);
    }
    cmd
}

/// Run `tool` (a path under the prefix) with `args`, expecting success; its stdout, trimmed.
fn query(tool: &Path, args: &[&str]) -> String {
    let mut cmd = clean(tool);
    cmd.args(args);
    let out = run(cmd, format!("{} {}", tool.display(), args.join(" ")), secs(30));
    out.assert_success();
    out.stdout.trim_end().to_string()
}

/// `<prefix>/bin/mpirun -np 3 program`, which must succeed.
fn mpirun3(p: &Path, program: &Path) -> Output {
    let mut cmd = clean(p.join("bin/mpirun"));
    cmd.args(["-np", "3"]).arg(program);
    let out = run(cmd, format!("mpirun -np 3 {}", program.display()), secs(60));
    out.assert_success();
    out
}

#[test]
fn install_layout() {
    let p = prefix();
    for f in ["bin/partyrun", "bin/mpicc", "bin/mpicxx", "include/mpi.h", "lib/libpartyline.so", "lib/libpartyline.a"] {
        assert!(p.join(f).is_file(), "{f} missing from {}", p.display());
    }
    for (link, target) in [
        ("bin/mpirun", "partyrun"),
        ("bin/mpiexec", "partyrun"),
        ("lib/libmpi_abi.so.1", "libpartyline.so"),
        ("lib/libmpi_abi.so", "libmpi_abi.so.1"),
    ] {
        let got = std::fs::read_link(p.join(link)).unwrap_or_else(|e| panic!("{link} is not a symlink: {e}"));
        assert_eq!(got, Path::new(target), "{link}");
    }
    // Stripped (the release build keeps debug info for profiling), the exports intact.
    let so = p.join("lib/libpartyline.so");
    assert!(!has_section(&so, ".debug_info"), "the installed libpartyline.so has debug info");
    let size = std::fs::metadata(&so).expect("libpartyline.so").len();
    assert!(size < 8 << 20, "the installed libpartyline.so is {size} bytes");
    let exports = binutils("nm", &["-D", "--defined-only"], &so);
    assert!(exports.lines().any(|l| l.ends_with(" T MPI_Init")), "MPI_Init is not exported");
    for f in ["lib/libpartyline.a", "bin/partyrun", "bin/mpicc"] {
        assert!(!has_section(&p.join(f), ".debug_info"), "the installed {f} has debug info");
    }
    assert!(!p.join("lib/.debug").exists(), "lib/.debug without DEBUG=1");

    let pc = std::fs::read_to_string(p.join("lib/pkgconfig/partyline.pc")).expect("partyline.pc");
    assert!(pc.contains(&format!("prefix={}\n", p.display())), "{pc}");
    assert!(pc.contains(&format!("Version: {}\n", env!("CARGO_PKG_VERSION"))), "{pc}");

    let mut cmd = clean("pkg-config");
    cmd.args(["--cflags", "--libs", "partyline"]).env("PKG_CONFIG_PATH", p.join("lib/pkgconfig"));
    match cmd.output() {
        Err(e) => eprintln!("SKIP pkg-config check: cannot run pkg-config ({e}); scripts/deps.sh installs it"),
        Ok(out) => {
            let flags = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "pkg-config: {}", String::from_utf8_lossy(&out.stderr));
            let lib = p.join("lib");
            for want in [format!("-I{}/include", p.display()), format!("-L{}", lib.display()), "-lpartyline".into()] {
                assert!(flags.split_whitespace().any(|f| f == want), "pkg-config gave `{flags}`, wanted {want}");
            }
        }
    }
}

#[test]
fn install_debug_keeps_the_debug_info_apart() {
    // After the plain install: both write target/release/partyline.pc, so they must not overlap.
    prefix();
    let p = make_install("prefix-debug", &["DEBUG=1"]).unwrap_or_else(|e| panic!("make install DEBUG=1 failed: {e}"));
    let so = p.join("lib/libpartyline.so");
    let debug = p.join("lib/.debug/libpartyline.so.debug");
    assert!(!has_section(&so, ".debug_info") && has_section(&so, ".gnu_debuglink"));
    assert!(has_section(&debug, ".debug_info"), "{} has no debug info", debug.display());

    let mut cmd = Command::new("make");
    cmd.current_dir(root()).arg("uninstall").arg(format!("PREFIX={}", p.display())).env_remove("DESTDIR");
    run(cmd, "make uninstall", secs(60)).assert_success();
    assert!(!so.exists() && !debug.exists() && !p.join("lib/.debug").exists(), "make uninstall left files behind");
}

#[test]
fn wrappers_answer_findmpi_and_mpich_queries() {
    let p = prefix();
    let (inc, lib) = (p.join("include").display().to_string(), p.join("lib").display().to_string());
    let compile = format!("-I{inc}");
    let link = format!("-L{lib} -lpartyline -Wl,-rpath,{lib}");
    for (tool, cc) in [("mpicc", "cc"), ("mpicxx", "c++")] {
        let w = p.join("bin").join(tool);
        // The forms CMake's FindMPI tries, in its order (with MPI_COMPILER_FLAGS before them).
        assert_eq!(query(&w, &["-showme:compile"]), compile, "{tool}");
        assert_eq!(query(&w, &["-showme:link"]), link, "{tool}");
        assert_eq!(query(&w, &["-O2", "-showme:compile"]), compile, "{tool}");
        assert_eq!(query(&w, &["-compile-info"]), format!("{cc} {compile}"), "{tool}");
        assert_eq!(query(&w, &["-link-info"]), format!("{cc} {compile} {link}"), "{tool}");
        assert_eq!(query(&w, &["-show"]), format!("{cc} {compile} {link}"), "{tool}");
        assert_eq!(query(&w, &["-showme"]), format!("{cc} {compile} {link}"), "{tool}");
        assert_eq!(query(&w, &["-showme:incdirs"]), inc, "{tool}");
        assert_eq!(query(&w, &["-showme:libdirs"]), lib, "{tool}");
        // Open MPI spellings with two dashes, MPICH's older underscores.
        assert_eq!(query(&w, &["--showme:link"]), link, "{tool}");
        assert_eq!(query(&w, &["-compile_info"]), format!("{cc} {compile}"), "{tool}");
        assert_eq!(query(&w, &["-showme:libs"]), "partyline", "{tool}");
        assert_eq!(query(&w, &["-showme:command"]), cc, "{tool}");
        assert_eq!(query(&w, &["-showme:version"]), format!("partyline {}", env!("CARGO_PKG_VERSION")));
        // User arguments appear in place; compile-only runs get no link flags.
        assert_eq!(query(&w, &["-show", "x.c", "-o", "x"]), format!("{cc} {compile} x.c -o x {link}"));
        assert_eq!(query(&w, &["-show", "-c", "x.c"]), format!("{cc} {compile} -c x.c"));
        // --version belongs to the compiler.
        let v = query(&w, &["--version"]);
        assert!(!v.contains("partyline") && !v.is_empty(), "{tool} --version: {v}");
    }
}

#[test]
fn build_tree_wrappers_use_the_repository() {
    // cargo's own mpicc, in the target directory: include/ of the source tree, libraries beside it.
    ensure_library();
    for tool in [env!("CARGO_BIN_EXE_mpicc"), env!("CARGO_BIN_EXE_mpicxx")] {
        let w = Path::new(tool);
        assert_eq!(query(w, &["-showme:incdirs"]), root().join("include").display().to_string());
        assert_eq!(query(w, &["-showme:libdirs"]), target_dir().display().to_string());
    }
}

#[test]
fn wrappers_pass_the_right_arguments_to_the_compiler() {
    let p = prefix();
    let mpicc = p.join("bin/mpicc");
    // `echo` as the compiler shows exactly what the wrapper runs.
    let echo = |args: &[&str]| {
        let mut cmd = clean(&mpicc);
        cmd.env("PARTYLINE_CC", "echo as-cc").args(args);
        let out = run(cmd, format!("PARTYLINE_CC=echo mpicc {}", args.join(" ")), secs(30));
        out.assert_success();
        out.stdout.trim_end().to_string()
    };
    let inc = format!("-I{}/include", p.display());
    let lib = p.join("lib").display().to_string();
    assert_eq!(echo(&["x.c", "-o", "x"]), format!("as-cc {inc} x.c -o x -L{lib} -lpartyline -Wl,-rpath,{lib}"));
    for flag in ["-c", "-E", "-S", "-M", "-MM", "-fsyntax-only"] {
        assert_eq!(echo(&[flag, "x.c"]), format!("as-cc {inc} {flag} x.c"), "{flag} must not link");
    }
    assert_eq!(echo(&["-v"]), format!("as-cc {inc} -v"), "no input: nothing to link");
    let mut cmd = clean(&mpicc);
    cmd.env("PARTYLINE_CC", "ccache gcc").arg("-show");
    let out = run(cmd, "PARTYLINE_CC='ccache gcc' mpicc -show", secs(30));
    assert!(out.stdout.starts_with(&format!("ccache gcc {inc} ")), "{}", out.describe());
}

#[test]
fn wrapper_errors_are_clear() {
    let p = prefix();
    let dir = work("wrapper-errors");
    let mpicc = p.join("bin/mpicc");

    let bad = dir.join("bad.c");
    std::fs::write(&bad, "int main(void) { return oops; }\n").expect("write bad.c");
    let mut cmd = clean(&mpicc);
    cmd.arg(&bad).arg("-o").arg(dir.join("bad"));
    let out = run(cmd, "mpicc bad.c", secs(60));
    assert_eq!(out.code(), Some(1), "the compiler's exit status: {}", out.describe());
    out.assert_stderr_contains("oops");

    let mut cmd = clean(&mpicc);
    cmd.env("PARTYLINE_CC", "/nonexistent/cc").arg(root().join("c-examples/hello.c"));
    let out = run(cmd, "PARTYLINE_CC=/nonexistent/cc mpicc", secs(30));
    assert_eq!(out.code(), Some(127), "{}", out.describe());
    out.assert_stderr_contains("mpicc: cannot run the C compiler `/nonexistent/cc`");
    out.assert_stderr_contains("PARTYLINE_CC");

    let mut cmd = clean(&mpicc);
    cmd.arg("-showme:bogus");
    let out = run(cmd, "mpicc -showme:bogus", secs(30));
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    out.assert_stderr_contains("unknown option -showme:bogus");

    // A wrapper copied away from its installation cannot guess where partyline is.
    let stray = dir.join("bin/mpicc");
    std::fs::create_dir_all(stray.parent().expect("bin")).expect("mkdir");
    std::fs::copy(&mpicc, &stray).expect("copy mpicc");
    let mut cmd = clean(&stray);
    cmd.arg("-showme:compile");
    let out = run(cmd, "stray mpicc", secs(30));
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    out.assert_stderr_contains("mpicc: cannot find mpi.h next to");
    out.assert_stderr_contains("is partyline installed correctly?");
}

/// Whether the binary has a RUNPATH or RPATH naming `dir`, per `readelf -d`.
fn assert_rpath(binary: &Path, dir: &Path) {
    let mut cmd = Command::new("readelf");
    cmd.arg("-d").arg(binary);
    let out = run(cmd, "readelf -d", secs(30));
    out.assert_success();
    let line = out.stdout.lines().find(|l| l.contains("(RUNPATH)") || l.contains("(RPATH)"));
    let line = line.unwrap_or_else(|| panic!("{} has no RUNPATH/RPATH: {}", binary.display(), out.describe()));
    assert!(line.contains(&format!("[{}]", dir.display())), "{line}");
}

#[test]
fn mpicc_builds_programs_that_run_without_ld_library_path() {
    let p = prefix();
    let dir = work("mpicc-hello");
    let hello = dir.join("hello");
    let mut cmd = clean(p.join("bin/mpicc"));
    cmd.current_dir(&dir).args(["-std=c11", "-Wall", "-Werror"]).arg(root().join("c-examples/hello.c"));
    cmd.args(["-o", "hello"]);
    run(cmd, "mpicc hello.c -o hello", secs(120)).assert_success();
    // Compile and link as separate steps, as make and CMake do.
    let mut cmd = clean(p.join("bin/mpicc"));
    cmd.current_dir(&dir).arg("-c").arg(root().join("c-examples/hello.c")).args(["-o", "hello.o"]);
    run(cmd, "mpicc -c hello.c", secs(120)).assert_success();
    let mut cmd = clean(p.join("bin/mpicc"));
    cmd.current_dir(&dir).args(["hello.o", "-o", "hello2"]);
    run(cmd, "mpicc hello.o -o hello2", secs(120)).assert_success();

    for bin in [&hello, &dir.join("hello2")] {
        assert_rpath(bin, &p.join("lib"));
        let mut cmd = clean("ldd");
        cmd.arg(bin);
        let out = run(cmd, "ldd", secs(30));
        out.assert_stdout_contains(&format!("libmpi_abi.so.1 => {}/lib/libmpi_abi.so.1", p.display()));
        let out = mpirun3(&p, bin);
        for r in 0..3 {
            out.assert_stdout_contains(&format!("Hello from rank {r} of 3 on "));
        }
    }
}

#[test]
fn mpicxx_builds_programs_that_run_without_ld_library_path() {
    let p = prefix();
    let dir = work("mpicxx-header");
    let bin = dir.join("header");
    let mut cmd = clean(p.join("bin/mpicxx"));
    cmd.args(["-std=c++17", "-Wall", "-Wextra", "-Werror"])
        .arg(root().join("tests/cxx/header.cpp"))
        .arg("-o")
        .arg(&bin);
    run(cmd, "mpicxx header.cpp", secs(120)).assert_success();
    assert_rpath(&bin, &p.join("lib"));
    mpirun3(&p, &bin).assert_pass("header");
}

/// cmake is there, or scripts/deps.sh installs it; false (after saying why) if neither.
fn have_cmake() -> bool {
    let works = || Command::new("cmake").arg("--version").output().is_ok_and(|o| o.status.success());
    if works() {
        return true;
    }
    let out = run(Command::new(root().join("scripts/deps.sh")), "scripts/deps.sh", secs(600));
    if works() {
        return true;
    }
    eprintln!("SKIP: cmake is missing and scripts/deps.sh could not install it: {}", out.describe());
    false
}

/// Configure and build `source` in a fresh directory with `configure` adjusting the
/// cmake command; returns the build directory and the configure output.
fn cmake_build(name: &str, source: &Path, configure: impl FnOnce(&mut Command)) -> (PathBuf, Output) {
    let build = work(name);
    let mut cmd = clean("cmake");
    cmd.arg("-S").arg(source).arg("-B").arg(&build);
    configure(&mut cmd);
    let conf = run(cmd, format!("cmake configure ({name})"), secs(300));
    conf.assert_success();
    let mut cmd = clean("cmake");
    cmd.arg("--build").arg(&build).arg("--parallel");
    run(cmd, format!("cmake --build ({name})"), secs(600)).assert_success();
    (build, conf)
}

/// Build tests/cmake one way and check FindMPI chose partyline and every program runs.
fn cmake_check(name: &str, configure: impl FnOnce(&mut Command, &Path), mpiexec_from_prefix: bool) {
    if !have_cmake() {
        return;
    }
    let p = prefix();
    let (build, conf) = cmake_build(name, &root().join("tests/cmake"), |cmd| configure(cmd, &p));
    let found = |var: &str, want: String| {
        conf.assert_stdout_contains(&format!("partyline-check {var}={want}\n"));
    };
    found("MPI_C_COMPILER", format!("{}/bin/mpicc", p.display()));
    found("MPI_CXX_COMPILER", format!("{}/bin/mpicxx", p.display()));
    found("MPI_INCLUDE_PATH", format!("{}/include", p.display()));
    found("MPI_LIBRARIES", format!("{}/lib/libpartyline.so", p.display()));
    found("MPI_C_VERSION", "5.0".into());
    if mpiexec_from_prefix {
        found("MPIEXEC_EXECUTABLE", format!("{}/bin/mpiexec", p.display()));
    }
    for prog in ["legacy_c", "legacy_cxx", "targets/target_c", "targets/target_cxx"] {
        let variant = prog.rsplit('/').next().unwrap_or(prog);
        let out = mpirun3(&p, &build.join(prog));
        out.assert_stdout_contains(&format!("{variant} library: partyline "));
        for r in 0..3 {
            out.assert_stdout_contains(&format!("{variant} rank {r} of 3 got {}\n", (r + 2) % 3));
        }
    }
}

/// Put `dir` at the front of the command's PATH.
fn path_first(cmd: &mut Command, dir: &Path) {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&path));
    cmd.env("PATH", std::env::join_paths(dirs).expect("PATH entries without ':'"));
}

#[test]
fn cmake_finds_the_wrappers_on_path() {
    cmake_check("cmake-path", |cmd, p| path_first(cmd, &p.join("bin")), true);
}

#[test]
fn cmake_with_explicit_wrapper_paths() {
    // mpiexec is still looked up on PATH here (FindMPI's rule), so it is not checked.
    cmake_check(
        "cmake-explicit",
        |cmd, p| {
            cmd.arg(format!("-DMPI_C_COMPILER={}/bin/mpicc", p.display()));
            cmd.arg(format!("-DMPI_CXX_COMPILER={}/bin/mpicxx", p.display()));
        },
        false,
    );
}

#[test]
fn cmake_with_mpi_home() {
    cmake_check(
        "cmake-home",
        |cmd, p| {
            cmd.arg(format!("-DMPI_HOME={}", p.display()));
        },
        true,
    );
}

#[test]
fn mpc_example_builds_unmodified_with_cmake() {
    let source = root().join("c-examples/mpc");
    if !source.join("CMakeLists.txt").is_file() {
        eprintln!("SKIP: c-examples/mpc/CMakeLists.txt does not exist");
        return;
    }
    if !have_cmake() {
        return;
    }
    let p = prefix();
    // Out of source: the example's directory is left as it is, as a user's checkout would be.
    let (build, conf) = cmake_build("cmake-mpc", &source, |cmd| path_first(cmd, &p.join("bin")));
    conf.assert_stdout_contains(&format!("Found MPI_C: {}/lib/libpartyline.so", p.display()));
    assert_rpath(&build.join("mpc"), &p.join("lib"));
    let mut cmd = clean(p.join("bin/mpirun"));
    cmd.args(["-np", "3"]).arg(build.join("mpc"));
    let out = run(cmd, "mpirun -np 3 mpc", secs(300));
    out.assert_success();
    out.assert_stdout_contains("Alice learns 875");
}
