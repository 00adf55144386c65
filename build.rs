//! Build script: gives the shared library the standard ABI's SONAME and puts that name next to it.
//!
//! The MPI 5.0 standard ABI names the shared library libmpi_abi.so.1, so programs linked with
//! `-lpartyline` record that name and look for it at run time. Creating the link here, rather
//! than only in `make build`, makes a plain `cargo build` enough for the README's compile line.

use std::env;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

const SONAME: &str = "libmpi_abi.so.1";
const LIBRARY: &str = "libpartyline.so";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{SONAME}");
    if env::var("CARGO_CFG_UNIX").is_err() {
        return;
    }
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    match profile_dir(&out_dir) {
        Some(dir) => link_soname(&dir),
        None => println!("cargo:warning=unexpected OUT_DIR layout {}; not creating {SONAME}", out_dir.display()),
    }
}

/// Where cargo puts the cdylib: OUT_DIR is `<profile dir>/build/<package>-<hash>/out`, whether
/// the target directory is ./target, $CARGO_TARGET_DIR or has a `<triple>/` level.
fn profile_dir(out_dir: &Path) -> Option<PathBuf> {
    let build = out_dir.parent()?.parent()?;
    (build.file_name()? == "build").then(|| build.parent().map(Path::to_path_buf)).flatten()
}

/// Points `<dir>/libmpi_abi.so.1` at libpartyline.so (dangling until the library is linked,
/// which happens after this script). Atomic, so parallel builds never see it missing.
fn link_soname(dir: &Path) {
    let link = dir.join(SONAME);
    if std::fs::read_link(&link).is_ok_and(|target| target == Path::new(LIBRARY)) {
        return;
    }
    let tmp = dir.join(format!(".{SONAME}.{}", std::process::id()));
    // A leftover from a killed build would make symlink() fail.
    let _ = std::fs::remove_file(&tmp);
    if let Err(e) = symlink(LIBRARY, &tmp).and_then(|()| std::fs::rename(&tmp, &link)) {
        println!("cargo:warning=cannot create {}: {e}", link.display());
    }
}
