//! When the runtime starts and ends, given the world model (`MPI_Init`/`MPI_Finalize`) and any number of sessions (`MPI_Session_init`/`_finalize`).
//!
//! The runtime (connections, communication thread) starts with the first of them and is torn
//! down when the world model (if it was used) and every session have finalized. partyline
//! starts MPI once per process, so nothing can start after that teardown.

use crate::error::{err, Result};

/// Where the world model stands; `MPI_Initialized`/`MPI_Finalized` report only this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum World {
    NotStarted,
    Active,
    Finalized,
}

#[derive(Debug)]
pub struct Lifecycle {
    world: World,
    /// The thread level the world model asked for, for `MPI_Query_thread`.
    world_thread_level: Option<i32>,
    sessions: usize,
    runtime_started: bool,
    torn_down: bool,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle::new()
    }
}

impl Lifecycle {
    pub const fn new() -> Lifecycle {
        Lifecycle {
            world: World::NotStarted,
            world_thread_level: None,
            sessions: 0,
            runtime_started: false,
            torn_down: false,
        }
    }

    pub fn world(&self) -> World {
        self.world
    }

    pub fn world_thread_level(&self) -> Option<i32> {
        self.world_thread_level
    }

    pub fn sessions(&self) -> usize {
        self.sessions
    }

    fn refuse_restart(&self, call: &str) -> Result<()> {
        if self.torn_down {
            return Err(err!(Other, "{call}: MPI was already finalized in this process (the world model and every session ended, and the runtime was torn down); partyline starts MPI once per process"));
        }
        Ok(())
    }

    /// `MPI_Init`: true if the caller must start the runtime (no session has).
    pub fn open_world(&mut self, thread_level: i32) -> Result<bool> {
        match self.world {
            World::Active => return Err(err!(Other, "MPI_Init was already called; call it once per process")),
            World::Finalized => {
                return Err(err!(Other, "MPI_Init after MPI_Finalize: the world model cannot be restarted; use MPI_Session_init for more MPI work"))
            }
            World::NotStarted => {}
        }
        self.refuse_restart("MPI_Init")?;
        self.world = World::Active;
        self.world_thread_level = Some(thread_level);
        Ok(self.start_runtime())
    }

    /// `MPI_Session_init`: true if the caller must start the runtime.
    pub fn open_session(&mut self) -> Result<bool> {
        self.refuse_restart("MPI_Session_init")?;
        self.sessions += 1;
        Ok(self.start_runtime())
    }

    fn start_runtime(&mut self) -> bool {
        !std::mem::replace(&mut self.runtime_started, true)
    }

    /// `MPI_Finalize`: true if the caller must tear the runtime down (no session is left).
    pub fn close_world(&mut self) -> Result<bool> {
        if self.world != World::Active {
            return Err(err!(Other, "MPI_Finalize: MPI_Init was not called, or MPI_Finalize was already called"));
        }
        self.world = World::Finalized;
        Ok(self.end_if_unused())
    }

    /// `MPI_Session_finalize` of a live session: true if the caller must tear the runtime down.
    pub fn close_session(&mut self) -> Result<bool> {
        if self.sessions == 0 {
            return Err(err!(Intern, "MPI_Session_finalize: no session is open"));
        }
        self.sessions -= 1;
        Ok(self.end_if_unused())
    }

    fn end_if_unused(&mut self) -> bool {
        if self.sessions > 0 || self.world == World::Active {
            return false;
        }
        self.torn_down = true;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_world_model_alone_starts_and_ends_the_runtime() {
        let mut l = Lifecycle::new();
        assert!(l.open_world(0).unwrap());
        assert_eq!(l.world(), World::Active);
        assert!(l.open_world(0).is_err(), "twice");
        assert!(l.close_world().unwrap());
        assert_eq!(l.world(), World::Finalized);
        assert!(l.close_world().is_err());
        assert!(l.open_world(0).is_err(), "no restart");
        assert!(l.open_session().is_err(), "nothing starts after the teardown");
    }

    #[test]
    fn sessions_alone_start_once_and_end_with_the_last() {
        let mut l = Lifecycle::new();
        assert!(l.open_session().unwrap());
        assert!(!l.open_session().unwrap(), "already running");
        assert_eq!(l.world(), World::NotStarted, "sessions are not the world model");
        assert!(!l.close_session().unwrap());
        assert!(l.close_session().unwrap(), "the last one tears down");
        assert!(l.close_session().is_err());
        assert!(l.open_session().unwrap_err().message.contains("once per process"));
        assert!(l.open_world(0).is_err());
    }

    #[test]
    fn init_after_a_session_and_a_session_outliving_finalize() {
        let mut l = Lifecycle::new();
        assert!(l.open_session().unwrap());
        assert!(!l.open_world(3).unwrap(), "MPI_Init joins the running runtime");
        assert_eq!(l.world_thread_level(), Some(3));
        assert!(!l.close_world().unwrap(), "a session is still open");
        assert_eq!(l.world(), World::Finalized);
        assert!(!l.open_session().unwrap(), "sessions may still start before the teardown");
        assert!(!l.close_session().unwrap());
        assert!(l.close_session().unwrap());
    }

    #[test]
    fn the_world_outliving_its_sessions_keeps_the_runtime() {
        let mut l = Lifecycle::new();
        assert!(l.open_world(0).unwrap());
        assert!(!l.open_session().unwrap());
        assert!(!l.close_session().unwrap(), "the world model still runs");
        assert_eq!(l.sessions(), 0);
        assert!(l.close_world().unwrap());
    }
}
