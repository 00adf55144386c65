//! mpicc: compiles and links C programs against partyline by running `cc` (or $PARTYLINE_CC) with its flags.

#[path = "wrapper/mod.rs"]
mod wrapper;

fn main() {
    wrapper::main(wrapper::Lang::C)
}
