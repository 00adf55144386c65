//! The README's "Using it" lines, run as written after a plain `cargo build`: compile, link, launch.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// The README line that starts with `start`, exactly as a user would copy it.
fn readme_line(start: &str) -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("read README.md");
    let line = readme.lines().find(|l| l.starts_with(start));
    line.unwrap_or_else(|| panic!("README.md has no line starting with `{start}`")).to_string()
}

/// `cargo build` of the library for this test run's profile; unlike `ensure_library`, it leaves
/// libmpi_abi.so.1 to the build itself, which is what is under test.
fn plain_cargo_build() {
    let dir = target_dir();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root()).args(["build", "--lib", "--quiet", "--target-dir"]).arg(dir.parent().expect("target dir"));
    match dir.file_name().and_then(|p| p.to_str()) {
        Some("debug") => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(other) => {
            cmd.args(["--profile", other]);
        }
        None => panic!("unexpected target directory {}", dir.display()),
    }
    run(cmd, "cargo build", secs(1800)).assert_success();
}

/// In a scratch directory laid out as the README assumes (`include/`, `target/release/`, `prog.c`),
/// the README's compile line builds a program that the README's launch line runs.
#[test]
fn readme_compile_line_works_after_cargo_build() {
    plain_cargo_build();
    let work = build_dir().join("readme");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("target")).expect("create work directory");
    std::os::unix::fs::symlink(root().join("include"), work.join("include")).expect("link include/");
    // Whatever the profile and target directory, the README's target/release is this run's.
    std::os::unix::fs::symlink(target_dir(), work.join("target/release")).expect("link target/release");
    std::fs::copy(root().join("c-examples/hello.c"), work.join("prog.c")).expect("copy prog.c");

    let shell = |line: &str, dir: &Path| {
        let mut cmd = Command::new("sh");
        cmd.current_dir(dir).arg("-c").arg(line).env("PWD", dir);
        clear_partyline_env(&mut cmd);
        cmd.env_remove("LD_LIBRARY_PATH");
        run(cmd, line.to_string(), secs(120))
    };
    let compile = readme_line("cc -Iinclude prog.c");
    shell(&compile, &work).assert_success();
    let launch = shell(&readme_line("target/release/partyrun -n 3 ./prog"), &work);
    launch.assert_success();
    for rank in 0..3 {
        launch.assert_stdout_contains(&format!("Hello from rank {rank} of 3"));
    }
}
