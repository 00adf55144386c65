//! `MPI_Comm_create_from_group`: a communicator from a group (of a session's process set) with no parent communicator.

use super::abi::{self, MPI_Comm, MPI_Errhandler, MPI_Group, MPI_Info, MPI_Session};
use super::boundary::out;
use super::session::{adopt, check_errhandler, enter, session_of_group};
use super::state::state;
use crate::error::{err, Result};
use crate::sync::lock;
use std::ffi::c_char;

fn create_from_group(
    group: MPI_Group,
    stringtag: *const c_char,
    errhandler: MPI_Errhandler,
    newcomm: *mut MPI_Comm,
) -> Result<()> {
    const CALL: &str = "MPI_Comm_create_from_group";
    // Errors of this call go to the handler of the session the group came from, if known.
    let origin = session_of_group(group as usize);
    if let Some(session) = origin {
        enter(session as MPI_Session)?;
    }
    let handler = check_errhandler(errhandler, CALL)?;
    let st = state()?;
    let members = super::group::group(st, group)?;
    let tag = super::info::text(stringtag, "stringtag")?;
    if tag.len() >= abi::MPI_MAX_STRINGTAG_LEN as usize {
        return Err(err!(
            Arg,
            "{CALL}: the stringtag is {} bytes; MPI_MAX_STRINGTAG_LEN allows {}",
            tag.len(),
            abi::MPI_MAX_STRINGTAG_LEN - 1
        ));
    }
    if newcomm.is_null() {
        return Err(err!(Arg, "{CALL}: the newcomm output argument is NULL"));
    }
    if members.size() == 0 {
        return out(newcomm, abi::MPI_COMM_NULL, "new communicator");
    }
    let made = crate::collective::construct::create_from_group(&st.rt, &members, &tag)?;
    let context = made.context;
    let handle = super::comm::register(st, abi::MPI_COMM_NULL, made)?;
    // The errhandler argument is the new communicator's.
    if let Some(h) = super::handles::comm_slot(handle as usize) {
        if let Some(entry) = lock(&st.comms).get_mut(h) {
            entry.errhandler = handler;
        }
    }
    if let Some(session) = origin {
        adopt(session, handle as usize, context);
    }
    out(newcomm, handle, "new communicator")
}

ffi_fn! {
    fn MPI_Comm_create_from_group(
        group: MPI_Group,
        stringtag: *const c_char,
        info: MPI_Info,
        errhandler: MPI_Errhandler,
        newcomm: *mut MPI_Comm,
    ) -> c_int {
        // partyline takes no communicator hints, so the info is not read.
        let _ = info;
        create_from_group(group, stringtag, errhandler, newcomm)
    }
}
