//! Network namespaces for tests that stand in for hosts: running `ip`, and whether namespaces can be made here.

use std::process::Command;

/// Run `ip args...`; Ok carries its stdout, Err the command and its stderr.
pub fn ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("cannot run ip: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("`ip {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// True where this process may make network namespaces (root, and `ip netns` works); otherwise
/// prints "skipping <what>: reason" and returns false.
pub fn namespaces_usable(what: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipping {what}: not running as root");
        return false;
    }
    if let Err(e) = ip(&["netns", "list"]) {
        println!("skipping {what}: {e}");
        return false;
    }
    true
}
