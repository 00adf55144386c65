//! The process-wide state behind the C API: the runtime and the handle tables.

use super::abi;
use super::region::Region;
use crate::comm::Comm;
use crate::datatype::Datatype;
use crate::error::{err, Result};
use crate::group::Group;
use crate::handle_table::{Handle, HandleTable};
use crate::request::Request;
use crate::runtime::{RecvTicket, Runtime, SendMode};
use crate::sync::lock;
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// What a persistent request does each time it is started.
#[derive(Clone)]
pub struct PersistentOp {
    pub send: Option<SendMode>,
    pub buf: Region,
    /// Rank in `comm`, or MPI_PROC_NULL / MPI_ANY_SOURCE.
    pub peer: i32,
    pub tag: i32,
    /// A non-contiguous datatype's layout (packed to send, unpacked on receipt); `None` when
    /// `buf` is the message itself.
    pub layout: Option<super::layout::Layout>,
}

/// What starting a persistent request does: post its point-to-point message, or queue its
/// collective again (persistent_setup.rs).
#[derive(Clone)]
pub enum Persistent {
    Message(PersistentOp),
    Collective(Restart),
    /// A partitioned send or receive, whose rounds its end (partitioned.rs) runs.
    Partitioned,
}

/// What a persistent collective's start runs: its preparation, on the arguments given to its
/// `*_init` (persistent_setup.rs).
pub type Restart = Arc<dyn Fn(&'static State) -> Result<crate::collective::executor::Job> + Send + Sync>;

pub struct RequestEntry {
    /// The operation in flight; `None` for an inactive persistent request.
    pub active: Option<Arc<Request>>,
    pub ticket: Option<RecvTicket>,
    pub comm: Arc<Comm>,
    pub comm_handle: usize,
    pub persistent: Option<Persistent>,
}

/// An operation made by `MPI_Op_create`.
#[derive(Clone, Copy)]
pub struct UserOp {
    pub func: unsafe extern "C" fn(*mut c_void, *mut c_void, *mut c_int, *mut abi::MPI_Datatype),
    pub commute: bool,
    /// Set by `MPI_Op_create_c`: the function takes its length as `MPI_Count` (then `func` is unused).
    pub func_c: abi::MPI_User_function_c,
}

/// A message reserved by `MPI_Mprobe`/`MPI_Improbe`, until `MPI_Mrecv`/`MPI_Imrecv` takes it.
pub struct MessageEntry {
    pub matched: crate::engine::mailbox::Matched,
    pub comm: Arc<Comm>,
    pub comm_handle: usize,
}

pub struct CommEntry {
    pub comm: Arc<Comm>,
    pub errhandler: usize,
    /// The grid or graph of a communicator made by `MPI_Cart_*`, `MPI_Graph_create` or `MPI_Dist_graph_*`.
    pub topology: Option<Arc<crate::topology::Topology>>,
    /// Set by `MPI_Comm_set_name`.
    pub name: Option<String>,
}

/// Space lent by `MPI_Buffer_attach`, and the buffered sends still using it.
#[derive(Default)]
pub struct BsendArea {
    pub attached: Option<(usize, usize)>,
    pub in_flight: Vec<(Arc<Request>, usize)>,
}

pub struct State {
    pub rt: Runtime,
    pub comms: Mutex<HandleTable<CommEntry>>,
    pub requests: Mutex<HandleTable<RequestEntry>>,
    pub types: Mutex<HandleTable<Datatype>>,
    pub ops: Mutex<HandleTable<UserOp>>,
    pub groups: Mutex<HandleTable<Group>>,
    pub bsend: Mutex<BsendArea>,
    pub messages: Mutex<HandleTable<MessageEntry>>,
    /// Buffers attached to one communicator (`MPI_Comm_attach_buffer`), by its context.
    pub comm_bsend: Mutex<std::collections::HashMap<u64, BsendArea>>,
    pub finalized: AtomicBool,
    pub thread_level: i32,
}

static STATE: OnceLock<State> = OnceLock::new();
static INIT_LOCK: Mutex<()> = Mutex::new(());
/// Whether the world model and sessions are running, and so the runtime (src/lifecycle.rs).
pub static LIFECYCLE: Mutex<crate::lifecycle::Lifecycle> = Mutex::new(crate::lifecycle::Lifecycle::new());

/// The state, if `MPI_Init` has run (whether or not `MPI_Finalize` has).
pub fn initialized() -> Option<&'static State> {
    STATE.get()
}

/// The state for a call that needs a live MPI.
pub fn state() -> Result<&'static State> {
    match STATE.get() {
        None => Err(err!(Other, "MPI is not initialized; call MPI_Init first")),
        Some(s) if s.finalized.load(Ordering::SeqCst) => {
            Err(err!(Other, "MPI has been finalized; no MPI call other than MPI_Initialized/MPI_Finalized is allowed after MPI_Finalize"))
        }
        Some(s) => Ok(s),
    }
}

/// Runs `MPI_Init` once; a second call is an error, as in MPI.
pub fn init(thread_level: i32) -> Result<&'static State> {
    let _guard = lock(&INIT_LOCK);
    if STATE.get().is_some() {
        return Err(err!(Other, "MPI_Init was already called; call it once per process"));
    }
    let config = crate::config::Config::from_env()?;
    let rt = Runtime::start(config)?;
    let mut comms = HandleTable::new();
    let world = comms.insert(CommEntry {
        comm: Arc::new(Comm::world(rt.rank(), rt.size())),
        errhandler: abi::MPI_ERRORS_ARE_FATAL as usize,
        topology: None,
        name: None,
    });
    let solo = comms.insert(CommEntry {
        comm: Arc::new(Comm::solo(rt.rank())),
        errhandler: abi::MPI_ERRORS_ARE_FATAL as usize,
        topology: None,
        name: None,
    });
    debug_assert_eq!((world.index, solo.index), (0, 1));
    let state = State {
        rt,
        comms: Mutex::new(comms),
        requests: Mutex::new(HandleTable::new()),
        types: Mutex::new(HandleTable::new()),
        ops: Mutex::new(HandleTable::new()),
        groups: Mutex::new(HandleTable::new()),
        bsend: Mutex::new(BsendArea::default()),
        messages: Mutex::new(HandleTable::new()),
        comm_bsend: Mutex::new(std::collections::HashMap::new()),
        finalized: AtomicBool::new(false),
        thread_level,
    };
    let _ = STATE.set(state);
    Ok(STATE.get().expect("just set"))
}

/// Kinds of run-time handle, kept in the handle value so a request passed as a
/// communicator is caught rather than misread.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Comm = 1,
    Request = 2,
    Datatype = 3,
    Op = 4,
    Group = 5,
    Message = 6,
    Errhandler = 7,
    Info = 8,
    Session = 9,
}

/// Run-time handles start above every predefined value (all below 0x400).
const HANDLE_BASE: usize = 0x400;
const INDEX_LIMIT: u32 = 0x00ff_ffff - HANDLE_BASE as u32;

/// Handle value: generation in the high 32 bits, kind in bits 24..32, index + 0x400 below.
pub fn encode(kind: Kind, h: Handle) -> Result<usize> {
    if h.index >= INDEX_LIMIT {
        return Err(err!(NoMem, "too many live {kind:?} handles ({}); free some", h.index));
    }
    Ok(((h.generation as usize) << 32) | ((kind as usize) << 24) | (h.index as usize + HANDLE_BASE))
}

pub fn decode(kind: Kind, value: usize) -> Option<Handle> {
    let low = value & 0x00ff_ffff;
    if (value >> 24) & 0xff != kind as usize || low < HANDLE_BASE {
        return None;
    }
    Some(Handle { index: (low - HANDLE_BASE) as u32, generation: (value >> 32) as u32 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_round_trip_and_never_collide_with_predefined() {
        let h = Handle { index: 5, generation: 9 };
        let v = encode(Kind::Request, h).unwrap();
        assert!(v >= 0x400);
        assert_ne!(v, abi::MPI_REQUEST_NULL as usize);
        assert_eq!(decode(Kind::Request, v), Some(h));
        assert_eq!(decode(Kind::Comm, v), None, "kind is checked");
        assert_eq!(decode(Kind::Comm, abi::MPI_COMM_WORLD as usize), None);
    }
}
