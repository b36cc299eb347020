//! Bar charts with one bar per policy: faults stacked by kind
//! ([`FaultBars`]) and one number per policy ([`PolicyBars`], e.g. pages
//! copied).
//!
//! The x axis is categorical: plotters' *segmented* coordinates give each
//! policy a slot, labelled at its centre, and a bar fills its slot less a
//! margin. Totals are written above the bars so the chart can be read
//! without the y axis.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{SegmentValue, SegmentedCoord};
use plotters::coord::types::{RangedCoordu32, RangedCoordu64};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use sim::report::Faults;
use sim::{FaultKind, PolicyKind};

use super::{
    AXIS_DESC_SIZE, Chart, DrawResult, FONT, LegendEntry, Swatch, TICK_LABEL_SIZE, VALUE_LABEL_SIZE, axis_top,
    draw_legend, fault_colour, fault_count, policy_colour, titled,
};

/// Width of the legend strip right of the plot, in pixels.
const LEGEND_WIDTH: u32 = 200;

/// Pixels each policy's slot gets at least, so a name as long as
/// `mach-nocollapse` fits under its bar; the y axis and margins take
/// [`AXIS_AND_MARGINS`].
const SLOT_WIDTH: u32 = 150;
const AXIS_AND_MARGINS: u32 = 130;

/// A bar chart's width: 1000 pixels, or wider when there are so many
/// policies that their names would run into each other.
fn chart_width(policies: usize) -> u32 {
    (LEGEND_WIDTH + AXIS_AND_MARGINS + SLOT_WIDTH * policies as u32).max(1000)
}

/// The gap left on each side of a bar: a fifth of the slot.
fn bar_gap(width: u32, policies: usize) -> u32 {
    (width - LEGEND_WIDTH - AXIS_AND_MARGINS) / policies.max(1) as u32 / 5
}

/// Faults by kind, one stacked bar per policy.
pub struct FaultBars {
    pub title: String,
    pub bars: Vec<(PolicyKind, Faults)>,
}

impl Chart for FaultBars {
    fn size(&self) -> (u32, u32) {
        (chart_width(self.bars.len()), 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let body = titled(root, &self.title)?;
        let (plot, legend) = body.split_horizontally(self.size().0 - LEGEND_WIDTH);
        // Only kinds that occur get a legend entry; their order and colours
        // are fixed, so charts of different inputs still read alike.
        let kinds: Vec<FaultKind> = FaultKind::ALL
            .into_iter()
            .filter(|k| self.bars.iter().any(|(_, faults)| fault_count(faults, *k) > 0))
            .collect();
        let largest = self.bars.iter().map(|(_, f)| f.total).max().unwrap_or(0);
        let policies: Vec<PolicyKind> = self.bars.iter().map(|(p, _)| *p).collect();
        let mut chart = category_chart(&plot, &policies, axis_top(largest, 12))?;
        configure_category_mesh(&mut chart, &policies, "faults (count)")?;
        let gap = bar_gap(self.size().0, self.bars.len());
        for (slot, (_, faults)) in self.bars.iter().enumerate() {
            let mut base = 0;
            let bars = kinds.iter().map(|kind| {
                let count = fault_count(faults, *kind);
                let bar = slot_bar(slot, gap, base, base + count, fault_colour(*kind).filled());
                base += count;
                bar
            });
            chart.draw_series(bars.collect::<Vec<_>>())?;
            chart.draw_series(std::iter::once(value_label(slot, faults.total)))?;
        }
        let entries: Vec<LegendEntry> = kinds
            .iter()
            .rev() // top of the stack first, as the eye meets it
            .map(|k| LegendEntry { label: k.name().to_string(), colour: fault_colour(*k), swatch: Swatch::Box })
            .collect();
        draw_legend(&legend, Some("fault kind"), &entries, 40)
    }
}

/// One number per policy, one bar each in the policy's colour.
pub struct PolicyBars {
    pub title: String,
    /// The y axis description, with its unit.
    pub y_desc: String,
    pub bars: Vec<(PolicyKind, u64)>,
}

impl Chart for PolicyBars {
    fn size(&self) -> (u32, u32) {
        (chart_width(self.bars.len()), 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let body = titled(root, &self.title)?;
        let (plot, _margin) = body.split_horizontally(self.size().0 - LEGEND_WIDTH / 2);
        let largest = self.bars.iter().map(|(_, v)| *v).max().unwrap_or(0);
        let policies: Vec<PolicyKind> = self.bars.iter().map(|(p, _)| *p).collect();
        let mut chart = category_chart(&plot, &policies, axis_top(largest, 12))?;
        configure_category_mesh(&mut chart, &policies, &self.y_desc)?;
        let gap = bar_gap(self.size().0, self.bars.len());
        for (slot, (policy, value)) in self.bars.iter().enumerate() {
            chart.draw_series(std::iter::once(slot_bar(slot, gap, 0, *value, policy_colour(*policy).filled())))?;
            chart.draw_series(std::iter::once(value_label(slot, *value)))?;
        }
        Ok(())
    }
}

type CategoryChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<SegmentedCoord<RangedCoordu32>, RangedCoordu64>>;

/// A chart with one x slot per policy and a y axis from 0 to `top`.
fn category_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    policies: &[PolicyKind],
    top: u64,
) -> Result<CategoryChart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    // Integer ranges are inclusive in plotters' discrete coordinates, so
    // 0..=n-1 gives exactly n slots.
    let last_slot = policies.len().saturating_sub(1) as u32;
    ChartBuilder::on(area)
        .margin(20)
        .x_label_area_size(64)
        .y_label_area_size(90)
        .build_cartesian_2d((0u32..last_slot).into_segmented(), 0u64..top)
}

fn configure_category_mesh<DB: DrawingBackend>(
    chart: &mut CategoryChart<'_, DB>,
    policies: &[PolicyKind],
    y_desc: &str,
) -> DrawResult<DB> {
    let names: Vec<&'static str> = policies.iter().map(|p| p.name()).collect();
    let slot_name = move |v: &SegmentValue<u32>| match v {
        SegmentValue::CenterOf(i) => names.get(*i as usize).map_or(String::new(), |n| n.to_string()),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(policies.len())
        .x_label_formatter(&slot_name)
        .x_desc("policy")
        .y_desc(y_desc)
        .label_style((FONT, TICK_LABEL_SIZE))
        .axis_desc_style((FONT, AXIS_DESC_SIZE))
        .draw()
}

/// A bar filling slot `slot`, less `gap` pixels each side, from `bottom`
/// to `top`.
fn slot_bar(slot: usize, gap: u32, bottom: u64, top: u64, style: ShapeStyle) -> Rectangle<(SegmentValue<u32>, u64)> {
    let slot = slot as u32;
    let mut bar = Rectangle::new([(SegmentValue::Exact(slot), bottom), (SegmentValue::Exact(slot + 1), top)], style);
    bar.set_margin(0, 0, gap, gap);
    bar
}

/// `value` written just above the top of slot `slot`'s bar.
fn value_label(slot: usize, value: u64) -> Text<'static, (SegmentValue<u32>, u64), String> {
    let style = (FONT, VALUE_LABEL_SIZE).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Bottom));
    Text::new(value.to_string(), (SegmentValue::CenterOf(slot as u32), value), style)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_policies_widen_the_chart_so_names_fit() {
        assert_eq!(chart_width(3), 1000);
        let width = chart_width(8);
        assert!(width > 1000);
        assert!((width - LEGEND_WIDTH - AXIS_AND_MARGINS) / 8 >= SLOT_WIDTH);
        assert!(bar_gap(width, 8) > 0);
    }
}
