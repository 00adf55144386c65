//! Communicators: an ordered group of world ranks plus the context ids that keep their traffic apart.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Contexts of the predefined communicators; derived ones are hashed from their parent.
pub const WORLD_CONTEXT: u64 = 0x10;
pub const SELF_CONTEXT: u64 = 0x20;

#[derive(Debug)]
pub struct Comm {
    /// World rank of each member, in communicator-rank order.
    pub group: Arc<Vec<usize>>,
    /// Our rank in this communicator.
    pub rank: usize,
    /// Context of point-to-point traffic (even); collectives use `context | 1`.
    pub context: u64,
    /// An intercommunicator's remote group (world ranks in remote-rank order): point-to-point
    /// ranks name its members. `None` for an intracommunicator.
    pub remote: Option<Arc<Vec<usize>>>,
    children: AtomicU64,
    /// `MPI_Comm_create_group` calls made so far per (group digest, tag): only the group's
    /// members take part, so they cannot draw on `children`, which every member advances.
    group_children: Mutex<HashMap<(u64, i32), u64>>,
}

impl Comm {
    pub fn new(group: Vec<usize>, rank: usize, context: u64) -> Comm {
        Comm {
            group: Arc::new(group),
            rank,
            context,
            remote: None,
            children: AtomicU64::new(0),
            group_children: Mutex::default(),
        }
    }

    /// An intercommunicator: `rank` in the local `group`, peers in the disjoint `remote` group.
    pub fn inter(group: Vec<usize>, rank: usize, remote: Vec<usize>, context: u64) -> Comm {
        Comm { remote: Some(Arc::new(remote)), ..Comm::new(group, rank, context) }
    }

    /// The same groups and rank on another context (dup).
    pub fn with_context(&self, context: u64) -> Comm {
        Comm { remote: self.remote.clone(), ..Comm::new(self.group.to_vec(), self.rank, context) }
    }

    pub fn is_inter(&self) -> bool {
        self.remote.is_some()
    }

    /// The group point-to-point ranks name: the remote group of an intercommunicator, else the
    /// communicator's own.
    pub fn peers(&self) -> &[usize] {
        self.remote.as_deref().unwrap_or(&self.group)
    }

    /// The world rank of point-to-point rank `rank` (see `peers`).
    pub fn peer_world_rank(&self, rank: usize) -> Option<usize> {
        self.peers().get(rank).copied()
    }

    /// The point-to-point rank of world rank `world` (see `peers`).
    pub fn peer_rank_of_world(&self, world: usize) -> Option<usize> {
        self.peers().iter().position(|w| *w == world)
    }

    pub fn world(rank: usize, size: usize) -> Comm {
        Comm::new((0..size).collect(), rank, WORLD_CONTEXT)
    }

    pub fn solo(world_rank: usize) -> Comm {
        Comm::new(vec![world_rank], 0, SELF_CONTEXT)
    }

    pub fn size(&self) -> usize {
        self.group.len()
    }

    pub fn coll_context(&self) -> u64 {
        self.context | 1
    }

    pub fn world_rank(&self, rank: usize) -> Option<usize> {
        self.group.get(rank).copied()
    }

    pub fn rank_of_world(&self, world: usize) -> Option<usize> {
        self.group.iter().position(|w| *w == world)
    }

    pub fn my_world_rank(&self) -> usize {
        self.group[self.rank]
    }

    /// The context for the next communicator made from this one. Every member creates
    /// children in the same order (MPI requires it), so all compute the same value with no
    /// message; members of different `split` colors share it safely, as their groups are disjoint.
    pub fn next_child_context(&self) -> u64 {
        let seq = self.children.fetch_add(1, Ordering::Relaxed);
        derive_context(&[self.context, seq])
    }

    /// The context for the next communicator made by `MPI_Comm_create_group` with the group
    /// of digest `group` and `tag`. Only the group's members call this, each the same number of
    /// times for that (group, tag), so all compute the same value; the marker keeps it apart
    /// from `next_child_context`'s values.
    pub fn next_group_child_context(&self, group: u64, tag: i32) -> u64 {
        let seq = {
            let mut made = crate::sync::lock(&self.group_children);
            let n = made.entry((group, tag)).or_insert(0);
            *n += 1;
            *n - 1
        };
        const MARKER: u64 = u64::from_le_bytes(*b"grpchild");
        derive_context(&[self.context, MARKER, group, tag as u32 as u64, seq])
    }
}

/// A context hashed from `parts` (FNV-1a): even, and clear of the predefined contexts.
pub fn derive_context(parts: &[u64]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in parts.iter().flat_map(|p| p.to_le_bytes()) {
        h ^= byte as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h & !1).max(0x100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_contexts_are_deterministic_and_distinct() {
        let a = Comm::world(0, 3);
        let b = Comm::world(2, 3);
        let (a1, a2) = (a.next_child_context(), a.next_child_context());
        assert_eq!(a1, b.next_child_context(), "every member computes the same id");
        assert_ne!(a1, a2);
        assert_eq!(a1 & 1, 0);
        assert_ne!(a1 | 1, a1);
        assert_eq!(a.rank_of_world(2), Some(2));
        let sub = Comm::new(vec![2, 0], 1, a1);
        assert_eq!(sub.world_rank(0), Some(2));
        assert_eq!(sub.my_world_rank(), 0);
    }
}
