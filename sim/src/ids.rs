//! Newtypes for every kind of number the model handles.
//!
//! A virtual page number can never be passed where an object page index is
//! expected, and every id prints short and readable (`task#2`, `obj#7`,
//! `vpn:0x101`) so that test failures and narrations read like a textbook.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A task, named by the trace's own integer id.
///
/// A trace may create a task id again after that task has exited.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub u32);

/// A VM object.
///
/// `slot` indexes the object arena and is reused after the object is freed;
/// `serial` is handed out once per run and never reused, so it is the id that
/// events, reports and graphs show. Two ids are equal only if both match,
/// which also makes a stale handle detectable.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId {
    pub(crate) slot: u32,
    pub(crate) serial: u32,
}

impl ObjectId {
    /// The run-unique number of this object (`obj#N` prints N).
    pub fn serial(self) -> u32 {
        self.serial
    }
}

/// A physical page frame. Slots are reused after a page is freed; pmap
/// entries guard against that with stamps (see `pmap.rs`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PageId(pub(crate) u32);

impl PageId {
    /// The arena slot of this frame (for display and graphs).
    pub fn index(self) -> u32 {
        self.0
    }
}

/// A virtual page number: a byte address divided by the page size.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Vpn(pub u64);

/// A page index inside a VM object (the object's "offset" in pages).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pindex(pub u64);

/// The content of a page: a `u64` standing in for its 4 KiB of data.
/// Zero-filled pages hold [`Token::ZERO`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Token(pub u64);

impl Token {
    /// The content of a freshly zero-filled page.
    pub const ZERO: Token = Token(0);
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task#{}", self.0)
    }
}
impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.0)
    }
}
impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "obj#{}", self.serial)
    }
}
impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "object {}", self.serial)
    }
}
impl fmt::Debug for PageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "page#{}", self.0)
    }
}
impl fmt::Debug for Vpn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "vpn:{:#x}", self.0)
    }
}
impl fmt::Debug for Pindex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pindex:{:#x}", self.0)
    }
}
impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "token:{:#x}", self.0)
    }
}

impl Vpn {
    /// The page `n` pages above this one.
    pub fn plus(self, n: u64) -> Vpn {
        Vpn(self.0 + n)
    }
    /// Pages from `base` up to this page (`self - base`).
    pub fn since(self, base: Vpn) -> u64 {
        debug_assert!(self >= base, "{self:?} is below {base:?}");
        self.0 - base.0
    }
}

impl Pindex {
    /// The index `n` pages above this one.
    pub fn plus(self, n: u64) -> Pindex {
        Pindex(self.0 + n)
    }
}
