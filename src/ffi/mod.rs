//! The C ABI: every `extern "C"` function, the handle tables and the constant tables. Each
//! function is declared once with `ffi_fn!` (export.rs), which makes both `MPI_` and `PMPI_`.
#![allow(non_snake_case, clippy::missing_safety_doc, clippy::too_many_arguments)]

// First, so the macro is defined for the modules below.
#[macro_use]
mod export;

pub mod abi;
mod abi_consts;
mod boundary;
mod bsend;
mod collective;
mod comm;
mod completion;
mod datatype;
mod datatype_table;
mod env;
mod handles;
mod op;
mod p2p;
mod persistent;
mod reduce;
mod region;
mod state;
mod status;
mod unsupported;
