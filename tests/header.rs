//! include/mpi.h: generated from src/ffi with cbindgen plus light post-processing, checked to be current, and compiled as C and C++.
//!
//! Regenerate with `PARTYLINE_BLESS=1 cargo test --test header`.
//!
//! cbindgen sees the whole crate, and emits every `pub const` anywhere in it, every
//! `#[no_mangle]` function and static, and the types those mention. So a first pass finds the
//! roots whose names are not `MPI_*`/`PMPI_*` (internal constants, helpers) and a second pass
//! excludes them, which also drops the types only they used. Post-processing then:
//! - adds an `MPI_Xxx` prototype for every `PMPI_Xxx` one (build.rs makes those functions, and
//!   cbindgen never sees its output);
//! - turns callback pointer typedefs into the standard's function typedefs, so C code can keep
//!   writing `MPI_User_function *` (a function-typed parameter is the same as a pointer one);
//! - parenthesizes cast and negative `#define` values, writes handle values in hex, and groups
//!   the `#define`s as the Rust source groups them (its `//` group comments become C comments).

#[path = "header/compile.rs"]
mod compile;

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::sync::OnceLock;

const BLESS: &str = "PARTYLINE_BLESS=1 cargo test --test header";

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The contents include/mpi.h should have; computed once per test run.
fn header() -> &'static str {
    static HEADER: OnceLock<String> = OnceLock::new();
    HEADER.get_or_init(generate)
}

fn generate() -> String {
    let path = manifest_dir().join("cbindgen.toml");
    let mut config = cbindgen::Config::from_file(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let first = run_cbindgen(config.clone());
    config.export.exclude.extend(
        declared_names(&first)
            .into_iter()
            .filter(|(kind, name)| *kind != Decl::Type && !is_mpi_name(name))
            .map(|(_, name)| name),
    );
    let header = post_process(&run_cbindgen(config), &const_groups());
    let mut leaks: Vec<String> = declared_names(&header)
        .into_iter()
        .filter(|(_, name)| !is_mpi_name(name))
        .map(|(kind, name)| format!("{kind:?} {name}"))
        .collect();
    leaks.dedup();
    assert!(
        leaks.is_empty(),
        "mpi.h would declare non-MPI names {leaks:?}: an MPI_/PMPI_ function or constant in src uses a \
         type that is not part of the ABI (put ABI types in src/ffi/abi.rs, named MPI_*)"
    );
    header
}

fn run_cbindgen(config: cbindgen::Config) -> String {
    let bindings = cbindgen::Builder::new()
        .with_crate(manifest_dir())
        .with_config(config)
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen failed: {e}"));
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("cbindgen writes UTF-8")
}

fn is_mpi_name(name: &str) -> bool {
    name.starts_with("MPI_") || name.starts_with("PMPI_")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decl {
    Define,
    Function,
    Global,
    Type,
}

/// Every name a cbindgen C header declares: macros, functions, globals, typedefs and struct tags.
/// Expects cbindgen's layout (one declaration per paragraph, `#` lines on their own).
fn declared_names(header: &str) -> Vec<(Decl, String)> {
    let mut out = Vec::new();
    let mut code = String::new();
    for line in header.lines() {
        let line = line.split("//").next().unwrap_or("");
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("#define ") {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if name != "MPI_H" {
                out.push((Decl::Define, name));
            }
        } else if !t.starts_with('#') && t != "extern \"C\" {" && t != "}" {
            code.push_str(line);
            code.push('\n');
        }
    }
    // Drop comments and struct bodies, then look at each top-level declaration.
    let code = strip_between(&strip_between(&code, "/*", "*/"), "{", "}");
    for decl in code.split(';').map(str::trim).filter(|d| !d.is_empty()) {
        let words: Vec<&str> =
            decl.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
        for pair in words.windows(2) {
            if matches!(pair[0], "struct" | "union" | "enum") {
                out.push((Decl::Type, pair[1].to_string()));
            }
        }
        let is_typedef = decl.starts_with("typedef");
        let name = match decl.find('(') {
            // `R (*NAME)(...)` or `R NAME(...)`
            Some(p) if decl[p..].starts_with("(*") => ident_at(&decl[p + 2..]),
            Some(p) => last_ident(&decl[..p]),
            None => last_ident(decl),
        };
        let kind = if is_typedef {
            Decl::Type
        } else if decl.contains('(') {
            Decl::Function
        } else if decl.starts_with("struct") || decl.starts_with("union") || decl.starts_with("enum") {
            continue; // a bare tag declaration, already recorded
        } else {
            Decl::Global
        };
        out.push((kind, name));
    }
    out
}

fn strip_between(s: &str, open: &str, close: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    let mut rest = s;
    while !rest.is_empty() {
        if rest.starts_with(open) {
            depth += 1;
            rest = &rest[open.len()..];
        } else if depth > 0 && rest.starts_with(close) {
            depth -= 1;
            rest = &rest[close.len()..];
        } else {
            let c = rest.chars().next().unwrap();
            if depth == 0 {
                out.push(c);
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

fn ident_at(s: &str) -> String {
    s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

fn last_ident(s: &str) -> String {
    let s = s.trim_end_matches(|c: char| !(c.is_alphanumeric() || c == '_'));
    let start = s.rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
    s[start..].to_string()
}

/// Where the Rust source starts a group of constants (a blank line before the `pub const`), with
/// the group's `//` comment if it has one.
fn const_groups() -> HashMap<String, Option<String>> {
    let mut groups = HashMap::new();
    let dir = manifest_dir().join("src/ffi");
    let Ok(entries) = fs::read_dir(&dir) else {
        return groups;
    };
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.extension() != Some("rs".as_ref()) {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        let mut comment: Vec<&str> = Vec::new();
        let mut group_start = true;
        for line in text.lines().map(str::trim) {
            if let Some(c) = line.strip_prefix("// ") {
                comment.push(c);
            } else if line.starts_with("///") || line.starts_with("#[") {
                // Docs and attributes belong to the constant below; they do not end a group.
            } else if line.is_empty() {
                group_start = true;
                comment.clear();
            } else {
                if let Some(rest) = line.strip_prefix("pub const ") {
                    if group_start || !comment.is_empty() {
                        let name = ident_at(rest);
                        let text = (!comment.is_empty()).then(|| comment.join(" "));
                        groups.insert(name, text);
                    }
                }
                group_start = false;
                comment.clear();
            }
        }
    }
    groups
}

fn post_process(raw: &str, groups: &HashMap<String, Option<String>>) -> String {
    // Callback pointer typedefs become function typedefs.
    let mut callbacks = Vec::new();
    let mut text = String::new();
    for line in raw.lines() {
        match line.find("(*MPI_").filter(|_| line.starts_with("typedef ")) {
            Some(p) => {
                let name = ident_at(&line[p + 2..]);
                text.push_str(&line.replacen(&format!("(*{name})"), &name, 1));
                callbacks.push(name);
            }
            None => text.push_str(line),
        }
        text.push('\n');
    }

    let paragraphs: Vec<&str> = text.split("\n\n").map(|p| p.trim_matches('\n')).collect();
    let is_define = |p: &str| p.starts_with("#define ") && !p.contains('\n') && p != "#define MPI_H";
    // A prototype paragraph: its first non-preprocessor line is `RET PMPI_Xxx(...`.
    let is_pmpi_proto = |p: &str| {
        p.lines().find(|l| !l.starts_with('#')).is_some_and(|l| {
            !l.starts_with("/*") && !l.starts_with("typedef") && l.contains(" PMPI_") && l.contains('(')
        })
    };
    let mpi_protos: Vec<String> = paragraphs.iter().filter(|p| is_pmpi_proto(p)).map(|p| mpi_prototype(p)).collect();

    let mut out: Vec<String> = Vec::new();
    let mut prev_define_key: Option<String> = None;
    let mut protos_written = false;
    for p in paragraphs {
        if is_define(p) {
            let (line, mut key) = define_line(p);
            let name = ident_at(&p["#define ".len()..]);
            // An alias (`#define MPI_C_COMPLEX MPI_C_FLOAT_COMPLEX`) stays with what precedes it.
            if line["#define ".len() + name.len()..].trim().starts_with("MPI_") {
                key = prev_define_key.clone().unwrap_or_default();
            }
            let group = groups.get(&name);
            let same_block = prev_define_key.as_ref() == Some(&key) && group.is_none();
            let mut block = String::new();
            if let Some(Some(comment)) = group {
                block.push_str(&format!("/* {} */\n", comment.replace("*/", "* /")));
            }
            block.push_str(&line);
            match out.last_mut() {
                Some(last) if same_block => {
                    last.push('\n');
                    last.push_str(&block);
                }
                _ => out.push(block),
            }
            prev_define_key = Some(key);
            continue;
        }
        if is_pmpi_proto(p) && !protos_written {
            out.extend(mpi_protos.iter().cloned());
            protos_written = true;
        }
        // One-line typedefs (incomplete structs, handles, callbacks) run together.
        let one_line_typedef = |p: &str| p.starts_with("typedef ") && !p.contains('\n');
        match out.last_mut() {
            Some(last) if one_line_typedef(p) && prev_define_key.is_none() && last.lines().all(one_line_typedef) => {
                last.push('\n');
                last.push_str(p);
            }
            _ => out.push(p.to_string()),
        }
        prev_define_key = None;
    }
    let header = out.join("\n\n") + "\n";

    for name in &callbacks {
        for pointer in [format!("{name} *"), format!("{name}*")] {
            assert!(
                !header.contains(&pointer),
                "mpi.h declares `{pointer}`, but {name} is a function type in C while the Rust \
                 side passes it as a pointer: take `{name}` (an Option<fn>) directly"
            );
        }
    }
    header
}

/// `#define NAME VALUE` with a cast or negative VALUE parenthesized and handle values in hex; also
/// returns the block key (the cast's pointee kind), so different kinds of constant stay apart.
fn define_line(p: &str) -> (String, String) {
    let rest = &p["#define ".len()..];
    let name = ident_at(rest);
    let value = rest[name.len()..].trim();
    if let Some(close) = value.strip_prefix('(').and_then(|v| v.find(')')) {
        let ty = &value[1..=close];
        let n = &value[close + 2..];
        let key = if ty.contains('*') { "pointer" } else { ty };
        let n = match n.parse::<u64>() {
            Ok(v) if !ty.contains('*') => format!("0x{v:08x}"),
            _ => n.to_string(),
        };
        return (format!("#define {name} (({ty}){n})"), key.to_string());
    }
    if value.starts_with('-') {
        return (format!("#define {name} ({value})"), String::new());
    }
    (p.to_string(), String::new())
}

/// The `MPI_` twin of a `PMPI_` prototype paragraph, its continuation lines re-aligned.
fn mpi_prototype(p: &str) -> String {
    let mut seen_name = false;
    let lines: Vec<String> = p
        .lines()
        .map(|line| {
            if line.contains(" PMPI_") && !seen_name {
                seen_name = true;
                line.replacen(" PMPI_", " MPI_", 1)
            } else if seen_name && line.starts_with(' ') {
                line[1..].to_string()
            } else {
                line.to_string()
            }
        })
        .collect();
    lines.join("\n")
}

#[test]
fn header_is_up_to_date() {
    let path = manifest_dir().join("include/mpi.h");
    let fresh = header();
    if std::env::var_os("PARTYLINE_BLESS").is_some_and(|v| v == "1") {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, fresh).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let current = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}; create it with `{BLESS}`", path.display()));
    if current != fresh {
        let (old, new): (Vec<&str>, Vec<&str>) = (current.lines().collect(), fresh.lines().collect());
        let first_difference = match (0..old.len().max(new.len())).find(|&i| old.get(i) != new.get(i)) {
            Some(i) => format!(
                "first difference, line {}:\n  checked in: {}\n  generated:  {}",
                i + 1,
                old.get(i).unwrap_or(&"<end of file>"),
                new.get(i).unwrap_or(&"<end of file>"),
            ),
            None => "the lines match; line endings or the final newline differ".to_string(),
        };
        panic!("include/mpi.h is stale (src/ffi changed); regenerate it with `{BLESS}`.\n{first_difference}");
    }
}

/// The header's `MPI_` prototypes and build.rs's `MPI_` functions must be the same set, or C code
/// would call functions that do not exist (or miss ones that do).
#[test]
fn mpi_prototypes_match_generated_functions() {
    let declared: Vec<String> = declared_names(header())
        .into_iter()
        .filter(|(k, n)| *k == Decl::Function && n.starts_with("MPI_"))
        .map(|(_, n)| n)
        .collect();
    let out_dir = env!("OUT_DIR");
    let generated = fs::read_to_string(Path::new(out_dir).join("mpi_names.rs")).unwrap();
    let defined: Vec<String> =
        generated.split(" fn ").skip(1).map(ident_at).filter(|n| n.starts_with("MPI_")).collect();
    for name in &declared {
        assert!(
            defined.contains(name),
            "mpi.h declares {name} but build.rs generated no such function: is P{name} a free \
             `pub extern \"C\" fn` at the top level of a src/ffi module?"
        );
    }
    for name in &defined {
        assert!(
            declared.contains(name),
            "build.rs generated {name} but mpi.h lacks it: does P{name} have #[no_mangle]?"
        );
    }
}
