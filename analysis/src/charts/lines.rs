//! Values over the course of a run, one line per policy, in two panels
//! stacked above each other that share the x axis (the operation index).
//!
//! The data are the report's `series`, sampled at operation boundaries,
//! with the empty world at operation 0 put in front. Policies often agree
//! exactly (every policy has the same resident pages until the first
//! copy-on-write), and a line drawn later would hide an earlier one. So
//! lines are drawn widest first, in `PolicyKind::ALL` order, each narrower
//! than the last: where policies agree, the lines nest like a cable and
//! every colour stays visible.
//!
//! Lines are drawn as steps. A count changes at an operation and holds
//! until the next change, so a ramp between two samples would show values
//! (2.5 objects) that never existed and hide when the change happened. A
//! value is held until the next sample and the line rises or falls there:
//! at the operation that changed it when every operation is sampled, at
//! the first sample that sees the change otherwise.
//!
//! A panel's y axis is logarithmic when the policies' peaks span more than
//! 50 times (see [`super::scale`]): a chain that grows to 1 000 objects in
//! one design would otherwise flatten the chains of 1 and 2 of the others
//! into one line. The peaks decide, not every point, because every
//! series starts small: the question is whether the *policies* differ by
//! orders of magnitude.

use plotters::coord::Shift;
use plotters::prelude::*;
use sim::PolicyKind;

use super::scale::{Scale, ValueAxis, grouped};
use super::{
    AXIS_DESC_SIZE, Chart, DrawResult, FONT, Swatch, TICK_LABEL_SIZE, draw_legend, policy_colour, policy_legend, titled,
};

/// Width of the legend strip right of the panels, in pixels.
const LEGEND_WIDTH: u32 = 210;

/// Widest and narrowest line, in pixels.
const WIDEST_LINE: u32 = 9;
const NARROWEST_LINE: u32 = 2;

/// One panel: a measure over time for every policy.
pub struct Panel {
    /// Shown above the panel, e.g. "resident pages".
    pub title: String,
    /// The y axis description, with its unit.
    pub y_desc: String,
    /// One line per policy, in the chart's policy order: (operation, value).
    pub lines: Vec<Vec<(u64, u64)>>,
}

/// Two panels of lines, one above the other.
pub struct SeriesPanels {
    pub title: String,
    pub policies: Vec<PolicyKind>,
    pub panels: [Panel; 2],
}

impl Chart for SeriesPanels {
    fn size(&self) -> (u32, u32) {
        (1000, 760)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let body = titled(root, &self.title)?;
        let (plots, legend) = body.split_horizontally(self.size().0 - LEGEND_WIDTH);
        let last_op = self.panels.iter().flat_map(|p| p.lines.iter().flatten()).map(|(op, _)| *op).max().unwrap_or(0);
        let halves = plots.split_evenly((2, 1));
        for (panel, area) in self.panels.iter().zip(&halves) {
            self.draw_panel(panel, area, last_op.max(1))?;
        }
        let entries = policy_legend(&self.policies, |i| Swatch::Line(line_width(i, self.policies.len())));
        draw_legend(&legend, Some("policy"), &entries, 40)
    }
}

impl SeriesPanels {
    fn draw_panel<DB: DrawingBackend>(
        &self,
        panel: &Panel,
        area: &DrawingArea<DB, Shift>,
        last_op: u64,
    ) -> DrawResult<DB> {
        let axis = panel_axis(panel);
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.title, (FONT, AXIS_DESC_SIZE + 2))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(90)
            .build_cartesian_2d(padded(last_op), axis.coord(PAD))?;
        chart
            .configure_mesh()
            .x_desc("operation (position in the trace)")
            .y_desc(axis.describe(&panel.y_desc))
            .x_labels(tick_count(last_op, 12))
            .x_label_formatter(&whole_number)
            .y_label_formatter(&|p| axis.label(p))
            .label_style((FONT, TICK_LABEL_SIZE))
            .axis_desc_style((FONT, AXIS_DESC_SIZE))
            .max_light_lines(1)
            .light_line_style(RGBColor(238, 238, 238))
            .draw()?;
        for (i, (policy, points)) in self.policies.iter().zip(&panel.lines).enumerate() {
            let width = line_width(i, self.policies.len());
            let points = steps(points).into_iter().map(|(op, value)| (op as f64, axis.position(value)));
            chart.draw_series(LineSeries::new(points, policy_colour(*policy).stroke_width(width)))?;
        }
        Ok(())
    }
}

/// The share of an axis left free on both sides, so a wide line along 0
/// or along the last operation is not cut in half by the plot's edge.
const PAD: f64 = 0.025;

/// An axis range from 0 to `top` with [`PAD`] on both sides.
fn padded(top: u64) -> std::ops::Range<f64> {
    let pad = top as f64 * PAD;
    -pad..top as f64 + pad
}

/// A panel's y axis: log when the policies' peaks span more than 50
/// times, fitted to every point either way.
fn panel_axis(panel: &Panel) -> ValueAxis {
    let peaks = panel.lines.iter().map(|line| line.iter().map(|(_, v)| *v).max().unwrap_or(0));
    let values = panel.lines.iter().flatten().map(|(_, v)| *v);
    ValueAxis::new(Scale::for_values(peaks), values, 10)
}

/// The corners of a step line through `points`: each value held until the
/// next point's operation, then a vertical rise or fall to the new value.
pub fn steps(points: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut corners = Vec::with_capacity(points.len() * 2);
    let mut held = None;
    for &(op, value) in points {
        if let Some(before) = held.filter(|before| *before != value) {
            corners.push((op, before));
        }
        corners.push((op, value));
        held = Some(value);
    }
    corners
}

/// How many ticks to ask for on an axis up to `top`: one per unit for
/// small axes, so ticks land on whole numbers, at most `most`.
fn tick_count(top: u64, most: usize) -> usize {
    usize::try_from(top).unwrap_or(usize::MAX).saturating_add(1).min(most)
}

/// Tick labels: whole, non-negative numbers only (the padding below 0 and
/// any fractional tick stay unlabelled).
fn whole_number(value: &f64) -> String {
    let rounded = value.round();
    if rounded >= 0.0 && (value - rounded).abs() < 1e-6 { grouped(rounded as u64) } else { String::new() }
}

/// The width of the `index`-th of `count` lines: from the widest down to
/// the narrowest in even steps.
fn line_width(index: usize, count: usize) -> u32 {
    if count <= 1 {
        return 3;
    }
    let steps = (count - 1) as u32;
    let step_down = (WIDEST_LINE - NARROWEST_LINE) * index as u32 / steps;
    WIDEST_LINE - step_down
}

/// A series of `(operation, value)` points with the empty world at
/// operation 0 in front, where the sampling did not already put a point.
pub fn from_zero(points: impl IntoIterator<Item = (u64, u64)>) -> Vec<(u64, u64)> {
    let points: Vec<(u64, u64)> = points.into_iter().collect();
    if points.first().is_some_and(|(op, _)| *op == 0) {
        points
    } else {
        std::iter::once((0, 0)).chain(points).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_narrow_from_first_to_last() {
        let widths: Vec<u32> = (0..3).map(|i| line_width(i, 3)).collect();
        assert_eq!(widths.first(), Some(&WIDEST_LINE));
        assert_eq!(widths.last(), Some(&NARROWEST_LINE));
        assert!(widths.windows(2).all(|w| w[0] > w[1]), "{widths:?}");
    }

    #[test]
    fn tick_labels_are_whole_numbers() {
        assert_eq!(whole_number(&3.0), "3");
        assert_eq!(whole_number(&2.5), "");
        assert_eq!(whole_number(&-0.2), "");
        assert_eq!(whole_number(&-0.0), "0");
        assert_eq!(whole_number(&16000.0), "16 000", "grouped as the y axis is");
    }

    #[test]
    fn a_step_line_holds_each_value_then_rises_vertically() {
        let corners = steps(&[(0, 0), (2, 3), (4, 3), (6, 1)]);
        assert_eq!(corners, [(0, 0), (2, 0), (2, 3), (4, 3), (6, 3), (6, 1)]);
        // Every change is a vertical segment: two corners at one operation.
        let vertical = corners.windows(2).filter(|w| w[0].0 == w[1].0 && w[0].1 != w[1].1).count();
        assert_eq!(vertical, 2);
        // And nothing between two samples is a slope.
        assert!(corners.windows(2).all(|w| w[0].0 == w[1].0 || w[0].1 == w[1].1), "{corners:?}");
    }

    /// The corners of every polyline in an SVG, in pixels.
    fn polylines(svg: &str) -> Vec<Vec<(i64, i64)>> {
        svg.split("<polyline")
            .skip(1)
            .filter_map(|element| {
                let points = element.split("points=\"").nth(1)?.split('"').next()?;
                let corners = points.split_whitespace().filter_map(|pair| {
                    let (x, y) = pair.split_once(',')?;
                    Some((x.parse::<f64>().ok()?.round() as i64, y.parse::<f64>().ok()?.round() as i64))
                });
                Some(corners.collect())
            })
            .collect()
    }

    /// A chain that grows to 1 000 in one design and stays at 1 and 2 in
    /// two others: the panel is on a log axis, drawn in steps, and the
    /// drawn lines rise vertically.
    #[test]
    fn series_are_drawn_as_steps_on_a_log_axis_when_the_policies_differ_a_thousand_times() {
        use PolicyKind::*;
        let grows: Vec<(u64, u64)> = (0..=10).map(|op| (op, op * 100)).collect();
        let lines = vec![grows, vec![(0, 0), (1, 1), (10, 2)], vec![(0, 0), (1, 1), (10, 1)]];
        let panel = |title: &str| Panel { title: title.into(), y_desc: "objects".into(), lines: lines.clone() };
        let chart = SeriesPanels {
            title: "t".into(),
            policies: vec![MachNoCollapse, Xnu, Linux],
            panels: [panel("a"), panel("b")],
        };
        let svg = super::super::render_svg(&chart).unwrap();
        let texts = super::super::svg_texts(&svg);
        assert!(texts.iter().any(|t| t == "objects, log scale"), "{texts:?}");
        assert!(["0", "1", "10", "100", "1 000"].iter().all(|d| texts.iter().any(|t| t == d)), "{texts:?}");
        let drawn = polylines(&svg);
        let policy_lines: Vec<&Vec<(i64, i64)>> = drawn.iter().filter(|l| l.len() >= 3).collect();
        assert!(!policy_lines.is_empty(), "{svg}");
        for line in policy_lines {
            let vertical = line.windows(2).filter(|w| w[0].0 == w[1].0 && w[0].1 != w[1].1).count();
            let sloped = line.windows(2).filter(|w| w[0].0 != w[1].0 && w[0].1 != w[1].1).count();
            assert!(vertical > 0 && sloped == 0, "{line:?}");
        }
    }

    #[test]
    fn series_start_from_the_empty_world() {
        assert_eq!(from_zero([(1, 5), (2, 6)]), vec![(0, 0), (1, 5), (2, 6)]);
        assert_eq!(from_zero([(0, 0)]), vec![(0, 0)]);
    }
}
