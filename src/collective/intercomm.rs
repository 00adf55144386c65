//! Intercommunicator construction: `MPI_Intercomm_create`, `_create_from_groups` and `_merge`, and the all-pairs exchange the intercommunicator collectives share.

use super::construct::u64_at;
use super::tag::Tag;
use crate::comm::{derive_context, Comm};
use crate::error::{err, Result};
use crate::group::Group;
use crate::runtime::Runtime;
use std::collections::HashMap;
use std::sync::Mutex;

fn encode_members(members: &[usize]) -> Vec<u8> {
    members.iter().flat_map(|w| (*w as u64).to_le_bytes()).collect()
}

fn decode_members(bytes: &[u8]) -> Vec<usize> {
    bytes.chunks_exact(8).map(|b| u64_at(b, 0) as usize).collect()
}

/// Sends `mine` to every member of `comm`'s remote group, then receives a message of the same
/// length from each, on `context` under `tag`: the remote members' values in remote-rank order.
pub fn exchange(rt: &Runtime, comm: &Comm, context: u64, tag: Tag, mine: &[u8]) -> Result<Vec<Vec<u8>>> {
    for world in comm.peers() {
        rt.send_bytes(*world, context, tag.id(), mine)?;
    }
    let mut all = Vec::with_capacity(comm.peers().len());
    for world in comm.peers() {
        let mut buf = vec![0u8; mine.len()];
        rt.recv_bytes(*world, context, tag.id(), &mut buf)?;
        all.push(buf);
    }
    Ok(all)
}

/// The barrier of an intercommunicator: every process waits until all of the remote group
/// has entered it (each sends a token to every remote member and waits for one from each).
pub fn barrier(rt: &Runtime, comm: &Comm) -> Result<()> {
    exchange(rt, comm, comm.coll_context(), Tag::InterBarrier, &[]).map(drop)
}

/// A context both groups compute alike from their two proposals, apart from other derivations.
fn agreed_context(a: u64, b: u64) -> u64 {
    const MARKER: u64 = u64::from_le_bytes(*b"intercom");
    derive_context(&[MARKER, a.min(b), a.max(b)])
}

/// The local leader's side of `MPI_Intercomm_create`: swaps (context proposal, members) with
/// the remote leader at world rank `remote_leader` over `peer_context` under the user's `tag`.
/// Returns the agreed context and the remote group.
fn leaders_swap(
    rt: &Runtime,
    local: &Comm,
    proposal: u64,
    remote_leader: usize,
    peer_context: u64,
    tag: i32,
) -> Result<(u64, Vec<usize>)> {
    let call = "MPI_Intercomm_create";
    if local.group.contains(&remote_leader) {
        return Err(err!(Rank, "{call}: the remote leader (world rank {remote_leader}) is a member of the local group; name a process of the other group in peer_comm"));
    }
    let mut head = proposal.to_le_bytes().to_vec();
    head.extend((local.size() as u64).to_le_bytes());
    rt.send_bytes(remote_leader, peer_context, tag, &head)?;
    rt.send_bytes(remote_leader, peer_context, tag, &encode_members(&local.group))?;
    let mut theirs = [0u8; 16];
    rt.recv_bytes(remote_leader, peer_context, tag, &mut theirs)?;
    let mut members = vec![0u8; 8 * u64_at(&theirs, 8) as usize];
    rt.recv_bytes(remote_leader, peer_context, tag, &mut members)?;
    let remote = decode_members(&members);
    if let Some(w) = remote.iter().find(|w| local.group.contains(w)) {
        return Err(err!(
            Arg,
            "{call}: world rank {w} is in both groups; the two groups of an intercommunicator must be disjoint"
        ));
    }
    Ok((agreed_context(proposal, u64_at(&theirs, 0)), remote))
}

/// `MPI_Intercomm_create`, collective over `local`. The leader (rank `leader` of `local`)
/// trades group membership with the remote leader, which `remote_leader` names (its world rank
/// and the peer communicator's context; only the leader calls it), then passes the result on to
/// its group, or word that it failed. Each side proposes a context drawn from its own
/// communicator; both keep one derived from the two proposals, so they agree.
pub fn create(
    rt: &Runtime,
    local: &Comm,
    leader: usize,
    remote_leader: impl FnOnce() -> Result<(usize, u64)>,
    tag: i32,
) -> Result<Comm> {
    let proposal = local.next_child_context();
    let context = local.coll_context();
    let id = Tag::InterCreate.id();
    let (context, remote) = if local.rank == leader {
        let news = remote_leader().and_then(|(world, peer)| leaders_swap(rt, local, proposal, world, peer, tag));
        let (head, members) = match &news {
            Ok((ctx, remote)) => (
                [&[0u8][..], &ctx.to_le_bytes(), &(remote.len() as u64).to_le_bytes()].concat(),
                encode_members(remote),
            ),
            Err(_) => (vec![1u8; 17], Vec::new()),
        };
        for world in local.group.iter().filter(|w| **w != local.group[leader]) {
            rt.send_bytes(*world, context, id, &head)?;
            if news.is_ok() {
                rt.send_bytes(*world, context, id, &members)?;
            }
        }
        news?
    } else {
        let from = local.group[leader];
        let mut head = [0u8; 17];
        rt.recv_bytes(from, context, id, &mut head)?;
        if head[0] != 0 {
            return Err(err!(Arg, "MPI_Intercomm_create: the local leader (rank {leader}) failed to set up the intercommunicator with the remote leader; its own error says why"));
        }
        let mut members = vec![0u8; 8 * u64_at(&head, 9) as usize];
        rt.recv_bytes(from, context, id, &mut members)?;
        (u64_at(&head, 1), decode_members(&members))
    };
    Ok(Comm::inter(local.group.to_vec(), local.rank, remote, context))
}

/// `MPI_Intercomm_create_from_groups` calls made so far per key, as `Comm::next_group_child_context`
/// counts `MPI_Comm_create_group`'s: only the two groups' members take part.
static FROM_GROUPS_MADE: Mutex<Option<HashMap<u64, u64>>> = Mutex::new(None);

/// `MPI_Intercomm_create_from_groups` for a member of `local`: the context comes from the two
/// groups and the tag with no message; the members then check, on a context that depends on the
/// tag only, that every member of each side passed the same two groups.
pub fn create_from_groups(rt: &Runtime, me: usize, local: &Group, remote: &Group, stringtag: &str) -> Result<Comm> {
    let call = "MPI_Intercomm_create_from_groups";
    let rank = local.rank_of(me).ok_or_else(|| {
        err!(
            Group,
            "{call}: this process (world rank {me}) is not in local_group; pass the group this process belongs to"
        )
    })?;
    if let Some(w) = remote.members.iter().find(|w| local.contains(**w)) {
        return Err(err!(
            Group,
            "{call}: world rank {w} is in both local_group and remote_group; the groups must be disjoint"
        ));
    }
    let tag_hash = derive_context(&stringtag.bytes().map(u64::from).collect::<Vec<_>>());
    let (a, b) = (local.digest(), remote.digest());
    const MARKER: u64 = u64::from_le_bytes(*b"fromgrps");
    let key = derive_context(&[MARKER, a.min(b), a.max(b), tag_hash]);
    let seq = {
        let mut made = crate::sync::lock(&FROM_GROUPS_MADE);
        let n = made.get_or_insert_with(HashMap::new).entry(key).or_insert(0);
        *n += 1;
        *n - 1
    };
    const CHECK: u64 = u64::from_le_bytes(*b"fromchck");
    let check = Comm::inter(local.members.to_vec(), rank, remote.members.to_vec(), derive_context(&[CHECK, tag_hash]));
    let mine = [a.to_le_bytes(), b.to_le_bytes()].concat();
    for (r, theirs) in exchange(rt, &check, check.coll_context(), Tag::InterCreate, &mine)?.iter().enumerate() {
        if u64_at(theirs, 0) != b || u64_at(theirs, 8) != a {
            return Err(err!(Group, "{call}: rank {r} of remote_group passed other groups than this process (same stringtag \"{stringtag}\"); every member must pass the same local and remote groups as its side"));
        }
    }
    Ok(Comm::inter(local.members.to_vec(), rank, remote.members.to_vec(), derive_context(&[key, seq])))
}

/// `MPI_Comm_split` (and `_split_type`, with the host as the color) on an intercommunicator:
/// the processes of each color, ordered by `key` then rank, with the remote processes of the
/// same color as their remote group; `None` for `color` `None` (MPI_UNDEFINED) or for a color
/// the other group does not have.
pub fn split(rt: &Runtime, comm: &Comm, color: Option<u64>, key: i32) -> Result<Option<Comm>> {
    let mut mine = [0u8; 13];
    mine[0] = color.is_some() as u8;
    mine[1..9].copy_from_slice(&color.unwrap_or(0).to_le_bytes());
    mine[9..].copy_from_slice(&key.to_le_bytes());
    let local = super::construct::allgather_fixed(rt, comm, comm.coll_context(), Tag::InterSplit, &mine)?;
    let remote = exchange(rt, comm, comm.coll_context(), Tag::InterSplit, &mine)?;
    let context = comm.next_child_context();
    let Some(color) = color else { return Ok(None) };
    // The members of `color` among `all` (whose world ranks are `group`), by key then rank.
    let members = |all: &[Vec<u8>], group: &[usize]| -> Vec<usize> {
        let mut picked: Vec<(i32, usize)> = all
            .iter()
            .enumerate()
            .filter(|(_, b)| b[0] != 0 && u64_at(b, 1) == color)
            .map(|(r, b)| (i32::from_le_bytes(b[9..13].try_into().expect("4 bytes")), r))
            .collect();
        picked.sort();
        picked.iter().map(|(_, r)| group[*r]).collect()
    };
    let (group, peers) = (members(&local, &comm.group), members(&remote, comm.peers()));
    if peers.is_empty() {
        return Ok(None);
    }
    let rank = group.iter().position(|w| *w == comm.my_world_rank()).expect("a member of its own color");
    Ok(Some(Comm::inter(group, rank, peers, context)))
}

/// `MPI_Intercomm_merge`: both groups in one intracommunicator, the group that passed `high`
/// false first (on a tie, the group whose first member has the lower world rank).
pub fn merge(rt: &Runtime, inter: &Comm, high: bool) -> Result<Comm> {
    let context = inter.next_child_context();
    let theirs = exchange(rt, inter, inter.coll_context(), Tag::InterMerge, &[high as u8])?;
    let remote_high = theirs.first().is_some_and(|b| b[0] != 0);
    if let Some(r) = theirs.iter().position(|b| (b[0] != 0) != remote_high) {
        return Err(err!(Arg, "MPI_Intercomm_merge: ranks 0 and {r} of the remote group passed different values of high; every member of a group must pass the same"));
    }
    let remote = inter.peers();
    let local_first = if high == remote_high { inter.group[0] < remote[0] } else { !high };
    let (first, second): (&[usize], &[usize]) =
        if local_first { (&inter.group, remote) } else { (remote, &inter.group) };
    let members = [first, second].concat();
    let rank = if local_first { inter.rank } else { remote.len() + inter.rank };
    Ok(Comm::new(members, rank, context))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreed_context_is_symmetric() {
        assert_eq!(agreed_context(0x100, 0x2000), agreed_context(0x2000, 0x100));
        assert_eq!(agreed_context(5, 6) & 1, 0);
        assert_eq!(decode_members(&encode_members(&[3, 0, 7])), vec![3, 0, 7]);
    }
}
