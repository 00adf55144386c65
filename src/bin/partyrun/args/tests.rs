//! Tests of the launcher's command-line parsing.
use super::*;

fn env(name: &OsStr) -> Option<OsString> {
    (name == "SET_VAR").then(|| "from-env".into())
}

fn parse_ok(args: &[&str]) -> Config {
    let argv = std::iter::once("mpirun").chain(args.iter().copied()).map(OsString::from);
    match parse(argv, env) {
        Ok(c) => c,
        Err(e) => panic!("{args:?} failed: {e:?}"),
    }
}

fn usage_err(args: &[&str]) -> String {
    let argv = std::iter::once("partyrun").chain(args.iter().copied()).map(OsString::from);
    match parse(argv, env) {
        Err(ArgsError::Usage(m)) => m,
        Err(ArgsError::Clap(e)) => {
            assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
            e.to_string()
        }
        Ok(c) => panic!("{args:?} should fail, got {c:?}"),
    }
}

#[test]
fn rank_count_forms() {
    for form in [
        &["-n", "3"][..],
        &["-np", "3"],
        &["--np", "3"],
        &["--np=3"],
        &["-np=3"],
        &["-c", "3"],
        &["--n", "3"],
        &["-n3"],
        &["-n=3"],
    ] {
        let mut args = form.to_vec();
        args.push("./prog");
        let c = parse_ok(&args);
        assert_eq!((c.ranks, c.program.to_str()), (3, Some("./prog")), "{form:?}");
    }
    assert_eq!(parse_ok(&["./prog"]).ranks, 1);
}

#[test]
fn bad_rank_counts() {
    for n in ["0", "65", "-1", "abc", ""] {
        let msg = usage_err(&["-n", n, "./prog"]);
        assert!(msg.contains("1 to 64 ranks"), "{n}: {msg}");
    }
}

#[test]
fn trailing_program_args_are_not_options() {
    let c = parse_ok(&["-np", "2", "./prog", "-x", "foo", "-n", "9", "--timeout", "--"]);
    assert_eq!(c.ranks, 2);
    assert!(c.exports.is_empty());
    assert_eq!(c.args, ["-x", "foo", "-n", "9", "--timeout", "--"]);
    let c = parse_ok(&["-n", "2", "--", "-prog", "--help"]);
    assert_eq!((c.program.to_str(), c.args.len()), (Some("-prog"), 1));
}

#[test]
fn export_forms() {
    let c = parse_ok(&["-x", "A=1", "-x", "SET_VAR", "-xB=x=y", "-x", "EMPTY=", "prog"]);
    let got: Vec<_> = c.exports.iter().map(|(k, v)| (k.to_str().unwrap(), v.to_str().unwrap())).collect();
    assert_eq!(got, [("A", "1"), ("SET_VAR", "from-env"), ("B", "x=y"), ("EMPTY", "")]);
    assert!(usage_err(&["-x", "UNSET_VAR", "prog"]).contains("UNSET_VAR is not set"));
    assert!(usage_err(&["-x", "=1", "prog"]).contains("VAR=VALUE"));
    assert!(usage_err(&["-x", "PARTYLINE_RANK=1", "prog"]).contains("sets PARTYLINE_RANK"));
}

#[test]
fn flags_and_times() {
    let c = parse_ok(&[
        "--oversubscribe",
        "-allow-run-as-root",
        "--prefix-rank",
        "--timeout",
        "1.5",
        "--kill-grace=0",
        "prog",
    ]);
    assert!(c.tag_output);
    assert_eq!(c.timeout, Some(Duration::from_millis(1500)));
    assert_eq!(c.kill_grace, Duration::ZERO);
    assert_eq!(parse_ok(&["prog"]).kill_grace, Duration::from_secs(2));
    assert!(parse_ok(&["-tag-output", "prog"]).tag_output);
    for bad in [&["--timeout", "0", "p"][..], &["--timeout", "x", "p"], &["--kill-grace", "-1", "p"]] {
        usage_err(bad);
    }
}

#[test]
fn host_forms() {
    let dir = std::env::temp_dir().join(format!("partyrun-args-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("hosts");
    std::fs::write(&file, "# three parties\nm1\nm2 slots=1\nm3:1\n").unwrap();
    let file = file.to_str().unwrap();
    for form in [
        &["-f", file][..],
        &["--hostfile", file],
        &["-hostfile", file],
        &["--machinefile", file],
        &["-machinefile", file],
    ] {
        let mut args = form.to_vec();
        args.extend(["-n", "3", "prog"]);
        assert_eq!(parse_ok(&args).hosts.unwrap(), ["m1", "m2", "m3"], "{form:?}");
    }
    let c = parse_ok(&["--host", "m1,m2:2", "prog"]);
    assert_eq!((c.ranks, c.hosts.unwrap()), (3, vec!["m1".to_string(), "m2".into(), "m2".into()]));
    assert_eq!(parse_ok(&["-H", "m1", "-host", "m2", "-np", "2", "prog"]).hosts.unwrap(), ["m1", "m2"]);
    let c = parse_ok(&["--host", "localhost:2,127.0.0.1", "-n", "3", "prog"]);
    assert_eq!((c.ranks, c.hosts), (3, None), "hosts that are this machine make a local job");
    assert!(usage_err(&["--host", "m1,m2", "-n", "3", "prog"]).contains("--oversubscribe"));
    assert_eq!(parse_ok(&["--host", "m1,m2", "-n", "3", "--oversubscribe", "prog"]).hosts.unwrap(), ["m1", "m2", "m1"]);
    assert!(usage_err(&["-f", "/nonexistent/hosts", "prog"]).contains("cannot read the host file"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn other_launchers_options() {
    let c = parse_ok(&["--mca", "btl", "tcp,self", "-mca", "btl_tcp_if_include", "lo", "-n", "2", "prog"]);
    assert_eq!(c.ranks, 2);
    assert_eq!(c.interface.as_deref(), Some("lo"));
    assert!(c.warnings[0].contains("btl tcp,self"), "{:?}", c.warnings);
    let c = parse_ok(&["-genv", "A", "1", "-env", "B", "x y", "--mca", "plm_rsh_agent", "ssh -p 2", "prog"]);
    let got: Vec<_> = c.exports.iter().map(|(k, v)| (k.to_str().unwrap(), v.to_str().unwrap())).collect();
    assert_eq!(got, [("A", "1"), ("B", "x y")]);
    assert_eq!(c.launch_agent, ["ssh", "-p", "2"]);
    let c = parse_ok(&["--launch-agent", "my-rsh", "-wdir", "/tmp", "--launcher-address", "10.0.0.1", "prog"]);
    assert_eq!((c.launch_agent[0].as_str(), c.wdir.unwrap().to_str()), ("my-rsh", Some("/tmp")));
    assert_eq!(c.launcher_address.as_deref(), Some("10.0.0.1"));
    let c = parse_ok(&["prog"]);
    assert_eq!(&c.launch_agent[..4], ["ssh", "-x", "-T", "-o"]);
    assert!(
        c.launch_agent.contains(&"BatchMode=yes".to_string())
            && c.launch_agent.contains(&"ConnectTimeout=30".to_string())
    );
    assert_eq!(
        parse_ok(&["-x", "PARTYLINE_CONNECT_TIMEOUT=7.5", "prog"]).launch_agent.last().unwrap(),
        "ConnectTimeout=8"
    );
    assert_eq!(parse_ok(&["--insecure", "prog"]).tls, Tls::Insecure);
    // PARTYLINE_RSH, when neither --launch-agent nor --mca plm_rsh_agent says otherwise.
    let rsh = |name: &OsStr| (name == "PARTYLINE_RSH").then(|| OsString::from("my-ssh -p 2222"));
    let argv = ["mpirun", "prog"].map(OsString::from);
    assert_eq!(parse(argv.clone(), rsh).unwrap().launch_agent, ["my-ssh", "-p", "2222"]);
    let argv = ["mpirun", "--launch-agent", "other", "prog"].map(OsString::from);
    assert_eq!(parse(argv, rsh).unwrap().launch_agent, ["other"]);
}

#[test]
fn missing_program_and_unknown_options() {
    assert!(usage_err(&["-n", "2"]).contains("no program given"));
    assert!(usage_err(&["--bogus", "prog"]).contains("--bogus"));
}

#[test]
fn help_and_version_exit_zero() {
    for flag in ["--help", "-h", "--version", "-V"] {
        match parse([OsString::from("mpiexec"), flag.into()], env) {
            Err(ArgsError::Clap(e)) => assert_eq!(e.exit_code(), 0, "{flag}"),
            other => panic!("{flag}: {other:?}"),
        }
    }
    let Err(ArgsError::Clap(e)) = parse(["mpirun".into(), "--version".into()], env) else {
        panic!("--version did not stop parsing")
    };
    assert_eq!(e.to_string().trim(), concat!("partyrun (partyline) ", env!("CARGO_PKG_VERSION")));
}
