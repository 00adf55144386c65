//! The environment contract between partyrun and the partyline library in each rank.

use std::ffi::OsString;
use std::io::Read;
use std::net::SocketAddr;

/// Variables that could describe a different wiring; the launcher's own wiring replaces them.
pub const STALE: &[&str] = &[
    "PARTYLINE_LOCAL_LISTEN_FD",
    "PARTYLINE_HOSTFILE",
    "PARTYLINE_LISTEN",
    "PARTYLINE_COORDINATOR",
    "PARTYLINE_COORDINATOR_ROLE",
    "PARTYLINE_ADVERTISE",
    EXIT_REPORT,
];

/// Where a rank's library writes `collateral <rank|-> <why>` before ending the process because
/// of another rank's failure (see the library's `exit_report`): a file per rank, in a private
/// directory partyrun creates and removes. Not set when that directory cannot be created.
pub const EXIT_REPORT: &str = "PARTYLINE_EXIT_REPORT";

/// What is the same for every rank of the job.
pub struct JobEnv {
    pub size: usize,
    /// `127.0.0.1:p0,127.0.0.1:p1,...` in rank order.
    pub peers: String,
    pub job_id: OsString,
}

impl JobEnv {
    pub fn new(addrs: &[SocketAddr], job_id: OsString) -> JobEnv {
        let peers = addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(",");
        JobEnv { size: addrs.len(), peers, job_id }
    }

    /// The variables for one rank, whose inherited listening sockets are `listen_fd` (TCP) and
    /// `local_fd` (Unix, for ranks on this host), if bound.
    pub fn rank_vars(&self, rank: usize, listen_fd: i32, local_fd: Option<i32>) -> Vec<(&'static str, OsString)> {
        let mut vars = identity_vars(rank, self.size, rank, &self.job_id);
        vars.push(("PARTYLINE_PEERS", self.peers.clone().into()));
        vars.push(("PARTYLINE_LISTEN_FD", listen_fd.to_string().into()));
        if let Some(fd) = local_fd {
            vars.push(("PARTYLINE_LOCAL_LISTEN_FD", fd.to_string().into()));
        }
        vars
    }
}

/// Who a rank is, for the library and for scripts written for Open MPI or MPICH; the same in
/// every kind of job. `local_rank` counts the ranks on the same host.
pub fn identity_vars(rank: usize, size: usize, local_rank: usize, job_id: &OsString) -> Vec<(&'static str, OsString)> {
    let (rank_s, size_s) = (rank.to_string(), size.to_string());
    vec![
        ("PARTYLINE_RANK", rank_s.clone().into()),
        ("PARTYLINE_SIZE", size_s.clone().into()),
        ("PARTYLINE_JOB_ID", job_id.clone()),
        ("PARTYLINE_LAUNCHER", "partyrun".into()),
        ("OMPI_COMM_WORLD_RANK", rank_s.clone().into()),
        ("OMPI_COMM_WORLD_SIZE", size_s.clone().into()),
        ("OMPI_COMM_WORLD_LOCAL_RANK", local_rank.to_string().into()),
        ("PMI_RANK", rank_s.into()),
        ("PMI_SIZE", size_s.into()),
    ]
}

/// The variables that send a rank of a job across hosts to partyrun's rendezvous at `coordinator`.
pub fn rendezvous_vars(coordinator: &str) -> Vec<(&'static str, OsString)> {
    vec![("PARTYLINE_COORDINATOR", coordinator.into()), ("PARTYLINE_COORDINATOR_ROLE", "external".into())]
}

/// A job id given with -x, else in partyrun's environment.
pub fn given_job_id(exports: &[(OsString, OsString)]) -> Option<OsString> {
    let exported = exports.iter().rev().find(|(k, _)| k == "PARTYLINE_JOB_ID").map(|(_, v)| v.clone());
    exported.or_else(|| std::env::var_os("PARTYLINE_JOB_ID"))
}

/// The job id: `given` (from -x or partyrun's environment) if set, else 16 random hex digits.
pub fn job_id(given: Option<OsString>) -> OsString {
    if let Some(id) = given {
        return id;
    }
    let mut bytes = [0u8; 8];
    let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if random.is_err() {
        // Only needs to tell concurrent jobs apart, so time and pid will do without urandom.
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let mixed = nanos ^ (u64::from(std::process::id()) << 32);
        bytes = mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect::<String>().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_vars_follow_the_contract() {
        let addrs: Vec<SocketAddr> = vec!["127.0.0.1:5000".parse().unwrap(), "127.0.0.1:5001".parse().unwrap()];
        let env = JobEnv::new(&addrs, "abc".into());
        let vars = env.rank_vars(1, 7, Some(8));
        let get = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_str().unwrap());
        assert_eq!(get("PARTYLINE_RANK"), Some("1"));
        assert_eq!(get("PARTYLINE_SIZE"), Some("2"));
        assert_eq!(get("PARTYLINE_PEERS"), Some("127.0.0.1:5000,127.0.0.1:5001"));
        assert_eq!(get("PARTYLINE_LISTEN_FD"), Some("7"));
        assert_eq!(get("PARTYLINE_LOCAL_LISTEN_FD"), Some("8"));
        assert!(!env.rank_vars(1, 7, None).iter().any(|(n, _)| *n == "PARTYLINE_LOCAL_LISTEN_FD"));
        assert_eq!(get("PARTYLINE_JOB_ID"), Some("abc"));
        assert_eq!(get("PARTYLINE_LAUNCHER"), Some("partyrun"));
        assert_eq!(get("OMPI_COMM_WORLD_LOCAL_RANK"), Some("1"));
        assert_eq!(get("PMI_SIZE"), Some("2"));
    }

    #[test]
    fn job_ids() {
        assert_eq!(job_id(Some("given".into())), "given");
        let (a, b) = (job_id(None), job_id(None));
        assert_eq!(a.len(), 16);
        assert!(a.to_str().unwrap().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
