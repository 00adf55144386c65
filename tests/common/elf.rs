//! Questions about built files answered by binutils (readelf, nm), for the install checks.

use std::path::Path;
use std::process::Command;

/// `tool args... file`'s stdout, which must succeed (binutils: readelf, nm).
pub fn binutils(tool: &str, args: &[&str], file: &Path) -> String {
    let out = Command::new(tool).args(args).arg(file).output().unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
    assert!(out.status.success(), "{tool} {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether the ELF `file` has a section named `name`.
pub fn has_section(file: &Path, name: &str) -> bool {
    binutils("readelf", &["-S", "-W"], file).split_whitespace().any(|w| w == name)
}
