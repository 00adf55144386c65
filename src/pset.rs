//! The process sets a session offers: "mpi://WORLD" and "mpi://SELF", their groups and their info.

use crate::error::{err, Result};
use crate::group::Group;

/// The process sets every partyline job has, in `MPI_Session_get_nth_pset` order.
pub const NAMES: [&str; 2] = ["mpi://WORLD", "mpi://SELF"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pset {
    World,
    SelfOnly,
}

impl Pset {
    /// The set named `name`; names compare without regard to case, as MPI says.
    pub fn named(name: &str) -> Result<Pset> {
        match NAMES.iter().position(|n| n.eq_ignore_ascii_case(name)) {
            Some(0) => Ok(Pset::World),
            Some(_) => Ok(Pset::SelfOnly),
            None => Err(err!(
                Arg,
                "unknown process set {name:?}; partyline offers {} (see MPI_Session_get_nth_pset)",
                NAMES.join(" and ")
            )),
        }
    }

    /// The `n`-th set's name (counting from 0).
    pub fn nth(n: i32) -> Result<&'static str> {
        usize::try_from(n).ok().and_then(|i| NAMES.get(i)).copied().ok_or_else(|| {
            err!(
                Arg,
                "process set index {n} is out of range; there are {} (0 to {}, see MPI_Session_get_num_psets)",
                NAMES.len(),
                NAMES.len() - 1
            )
        })
    }

    /// The set's members, as world ranks, seen from world rank `me` of `size`.
    pub fn group(self, me: usize, size: usize) -> Group {
        match self {
            Pset::World => Group::new((0..size).collect()),
            Pset::SelfOnly => Group::new(vec![me]),
        }
    }

    /// The keys of `MPI_Session_get_pset_info`.
    pub fn info_pairs(self, size: usize) -> Vec<(&'static str, String)> {
        let members = match self {
            Pset::World => size,
            Pset::SelfOnly => 1,
        };
        vec![("mpi_size", members.to_string())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_without_case_and_unknown_ones_are_refused() {
        assert_eq!(Pset::named("mpi://WORLD").unwrap(), Pset::World);
        assert_eq!(Pset::named("MPI://world").unwrap(), Pset::World);
        assert_eq!(Pset::named("mpi://self").unwrap(), Pset::SelfOnly);
        assert!(Pset::named("mpi://WORLDS").unwrap_err().message.contains("unknown process set"));
        assert!(Pset::named("").is_err());
    }

    #[test]
    fn nth_counts_from_zero_and_checks_the_range() {
        assert_eq!(Pset::nth(0).unwrap(), "mpi://WORLD");
        assert_eq!(Pset::nth(1).unwrap(), "mpi://SELF");
        assert!(Pset::nth(2).is_err());
        assert!(Pset::nth(-1).is_err());
    }

    #[test]
    fn groups_and_sizes() {
        assert_eq!(Pset::World.group(2, 4).members.to_vec(), vec![0, 1, 2, 3]);
        assert_eq!(Pset::SelfOnly.group(2, 4).members.to_vec(), vec![2]);
        assert_eq!(Pset::World.info_pairs(5), vec![("mpi_size", "5".to_string())]);
        assert_eq!(Pset::SelfOnly.info_pairs(5), vec![("mpi_size", "1".to_string())]);
    }
}
