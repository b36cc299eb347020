//! A heat table: one number per input (row) and policy (column), written
//! in the cell and shaded.
//!
//! Two shadings, one per kind of number, both logarithmic, because the
//! differences worth seeing are ratios:
//!
//! - **Counts** ([`HeatTable::counts`]) are shaded within their row, since
//!   inputs differ in size by orders of magnitude, on a log scale that
//!   runs from the row's smallest value among the copy-on-write designs
//!   (palest) to its largest (darkest); 0 is white. The range is widened
//!   to at least [`COUNT_SPAN_LEAST`] times, so values within a few per
//!   cent of each other look alike, and cut at [`COUNT_SPAN_MOST`] times,
//!   so one tiny value does not wash out the rest. `eager` is left out of
//!   the range: it copies everything, a hundred times more than the rest,
//!   and a range that reached up to it would leave every other design in
//!   the same corner of the scale. When `eager` is above the range its
//!   cell is the darkest and says how many times the range's top it is:
//!   `384000 (77×)`.
//! - **Fractions** ([`HeatTable::fractions`]), such as the agreement with a
//!   real kernel, cluster near 1, where 0.92 and 1 would look alike on a
//!   straight scale. They are shaded by how far they fall short of 1, on a
//!   log scale: 0 is white, each tenfold step closer to 1 a third of the
//!   way darker, and 0.999 or more the darkest. Their text has as many
//!   decimals as it takes not to write 0.9996 as `1.000`.
//!
//! The shades run through several hues (pale yellow, green, blue, dark
//! blue), so neighbouring steps differ in hue as well as in lightness.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use sim::PolicyKind;

use super::{Chart, DrawResult, FONT, LEGEND_SIZE, TICK_LABEL_SIZE, TITLE_SIZE, policy_colour};
use crate::compare::table::fraction_text;

/// The shades from the palest (a share just above 0) to the darkest (1),
/// ColorBrewer's YlGnBu; 0 itself is white.
const SHADES: [RGBColor; 5] = [
    RGBColor(0xED, 0xF8, 0xB1),
    RGBColor(0xA1, 0xDA, 0xB4),
    RGBColor(0x41, 0xB6, 0xC4),
    RGBColor(0x2C, 0x7F, 0xB8),
    RGBColor(0x25, 0x34, 0x94),
];

/// The least ratio a row's count shading spans: a row whose copy-on-write
/// designs are all within 4× of each other is shaded as if they spanned
/// 4×, so 35 307 and 35 558 faults look alike while 1 500 and 3 000
/// copies are half the scale apart.
pub const COUNT_SPAN_LEAST: f64 = 4.0;

/// The most a row's count shading spans: values more than 1000× below the
/// row's top all get the palest shade.
pub const COUNT_SPAN_MOST: f64 = 1000.0;

/// How many decades of falling short of 1 the fraction shading spans:
/// from 0 (white) to 0.999 (darkest).
const FRACTION_DECADES: f64 = 3.0;

/// Shades darker than this get white text.
const DARK_INK_FROM: f64 = 0.6;

const TITLE_HEIGHT: u32 = 56;
const NOTE_LINE_HEIGHT: u32 = 26;
const NOTE_MARGIN: u32 = 14;
const HEADER_HEIGHT: u32 = 48;
const ROW_HEIGHT: u32 = 44;
const COLUMN_WIDTH: u32 = 160;
const SIDE_MARGIN: u32 = 24;

/// One cell: the text written in it and how dark it is, from 0 (white)
/// to 1 (the darkest shade); anything above 0 is at least the palest
/// shade.
#[derive(Clone, Debug, PartialEq)]
pub struct HeatCell {
    pub text: String,
    pub shade: f64,
}

/// One number per input and policy.
pub struct HeatTable {
    pub title: String,
    /// Lines under the title saying what the numbers are and how they are
    /// shaded.
    pub note: Vec<String>,
    pub policies: Vec<PolicyKind>,
    /// Row label and one cell per policy.
    pub rows: Vec<(String, Vec<HeatCell>)>,
}

impl HeatTable {
    /// A table of counts, shaded within each row on a log scale whose top
    /// is the row's largest value among the policies other than `eager`
    /// (see the module doc); `None` (a failed run) is written `failed`,
    /// unshaded.
    pub fn counts(
        title: String,
        note: Vec<String>,
        policies: Vec<PolicyKind>,
        rows: Vec<(String, Vec<Option<u64>>)>,
    ) -> Self {
        let in_range: Vec<bool> = policies.iter().map(|p| *p != PolicyKind::Eager).collect();
        let rows = rows
            .into_iter()
            .map(|(label, values)| {
                let ranged: Vec<u64> =
                    values.iter().zip(&in_range).filter(|(_, ranged)| **ranged).filter_map(|(v, _)| *v).collect();
                let range = if ranged.is_empty() {
                    CountRange::of(values.iter().flatten().copied())
                } else {
                    CountRange::of(ranged)
                };
                let cells = values
                    .iter()
                    .map(|value| match value {
                        Some(v) => range.cell(*v),
                        None => HeatCell { text: "failed".to_string(), shade: 0.0 },
                    })
                    .collect();
                (label, cells)
            })
            .collect();
        HeatTable { title, note, policies, rows }
    }

    /// A table of fractions from 0 to 1, written with at least three
    /// decimals and shaded by how far they fall short of 1 (see the module
    /// doc); `None` is written `-`, unshaded.
    pub fn fractions(
        title: String,
        note: Vec<String>,
        policies: Vec<PolicyKind>,
        rows: Vec<(String, Vec<Option<f64>>)>,
    ) -> Self {
        let rows = rows
            .into_iter()
            .map(|(label, values)| {
                let cells = values
                    .iter()
                    .map(|value| match value {
                        Some(v) => HeatCell { text: fraction_text(*v), shade: fraction_shade(*v) },
                        None => HeatCell { text: "-".to_string(), shade: 0.0 },
                    })
                    .collect();
                (label, cells)
            })
            .collect();
        HeatTable { title, note, policies, rows }
    }

    fn note_height(&self) -> u32 {
        NOTE_LINE_HEIGHT * self.note.len() as u32 + NOTE_MARGIN
    }

    /// The label column's width: enough for the longest label at the tick
    /// label size (DejaVu Sans averages well under 0.62 em a character).
    fn label_width(&self) -> u32 {
        let longest = self.rows.iter().map(|(label, _)| label.chars().count()).max().unwrap_or(0) as u32;
        (longest * TICK_LABEL_SIZE * 62 / 100 + 24).clamp(140, 420)
    }
}

impl Chart for HeatTable {
    fn size(&self) -> (u32, u32) {
        let width = 2 * SIDE_MARGIN + self.label_width() + COLUMN_WIDTH * self.policies.len() as u32;
        let height =
            TITLE_HEIGHT + self.note_height() + HEADER_HEIGHT + ROW_HEIGHT * self.rows.len() as u32 + SIDE_MARGIN;
        (width.max(1000), height)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let width = self.size().0 as i32;
        let centred = |size: u32| (FONT, size).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Center));
        root.draw(&Text::new(self.title.clone(), (width / 2, TITLE_HEIGHT as i32 / 2 + 4), centred(TITLE_SIZE)))?;
        for (i, line) in self.note.iter().enumerate() {
            let line_y = (TITLE_HEIGHT + NOTE_LINE_HEIGHT * i as u32 + NOTE_LINE_HEIGHT / 2) as i32;
            root.draw(&Text::new(line.clone(), (width / 2, line_y), centred(LEGEND_SIZE)))?;
        }

        let table_width = self.label_width() + COLUMN_WIDTH * self.policies.len() as u32;
        let left = (width - table_width as i32) / 2;
        let top = (TITLE_HEIGHT + self.note_height()) as i32;
        let columns_left = left + self.label_width() as i32;
        for (column, policy) in self.policies.iter().enumerate() {
            let x = columns_left + column as i32 * COLUMN_WIDTH as i32;
            let header = (FONT, TICK_LABEL_SIZE).into_font().style(FontStyle::Bold).color(&BLACK);
            let header = header.pos(Pos::new(HPos::Center, VPos::Center));
            let middle = x + COLUMN_WIDTH as i32 / 2;
            root.draw(&Text::new(policy.name().to_string(), (middle, top + HEADER_HEIGHT as i32 / 2 - 4), header))?;
            // A strip in the policy's colour ties the column to the other charts.
            let strip_y = top + HEADER_HEIGHT as i32 - 10;
            root.draw(&Rectangle::new(
                [(x + 6, strip_y), (x + COLUMN_WIDTH as i32 - 6, strip_y + 5)],
                policy_colour(*policy).filled(),
            ))?;
        }
        for (row, (label, cells)) in self.rows.iter().enumerate() {
            let y = top + HEADER_HEIGHT as i32 + row as i32 * ROW_HEIGHT as i32;
            let label_style =
                (FONT, TICK_LABEL_SIZE).into_font().color(&BLACK).pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(label.clone(), (columns_left - 12, y + ROW_HEIGHT as i32 / 2), label_style))?;
            for (column, cell) in cells.iter().enumerate() {
                let x = columns_left + column as i32 * COLUMN_WIDTH as i32;
                draw_cell(root, (x, y), cell)?;
            }
        }
        Ok(())
    }
}

/// Draws one cell with its top-left corner at `(x, y)`: the shade, a thin
/// grey border, and the text in ink that stays readable on the shade.
fn draw_cell<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, (x, y): (i32, i32), cell: &HeatCell) -> DrawResult<DB> {
    let corner = (x + COLUMN_WIDTH as i32, y + ROW_HEIGHT as i32);
    root.draw(&Rectangle::new([(x, y), corner], shade(cell.shade).filled()))?;
    root.draw(&Rectangle::new([(x, y), corner], RGBColor(200, 200, 200).stroke_width(1)))?;
    let ink = if cell.shade > DARK_INK_FROM { WHITE } else { BLACK };
    let style = (FONT, TICK_LABEL_SIZE + 1).into_font().color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
    root.draw(&Text::new(cell.text.clone(), (x + COLUMN_WIDTH as i32 / 2, y + ROW_HEIGHT as i32 / 2), style))
}

/// The range of one row's count shading: its top, and how many decades
/// below the top the palest shade is.
struct CountRange {
    top: u64,
    decades: f64,
}

impl CountRange {
    /// The range of `values`, widened or cut to the least and most span.
    fn of(values: impl IntoIterator<Item = u64>) -> CountRange {
        let (smallest, top) =
            values.into_iter().filter(|v| *v > 0).fold((u64::MAX, 0), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let span = if top == 0 { 1.0 } else { top as f64 / smallest as f64 };
        CountRange { top, decades: span.clamp(COUNT_SPAN_LEAST, COUNT_SPAN_MOST).log10() }
    }

    /// The cell of `value` in this row.
    fn cell(&self, value: u64) -> HeatCell {
        let text = value.to_string();
        if value == 0 {
            return HeatCell { text, shade: 0.0 };
        }
        if value <= self.top {
            let below = (self.top as f64 / value as f64).log10();
            return HeatCell { text, shade: (1.0 - below / self.decades).max(f64::MIN_POSITIVE) };
        }
        // Above the range: only `eager` can be, as every other value is in it.
        let text = if self.top == 0 { text } else { format!("{text} ({})", times(value as f64 / self.top as f64)) };
        HeatCell { text, shade: 1.0 }
    }
}

/// A ratio for a cell: `77×`, or `7.6×` below 10.
fn times(ratio: f64) -> String {
    if ratio >= 10.0 { format!("{ratio:.0}×") } else { format!("{ratio:.1}×") }
}

/// How dark a fraction's cell is: by how far it falls short of 1, a third
/// of the scale for each tenfold step closer.
fn fraction_shade(value: f64) -> f64 {
    if value <= 0.0 {
        return 0.0;
    }
    let short = (1.0 - value).max(0.0);
    let closeness = if short == 0.0 { FRACTION_DECADES } else { -short.log10() };
    (closeness / FRACTION_DECADES).clamp(f64::MIN_POSITIVE, 1.0)
}

/// White for 0; from the palest of [`SHADES`] just above 0 to the darkest
/// at 1, straight between neighbouring shades.
fn shade(share: f64) -> RGBColor {
    if share <= 0.0 {
        return WHITE;
    }
    let share = share.min(1.0);
    let steps = (SHADES.len() - 1) as f64;
    let index = ((share * steps).floor() as usize).min(SHADES.len() - 2);
    let within = share * steps - index as f64;
    let (from, to) = (SHADES[index], SHADES[index + 1]);
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * within).round() as u8;
    RGBColor(mix(from.0, to.0), mix(from.1, to.1), mix(from.2, to.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shades_run_from_white_through_the_palest_to_the_darkest() {
        assert_eq!(shade(0.0), WHITE);
        assert_eq!(shade(f64::MIN_POSITIVE), SHADES[0]);
        assert_eq!(shade(1.0), SHADES[4]);
        assert_eq!(shade(7.0), SHADES[4]);
        assert_eq!(shade(0.5), SHADES[2]);
    }

    /// The shell row of the built-in suite's pages copied: `eager` copies
    /// 384 000 pages, the copy-on-write designs 1 500 to 4 987. Shaded by
    /// share of the row's largest value, every lazy cell was the same pale
    /// blue; here two designs that differ by 2× get different colours.
    #[test]
    fn lazy_designs_that_differ_by_two_times_get_different_shades() {
        let policies = PolicyKind::ALL.to_vec();
        let shell = [384_000, 3000, 4987, 3000, 1500, 1500, 1500, 1500].map(Some).to_vec();
        let table = HeatTable::counts(String::new(), Vec::new(), policies.clone(), vec![("shell".into(), shell)]);
        let cells = &table.rows[0].1;
        let cell = |p: PolicyKind| &cells[policies.iter().position(|q| *q == p).unwrap()];
        let (gnumach, freebsd) = (cell(PolicyKind::GnuMach), cell(PolicyKind::FreeBsd));
        assert_ne!(shade(gnumach.shade), shade(freebsd.shade), "3000 and 1500 look alike");
        assert!(gnumach.shade - freebsd.shade > 0.4, "{} vs {}", gnumach.shade, freebsd.shade);
        // The largest lazy value is the darkest; eager, above it, is marked.
        assert_eq!(cell(PolicyKind::MachNoCollapse).shade, 1.0);
        assert_eq!(cell(PolicyKind::Eager), &HeatCell { text: "384000 (77×)".into(), shade: 1.0 });
    }

    #[test]
    fn counts_are_shaded_on_a_log_scale_within_their_row() {
        let policies = vec![PolicyKind::Eager, PolicyKind::GnuMach, PolicyKind::Linux, PolicyKind::Plan9];
        let table = |row: Vec<Option<u64>>| {
            HeatTable::counts(String::new(), Vec::new(), policies.clone(), vec![("a".into(), row)]).rows[0].1.clone()
        };
        let cells = table(vec![Some(5), Some(1000), Some(10), None]);
        assert_eq!(cells[0].text, "5", "eager within the range is shaded like the rest");
        assert!(cells[0].shade > 0.0 && shade(cells[0].shade) == SHADES[0], "below the range: palest");
        assert_eq!(cells[1].shade, 1.0);
        assert_eq!(shade(cells[2].shade), SHADES[0], "the smallest: palest");
        assert_eq!(cells[3], HeatCell { text: "failed".into(), shade: 0.0 });
        // Within 4×, the range is 4× wide: 2× is half of it, 1 % nothing.
        let cells = table(vec![None, Some(2000), Some(1000), Some(1990)]);
        assert!((cells[2].shade - 0.5).abs() < 1e-9, "{cells:?}");
        assert!(cells[3].shade > 0.99, "{cells:?}");
        // Spans wider than 1000× are cut there.
        let cells = table(vec![None, Some(1_000_000), Some(1000), Some(1)]);
        assert!(cells[2].shade > 0.0 && shade(cells[2].shade) == SHADES[0], "{cells:?}");
        let cells = table(vec![Some(0); 4]);
        assert!(cells.iter().all(|c| c.shade == 0.0 && c.text == "0"));
    }

    #[test]
    fn fractions_are_shaded_by_how_far_they_fall_short_of_one() {
        let policies = vec![PolicyKind::Eager, PolicyKind::GnuMach];
        let row = |v: Vec<Option<f64>>| vec![("a".to_string(), v)];
        let table = HeatTable::fractions(String::new(), Vec::new(), policies, row(vec![Some(4684.0 / 4686.0), None]));
        assert_eq!(table.rows[0].1[0].text, "0.9996");
        assert_eq!(table.rows[0].1[0].shade, 1.0);
        assert_eq!(table.rows[0].1[1], HeatCell { text: "-".into(), shade: 0.0 });
        assert_eq!(fraction_shade(0.0), 0.0);
        assert_eq!(fraction_shade(1.0), 1.0);
        assert!((fraction_shade(0.99) - 2.0 / 3.0).abs() < 1e-9);
        // The fidelity table's neighbours: 0.919 and 0.955 apart, 0.942 and 0.976.
        assert!(fraction_shade(0.955) - fraction_shade(0.919) > 0.08);
        assert!(fraction_shade(0.976) - fraction_shade(0.942) > 0.1);
    }
}
