//! cargo-fuzz target: hostile bytes on the streams of a striped link (chunk headers, order, ends) (see fuzz/checks.rs).
#![no_main]

#[path = "../checks.rs"]
#[allow(dead_code)] // each target uses one of the checks
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = checks::chunks(data);
});
