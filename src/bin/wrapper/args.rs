//! Classifies a compiler wrapper's arguments: interrogation flags (-showme:*, -show, -compile-info), compile-only runs, inputs.

use std::ffi::{OsStr, OsString};

/// What an interrogation flag asks the wrapper to print instead of compiling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Query {
    /// `-show`, `-showme`: the whole command that would run.
    Show,
    /// `-showme:compile`: only the flags added when compiling.
    Compile,
    /// `-showme:link`: only the flags added when linking.
    Link,
    /// `-showme:incdirs`: include directories, separated by spaces.
    Incdirs,
    /// `-showme:libdirs`: library directories, separated by spaces.
    Libdirs,
    /// `-showme:libs`: library names without `-l`.
    Libs,
    /// `-showme:version`: `partyline <version>`.
    Version,
    /// `-showme:command`: the underlying compiler.
    Command,
    /// `-showme:help`: what the wrapper understands.
    Help,
    /// MPICH `-compile-info`: the command with the compile flags only.
    CompileInfo,
    /// MPICH `-link-info`: the command with compile and link flags.
    LinkInfo,
}

/// The `-showme:` suffixes we answer, for the error on an unknown one.
const SHOWME_KEYS: &str = "compile, link, incdirs, libdirs, libs, version, command, help";

/// A wrapper invocation, sorted out.
#[derive(Debug, PartialEq, Eq)]
pub struct Invocation {
    /// The interrogation flag, if one was given (it is not passed to the compiler).
    pub query: Option<Query>,
    /// Everything else, in order, for the compiler.
    pub args: Vec<OsString>,
    /// `-c`, `-E`, `-S`, `-M`, `-MM`, `-fsyntax-only` or an information flag: the compiler will not link.
    pub no_link: bool,
    /// At least one input (source, object, `-` for stdin or an `@file` that may name some).
    pub has_input: bool,
}

impl Invocation {
    /// Whether to add the link flags when running the compiler. Without an input the
    /// compiler only reports (`mpicc -v`); `-lpartyline` would make it try to link.
    pub fn links(&self) -> bool {
        !self.no_link && self.has_input
    }

    /// Whether the printed command includes the link flags. Queries describe a full
    /// build, as Open MPI's and MPICH's `-show` do, unless the arguments stop before linking.
    pub fn shows_link(&self) -> bool {
        !self.no_link
    }
}

/// Options that stop the driver before linking.
const NO_LINK: &[&str] = &["-c", "-E", "-S", "-M", "-MM", "-fsyntax-only"];

/// Driver options that print something and exit, also without linking.
const INFO_ONLY: &[&str] =
    &["--version", "-dumpversion", "-dumpfullversion", "-dumpmachine", "-dumpspecs", "--help", "--target-help"];

/// gcc/clang options whose value is the next argument, so that argument is not an input.
const TAKES_VALUE: &[&str] = &[
    "-o",
    "-x",
    "-I",
    "-L",
    "-D",
    "-U",
    "-l",
    "-include",
    "-imacros",
    "-isystem",
    "-idirafter",
    "-iquote",
    "-iprefix",
    "-iwithprefix",
    "-iwithprefixbefore",
    "-isysroot",
    "-MF",
    "-MT",
    "-MQ",
    "-Xlinker",
    "-Xpreprocessor",
    "-Xassembler",
    "-Xclang",
    "-T",
    "-u",
    "-z",
    "-e",
    "-B",
    "-aux-info",
    "-dumpbase",
    "-dumpbase-ext",
    "-dumpdir",
    "--param",
    "-arch",
    "-target",
    "--sysroot",
];

/// The interrogation flag `arg` names, `Ok(None)` for an ordinary argument, or an
/// error for a `-showme:` suffix we do not know.
pub fn query_of(arg: &str) -> Result<Option<Query>, String> {
    // Open MPI accepts one or two leading dashes; MPICH spells the info flags both ways.
    let Some(bare) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
        return Ok(None);
    };
    let q = match bare {
        "show" | "showme" => Query::Show,
        "compile-info" | "compile_info" => Query::CompileInfo,
        "link-info" | "link_info" => Query::LinkInfo,
        _ => match bare.strip_prefix("showme:") {
            None => return Ok(None),
            Some("compile") => Query::Compile,
            Some("link") => Query::Link,
            Some("incdirs") => Query::Incdirs,
            Some("libdirs") => Query::Libdirs,
            Some("libs") => Query::Libs,
            Some("version") => Query::Version,
            Some("command") => Query::Command,
            Some("help") => Query::Help,
            Some(other) => return Err(format!("unknown option -showme:{other} (known: -showme:{{{SHOWME_KEYS}}})")),
        },
    };
    Ok(Some(q))
}

/// Sort the wrapper's arguments (program name excluded).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Invocation, String> {
    let mut inv = Invocation { query: None, args: Vec::new(), no_link: false, has_input: false };
    let mut value_next = false;
    for arg in args {
        if value_next {
            value_next = false;
            inv.args.push(arg);
            continue;
        }
        // Non-UTF-8 arguments can only be file names or option values, never our flags.
        let text = arg.to_str().unwrap_or("");
        if let Some(q) = query_of(text)? {
            match inv.query {
                Some(prev) if prev != q => {
                    return Err(format!("{text} conflicts with an earlier -show/-showme option; give only one"));
                }
                _ => inv.query = Some(q),
            }
            continue;
        }
        if arg.to_str().is_none() || text == "-" || !text.starts_with('-') {
            inv.has_input |= arg.to_str().is_none_or(|t| !t.is_empty());
        } else if NO_LINK.contains(&text)
            || INFO_ONLY.contains(&text)
            || text.starts_with("-print-")
            || text.starts_with("--print-")
        {
            inv.no_link = true;
        } else if TAKES_VALUE.contains(&text) {
            value_next = true;
        }
        inv.args.push(arg);
    }
    Ok(inv)
}

/// `arg` as it would be typed into a POSIX shell. Paths with spaces come out as
/// `"..."`, the quoting CMake's FindMPI understands when it parses `-I"dir"`.
pub fn shell_quote(arg: &OsStr) -> String {
    let text = arg.to_string_lossy();
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-+=/.,:@%^".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        return text.into_owned();
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(args: &[&str]) -> Invocation {
        parse(args.iter().map(OsString::from)).expect("valid arguments")
    }

    #[test]
    fn plain_build_links() {
        let i = inv(&["hello.c", "-o", "hello"]);
        assert!(i.links() && i.shows_link());
        assert_eq!(i.query, None);
        assert_eq!(i.args, ["hello.c", "-o", "hello"]);
        assert!(inv(&["a.o", "b.o", "-lm", "-o", "prog"]).links());
        assert!(inv(&["-x", "c", "-"]).links(), "stdin is an input");
        assert!(inv(&["@objects.rsp"]).links(), "a response file may name inputs");
        assert!(inv(&["-shared", "-fPIC", "lib.c", "-o", "libx.so"]).links());
    }

    #[test]
    fn compile_only_does_not_link() {
        for flag in ["-c", "-E", "-S", "-M", "-MM", "-fsyntax-only"] {
            let i = inv(&[flag, "hello.c"]);
            assert!(!i.links() && !i.shows_link(), "{flag}");
        }
        // -MD/-MMD write dependencies as a side effect of a normal build.
        assert!(inv(&["-MD", "hello.c"]).links());
        assert!(inv(&["-MMD", "-MF", "hello.d", "hello.c", "-o", "hello"]).links());
    }

    #[test]
    fn option_values_are_not_inputs() {
        for args in [
            &["-o", "prog"][..],
            &["-I", "inc"],
            &["-L", "lib", "-l", "m"],
            &["-D", "X=1", "-U", "Y"],
            &["-include", "pre.h"],
            &["-MF", "x.d", "-MT", "x.o"],
            &["-Xlinker", "--as-needed"],
        ] {
            let i = inv(args);
            assert!(!i.has_input && !i.links(), "{args:?}");
            assert!(i.shows_link(), "{args:?}: -show still describes a link");
        }
        assert!(inv(&["-o", "prog", "main.c"]).links());
        assert!(inv(&["-Iinc", "main.c"]).links(), "joined values take no extra argument");
    }

    #[test]
    fn information_flags_pass_through_without_link_flags() {
        for args in [&["--version"][..], &["-v"], &["-dumpversion"], &["-print-search-dirs"], &["--help"], &[]] {
            assert!(!inv(args).links(), "{args:?}");
        }
        let i = inv(&["--version"]);
        assert_eq!(i.query, None, "--version belongs to the compiler");
        assert_eq!(i.args, ["--version"]);
    }

    #[test]
    fn showme_variants() {
        let cases = [
            ("-show", Query::Show),
            ("-showme", Query::Show),
            ("--showme", Query::Show),
            ("-showme:compile", Query::Compile),
            ("--showme:compile", Query::Compile),
            ("-showme:link", Query::Link),
            ("-showme:incdirs", Query::Incdirs),
            ("-showme:libdirs", Query::Libdirs),
            ("-showme:libs", Query::Libs),
            ("-showme:version", Query::Version),
            ("-showme:command", Query::Command),
            ("-showme:help", Query::Help),
            ("-compile-info", Query::CompileInfo),
            ("-compile_info", Query::CompileInfo),
            ("-link-info", Query::LinkInfo),
            ("-link_info", Query::LinkInfo),
        ];
        for (flag, want) in cases {
            let i = inv(&[flag]);
            assert_eq!(i.query, Some(want), "{flag}");
            assert!(i.args.is_empty(), "{flag} is not passed on");
        }
        // FindMPI puts MPI_COMPILER_FLAGS before the query; they stay in the command.
        let i = inv(&["-O2", "-showme:compile"]);
        assert_eq!((i.query, i.args), (Some(Query::Compile), vec![OsString::from("-O2")]));
        let i = inv(&["-show", "-c", "x.c"]);
        assert_eq!(i.query, Some(Query::Show));
        assert!(!i.shows_link());
        assert_eq!(inv(&["-show", "-showme"]).query, Some(Query::Show), "repeats are fine");
    }

    #[test]
    fn bad_queries_are_clear_errors() {
        let err = parse(["-showme:bogus"].map(OsString::from)).unwrap_err();
        assert!(err.contains("-showme:bogus") && err.contains("incdirs"), "{err}");
        let err = parse(["-showme:compile", "-showme:link"].map(OsString::from)).unwrap_err();
        assert!(err.contains("-showme:link"), "{err}");
        // Things that merely look alike are the compiler's business.
        assert_eq!(inv(&["-shower"]).query, None);
        assert_eq!(inv(&["showme:compile.c"]).query, None);
    }

    #[test]
    fn non_utf8_arguments_are_inputs() {
        use std::os::unix::ffi::OsStringExt;
        let name = OsString::from_vec(b"caf\xe9.c".to_vec());
        let i = parse([name.clone()]).expect("valid");
        assert!(i.links());
        assert_eq!(i.args, [name]);
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote(OsStr::new("-I/opt/partyline/include")), "-I/opt/partyline/include");
        assert_eq!(shell_quote(OsStr::new("/my dir")), "\"/my dir\"");
        assert_eq!(shell_quote(OsStr::new("a\"b$c")), "\"a\\\"b\\$c\"");
        assert_eq!(shell_quote(OsStr::new("")), "\"\"");
    }
}
