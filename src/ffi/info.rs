//! Info objects in C: MPI_Info_* calls, MPI_INFO_ENV, and communicator hints (MPI_Comm_set_info/get_info).
//!
//! Info objects live in their own table, not in the MPI state, because MPI allows the info
//! calls before MPI_Init and after MPI_Finalize.

use super::abi::{self, MPI_Comm, MPI_Info};
use super::boundary::{blame, out};
use super::state::{decode, encode, state, Kind};
use crate::error::{err, Result};
use crate::handle_table::HandleTable;
use crate::info::Info;
use crate::sync::lock;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, CStr};
use std::sync::{LazyLock, Mutex};

static INFOS: LazyLock<Mutex<HandleTable<Info>>> = LazyLock::new(Mutex::default);
/// Hints given with MPI_Comm_set_info, by communicator handle value.
static COMM_HINTS: LazyLock<Mutex<HashMap<usize, Info>>> = LazyLock::new(Mutex::default);

/// MPI_INFO_ENV's contents: how this process was started.
fn environment() -> Info {
    let args: Vec<String> = std::env::args().collect();
    let mut pairs = vec![
        ("command", args.first().cloned().unwrap_or_default()),
        ("argv", args.get(1..).unwrap_or_default().join(" ")),
    ];
    if let Some(st) = super::state::initialized() {
        pairs.push(("maxprocs", st.rt.size().to_string()));
        let level = match st.thread_level {
            abi::MPI_THREAD_SINGLE => "MPI_THREAD_SINGLE",
            abi::MPI_THREAD_FUNNELED => "MPI_THREAD_FUNNELED",
            abi::MPI_THREAD_SERIALIZED => "MPI_THREAD_SERIALIZED",
            _ => "MPI_THREAD_MULTIPLE",
        };
        pairs.push(("thread_level", level.to_string()));
    }
    let mut host = [0u8; 256];
    // SAFETY: gethostname writes at most host.len() bytes into our local buffer.
    if unsafe { libc::gethostname(host.as_mut_ptr() as *mut c_char, host.len()) } == 0 {
        let end = host.iter().position(|b| *b == 0).unwrap_or(host.len());
        pairs.push(("host", String::from_utf8_lossy(&host[..end]).into_owned()));
    }
    pairs.push(("arch", std::env::consts::ARCH.to_string()));
    if let Ok(dir) = std::env::current_dir() {
        pairs.push(("wdir", dir.display().to_string()));
    }
    // Empty values (no arguments) are left out: an info value has at least one byte.
    Info::from_pairs(pairs.into_iter().filter(|(_, v)| !v.is_empty() && v.len() < crate::info::MAX_VALUE))
}

/// Registers `info` and returns its new handle (for MPI_Abi_get_info and friends too).
pub fn register(info: Info) -> Result<MPI_Info> {
    let h = lock(&INFOS).insert(info);
    Ok(encode(Kind::Info, h)? as MPI_Info)
}

/// The value of `key` in `info` (MPI_INFO_NULL: none), for calls that take hints.
pub(super) fn value(info: MPI_Info, key: &str) -> Result<Option<String>> {
    if std::ptr::eq(info, abi::MPI_INFO_NULL) {
        return Ok(None);
    }
    read(info, |i| Ok(i.get(key)?.map(str::to_string)))
}

/// Runs `f` on the info object `info` (MPI_INFO_ENV included) for reading.
fn read<T>(info: MPI_Info, f: impl FnOnce(&Info) -> Result<T>) -> Result<T> {
    if std::ptr::eq(info, abi::MPI_INFO_ENV) {
        return f(&environment());
    }
    let h = handle(info)?;
    let infos = lock(&INFOS);
    f(infos.get(h).ok_or_else(|| stale(info))?)
}

/// Runs `f` on the info object `info` for writing; MPI_INFO_ENV is read-only.
fn write<T>(info: MPI_Info, f: impl FnOnce(&mut Info) -> Result<T>) -> Result<T> {
    if std::ptr::eq(info, abi::MPI_INFO_ENV) {
        return Err(err!(Info, "MPI_INFO_ENV is read-only; MPI_Info_dup it to get a copy you can change"));
    }
    let h = handle(info)?;
    let mut infos = lock(&INFOS);
    f(infos.get_mut(h).ok_or_else(|| stale(info))?)
}

fn handle(info: MPI_Info) -> Result<crate::handle_table::Handle> {
    if std::ptr::eq(info, abi::MPI_INFO_NULL) {
        return Err(err!(Info, "MPI_INFO_NULL is not an info object; create one with MPI_Info_create"));
    }
    decode(Kind::Info, info as usize).ok_or_else(|| stale(info))
}

fn stale(info: MPI_Info) -> crate::error::Error {
    err!(Info, "invalid info handle {:#x} (freed, or not an info object)", info as usize)
}

/// A C string argument, refusing NULL.
pub(super) fn text(s: *const c_char, what: &str) -> Result<String> {
    if s.is_null() {
        return Err(err!(Arg, "the {what} argument is NULL"));
    }
    // SAFETY: non-null, and MPI's contract makes it a NUL-terminated string.
    Ok(unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned())
}

/// Copies `value` into `dest` (room for `room` bytes with the NUL), truncating as MPI says.
pub(super) fn copy_out(dest: *mut c_char, room: usize, value: &str) -> Result<()> {
    if room == 0 {
        return Ok(());
    }
    if dest.is_null() {
        return Err(err!(Arg, "the value output buffer is NULL"));
    }
    let n = value.len().min(room - 1);
    // SAFETY: the caller's buffer holds `room` bytes (its stated length); we write n + 1 <= room.
    unsafe {
        std::ptr::copy_nonoverlapping(value.as_ptr() as *const c_char, dest, n);
        dest.add(n).write(0);
    }
    Ok(())
}

ffi_fn! {
    fn MPI_Get_hw_resource_info(hw_info: *mut MPI_Info) -> c_int {
        if hw_info.is_null() {
            return Err(err!(Arg, "MPI_Get_hw_resource_info: the hw_info output argument is NULL"));
        }
        // The one hardware level partyline knows is the host, which MPI names by the shared
        // memory its processes could share (see MPI_Comm_split_type's guided kinds).
        let mut info = Info::default();
        info.set("mpi_hw_resource_type", "mpi_shared_memory")?;
        out(hw_info, register(info)?, "hw_info")
    }
}

ffi_fn! {
    fn MPI_Info_create(info: *mut MPI_Info) -> c_int {
        if info.is_null() {
            return Err(err!(Arg, "MPI_Info_create: the info output argument is NULL"));
        }
        out(info, register(Info::default())?, "info")
    }
}

ffi_fn! {
    fn MPI_Info_create_env(argc: c_int, argv: *mut *mut c_char, info: *mut MPI_Info) -> c_int {
        let _ = (argc, argv);
        if info.is_null() {
            return Err(err!(Arg, "MPI_Info_create_env: the info output argument is NULL"));
        }
        out(info, register(environment())?, "info")
    }
}

ffi_fn! {
    fn MPI_Info_set(info: MPI_Info, key: *const c_char, value: *const c_char) -> c_int {
        let (key, value) = (text(key, "key")?, text(value, "value")?);
        write(info, |i| i.set(&key, &value))
    }
}

ffi_fn! {
    fn MPI_Info_delete(info: MPI_Info, key: *const c_char) -> c_int {
        let key = text(key, "key")?;
        write(info, |i| i.delete(&key))
    }
}

ffi_fn! {
    fn MPI_Info_get(info: MPI_Info, key: *const c_char, valuelen: c_int, value: *mut c_char, flag: *mut c_int) -> c_int {
        let key = text(key, "key")?;
        let room = usize::try_from(valuelen).map_err(|_| err!(Arg, "MPI_Info_get: valuelen {valuelen} is negative"))?;
        match read(info, |i| Ok(i.get(&key)?.map(str::to_string)))? {
            // valuelen counts the characters, without the NUL the buffer also has room for.
            Some(v) => {
                copy_out(value, room + 1, &v)?;
                out(flag, 1, "flag")
            }
            None => out(flag, 0, "flag"),
        }
    }
}

ffi_fn! {
    fn MPI_Info_get_string(info: MPI_Info, key: *const c_char, buflen: *mut c_int, value: *mut c_char, flag: *mut c_int) -> c_int {
        let key = text(key, "key")?;
        if buflen.is_null() {
            return Err(err!(Arg, "MPI_Info_get_string: buflen is NULL"));
        }
        // SAFETY: non-null, points to the caller's buffer length (MPI's contract).
        let room = usize::try_from(unsafe { buflen.read() }).map_err(|_| err!(Arg, "MPI_Info_get_string: buflen is negative"))?;
        match read(info, |i| Ok(i.get(&key)?.map(str::to_string)))? {
            Some(v) => {
                copy_out(value, room, &v)?;
                out(buflen, (v.len() + 1) as c_int, "buflen")?;
                out(flag, 1, "flag")
            }
            None => out(flag, 0, "flag"),
        }
    }
}

ffi_fn! {
    fn MPI_Info_get_valuelen(info: MPI_Info, key: *const c_char, valuelen: *mut c_int, flag: *mut c_int) -> c_int {
        let key = text(key, "key")?;
        match read(info, |i| Ok(i.get(&key)?.map(str::len)))? {
            Some(n) => {
                out(valuelen, n as c_int, "valuelen")?;
                out(flag, 1, "flag")
            }
            None => out(flag, 0, "flag"),
        }
    }
}

ffi_fn! {
    fn MPI_Info_get_nkeys(info: MPI_Info, nkeys: *mut c_int) -> c_int {
        out(nkeys, read(info, |i| Ok(i.len()))? as c_int, "nkeys")
    }
}

ffi_fn! {
    fn MPI_Info_get_nthkey(info: MPI_Info, n: c_int, key: *mut c_char) -> c_int {
        let k = read(info, |i| Ok(i.nth_key(n)?.to_string()))?;
        copy_out(key, abi::MPI_MAX_INFO_KEY as usize, &k)
    }
}

ffi_fn! {
    fn MPI_Info_dup(info: MPI_Info, newinfo: *mut MPI_Info) -> c_int {
        if newinfo.is_null() {
            return Err(err!(Arg, "MPI_Info_dup: the newinfo output argument is NULL"));
        }
        let copy = read(info, |i| Ok(i.clone()))?;
        out(newinfo, register(copy)?, "new info")
    }
}

ffi_fn! {
    fn MPI_Info_free(info: *mut MPI_Info) -> c_int {
        if info.is_null() {
            return Err(err!(Arg, "MPI_Info_free: the info argument is NULL"));
        }
        // SAFETY: non-null, points to an info handle the caller owns (MPI's contract).
        let value = unsafe { info.read() };
        if std::ptr::eq(value, abi::MPI_INFO_ENV) {
            return Err(err!(Info, "MPI_Info_free: MPI_INFO_ENV is predefined and cannot be freed"));
        }
        lock(&INFOS).remove(handle(value)?).ok_or_else(|| stale(value))?;
        out(info, abi::MPI_INFO_NULL, "info")
    }
}

/// Hook for MPI_Comm_dup: the duplicate gets the same hints, as MPI says.
pub fn comm_duplicated(old: usize, new: usize) {
    let mut hints = lock(&COMM_HINTS);
    if let Some(h) = hints.get(&old).cloned() {
        hints.insert(new, h);
    }
}

/// Hook for MPI_Comm_free: the communicator's hints go with it.
pub fn comm_freed(comm: usize) {
    lock(&COMM_HINTS).remove(&comm);
}

ffi_fn! {
    fn MPI_Comm_set_info(comm: MPI_Comm, info: MPI_Info) -> c_int {
        blame(comm as usize);
        super::handles::comm(state()?, comm)?;
        // partyline acts on no communicator hint; it keeps them so MPI_Comm_get_info returns them.
        let hints = read(info, |i| Ok(i.clone()))?;
        lock(&COMM_HINTS).insert(comm as usize, hints);
        Ok(())
    }
}

ffi_fn! {
    fn MPI_Comm_get_info(comm: MPI_Comm, info_used: *mut MPI_Info) -> c_int {
        blame(comm as usize);
        super::handles::comm(state()?, comm)?;
        if info_used.is_null() {
            return Err(err!(Arg, "MPI_Comm_get_info: the info_used output argument is NULL"));
        }
        let hints = lock(&COMM_HINTS).get(&(comm as usize)).cloned().unwrap_or_default();
        out(info_used, register(hints)?, "info")
    }
}
