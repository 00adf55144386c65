//! `ffi_fn!`, the one way to declare an MPI function: exports `MPI_Xxx` and `PMPI_Xxx`, body behind the panic boundary.
//!
//! Why a declaration-site macro (as hyper's `ffi_fn!` and rustls-ffi's `ffi_panic_boundary!`):
//! every function is written once, as an ordinary `fn` the macro wraps, so the boundary cannot be
//! forgotten and the name in its messages is the function's own (`stringify!`), not a copy.
//! The macro makes two symbols, as MPI's profiling interface requires: `PMPI_Xxx` holds the
//! implementation, and `MPI_Xxx` is a separate symbol that calls it, so a profiling library can
//! interpose `MPI_Xxx` and still reach partyline through `PMPI_Xxx`. (A linker alias would need
//! the link step, which the static library never has, and the cdylib's version script would hide
//! it.) cbindgen does not expand macros on stable Rust, so tests/header.rs reads each
//! `ffi_fn! { fn ... }` with `syn`, which parses the inside as the plain `fn` it is, and hands
//! cbindgen the two prototypes; include/mpi.h is thus generated from this one declaration.

/// Declares the C functions `MPI_$name` and `PMPI_$name` from one `fn MPI_$name(...) -> ... { body }`.
///
/// Two forms, told apart by the declared return type:
/// - `-> c_int`: an error-code function. The body is a `crate::error::Result<()>`; it runs in
///   `boundary::call`, which catches panics and turns errors into MPI error codes under the
///   error handler of MPI_COMM_WORLD, or of the communicator the body names with `blame`.
/// - any other type (`MPI_Wtime`'s `c_double`): the body is that value. There is no code to
///   report a failure in, so a panic aborts the process (`boundary::call_value`).
///
/// Parameters must be plain `name: Type`, with types that mpi.h can name (`src/ffi/abi.rs`).
/// Adding an MPI function is this one declaration; the header picks it up when regenerated:
///
/// ```ignore
/// ffi_fn! {
///     fn MPI_Comm_rank(comm: MPI_Comm, rank: *mut c_int) -> c_int {
///         blame(comm as usize);
///         out(rank, handles::comm(state()?, comm)?.rank as c_int, "rank")
///     }
/// }
/// ```
/// A C-variadic function (`int MPI_Pcontrol(const int level, ...)`) is declared with its named
/// parameter and `...`: stable Rust cannot define a variadic function, so the symbol takes the
/// named parameter only, and tests/header.rs writes the `...` into mpi.h. Callers using the
/// variadic prototype still pass the named argument where a plain function reads it (the SysV
/// x86-64 and AAPCS64 conventions pass named arguments the same way either way; the extra
/// register the caller sets for a variadic call is ignored), and the variadic tail is unread.
macro_rules! ffi_fn {
    // First: the other forms must not see `...`, where `ident` would fail.
    ($(#[$attr:meta])* fn $name:ident($arg:ident: $ty:ty, ...) -> c_int $body:block) => {
        ffi_fn!(@export $(#[$attr])* fn $name($arg: $ty) -> core::ffi::c_int {
            $crate::ffi::boundary::call(stringify!($name), || $body)
        });
    };
    ($(#[$attr:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> c_int $body:block) => {
        ffi_fn!(@export $(#[$attr])* fn $name($($arg: $ty),*) -> core::ffi::c_int {
            $crate::ffi::boundary::call(stringify!($name), || $body)
        });
    };
    ($(#[$attr:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block) => {
        ffi_fn!(@export $(#[$attr])* fn $name($($arg: $ty),*) -> $ret {
            $crate::ffi::boundary::call_value(stringify!($name), || $body)
        });
    };
    (@export $(#[$attr:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty $body:block) => {
        $(#[$attr])*
        #[no_mangle]
        pub unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
            // Never inlined, so MPI_Xxx stays a jump to PMPI_Xxx rather than a second copy.
            #[export_name = concat!("P", stringify!($name))]
            #[inline(never)]
            unsafe extern "C" fn implementation($($arg: $ty),*) -> $ret $body
            // SAFETY: the caller keeps the MPI function's contract, which is all PMPI_Xxx needs.
            unsafe { implementation($($arg),*) }
        }
    };
}
