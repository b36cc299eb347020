use sim::PolicyKind;

use crate::support::Run;

/// After a fork and a child write, what does the chain look like?
#[test]
fn fork_then_child_write() {
    let mut run = Run::new(PolicyKind::GnuMach);
    run.task(1);
    run.alloc(1, 0x100, 4);
    run.write_value(1, 0x100, 4, 7);
    run.fork(1, 2);
    run.write_value(2, 0x100, 1, 9);
    run.read_expect(1, 0x100, 4, 7);
    run.read_expect(2, 0x101, 3, 7);
    run.read_expect(2, 0x100, 1, 9);
    assert_eq!(run.chain(2, 0x100), 2);
    assert_eq!(run.chain(1, 0x100), 1);
    let r = run.report();
    assert_eq!(r.objects.created, 2);
    assert_eq!(r.faults.cow_copy, 1);
    assert_eq!(r.work.shadows_created, 1);
}
