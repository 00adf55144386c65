//! The standard-ABI functions partyline does not implement: each returns
//! MPI_ERR_UNSUPPORTED_OPERATION through the error handler and names its feature family.
//!
//! GENERATED: regenerate every file here with `python3 tools/unsupported.py <mpi_abi.h>` (the
//! MPI 5.0 standard-ABI reference header) after adding or removing an `ffi_fn!` elsewhere in
//! src/ffi; stubs of functions implemented since then disappear. Do not edit by hand.

// A stub only names its parameters, for the header; none reads them.
#![allow(unused_variables)]

mod dynamic_process;
mod file;
mod file_access;
mod file_access_2;
mod other;
mod rma_access;
mod rma_window;

use super::abi::MPI_Comm;
use crate::error::{err, Result};

/// The error of an unsupported `function` of `family`, under `comm`'s error handler.
fn refuse(comm: MPI_Comm, function: &str, family: &str) -> Result<()> {
    super::boundary::blame(comm as usize);
    Err(err!(Unsupported, "{function}: {family} is not supported by partyline; see README 'Unsupported MPI features'"))
}
