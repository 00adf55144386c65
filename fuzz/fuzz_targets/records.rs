//! cargo-fuzz target: hostile bytes into the TLS record reader of a link (see fuzz/checks.rs).
#![no_main]

#[path = "../checks.rs"]
#[allow(dead_code)] // each target uses one of the checks
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = checks::records(data);
});
