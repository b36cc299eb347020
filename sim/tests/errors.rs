//! The Mach error semantics: every `kern_return_t` code (the table in
//! docs/trace-format.md) produced by some op, and the order in which
//! `vm_copy` checks its arguments (GNU Mach: source address, source
//! protection, alignment, destination address, destination protection). The
//! codes come from the generic layer, so every policy must give the same
//! ones.

use sim::KernReturn::{InvalidAddress, InvalidArgument, NoSpace, ProtectionFailure, Success};
use sim::{Inheritance, Op, PolicyKind, Prot, TaskId};

use crate::support::{P, Run};

/// Task 1 with pages 0x100..0x108 allocated (0x104.. read-only) and
/// 0x110..0x112, and task 2 with 0x200..0x204.
fn world(policy: PolicyKind) -> Run {
    let mut run = Run::new(policy);
    run.task(1);
    run.task(2);
    assert_eq!(run.alloc(1, 0x100, 8), Success);
    assert_eq!(run.protect(1, 0x104, 4, "r"), Success);
    assert_eq!(run.alloc(1, 0x110, 2), Success);
    assert_eq!(run.alloc(2, 0x200, 4), Success);
    run
}

fn every_policy(test: impl Fn(PolicyKind, &mut Run)) {
    for policy in PolicyKind::ALL {
        test(policy, &mut world(policy));
    }
}

/// Which codes can vm_allocate give? INVALID_ADDRESS outside the map,
/// NO_SPACE on an overlap; a zero size succeeds.
#[test]
fn vm_allocate_codes() {
    every_policy(|policy, run| {
        assert_eq!(run.alloc(1, 0, 1), InvalidAddress, "{policy}: page 0 is below the map");
        assert_eq!(run.alloc(1, 1 << 40, 1), InvalidAddress, "{policy}: above the map");
        assert_eq!(run.alloc(1, 0x107, 2), NoSpace, "{policy}: overlaps");
        assert_eq!(run.alloc(1, 0x300, 0), Success, "{policy}: size 0");
        let anywhere = Op::VmAllocate { task: TaskId(1), addr: None, size: 4 * P, anywhere: true };
        assert_eq!(run.op(anywhere), Success, "{policy}: anywhere");
        let huge = Op::VmAllocate { task: TaskId(1), addr: None, size: 1 << 47, anywhere: true };
        assert_eq!(run.op(huge), NoSpace, "{policy}: no room anywhere");
    });
}

/// vm_deallocate, vm_protect and vm_inherit over a hole: the manual's
/// INVALID_ADDRESS, and nothing changes.
#[test]
fn holes_are_invalid_addresses() {
    every_policy(|policy, run| {
        assert_eq!(run.dealloc(1, 0x106, 4), InvalidAddress, "{policy}");
        assert_eq!(run.protect(1, 0x106, 4, "r"), InvalidAddress, "{policy}");
        assert_eq!(run.inherit(1, 0x106, 4, Inheritance::Share), InvalidAddress, "{policy}");
        assert_eq!(run.read(1, 0x107, 1), Success, "{policy}: the range is still mapped");
        assert_eq!(run.dealloc(1, 0x106, 2), Success, "{policy}");
        assert_eq!(run.read(1, 0x106, 1), InvalidAddress, "{policy}: now a segv");
    });
}

/// vm_protect above the maximum is a PROTECTION_FAILURE; lowering the
/// maximum lowers the current protection with it.
#[test]
fn vm_protect_and_the_maximum() {
    every_policy(|policy, run| {
        let set_max = |prot: &str| Op::VmProtect {
            task: TaskId(1),
            addr: 0x100 * P,
            size: 2 * P,
            prot: Prot::parse(prot).unwrap(),
            set_max: true,
        };
        assert_eq!(run.op(set_max("r")), Success, "{policy}");
        assert_eq!(run.write(1, 0x100, 1), ProtectionFailure, "{policy}: current lowered to r");
        assert_eq!(run.protect(1, 0x100, 2, "rw"), ProtectionFailure, "{policy}: above the maximum");
        assert_eq!(run.protect(1, 0x100, 2, "r"), Success, "{policy}");
        assert_eq!(run.read(1, 0x100, 2), Success, "{policy}");
    });
}

/// Accesses: no mapping is a segv (INVALID_ADDRESS), a forbidden access a
/// PROTECTION_FAILURE; both are counted as faults and stop the access.
#[test]
fn access_failures_are_results() {
    every_policy(|policy, run| {
        assert_eq!(run.read(1, 0x108, 1), InvalidAddress, "{policy}");
        assert_eq!(run.write(1, 0x104, 1), ProtectionFailure, "{policy}");
        assert_eq!(run.write(1, 0x102, 4), ProtectionFailure, "{policy}: stops at 0x104");
        let r = run.report();
        assert_eq!((r.faults.segv, r.faults.protection), (1, 2), "{policy}");
        assert_eq!(r.accesses, 2, "{policy}: 0x102 and 0x103 were written before the stop");
    });
}

/// vm_copy's checks, one code each, in GNU Mach's order.
#[test]
fn vm_copy_check_order() {
    every_policy(|policy, run| {
        let copy =
            |run: &mut Run, src: u64, size: u64, dst: u64| run.op(Op::VmCopy { task: TaskId(1), src, size, dst });
        // Count 0 succeeds before anything is looked at.
        assert_eq!(copy(run, 0xdead, 0, 0xbeef), Success, "{policy}");
        // Source first: unallocated beats misaligned.
        assert_eq!(copy(run, 0x900 * P + 8, P, 0x100 * P + 3), InvalidAddress, "{policy}");
        // A readable, allocated source, then alignment: src, count and dst.
        assert_eq!(copy(run, 0x100 * P + 8, P, 0x101 * P), InvalidArgument, "{policy}: src");
        assert_eq!(copy(run, 0x100 * P, P + 8, 0x102 * P), InvalidArgument, "{policy}: count");
        assert_eq!(copy(run, 0x100 * P, P, 0x101 * P + 8), InvalidArgument, "{policy}: dst");
        // Alignment beats a bad destination.
        assert_eq!(copy(run, 0x100 * P, P + 8, 0x900 * P), InvalidArgument, "{policy}");
        // Then the destination: a hole, then write permission.
        assert_eq!(copy(run, 0x100 * P, 2 * P, 0x111 * P), InvalidAddress, "{policy}: runs past");
        assert_eq!(copy(run, 0x100 * P, P, 0x105 * P), ProtectionFailure, "{policy}: read-only dst");
        // An unreadable source is a protection failure, checked before the
        // destination.
        assert_eq!(run.protect(1, 0x100, 1, ""), Success);
        assert_eq!(copy(run, 0x100 * P, P, 0x900 * P), ProtectionFailure, "{policy}");
        // The source is walked in address order: the first problem wins.
        assert_eq!(copy(run, 0x100 * P, 0x10 * P, 0x200 * P), ProtectionFailure, "{policy}: before the hole");
        assert_eq!(copy(run, 0x101 * P, 0x10 * P, 0x200 * P), InvalidAddress, "{policy}: hole first");
        // A good copy.
        assert_eq!(copy(run, 0x101 * P, 2 * P, 0x102 * P), Success, "{policy}");
    });
}

/// vm_move's checks, in order: a zero size, a source mapped throughout
/// (protection does not matter: the memory moves, nothing is read),
/// alignment, ranges that overlap, then a legal and free destination.
#[test]
fn vm_move_check_order() {
    every_policy(|policy, run| {
        let mv = |run: &mut Run, src: u64, size: u64, dst: u64| run.op(Op::VmMove { task: TaskId(1), src, size, dst });
        assert_eq!(mv(run, 0xdead, 0, 0xbeef), Success, "{policy}: size 0");
        assert_eq!(mv(run, 0x100 * P + 8, P, 0x900 * P), InvalidArgument, "{policy}: src");
        assert_eq!(mv(run, 0x100 * P, P + 8, 0x900 * P), InvalidArgument, "{policy}: size");
        assert_eq!(mv(run, 0x100 * P, P, 0x900 * P + 8), InvalidArgument, "{policy}: dst");
        assert_eq!(mv(run, 0x107 * P, 4 * P, 0x900 * P), InvalidAddress, "{policy}: a hole in the source");
        assert_eq!(mv(run, 0x107 * P, 4 * P, 0x900 * P + 8), InvalidAddress, "{policy}: the source first");
        assert_eq!(mv(run, 0x100 * P, 4 * P, 0x102 * P), InvalidArgument, "{policy}: overlap above");
        assert_eq!(mv(run, 0x102 * P, 4 * P, 0x100 * P), InvalidArgument, "{policy}: overlap below");
        assert_eq!(mv(run, 0x100 * P, 2 * P, 0x111 * P), NoSpace, "{policy}: the destination is in use");
        assert_eq!(mv(run, 0x100 * P, 2 * P, 0x10f * P), NoSpace, "{policy}: partly in use");
        let past_the_map = sim::Config::default().map_max;
        assert_eq!(mv(run, 0x100 * P, 2 * P, past_the_map), InvalidAddress, "{policy}: past the map");
        // Read-only memory moves too, and keeps its protection.
        assert_eq!(mv(run, 0x104 * P, 4 * P, 0x900 * P), Success, "{policy}");
        assert_eq!(run.entry(1, 0x900).protection, Prot::parse("r").unwrap(), "{policy}");
    });
}

/// vm_read and vm_write between tasks: their codes, including NO_SPACE for
/// a vm_read with no room in the caller.
#[test]
fn vm_read_and_vm_write_codes() {
    every_policy(|policy, run| {
        let read = |run: &mut Run, addr: u64, size: u64, dst: Option<u64>| {
            run.op(Op::VmRead { task: TaskId(1), addr, size, caller: TaskId(2), dst })
        };
        let write = |run: &mut Run, addr: u64, size: u64, src: u64| {
            run.op(Op::VmWrite { task: TaskId(1), addr, size, caller: TaskId(2), src })
        };
        assert_eq!(read(run, 0x100 * P + 8, P, None), InvalidArgument, "{policy}");
        assert_eq!(read(run, 0x900 * P, P, None), InvalidAddress, "{policy}");
        assert_eq!(read(run, 0x100 * P, P, Some(0x200 * P)), NoSpace, "{policy}: caller has memory there");
        assert_eq!(read(run, 0x100 * P, 2 * P, Some(0x300 * P)), Success, "{policy}");
        assert_eq!(read(run, 0x100 * P, P, None), Success, "{policy}: anywhere");
        assert_eq!(write(run, 0x100 * P, P + 8, 0x200 * P), InvalidArgument, "{policy}");
        assert_eq!(write(run, 0x104 * P, P, 0x200 * P), ProtectionFailure, "{policy}: target read-only");
        assert_eq!(write(run, 0x100 * P, P, 0x900 * P), InvalidAddress, "{policy}: caller's source");
        assert_eq!(write(run, 0x108 * P, P, 0x200 * P), InvalidAddress, "{policy}: target hole");
        assert_eq!(run.protect(2, 0x200, 1, "w"), Success);
        assert_eq!(write(run, 0x100 * P, P, 0x200 * P), ProtectionFailure, "{policy}: unreadable source");
        assert_eq!(write(run, 0x100 * P, P, 0x201 * P), Success, "{policy}");
    });
}

/// vm_map: an unaligned file offset is INVALID_ARGUMENT; placement as for
/// vm_allocate.
#[test]
fn vm_map_codes() {
    every_policy(|policy, run| {
        let map = |run: &mut Run, page: u64, offset: u64| {
            run.op(Op::VmMap {
                task: TaskId(1),
                addr: Some(page * P),
                size: 2 * P,
                anywhere: false,
                file: "libc.so.6".into(),
                offset,
                private: true,
                prot: Prot::parse("rx").unwrap(),
            })
        };
        assert_eq!(map(run, 0x400, 100), InvalidArgument, "{policy}");
        assert_eq!(map(run, 0x107, 0), NoSpace, "{policy}");
        assert_eq!(map(run, 1 << 40, 0), InvalidAddress, "{policy}");
        assert_eq!(map(run, 0x400, P), Success, "{policy}");
    });
}

/// Bad input is an error, not a code: an op on a task that does not exist,
/// or a fork onto a task id in use.
#[test]
fn unknown_tasks_are_bad_input() {
    let mut run = world(PolicyKind::GnuMach);
    let unknown = run.sim.apply(&Op::Exit { task: TaskId(9) }).unwrap_err();
    assert!(unknown.is_bad_input());
    assert_eq!(unknown.to_string(), "unknown task 9 (never created, or already exited)");
    let taken = run.sim.apply(&Op::Fork { parent: TaskId(1), child: TaskId(2) }).unwrap_err();
    assert_eq!(taken.to_string(), "task 2 already exists");
}
