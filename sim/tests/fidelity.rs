//! Fidelity (see docs/fidelity.md): an access carrying a `recorded` real
//! fault is compared with what the simulator's pmap held just before it.
//! These tests pin the plumbing — event, counters, report — on situations
//! whose answer every policy shares because the generic layer decides it (a
//! fresh page, a page already written, an entry lowered by `vm_protect`).

use sim::op::{AccessOp, Recorded};
use sim::report::Fidelity;
use sim::{Access, Config, Op, PolicyKind, Sim, TaskId};

use crate::support::P;

fn recorded_access(access: Access, page: u64, recorded: Option<Recorded>) -> Op {
    Op::Access(AccessOp { task: TaskId(1), access, addr: page * P, len: P, value: None, expect_value: None, recorded })
}

/// The trace of the tests: every access carries `recorded` when `with` is
/// true, nothing otherwise.
fn trace(with: bool) -> Vec<Op> {
    let tag = |r: Recorded| with.then_some(r);
    let task = TaskId(1);
    let prot = |text| sim::Prot::parse(text).expect("test prot");
    vec![
        Op::TaskCreate { task },
        Op::VmAllocate { task, addr: Some(0x100 * P), size: 2 * P, anywhere: false },
        // First touch: no pmap entry anywhere, as on Linux. Agreed.
        recorded_access(Access::Write, 0x100, tag(Recorded::NotPresent)),
        // The page is mapped writable now: the simulator does not fault,
        // while the capture says it did (as after a reclaim on Linux).
        recorded_access(Access::Write, 0x100, tag(Recorded::Present)),
        // Lowered to read-only by vm_protect, raised again: the pmap keeps
        // the read-only entry, so a write finds an entry without the
        // permission. Agreed as `present`...
        Op::VmProtect { task, addr: 0x100 * P, size: P, prot: prot("r"), set_max: false },
        Op::VmProtect { task, addr: 0x100 * P, size: P, prot: prot("rw"), set_max: false },
        recorded_access(Access::Write, 0x100, tag(Recorded::Present)),
        // ...and a capture that claims no entry there is a class mismatch.
        Op::VmProtect { task, addr: 0x100 * P, size: P, prot: prot("r"), set_max: false },
        Op::VmProtect { task, addr: 0x100 * P, size: P, prot: prot("rw"), set_max: false },
        recorded_access(Access::Write, 0x100, tag(Recorded::NotPresent)),
        // A read of the other, untouched page: no entry. Agreed.
        recorded_access(Access::Read, 0x101, tag(Recorded::NotPresent)),
    ]
}

fn run(policy: PolicyKind, ops: &[Op]) -> sim::Report {
    let mut sim = Sim::new(policy, Config::default().check_invariants(true));
    for op in ops {
        sim.apply(op).expect("the trace is valid");
    }
    sim.finish("fidelity")
}

/// Does every policy count the recorded accesses into the four numbers the
/// report promises, with `agreement = agreed / recorded`?
#[test]
fn recorded_faults_are_classified_under_every_policy() {
    for policy in PolicyKind::ALL {
        let report = run(policy, &trace(true));
        let expected = Fidelity { recorded: 5, agreed: 3, not_faulted: 1, class_mismatch: 1, agreement: 3.0 / 5.0 };
        assert_eq!(report.fidelity, Some(expected), "under {policy}");
    }
}

/// Does carrying `recorded` leave the run itself alone (faults, pages,
/// digest), and is the report's `fidelity` key absent without it?
#[test]
fn recorded_is_only_an_observation() {
    for policy in PolicyKind::ALL {
        let with = run(policy, &trace(true));
        let without = run(policy, &trace(false));
        assert_eq!(without.fidelity, None, "under {policy}");
        assert_eq!(with.faults, without.faults, "under {policy}");
        assert_eq!(with.pages, without.pages, "under {policy}");
        assert_eq!(with.read_digest, without.read_digest, "under {policy}");
        let json = serde_json::to_value(&without).expect("a report serialises");
        assert!(json.get("fidelity").is_none(), "no recorded faults, no fidelity key");
        let json = serde_json::to_value(&with).expect("a report serialises");
        assert_eq!(json["fidelity"]["recorded"], 5);
        assert_eq!(json["fidelity"]["agreement"], 0.6);
    }
}

/// Is a `fidelity` event emitted once per recorded access, naming the page
/// and the simulator's finding, so narrations can show it?
#[test]
fn the_finding_is_an_event() {
    let mut sim = Sim::new(PolicyKind::GnuMach, Config::default());
    sim.keep_events(true);
    for op in &trace(true)[..3] {
        sim.apply(op).expect("the trace is valid");
    }
    let findings: Vec<_> = sim
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            sim::Event::Fidelity { vpn, recorded, found, .. } => Some((vpn.0, recorded, found)),
            _ => None,
        })
        .collect();
    assert_eq!(findings, [(0x100, Recorded::NotPresent, Some(Recorded::NotPresent))]);
}
