//! `linux-odf`: Linux with On-demand-fork, where fork shares the parent's
//! last-level page tables with the child instead of copying them.
//!
//! The design in plain words: a Linux fork spends most of its time in
//! `copy_pte_range`, copying (and write-protecting) one page-table entry
//! per present page: 262,144 of them for a parent with 1 GiB touched. Zhao,
//! Gong and Fonseca's On-demand-fork (EuroSys 2021) copies none. At fork
//! it points the child's middle-level entries (PMDs) at the parent's
//! last-level tables, counts one more reference on each table, and
//! write-protects the PMD entries on both sides, so that neither process
//! can change a shared table without faulting. The first fault that would
//! change a shared table — any write, or a fault that maps a new page —
//! copies that one table (512 entries, 2 MiB of address space) for the
//! faulting process, write-protecting the copied entries of
//! copy-on-write pages as fork would have, and then proceeds as an
//! ordinary Linux fault. When only one process still holds a table, its
//! fault takes the table over without copying.
//!
//! So every page fault, copy and reuse is the same as under `linux`; what
//! changes is *when* the page-table work is done and how much of it: a
//! fork costs one reference per table (`page_tables_shared`), and a table
//! is copied (`ptes_copied`, `page_table_pages`) only where a process
//! touches it afterwards. A child that execs or exits at once copies
//! nothing, which is the 65× faster fork the paper reports at 1 GiB.
//!
//! Here the pmaps stay exactly as under `linux` (the child's read-only
//! entries are in place, so its reads hit as they do through a shared
//! table); [`SharedTables`] remembers which tables each task still shares,
//! and the work counters follow the design.
//!
//! Simplified: sharing is per 2 MiB leaf of the task's page table, whatever
//! mapped it (On-demand-fork shares only tables of anonymous memory whose
//! VMAs cover them); an unmap or `vm_protect` inside a shared table does
//! not copy it (the paper's kernel does), so the next fault there copies
//! it instead; exit and exec drop a task's references without copying.
//!
//! Follows: Zhao, Gong, Fonseca, "On-demand-fork: A Microsecond Fork for
//! Memory-Intensive and Latency-Sensitive Applications", EuroSys 2021
//! (sections 3 and 4: sharing at fork, copying on the first write fault,
//! the reference count on a table); Linux `mm/memory.c` (`copy_pte_range`,
//! `copy_present_pte`) for what the copy of one table does.

use std::collections::BTreeMap;

use crate::event::WorkKind;
use crate::ids::{TaskId, Vpn};
use crate::policy::linux::{LINUX, with_settings};
use crate::policy::pagetable::{ForkMmu, PTES_PER_TABLE, PageTableRules, PageTables};
use crate::sim::Config;
use crate::world::World;

/// Linux's rules, with fork sharing page tables.
pub const LINUX_ODF: PageTableRules = PageTableRules { fork_mmu: ForkMmu::ShareTables, ..LINUX };

/// A fresh `linux-odf` policy under a run's settings (see `linux::linux`).
pub fn linux_odf(config: &Config) -> PageTables {
    PageTables::new(with_settings(LINUX_ODF, config))
}

/// Which last-level tables each task still shares, and with how many
/// tasks each shared table is shared (its reference count).
#[derive(Clone, Debug, Default)]
pub struct SharedTables {
    /// (task, table number) → the shared table it refers to.
    held: BTreeMap<(TaskId, u64), TableId>,
    /// Shared table → how many tasks refer to it.
    refs: BTreeMap<TableId, u32>,
    next: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct TableId(u32);

/// The table that maps `vpn`.
fn table_of(vpn: Vpn) -> u64 {
    vpn.0 / PTES_PER_TABLE
}

impl SharedTables {
    /// A fork shared `parent`'s tables `numbers` with `child`: each gains
    /// a reference (a table the parent already shared with an earlier
    /// child gains one more). Counts the tables shared.
    pub fn share(&mut self, w: &mut World, parent: TaskId, child: TaskId, numbers: &[u64]) {
        for &number in numbers {
            let table = match self.held.get(&(parent, number)) {
                Some(&table) => table,
                None => {
                    let table = TableId(self.next);
                    self.next += 1;
                    self.held.insert((parent, number), table);
                    self.refs.insert(table, 1);
                    table
                }
            };
            self.held.insert((child, number), table);
            *self.refs.entry(table).or_default() += 1;
        }
        w.work(WorkKind::PageTableShared, numbers.len() as u64);
    }

    /// A fault of `task` at `vpn` is about to change its table there: if
    /// the task still shares that table, it gets a copy of its own (its
    /// present entries copied into a new table page), or takes the table
    /// over when nobody else holds it any more.
    pub fn unshare_for_fault(&mut self, w: &mut World, task: TaskId, vpn: Vpn) {
        let number = table_of(vpn);
        let Some(table) = self.held.remove(&(task, number)) else { return };
        if self.release(table) {
            let first = Vpn(number * PTES_PER_TABLE);
            let entries = w.task(task).pmap.range(first, first.plus(PTES_PER_TABLE)).count() as u64;
            w.work(WorkKind::PteCopied, entries);
            w.work(WorkKind::PageTablePage, 1);
        }
    }

    /// `task` exits or execs: it lets go of every table it shares, copying
    /// nothing. Its entries in a table others still hold are not its to
    /// zap (the table just loses a reference), so they leave its page
    /// table here, uncounted, before the teardown counts the rest.
    pub fn forget(&mut self, w: &mut World, task: TaskId) {
        let mine: Vec<(TaskId, u64)> = self.held.range((task, 0)..=(task, u64::MAX)).map(|(key, _)| *key).collect();
        for key in mine {
            let Some(table) = self.held.remove(&key) else { continue };
            if self.release(table) {
                let first = Vpn(key.1 * PTES_PER_TABLE);
                let _ = w.task_mut(task).pmap.remove_range(first, first.plus(PTES_PER_TABLE));
            }
        }
    }

    /// Drops one reference to `table`; true if others still hold it (so
    /// the one letting go for a fault must copy it).
    fn release(&mut self, table: TableId) -> bool {
        let refs = self.refs.get_mut(&table).expect("shared tables: a held table has a count");
        *refs -= 1;
        if *refs == 0 {
            self.refs.remove(&table);
            return false;
        }
        true
    }
}
