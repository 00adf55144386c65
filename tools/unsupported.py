#!/usr/bin/env python3
"""Generates src/ffi/unsupported/: an honest stub for every standard-ABI function partyline lacks.

    python3 tools/unsupported.py /path/to/mpi_abi.h           # (re)write src/ffi/unsupported/
    python3 tools/unsupported.py /path/to/mpi_abi.h --check   # also compare include/mpi.h with it

The reference header is the MPI 5.0 standard-ABI mpi.h (MPICH ships one as mpi_abi.h); it is
not in the tree, so the path is an argument. Every function it declares that no
`ffi_fn! { fn MPI_Xxx` under src/ffi declares (outside src/ffi/unsupported/) gets a stub that
returns MPI_ERR_UNSUPPORTED_OPERATION through the error handler, naming the function and its
feature family, and writes no output argument. Re-run it after implementing functions: their
stubs disappear. Then regenerate the header (PARTYLINE_BLESS=1 cargo test --release --test header).

Skipped, and printed: functions that do not return an error code (`*_fromint`, `*_toint`,
MPI_Aint_add, ...) or are variadic (MPI_Pcontrol), which need a hand-written body; MPIX_
extensions; and functions whose C types src/ffi/abi.rs does not define yet.

--check compares include/mpi.h with the reference: functions missing or extra, and constants
or types of the reference missing from the header or with another value.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FFI = os.path.join(ROOT, "src", "ffi")
OUT = os.path.join(FFI, "unsupported")
README = "see README 'Unsupported MPI features'"
# Lines per generated file, so each stays under ~400.
MAX_LINES = 380

# (module, what the family is, name pattern), first match wins. The module's file is
# src/ffi/unsupported/<module>.rs; a family longer than MAX_LINES continues in <module>_2.rs,
# and so on.
FAMILIES = [
    ("rma_access", "one-sided communication (RMA windows)",
     r"MPI_(R?put|R?get|R?accumulate|R?get_accumulate|Fetch_and_op|Compare_and_swap)(_c)?$",
     re.IGNORECASE),
    ("rma_window", "one-sided communication (RMA windows)", r"MPI_Win_"),
    ("file_access", "MPI-IO (MPI_File)", r"MPI_File_(i?read|i?write)"),
    ("file", "MPI-IO (MPI_File)", r"MPI_(File_|Register_datarep)"),
    ("dynamic_process", "dynamic process management (spawn, connect/accept, name publishing)",
     r"MPI_(Comm_spawn|Comm_connect|Comm_accept|Comm_join|Comm_disconnect|Comm_get_parent|"
     r"Open_port|Close_port|Publish_name|Unpublish_name|Lookup_name)"),
    ("session", "the sessions model (MPI_Session)",
     r"MPI_(Session_|Group_from_session_pset|Comm_create_from_group)"),
    ("grequest", "generalized requests", r"MPI_Grequest_"),
    ("partitioned", "partitioned communication", r"MPI_(Psend_init|Precv_init|Pready|Parrived)"),
    ("neighbor", "neighborhood collectives", r"MPI_I?neighbor_", re.IGNORECASE),
    ("graph_topology", "graph and distributed-graph topologies", r"MPI_(Graph|Dist_graph)"),
    ("persistent_collective", "persistent collective operations (MPI_Xxx_init)",
     r"MPI_(Allgather|Allgatherv|Allreduce|Alltoall|Alltoallv|Alltoallw|Barrier|Bcast|Exscan|Gather|"
     r"Gatherv|Reduce|Reduce_scatter|Reduce_scatter_block|Scan|Scatter|Scatterv)_init(_c)?$"),
    ("large_count", "this large-count (MPI_Count) variant", r"MPI_\w+_c$"),
    ("other", "this function", r"MPI_"),
]

C_BASE = {"int": "c_int", "char": "c_char", "void": "c_void", "double": "c_double"}
RUST_KEYWORDS = {"type", "ref", "in", "match", "fn", "self", "loop", "box", "where", "use", "mod", "move"}


def reference_functions(text):
    """{name: (return type, [parameter strings])} of every function the reference declares."""
    found = {}
    for m in re.finditer(r"^([A-Za-z_][\w ]*?)\s+(MPIX?_\w+)\s*\(([^;]*)\)\s*;", text, re.M):
        ret, name, args = m.group(1).strip(), m.group(2), " ".join(m.group(3).split())
        params = [] if args == "void" else [a.strip() for a in args.split(",")]
        found.setdefault(name, (ret, params))
    return found


def declared_functions():
    """Names declared by `ffi_fn! { fn MPI_Xxx` under src/ffi, outside the generated stubs."""
    names = set()
    for dirpath, _, files in os.walk(FFI):
        if os.path.abspath(dirpath).startswith(OUT):
            continue
        for f in files:
            if f.endswith(".rs"):
                text = open(os.path.join(dirpath, f)).read()
                names.update(re.findall(r"ffi_fn!\s*\{\s*(?:(?:#\[[^\]]*\]|///[^\n]*)\s*)*fn\s+(MPI_\w+)", text))
    return names


def abi_types():
    """Type names src/ffi/abi.rs (and abi_consts.rs) define; callback types are `Option<fn>`."""
    text = open(os.path.join(FFI, "abi.rs")).read()
    types = set(re.findall(r"^pub (?:type|struct) (\w+)", text, re.M))
    callbacks = set(re.findall(r"^pub type (\w+)\s*=\s*Option<", text, re.M))
    return types, callbacks


def rust_param(param, types, callbacks):
    """`name: RustType` for one C parameter, or raises KeyError naming the unknown type."""
    m = re.match(r"(const\s+)?(\w+)\s*((?:\*\s*)*)(\w+)\s*((?:\[[^\]]*\])*)$", param)
    if not m:
        raise KeyError(f"unparsed parameter `{param}`")
    const, base, stars, name, dims = m.groups()
    depth = stars.count("*") + dims.count("[]")
    fixed = re.findall(r"\[(\d+)\]", dims)
    if base in callbacks:
        # `MPI_X_function *fn` and `MPI_X_function fn` are both the nullable function pointer.
        ty, depth = base, max(depth - 1, 0)
    elif base in C_BASE:
        ty = C_BASE[base]
    elif base in types:
        ty = base
    else:
        raise KeyError(base)
    for n in reversed(fixed):
        ty = f"[{ty}; {n}]"
    for level in range(depth):
        ty = ("*const " if const and level == 0 else "*mut ") + ty
    if name in RUST_KEYWORDS:
        name += "_"
    return f"{name}: {ty}"


def family_of(name):
    for module, what, pattern, *flags in FAMILIES:
        if re.match(pattern, name, *flags):
            return module, what
    raise AssertionError(name)


def blamed(params):
    """The communicator parameter whose error handler applies, if the function has one."""
    return next((p.split(":")[0] for p in params if p.endswith(": MPI_Comm") and p.startswith("comm")), None)


def stub(name, params):
    """One `ffi_fn!` stub: blames the communicator argument, if any, for the error handler."""
    body = f'refuse({blamed(params) or "MPI_COMM_WORLD"}, "{name}", FAMILY)'
    # One parameter a line when the signature is wider than 120 columns, as rustfmt does outside macros.
    line = f"    fn {name}({', '.join(params)}) -> c_int {{"
    if len(line) > 120:
        line = "\n".join([f"    fn {name}("] + [f"        {p}," for p in params] + ["    ) -> c_int {"])
    return ["ffi_fn! {", line, f"        {body}", "    }", "}"]


def stub_lines(name, params):
    """How many lines rustfmt makes of a stub, with the blank line before it."""
    one_line = len(f"    fn {name}({', '.join(params)}) -> c_int {{") <= 120
    return 6 if one_line else 7 + len(params)


def uses(chunk):
    """The `use` lines a stub file needs for the Rust items its stubs mention."""
    types = " ".join(p.split(": ", 1)[1] for _, params in chunk for p in params)
    words = set(re.findall(r"\w+", types))
    if any(blamed(params) is None for _, params in chunk):
        words.add("MPI_COMM_WORLD")
    lines = ["use super::refuse;", f"use crate::ffi::abi::{{{', '.join(sorted(w for w in words if w.startswith('MPI_')))}}};"]
    core = sorted(w for w in words if w in C_BASE.values())
    if core:
        lines.append(f"use core::ffi::{{{', '.join(core)}}};")
    return lines


HEADER_NOTE = "// GENERATED by tools/unsupported.py from the standard-ABI reference header; do not edit.\n"


def write_files(groups):
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        if old.endswith(".rs"):
            os.remove(os.path.join(OUT, old))
    modules = []
    for (module, what), stubs in sorted(groups.items()):
        chunks, size = [[]], 10
        for name, params in stubs:
            lines = stub_lines(name, params)
            if size + lines > MAX_LINES:
                chunks.append([])
                size = 10
            chunks[-1].append((name, params))
            size += lines
        for n, chunk in enumerate(chunks, 1):
            mod = module if n == 1 else f"{module}_{n}"
            modules.append(mod)
            names = ", ".join(s[0] for s in chunk[:2]) + (", ..." if len(chunk) > 2 else "")
            lines = [f"//! Stubs for {what}, which partyline does not support: {names}", HEADER_NOTE.rstrip(), ""]
            lines += uses(chunk)
            lines += ["", f'const FAMILY: &str = "{what}";']
            for name, params in chunk:
                lines += [""] + stub(name, params)
            with open(os.path.join(OUT, f"{mod}.rs"), "w") as f:
                f.write("\n".join(lines) + "\n")
    mod_rs = [
        "//! The standard-ABI functions partyline does not implement: each returns",
        "//! MPI_ERR_UNSUPPORTED_OPERATION through the error handler and names its feature family.",
        "//!",
        "//! GENERATED: regenerate every file here with `python3 tools/unsupported.py <mpi_abi.h>` (the",
        "//! MPI 5.0 standard-ABI reference header) after adding or removing an `ffi_fn!` elsewhere in",
        "//! src/ffi; stubs of functions implemented since then disappear. Do not edit by hand.",
        "",
        "// A stub only names its parameters, for the header; none reads them.",
        "#![allow(unused_variables)]",
        "",
    ]
    mod_rs += [f"mod {m};" for m in sorted(modules)]
    mod_rs += [
        "",
        "use super::abi::MPI_Comm;",
        "use crate::error::{err, Result};",
        "",
        "/// The error of an unsupported `function` of `family`, under `comm`'s error handler.",
        "fn refuse(comm: MPI_Comm, function: &str, family: &str) -> Result<()> {",
        "    super::boundary::blame(comm as usize);",
        f'    Err(err!(Unsupported, "{{function}}: {{family}} is not supported by partyline; {README}"))',
        "}",
    ]
    with open(os.path.join(OUT, "mod.rs"), "w") as f:
        f.write("\n".join(mod_rs) + "\n")
    files = [os.path.join(OUT, f) for f in sorted(os.listdir(OUT))]
    # The same formatting `cargo fmt` would give, so a re-run leaves no diff.
    subprocess.run(["rustfmt", "--edition", "2021", "--config-path", ROOT] + files, check=False)
    return modules


def check_header(text, functions):
    """Prints what include/mpi.h lacks or gets wrong compared with the reference; returns the count."""
    ours = open(os.path.join(ROOT, "include", "mpi.h")).read()
    ours_fns = set(re.findall(r"^(?!typedef)[A-Za-z_][\w ]*?\s+\**(MPI_\w+)\(", ours, re.M))
    problems = 0
    for name in sorted(set(functions) - ours_fns):
        if not name.startswith("MPIX_"):
            print(f"header lacks function {name}")
            problems += 1
    for name in sorted(ours_fns - set(functions)):
        print(f"header declares {name}, which the reference does not")
    ref_values = {}
    for m in re.finditer(r"^#define\s+(MPI_\w+)\s+(.+?)\s*(?:/\*.*)?$", text, re.M):
        ref_values[m.group(1)] = m.group(2)
    for body in re.findall(r"enum\s*\w*\s*\{([^}]*)\}", text):
        body = re.sub(r"/\*.*?\*/", "", body)
        for m in re.finditer(r"(MPI_\w+)\s*=\s*([^,\s]+)", body):
            ref_values[m.group(1)] = m.group(2)
    our_values = dict(re.findall(r"^#define\s+(MPI_\w+)\s+(.+?)\s*$", ours, re.M))

    def number(v):
        v = v.strip("()")
        v = re.sub(r"^\(?[\w\s\*]+\)", "", v) if v.startswith(("MPI_", "void", "int", "char")) else v
        try:
            return int(v.strip("()"), 0)
        except ValueError:
            return v

    for name, value in sorted(ref_values.items()):
        if name in ("MPI_H_ABI", "MPI_ABI_Aint", "MPI_ABI_Count", "MPI_ABI_Offset"):
            continue
        if name not in our_values:
            print(f"header lacks constant {name} = {value}")
            problems += 1
        elif number(our_values[name]) != number(value) and our_values[name].replace(" ", "") != value.replace(" ", ""):
            print(f"header has {name} = {our_values[name]}, the reference {value}")
            problems += 1
    for name in sorted(set(re.findall(r"typedef[^;]*?\b(MPI_\w+)\)?\s*(?:\(|;)", text))):
        if not re.search(rf"\b{name}\b", ours):
            print(f"header lacks type {name}")
            problems += 1
    return problems


def main(argv):
    if len(argv) < 2 or argv[1].startswith("-"):
        sys.exit(__doc__)
    text = open(argv[1]).read()
    functions = reference_functions(text)
    declared = declared_functions()
    types, callbacks = abi_types()
    groups, skipped = {}, []
    for name, (ret, params) in sorted(functions.items()):
        if name in declared:
            continue
        if name.startswith("MPIX_"):
            skipped.append(f"{name}: an MPIX_ extension, not a standard function")
            continue
        if ret != "int" or name.endswith("_toint"):
            skipped.append(f"{name}: returns {ret}, not an error code; needs a hand-written body")
            continue
        if "..." in params:
            skipped.append(f"{name}: variadic; needs a hand-written body")
            continue
        try:
            rust = [rust_param(p, types, callbacks) for p in params]
        except KeyError as missing:
            skipped.append(f"{name}: src/ffi/abi.rs lacks the type {missing.args[0]}")
            continue
        groups.setdefault(family_of(name), []).append((name, rust))
    modules = write_files(groups)
    stubs = sum(len(v) for v in groups.values())
    print(f"{len(functions)} reference functions, {len(declared)} implemented, {stubs} stubs in "
          f"{len(modules)} files under src/ffi/unsupported/, {len(skipped)} skipped:")
    for s in skipped:
        print(f"  skipped {s}")
    if "--check" in argv:
        problems = check_header(text, functions)
        print(f"include/mpi.h against the reference: {problems} problem(s)")
        sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main(sys.argv)
