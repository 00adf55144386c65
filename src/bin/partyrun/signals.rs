//! Signals to partyrun: termination signals, recorded for the supervision loop to act on, and
//! SIGCHLD, which wakes that loop at once so each rank's exit is seen (and timed) as it happens.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// The last SIGINT/SIGTERM/SIGHUP received and not yet taken; 0 when none.
static PENDING: AtomicI32 = AtomicI32::new(0);
/// The write end of the wake pipe (-1 until `install`): every caught signal writes a byte to it.
static WAKE_WRITE: AtomicI32 = AtomicI32::new(-1);
/// Its read end, which `wait` polls.
static WAKE_READ: AtomicI32 = AtomicI32::new(-1);

/// Writes a byte to the wake pipe; only async-signal-safe calls, and errno is left as it was
/// (the interrupted code may be about to read it).
fn wake() {
    let fd = WAKE_WRITE.load(Ordering::SeqCst);
    if fd < 0 {
        return;
    }
    // SAFETY: errno is thread-local and __errno_location always returns a valid pointer for
    // the calling thread; write(2) reads one byte from a live local. A full pipe (EAGAIN)
    // already holds a pending wake, so the result does not matter.
    unsafe {
        let errno = libc::__errno_location();
        let saved = *errno;
        let byte = 1u8;
        libc::write(fd, (&byte as *const u8).cast(), 1);
        *errno = saved;
    }
}

extern "C" fn record(signo: libc::c_int) {
    // An atomic store and a write(2): async-signal-safe, and enough here.
    PENDING.store(signo, Ordering::SeqCst);
    wake();
}

extern "C" fn child_exited(_signo: libc::c_int) {
    wake();
}

fn catch(signo: libc::c_int, handler: extern "C" fn(libc::c_int), flags: libc::c_int) -> io::Result<()> {
    // SAFETY: `action` is fully initialised (zeroed, then an empty mask and our handler);
    // the handlers only make async-signal-safe calls (atomics, write, errno).
    let rc = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as libc::sighandler_t;
        action.sa_flags = flags;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signo, &action, std::ptr::null_mut())
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Catches SIGINT, SIGTERM and SIGHUP so that partyrun can stop its ranks before exiting, and
/// SIGCHLD so that `wait` returns as soon as a rank exits. The handlers reset to the default
/// action in the ranks when they exec, and the pipe is close-on-exec.
pub fn install() -> io::Result<()> {
    let mut fds = [-1 as RawFd; 2];
    // SAFETY: pipe2 writes two fds into the array we pass.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    WAKE_READ.store(fds[0], Ordering::SeqCst);
    WAKE_WRITE.store(fds[1], Ordering::SeqCst);
    for signo in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        catch(signo, record, libc::SA_RESTART)?;
    }
    catch(libc::SIGCHLD, child_exited, libc::SA_RESTART | libc::SA_NOCLDSTOP)
}

/// Sleeps until a signal arrives (a rank exited, or partyrun was told to stop) or `timeout`
/// passes. A signal that arrived since the last call returns at once: its byte is in the pipe.
pub fn wait(timeout: Duration) {
    let fd = WAKE_READ.load(Ordering::SeqCst);
    if fd < 0 {
        std::thread::sleep(timeout);
        return;
    }
    // Rounded up, so that a deadline a fraction of a millisecond away is not a busy loop.
    let ms = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as libc::c_int;
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: poll reads and writes the one pollfd we pass; EINTR just ends the wait early.
    unsafe { libc::poll(&mut pfd, 1, ms) };
    let mut buf = [0u8; 64];
    // SAFETY: read writes at most buf.len() bytes into buf; the fd is non-blocking, so this
    // stops at EAGAIN once the pipe is empty.
    while unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
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
