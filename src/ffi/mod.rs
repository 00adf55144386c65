//! The C ABI: every `extern "C"` function, the handle tables and the constant tables. The
//! real implementations are the `PMPI_` functions; build.rs generates the `MPI_` names.
#![allow(non_snake_case, clippy::missing_safety_doc, clippy::too_many_arguments)]

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

include!(concat!(env!("OUT_DIR"), "/mpi_names.rs"));
