//! What the invariant checker (`check.rs`) reports: the first broken
//! invariant, with the ids and values involved. It lives apart from the
//! checker so that policies can report their own violations without
//! depending on the checker that calls them.

use std::fmt;

use crate::ids::{ObjectId, PageId, TaskId, Vpn};

/// Which of a map's bounds an entry crosses, and where that bound lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// The entry starts below `Config::map_min` (this page, rounded up).
    Min(Vpn),
    /// The entry ends past `Config::map_max` (this page, rounded down).
    Max(Vpn),
}

/// The first broken invariant found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    RefCount {
        object: ObjectId,
        ref_count: u32,
        referrers: u32,
    },
    ChainLoop {
        object: ObjectId,
    },
    /// `backing.shadowers` and `object.shadow` disagree.
    ShadowList {
        object: ObjectId,
        backing: ObjectId,
    },
    PageHolders {
        page: PageId,
        refs: u32,
        slots: u32,
    },
    BadEntry {
        task: TaskId,
        start: Vpn,
        problem: &'static str,
    },
    /// A map entry reaches outside `[map_min, map_max)`: below `bound` when
    /// `bound` is the minimum, past it when it is the maximum.
    EntryOutOfBounds {
        task: TaskId,
        start: Vpn,
        end: Vpn,
        bound: Bound,
    },
    PmapDisagrees {
        task: TaskId,
        vpn: Vpn,
        problem: String,
    },
    CopyLink {
        source: ObjectId,
        copy: ObjectId,
    },
    Counter {
        name: &'static str,
        counted: u64,
        actual: u64,
    },
    /// A policy's own invariant, in the policy's words (the simulator's
    /// panic names the policy).
    Policy(String),
    /// An object's kept chain length is not one more than its shadow's.
    ChainLength {
        object: ObjectId,
        kept: u32,
        walked: u32,
    },
    /// An object's kept count of the entries pointing at it is wrong.
    MappedBy {
        object: ObjectId,
        kept: u32,
        counted: u32,
    },
    /// The histogram of the entries' chain lengths is not the entries'.
    ChainHistogram {
        kept_longest: u64,
        counted_longest: u64,
    },
    /// An object's kept count of backing pages showing through is wrong.
    ShowsThrough {
        object: ObjectId,
        kept: u64,
        counted: u64,
    },
    /// Anonymous memory is reached past its end.
    ReachedOutside {
        object: ObjectId,
        end: u64,
    },
    /// An object's kept coverage by its entries' windows is not theirs.
    Coverage {
        object: ObjectId,
    },
    /// An object's kept set of reached columns does not follow from its
    /// entries and its shadowers.
    Reached {
        object: ObjectId,
    },
    /// A page's kept count of reached slots is wrong.
    PageReached {
        page: PageId,
        kept: u32,
        counted: u32,
    },
    /// The kept count of hidden pages is not the count of pages with no
    /// reached slot (`walked` is `None`) or not what a walk of every
    /// entry's chain finds.
    HiddenPages {
        kept: u64,
        counted: u64,
        walked: Option<u64>,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::RefCount { object, ref_count, referrers } => {
                write!(f, "{object:?} has ref_count {ref_count} but {referrers} referrers")
            }
            Violation::ChainLoop { object } => write!(f, "the chain below {object:?} loops"),
            Violation::ShadowList { object, backing } => {
                write!(f, "{object:?} and the shadower list of {backing:?} disagree")
            }
            Violation::PageHolders { page, refs, slots } => {
                write!(f, "{page:?} has refs {refs} but {slots} object slots hold it")
            }
            Violation::BadEntry { task, start, problem } => write!(f, "{task:?} entry at {start:?}: {problem}"),
            Violation::EntryOutOfBounds { task, start, end, bound: Bound::Min(min) } => {
                write!(f, "{task:?} entry {start:?}..{end:?} starts below the map's minimum {min:?} (map_min)")
            }
            Violation::EntryOutOfBounds { task, start, end, bound: Bound::Max(max) } => {
                write!(f, "{task:?} entry {start:?}..{end:?} ends past the map's maximum {max:?} (map_max)")
            }
            Violation::PmapDisagrees { task, vpn, problem } => write!(f, "{task:?} pmap at {vpn:?}: {problem}"),
            Violation::CopyLink { source, copy } => {
                write!(f, "{source:?} names {copy:?} as its copy object, which does not shadow it")
            }
            Violation::Counter { name, counted, actual } => {
                write!(f, "counter {name} says {counted} but the world has {actual}")
            }
            Violation::Policy(message) => f.write_str(message),
            Violation::ChainLength { object, kept, walked } => {
                write!(f, "{object:?} keeps chain length {kept} but its chain is {walked} long")
            }
            Violation::MappedBy { object, kept, counted } => {
                write!(f, "{object:?} counts {kept} entries mapping it but {counted} do")
            }
            Violation::ChainHistogram { kept_longest, counted_longest } => write!(
                f,
                "the histogram of chain lengths disagrees with the entries (longest kept {kept_longest}, counted {counted_longest})"
            ),
            Violation::ShowsThrough { object, kept, counted } => {
                write!(f, "{object:?} counts {kept} backing pages showing through but {counted} do")
            }
            Violation::ReachedOutside { object, end } => {
                write!(f, "{object:?} is reached up to {end:#x}, past its end")
            }
            Violation::Coverage { object } => {
                write!(f, "{object:?}'s kept coverage by entries disagrees with its entries' windows")
            }
            Violation::Reached { object } => {
                write!(f, "{object:?}'s kept reached columns disagree with its entries and shadowers")
            }
            Violation::PageReached { page, kept, counted } => {
                write!(f, "{page:?} counts {kept} reached slots but {counted} slots holding it are reached")
            }
            Violation::HiddenPages { kept, counted, walked: None } => {
                write!(f, "{kept} hidden pages kept but {counted} pages have no reached slot")
            }
            Violation::HiddenPages { kept, walked: Some(walked), .. } => {
                write!(f, "{kept} hidden pages kept but a walk of every chain finds {walked}")
            }
        }
    }
}
