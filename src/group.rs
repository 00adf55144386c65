//! MPI process groups: an ordered list of distinct world ranks and the set operations MPI defines on it.

use crate::error::{err, Result};
use std::sync::Arc;

/// How two groups compare (`MPI_Group_compare`): same members in the same order, the same
/// members in another order, or different members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Likeness {
    Ident,
    Similar,
    Unequal,
}

/// A group: world ranks in group-rank order, each at most once.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Group {
    pub members: Arc<Vec<usize>>,
}

impl Group {
    pub fn new(members: Vec<usize>) -> Group {
        debug_assert!(distinct(&members), "a group lists each process once");
        Group { members: Arc::new(members) }
    }

    pub fn empty() -> Group {
        Group::default()
    }

    pub fn size(&self) -> usize {
        self.members.len()
    }

    /// The group rank of world rank `world`, if it is a member.
    pub fn rank_of(&self, world: usize) -> Option<usize> {
        self.members.iter().position(|w| *w == world)
    }

    pub fn contains(&self, world: usize) -> bool {
        self.members.contains(&world)
    }

    /// Every member of `self`, then those of `other` not in `self`, each in its own order.
    pub fn union(&self, other: &Group) -> Group {
        let mut members = self.members.to_vec();
        members.extend(other.members.iter().filter(|w| !self.contains(**w)));
        Group::new(members)
    }

    /// Members of `self` also in `other`, in `self`'s order.
    pub fn intersection(&self, other: &Group) -> Group {
        Group::new(self.members.iter().copied().filter(|w| other.contains(*w)).collect())
    }

    /// Members of `self` not in `other`, in `self`'s order.
    pub fn difference(&self, other: &Group) -> Group {
        Group::new(self.members.iter().copied().filter(|w| !other.contains(*w)).collect())
    }

    /// The members at `ranks`, in that order (`MPI_Group_incl`).
    pub fn incl(&self, ranks: &[i32]) -> Result<Group> {
        let picked = self.checked_ranks(ranks, "MPI_Group_incl")?;
        Ok(Group::new(picked.iter().map(|r| self.members[*r]).collect()))
    }

    /// Every member except those at `ranks`, in group order (`MPI_Group_excl`).
    pub fn excl(&self, ranks: &[i32]) -> Result<Group> {
        let dropped = self.checked_ranks(ranks, "MPI_Group_excl")?;
        Ok(self.without(&dropped))
    }

    /// The members named by `(first, last, stride)` triplets, in order (`MPI_Group_range_incl`).
    pub fn range_incl(&self, ranges: &[[i32; 3]]) -> Result<Group> {
        let ranks = self.expand_ranges(ranges, "MPI_Group_range_incl")?;
        Ok(Group::new(ranks.iter().map(|r| self.members[*r]).collect()))
    }

    /// Every member except those named by the triplets (`MPI_Group_range_excl`).
    pub fn range_excl(&self, ranges: &[[i32; 3]]) -> Result<Group> {
        let ranks = self.expand_ranges(ranges, "MPI_Group_range_excl")?;
        Ok(self.without(&ranks))
    }

    /// For each rank of `self` in `ranks`, its rank in `other`: `Ok(None)` where the process is
    /// not in `other`; MPI_PROC_NULL (`proc_null`) maps to itself.
    pub fn translate(&self, ranks: &[i32], other: &Group, proc_null: i32) -> Result<Vec<Option<i32>>> {
        ranks
            .iter()
            .map(|&r| {
                if r == proc_null {
                    return Ok(Some(proc_null));
                }
                let world = self.member("MPI_Group_translate_ranks", r)?;
                Ok(other.rank_of(world).map(|x| x as i32))
            })
            .collect()
    }

    pub fn compare(&self, other: &Group) -> Likeness {
        if self.members == other.members {
            return Likeness::Ident;
        }
        let (mut a, mut b) = (self.members.to_vec(), other.members.to_vec());
        a.sort_unstable();
        b.sort_unstable();
        if a == b {
            Likeness::Similar
        } else {
            Likeness::Unequal
        }
    }

    /// A digest of the members in order, for checking that every process passed the same group.
    pub fn digest(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for w in self.members.iter().map(|w| *w as u64).chain([self.size() as u64]) {
            for byte in w.to_le_bytes() {
                h ^= byte as u64;
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        h
    }

    /// The world rank at group rank `rank`, or an error naming `call`.
    fn member(&self, call: &str, rank: i32) -> Result<usize> {
        usize::try_from(rank).ok().and_then(|r| self.members.get(r).copied()).ok_or_else(|| {
            err!(
                Rank,
                "{call}: rank {rank} is not in the group, which has {} members (ranks 0 to {})",
                self.size(),
                self.size() as i64 - 1
            )
        })
    }

    /// `ranks` as valid, distinct group ranks.
    fn checked_ranks(&self, ranks: &[i32], call: &str) -> Result<Vec<usize>> {
        let mut seen = vec![false; self.size()];
        let mut out = Vec::with_capacity(ranks.len());
        for &r in ranks {
            self.member(call, r)?;
            let r = r as usize;
            if std::mem::replace(&mut seen[r], true) {
                return Err(err!(Rank, "{call}: rank {r} is listed twice; each rank may appear once"));
            }
            out.push(r);
        }
        Ok(out)
    }

    fn without(&self, ranks: &[usize]) -> Group {
        let mut drop = vec![false; self.size()];
        for r in ranks {
            drop[*r] = true;
        }
        Group::new(self.members.iter().zip(drop).filter(|(_, d)| !d).map(|(w, _)| *w).collect())
    }

    /// The ranks the triplets name, each checked: ends in the group, a non-zero stride that
    /// walks from `first` towards `last`, and no rank named twice (across all triplets).
    fn expand_ranges(&self, ranges: &[[i32; 3]], call: &str) -> Result<Vec<usize>> {
        let mut ranks = Vec::new();
        for (i, &[first, last, stride]) in ranges.iter().enumerate() {
            self.member(call, first).map_err(|e| err!(Rank, "{} (first of range {i})", e.message))?;
            self.member(call, last).map_err(|e| err!(Rank, "{} (last of range {i})", e.message))?;
            if stride == 0 {
                return Err(err!(
                    Arg,
                    "{call}: range {i} ({first}, {last}, {stride}) has stride 0; use a non-zero stride"
                ));
            }
            if (last - first).signum() * stride.signum() < 0 {
                return Err(err!(Arg, "{call}: range {i} ({first}, {last}, {stride}) never reaches {last}: the stride must go from first towards last"));
            }
            let mut r = first as i64;
            while (stride > 0 && r <= last as i64) || (stride < 0 && r >= last as i64) {
                ranks.push(r as i32);
                r += stride as i64;
            }
        }
        self.checked_ranks(&ranks, call)
    }
}

fn distinct(members: &[usize]) -> bool {
    let mut sorted = members.to_vec();
    sorted.sort_unstable();
    sorted.windows(2).all(|w| w[0] != w[1])
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
