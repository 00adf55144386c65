//! Environment management: start-up and shutdown, versions, clocks, error strings, memory.

use super::abi::{self, MPI_Aint, MPI_Comm, MPI_Errhandler, MPI_Info};
use super::boundary::{self, blame, out};
use super::state::{self, state};
use crate::error::{err, ErrorClass, Result};
use crate::sync::lock;
use std::ffi::{c_char, c_double, c_int, c_void};
use std::sync::atomic::Ordering;
use std::sync::OnceLock;
use std::time::Instant;

const LIBRARY_VERSION: &str = concat!(
    "partyline ",
    env!("CARGO_PKG_VERSION"),
    " (MPI 5.0 standard ABI; standing TCP mesh with a communication thread)"
);

fn start(required: c_int) -> Result<()> {
    let level = match required {
        abi::MPI_THREAD_SINGLE | abi::MPI_THREAD_FUNNELED | abi::MPI_THREAD_SERIALIZED | abi::MPI_THREAD_MULTIPLE => {
            required
        }
        _ => return Err(err!(Arg, "MPI_Init_thread: unknown thread level {required}")),
    };
    if let Err(e) = state::init(level) {
        // Start-up failures cannot be handled by the program: say why and stop.
        crate::log::error(&format!("MPI_Init failed: {}", e.message));
        std::process::exit(1);
    }
    let _ = MAIN_THREAD.set(std::thread::current().id());
    Ok(())
}

/// The thread that initialized MPI: MPI's "main thread" (`MPI_Is_thread_main`).
static MAIN_THREAD: OnceLock<std::thread::ThreadId> = OnceLock::new();

ffi_fn! {
    fn MPI_Is_thread_main(flag: *mut c_int) -> c_int {
        state()?;
        let main = MAIN_THREAD.get().ok_or_else(|| err!(Other, "MPI_Is_thread_main: MPI is not initialized; call MPI_Init first"))?;
        out(flag, (*main == std::thread::current().id()) as c_int, "flag")
    }
}

ffi_fn! {
    fn MPI_Init(argc: *mut c_int, argv: *mut *mut *mut c_char) -> c_int {
        let _ = (argc, argv);
        start(abi::MPI_THREAD_SINGLE)
    }
}

ffi_fn! {
    /// Every level is truly provided: all shared state sits behind locks and any number of
    /// threads may wait at once, so MPI_THREAD_MULTIPLE is granted when asked for.
    fn MPI_Init_thread(
        argc: *mut c_int,
        argv: *mut *mut *mut c_char,
        required: c_int,
        provided: *mut c_int,
    ) -> c_int {
        let _ = (argc, argv);
        start(required)?;
        if provided.is_null() {
            return Ok(());
        }
        out(provided, required, "provided")
    }
}

ffi_fn! {
    fn MPI_Query_thread(provided: *mut c_int) -> c_int {
        out(provided, state()?.thread_level, "provided")
    }
}

ffi_fn! {
    fn MPI_Initialized(flag: *mut c_int) -> c_int {
        out(flag, state::initialized().is_some() as c_int, "flag")
    }
}

ffi_fn! {
    fn MPI_Finalized(flag: *mut c_int) -> c_int {
        let done = state::initialized().is_some_and(|s| s.finalized.load(Ordering::SeqCst));
        out(flag, done as c_int, "flag")
    }
}

ffi_fn! {
    fn MPI_Finalize() -> c_int {
        let st = state()?;
        super::attribute::finalizing()?;
        // Collectives posted before (their requests may have been freed) finish first.
        let drained = crate::collective::executor::EXECUTOR.finish(&st.rt);
        st.finalized.store(true, Ordering::SeqCst);
        st.rt.finalize().and(drained)
    }
}

ffi_fn! {
    fn MPI_Abort(comm: MPI_Comm, errorcode: c_int) -> c_int {
        let _ = comm;
        // MPI_Abort on any communicator ends the whole job: partyline has one job per mesh.
        crate::log::error(&format!("MPI_Abort called with error code {errorcode}; ending the job"));
        match state::initialized() {
            Some(st) => st.rt.abort(errorcode),
            None => std::process::exit(errorcode),
        }
    }
}

ffi_fn! {
    fn MPI_Get_version(version: *mut c_int, subversion: *mut c_int) -> c_int {
        out(version, abi::MPI_VERSION, "version")?;
        out(subversion, abi::MPI_SUBVERSION, "subversion")
    }
}

/// Copies `text` into a caller's C string buffer of `cap` bytes, NUL-terminated.
fn write_c_string(dest: *mut c_char, cap: usize, text: &str, len: *mut c_int) -> crate::error::Result<()> {
    if dest.is_null() {
        return Err(err!(Arg, "the string output argument is NULL"));
    }
    let n = text.len().min(cap - 1);
    // SAFETY: the caller's buffer holds at least `cap` bytes (MPI's MPI_MAX_* contract);
    // we write n + 1 <= cap bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr() as *const c_char, dest, n);
        dest.add(n).write(0);
    }
    out(len, n as c_int, "length")
}

ffi_fn! {
    fn MPI_Get_library_version(version: *mut c_char, resultlen: *mut c_int) -> c_int {
        write_c_string(version, abi::MPI_MAX_LIBRARY_VERSION_STRING as usize, LIBRARY_VERSION, resultlen)
    }
}

ffi_fn! {
    fn MPI_Get_processor_name(name: *mut c_char, resultlen: *mut c_int) -> c_int {
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most buf.len() bytes into our local buffer.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut c_char, buf.len()) };
        let host = if rc == 0 {
            let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
            String::from_utf8_lossy(&buf[..end]).into_owned()
        } else {
            "localhost".into()
        };
        write_c_string(name, abi::MPI_MAX_PROCESSOR_NAME as usize, &host, resultlen)
    }
}

fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

ffi_fn! {
    fn MPI_Wtime() -> c_double {
        origin().elapsed().as_secs_f64()
    }
}

ffi_fn! {
    fn MPI_Wtick() -> c_double {
        1e-9
    }
}

/// The standard's error classes 1 to 62 by code, for the classes partyline itself never raises
/// (MPI-IO, one-sided, sessions, the ABI): a program may still ask what they mean.
const STANDARD_CLASSES: [&str; 62] = [
    "MPI_ERR_BUFFER",
    "MPI_ERR_COUNT",
    "MPI_ERR_TYPE",
    "MPI_ERR_TAG",
    "MPI_ERR_COMM",
    "MPI_ERR_RANK",
    "MPI_ERR_REQUEST",
    "MPI_ERR_ROOT",
    "MPI_ERR_GROUP",
    "MPI_ERR_OP",
    "MPI_ERR_TOPOLOGY",
    "MPI_ERR_DIMS",
    "MPI_ERR_ARG",
    "MPI_ERR_UNKNOWN",
    "MPI_ERR_TRUNCATE",
    "MPI_ERR_OTHER",
    "MPI_ERR_INTERN",
    "MPI_ERR_PENDING",
    "MPI_ERR_IN_STATUS",
    "MPI_ERR_ACCESS",
    "MPI_ERR_AMODE",
    "MPI_ERR_ASSERT",
    "MPI_ERR_BAD_FILE",
    "MPI_ERR_BASE",
    "MPI_ERR_CONVERSION",
    "MPI_ERR_DISP",
    "MPI_ERR_DUP_DATAREP",
    "MPI_ERR_FILE_EXISTS",
    "MPI_ERR_FILE_IN_USE",
    "MPI_ERR_FILE",
    "MPI_ERR_INFO_KEY",
    "MPI_ERR_INFO_NOKEY",
    "MPI_ERR_INFO_VALUE",
    "MPI_ERR_INFO",
    "MPI_ERR_IO",
    "MPI_ERR_KEYVAL",
    "MPI_ERR_LOCKTYPE",
    "MPI_ERR_NAME",
    "MPI_ERR_NO_MEM",
    "MPI_ERR_NOT_SAME",
    "MPI_ERR_NO_SPACE",
    "MPI_ERR_NO_SUCH_FILE",
    "MPI_ERR_PORT",
    "MPI_ERR_QUOTA",
    "MPI_ERR_READ_ONLY",
    "MPI_ERR_RMA_ATTACH",
    "MPI_ERR_RMA_CONFLICT",
    "MPI_ERR_RMA_RANGE",
    "MPI_ERR_RMA_SHARED",
    "MPI_ERR_RMA_SYNC",
    "MPI_ERR_SERVICE",
    "MPI_ERR_SIZE",
    "MPI_ERR_SPAWN",
    "MPI_ERR_UNSUPPORTED_DATAREP",
    "MPI_ERR_UNSUPPORTED_OPERATION",
    "MPI_ERR_WIN",
    "MPI_ERR_RMA_FLAVOR",
    "MPI_ERR_PROC_ABORTED",
    "MPI_ERR_VALUE_TOO_LARGE",
    "MPI_ERR_SESSION",
    "MPI_ERR_ERRHANDLER",
    "MPI_ERR_ABI",
];

fn standard_class(code: c_int) -> Option<String> {
    let name = STANDARD_CLASSES.get(usize::try_from(code).ok()?.checked_sub(1)?)?;
    Some(format!("{name}: error class {code} of the MPI standard"))
}

ffi_fn! {
    fn MPI_Error_string(errorcode: c_int, string: *mut c_char, resultlen: *mut c_int) -> c_int {
        let text = match errorcode {
            abi::MPI_SUCCESS => "MPI_SUCCESS: no errors".to_string(),
            code => super::errhandler::user_string(code)
                .or_else(|| boundary::last_message(code))
                .or_else(|| ErrorClass::from_code(code).map(|c| c.describe().to_string()))
                .or_else(|| standard_class(code))
                .ok_or_else(|| err!(Arg, "MPI_Error_string: unknown error code {code}"))?,
        };
        write_c_string(string, abi::MPI_MAX_ERROR_STRING as usize, &text, resultlen)
    }
}

ffi_fn! {
    fn MPI_Error_class(errorcode: c_int, errorclass: *mut c_int) -> c_int {
        if let Some(class) = super::errhandler::user_class(errorcode) {
            return out(errorclass, class, "error class");
        }
        let known = errorcode == abi::MPI_SUCCESS || (0..=abi::MPI_ERR_LASTCODE).contains(&errorcode);
        if !known {
            return Err(err!(Arg, "MPI_Error_class: unknown error code {errorcode}"));
        }
        // Codes are classes in partyline; details travel in MPI_Error_string.
        out(errorclass, errorcode, "error class")
    }
}

ffi_fn! {
    fn MPI_Alloc_mem(size: MPI_Aint, info: MPI_Info, baseptr: *mut c_void) -> c_int {
        let _ = info;
        if size < 0 {
            return Err(err!(Arg, "MPI_Alloc_mem: size {size} is negative"));
        }
        // SAFETY: plain allocation; a zero size still returns a unique pointer or null.
        let p = unsafe { libc::malloc((size as usize).max(1)) };
        if p.is_null() {
            return Err(err!(NoMem, "MPI_Alloc_mem: cannot allocate {size} bytes"));
        }
        out(baseptr as *mut *mut c_void, p, "base pointer")
    }
}

ffi_fn! {
    fn MPI_Free_mem(base: *mut c_void) -> c_int {
        // SAFETY: `base` came from MPI_Alloc_mem, i.e. from malloc (MPI's contract); free(NULL) is a no-op.
        unsafe { libc::free(base) };
        Ok(())
    }
}

/// Errhandler handles that partyline knows.
pub(super) fn valid_errhandler(h: usize) -> bool {
    [abi::MPI_ERRORS_ARE_FATAL, abi::MPI_ERRORS_ABORT, abi::MPI_ERRORS_RETURN].iter().any(|e| *e as usize == h)
}

ffi_fn! {
    fn MPI_Comm_set_errhandler(comm: MPI_Comm, errhandler: MPI_Errhandler) -> c_int {
        blame(comm as usize);
        let st = state()?;
        if !valid_errhandler(errhandler as usize) && !super::errhandler::is_user(errhandler as usize) {
            return Err(err!(Arg, "MPI_Comm_set_errhandler: unknown error handler {:#x}; use MPI_ERRORS_ARE_FATAL, MPI_ERRORS_ABORT, MPI_ERRORS_RETURN or one from MPI_Comm_create_errhandler", errhandler as usize));
        }
        let h = super::handles::comm_slot(comm as usize).ok_or_else(|| err!(Comm, "invalid communicator"))?;
        let mut comms = lock(&st.comms);
        let entry = comms.get_mut(h).ok_or_else(|| err!(Comm, "invalid communicator handle {:#x}", comm as usize))?;
        entry.errhandler = errhandler as usize;
        if std::ptr::eq(comm, abi::MPI_COMM_WORLD) {
            // A lost link ends the process only under a fatal world handler.
            let fatal = [abi::MPI_ERRORS_ARE_FATAL, abi::MPI_ERRORS_ABORT].iter().any(|h| std::ptr::eq(errhandler, *h));
            st.rt.shared.set_fatal_errors(fatal);
        }
        Ok(())
    }
}

ffi_fn! {
    fn MPI_Comm_get_errhandler(comm: MPI_Comm, errhandler: *mut MPI_Errhandler) -> c_int {
        blame(comm as usize);
        let st = state()?;
        let h = super::handles::comm_slot(comm as usize).ok_or_else(|| err!(Comm, "invalid communicator"))?;
        let current = lock(&st.comms)
            .get(h)
            .map(|e| e.errhandler)
            .ok_or_else(|| err!(Comm, "invalid communicator handle {:#x}", comm as usize))?;
        out(errhandler, current as MPI_Errhandler, "error handler")?;
        super::errhandler::referenced(current);
        Ok(())
    }
}

ffi_fn! {
    fn MPI_Errhandler_free(errhandler: *mut MPI_Errhandler) -> c_int {
        if errhandler.is_null() {
            return Err(err!(Arg, "MPI_Errhandler_free: the handle pointer is NULL"));
        }
        // SAFETY: non-null, and MPI's contract makes it point at a handle the caller owns.
        let h = unsafe { *errhandler };
        if super::errhandler::release(h as usize)? {
            return out(errhandler, abi::MPI_ERRHANDLER_NULL, "error handler");
        }
        if !valid_errhandler(h as usize) {
            return Err(err!(Arg, "MPI_Errhandler_free: {:#x} is not an error handler (MPI_ERRHANDLER_NULL, or freed already)", h as usize));
        }
        // The predefined handlers are never really freed; the handle is nulled as MPI says.
        out(errhandler, abi::MPI_ERRHANDLER_NULL, "error handler")
    }
}
