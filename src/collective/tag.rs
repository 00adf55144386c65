//! The message tags of the collectives, in one table so that no two collectives share a value.
//!
//! Collectives run on a communicator's collective context, apart from user messages, but two
//! collectives in flight on one communicator would still mix up messages with equal tags. An
//! enum's discriminants cannot repeat, so the compiler checks what a hand-kept list could not.

/// A collective's message tag on a communicator's collective context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Tag {
    /// The first of the barrier's tags: round r of its dissemination uses `Barrier + r`.
    Barrier = 1,
    Split = 100,
    /// Communicator constructors (src/collective/construct.rs).
    Create = 150,
    CreateGroup,
    SplitType,
    DistGraph,
    /// Intercommunicators (src/collective/intercomm.rs, inter.rs).
    InterCreate = 170,
    InterMerge,
    InterBarrier,
    InterData,
    InterReduce,
    InterSplit,
    Bcast = 200,
    Gather,
    Scatter,
    Allgather,
    Alltoall,
    /// Reduce-scatter's exchange of each rank's contribution to every block.
    ReduceScatter = 300,
    ReduceShare,
    ReduceCollect,
    Scan,
    /// Neighbour collectives: `Neighbor + slot`, the receiver's slot, so that a Cartesian
    /// neighbour on both sides of a dimension gets each block in the right place.
    Neighbor = 1000,
}

/// Barrier rounds: ceil(log2 n) for n ranks, so this covers every communicator there can be.
const MAX_BARRIER_ROUNDS: i32 = usize::BITS as i32;
const _: () = assert!(Tag::Barrier as i32 + MAX_BARRIER_ROUNDS < Tag::Split as i32, "barrier rounds overlap");

impl Tag {
    /// The tag's value on the wire.
    pub const fn id(self) -> i32 {
        self as i32
    }
}
