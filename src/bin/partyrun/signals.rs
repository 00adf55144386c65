//! Termination signals sent to partyrun itself, recorded for the supervision loop to act on.

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};

/// The last SIGINT/SIGTERM/SIGHUP received and not yet taken; 0 when none.
static PENDING: AtomicI32 = AtomicI32::new(0);

extern "C" fn record(signo: libc::c_int) {
    // Only an atomic store: the one thing that is async-signal-safe and enough here.
    PENDING.store(signo, Ordering::SeqCst);
}

/// Catches SIGINT, SIGTERM and SIGHUP so that partyrun can stop its ranks before exiting.
/// The handlers reset to the default action in the ranks when they exec.
pub fn install() -> io::Result<()> {
    for signo in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: `action` is fully initialised (zeroed, then an empty mask and our handler);
        // the handler only performs an atomic store, which is async-signal-safe.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = record as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signo, &action, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Takes the pending signal, if one arrived since the last call.
pub fn take() -> Option<i32> {
    match PENDING.swap(0, Ordering::SeqCst) {
        0 => None,
        signo => Some(signo),
    }
}

/// A signal's conventional name, for messages such as "killed by signal 9 (SIGKILL)".
pub fn name(signo: i32) -> Option<&'static str> {
    Some(match signo {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGSYS => "SIGSYS",
        _ => return None,
    })
}

/// "signal 9 (SIGKILL)", or just "signal 42" for signals without a well-known name.
pub fn describe(signo: i32) -> String {
    match name(signo) {
        Some(n) => format!("signal {signo} ({n})"),
        None => format!("signal {signo}"),
    }
}
