//! Shared body of the mpicc and mpicxx compiler wrappers: run cc/c++ with partyline's flags, or answer -show/-showme.
//!
//! Like Open MPI's and MPICH's wrappers, the command is
//! `<compiler> -I<include> <arguments> -L<lib> -lpartyline -Wl,-rpath,<lib>`, the link part only
//! when the compiler will link. The rpath lets programs find libmpi_abi.so.1 without
//! LD_LIBRARY_PATH. CMake's FindMPI and autotools learn the flags through `-showme:compile` and
//! `-showme:link` (Open MPI), `-compile-info`/`-link-info` or `-show` (MPICH).

mod args;
mod layout;

use args::{shell_quote, Invocation, Query};
use layout::Layout;
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// The language a wrapper compiles.
#[derive(Clone, Copy, Debug)]
#[allow(dead_code)] // each binary includes this module and constructs only its own variant
pub enum Lang {
    C,
    Cxx,
}

impl Lang {
    fn tool(self) -> &'static str {
        match self {
            Lang::C => "mpicc",
            Lang::Cxx => "mpicxx",
        }
    }

    fn env_var(self) -> &'static str {
        match self {
            Lang::C => "PARTYLINE_CC",
            Lang::Cxx => "PARTYLINE_CXX",
        }
    }

    fn default_compiler(self) -> &'static str {
        match self {
            Lang::C => "cc",
            Lang::Cxx => "c++",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Lang::C => "C",
            Lang::Cxx => "C++",
        }
    }
}

/// One argument we add: what the compiler gets, and how `-show` prints it.
struct Flag {
    arg: OsString,
    shown: String,
}

impl Flag {
    /// `prefix` followed by a path, quoted as FindMPI expects (`-I"/a b"`).
    fn path(prefix: &str, path: &Path) -> Flag {
        let mut arg = OsString::from(prefix);
        arg.push(path);
        Flag { arg, shown: format!("{prefix}{}", shell_quote(path.as_os_str())) }
    }

    fn plain(text: &str) -> Flag {
        Flag { arg: text.into(), shown: text.to_string() }
    }

    /// An argument from the user or the compiler variable, passed on as it is.
    fn given(arg: &OsString) -> Flag {
        Flag { arg: arg.clone(), shown: shell_quote(arg) }
    }
}

/// Flags as one line of shell words.
fn shown(flags: Vec<Flag>) -> String {
    flags.into_iter().map(|f| f.shown).collect::<Vec<_>>().join(" ")
}

/// Everything needed to build or print a command.
struct Plan {
    compiler: Vec<OsString>,
    layout: Layout,
}

impl Plan {
    fn compile_flags(&self) -> Vec<Flag> {
        vec![Flag::path("-I", &self.layout.include)]
    }

    fn link_flags(&self) -> Vec<Flag> {
        let lib = &self.layout.lib;
        // -Wl, splits its argument at commas, so a directory containing one needs -Xlinker.
        let rpath = if lib.as_os_str().to_string_lossy().contains(',') {
            vec![Flag::plain("-Xlinker"), Flag::plain("-rpath"), Flag::plain("-Xlinker"), Flag::path("", lib)]
        } else {
            vec![Flag::path("-Wl,-rpath,", lib)]
        };
        let mut flags = vec![Flag::path("-L", lib), Flag::plain("-lpartyline")];
        flags.extend(rpath);
        flags
    }

    /// The compiler, our compile flags, the user's arguments, and the link flags if `link`.
    fn command(&self, user: &[OsString], link: bool) -> Vec<Flag> {
        let mut flags: Vec<Flag> = self.compiler.iter().map(Flag::given).collect();
        flags.extend(self.compile_flags());
        flags.extend(user.iter().map(Flag::given));
        if link {
            flags.extend(self.link_flags());
        }
        flags
    }

    /// The text a query prints.
    fn answer(&self, query: Query, inv: &Invocation, tool: &str) -> String {
        match query {
            Query::Show => shown(self.command(&inv.args, inv.shows_link())),
            Query::CompileInfo => shown(self.command(&inv.args, false)),
            Query::LinkInfo => shown(self.command(&inv.args, true)),
            Query::Compile => shown(self.compile_flags()),
            Query::Link => shown(self.link_flags()),
            Query::Incdirs => shell_quote(self.layout.include.as_os_str()),
            Query::Libdirs => shell_quote(self.layout.lib.as_os_str()),
            Query::Libs => "partyline".to_string(),
            Query::Version => version(),
            Query::Command => shown(self.compiler.iter().map(Flag::given).collect()),
            Query::Help => help(tool),
        }
    }
}

fn version() -> String {
    format!("partyline {}", env!("CARGO_PKG_VERSION"))
}

fn help(tool: &str) -> String {
    format!(
        "{tool}: compile and link against partyline (MPI 5.0 standard ABI)\n\
         usage: {tool} [compiler arguments]...\n\
         \x20 -show, -showme        print the command that would run, without running it\n\
         \x20 -showme:compile       the flags added when compiling\n\
         \x20 -showme:link          the flags added when linking\n\
         \x20 -showme:incdirs       the include directory\n\
         \x20 -showme:libdirs       the library directory\n\
         \x20 -showme:libs          the libraries, without -l\n\
         \x20 -showme:command       the underlying compiler\n\
         \x20 -showme:version       partyline's version (--version and -v go to the compiler)\n\
         \x20 -compile-info, -link-info   MPICH spellings: the compile / the link command\n\
         The compiler is $PARTYLINE_CC (mpicc) or $PARTYLINE_CXX (mpicxx), default cc / c++;\n\
         it may include arguments, e.g. PARTYLINE_CC=\"ccache gcc\"."
    )
}

/// The compiler to run: the language's variable split at whitespace, or the default.
fn compiler(lang: Lang) -> Vec<OsString> {
    let from_env = std::env::var_os(lang.env_var())
        .map(|v| v.to_string_lossy().split_whitespace().map(OsString::from).collect::<Vec<_>>())
        .unwrap_or_default();
    if from_env.is_empty() {
        vec![lang.default_compiler().into()]
    } else {
        from_env
    }
}

/// How the wrapper ends when it does not become the compiler.
enum Exit {
    /// A query was answered.
    Done,
    /// Something was wrong: the message and the exit status.
    Fail(String, i32),
}

fn run(lang: Lang, argv: Vec<OsString>) -> Exit {
    let inv = match args::parse(argv) {
        Ok(inv) => inv,
        Err(e) => return Exit::Fail(e, 1),
    };
    let tool = lang.tool();
    let compiler = compiler(lang);
    // Help and version must work even from a broken installation.
    match inv.query {
        Some(Query::Help) => return print(&help(tool)),
        Some(Query::Version) => return print(&version()),
        _ => {}
    }
    let manifest_dir = option_env!("CARGO_MANIFEST_DIR").map(Path::new);
    let layout = match layout::current_exe().and_then(|exe| layout::locate(&exe, manifest_dir)) {
        Ok(l) => l,
        Err(e) => return Exit::Fail(e, 1),
    };
    let plan = Plan { compiler, layout };
    if let Some(q) = inv.query {
        return print(&plan.answer(q, &inv, tool));
    }
    let link = inv.links();
    if link {
        if let Err(e) = plan.layout.check_lib() {
            return Exit::Fail(e, 1);
        }
        if let Some(w) = plan.layout.runtime_warning() {
            let _ = writeln!(std::io::stderr(), "{tool}: {w}");
        }
    }
    let argv: Vec<OsString> = plan.command(&inv.args, link).into_iter().map(|f| f.arg).collect();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    // exec replaces this process, so the compiler's exit status and signals are ours.
    let err = cmd.exec();
    let code = if err.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 };
    Exit::Fail(
        format!(
            "cannot run the {} compiler `{}`: {err}; set {} to the compiler to use",
            lang.name(),
            argv[0].to_string_lossy(),
            lang.env_var()
        ),
        code,
    )
}

/// Print a query's answer; a closed stdout is an error, not a panic.
fn print(text: &str) -> Exit {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => Exit::Done,
        Err(e) => Exit::Fail(format!("cannot write to stdout: {e}"), 1),
    }
}

/// Run the wrapper for `lang` with this process's arguments; never returns.
pub fn main(lang: Lang) -> ! {
    match run(lang, std::env::args_os().skip(1).collect()) {
        Exit::Done => std::process::exit(0),
        Exit::Fail(msg, code) => {
            // Not eprintln!: a closed stderr must not turn the error into a panic.
            let _ = writeln!(std::io::stderr(), "{}: {msg}", lang.tool());
            std::process::exit(code)
        }
    }
}
