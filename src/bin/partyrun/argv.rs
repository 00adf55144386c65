//! Rewriting Open MPI–style argv (`-np 4 prog -x y`) into the form clap parses.

use clap::Command;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

/// Rewrites argv so that `cmd` (built) can parse it: single-dash long options (`-np 4`) become
/// `--np 4`, and `--` goes before the program name so nothing after it is read as an option.
/// Which options take a value is read from `cmd`, so the two cannot drift apart.
pub fn normalize(cmd: &Command, argv: Vec<OsString>) -> Vec<OsString> {
    // How many words each long option takes: 0, 1, or 2 for pairs such as `--mca KEY VALUE`.
    let values = |a: &clap::Arg| match a.get_action().takes_values() {
        true => a.get_num_args().map_or(1, |r| r.max_values().clamp(1, 2)),
        false => 0,
    };
    let longs: Vec<(String, usize)> = cmd
        .get_arguments()
        .flat_map(|a| {
            let takes = values(a);
            a.get_long().into_iter().chain(a.get_all_aliases().unwrap_or_default()).map(move |l| (l.to_string(), takes))
        })
        .collect();
    let valued_shorts: Vec<char> = cmd
        .get_arguments()
        .filter(|a| a.get_action().takes_values())
        .flat_map(|a| a.get_short().into_iter().chain(a.get_all_short_aliases().unwrap_or_default()))
        .collect();
    let long_takes_value = |name: &str| longs.iter().find(|(l, _)| l == name).map(|&(_, t)| t);

    let mut out = Vec::with_capacity(argv.len() + 1);
    let mut it = argv.into_iter();
    out.extend(it.next()); // argv[0], whatever name we were installed under
    while let Some(arg) = it.next() {
        let bytes = arg.as_bytes();
        if bytes == b"--" {
            out.push(arg);
            break;
        }
        if bytes.len() < 2 || bytes[0] != b'-' {
            // The program name: everything from here on belongs to it.
            out.push("--".into());
            out.push(arg);
            break;
        }
        let (name, has_inline_value) = {
            let body = &bytes[if bytes.starts_with(b"--") { 2 } else { 1 }..];
            let name_end = body.iter().position(|&b| b == b'=').unwrap_or(body.len());
            (String::from_utf8_lossy(&body[..name_end]).into_owned(), name_end < body.len())
        };
        // An inline value (`--np=3`) is the first of the option's values.
        let after = |takes: usize| takes.saturating_sub(has_inline_value as usize);
        let wanted = if bytes.starts_with(b"--") {
            after(long_takes_value(&name).unwrap_or(0))
        } else if let Some(takes) = long_takes_value(&name).filter(|_| name.len() >= 2) {
            // Open MPI style single-dash long option, e.g. -np.
            let mut long = OsString::from("-");
            long.push(&arg);
            out.push(long);
            out.extend(it.by_ref().take(after(takes)));
            continue;
        } else {
            // Short option: takes the next word only when no value is attached (-n3).
            let first = name.chars().next();
            usize::from(bytes.len() == 2 && first.is_some_and(|c| valued_shorts.contains(&c)))
        };
        out.push(arg);
        out.extend(it.by_ref().take(wanted));
    }
    out.extend(it);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Arg;

    fn normalize_strs(args: &[&str]) -> Vec<String> {
        let mut cmd = Command::new("t")
            .arg(Arg::new("np").short('n').long("np").short_alias('c').alias("n"))
            .arg(Arg::new("flag").long("flag").action(clap::ArgAction::SetTrue))
            .arg(Arg::new("x").short('x'))
            .arg(Arg::new("mca").long("mca").num_args(2).action(clap::ArgAction::Append));
        cmd.build();
        let argv = std::iter::once("t").chain(args.iter().copied()).map(OsString::from);
        normalize(&cmd, argv.collect()).into_iter().skip(1).map(|a| a.into_string().unwrap()).collect()
    }

    #[test]
    fn single_dash_long_options_get_two_dashes() {
        assert_eq!(normalize_strs(&["-np", "2", "p"]), ["--np", "2", "--", "p"]);
        assert_eq!(normalize_strs(&["-np=2", "-flag", "p"]), ["--np=2", "--flag", "--", "p"]);
    }

    #[test]
    fn the_program_starts_at_the_first_word_that_is_not_an_option_or_value() {
        assert_eq!(normalize_strs(&["-n", "2", "-x", "A", "p", "-n"]), ["-n", "2", "-x", "A", "--", "p", "-n"]);
        assert_eq!(normalize_strs(&["-n3", "-xA=1", "--flag", "p"]), ["-n3", "-xA=1", "--flag", "--", "p"]);
        assert_eq!(normalize_strs(&["--np", "2", "--", "-p"]), ["--np", "2", "--", "-p"]);
        assert_eq!(normalize_strs(&["-c", "2", "--n=3"]), ["-c", "2", "--n=3"]);
        assert_eq!(normalize_strs(&["-mca", "btl", "tcp", "p"]), ["--mca", "btl", "tcp", "--", "p"]);
        assert_eq!(normalize_strs(&["--mca", "a", "b", "-n", "1", "p"]), ["--mca", "a", "b", "-n", "1", "--", "p"]);
    }
}
