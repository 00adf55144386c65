//! Finds partyline's include and library directories relative to the wrapper's own executable.

use std::path::{Path, PathBuf};

/// Where mpi.h and libpartyline live for this wrapper.
#[derive(Debug, PartialEq, Eq)]
pub struct Layout {
    /// Holds mpi.h.
    pub include: PathBuf,
    /// Holds libpartyline.so/.a and libmpi_abi.so.1.
    pub lib: PathBuf,
    /// Found inside a cargo target directory rather than an installed prefix.
    pub build_tree: bool,
}

/// Locate the directories for the (resolved) executable `exe`. `manifest_dir` is the
/// source tree the wrapper was built from, for a build with its own `CARGO_TARGET_DIR`.
///
/// Tried in order:
/// 1. installed: `<prefix>/bin/mpicc` with `<prefix>/include/mpi.h`, libraries in `<prefix>/lib`;
/// 2. build tree: `<repo>/target/[<triple>/]<profile>/mpicc` with `<repo>/include/mpi.h` and
///    `<repo>/Cargo.toml`, libraries next to the executable;
/// 3. elsewhere-built: libpartyline next to the executable and `<manifest_dir>/include/mpi.h`.
pub fn locate(exe: &Path, manifest_dir: Option<&Path>) -> Result<Layout, String> {
    let dir = exe.parent().ok_or_else(|| format!("{} has no parent directory", exe.display()))?;
    let mut looked = Vec::new();

    if let Some(prefix) = dir.parent() {
        let include = prefix.join("include");
        if include.join("mpi.h").is_file() {
            return Ok(Layout { include, lib: prefix.join("lib"), build_tree: false });
        }
        looked.push(include);
    }
    // target/<profile> is two levels below the repository, target/<triple>/<profile> three.
    for repo in dir.ancestors().skip(2).take(2) {
        let include = repo.join("include");
        if include.join("mpi.h").is_file() && repo.join("Cargo.toml").is_file() {
            return Ok(Layout { include, lib: dir.to_path_buf(), build_tree: true });
        }
        looked.push(include);
    }
    if let Some(repo) = manifest_dir {
        let include = repo.join("include");
        let has_lib = ["libpartyline.so", "libpartyline.a"].iter().any(|l| dir.join(l).is_file());
        if has_lib && include.join("mpi.h").is_file() {
            return Ok(Layout { include, lib: dir.to_path_buf(), build_tree: true });
        }
    }
    let looked: Vec<String> = looked.iter().map(|p| p.display().to_string()).collect();
    Err(format!(
        "cannot find mpi.h next to {} (looked in {}); is partyline installed correctly? \
         `make install PREFIX=DIR` puts the wrappers in DIR/bin beside DIR/include and DIR/lib",
        exe.display(),
        looked.join(", ")
    ))
}

/// The running executable with symlinks resolved, so `/usr/local/bin/mpicc -> /opt/partyline/bin/mpicc`
/// finds /opt/partyline.
pub fn current_exe() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my own executable: {e}"))?;
    exe.canonicalize().map_err(|e| format!("cannot resolve my own executable {}: {e}", exe.display()))
}

impl Layout {
    /// Why linking cannot work, checked before running the compiler so the error names
    /// the directory instead of the linker's "cannot find -lpartyline".
    pub fn check_lib(&self) -> Result<(), String> {
        if ["libpartyline.so", "libpartyline.a"].iter().any(|l| self.lib.join(l).is_file()) {
            return Ok(());
        }
        let hint = if self.build_tree { "build it with `make build`" } else { "reinstall with `make install`" };
        Err(format!("no libpartyline.so or libpartyline.a in {}; {hint}", self.lib.display()))
    }

    /// A warning when programs linked now could not start: the library's SONAME is
    /// libmpi_abi.so.1, which cargo alone does not create in the build tree.
    pub fn runtime_warning(&self) -> Option<String> {
        let so = self.lib.join("libpartyline.so");
        let abi = self.lib.join("libmpi_abi.so.1");
        (so.is_file() && !abi.exists()).then(|| {
            format!(
                "warning: {} is missing, so programs linked now will not start; \
                 `make build` creates it (a symlink to libpartyline.so)",
                abi.display()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A fresh scratch directory for one test, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("partyline-layout-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("create scratch dir");
            Scratch(dir)
        }

        fn touch(&self, rel: &str) -> PathBuf {
            let p = self.0.join(rel);
            fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            fs::write(&p, b"").expect("write");
            p
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn installed_prefix() {
        let s = Scratch::new("installed");
        let exe = s.touch("bin/mpicc");
        s.touch("include/mpi.h");
        s.touch("lib/libpartyline.so");
        let l = locate(&exe, None).expect("found");
        assert_eq!(l, Layout { include: s.0.join("include"), lib: s.0.join("lib"), build_tree: false });
        assert!(l.check_lib().is_ok());
        assert!(l.runtime_warning().is_some(), "libmpi_abi.so.1 missing");
        s.touch("lib/libmpi_abi.so.1");
        assert!(l.runtime_warning().is_none());
    }

    #[test]
    fn build_tree() {
        let s = Scratch::new("tree");
        s.touch("Cargo.toml");
        s.touch("include/mpi.h");
        for rel in ["target/release/mpicc", "target/x86_64-unknown-linux-gnu/debug/mpicxx"] {
            let exe = s.touch(rel);
            let l = locate(&exe, None).expect("found");
            assert_eq!(l.include, s.0.join("include"), "{rel}");
            assert_eq!(l.lib, exe.parent().expect("dir"), "{rel}");
            assert!(l.build_tree);
            let err = l.check_lib().unwrap_err();
            assert!(err.contains("make build"), "{err}");
        }
    }

    #[test]
    fn separate_target_dir_uses_the_manifest() {
        let repo = Scratch::new("manifest");
        repo.touch("include/mpi.h");
        let out = Scratch::new("elsewhere");
        let exe = out.touch("release/mpicc");
        assert!(locate(&exe, Some(&repo.0)).is_err(), "no library next to the executable");
        out.touch("release/libpartyline.so");
        let l = locate(&exe, Some(&repo.0)).expect("found");
        assert_eq!((l.include, l.lib), (repo.0.join("include"), out.0.join("release")));
    }

    #[test]
    fn nothing_found_names_the_executable() {
        let s = Scratch::new("empty");
        let exe = s.touch("somewhere/bin/mpicc");
        let err = locate(&exe, None).unwrap_err();
        assert!(err.contains(&exe.display().to_string()), "{err}");
        assert!(err.contains("cannot find mpi.h") && err.contains("installed correctly"), "{err}");
        assert!(err.contains(&s.0.join("somewhere/include").display().to_string()), "{err}");
    }
}
