//! The end of a job: MPI_Abort, and MPI_Finalize's goodbyes, wait for the peers and verdict.

use super::{Posted, Runtime};
use crate::buffer::Payload;
use crate::error::{err, Result};
use crate::shared::Command;
use crate::wire::{FrameHeader, FrameKind};
use std::time::Instant;

impl Runtime {
    /// Ends the whole job: tells every peer (best effort, briefly) and exits with `code`.
    pub fn abort(&self, code: i32) -> ! {
        self.shared.ending();
        for peer in (0..self.size()).filter(|p| *p != self.rank()) {
            let header = FrameHeader::control(FrameKind::Abort, self.rank() as i32, code as u32 as u64);
            let _ = self.transmit(peer, header, Payload::empty(), None, Posted::Blocking);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::process::exit(code)
    }

    /// Flushes everything, says goodbye to every peer and waits for theirs.
    pub fn finalize(&self) -> Result<()> {
        let Some(thread) = crate::sync::lock(&self.thread).take() else {
            return Ok(());
        };
        let called = Instant::now();
        let result = self.close_links(thread);
        crate::stats::at_finalize(&self.config, &self.shared.stats, called.duration_since(self.started));
        result
    }

    fn close_links(&self, thread: std::thread::JoinHandle<()>) -> Result<()> {
        self.shared.command(Command::Finalize)?;
        // MPI_Finalize is collective, so it waits for every peer however long it takes; but
        // a peer that never arrives should not look like a silent hang.
        let started = Instant::now();
        let mut reported = false;
        while !thread.is_finished() {
            std::thread::sleep(std::time::Duration::from_millis(1));
            if !reported && started.elapsed() >= FINALIZE_NOTICE {
                reported = true;
                let waiting: Vec<String> = self.shared.open_links().iter().map(|r| r.to_string()).collect();
                crate::log::warn(&format!(
                    "MPI_Finalize has waited {} s for rank(s) {} to call MPI_Finalize too; is one of them stuck?",
                    FINALIZE_NOTICE.as_secs(),
                    waiting.join(", ")
                ));
            }
        }
        thread.join().map_err(|_| err!(Intern, "the communication thread panicked during MPI_Finalize"))?;
        if let Some(e) = self.shared.notifier.poisoned() {
            return Err(e.clone());
        }
        // A peer that never said goodbye may not have received what we sent it: say so, rather
        // than let this party report success.
        let failed = self.shared.mailbox().failed_peers();
        match failed.first() {
            None => Ok(()),
            Some((_, first)) => {
                let ranks: Vec<String> = failed.iter().map(|(p, _)| p.to_string()).collect();
                Err(err!(
                    ProcAborted,
                    "rank(s) {} failed before finishing, so data sent to them may be lost ({})",
                    ranks.join(", "),
                    first.message
                ))
            }
        }
    }
}

/// How long `MPI_Finalize` waits for the other ranks before saying whom it waits for.
const FINALIZE_NOTICE: std::time::Duration = std::time::Duration::from_secs(10);
