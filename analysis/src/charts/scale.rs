//! The value axis of a chart: linear, or logarithmic when the values a
//! chart compares span more than [`LOG_SPAN`] times.
//!
//! The designs differ by orders of magnitude: `eager` copies a hundred
//! times more pages than any copy-on-write design, and one design's shadow
//! chain grows to a thousand objects while another's stays at two. On a
//! linear axis the small values are all flattened onto the bottom line, and
//! the differences among them, which are what a comparison is for, vanish.
//! A log axis gives every decade the same height.
//!
//! Everything drawn here is a count, a whole number, so a log axis needs
//! room only for values of 1 and up and for 0. The axis starts at the
//! decade at or below the smallest value that is not 0, and 0 gets a level
//! of its own one decade lower, labelled `0`: bars grow from it, and a line
//! at 0 is drawn along it. Ticks sit on the decades and are labelled in
//! full (`1 000`), with light grid lines at 2 and 5 times each decade.
//!
//! A chart works in *positions*: the value itself on a linear axis, its
//! base-10 logarithm on a log axis. [`ValueAxis::position`] turns a count
//! into a position, and the axis's key points and labels are fixed here, so
//! plotters never picks a tick between two decades.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;

/// The ratio of the largest to the smallest value (not 0) above which an
/// axis is logarithmic. At 50× the smallest bar of a linear chart is 2 % of
/// the tallest, a few pixels: too little to compare with its neighbours.
pub const LOG_SPAN: u64 = 50;

/// Whether an axis is linear or logarithmic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    Linear,
    Log,
}

impl Scale {
    /// [`Scale::Log`] when the largest of `values` is more than
    /// [`LOG_SPAN`] times the smallest one that is not 0.
    pub fn for_values(values: impl IntoIterator<Item = u64>) -> Scale {
        let (smallest, largest) =
            values.into_iter().filter(|v| *v > 0).fold((u64::MAX, 0), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if largest > smallest.saturating_mul(LOG_SPAN) { Scale::Log } else { Scale::Linear }
    }
}

/// A value axis fitted to the values it shows.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueAxis {
    scale: Scale,
    /// The bottom and top of the axis, in positions.
    bottom: f64,
    top: f64,
    /// On a log axis, the decades (exponents) from the lowest shown to the
    /// highest below the top.
    decades: Range<i32>,
}

impl ValueAxis {
    /// An axis on `scale` from 0 to above the largest of `values`, with
    /// `headroom_percent` of the axis's height left free above it (for the
    /// labels on top of bars).
    pub fn new(scale: Scale, values: impl IntoIterator<Item = u64>, headroom_percent: u64) -> ValueAxis {
        let values: Vec<u64> = values.into_iter().collect();
        let largest = values.iter().copied().max().unwrap_or(0);
        let smallest = values.iter().copied().filter(|v| *v > 0).min();
        match (scale, smallest) {
            (Scale::Log, Some(smallest)) => {
                let lowest = decade_of(smallest);
                let bottom = f64::from(lowest - 1);
                let highest = (largest as f64).log10();
                let top = highest + (highest - bottom) * headroom_percent as f64 / 100.0;
                let top = top.max(f64::from(lowest) + 1.0);
                ValueAxis { scale: Scale::Log, bottom, top, decades: lowest..top.floor() as i32 + 1 }
            }
            _ => {
                let top = super::axis_top(largest, headroom_percent) as f64;
                ValueAxis { scale: Scale::Linear, bottom: 0.0, top, decades: 0..0 }
            }
        }
    }

    pub fn scale(&self) -> Scale {
        self.scale
    }

    /// Where `value` is drawn on the axis.
    pub fn position(&self, value: u64) -> f64 {
        match self.scale {
            Scale::Linear => value as f64,
            Scale::Log if value == 0 => self.bottom,
            Scale::Log => (value as f64).log10(),
        }
    }

    /// The axis from bottom to top, in positions.
    pub fn range(&self) -> Range<f64> {
        self.bottom..self.top
    }

    /// The axis as a plotters coordinate with its own ticks, widened by
    /// `pad` of its height on both ends (so a wide line along the bottom is
    /// not cut in half by the plot's edge).
    pub fn coord(&self, pad: f64) -> AxisCoord {
        let room = (self.top - self.bottom) * pad;
        AxisCoord {
            inner: ((self.bottom - room)..(self.top + room)).into(),
            ticks: self.ticks(),
            light_ticks: self.light_ticks(),
        }
    }

    /// The labelled ticks: 0 and every decade on a log axis, a round step
    /// on a linear one.
    pub fn ticks(&self) -> Vec<f64> {
        match self.scale {
            Scale::Log => std::iter::once(self.bottom).chain(self.decades.clone().map(f64::from)).collect(),
            Scale::Linear => {
                let step = round_step(self.top, 10);
                (0..).map(|i| i as f64 * step).take_while(|v| *v <= self.top).collect()
            }
        }
    }

    /// Unlabelled grid lines: 2 and 5 times each decade on a log axis.
    fn light_ticks(&self) -> Vec<f64> {
        match self.scale {
            Scale::Linear => Vec::new(),
            Scale::Log => self
                .decades
                .clone()
                .flat_map(|d| [2.0f64, 5.0].map(|m| f64::from(d) + m.log10()))
                .filter(|p| *p <= self.top)
                .collect(),
        }
    }

    /// The label of a tick at `position`.
    pub fn label(&self, position: &f64) -> String {
        match self.scale {
            Scale::Linear => grouped(position.round().max(0.0) as u64),
            Scale::Log if *position == self.bottom => "0".to_string(),
            Scale::Log => grouped(10u64.saturating_pow(position.round().max(0.0) as u32)),
        }
    }

    /// An axis description saying which scale it is: `desc` as it is on a
    /// linear axis, with `, log scale` added on a log one.
    pub fn describe(&self, desc: &str) -> String {
        match self.scale {
            Scale::Linear => desc.to_string(),
            Scale::Log => format!("{desc}, log scale"),
        }
    }
}

/// A [`ValueAxis`] as plotters sees it: a straight `f64` range whose tick
/// marks and grid lines are the axis's own. (plotters' `WithKeyPoints`
/// would do, but its `f64` range has no default label formatting, which
/// the mesh insists on even when every label is formatted by the chart.)
pub struct AxisCoord {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
    light_ticks: Vec<f64>,
}

impl Ranged for AxisCoord {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() { self.light_ticks.clone() } else { self.ticks.clone() }
    }
}

/// The exponent of the decade at or below `value` (not 0): 0 for 1 to 9,
/// 1 for 10 to 99, and so on. Counted in integers, so 1000 is exactly 3.
fn decade_of(value: u64) -> i32 {
    value.checked_ilog10().map_or(0, |d| d as i32)
}

/// A tick step of 1, 2 or 5 times a power of ten (and at least 1, as every
/// value is a whole number) giving at most `most` steps up to `top`.
fn round_step(top: f64, most: u32) -> f64 {
    let mut decade = 1.0;
    loop {
        for multiple in [1.0, 2.0, 5.0] {
            let step = multiple * decade;
            if top / step <= f64::from(most) {
                return step;
            }
        }
        decade *= 10.0;
    }
}

/// A whole number with its thousands set apart by spaces, as the README
/// writes them: `384 000`.
pub fn grouped(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_spanning_more_than_fifty_times_go_on_a_log_axis() {
        assert_eq!(Scale::for_values([384_000, 3000, 1500, 0]), Scale::Log);
        assert_eq!(Scale::for_values([50, 1]), Scale::Linear);
        assert_eq!(Scale::for_values([51, 1]), Scale::Log);
        assert_eq!(Scale::for_values([8192, 281]), Scale::Linear);
        assert_eq!(Scale::for_values([0, 0]), Scale::Linear);
        assert_eq!(Scale::for_values([]), Scale::Linear);
    }

    #[test]
    fn a_log_axis_has_zero_below_its_lowest_decade_and_labels_every_decade() {
        let axis = ValueAxis::new(Scale::Log, [128_000, 2000, 0], 10);
        assert_eq!(axis.position(0), 2.0);
        assert_eq!(axis.position(1000), 3.0);
        assert_eq!(axis.ticks(), [2.0, 3.0, 4.0, 5.0]);
        let labels: Vec<String> = axis.ticks().iter().map(|t| axis.label(t)).collect();
        assert_eq!(labels, ["0", "1 000", "10 000", "100 000"]);
        assert!(axis.range().end > axis.position(128_000));
        assert_eq!(axis.describe("pages copied (count)"), "pages copied (count), log scale");
    }

    #[test]
    fn a_linear_axis_ticks_in_round_steps() {
        let axis = ValueAxis::new(Scale::Linear, [4, 1], 10);
        assert_eq!(axis.ticks(), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        let axis = ValueAxis::new(Scale::Linear, [8192, 281], 12);
        assert_eq!(axis.ticks().get(1), Some(&1000.0));
        assert_eq!(axis.describe("pages"), "pages");
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1 000");
        assert_eq!(grouped(384_000), "384 000");
        assert_eq!(grouped(1_000_000), "1 000 000");
    }
}
