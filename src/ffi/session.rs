//! The sessions model in C (MPI 4.1 ch. 11): MPI_Session_init/_finalize, process sets, info, and session error handlers.
//!
//! Sessions live in their own table (not in the MPI state): a session may start the runtime
//! (src/lifecycle.rs decides when it starts and ends). Communicators made from a session's
//! groups (and from those communicators) are noted here, so that finalizing the session while they live is a clear error
//! (MPI 4.1 asks programs to free them first), and so that buffered sends on them use the
//! session's buffer.

use super::abi::{self, MPI_Errhandler, MPI_Group, MPI_Info, MPI_Session};
use super::boundary::{blame_handler, out, raise_with};
use super::state::{self, decode, encode, state, Kind};
use crate::error::{err, Result};
use crate::handle_table::HandleTable;
use crate::info::Info;
use crate::pset::{Pset, NAMES};
use crate::sync::lock;
use std::collections::HashMap;
use std::ffi::{c_char, c_int};
use std::sync::{LazyLock, Mutex};

struct SessionEntry {
    errhandler: usize,
    /// The level asked for with the "thread_level" info key (all levels are provided).
    thread_level: c_int,
    /// Communicators made from this session's groups: (handle, context).
    comms: Vec<(usize, u64)>,
}

#[derive(Default)]
struct Sessions {
    table: HandleTable<SessionEntry>,
    /// The session each group made by MPI_Group_from_session_pset came from, by group handle.
    group_origin: HashMap<usize, usize>,
    /// The session of each communicator made from a session's group, by context.
    comm_session: HashMap<u64, usize>,
}

static SESSIONS: LazyLock<Mutex<Sessions>> = LazyLock::new(Mutex::default);

const THREAD_LEVELS: [(&str, c_int); 4] = [
    ("MPI_THREAD_SINGLE", abi::MPI_THREAD_SINGLE),
    ("MPI_THREAD_FUNNELED", abi::MPI_THREAD_FUNNELED),
    ("MPI_THREAD_SERIALIZED", abi::MPI_THREAD_SERIALIZED),
    ("MPI_THREAD_MULTIPLE", abi::MPI_THREAD_MULTIPLE),
];

fn not_a_session(session: usize) -> crate::error::Error {
    if session == abi::MPI_SESSION_NULL as usize {
        return err!(Session, "MPI_SESSION_NULL is not a session; make one with MPI_Session_init");
    }
    err!(Session, "invalid session handle {session:#x} (finalized already, or not a session)")
}

/// Checks `session` and makes its error handler the one for the current call's errors.
pub(super) fn enter(session: MPI_Session) -> Result<()> {
    let value = session as usize;
    let sessions = lock(&SESSIONS);
    let entry = decode(Kind::Session, value).and_then(|h| sessions.table.get(h)).ok_or_else(|| not_a_session(value))?;
    blame_handler(value, entry.errhandler);
    Ok(())
}

/// Runs `f` on the live session `session`.
fn with_entry<T>(session: MPI_Session, f: impl FnOnce(&mut SessionEntry) -> Result<T>) -> Result<T> {
    let value = session as usize;
    let mut sessions = lock(&SESSIONS);
    let entry =
        decode(Kind::Session, value).and_then(|h| sessions.table.get_mut(h)).ok_or_else(|| not_a_session(value))?;
    f(entry)
}

/// An error handler a session (or a communicator) can take.
pub(super) fn check_errhandler(errhandler: MPI_Errhandler, call: &str) -> Result<usize> {
    let h = errhandler as usize;
    if !super::env::valid_errhandler(h) && !super::errhandler::is_user(h) {
        return Err(err!(Arg, "{call}: unknown error handler {h:#x}; use MPI_ERRORS_ARE_FATAL, MPI_ERRORS_ABORT, MPI_ERRORS_RETURN or one from MPI_Session_create_errhandler"));
    }
    Ok(h)
}

/// The session a group made by MPI_Group_from_session_pset came from.
pub(super) fn session_of_group(group: usize) -> Option<usize> {
    lock(&SESSIONS).group_origin.get(&group).copied()
}

/// Notes that communicator `comm` (of context `context`) was made from `session`'s group.
pub(super) fn adopt(session: usize, comm: usize, context: u64) {
    let mut sessions = lock(&SESSIONS);
    if let Some(entry) = decode(Kind::Session, session).and_then(|h| sessions.table.get_mut(h)) {
        entry.comms.push((comm, context));
        sessions.comm_session.insert(context, session);
    }
}

/// Notes that communicator `comm` (of context `context`) was made from the communicator of
/// context `parent_context`, if that one was derived from a session.
pub(super) fn derived(parent_context: u64, comm: usize, context: u64) {
    let session = lock(&SESSIONS).comm_session.get(&parent_context).copied();
    if let Some(session) = session {
        adopt(session, comm, context);
    }
}

/// The key of a session's buffer in `State::comm_bsend`: odd, so it never equals a
/// communicator's (even) point-to-point context.
pub(super) fn buffer_key_of(session: usize) -> u64 {
    session as u64 | 1
}

/// The buffer key of the session a communicator of context `context` was made from.
pub(super) fn buffer_key(context: u64) -> Option<u64> {
    lock(&SESSIONS).comm_session.get(&context).map(|s| buffer_key_of(*s))
}

fn level_from_info(info: MPI_Info) -> Result<c_int> {
    let Some(name) = super::info::value(info, "thread_level")? else {
        return Ok(abi::MPI_THREAD_SINGLE);
    };
    THREAD_LEVELS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name.trim())).map(|(_, l)| *l).ok_or_else(|| {
        err!(Arg, "MPI_Session_init: the info key \"thread_level\" is {name:?}; use MPI_THREAD_SINGLE, MPI_THREAD_FUNNELED, MPI_THREAD_SERIALIZED or MPI_THREAD_MULTIPLE")
    })
}

ffi_fn! {
    fn MPI_Session_init(info: MPI_Info, errhandler: MPI_Errhandler, session: *mut MPI_Session) -> c_int {
        let handler = check_errhandler(errhandler, "MPI_Session_init")?;
        // Errors of this call go to the handler it is given.
        blame_handler(abi::MPI_SESSION_NULL as usize, handler);
        if session.is_null() {
            return Err(err!(Arg, "MPI_Session_init: the session output argument is NULL"));
        }
        let thread_level = level_from_info(info)?;
        let mut lifecycle = lock(&state::LIFECYCLE);
        if lifecycle.open_session()? {
            super::env::start_runtime(thread_level, "MPI_Session_init");
        }
        drop(lifecycle);
        let h = lock(&SESSIONS).table.insert(SessionEntry { errhandler: handler, thread_level, comms: Vec::new() });
        out(session, encode(Kind::Session, h)? as MPI_Session, "session")
    }
}

ffi_fn! {
    fn MPI_Session_finalize(session: *mut MPI_Session) -> c_int {
        if session.is_null() {
            return Err(err!(Arg, "MPI_Session_finalize: the session argument is NULL"));
        }
        // SAFETY: non-null, points to a session handle (MPI's contract).
        let handle = unsafe { session.read() };
        enter(handle)?;
        let st = state()?;
        let value = handle as usize;
        let live = with_entry(handle, |e| {
            let comms = lock(&st.comms);
            e.comms.retain(|(c, _)| super::handles::comm_slot(*c).and_then(|h| comms.get(h)).is_some());
            Ok(e.comms.len())
        })?;
        if live > 0 {
            return Err(err!(Session, "MPI_Session_finalize: {live} communicator(s) made from this session's groups are still live; free them with MPI_Comm_free first (MPI 4.1 11.3.1)"));
        }
        // Buffered messages sent from the session's buffer go out before it ends.
        let key = buffer_key_of(value);
        super::bsend::flush(st, super::bsend_comm::in_flight(st, key).unwrap_or_default())?;
        lock(&st.comm_bsend).remove(&key);
        {
            let mut sessions = lock(&SESSIONS);
            let h = decode(Kind::Session, value).ok_or_else(|| not_a_session(value))?;
            sessions.table.remove(h).ok_or_else(|| not_a_session(value))?;
            sessions.group_origin.retain(|_, s| *s != value);
            sessions.comm_session.retain(|_, s| *s != value);
        }
        out(session, abi::MPI_SESSION_NULL, "session")?;
        if lock(&state::LIFECYCLE).close_session()? {
            return super::env::teardown(st);
        }
        Ok(())
    }
}

ffi_fn! {
    fn MPI_Session_get_num_psets(session: MPI_Session, info: MPI_Info, npset_names: *mut c_int) -> c_int {
        let _ = info;
        enter(session)?;
        out(npset_names, NAMES.len() as c_int, "npset_names")
    }
}

ffi_fn! {
    /// MPI's length protocol: `*pset_len` 0 asks for the size needed (with the NUL); a smaller
    /// buffer gets the name truncated; `*pset_len` always returns the size needed.
    fn MPI_Session_get_nth_pset(session: MPI_Session, info: MPI_Info, n: c_int, pset_len: *mut c_int, pset_name: *mut c_char) -> c_int {
        let _ = info;
        enter(session)?;
        let name = Pset::nth(n)?;
        if pset_len.is_null() {
            return Err(err!(Arg, "MPI_Session_get_nth_pset: the pset_len argument is NULL"));
        }
        // SAFETY: non-null, and MPI's contract makes it point at an int the caller owns.
        let room = unsafe { pset_len.read() };
        let room = usize::try_from(room).map_err(|_| err!(Arg, "MPI_Session_get_nth_pset: *pset_len is {room}; pass the size of pset_name, or 0 to ask for the size needed"))?;
        super::info::copy_out(pset_name, room, name)?;
        out(pset_len, name.len() as c_int + 1, "pset_len")
    }
}

ffi_fn! {
    fn MPI_Session_get_pset_info(session: MPI_Session, pset_name: *const c_char, info: *mut MPI_Info) -> c_int {
        enter(session)?;
        let st = state()?;
        let pset = Pset::named(&super::info::text(pset_name, "pset_name")?)?;
        if info.is_null() {
            return Err(err!(Arg, "MPI_Session_get_pset_info: the info output argument is NULL"));
        }
        let made = super::info::register(Info::from_pairs(pset.info_pairs(st.rt.size())))?;
        out(info, made, "info")
    }
}

ffi_fn! {
    fn MPI_Session_get_info(session: MPI_Session, info_used: *mut MPI_Info) -> c_int {
        enter(session)?;
        let level = with_entry(session, |e| Ok(e.thread_level))?;
        let name = THREAD_LEVELS.iter().find(|(_, l)| *l == level).map_or("MPI_THREAD_SINGLE", |(n, _)| n);
        if info_used.is_null() {
            return Err(err!(Arg, "MPI_Session_get_info: the info_used output argument is NULL"));
        }
        out(info_used, super::info::register(Info::from_pairs([("thread_level", name.to_string())]))?, "info_used")
    }
}

ffi_fn! {
    fn MPI_Group_from_session_pset(session: MPI_Session, pset_name: *const c_char, newgroup: *mut MPI_Group) -> c_int {
        enter(session)?;
        let st = state()?;
        let pset = Pset::named(&super::info::text(pset_name, "pset_name")?)?;
        if newgroup.is_null() {
            return Err(err!(Arg, "MPI_Group_from_session_pset: the newgroup output argument is NULL"));
        }
        let made = super::group::register(st, pset.group(st.rt.rank(), st.rt.size()))?;
        lock(&SESSIONS).group_origin.insert(made as usize, session as usize);
        out(newgroup, made, "new group")
    }
}

ffi_fn! {
    fn MPI_Session_set_errhandler(session: MPI_Session, errhandler: MPI_Errhandler) -> c_int {
        enter(session)?;
        let handler = check_errhandler(errhandler, "MPI_Session_set_errhandler")?;
        with_entry(session, |e| {
            e.errhandler = handler;
            Ok(())
        })
    }
}

ffi_fn! {
    fn MPI_Session_get_errhandler(session: MPI_Session, errhandler: *mut MPI_Errhandler) -> c_int {
        enter(session)?;
        let current = with_entry(session, |e| Ok(e.errhandler))?;
        out(errhandler, current as MPI_Errhandler, "error handler")?;
        super::errhandler::referenced(current);
        Ok(())
    }
}

ffi_fn! {
    fn MPI_Session_call_errhandler(session: MPI_Session, errorcode: c_int) -> c_int {
        enter(session)?;
        let handler = with_entry(session, |e| Ok(e.errhandler))?;
        let message = format!("MPI_Session_call_errhandler raised error code {errorcode}");
        // Whatever the handler does with the code, the call itself succeeded if it returns.
        raise_with("MPI_Session_call_errhandler", session as usize, handler, errorcode, &message);
        Ok(())
    }
}
