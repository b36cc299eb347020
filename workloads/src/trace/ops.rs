//! The op table: every op a trace can hold, with the fields it takes, how
//! a parsed line builds it and how the writer writes it. The parser, the
//! writer, the "did you mean" hints and the documentation test all read
//! this table, so an op is described once.
//!
//! **Adding an op** touches three places: the model (its variant in
//! `sim::op::Op`, its name in `Op::name`, what it does), this file, and the
//! narrator (`analysis/src/narrate.rs`). Here it needs an entry (a const
//! with its fields, a build and a write function), its place in [`OPS`] and
//! its arm in [`spec_of`]. `spec_of` matches every `Op` variant with no
//! catch-all arm, so the crate does not compile until the new variant has
//! an entry; the tests below then fail until the entry has a sample that
//! reads back as written, and `workloads/tests/docs.rs` fails until
//! docs/trace-format.md documents the op and each of its fields.

use sim::op::{AccessOp, Op};
use sim::types::{Access, Prot};

use super::errors::ParseProblem;
use super::parse::Line;
use super::writer::ObjectWriter;

/// One op of the format.
#[derive(Debug)]
pub struct OpSpec {
    /// The op's name in a trace (`"vm_copy"`): the `Op::name` of every op
    /// this entry builds.
    pub name: &'static str,
    /// The fields it takes besides `"op"` and `"expect"`, in the order the
    /// writer writes them and docs/trace-format.md lists them.
    pub fields: &'static [FieldSpec],
    /// Builds the op from a line whose keys are all among `fields`; the
    /// second argument is `name`, for messages.
    build_op: fn(&Line<'_>, &str) -> Result<Op, ParseProblem>,
    /// Writes the fields of an op that [`spec_of`] gives this entry for.
    /// (Given another op it writes nothing, and the tests at the end of
    /// this file fail.)
    write_fields: fn(&Op, &mut ObjectWriter<'_>),
}

impl OpSpec {
    /// The names of [`OpSpec::fields`], in order.
    pub fn field_names(&self) -> impl Iterator<Item = &'static str> + use<> {
        let fields: &'static [FieldSpec] = self.fields;
        fields.iter().map(|field| field.name)
    }

    /// The field called `name`, if this op takes it.
    pub fn field(&self, name: &str) -> Option<&'static FieldSpec> {
        let fields: &'static [FieldSpec] = self.fields;
        fields.iter().find(|field| field.name == name)
    }

    /// Does this op take a field called `key`? (`"op"` and `"expect"` are
    /// not fields of any op.)
    pub fn takes(&self, key: &str) -> bool {
        self.fields.iter().any(|field| field.name == key)
    }

    /// The op a line of this entry holds.
    pub(super) fn build(&self, line: &Line<'_>) -> Result<Op, ParseProblem> {
        (self.build_op)(line, self.name)
    }

    /// Writes the fields of `op`, which must be an op of this entry.
    pub(super) fn write(&self, op: &Op, line: &mut ObjectWriter<'_>) {
        (self.write_fields)(op, line);
    }
}

/// One field an op takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    /// The key, `"addr"`.
    pub name: &'static str,
    /// What its value holds.
    pub kind: FieldKind,
    /// Whether a line without it is an error. (`vm_allocate` needs `addr`
    /// or `anywhere`: neither alone is required, its builder checks the
    /// pair.)
    pub required: bool,
}

/// What a field's value holds; the writer writes each kind its own way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// A task id, 32 bits; written as a JSON integer.
    Task,
    /// An address or file offset in bytes; written in hex (`"0x100000"`).
    Address,
    /// A size or length in bytes; written with a size suffix (`"64K"`).
    Size,
    /// A page token (`value`, `expect_value`); written in hex.
    Token,
    /// `true` or `false`.
    Flag,
    /// A protection such as `"rw"`.
    Protection,
    /// `"share"`, `"copy"` or `"none"`.
    Inheritance,
    /// What a real page fault found: `"not_present"` or `"present"`.
    RecordedFault,
    /// Any string: a file name, a label.
    Text,
    /// Runs of pages as a string, `"0+3,10+2"`: each run's first page
    /// (counted from the op's `addr`) and its length, in order; `""` for
    /// none.
    PageRuns,
}

impl FieldKind {
    /// The field's type as the field tables of docs/trace-format.md name
    /// it (their "type" column).
    pub fn type_name(self) -> &'static str {
        match self {
            FieldKind::Task => "task id",
            FieldKind::Address | FieldKind::Size | FieldKind::Token => "number",
            FieldKind::Flag => "flag",
            FieldKind::Protection => "protection",
            FieldKind::Inheritance => "inheritance",
            FieldKind::RecordedFault => "not_present / present",
            FieldKind::Text => "string",
            FieldKind::PageRuns => "page runs",
        }
    }

    /// What a number counts (the "unit" column): `"bytes"`, `"token"`,
    /// `"id"`, or `""` for a value that is not a number.
    pub fn unit(self) -> &'static str {
        match self {
            FieldKind::Task => "id",
            FieldKind::Address | FieldKind::Size => "bytes",
            FieldKind::Token => "token",
            FieldKind::PageRuns => "pages",
            FieldKind::Flag
            | FieldKind::Protection
            | FieldKind::Inheritance
            | FieldKind::RecordedFault
            | FieldKind::Text => "",
        }
    }
}

/// A field every line of its op must have.
const fn required(name: &'static str, kind: FieldKind) -> FieldSpec {
    FieldSpec { name, kind, required: true }
}

/// A field a line may leave out.
const fn optional(name: &'static str, kind: FieldKind) -> FieldSpec {
    FieldSpec { name, kind, required: false }
}

/// Every op, in the order docs/trace-format.md lists them.
pub const OPS: &[OpSpec] = &[
    TASK_CREATE,
    FORK,
    EXEC,
    EXIT,
    VM_ALLOCATE,
    VM_DEALLOCATE,
    VM_PROTECT,
    VM_INHERIT,
    VM_READ,
    VM_WRITE,
    VM_COPY,
    VM_MOVE,
    VM_MAP,
    READ,
    WRITE,
    EXEC_FETCH,
    MARK,
    RESIDENT,
    PAGE_CACHE,
    FILE_READ,
];

/// The names of [`OPS`], in the same order.
pub const OP_NAMES: [&str; OPS.len()] = {
    let mut names = [""; OPS.len()];
    let mut index = 0;
    while index < OPS.len() {
        names[index] = OPS[index].name;
        index += 1;
    }
    names
};

/// The entry of the op called `name`; `None` for a name that is not an op.
/// (A scan of sixteen names: as fast as a `match` on the parser's path.)
pub fn op_spec(name: &str) -> Option<&'static OpSpec> {
    OPS.iter().find(|spec| spec.name == name)
}

/// The names of the fields the op called `op_name` takes besides `"op"`
/// and `"expect"`, in the order the writer writes them; `None` for a name
/// that is not an op.
pub fn field_names(op_name: &str) -> Option<impl Iterator<Item = &'static str>> {
    op_spec(op_name).map(OpSpec::field_names)
}

/// The entry that writes `op`. Every variant of `Op` has its arm and there
/// is no catch-all, so a new variant does not compile until it has an entry.
pub fn spec_of(op: &Op) -> &'static OpSpec {
    match op {
        Op::TaskCreate { .. } => &TASK_CREATE,
        Op::Fork { .. } => &FORK,
        Op::Exec { .. } => &EXEC,
        Op::Exit { .. } => &EXIT,
        Op::VmAllocate { .. } => &VM_ALLOCATE,
        Op::VmDeallocate { .. } => &VM_DEALLOCATE,
        Op::VmProtect { .. } => &VM_PROTECT,
        Op::VmInherit { .. } => &VM_INHERIT,
        Op::VmRead { .. } => &VM_READ,
        Op::VmWrite { .. } => &VM_WRITE,
        Op::VmCopy { .. } => &VM_COPY,
        Op::VmMove { .. } => &VM_MOVE,
        Op::Resident { .. } => &RESIDENT,
        Op::PageCache { .. } => &PAGE_CACHE,
        Op::FileRead { .. } => &FILE_READ,
        Op::VmMap { .. } => &VM_MAP,
        Op::Access(access) => match access.access {
            Access::Read => &READ,
            Access::Write => &WRITE,
            Access::ExecFetch => &EXEC_FETCH,
        },
        Op::Mark { .. } => &MARK,
    }
}

// ---------------------------------------------------------------------------
// The entries, in table order, each with its builder and writer
// ---------------------------------------------------------------------------

const TASK_CREATE: OpSpec = OpSpec {
    name: "task_create",
    fields: &[required("task", FieldKind::Task)],
    build_op: |line, name| Ok(Op::TaskCreate { task: line.task("task", name)? }),
    write_fields: write_lone_task,
};

const FORK: OpSpec = OpSpec {
    name: "fork",
    fields: &[required("parent", FieldKind::Task), required("child", FieldKind::Task)],
    build_op: |line, name| Ok(Op::Fork { parent: line.task("parent", name)?, child: line.task("child", name)? }),
    write_fields: write_fork,
};

fn write_fork(op: &Op, line: &mut ObjectWriter) {
    let Op::Fork { parent, child } = op else { return };
    line.task("parent", *parent);
    line.task("child", *child);
}

const EXEC: OpSpec = OpSpec {
    name: "exec",
    fields: &[required("task", FieldKind::Task)],
    build_op: |line, name| Ok(Op::Exec { task: line.task("task", name)? }),
    write_fields: write_lone_task,
};

const EXIT: OpSpec = OpSpec {
    name: "exit",
    fields: &[required("task", FieldKind::Task)],
    build_op: |line, name| Ok(Op::Exit { task: line.task("task", name)? }),
    write_fields: write_lone_task,
};

/// The writer of the ops whose one field is `task`.
fn write_lone_task(op: &Op, line: &mut ObjectWriter) {
    let (Op::TaskCreate { task } | Op::Exec { task } | Op::Exit { task }) = op else { return };
    line.task("task", *task);
}

const VM_ALLOCATE: OpSpec = OpSpec {
    name: "vm_allocate",
    fields: &[
        required("task", FieldKind::Task),
        optional("addr", FieldKind::Address),
        required("size", FieldKind::Size),
        optional("anywhere", FieldKind::Flag),
    ],
    build_op: build_vm_allocate,
    write_fields: write_vm_allocate,
};

/// `vm_allocate` needs an address, or `"anywhere":true`, or both (then the
/// address is where the first-fit search starts).
fn build_vm_allocate(line: &Line, name: &str) -> Result<Op, ParseProblem> {
    let task = line.task("task", name)?;
    let addr = line.optional_number("addr")?;
    let size = line.number("size", name)?;
    let anywhere = line.optional_flag("anywhere")?.unwrap_or(false);
    if addr.is_none() && !anywhere {
        return Err(ParseProblem { column: 1, message: "vm_allocate needs \"addr\" or \"anywhere\":true".to_owned() });
    }
    Ok(Op::VmAllocate { task, addr, size, anywhere })
}

fn write_vm_allocate(op: &Op, line: &mut ObjectWriter) {
    let Op::VmAllocate { task, addr, size, anywhere } = op else { return };
    line.task("task", *task);
    line.optional_address("addr", *addr);
    line.size("size", *size);
    line.flag_if_true("anywhere", *anywhere);
}

const VM_DEALLOCATE: OpSpec = OpSpec {
    name: "vm_deallocate",
    fields: &[
        required("task", FieldKind::Task),
        required("addr", FieldKind::Address),
        required("size", FieldKind::Size),
    ],
    build_op: |line, name| {
        Ok(Op::VmDeallocate {
            task: line.task("task", name)?,
            addr: line.number("addr", name)?,
            size: line.number("size", name)?,
        })
    },
    write_fields: write_vm_deallocate,
};

fn write_vm_deallocate(op: &Op, line: &mut ObjectWriter) {
    let Op::VmDeallocate { task, addr, size } = op else { return };
    line.task("task", *task);
    line.address("addr", *addr);
    line.size("size", *size);
}

const VM_PROTECT: OpSpec = OpSpec {
    name: "vm_protect",
    fields: &[
        required("task", FieldKind::Task),
        required("addr", FieldKind::Address),
        required("size", FieldKind::Size),
        required("prot", FieldKind::Protection),
        optional("set_max", FieldKind::Flag),
    ],
    build_op: |line, name| {
        Ok(Op::VmProtect {
            task: line.task("task", name)?,
            addr: line.number("addr", name)?,
            size: line.number("size", name)?,
            prot: line.prot("prot", name)?,
            set_max: line.optional_flag("set_max")?.unwrap_or(false),
        })
    },
    write_fields: write_vm_protect,
};

fn write_vm_protect(op: &Op, line: &mut ObjectWriter) {
    let Op::VmProtect { task, addr, size, prot, set_max } = op else { return };
    line.task("task", *task);
    line.address("addr", *addr);
    line.size("size", *size);
    line.string("prot", &prot.to_string());
    line.flag_if_true("set_max", *set_max);
}

const VM_INHERIT: OpSpec = OpSpec {
    name: "vm_inherit",
    fields: &[
        required("task", FieldKind::Task),
        required("addr", FieldKind::Address),
        required("size", FieldKind::Size),
        required("inherit", FieldKind::Inheritance),
    ],
    build_op: |line, name| {
        Ok(Op::VmInherit {
            task: line.task("task", name)?,
            addr: line.number("addr", name)?,
            size: line.number("size", name)?,
            inherit: line.inheritance("inherit", name)?,
        })
    },
    write_fields: write_vm_inherit,
};

fn write_vm_inherit(op: &Op, line: &mut ObjectWriter) {
    let Op::VmInherit { task, addr, size, inherit } = op else { return };
    line.task("task", *task);
    line.address("addr", *addr);
    line.size("size", *size);
    line.string("inherit", inherit.name());
}

const VM_READ: OpSpec = OpSpec {
    name: "vm_read",
    fields: &[
        required("task", FieldKind::Task),
        required("addr", FieldKind::Address),
        required("size", FieldKind::Size),
        required("caller", FieldKind::Task),
        optional("dst", FieldKind::Address),
    ],
    build_op: |line, name| {
        Ok(Op::VmRead {
            task: line.task("task", name)?,
            addr: line.number("addr", name)?,
            size: line.number("size", name)?,
            caller: line.task("caller", name)?,
            dst: line.optional_number("dst")?,
        })
    },
    write_fields: write_vm_read,
};

fn write_vm_read(op: &Op, line: &mut ObjectWriter) {
    let Op::VmRead { task, addr, size, caller, dst } = op else { return };
    line.task("task", *task);
    line.address("addr", *addr);
    line.size("size", *size);
    line.task("caller", *caller);
    line.optional_address("dst", *dst);
}

const VM_WRITE: OpSpec = OpSpec {
    name: "vm_write",
    fields: &[
        required("task", FieldKind::Task),
        required("addr", FieldKind::Address),
        required("size", FieldKind::Size),
        required("caller", FieldKind::Task),
        required("src", FieldKind::Address),
    ],
    build_op: |line, name| {
        Ok(Op::VmWrite {
            task: line.task("task", name)?,
            addr: line.number("addr", name)?,
            size: line.number("size", name)?,
            caller: line.task("caller", name)?,
            src: line.number("src", name)?,
        })
    },
    write_fields: write_vm_write,
};

fn write_vm_write(op: &Op, line: &mut ObjectWriter) {
    let Op::VmWrite { task, addr, size, caller, src } = op else { return };
    line.task("task", *task);
    line.address("addr", *addr);
    line.size("size", *size);
    line.task("caller", *caller);
    line.address("src", *src);
}

/// The fields of an op that takes a range of one task somewhere else in
/// it: `vm_copy` and `vm_move`.
const TASK_SRC_SIZE_DST: &[FieldSpec] = &[
    required("task", FieldKind::Task),
    required("src", FieldKind::Address),
    required("size", FieldKind::Size),
    required("dst", FieldKind::Address),
];

/// Writes the fields of [`TASK_SRC_SIZE_DST`].
fn write_task_src_size_dst(line: &mut ObjectWriter, task: sim::ids::TaskId, src: u64, size: u64, dst: u64) {
    line.task("task", task);
    line.address("src", src);
    line.size("size", size);
    line.address("dst", dst);
}

const VM_COPY: OpSpec = OpSpec {
    name: "vm_copy",
    fields: TASK_SRC_SIZE_DST,
    build_op: |line, name| {
        Ok(Op::VmCopy {
            task: line.task("task", name)?,
            src: line.number("src", name)?,
            size: line.number("size", name)?,
            dst: line.number("dst", name)?,
        })
    },
    write_fields: write_vm_copy,
};

fn write_vm_copy(op: &Op, line: &mut ObjectWriter) {
    let Op::VmCopy { task, src, size, dst } = op else { return };
    write_task_src_size_dst(line, *task, *src, *size, *dst);
}

const VM_MOVE: OpSpec = OpSpec {
    name: "vm_move",
    fields: TASK_SRC_SIZE_DST,
    build_op: |line, name| {
        Ok(Op::VmMove {
            task: line.task("task", name)?,
            src: line.number("src", name)?,
            size: line.number("size", name)?,
            dst: line.number("dst", name)?,
        })
    },
    write_fields: write_vm_move,
};

fn write_vm_move(op: &Op, line: &mut ObjectWriter) {
    let Op::VmMove { task, src, size, dst } = op else { return };
    write_task_src_size_dst(line, *task, *src, *size, *dst);
}

const VM_MAP: OpSpec = OpSpec {
    name: "vm_map",
    fields: &[
        required("task", FieldKind::Task),
        optional("addr", FieldKind::Address),
        required("size", FieldKind::Size),
        optional("anywhere", FieldKind::Flag),
        required("file", FieldKind::Text),
        optional("offset", FieldKind::Address),
        optional("private", FieldKind::Flag),
        optional("prot", FieldKind::Protection),
    ],
    build_op: build_vm_map,
    write_fields: write_vm_map,
};

/// The protection a `vm_map` line without `"prot"` maps with: read-only,
/// the safe choice for a file.
const DEFAULT_MAP_PROT: Prot = Prot::READ;

/// `vm_map`: without an address the mapping goes anywhere.
fn build_vm_map(line: &Line, name: &str) -> Result<Op, ParseProblem> {
    let task = line.task("task", name)?;
    let addr = line.optional_number("addr")?;
    let size = line.number("size", name)?;
    let anywhere = line.optional_flag("anywhere")?.unwrap_or(addr.is_none());
    if addr.is_none() && !anywhere {
        return Err(line.at_value(
            "anywhere",
            "vm_map without \"addr\" can only map anywhere; drop \"anywhere\":false".to_owned(),
        ));
    }
    let file = line.string("file", name)?;
    let offset = line.optional_number("offset")?.unwrap_or(0);
    let private = line.optional_flag("private")?.unwrap_or(true);
    let prot = match line.get("prot") {
        Some(_) => line.prot("prot", name)?,
        None => DEFAULT_MAP_PROT,
    };
    Ok(Op::VmMap { task, addr, size, anywhere, file, offset, private, prot })
}

/// `offset`, `private` and `prot` are written even at their defaults,
/// which are not obvious.
fn write_vm_map(op: &Op, line: &mut ObjectWriter) {
    let Op::VmMap { task, addr, size, anywhere, file, offset, private, prot } = op else { return };
    line.task("task", *task);
    line.optional_address("addr", *addr);
    line.size("size", *size);
    line.flag_if_true("anywhere", *anywhere);
    line.string("file", file);
    line.address("offset", *offset);
    line.boolean("private", *private);
    line.string("prot", &prot.to_string());
}

const READ: OpSpec = OpSpec {
    name: "read",
    fields: &[
        required("task", FieldKind::Task),
        required("addr", FieldKind::Address),
        required("len", FieldKind::Size),
        optional("expect_value", FieldKind::Token),
        optional("recorded", FieldKind::RecordedFault),
    ],
    build_op: |line, name| build_access(line, name, Access::Read),
    write_fields: write_access,
};

const WRITE: OpSpec = OpSpec {
    name: "write",
    fields: &[
        required("task", FieldKind::Task),
        required("addr", FieldKind::Address),
        required("len", FieldKind::Size),
        optional("value", FieldKind::Token),
        optional("recorded", FieldKind::RecordedFault),
    ],
    build_op: |line, name| build_access(line, name, Access::Write),
    write_fields: write_access,
};

const EXEC_FETCH: OpSpec = OpSpec {
    name: "exec_fetch",
    fields: &[
        required("task", FieldKind::Task),
        required("addr", FieldKind::Address),
        required("len", FieldKind::Size),
        optional("expect_value", FieldKind::Token),
        optional("recorded", FieldKind::RecordedFault),
    ],
    build_op: |line, name| build_access(line, name, Access::ExecFetch),
    write_fields: write_access,
};

/// `read`, `write` and `exec_fetch`. Only writes store a `value`; only
/// reads and fetches check an `expect_value` (their fields above say which
/// one a line may carry).
fn build_access(line: &Line, name: &str, access: Access) -> Result<Op, ParseProblem> {
    Ok(Op::Access(AccessOp {
        task: line.task("task", name)?,
        access,
        addr: line.number("addr", name)?,
        len: line.number("len", name)?,
        value: line.optional_number("value")?,
        expect_value: line.optional_number("expect_value")?,
        recorded: line.recorded("recorded")?,
    }))
}

/// Writes `value` and `expect_value` whatever the access: an in-memory op
/// may hold the one its access does not take, and `format_op` promises to
/// write it as it is (the reader then rejects the line).
fn write_access(op: &Op, line: &mut ObjectWriter) {
    let Op::Access(access) = op else { return };
    line.task("task", access.task);
    line.address("addr", access.addr);
    line.size("len", access.len);
    line.optional_address("value", access.value);
    line.optional_address("expect_value", access.expect_value);
    if let Some(recorded) = access.recorded {
        line.string("recorded", recorded.name());
    }
}

const MARK: OpSpec = OpSpec {
    name: "mark",
    fields: &[required("label", FieldKind::Text)],
    build_op: |line, name| Ok(Op::Mark { label: line.string("label", name)? }),
    write_fields: write_mark,
};

fn write_mark(op: &Op, line: &mut ObjectWriter) {
    let Op::Mark { label } = op else { return };
    line.string("label", label);
}

const RESIDENT: OpSpec = OpSpec {
    name: "resident",
    fields: &[
        required("task", FieldKind::Task),
        required("addr", FieldKind::Address),
        required("size", FieldKind::Size),
        required("present", FieldKind::PageRuns),
    ],
    build_op: |line, name| {
        Ok(Op::Resident {
            task: line.task("task", name)?,
            addr: line.number("addr", name)?,
            size: line.number("size", name)?,
            present: line.page_runs("present", name)?,
        })
    },
    write_fields: write_resident,
};

fn write_resident(op: &Op, line: &mut ObjectWriter) {
    let Op::Resident { task, addr, size, present } = op else { return };
    line.task("task", *task);
    line.address("addr", *addr);
    line.size("size", *size);
    line.string("present", &page_runs_text(present));
}

const PAGE_CACHE: OpSpec = OpSpec {
    name: "page_cache",
    fields: &[
        required("file", FieldKind::Text),
        required("size", FieldKind::Size),
        required("cached", FieldKind::PageRuns),
        optional("read_ahead", FieldKind::Size),
        optional("largest_folio", FieldKind::Size),
    ],
    build_op: |line, name| {
        Ok(Op::PageCache {
            file: line.string("file", name)?,
            size: line.number("size", name)?,
            cached: line.page_runs("cached", name)?,
            read_ahead: line.optional_number("read_ahead")?.unwrap_or(DEFAULT_READ_AHEAD),
            largest_folio: line.optional_number("largest_folio")?.unwrap_or(DEFAULT_LARGEST_FOLIO),
        })
    },
    write_fields: write_page_cache,
};

/// The readahead window of a `page_cache` line without `"read_ahead"`:
/// Linux's default `read_ahead_kb` of 128 (`VM_READAHEAD_PAGES`).
pub const DEFAULT_READ_AHEAD: u64 = 128 << 10;

/// The largest folio of a `page_cache` line without `"largest_folio"`: one
/// page, a file system without large folios.
pub const DEFAULT_LARGEST_FOLIO: u64 = 4096;

fn write_page_cache(op: &Op, line: &mut ObjectWriter) {
    let Op::PageCache { file, size, cached, read_ahead, largest_folio } = op else { return };
    line.string("file", file);
    line.size("size", *size);
    line.string("cached", &page_runs_text(cached));
    line.size("read_ahead", *read_ahead);
    line.size("largest_folio", *largest_folio);
}

const FILE_READ: OpSpec = OpSpec {
    name: "file_read",
    fields: &[
        optional("task", FieldKind::Task),
        required("file", FieldKind::Text),
        required("offset", FieldKind::Address),
        required("len", FieldKind::Size),
    ],
    build_op: |line, name| {
        Ok(Op::FileRead {
            task: line.optional_task("task")?,
            file: line.string("file", name)?,
            offset: line.number("offset", name)?,
            len: line.number("len", name)?,
        })
    },
    write_fields: write_file_read,
};

fn write_file_read(op: &Op, line: &mut ObjectWriter) {
    let Op::FileRead { task, file, offset, len } = op else { return };
    if let Some(task) = task {
        line.task("task", *task);
    }
    line.string("file", file);
    line.address("offset", *offset);
    line.size("len", *len);
}

/// `"0+3,10+2"`: the text of page runs (first page, count).
pub fn page_runs_text(runs: &[(u64, u64)]) -> String {
    let texts: Vec<String> = runs.iter().map(|(first, count)| format!("{first}+{count}")).collect();
    texts.join(",")
}

#[cfg(test)]
mod tests {
    use sim::ids::TaskId;
    use sim::op::{Recorded, TraceOp};
    use sim::types::Inheritance;

    use super::super::columns::member_spans;
    use super::super::numbers::parse_number_text;
    use super::super::{format_op, parse_line};
    use super::*;
    use crate::suggest::closest;

    /// One op per entry, in table order, with every optional field a line
    /// of it may carry set.
    fn samples() -> Vec<Op> {
        let (one, two) = (TaskId(1), TaskId(2));
        let access = |access, value, expect_value, recorded| {
            Op::Access(AccessOp { task: one, access, addr: 0x100000, len: 0x1800, value, expect_value, recorded })
        };
        vec![
            Op::TaskCreate { task: one },
            Op::Fork { parent: one, child: two },
            Op::Exec { task: one },
            Op::Exit { task: one },
            Op::VmAllocate { task: one, addr: Some(0x100000), size: 64 << 10, anywhere: true },
            Op::VmDeallocate { task: one, addr: 0x100000, size: 4096 },
            Op::VmProtect { task: one, addr: 0x100000, size: 4096, prot: Prot::READ, set_max: true },
            Op::VmInherit { task: one, addr: 0x100000, size: 4096, inherit: Inheritance::Share },
            Op::VmRead { task: one, addr: 0x100000, size: 8192, caller: two, dst: Some(0x300000) },
            Op::VmWrite { task: one, addr: 0x100000, size: 8192, caller: two, src: 0x300000 },
            Op::VmCopy { task: one, src: 0x100000, size: 8192, dst: 0x200000 },
            Op::VmMove { task: one, src: 0x100000, size: 8192, dst: 0x500000 },
            Op::VmMap {
                task: one,
                addr: Some(0x400000),
                size: 2 << 20,
                anywhere: true,
                file: "libc.so.6".to_owned(),
                offset: 0x1000,
                private: false,
                prot: Prot::ALL,
            },
            access(Access::Read, None, Some(5), Some(Recorded::Present)),
            access(Access::Write, Some(7), None, Some(Recorded::NotPresent)),
            access(Access::ExecFetch, None, Some(9), Some(Recorded::Present)),
            Op::Mark { label: "phase \"2\"".to_owned() },
            Op::Resident { task: one, addr: 0x100000, size: 64 << 10, present: vec![(0, 3), (10, 2)] },
            Op::PageCache {
                file: "lib.so".into(),
                size: 40_000,
                cached: vec![(0, 4), (8, 2)],
                read_ahead: 8 << 20,
                largest_folio: 2 << 20,
            },
            Op::FileRead { task: Some(one), file: "lib.so".into(), offset: 0, len: 832 },
        ]
    }

    #[test]
    fn names_are_unique() {
        for (index, name) in OP_NAMES.iter().enumerate() {
            assert!(!OP_NAMES[..index].contains(name), "{name} has two entries");
        }
    }

    /// The order is the documented one and the one `OP_NAMES` always had;
    /// moving an entry is a visible change.
    #[test]
    fn names_keep_their_order() {
        let expected = [
            "task_create",
            "fork",
            "exec",
            "exit",
            "vm_allocate",
            "vm_deallocate",
            "vm_protect",
            "vm_inherit",
            "vm_read",
            "vm_write",
            "vm_copy",
            "vm_move",
            "vm_map",
            "read",
            "write",
            "exec_fetch",
            "mark",
            "resident",
            "page_cache",
            "file_read",
        ];
        assert_eq!(OP_NAMES, expected);
    }

    /// Each entry is named like the ops it builds, is the entry `spec_of`
    /// gives for them, and reads back what it writes.
    #[test]
    fn every_entry_builds_and_writes_its_own_op() {
        let samples = samples();
        assert_eq!(samples.len(), OPS.len(), "one sample per entry, in table order");
        for (spec, op) in OPS.iter().zip(&samples) {
            assert_eq!(op.name(), spec.name, "the sample for {} is another op", spec.name);
            assert_eq!(spec_of(op).name, spec.name);
            assert_eq!(op_spec(spec.name).map(|found| found.name), Some(spec.name));
            let line = format_op(&TraceOp { op: op.clone(), expect: None });
            let parsed = parse_line(&line).unwrap_or_else(|problem| panic!("{line}: {problem}"));
            assert_eq!(parsed.op.name(), spec.name, "{line}");
            assert_eq!(&parsed.op, op, "{line}");
        }
    }

    /// Does `raw`, a value's text as the writer wrote it, look like a value
    /// of `kind`?
    fn written_as(kind: FieldKind, raw: &str) -> bool {
        let string = raw.len() >= 2 && raw.starts_with('"') && raw.ends_with('"');
        match kind {
            FieldKind::Task => raw.bytes().all(|byte| byte.is_ascii_digit()),
            FieldKind::Address | FieldKind::Token => string && raw.starts_with("\"0x"),
            FieldKind::Size => string && parse_number_text(&raw[1..raw.len() - 1]).is_ok(),
            FieldKind::Flag => raw == "true" || raw == "false",
            FieldKind::Protection
            | FieldKind::Inheritance
            | FieldKind::RecordedFault
            | FieldKind::Text
            | FieldKind::PageRuns => string,
        }
    }

    #[test]
    fn the_writer_writes_every_field_in_table_order_as_its_kind() {
        for (spec, op) in OPS.iter().zip(samples()) {
            let line = format_op(&TraceOp { op, expect: None });
            let spans = member_spans(&line);
            let keys: Vec<&str> = spans.iter().skip(1).map(|span| span.key.as_ref()).collect();
            assert_eq!(keys, spec.field_names().collect::<Vec<_>>(), "{line}");
            for (field, span) in spec.fields.iter().zip(spans.iter().skip(1)) {
                let raw = &line[span.value_start..span.value_end];
                assert!(written_as(field.kind, raw), "{line}: {} is not written as {:?}", field.name, field.kind);
            }
        }
    }

    /// Leaving out a field the table calls required is a "missing field"
    /// error; leaving out any other still parses.
    #[test]
    fn required_fields_are_the_ones_a_line_cannot_leave_out() {
        for (spec, op) in OPS.iter().zip(samples()) {
            let line = format_op(&TraceOp { op, expect: None });
            for span in member_spans(&line).iter().skip(1) {
                // From the comma before the key to the end of the value.
                let without = format!("{}{}", &line[..span.key_start - 1], &line[span.value_end..]);
                let field = spec.field(&span.key).unwrap_or_else(|| panic!("{line}: {} is not in the table", span.key));
                match parse_line(&without) {
                    Ok(_) => assert!(!field.required, "{without}: parses without required {}", field.name),
                    Err(problem) => {
                        assert!(field.required, "{without}: {}", problem.message);
                        let missing = format!("missing field {:?} for {}", field.name, spec.name);
                        assert_eq!(problem.message, missing);
                    }
                }
            }
        }
    }

    #[test]
    fn suggestions_catch_typos_only() {
        assert_eq!(closest("frok", OP_NAMES), Some("fork"));
        assert_eq!(closest("vm_alocate", OP_NAMES), Some("vm_allocate"));
        assert_eq!(closest("szie", ["task", "size"]), Some("size"));
        assert_eq!(closest("xyz", OP_NAMES), None);
        assert_eq!(closest("", OP_NAMES), None);
    }
}
