//! mpicxx: compiles and links C++ programs against partyline by running `c++` (or $PARTYLINE_CXX) with its flags.

#[path = "wrapper/mod.rs"]
mod wrapper;

fn main() {
    wrapper::main(wrapper::Lang::Cxx)
}
