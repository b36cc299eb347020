//! A measure against a parameter, one line per series with a marker at
//! each measured point: what a study plots (MiB copied against the writes
//! during a snapshot, fork latency against the parent's size). Unlike the
//! run charts, the x axis is a parameter, not the operation index, and
//! lines join measured points straight: between two parent sizes nothing
//! was measured, so no step is implied.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::scale::{Scale, ValueAxis, grouped};
use super::{AXIS_DESC_SIZE, Chart, DrawResult, FONT, LegendEntry, Swatch, TICK_LABEL_SIZE, draw_legend, titled};

/// Width of the legend strip right of the plot, in pixels.
const LEGEND_WIDTH: u32 = 260;

/// One line: its legend label, colour and measured points (x, y).
pub struct XySeries {
    pub label: String,
    pub colour: RGBColor,
    pub points: Vec<(u64, u64)>,
}

/// Lines over a parameter.
pub struct XyChart {
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    /// The legend's heading.
    pub legend: String,
    pub series: Vec<XySeries>,
}

impl Chart for XyChart {
    fn size(&self) -> (u32, u32) {
        (1000, 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let body = titled(root, &self.title)?;
        let (plot, legend) = body.split_horizontally(self.size().0 - LEGEND_WIDTH);
        let xs = self.series.iter().flat_map(|s| s.points.iter().map(|(x, _)| *x));
        let x_top = super::axis_top(xs.max().unwrap_or(0), 4) as f64;
        let peaks = self.series.iter().map(|s| s.points.iter().map(|(_, y)| *y).max().unwrap_or(0));
        let axis = ValueAxis::new(
            Scale::for_values(peaks),
            self.series.iter().flat_map(|s| s.points.iter().map(|(_, y)| *y)),
            8,
        );
        let mut chart = ChartBuilder::on(&plot)
            .margin(14)
            .x_label_area_size(52)
            .y_label_area_size(96)
            .build_cartesian_2d(0f64..x_top, axis.coord(0.02))?;
        chart
            .configure_mesh()
            .x_desc(self.x_desc.as_str())
            .y_desc(axis.describe(&self.y_desc))
            .x_labels(10)
            .x_label_formatter(&|x| grouped(x.round().max(0.0) as u64))
            .y_label_formatter(&|p| axis.label(p))
            .label_style((FONT, TICK_LABEL_SIZE))
            .axis_desc_style((FONT, AXIS_DESC_SIZE))
            .max_light_lines(1)
            .light_line_style(RGBColor(238, 238, 238))
            .draw()?;
        // Series often agree exactly (huge pages split copy what no huge
        // pages copy): each is drawn narrower than the one before, so one
        // on top of another still shows both colours.
        for (i, series) in self.series.iter().enumerate() {
            let points: Vec<(f64, f64)> = series.points.iter().map(|&(x, y)| (x as f64, axis.position(y))).collect();
            chart.draw_series(LineSeries::new(points.clone(), series.colour.stroke_width(line_width(i))))?;
            chart.draw_series(points.into_iter().map(|p| Circle::new(p, marker_radius(i), series.colour.filled())))?;
        }
        let entries: Vec<LegendEntry> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| LegendEntry { label: s.label.clone(), colour: s.colour, swatch: Swatch::Line(line_width(i)) })
            .collect();
        draw_legend(&legend, Some(&self.legend), &entries, 40)
    }
}

/// The width of the `index`-th line: 8 pixels for the first, 3 fewer for
/// each after, 2 at least.
fn line_width(index: usize) -> u32 {
    8u32.saturating_sub(3 * index as u32).max(2)
}

/// The marker of the `index`-th line, a little wider than the line.
fn marker_radius(index: usize) -> u32 {
    line_width(index) / 2 + 3
}
