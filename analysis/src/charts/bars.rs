//! Bar charts with one bar per policy: faults stacked by kind
//! ([`FaultBars`]) and one number per policy ([`PolicyBars`], e.g. pages
//! copied).
//!
//! The x axis is categorical: plotters' *segmented* coordinates give each
//! policy a slot, labelled at its centre, and a bar fills its slot less a
//! margin. Totals are written above the bars so the chart can be read
//! without the y axis.
//!
//! The y axis is logarithmic when the bars' heights span more than 50
//! times (see [`super::scale`]): `eager` copies two orders of magnitude
//! more than the copy-on-write designs, and on a linear axis their bars
//! would all be a line at the bottom. On a log axis a stacked bar's
//! segments end at the running totals, so the top of the stack is still
//! the total; the lower segments look taller than their share, so the
//! legend's kinds are read from the boundaries and the total from the
//! label above the bar.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{SegmentValue, SegmentedCoord};
use plotters::coord::types::RangedCoordu32;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use sim::report::Faults;
use sim::{FaultKind, PolicyKind};

use super::scale::{AxisCoord, Scale, ValueAxis};
use super::{
    AXIS_DESC_SIZE, Chart, DrawResult, FONT, LegendEntry, Swatch, TICK_LABEL_SIZE, VALUE_LABEL_SIZE, draw_legend,
    fault_colour, fault_count, policy_colour, titled,
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
        let axis = bar_axis(self.bars.iter().map(|(_, f)| f.total));
        let policies: Vec<PolicyKind> = self.bars.iter().map(|(p, _)| *p).collect();
        let mut chart = category_chart(&plot, &policies, &axis)?;
        configure_category_mesh(&mut chart, &policies, &axis, "faults (count)")?;
        let gap = bar_gap(self.size().0, self.bars.len());
        for (slot, (_, faults)) in self.bars.iter().enumerate() {
            let mut base = 0;
            let bars = kinds.iter().map(|kind| {
                let count = fault_count(faults, *kind);
                let (bottom, top) = (axis.position(base), axis.position(base + count));
                base += count;
                slot_bar(slot, gap, bottom, top, fault_colour(*kind).filled())
            });
            chart.draw_series(bars.collect::<Vec<_>>())?;
            chart.draw_series(std::iter::once(value_label(slot, &axis, faults.total)))?;
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
        let axis = bar_axis(self.bars.iter().map(|(_, v)| *v));
        let policies: Vec<PolicyKind> = self.bars.iter().map(|(p, _)| *p).collect();
        let mut chart = category_chart(&plot, &policies, &axis)?;
        configure_category_mesh(&mut chart, &policies, &axis, &self.y_desc)?;
        let gap = bar_gap(self.size().0, self.bars.len());
        for (slot, (policy, value)) in self.bars.iter().enumerate() {
            let (bottom, top) = (axis.position(0), axis.position(*value));
            chart.draw_series(std::iter::once(slot_bar(slot, gap, bottom, top, policy_colour(*policy).filled())))?;
            chart.draw_series(std::iter::once(value_label(slot, &axis, *value)))?;
        }
        Ok(())
    }
}

/// The y axis of bars of these heights: linear, or log when they span more
/// than 50 times, with room above the tallest for its label.
fn bar_axis(heights: impl IntoIterator<Item = u64>) -> ValueAxis {
    let heights: Vec<u64> = heights.into_iter().collect();
    ValueAxis::new(Scale::for_values(heights.iter().copied()), heights, 12)
}

type CategoryChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<SegmentedCoord<RangedCoordu32>, AxisCoord>>;

/// A chart with one x slot per policy and `axis` as its y axis.
fn category_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    policies: &[PolicyKind],
    axis: &ValueAxis,
) -> Result<CategoryChart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    // Integer ranges are inclusive in plotters' discrete coordinates, so
    // 0..=n-1 gives exactly n slots.
    let last_slot = policies.len().saturating_sub(1) as u32;
    ChartBuilder::on(area)
        .margin(20)
        .x_label_area_size(64)
        .y_label_area_size(90)
        .build_cartesian_2d((0u32..last_slot).into_segmented(), axis.coord(0.0))
}

fn configure_category_mesh<DB: DrawingBackend>(
    chart: &mut CategoryChart<'_, DB>,
    policies: &[PolicyKind],
    axis: &ValueAxis,
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
        .y_desc(axis.describe(y_desc))
        .y_label_formatter(&|p| axis.label(p))
        .light_line_style(RGBColor(236, 236, 236))
        .label_style((FONT, TICK_LABEL_SIZE))
        .axis_desc_style((FONT, AXIS_DESC_SIZE))
        .draw()
}

/// A bar filling slot `slot`, less `gap` pixels each side, from `bottom`
/// to `top` (positions on the y axis).
fn slot_bar(slot: usize, gap: u32, bottom: f64, top: f64, style: ShapeStyle) -> Rectangle<(SegmentValue<u32>, f64)> {
    let slot = slot as u32;
    let mut bar = Rectangle::new([(SegmentValue::Exact(slot), bottom), (SegmentValue::Exact(slot + 1), top)], style);
    bar.set_margin(0, 0, gap, gap);
    bar
}

/// `value` written just above the top of slot `slot`'s bar.
fn value_label(slot: usize, axis: &ValueAxis, value: u64) -> Text<'static, (SegmentValue<u32>, f64), String> {
    let style = (FONT, VALUE_LABEL_SIZE).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Bottom));
    Text::new(value.to_string(), (SegmentValue::CenterOf(slot as u32), axis.position(value)), style)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copies(bars: &[(PolicyKind, u64)]) -> String {
        let chart = PolicyBars { title: "t".into(), y_desc: "pages copied (count)".into(), bars: bars.to_vec() };
        super::super::render_svg(&chart).unwrap()
    }

    /// Pages copied that span 1000× (eager against two lazy designs) go on
    /// a log axis: its description says so and every decade is labelled.
    #[test]
    fn bars_spanning_a_thousand_times_get_a_log_axis_with_decade_labels() {
        use PolicyKind::*;
        let svg = copies(&[(Eager, 128_000), (GnuMach, 2000), (Linux, 128), (Plan9, 0)]);
        let texts = super::super::svg_texts(&svg);
        assert!(texts.iter().any(|t| t == "pages copied (count), log scale"), "{texts:?}");
        for decade in ["0", "100", "1 000", "10 000", "100 000"] {
            assert!(texts.iter().any(|t| t == decade), "no tick label {decade}: {texts:?}");
        }
        let linear = super::super::svg_texts(&copies(&[(Eager, 8192), (GnuMach, 281)]));
        assert!(linear.iter().any(|t| t == "pages copied (count)"), "{linear:?}");
        assert!(!linear.iter().any(|t| t.contains("log scale") || t == "10 000"), "{linear:?}");
    }

    #[test]
    fn many_policies_widen_the_chart_so_names_fit() {
        assert_eq!(chart_width(3), 1000);
        let width = chart_width(8);
        assert!(width > 1000);
        assert!((width - LEGEND_WIDTH - AXIS_AND_MARGINS) / 8 >= SLOT_WIDTH);
        assert!(bar_gap(width, 8) > 0);
    }
}
