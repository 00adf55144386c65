//! partyline: an MPI replacement for multi-party computation, with standing TCP links among
//! the parties, a communication thread that moves bytes while the program computes, and the
//! MPI C ABI on top (see `ffi`).

pub mod attribute;
pub mod bootstrap;
pub mod buffer;
pub mod bundle;
pub mod channel;
pub mod collective;
pub mod comm;
pub mod config;
pub mod datatype;
pub mod engine;
pub mod error;
pub mod error_registry;
pub mod exit_report;
pub mod ffi;
pub mod group;
pub mod handle_int;
pub mod handle_table;
pub mod handshake;
pub mod info;
pub mod link;
pub mod listener;
pub mod log;
pub mod notifier;
pub mod partition;
pub mod progress;
pub mod reconnect;
pub mod rendezvous;
pub mod request;
pub mod request_join;
pub mod runtime;
pub mod security;
pub mod shared;
pub mod socket_settings;
pub mod spin;
pub mod stats;
pub mod stripe;
pub mod sync;
pub mod tcp_info;
pub mod tls;
pub mod token;
pub mod topology;
pub mod transport;
pub mod typemap;
pub mod wire;
