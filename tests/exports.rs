//! The shared library exports exactly what include/mpi.h declares: every `MPI_Xxx` as both
//! `MPI_Xxx` and `PMPI_Xxx`, and no `MPI_`/`PMPI_` symbol the header does not declare.
//!
//! That the header declares the whole standard ABI is checked at development time against the
//! reference header, which is not in the tree: `python3 tools/unsupported.py <mpi_abi.h> --check`.

mod common;

use std::collections::BTreeSet;
use std::fs;

/// The functions include/mpi.h declares (prototypes, not typedefs), `MPI_` and `PMPI_` alike.
fn declared() -> BTreeSet<String> {
    let header = fs::read_to_string(common::root().join("include/mpi.h")).expect("reading include/mpi.h");
    header
        .lines()
        // A prototype starts at column 0 with its return type; its continuation lines are indented.
        .filter(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()) && !l.starts_with("typedef"))
        .filter_map(|l| {
            let (head, _) = l.split_once('(')?;
            let name = head.split_whitespace().last()?.trim_start_matches('*');
            (name.starts_with("MPI_") || name.starts_with("PMPI_")).then(|| name.to_string())
        })
        .collect()
}

#[test]
fn exports_match_header() {
    let so = common::ensure_library();
    let exported: BTreeSet<String> = common::binutils("nm", &["-D", "--defined-only"], &so)
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|s| s.starts_with("MPI_") || s.starts_with("PMPI_"))
        .map(str::to_string)
        .collect();
    let declared = declared();
    let mpi = declared.iter().filter(|n| n.starts_with("MPI_")).count();
    assert!(mpi > 500, "include/mpi.h declares only {mpi} MPI_ functions; is it the generated header?");
    for name in declared.iter().filter(|n| n.starts_with("MPI_")) {
        assert!(declared.contains(&format!("P{name}")), "include/mpi.h declares {name} but not P{name}");
    }
    let missing: Vec<_> = declared.difference(&exported).collect();
    let undeclared: Vec<_> = exported.difference(&declared).collect();
    assert!(
        missing.is_empty(),
        "{} declares {} functions {} does not export: {missing:?}",
        "include/mpi.h",
        missing.len(),
        so.display()
    );
    assert!(
        undeclared.is_empty(),
        "{} exports {} MPI symbols include/mpi.h does not declare (regenerate it: \
         PARTYLINE_BLESS=1 cargo test --release --test header): {undeclared:?}",
        so.display(),
        undeclared.len()
    );
}
