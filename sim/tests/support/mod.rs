//! A small driver for scenario tests: one method per trace op, addresses in
//! pages (`P` bytes each), every op run with the invariant checker on.

#![allow(dead_code)]

use sim::op::AccessOp;
use sim::report::Report;
use sim::view::MapEntryView;
use sim::{Access, Config, Inheritance, KernReturn, Op, PolicyKind, Prot, Sim, TaskId};

/// The page size the scenarios use.
pub const P: u64 = 4096;

pub struct Run {
    pub sim: Sim,
}

impl Run {
    pub fn new(policy: PolicyKind) -> Run {
        Run { sim: Sim::new(policy, Config::default().check_invariants(true).sample_every(1)) }
    }

    /// Applies an op that must not be bad input; returns its code.
    pub fn op(&mut self, op: Op) -> KernReturn {
        match self.sim.apply(&op) {
            Ok(code) => code,
            Err(e) => panic!("{op:?} failed under {}: {e}", self.sim.policy_name()),
        }
    }

    pub fn task(&mut self, t: u32) -> KernReturn {
        self.op(Op::TaskCreate { task: TaskId(t) })
    }
    pub fn alloc(&mut self, t: u32, page: u64, pages: u64) -> KernReturn {
        self.op(Op::VmAllocate { task: TaskId(t), addr: Some(page * P), size: pages * P, anywhere: false })
    }
    pub fn dealloc(&mut self, t: u32, page: u64, pages: u64) -> KernReturn {
        self.op(Op::VmDeallocate { task: TaskId(t), addr: page * P, size: pages * P })
    }
    fn access(
        &mut self,
        t: u32,
        access: Access,
        page: u64,
        pages: u64,
        value: Option<u64>,
        expect: Option<u64>,
    ) -> KernReturn {
        self.op(Op::Access(AccessOp {
            task: TaskId(t),
            access,
            addr: page * P,
            len: pages * P,
            value,
            expect_value: expect,
            recorded: None,
        }))
    }
    pub fn write(&mut self, t: u32, page: u64, pages: u64) -> KernReturn {
        self.access(t, Access::Write, page, pages, None, None)
    }
    pub fn write_value(&mut self, t: u32, page: u64, pages: u64, value: u64) -> KernReturn {
        self.access(t, Access::Write, page, pages, Some(value), None)
    }
    pub fn read(&mut self, t: u32, page: u64, pages: u64) -> KernReturn {
        self.access(t, Access::Read, page, pages, None, None)
    }
    /// Reads and requires every page to hold `value`.
    pub fn read_expect(&mut self, t: u32, page: u64, pages: u64, value: u64) -> KernReturn {
        self.access(t, Access::Read, page, pages, None, Some(value))
    }
    pub fn fork(&mut self, parent: u32, child: u32) -> KernReturn {
        self.op(Op::Fork { parent: TaskId(parent), child: TaskId(child) })
    }
    pub fn exit(&mut self, t: u32) -> KernReturn {
        self.op(Op::Exit { task: TaskId(t) })
    }
    pub fn copy(&mut self, t: u32, src: u64, pages: u64, dst: u64) -> KernReturn {
        self.op(Op::VmCopy { task: TaskId(t), src: src * P, size: pages * P, dst: dst * P })
    }
    pub fn protect(&mut self, t: u32, page: u64, pages: u64, prot: &str) -> KernReturn {
        let prot = Prot::parse(prot).expect("test prot");
        self.op(Op::VmProtect { task: TaskId(t), addr: page * P, size: pages * P, prot, set_max: false })
    }
    /// `vm_map` of `pages` pages of `file`, from its first page, at `page`,
    /// read-write, private (copy-on-write) or shared. Must succeed.
    pub fn map_file(&mut self, t: u32, page: u64, pages: u64, file: &str, private: bool) {
        let op = Op::VmMap {
            task: TaskId(t),
            addr: Some(page * P),
            size: pages * P,
            anywhere: false,
            file: file.to_string(),
            offset: 0,
            private,
            prot: Prot::DEFAULT,
        };
        assert_eq!(self.op(op), KernReturn::Success);
    }
    pub fn inherit(&mut self, t: u32, page: u64, pages: u64, inherit: Inheritance) -> KernReturn {
        self.op(Op::VmInherit { task: TaskId(t), addr: page * P, size: pages * P, inherit })
    }

    /// The chain length of the entry that maps `page` in task `t`.
    pub fn chain(&self, t: u32, page: u64) -> u32 {
        let view = self.sim.view();
        let entry = view.entry(TaskId(t), sim::Vpn(page)).expect("no entry");
        view.chain(entry.object).count() as u32
    }

    /// The entry that maps `page` in task `t`.
    pub fn entry(&self, t: u32, page: u64) -> MapEntryView {
        self.sim.view().entry(TaskId(t), sim::Vpn(page)).expect("no entry")
    }

    /// How many object slots hold the page task `t` maps at `page`: UVM's
    /// `an_ref`, or a Linux or Plan 9 page's count.
    pub fn page_holders(&self, t: u32, page: u64) -> u32 {
        let view = self.sim.view();
        let entry = self.entry(t, page);
        let object = view.object(entry.object).expect("a live object");
        let held = object.page_at(entry.object_page(sim::Vpn(page))).expect("no page in the slot");
        view.page(held).expect("a live page").holders
    }

    pub fn report(&mut self) -> Report {
        self.sim.finish("scenario")
    }
}
