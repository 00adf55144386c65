//! Shared helpers for the process-level tests: build the library and C programs, run them with hard timeouts.
#![allow(dead_code)]

mod elf;
mod faultproxy;
mod namespaces;
mod ports;
mod process;
mod sshhosts;
#[allow(unused_imports)] // only the install checks use it
pub use elf::*;
#[allow(unused_imports)] // only the tests that break links use it
pub use faultproxy::*;
#[allow(unused_imports)] // only the tests with namespaces as hosts use it
pub use namespaces::*;
pub use ports::*;
pub use process::*;
#[allow(unused_imports)] // only the multi-host tests use it
pub use sshhosts::*;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Every `PARTYLINE_*` variable a test might inherit; cleared before each launch
/// so an outer environment cannot leak into the job under test.
const PARTYLINE_VARS: &[&str] = &[
    "PARTYLINE_RANK",
    "PARTYLINE_SIZE",
    "PARTYLINE_PEERS",
    "PARTYLINE_HOSTFILE",
    "PARTYLINE_JOB_ID",
    "PARTYLINE_CONNECT_TIMEOUT",
    "PARTYLINE_LISTEN_FD",
    "PARTYLINE_LOCAL_LISTEN_FD",
    "PARTYLINE_LOCAL_LINKS",
    "PARTYLINE_LISTEN",
    "PARTYLINE_LAUNCHER",
    "PARTYLINE_COORDINATOR",
    "PARTYLINE_COORDINATOR_ROLE",
    "PARTYLINE_ADVERTISE",
    "PARTYLINE_TLS_DIR",
    "PARTYLINE_TLS_CA",
    "PARTYLINE_TLS_CERT",
    "PARTYLINE_TLS_KEY",
    "PARTYLINE_TLS_PSK_FILE",
    "PARTYLINE_TLS_NAME",
    "PARTYLINE_INSECURE",
    "PARTYLINE_STATS",
    "PARTYLINE_SEND_LIMIT",
    "PARTYLINE_LINK_TIMEOUT",
    "PARTYLINE_RECONNECT_TIMEOUT",
    "PARTYLINE_UNEXPECTED_LIMIT",
    "PARTYLINE_VERBOSE",
    "PARTYLINE_EXIT_REPORT",
];

/// The launcher binary built by cargo for this test run.
pub fn partyrun() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_partyrun"))
}

/// The profile directory (target/debug, target/release, ...): holds libpartyline.so.
pub fn target_dir() -> PathBuf {
    partyrun().parent().expect("partyrun has a parent directory").to_path_buf()
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Scale factor for every timeout (PARTYLINE_TEST_TIMEOUT_SCALE), for slow machines.
pub fn secs(s: u64) -> Duration {
    let scale = std::env::var("PARTYLINE_TEST_TIMEOUT_SCALE").ok().and_then(|v| v.parse::<f64>().ok()).unwrap_or(1.0);
    Duration::from_secs_f64(s as f64 * scale.max(0.1))
}

/// Per-process scratch directory for compiled programs; stale ones from dead
/// test processes are removed the first time.
pub fn build_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let tmp = std::env::temp_dir();
        if let Ok(entries) = std::fs::read_dir(&tmp) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(pid) = name.strip_prefix("partyline-tests-").and_then(|p| p.parse::<u32>().ok()) {
                    if !Path::new(&format!("/proc/{pid}")).exists() {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                }
            }
        }
        let dir = tmp.join(format!("partyline-tests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create test build directory");
        dir
    })
}

/// `cargo test` builds the library only as an rlib, so build the cdylib the C
/// programs link against (once per test binary; a no-op when up to date).
/// PARTYLINE_TEST_NO_BUILD=1 skips this and uses whatever is in the target dir.
pub fn ensure_library() -> PathBuf {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let dir = target_dir();
        if std::env::var_os("PARTYLINE_TEST_NO_BUILD").is_none() {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let profile = dir.file_name().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
            let mut cmd = Command::new(cargo);
            cmd.current_dir(root()).args(["build", "--lib", "--quiet"]);
            // Cargo runs this test with our package's variables (CARGO_PKG_NAME, OUT_DIR, ...). Build
            // scripts that watch those names (ring's does) would see them change between this build
            // and a plain `cargo build`, and each would rebuild ring and all above it.
            for (name, _) in std::env::vars_os() {
                let name = name.to_string_lossy();
                let ours = ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CRATE_", "CARGO_BIN_", "CARGO_PRIMARY_PACKAGE"];
                if name == "OUT_DIR" || name == "CARGO_TARGET_TMPDIR" || ours.iter().any(|p| name.starts_with(p)) {
                    cmd.env_remove(&*name);
                }
            }
            cmd.arg("--target-dir").arg(dir.parent().expect("target dir"));
            match profile.as_str() {
                "debug" => {}
                "release" => {
                    cmd.arg("--release");
                }
                other => {
                    cmd.args(["--profile", other]);
                }
            }
            let out = cmd.output().expect("run cargo build --lib");
            assert!(
                out.status.success(),
                "cargo build --lib failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let so = dir.join("libpartyline.so");
        assert!(so.exists(), "{} is missing: build the library first (cargo build)", so.display());
        // The library's SONAME is the standard-ABI name, which programs then look
        // for at run time; provide it next to the library as `make` does.
        let abi = dir.join("libmpi_abi.so.1");
        if std::fs::read_link(&abi).map(|t| t != Path::new("libpartyline.so")).unwrap_or(true) {
            let tmp = dir.join(format!(".libmpi_abi.so.1.{}", std::process::id()));
            let _ = std::fs::remove_file(&tmp);
            std::os::unix::fs::symlink("libpartyline.so", &tmp).expect("symlink libmpi_abi.so.1");
            std::fs::rename(&tmp, &abi).expect("install libmpi_abi.so.1");
        }
        so
    })
    .clone()
}

/// Compile a C (`.c`, C11) or C++ (`.cpp`, C++17) file given relative to the
/// repository root against include/mpi.h and libpartyline, warnings as errors.
/// Cached: each file is compiled once per test binary.
pub fn compile(rel_src: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(|| Mutex::new(HashMap::new()));
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = built.get(rel_src) {
        return p.clone();
    }
    ensure_library();
    let src = root().join(rel_src);
    let stem = src.file_stem().expect("source file name").to_string_lossy().into_owned();
    let cxx = rel_src.ends_with(".cpp");
    let out = build_dir().join(if cxx { format!("{stem}-cxx") } else { stem });
    let target = target_dir();
    let mut cmd = Command::new(if cxx { "c++" } else { "cc" });
    cmd.arg(if cxx { "-std=c++17" } else { "-std=c11" })
        .args(["-Wall", "-Wextra", "-Werror"])
        .arg(format!("-I{}", root().join("include").display()))
        .arg(&src)
        .arg(format!("-L{}", target.display()))
        .arg("-lpartyline")
        .arg(format!("-Wl,-rpath,{}", target.display()))
        .arg("-o")
        .arg(&out);
    let res = cmd.output().unwrap_or_else(|e| panic!("cannot run the compiler for {rel_src}: {e}"));
    assert!(
        res.status.success(),
        "compiling {rel_src} failed ({:?}):\n{}{}",
        cmd,
        String::from_utf8_lossy(&res.stdout),
        String::from_utf8_lossy(&res.stderr)
    );
    built.insert(rel_src.to_string(), out.clone());
    out
}

/// A `partyrun -n N -- program args...` command with a clean PARTYLINE_* environment.
pub fn partyrun_cmd(n: usize, program: &Path, args: &[&str]) -> Command {
    partyrun_cmd_with(&[], n, program, args)
}

/// Like `partyrun_cmd`, with extra launcher options before `-n`.
pub fn partyrun_cmd_with(opts: &[&str], n: usize, program: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(partyrun());
    clear_partyline_env(&mut cmd);
    cmd.args(opts).arg("-n").arg(n.to_string()).arg("--").arg(program).args(args);
    cmd
}

/// Run `program` under partyrun with `n` ranks and a hard timeout.
pub fn partyrun_run(n: usize, program: &Path, args: &[&str], timeout: Duration) -> Output {
    let name = program.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let what = format!("partyrun -n {n} {name} {}", args.join(" "));
    run(partyrun_cmd(n, program, args), what.trim_end().to_string(), timeout)
}

pub fn clear_partyline_env(cmd: &mut Command) {
    for v in PARTYLINE_VARS {
        cmd.env_remove(v);
    }
}

/// "127.0.0.1:p0,127.0.0.1:p1,..." for PARTYLINE_PEERS.
pub fn local_peers(ports: &[u16]) -> String {
    ports.iter().map(|p| format!("127.0.0.1:{p}")).collect::<Vec<_>>().join(",")
}

/// Set the by-hand bootstrap variables for one rank on any command (which may
/// be a wrapper such as `ip netns exec`).  `connect_timeout` is in seconds.
pub fn set_rank_env(cmd: &mut Command, rank: usize, size: usize, peers: &str, job: &str, connect_timeout: f64) {
    clear_partyline_env(cmd);
    cmd.env("PARTYLINE_RANK", rank.to_string())
        .env("PARTYLINE_SIZE", size.to_string())
        .env("PARTYLINE_PEERS", peers)
        .env("PARTYLINE_JOB_ID", job)
        .env("PARTYLINE_CONNECT_TIMEOUT", format!("{connect_timeout}"));
}

/// A rank started by hand (no launcher): `program args` with the rank's env.
pub fn rank_cmd(
    program: &Path,
    args: &[&str],
    rank: usize,
    size: usize,
    peers: &str,
    job: &str,
    connect_timeout: f64,
) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args);
    set_rank_env(&mut cmd, rank, size, peers, job, connect_timeout);
    cmd
}

/// `rank_cmd` for a job on `ports`, listening on the rank's own port.
pub fn rank_cmd_on(
    program: &Path,
    args: &[&str],
    rank: usize,
    ports: &mut RankPorts,
    job: &str,
    connect_timeout: f64,
) -> Command {
    let size = ports.ports().len();
    let mut cmd = rank_cmd(program, args, rank, size, &ports.peers(), job, connect_timeout);
    ports.hand_to(rank, &mut cmd);
    cmd
}

/// c-examples/mpc (three-party replicated secret sharing, several files), compiled once against
/// include/mpi.h and libpartyline.
pub fn mpc_example() -> PathBuf {
    const SOURCES: &[&str] = &["mpc.c", "rss.c", "circuits.c"];
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        ensure_library();
        let dir = root().join("c-examples/mpc");
        let target = target_dir();
        let out = build_dir().join("mpc");
        let mut cmd = Command::new("cc");
        cmd.args(["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror"])
            .arg(format!("-I{}", root().join("include").display()))
            .args(SOURCES.iter().map(|s| dir.join(s)))
            .arg(format!("-L{}", target.display()))
            .arg("-lpartyline")
            .arg(format!("-Wl,-rpath,{}", target.display()))
            .arg("-o")
            .arg(&out);
        let res = cmd.output().unwrap_or_else(|e| panic!("cannot run the compiler for c-examples/mpc: {e}"));
        assert!(
            res.status.success(),
            "compiling c-examples/mpc failed ({cmd:?}):\n{}{}",
            String::from_utf8_lossy(&res.stdout),
            String::from_utf8_lossy(&res.stderr)
        );
        out
    })
    .clone()
}

/// Polls `f` until it returns Some, failing the test after `limit` (a safety net, not a timing claim).
pub fn poll<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "gave up after {:.0} s waiting for {what}", limit.as_secs_f64());
        std::thread::sleep(Duration::from_millis(50));
    }
}
