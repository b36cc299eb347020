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

// Page arithmetic. Addresses come from traces, and a hostile trace may give
// any u64, so every conversion that could pass 2^64 is checked and says so
// with `None`. The unchecked-looking `plus` and `since` are for ranges that
// were already checked against a map's bounds: they panic (in release
// builds too) rather than wrap, because a wrapped page number would put an
// entry where no range check ever looked.

impl Vpn {
    /// The page that holds byte `addr` (Mach `trunc_page`).
    pub fn of_addr(addr: u64, page_size: u64) -> Vpn {
        Vpn(addr / page_size)
    }

    /// The first page at or above byte `addr` (Mach `round_page`). Never
    /// fails: the result may be the page just past the address space
    /// (2^64 / page size), which no map's bounds admit.
    pub fn round_up(addr: u64, page_size: u64) -> Vpn {
        Vpn(addr.div_ceil(page_size))
    }

    /// The address of this page's first byte, or `None` when that lies at
    /// or past 2^64.
    pub fn addr(self, page_size: u64) -> Option<u64> {
        self.0.checked_mul(page_size)
    }

    /// The page `n` pages above this one, or `None` past the last `u64`.
    pub fn checked_plus(self, n: u64) -> Option<Vpn> {
        self.0.checked_add(n).map(Vpn)
    }

    /// The page `n` pages above this one. The caller guarantees the sum
    /// fits: the range it ends was checked against the map's bounds.
    #[inline]
    pub fn plus(self, n: u64) -> Vpn {
        match self.checked_plus(n) {
            Some(vpn) => vpn,
            None => panic!("{self:?} plus {n:#x} pages wraps; the range was never bounds-checked"),
        }
    }

    /// Pages from `base` up to this page (`self - base`). The caller
    /// guarantees `base <= self`.
    #[inline]
    pub fn since(self, base: Vpn) -> u64 {
        match self.0.checked_sub(base.0) {
            Some(pages) => pages,
            None => panic!("{self:?} is below {base:?}"),
        }
    }
}

/// The pages `[first, end)` that hold the bytes `[addr, addr + len)`, for
/// `len > 0`: `first` is `trunc_page(addr)` and `end` is
/// `round_page(addr + len)`, both in pages. `None` when the bytes wrap past
/// 2^64, or when `end` itself is not a `u64` (only with 1-byte pages).
///
/// A range that ends exactly at 2^64 is not a wrap: its last byte is
/// `u64::MAX`, and its end page is representable. It is still past every
/// map's maximum, so the callers' bounds check refuses it.
pub fn page_span(addr: u64, len: u64, page_size: u64) -> Option<(Vpn, Vpn)> {
    let last_byte = addr.checked_add(len.checked_sub(1)?)?;
    let end = Vpn::of_addr(last_byte, page_size).checked_plus(1)?;
    Some((Vpn::of_addr(addr, page_size), end))
}

impl Pindex {
    /// The index `n` pages above this one. The caller guarantees the sum
    /// fits: object indexes come from checked file offsets and bounded map
    /// ranges, both below 2^64 bytes.
    #[inline]
    pub fn plus(self, n: u64) -> Pindex {
        match self.0.checked_add(n) {
            Some(index) => Pindex(index),
            None => panic!("{self:?} plus {n:#x} pages wraps"),
        }
    }
}
