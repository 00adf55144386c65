//! The C ABI: every `extern "C"` function, the handle tables and the constant tables. Each
//! function is declared once with `ffi_fn!` (export.rs), which makes both `MPI_` and `PMPI_`.
#![allow(non_snake_case, clippy::missing_safety_doc, clippy::too_many_arguments)]

// First, so the macro is defined for the modules below.
#[macro_use]
mod export;

pub mod abi;
mod abi_consts;
mod alltoallw;
mod attribute;
mod attribute_mpi1;
mod boundary;
mod bsend;
mod bsend_comm;
mod collective;
mod collective_args;
mod collective_c;
mod collective_jobs;
mod comm;
mod comm_create;
mod completion;
mod datatype;
mod datatype_ctor;
mod datatype_darray;
mod datatype_f90;
mod datatype_maps;
mod datatype_query;
mod datatype_table;
mod env;
mod errhandler;
mod graph;
mod grequest;
mod group;
mod handle_int;
mod handles;
mod icollective;
mod icollective_c;
mod ineighbor;
mod info;
mod intercomm;
mod introspection;
mod ireduce;
mod isendrecv;
mod large_count;
mod layout;
mod mprobe;
mod neighbor;
mod op;
mod p2p;
mod pack;
mod partitioned;
mod partitioned_round;
mod persistent;
mod persistent_collective;
mod persistent_collective_c;
mod persistent_neighbor;
mod persistent_setup;
mod reduce;
mod region;
mod request_status;
mod sendrecv;
mod session;
mod session_buffer;
mod session_comm;
mod staging;
mod state;
mod status;
mod status_access;
mod tool;
mod tool_objects;
mod topology;
mod unsupported;
