//! Reaping and signalling child processes: the ranks, and whatever they leave behind.

use crate::job::{Exit, Rank};
use std::io;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Makes partyrun the parent of any process the ranks orphan (a rank's own children, when
/// the rank dies first), so that those too can be stopped when the job ends.
pub fn adopt_orphans() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only affects this process's own attributes.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

enum Waited {
    Exited(libc::pid_t, Exit),
    /// Children exist, but none has exited.
    NoneReady,
    NoChildren,
}

fn wait_any() -> Waited {
    loop {
        let mut status = 0;
        // SAFETY: waitpid only writes the int we pass it.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid > 0 {
            let exit = if libc::WIFSIGNALED(status) {
                Exit::Signal(libc::WTERMSIG(status))
            } else {
                Exit::Code(libc::WEXITSTATUS(status))
            };
            return Waited::Exited(pid, exit);
        }
        if pid == 0 {
            return Waited::NoneReady;
        }
        match io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            _ => return Waited::NoChildren, // ECHILD; nothing else is possible for these arguments
        }
    }
}

/// Reaps every child that has exited; returns the ranks among them, in the order reaped.
/// Other children are orphans we adopted: reaping them is all they need.
pub fn reap(ranks: &mut [Rank]) -> Vec<usize> {
    let mut exited = Vec::new();
    loop {
        match wait_any() {
            Waited::Exited(pid, exit) => {
                if let Some(i) = ranks.iter().position(|r| r.pid == pid && r.exit.is_none()) {
                    ranks[i].exit = Some(exit);
                    exited.push(i);
                }
            }
            Waited::NoneReady => return exited,
            Waited::NoChildren => {
                // Every rank should have been reaped by now; never wait for one that cannot be.
                for (i, rank) in ranks.iter_mut().enumerate().filter(|(_, r)| r.exit.is_none()) {
                    rank.exit = Some(Exit::Lost);
                    exited.push(i);
                }
                return exited;
            }
        }
    }
}

/// Sends `signo` to every rank still running.
pub fn signal_running(ranks: &[Rank], signo: libc::c_int) {
    for rank in ranks.iter().filter(|r| r.exit.is_none()) {
        // SAFETY: kill takes plain integers. The pid is still ours: an unreaped child's pid
        // cannot be reused, and only we reap our children.
        unsafe { libc::kill(rank.pid, signo) };
    }
}

/// Stops and reaps the processes the ranks left behind (adopted orphans): SIGTERM, then
/// SIGKILL after a second. Gives up after a few seconds rather than hang on an unkillable one.
pub fn kill_leftovers() {
    let start = Instant::now();
    let mut warned: Vec<libc::pid_t> = Vec::new();
    loop {
        loop {
            match wait_any() {
                Waited::Exited(..) => continue,
                Waited::NoneReady => break,
                Waited::NoChildren => return,
            }
        }
        let elapsed = start.elapsed();
        if elapsed > Duration::from_secs(3) {
            return;
        }
        for pid in children() {
            // SAFETY: as in signal_running: these are our unreaped children.
            if elapsed >= Duration::from_secs(1) {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            } else if !warned.contains(&pid) {
                // SAFETY: as above.
                unsafe { libc::kill(pid, libc::SIGTERM) };
                warned.push(pid);
            }
        }
        sleep(Duration::from_millis(10));
    }
}

/// Our child processes, found through /proc (each /proc/PID/stat names its parent).
fn children() -> Vec<libc::pid_t> {
    let me = std::process::id() as libc::pid_t;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| {
        let pid: libc::pid_t = entry.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        (parent_in_stat(&stat)? == me).then_some(pid)
    })
    .collect()
}

/// The parent pid in a /proc/PID/stat line: "pid (comm) state ppid ...". The command name
/// may itself contain spaces and parentheses, so fields are counted from the last ')'.
fn parent_in_stat(stat: &str) -> Option<libc::pid_t> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_parent_from_stat() {
        assert_eq!(parent_in_stat("42 (sh) S 7 42 42 0 -1"), Some(7));
        assert_eq!(parent_in_stat("42 (a) b (c) R 9 1"), Some(9));
        assert_eq!(parent_in_stat("garbage"), None);
    }
}
