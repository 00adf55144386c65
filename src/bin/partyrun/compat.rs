//! Options other launchers take (Open MPI's `--mca KEY VALUE`, Hydra's `-genv`/`-env`): those with a meaning here are used, the rest named once and ignored.

use std::ffi::OsString;

/// What `--mca` pairs mean for partyrun.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Mca {
    /// `plm_rsh_agent` (or `orte_rsh_agent`): the command that starts remote ranks.
    pub launch_agent: Option<String>,
    /// `oob_tcp_if_include` / `btl_tcp_if_include`: the interface (or CIDR) whose address the
    /// remote ranks reach partyrun at.
    pub interface: Option<String>,
    /// `KEY VALUE` pairs that mean nothing here, for one warning.
    pub ignored: Vec<String>,
}

/// Sorts `--mca` pairs (flattened: key, value, key, value...).
pub fn mca(pairs: &[String]) -> Mca {
    let mut out = Mca::default();
    for pair in pairs.chunks(2) {
        let (key, value) = (pair[0].as_str(), pair.get(1).map_or("", String::as_str));
        match key {
            "plm_rsh_agent" | "orte_rsh_agent" | "pls_rsh_agent" => out.launch_agent = Some(value.to_string()),
            "oob_tcp_if_include" | "btl_tcp_if_include" => {
                // Open MPI takes a comma list; the first entry is the one to use.
                let first = value.split(',').next().unwrap_or("").trim();
                if out.interface.is_none() && !first.is_empty() {
                    out.interface = Some(first.to_string());
                }
            }
            _ => out.ignored.push(format!("{key} {value}")),
        }
    }
    out
}

/// The one warning line naming every option that is accepted but has no effect, if any.
pub fn ignored_warning(mca: &Mca) -> Option<String> {
    (!mca.ignored.is_empty()).then(|| {
        format!("ignoring --mca {}: Open MPI settings that have no meaning for partyline", mca.ignored.join(", --mca "))
    })
}

/// `-genv NAME VALUE` / `-env NAME VALUE` pairs (flattened) as `-x NAME=VALUE` settings.
pub fn env_pairs(pairs: &[OsString]) -> Vec<OsString> {
    pairs
        .chunks(2)
        .map(|p| {
            let mut setting = p[0].clone();
            setting.push("=");
            setting.push(p.get(1).cloned().unwrap_or_default());
            setting
        })
        .collect()
}

/// The launch agent's argv prefix: the remote command is called as `AGENT... HOST COMMAND`.
/// Open MPI allows `ssh : rsh` (try in order); the first one is taken.
pub fn agent_words(agent: &str) -> Result<Vec<String>, String> {
    let first = agent.split(" : ").next().unwrap_or("");
    let words: Vec<String> = first.split_whitespace().map(str::to_string).collect();
    if words.is_empty() {
        return Err(format!("the launch agent {agent:?} is empty; give a command such as \"ssh -p 2222\""));
    }
    Ok(words)
}

/// Quotes `word` for the POSIX shell that runs the remote command.
pub fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mca_pairs_are_used_or_named() {
        let pairs: Vec<String> = ["btl", "tcp,self", "btl_tcp_if_include", "eth1,eth2", "plm_rsh_agent", "ssh -p 2"]
            .into_iter()
            .map(String::from)
            .collect();
        let m = mca(&pairs);
        assert_eq!(m.launch_agent.as_deref(), Some("ssh -p 2"));
        assert_eq!(m.interface.as_deref(), Some("eth1"));
        assert_eq!(
            ignored_warning(&m).unwrap(),
            "ignoring --mca btl tcp,self: Open MPI settings that have no meaning for partyline"
        );
        assert_eq!(ignored_warning(&mca(&[])), None);
    }

    #[test]
    fn agents_envs_and_quoting() {
        assert_eq!(agent_words("ssh -F cfg : rsh").unwrap(), ["ssh", "-F", "cfg"]);
        assert!(agent_words("  ").is_err());
        assert_eq!(env_pairs(&["A".into(), "x y".into()]), [OsString::from("A=x y")]);
        assert_eq!(shell_quote("/usr/bin/partyrun"), "/usr/bin/partyrun");
        assert_eq!(shell_quote("a b'c"), r"'a b'\''c'");
        assert_eq!(shell_quote(""), "''");
    }
}
