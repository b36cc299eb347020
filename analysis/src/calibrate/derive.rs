//! From measurements to prices: every cost of a profile, derived from the
//! probes in a fixed order (docs/costs.md has the table).
//!
//! One rule makes every price. A probe's timed part took `ns`; its twin
//! (`twins.rs`) says what the simulator counts for it under `linux`. The
//! items priced already account for part of `ns`; the rest is the
//! unknown's, per unit the twin counted. With several points (sizes), the
//! price is the least-squares fit; with two unknowns (a fixed cost and a
//! per-page one, say), the fit of both. So each price is consistent with
//! how the simulator counts: a fork's twin counts a write-protected PTE
//! for every PTE copied, and the price of a copied PTE is what a PTE costs
//! at fork once the write-protect is paid.
//!
//! The order matters, since a step uses the prices before it. A price used
//! before its own step (the fork's one map entry is priced after the fork)
//! is 0 in a first pass; the derivation then runs a second time with the
//! first pass's prices for those, and keeps the second.
//!
//! Noise can leave a step less than nothing (a difference of two forks
//! smaller than its spread); such a price is set to [`FLOOR_NS`] and the
//! profile's notes say so.

use crate::costs::predict::add;
use crate::costs::{Costs, Measured, ProbePoint, Quantities};

pub use super::twins::FAULT_AROUND_PAGES;
use super::twins::{self, Twin};

/// The price given to a cost the noise hid: positive, so a profile
/// never makes work free, and small, so it changes nothing it is not
/// part of.
pub const FLOOR_NS: f64 = 0.1;

/// Why prices could not be derived.
#[derive(Debug, thiserror::Error)]
pub enum DeriveError {
    #[error("calibrate: the measurements have no {probe} probe")]
    Missing { probe: &'static str },
    #[error(
        "calibrate: the {probe} probe's twin counts no {unknown}, so its price cannot be derived \
         (has the simulator's counting changed? calibrate/twins.rs says what each twin should count)"
    )]
    NothingCounted { probe: &'static str, unknown: String },
}

/// Prices and what the derivation had to decide.
#[derive(Clone, Debug, PartialEq)]
pub struct Derived {
    pub costs: Costs,
    pub notes: Vec<String>,
}

/// One measured time and what the twin counts in it.
#[derive(Clone, Debug)]
struct Point {
    ns: f64,
    quantities: Quantities,
}

/// One step of the derivation: the items it prices and the points it
/// fits them to.
struct Step {
    probe: &'static str,
    unknowns: &'static [&'static str],
    points: Vec<Point>,
}

/// Items priced as another item, after the steps: costs no probe
/// measures apart (docs/costs.md says why each is a fair stand-in).
pub const STAND_INS: [(&str, &str); 9] = [
    ("ops.vm_map", "ops.vm_allocate"),
    ("ops.vm_read", "ops.vm_inherit"),
    ("ops.vm_write", "ops.vm_inherit"),
    ("ops.vm_copy", "ops.vm_inherit"),
    ("ops.vm_move", "ops.vm_inherit"),
    ("ops.file_read", "ops.vm_inherit"),
    ("faults.page_in", "faults.map"),
    ("faults.cow_move", "faults.reuse"),
    ("work.page_tables_shared", "work.ptes_copied"),
];

/// The prices the measurements give, for pages of `page_size` bytes.
pub fn derive(measured: &Measured, page_size: u64) -> Result<Derived, DeriveError> {
    let steps = steps(measured, page_size)?;
    let first = run_steps(&steps, &Costs::default())?;
    let mut second = run_steps(&steps, &first.costs)?;
    for (item, like) in STAND_INS {
        let ns = second.costs.get(like);
        second.costs.set(item, ns);
    }
    let prices: Vec<(String, f64)> = second.costs.iter().map(|(item, ns)| (item.to_string(), ns)).collect();
    for (item, ns) in prices {
        second.costs.set(&item, four_figures(ns));
    }
    Ok(second)
}

/// `ns` to four significant figures: the probes are not more precise, and
/// a profile is easier to read without the rest.
fn four_figures(ns: f64) -> f64 {
    if ns <= 0.0 || !ns.is_finite() {
        return ns;
    }
    // Multiply and divide by exact powers of ten only, so 496,466 gives
    // 496,500 and not 496,499.99999999994.
    let decimals = 3 - ns.log10().floor() as i32;
    if decimals >= 0 {
        let scale = 10f64.powi(decimals);
        (ns * scale).round() / scale
    } else {
        let scale = 10f64.powi(-decimals);
        (ns / scale).round() * scale
    }
}

/// One pass over the steps; `earlier` prices the items not priced yet.
fn run_steps(steps: &[Step], earlier: &Costs) -> Result<Derived, DeriveError> {
    let mut derived = Derived { costs: Costs::default(), notes: Vec::new() };
    for step in steps {
        let known = |item: &str| if derived.costs.has(item) { derived.costs.get(item) } else { earlier.get(item) };
        let prices = fit(step, known)?;
        for (unknown, ns) in step.unknowns.iter().zip(prices) {
            let ns = if ns > 0.0 && ns.is_finite() {
                ns
            } else {
                derived.notes.push(format!(
                    "{unknown}: the {} probe left {ns:.1} ns, within its noise; priced at {FLOOR_NS} ns",
                    step.probe
                ));
                FLOOR_NS
            };
            derived.costs.set(unknown, ns);
        }
    }
    Ok(derived)
}

/// The least-squares prices of the step's unknowns: each point's time,
/// less what the known prices account for, against the unknowns' counts.
fn fit(step: &Step, known: impl Fn(&str) -> f64) -> Result<Vec<f64>, DeriveError> {
    let rows: Vec<(Vec<f64>, f64)> = step
        .points
        .iter()
        .map(|point| {
            let accounted: f64 = point
                .quantities
                .iter()
                .filter(|(item, _)| !step.unknowns.contains(&item.as_str()))
                .map(|(item, count)| count * known(item))
                .sum();
            let counts = step.unknowns.iter().map(|u| point.quantities.get(*u).copied().unwrap_or(0.0)).collect();
            (counts, point.ns - accounted)
        })
        .collect();
    for (index, unknown) in step.unknowns.iter().enumerate() {
        if rows.iter().all(|(counts, _)| counts[index] == 0.0) {
            return Err(DeriveError::NothingCounted { probe: step.probe, unknown: unknown.to_string() });
        }
    }
    Ok(match step.unknowns.len() {
        1 => vec![one_unknown(&rows)],
        _ => two_unknowns(&rows),
    })
}

/// `x` minimising Σ (r − c·x)²: Σ c·r / Σ c².
fn one_unknown(rows: &[(Vec<f64>, f64)]) -> f64 {
    let (cr, cc) = rows.iter().fold((0.0, 0.0), |(cr, cc), (c, r)| (cr + c[0] * r, cc + c[0] * c[0]));
    cr / cc
}

/// `(x, y)` minimising Σ (r − a·x − b·y)², by the normal equations. When
/// the counts do not tell the two apart, the first takes it all.
fn two_unknowns(rows: &[(Vec<f64>, f64)]) -> Vec<f64> {
    let sum = |f: &dyn Fn(&Vec<f64>, f64) -> f64| rows.iter().map(|(c, r)| f(c, *r)).sum::<f64>();
    let (aa, ab, bb) = (sum(&|c, _| c[0] * c[0]), sum(&|c, _| c[0] * c[1]), sum(&|c, _| c[1] * c[1]));
    let (ar, br) = (sum(&|c, r| c[0] * r), sum(&|c, r| c[1] * r));
    let determinant = aa * bb - ab * ab;
    if determinant.abs() < 1e-9 * aa * bb {
        return vec![ar / aa, 0.0];
    }
    vec![(ar * bb - br * ab) / determinant, (aa * br - ab * ar) / determinant]
}

/// The steps, in order, with their points from the measurements.
fn steps(m: &Measured, page_size: u64) -> Result<Vec<Step>, DeriveError> {
    let bytes = |count: u64| (count * page_size) as f64;
    let region = m.fork_curve.iter().map(|p| p.pages).max().unwrap_or(0);
    let small: Vec<_> = m.fork_curve.iter().take(FIT_SIZES).collect();
    let step = |probe, unknowns, points| Step { probe, unknowns, points };
    Ok(vec![
        step("copy_bytes", &["work.bytes_copied"], per_count(m, "copy_bytes", |n| one("work.bytes_copied", bytes(n)))?),
        step("zero_bytes", &["work.bytes_zeroed"], per_count(m, "zero_bytes", |n| one("work.bytes_zeroed", bytes(n)))?),
        step("present_reads", &["pages.accessed"], twinned(m, "present_reads")?),
        step("mmap", &["ops.vm_allocate"], twinned(m, "mmap")?),
        step("munmap_untouched", &["ops.vm_deallocate"], twinned(m, "munmap_untouched")?),
        step("mprotect_untouched", &["ops.vm_protect"], twinned(m, "mprotect_untouched")?),
        step("madvise", &["ops.vm_inherit"], twinned(m, "madvise")?),
        step("fork_touched", &["work.ptes_write_protected"], difference(m, "fork_touched", "fork_touched_read_only")?),
        step("mprotect_touched", &["work.tlb_flushes"], {
            // One page: its entry write-protected and flushed. The larger
            // point is a record of Linux's mprotect, not used (docs/costs.md).
            let points = difference(m, "mprotect_touched", "mprotect_untouched")?;
            points.into_iter().filter(|p| p.quantities.get("work.ptes_write_protected") == Some(&1.0)).collect()
        }),
        step("first_writes", &["faults.zero_fill", "work.page_table_pages"], {
            [twinned(m, "first_writes")?, twinned(m, "first_writes_one_per_leaf")?].concat()
        }),
        step("first_reads", &["faults.zero_page"], twinned(m, "first_reads")?),
        step("writes_shared_with_child", &["faults.cow_copy"], twinned(m, "writes_shared_with_child")?),
        step("writes_after_child_exit", &["faults.reuse"], twinned(m, "writes_after_child_exit")?),
        step("file_reads_one_page_each", &["faults.map"], page_ins_as_maps(twinned(m, "file_reads_one_page_each")?)),
        step("file_reads_one_per_window", &["work.fault_around"], {
            page_ins_as_maps(twinned(m, "file_reads_one_per_window")?)
        }),
        step(
            "fork_curve",
            &["ops.fork", "work.ptes_copied"],
            small.iter().map(|p| point(p.fork_ns, twins::fork_of_region(region, p.pages))).collect(),
        ),
        step("fork_with_mappings", &["work.map_entries_copied"], difference(m, "fork_with_mappings", "fork_bare")?),
        step("fork_with_touched_mappings", &["work.rmap_entries"], {
            difference(m, "fork_with_touched_mappings", "fork_with_mappings")?
        }),
        step(
            "fork_curve",
            &["ops.exit", "work.ptes_removed"],
            small
                .iter()
                .map(|p| point(p.fork_exit_wait_ns.saturating_sub(p.fork_ns), twins::exit_after_fork(region, p.pages)))
                .collect(),
        ),
        step("munmap_touched", &["pages.freed"], twinned(m, "munmap_touched")?),
        step("vfork_exit", &["ops.task_create"], twinned(m, "vfork_exit")?),
        step(
            "fork_curve",
            &["ops.exec"],
            m.fork_curve.iter().map(|p| point(p.spawn_wait_ns, twins::spawn_exec_exit(0, 0))).collect(),
        ),
    ])
}

/// How many of the fork curve's smallest sizes the fork, exit and exec
/// prices are fitted on: the larger sizes are left for the validation.
pub const FIT_SIZES: usize = 5;

fn point(ns: u64, twin: Twin) -> Point {
    Point { ns: ns as f64, quantities: twin.quantities() }
}

fn one(item: &str, count: f64) -> Quantities {
    Quantities::from([(item.to_string(), count)])
}

fn measured_points<'m>(m: &'m Measured, probe: &'static str) -> Result<&'m [ProbePoint], DeriveError> {
    let points = m.points(probe);
    if points.is_empty() { Err(DeriveError::Missing { probe }) } else { Ok(points) }
}

/// The probe's points with quantities made from each point's count.
fn per_count(
    m: &Measured,
    probe: &'static str,
    quantities: impl Fn(u64) -> Quantities,
) -> Result<Vec<Point>, DeriveError> {
    Ok(measured_points(m, probe)?.iter().map(|p| Point { ns: p.ns as f64, quantities: quantities(p.count) }).collect())
}

/// What the twin of `probe` counts over `count` units.
fn twin_quantities(probe: &'static str, count: u64) -> Quantities {
    twins::of_probe(probe, count).unwrap_or_else(|| panic!("the {probe} probe has a twin")).quantities()
}

/// The probe's points with their twins' quantities.
fn twinned(m: &Measured, probe: &'static str) -> Result<Vec<Point>, DeriveError> {
    per_count(m, probe, |count| twin_quantities(probe, count))
}

/// A probe against a baseline probe (at the same count, or its only
/// point): the difference of their times and of their twins' counts.
fn difference(m: &Measured, probe: &'static str, baseline: &'static str) -> Result<Vec<Point>, DeriveError> {
    let base = measured_points(m, baseline)?;
    measured_points(m, probe)?
        .iter()
        .map(|p| {
            let b = base
                .iter()
                .find(|b| b.count == p.count || base.len() == 1)
                .ok_or(DeriveError::Missing { probe: baseline })?;
            let mut quantities = twin_quantities(probe, p.count);
            add(&mut quantities, &twin_quantities(baseline, b.count), -1.0);
            Ok(Point { ns: p.ns as f64 - b.ns as f64, quantities })
        })
        .collect()
}

/// The probe reads a file page already in memory, which is a `map` fault;
/// the twin's file object starts empty, so its first read of a page is a
/// `page_in`. Counted as the probe's kind.
fn page_ins_as_maps(mut points: Vec<Point>) -> Vec<Point> {
    for point in &mut points {
        if let Some(page_ins) = point.quantities.remove("faults.page_in") {
            *point.quantities.entry("faults.map".into()).or_insert(0.0) += page_ins;
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::costs::{CurvePoint, ProbePoint};

    /// Prices a machine might have, one for each item the steps derive.
    fn truth() -> Costs {
        let mut costs = Costs::default();
        for (item, ns) in [
            ("work.bytes_copied", 0.12),
            ("work.bytes_zeroed", 0.05),
            ("pages.accessed", 8.0),
            ("ops.vm_allocate", 2300.0),
            ("ops.vm_deallocate", 1600.0),
            ("ops.vm_protect", 900.0),
            ("ops.vm_inherit", 420.0),
            ("work.ptes_write_protected", 3.0),
            ("faults.zero_fill", 1500.0),
            ("work.page_table_pages", 300.0),
            ("faults.zero_page", 650.0),
            ("faults.cow_copy", 1800.0),
            ("faults.reuse", 700.0),
            ("faults.map", 800.0),
            ("work.fault_around", 250.0),
            ("ops.fork", 30000.0),
            ("work.ptes_copied", 55.0),
            ("work.map_entries_copied", 800.0),
            ("work.tlb_flushes", 120.0),
            ("work.rmap_entries", 40.0),
            ("ops.exit", 40000.0),
            ("work.ptes_removed", 60.0),
            ("pages.freed", 200.0),
            ("ops.task_create", 30000.0),
            ("ops.exec", 450000.0),
        ] {
            costs.set(item, ns);
        }
        costs
    }

    /// The measurements a machine with `costs` would give, were the
    /// simulator's counts its whole work: every probe's time is its twin
    /// priced.
    fn measurements_of(costs: &Costs) -> Measured {
        let priced = |twin: Twin| costs.price(&twin.quantities()).round() as u64;
        let mut measured = Measured { quick: true, repeats: 1, ..Measured::default() };
        let probes: [(&str, &[u64]); 22] = [
            ("copy_bytes", &[1024]),
            ("zero_bytes", &[1024]),
            ("present_reads", &[1024]),
            ("mmap", &[1]),
            ("munmap_untouched", &[1]),
            ("munmap_touched", &[16, 256]),
            ("mprotect_untouched", &[1]),
            ("mprotect_touched", &[1, 1024]),
            ("madvise", &[1]),
            ("first_writes", &[1024]),
            ("first_writes_one_per_leaf", &[32]),
            ("first_reads", &[1024]),
            ("writes_shared_with_child", &[1024]),
            ("writes_after_child_exit", &[1024]),
            ("file_reads_one_page_each", &[64]),
            ("file_reads_one_per_window", &[64]),
            ("fork_touched", &[1024]),
            ("fork_touched_read_only", &[1024]),
            ("fork_bare", &[0]),
            ("fork_with_mappings", &[100]),
            ("fork_with_touched_mappings", &[100]),
            ("vfork_exit", &[1]),
        ];
        for (probe, counts) in probes {
            let points = counts.iter().map(|&count| {
                let ns = match probe {
                    "copy_bytes" => (costs.get("work.bytes_copied") * (count * 4096) as f64).round() as u64,
                    "zero_bytes" => (costs.get("work.bytes_zeroed") * (count * 4096) as f64).round() as u64,
                    // The probe reads a page the kernel has in memory: a map fault.
                    _ => {
                        let points = page_ins_as_maps(vec![Point {
                            ns: 0.0,
                            quantities: twins::of_probe(probe, count).unwrap().quantities(),
                        }]);
                        costs.price(&points[0].quantities).round() as u64
                    }
                };
                ProbePoint { count, ns }
            });
            measured.probes.insert(probe.to_string(), points.collect());
        }
        let region = 1024;
        measured.fork_curve = [256, 512, 1024]
            .into_iter()
            .map(|pages| {
                let fork_ns = priced(twins::fork_of_region(region, pages));
                CurvePoint {
                    mib: pages / 256,
                    pages,
                    fork_ns,
                    fork_exit_wait_ns: fork_ns + priced(twins::exit_after_fork(region, pages)),
                    fork_exec_wait_ns: priced(twins::fork_exec_exit(region, pages)),
                    spawn_wait_ns: priced(twins::spawn_exec_exit(region, pages)),
                }
            })
            .collect();
        measured
    }

    /// Does the derivation give back the prices that made the
    /// measurements? Then every step prices what its probe measures, in
    /// an order where each step's known prices are right.
    #[test]
    fn prices_come_back_from_the_measurements_they_make() {
        let truth = truth();
        let derived = derive(&measurements_of(&truth), 4096).unwrap();
        for (item, ns) in truth.iter() {
            let got = derived.costs.get(item);
            assert!((got - ns).abs() <= 0.01 * ns, "{item}: derived {got}, made with {ns}");
        }
        for (item, like) in STAND_INS {
            assert_eq!(derived.costs.get(item), derived.costs.get(like), "{item}");
        }
        assert!(derived.notes.is_empty(), "{:?}", derived.notes);
    }

    /// A step that comes out below nothing is priced at the floor, and
    /// said so.
    #[test]
    fn a_price_the_noise_hid_is_floored_and_noted() {
        let mut measured = measurements_of(&truth());
        let read_only = measured.probes.get_mut("fork_touched_read_only").unwrap();
        read_only[0].ns += 10_000;
        let derived = derive(&measured, 4096).unwrap();
        assert_eq!(derived.costs.get("work.ptes_write_protected"), FLOOR_NS);
        assert!(
            derived.notes.iter().any(|note| note.starts_with("work.ptes_write_protected: ")),
            "{:?}",
            derived.notes
        );
    }

    #[test]
    fn prices_keep_four_figures() {
        assert_eq!(four_figures(52.33128), 52.33);
        assert_eq!(four_figures(0.111_549), 0.1115);
        assert_eq!(four_figures(496_466.21), 496_500.0);
    }

    #[test]
    fn two_unknowns_are_fitted_by_least_squares() {
        // r = 5 + 2·n, exactly, at three sizes.
        let rows: Vec<(Vec<f64>, f64)> = [1.0, 10.0, 100.0].iter().map(|n| (vec![1.0, *n], 5.0 + 2.0 * n)).collect();
        let fitted = two_unknowns(&rows);
        assert!((fitted[0] - 5.0).abs() < 1e-9 && (fitted[1] - 2.0).abs() < 1e-9, "{fitted:?}");
    }

    #[test]
    fn a_probe_missing_from_the_measurements_is_named() {
        let mut measured = measurements_of(&truth());
        measured.probes.remove("first_reads");
        let error = derive(&measured, 4096).unwrap_err();
        assert_eq!(error.to_string(), "calibrate: the measurements have no first_reads probe");
    }
}
