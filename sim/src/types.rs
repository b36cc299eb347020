//! Small value types of the Mach memory API: protections, inheritance,
//! access kinds and `kern_return_t` codes.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A protection: any combination of read, write and execute
/// (`VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXECUTE`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Prot(u8);

impl Prot {
    pub const NONE: Prot = Prot(0);
    pub const READ: Prot = Prot(1);
    pub const WRITE: Prot = Prot(2);
    pub const EXECUTE: Prot = Prot(4);
    /// Read and write: the protection `vm_allocate` gives (`VM_PROT_DEFAULT`).
    pub const DEFAULT: Prot = Prot(3);
    /// Every permission (`VM_PROT_ALL`), the default maximum.
    pub const ALL: Prot = Prot(7);

    /// Does this protection grant everything in `other`?
    pub fn allows(self, other: Prot) -> bool {
        self.0 & other.0 == other.0
    }
    /// The permissions both grant.
    pub fn intersect(self, other: Prot) -> Prot {
        Prot(self.0 & other.0)
    }
    /// This protection without the permissions in `other`.
    pub fn without(self, other: Prot) -> Prot {
        Prot(self.0 & !other.0)
    }
    /// Parses `"rwx"`-style text: any of `r`, `w`, `x` once each, in any order,
    /// or `""` for none. Returns `None` for anything else.
    pub fn parse(text: &str) -> Option<Prot> {
        let mut prot = Prot::NONE;
        for c in text.chars() {
            let bit = match c {
                'r' => Prot::READ,
                'w' => Prot::WRITE,
                'x' => Prot::EXECUTE,
                _ => return None,
            };
            if prot.allows(bit) {
                return None;
            }
            prot = Prot(prot.0 | bit.0);
        }
        Some(prot)
    }
}

impl fmt::Display for Prot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, c) in [(Prot::READ, 'r'), (Prot::WRITE, 'w'), (Prot::EXECUTE, 'x')] {
            if self.allows(bit) {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}
impl fmt::Debug for Prot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "prot:{self}")?;
        if *self == Prot::NONE {
            write!(f, "-")?;
        }
        Ok(())
    }
}

/// What a child task receives of a map entry at `fork` (`vm_inherit_t`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Inheritance {
    /// The child maps the same memory; writes are seen by both (`VM_INHERIT_SHARE`).
    Share,
    /// The child gets a copy-on-write copy (`VM_INHERIT_COPY`, the default).
    Copy,
    /// The child's map has a hole here (`VM_INHERIT_NONE`).
    None,
}

impl Inheritance {
    /// The name used in traces: `share`, `copy` or `none`.
    pub fn name(self) -> &'static str {
        match self {
            Inheritance::Share => "share",
            Inheritance::Copy => "copy",
            Inheritance::None => "none",
        }
    }
    /// Parses the trace name.
    pub fn parse(text: &str) -> Option<Inheritance> {
        match text {
            "share" => Some(Inheritance::Share),
            "copy" => Some(Inheritance::Copy),
            "none" => Some(Inheritance::None),
            _ => None,
        }
    }
}

/// How a task touches a page.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Read,
    Write,
    /// An instruction fetch: needs execute permission, and reads the page.
    ExecFetch,
}

impl Access {
    /// The permission this access needs.
    pub fn needs(self) -> Prot {
        match self {
            Access::Read => Prot::READ,
            Access::Write => Prot::WRITE,
            Access::ExecFetch => Prot::EXECUTE,
        }
    }
    /// Does this access change the page?
    pub fn is_write(self) -> bool {
        self == Access::Write
    }
}

/// The Mach `kern_return_t` codes the model returns.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub enum KernReturn {
    #[serde(rename = "KERN_SUCCESS")]
    Success,
    #[serde(rename = "KERN_INVALID_ADDRESS")]
    InvalidAddress,
    #[serde(rename = "KERN_PROTECTION_FAILURE")]
    ProtectionFailure,
    #[serde(rename = "KERN_NO_SPACE")]
    NoSpace,
    #[serde(rename = "KERN_INVALID_ARGUMENT")]
    InvalidArgument,
}

impl KernReturn {
    /// Every code, in report order.
    pub const ALL: [KernReturn; 5] = [
        KernReturn::Success,
        KernReturn::InvalidAddress,
        KernReturn::ProtectionFailure,
        KernReturn::NoSpace,
        KernReturn::InvalidArgument,
    ];

    /// The Mach name, e.g. `KERN_SUCCESS`.
    pub fn name(self) -> &'static str {
        match self {
            KernReturn::Success => "KERN_SUCCESS",
            KernReturn::InvalidAddress => "KERN_INVALID_ADDRESS",
            KernReturn::ProtectionFailure => "KERN_PROTECTION_FAILURE",
            KernReturn::NoSpace => "KERN_NO_SPACE",
            KernReturn::InvalidArgument => "KERN_INVALID_ARGUMENT",
        }
    }
    /// Parses a Mach name.
    pub fn parse(text: &str) -> Option<KernReturn> {
        KernReturn::ALL.into_iter().find(|k| k.name() == text)
    }
}

impl fmt::Display for KernReturn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
