//! Small introspection calls: MPI_Pcontrol and the standard ABI's MPI_Abi_get_* queries.

use super::abi::{self, MPI_Info};
use super::boundary::out;
use crate::error::{err, Result};
use crate::info::Info;
use std::ffi::{c_int, c_void};

ffi_fn! {
    /// Profiling control: partyline has no profiler of its own, so every level is accepted and
    /// ignored (a profiling library interposing MPI_Pcontrol sees the call first).
    fn MPI_Pcontrol(level: c_int, ...) -> c_int {
        let _ = level;
        Ok(())
    }
}

ffi_fn! {
    fn MPI_Abi_get_version(abi_major: *mut c_int, abi_minor: *mut c_int) -> c_int {
        out(abi_major, abi::MPI_ABI_VERSION, "abi_major")?;
        out(abi_minor, abi::MPI_ABI_SUBVERSION, "abi_minor")
    }
}

/// The sizes of the ABI's integer types, under the keys the standard ABI names.
fn abi_info() -> Info {
    Info::from_pairs([
        ("mpi_aint_size", size_of::<abi::MPI_Aint>().to_string()),
        ("mpi_count_size", size_of::<abi::MPI_Count>().to_string()),
        ("mpi_offset_size", size_of::<abi::MPI_Offset>().to_string()),
    ])
}

fn new_info(info: *mut MPI_Info, contents: Info) -> Result<()> {
    if info.is_null() {
        return Err(err!(Arg, "the info output argument is NULL"));
    }
    out(info, super::info::register(contents)?, "info")
}

ffi_fn! {
    fn MPI_Abi_get_info(info: *mut MPI_Info) -> c_int {
        new_info(info, abi_info())
    }
}

ffi_fn! {
    /// partyline has no Fortran bindings, so there is no Fortran ABI to describe: MPI_INFO_NULL.
    fn MPI_Abi_get_fortran_info(info: *mut MPI_Info) -> c_int {
        out(info, abi::MPI_INFO_NULL, "info")
    }
}

ffi_fn! {
    /// No Fortran compiler's LOGICAL values were ever set (there are no Fortran bindings).
    fn MPI_Abi_get_fortran_booleans(logical_size: c_int, logical_true: *mut c_void, logical_false: *mut c_void, is_set: *mut c_int) -> c_int {
        let _ = (logical_size, logical_true, logical_false);
        out(is_set, 0, "is_set")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn abi_info_reports_eight_byte_integers() {
        let info = super::abi_info();
        for key in ["mpi_aint_size", "mpi_count_size", "mpi_offset_size"] {
            assert_eq!(info.get(key).unwrap(), Some("8"), "{key}");
        }
    }
}
