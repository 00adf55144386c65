//! The private directory where the ranks leave their exit reports (`PARTYLINE_EXIT_REPORT`), one file per rank.

use crate::blame::{self, Report};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

/// Removed, with whatever the ranks wrote, when dropped.
pub struct ReportDir {
    dir: PathBuf,
}

impl ReportDir {
    /// Creates a fresh directory only we can use, so no one else can plant a report in it.
    pub fn create() -> io::Result<ReportDir> {
        let mut last = io::Error::other("no attempt made");
        for _ in 0..8 {
            let id = crate::environment::job_id(None);
            let dir = std::env::temp_dir().join(format!("partyrun-{}-{}", std::process::id(), id.to_string_lossy()));
            // Not create_all: an existing directory (a collision, or someone else's) is refused.
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok(ReportDir { dir }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// The file rank `rank` reports to.
    pub fn path(&self, rank: usize) -> PathBuf {
        self.dir.join(format!("rank-{rank}"))
    }

    /// What rank `rank` reported; read after it exited, so the report is complete.
    pub fn read(&self, rank: usize) -> Option<Report> {
        blame::parse_report(&self.read_raw(rank)?)
    }

    /// The report's text as the rank wrote it (the remote agent relays it to partyrun).
    pub fn read_raw(&self, rank: usize) -> Option<String> {
        std::fs::read_to_string(self.path(rank)).ok()
    }
}

impl Drop for ReportDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
