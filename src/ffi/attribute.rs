//! Attribute caching in C: keyvals, set/get/delete on communicators and datatypes, and the copy and delete callbacks run at dup and free.
//!
//! The bookkeeping is the core's (`crate::attribute`); this file keeps the process's one store
//! and calls the program's callbacks, never with the store locked, since a callback may call
//! MPI (even set or delete attributes). Attributes are kept by object handle value, so the
//! communicator and datatype tables stay untouched; the hooks below are called by dup and free.

use super::abi::{self, MPI_Comm, MPI_Datatype};
use super::boundary::{blame, out};
use super::errhandler::callback_failed;
use super::handles::{self, TAG_UB};
use super::state::state;
use crate::attribute::{Attributes, CopyRule, ObjectKind, Registry};
use crate::error::{err, Result};
use crate::sync::lock;
use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::sync::{LazyLock, Mutex};

type CommCopy = unsafe extern "C" fn(MPI_Comm, c_int, *mut c_void, *mut c_void, *mut c_void, *mut c_int) -> c_int;
type CommDelete = unsafe extern "C" fn(MPI_Comm, c_int, *mut c_void, *mut c_void) -> c_int;
type TypeCopy = unsafe extern "C" fn(MPI_Datatype, c_int, *mut c_void, *mut c_void, *mut c_void, *mut c_int) -> c_int;
type TypeDelete = unsafe extern "C" fn(MPI_Datatype, c_int, *mut c_void, *mut c_void) -> c_int;

/// A keyval's callbacks; windows have none partyline could ever call (it has no windows).
#[derive(Clone, Copy)]
pub(super) enum Callbacks {
    Comm(CopyRule<CommCopy>, Option<CommDelete>),
    Type(CopyRule<TypeCopy>, Option<TypeDelete>),
    Win,
}

#[derive(Default)]
struct Store {
    keyvals: Registry<Callbacks>,
    objects: HashMap<(ObjectKind, usize), Attributes>,
}

static STORE: LazyLock<Mutex<Store>> = LazyLock::new(Mutex::default);

/// The copy rule a C copy callback stands for: the standard ABI's 0 and 1 are the predefined ones.
pub(super) fn copy_rule<F: Copy>(f: Option<F>, address: usize) -> CopyRule<F> {
    match (f, address) {
        (None, _) => CopyRule::Skip,
        (Some(_), 1) => CopyRule::Same,
        (Some(f), _) => CopyRule::Call(f),
    }
}

pub(super) fn create(
    kind: ObjectKind,
    callbacks: Callbacks,
    extra_state: *mut c_void,
    keyval: *mut c_int,
) -> Result<()> {
    if keyval.is_null() {
        return Err(err!(Arg, "the keyval output argument is NULL"));
    }
    let key = lock(&STORE).keyvals.create(kind, callbacks, extra_state as usize)?;
    out(keyval, key, "keyval")
}

pub(super) fn free_keyval(kind: ObjectKind, keyval: *mut c_int) -> Result<()> {
    if keyval.is_null() {
        return Err(err!(Arg, "the keyval argument is NULL"));
    }
    // SAFETY: non-null, points to a keyval the caller owns (MPI's contract).
    let key = unsafe { keyval.read() };
    lock(&STORE).keyvals.free(kind, key)?;
    out(keyval, abi::MPI_KEYVAL_INVALID, "keyval")
}

/// Runs `key`'s delete callback on `value`, attached to object `handle`.
fn run_delete(callbacks: Callbacks, handle: usize, key: i32, value: usize, extra: usize) -> Result<()> {
    let code = match callbacks {
        // SAFETY: the program registered `f` with this signature; the arguments are those MPI defines.
        Callbacks::Comm(_, Some(f)) => unsafe {
            f(handle as MPI_Comm, key, value as *mut c_void, extra as *mut c_void)
        },
        // SAFETY: as above, for a datatype's delete callback.
        Callbacks::Type(_, Some(f)) => unsafe {
            f(handle as MPI_Datatype, key, value as *mut c_void, extra as *mut c_void)
        },
        _ => abi::MPI_SUCCESS,
    };
    match code {
        abi::MPI_SUCCESS => Ok(()),
        code => {
            Err(callback_failed(code, &format!("the delete callback of attribute key {key} returned error {code}")))
        }
    }
}

/// The value the duplicate of `handle` gets for `key`, or `None` if it gets no attribute.
fn run_copy(callbacks: Callbacks, handle: usize, key: i32, value: usize, extra: usize) -> Result<Option<usize>> {
    let (mut copied, mut flag): (*mut c_void, c_int) = (std::ptr::null_mut(), 0);
    let args = (key, extra as *mut c_void, value as *mut c_void, &raw mut copied as *mut c_void, &raw mut flag);
    let code = match callbacks {
        Callbacks::Comm(CopyRule::Same, _) | Callbacks::Type(CopyRule::Same, _) => return Ok(Some(value)),
        // SAFETY: the program registered `f` with this signature; the out-pointers are live locals.
        Callbacks::Comm(CopyRule::Call(f), _) => unsafe {
            f(handle as MPI_Comm, args.0, args.1, args.2, args.3, args.4)
        },
        // SAFETY: as above, for a datatype's copy callback.
        Callbacks::Type(CopyRule::Call(f), _) => unsafe {
            f(handle as MPI_Datatype, args.0, args.1, args.2, args.3, args.4)
        },
        _ => return Ok(None),
    };
    match code {
        abi::MPI_SUCCESS => Ok((flag != 0).then_some(copied as usize)),
        code => Err(callback_failed(code, &format!("the copy callback of attribute key {key} returned error {code}"))),
    }
}

fn set(kind: ObjectKind, handle: usize, key: i32, value: usize) -> Result<()> {
    let (callbacks, extra, old) = {
        let store = lock(&STORE);
        let k = store.keyvals.live(kind, key)?;
        (k.callbacks, k.extra_state, store.objects.get(&(kind, handle)).and_then(|a| a.get(key)))
    };
    if let Some(old) = old {
        run_delete(callbacks, handle, key, old, extra)?;
    }
    let mut store = lock(&STORE);
    let Store { keyvals, objects } = &mut *store;
    objects.entry((kind, handle)).or_default().set(keyvals, key, value);
    Ok(())
}

/// The value of `key` on `handle`, if set.
fn get(kind: ObjectKind, handle: usize, key: i32) -> Result<Option<usize>> {
    let store = lock(&STORE);
    store.keyvals.live(kind, key)?;
    Ok(store.objects.get(&(kind, handle)).and_then(|a| a.get(key)))
}

/// Deletes `key` from `handle` after its delete callback; deleting an unset key does nothing.
fn delete(kind: ObjectKind, handle: usize, key: i32) -> Result<()> {
    let (callbacks, extra, value) = {
        let store = lock(&STORE);
        let k = store.keyvals.live(kind, key)?;
        (k.callbacks, k.extra_state, store.objects.get(&(kind, handle)).and_then(|a| a.get(key)))
    };
    let Some(value) = value else { return Ok(()) };
    run_delete(callbacks, handle, key, value, extra)?;
    let mut store = lock(&STORE);
    let Store { keyvals, objects } = &mut *store;
    if let Some(attrs) = objects.get_mut(&(kind, handle)) {
        attrs.remove(keyvals, key);
    }
    Ok(())
}

/// Deletes every attribute of `handle`, the last set first, as its object goes. A failing
/// delete callback stops this and fails the free with its code; the rest stay attached.
fn delete_all(kind: ObjectKind, handle: usize) -> Result<()> {
    loop {
        let (key, value, callbacks, extra) = {
            let mut store = lock(&STORE);
            let Some((key, value)) = store.objects.get(&(kind, handle)).and_then(Attributes::last) else {
                store.objects.remove(&(kind, handle));
                return Ok(());
            };
            let k =
                store.keyvals.carried(key).ok_or_else(|| err!(Intern, "attribute key {key} vanished while in use"))?;
            (key, value, k.callbacks, k.extra_state)
        };
        run_delete(callbacks, handle, key, value, extra)?;
        let mut store = lock(&STORE);
        let Store { keyvals, objects } = &mut *store;
        if let Some(attrs) = objects.get_mut(&(kind, handle)) {
            attrs.remove(keyvals, key);
        }
    }
}

/// Gives `new` the attributes of `old` their copy callbacks allow. On a failing callback, the
/// attributes already copied are deleted again and the error is returned (the dup fails).
fn copy_all(kind: ObjectKind, old: usize, new: usize) -> Result<()> {
    let entries: Vec<(i32, usize, Callbacks, usize)> = {
        let store = lock(&STORE);
        let Some(attrs) = store.objects.get(&(kind, old)) else { return Ok(()) };
        attrs
            .entries()
            .iter()
            .filter_map(|&(k, v)| store.keyvals.carried(k).map(|kv| (k, v, kv.callbacks, kv.extra_state)))
            .collect()
    };
    for (key, value, callbacks, extra) in entries {
        match run_copy(callbacks, old, key, value, extra) {
            Ok(Some(copied)) => {
                let mut store = lock(&STORE);
                let Store { keyvals, objects } = &mut *store;
                objects.entry((kind, new)).or_default().set(keyvals, key, copied);
            }
            Ok(None) => {}
            Err(e) => {
                let _ = delete_all(kind, new);
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Hook for `MPI_Comm_dup`: copies the attributes of `old` to the new communicator `new`.
pub fn comm_duplicated(old: MPI_Comm, new: MPI_Comm) -> Result<()> {
    super::info::comm_duplicated(old as usize, new as usize);
    copy_all(ObjectKind::Comm, old as usize, new as usize)
}

/// Hook for `MPI_Comm_free`, before the communicator goes: runs its attributes' delete callbacks.
pub fn comm_freeing(comm: MPI_Comm) -> Result<()> {
    super::info::comm_freed(comm as usize);
    delete_all(ObjectKind::Comm, comm as usize)
}

/// Hook for `MPI_Type_dup`, once the new type has its handle (on error, free the new type and
/// return the error).
pub fn type_duplicated(old: MPI_Datatype, new: MPI_Datatype) -> Result<()> {
    copy_all(ObjectKind::Datatype, old as usize, new as usize)
}

/// Hook for `MPI_Type_free`, before the datatype goes: runs its attributes' delete callbacks.
pub fn type_freeing(datatype: MPI_Datatype) -> Result<()> {
    delete_all(ObjectKind::Datatype, datatype as usize)
}

/// Hook for `MPI_Finalize`, first of all: MPI_COMM_SELF's attributes are deleted in reverse
/// order of setting (libraries such as mpi4py clean up in those callbacks), then the world's.
pub fn finalizing() -> Result<()> {
    delete_all(ObjectKind::Comm, abi::MPI_COMM_SELF as usize)?;
    delete_all(ObjectKind::Comm, abi::MPI_COMM_WORLD as usize)
}

// Communicators.

ffi_fn! {
    fn MPI_Comm_create_keyval(
        comm_copy_attr_fn: abi::MPI_Comm_copy_attr_function,
        comm_delete_attr_fn: abi::MPI_Comm_delete_attr_function,
        comm_keyval: *mut c_int,
        extra_state: *mut c_void,
    ) -> c_int {
        let copy = copy_rule(comm_copy_attr_fn, comm_copy_attr_fn.map_or(0, |f| f as usize));
        create(ObjectKind::Comm, Callbacks::Comm(copy, comm_delete_attr_fn), extra_state, comm_keyval)
    }
}

ffi_fn! {
    fn MPI_Comm_free_keyval(comm_keyval: *mut c_int) -> c_int {
        free_keyval(ObjectKind::Comm, comm_keyval)
    }
}

pub(super) fn comm_set_attr(comm: MPI_Comm, key: c_int, attribute_val: *mut c_void) -> Result<()> {
    blame(comm as usize);
    handles::comm(state()?, comm)?;
    if predefined_comm_value(key).is_some() {
        return Err(err!(Keyval, "attribute key {key} is predefined and read-only"));
    }
    set(ObjectKind::Comm, comm as usize, key, attribute_val as usize)
}

ffi_fn! {
    fn MPI_Comm_set_attr(comm: MPI_Comm, comm_keyval: c_int, attribute_val: *mut c_void) -> c_int {
        comm_set_attr(comm, comm_keyval, attribute_val)
    }
}

/// Values behind the predefined attributes; MPI hands out pointers to them.
static TAG_UB_VALUE: c_int = TAG_UB;
static HOST_VALUE: c_int = abi::MPI_PROC_NULL;
static IO_VALUE: c_int = abi::MPI_ANY_SOURCE;
static WTIME_IS_GLOBAL_VALUE: c_int = 0;
/// partyrun starts one application, so every process is in application 0.
static APPNUM_VALUE: c_int = 0;
static UNIVERSE_SIZE_VALUE: std::sync::OnceLock<c_int> = std::sync::OnceLock::new();

/// The value of a predefined communicator attribute, or `None` if `key` is not one.
fn predefined_comm_value(key: c_int) -> Option<*const c_int> {
    Some(match key {
        abi::MPI_TAG_UB => &TAG_UB_VALUE,
        abi::MPI_HOST => &HOST_VALUE,
        abi::MPI_IO => &IO_VALUE,
        abi::MPI_WTIME_IS_GLOBAL => &WTIME_IS_GLOBAL_VALUE,
        abi::MPI_APPNUM => &APPNUM_VALUE,
        abi::MPI_LASTUSEDCODE => return Some(super::errhandler::last_used_code()),
        abi::MPI_UNIVERSE_SIZE => {
            let size = state().map_or(1, |st| st.rt.size() as c_int);
            UNIVERSE_SIZE_VALUE.get_or_init(|| size)
        }
        _ => return None,
    })
}

/// Writes a found attribute's value (the pointer stored), or flag 0.
fn report(found: Option<usize>, attribute_val: *mut c_void, flag: *mut c_int) -> Result<()> {
    match found {
        Some(v) => {
            out(attribute_val as *mut *mut c_void, v as *mut c_void, "attribute value")?;
            out(flag, 1, "flag")
        }
        None => out(flag, 0, "flag"),
    }
}

pub(super) fn comm_get_attr(comm: MPI_Comm, key: c_int, attribute_val: *mut c_void, flag: *mut c_int) -> Result<()> {
    blame(comm as usize);
    handles::comm(state()?, comm)?;
    if let Some(v) = predefined_comm_value(key) {
        return report(Some(v as usize), attribute_val, flag);
    }
    report(get(ObjectKind::Comm, comm as usize, key)?, attribute_val, flag)
}

ffi_fn! {
    fn MPI_Comm_get_attr(comm: MPI_Comm, comm_keyval: c_int, attribute_val: *mut c_void, flag: *mut c_int) -> c_int {
        comm_get_attr(comm, comm_keyval, attribute_val, flag)
    }
}

pub(super) fn comm_delete_attr(comm: MPI_Comm, key: c_int) -> Result<()> {
    blame(comm as usize);
    handles::comm(state()?, comm)?;
    delete(ObjectKind::Comm, comm as usize, key)
}

ffi_fn! {
    fn MPI_Comm_delete_attr(comm: MPI_Comm, comm_keyval: c_int) -> c_int {
        comm_delete_attr(comm, comm_keyval)
    }
}

// Datatypes.

ffi_fn! {
    fn MPI_Type_create_keyval(
        type_copy_attr_fn: abi::MPI_Type_copy_attr_function,
        type_delete_attr_fn: abi::MPI_Type_delete_attr_function,
        type_keyval: *mut c_int,
        extra_state: *mut c_void,
    ) -> c_int {
        let copy = copy_rule(type_copy_attr_fn, type_copy_attr_fn.map_or(0, |f| f as usize));
        create(ObjectKind::Datatype, Callbacks::Type(copy, type_delete_attr_fn), extra_state, type_keyval)
    }
}

ffi_fn! {
    fn MPI_Type_free_keyval(type_keyval: *mut c_int) -> c_int {
        free_keyval(ObjectKind::Datatype, type_keyval)
    }
}

ffi_fn! {
    fn MPI_Type_set_attr(datatype: MPI_Datatype, type_keyval: c_int, attribute_val: *mut c_void) -> c_int {
        handles::datatype(state()?, datatype)?;
        set(ObjectKind::Datatype, datatype as usize, type_keyval, attribute_val as usize)
    }
}

ffi_fn! {
    fn MPI_Type_get_attr(datatype: MPI_Datatype, type_keyval: c_int, attribute_val: *mut c_void, flag: *mut c_int) -> c_int {
        handles::datatype(state()?, datatype)?;
        report(get(ObjectKind::Datatype, datatype as usize, type_keyval)?, attribute_val, flag)
    }
}

ffi_fn! {
    fn MPI_Type_delete_attr(datatype: MPI_Datatype, type_keyval: c_int) -> c_int {
        handles::datatype(state()?, datatype)?;
        delete(ObjectKind::Datatype, datatype as usize, type_keyval)
    }
}

// Windows: partyline has none, but libraries create their keyvals up front.

ffi_fn! {
    fn MPI_Win_create_keyval(
        win_copy_attr_fn: abi::MPI_Win_copy_attr_function,
        win_delete_attr_fn: abi::MPI_Win_delete_attr_function,
        win_keyval: *mut c_int,
        extra_state: *mut c_void,
    ) -> c_int {
        let _ = (win_copy_attr_fn, win_delete_attr_fn);
        create(ObjectKind::Win, Callbacks::Win, extra_state, win_keyval)
    }
}

ffi_fn! {
    fn MPI_Win_free_keyval(win_keyval: *mut c_int) -> c_int {
        free_keyval(ObjectKind::Win, win_keyval)
    }
}
