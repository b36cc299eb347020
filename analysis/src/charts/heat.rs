//! A heat table: one number per input (row) and policy (column), written
//! in the cell and shaded.
//!
//! Two shadings, one per kind of number:
//!
//! - **Counts** ([`HeatTable::counts`]) are shaded by their share of the
//!   row's largest value. Inputs differ in size by orders of magnitude, so
//!   one bar axis for all of them would flatten the small ones. Shading
//!   within a row instead answers the question a comparison asks of each
//!   input: which policy did the least (pale) and which the most (dark) of
//!   this work?
//! - **Fractions** ([`HeatTable::fractions`]), such as the agreement with a
//!   real kernel, are already on one scale: 0 is white, 1 the darkest.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use sim::PolicyKind;

use super::{Chart, DrawResult, FONT, LEGEND_SIZE, TICK_LABEL_SIZE, TITLE_SIZE, policy_colour};

/// The darkest shade, for a row's largest value.
const DARKEST: RGBColor = RGBColor(0x21, 0x66, 0xAC);

const TITLE_HEIGHT: u32 = 56;
const NOTE_HEIGHT: u32 = 40;
const HEADER_HEIGHT: u32 = 48;
const ROW_HEIGHT: u32 = 44;
const COLUMN_WIDTH: u32 = 160;
const SIDE_MARGIN: u32 = 24;

/// One cell: the text written in it and how dark it is, from 0 (white)
/// to 1 (the darkest shade).
#[derive(Clone, Debug, PartialEq)]
pub struct HeatCell {
    pub text: String,
    pub shade: f64,
}

/// One number per input and policy.
pub struct HeatTable {
    pub title: String,
    /// A line under the title saying what the numbers are.
    pub note: String,
    pub policies: Vec<PolicyKind>,
    /// Row label and one cell per policy.
    pub rows: Vec<(String, Vec<HeatCell>)>,
}

impl HeatTable {
    /// A table of counts, each shaded by its share of its row's largest
    /// value; `None` (a failed run) is written `failed`, unshaded.
    pub fn counts(
        title: String,
        note: String,
        policies: Vec<PolicyKind>,
        rows: Vec<(String, Vec<Option<u64>>)>,
    ) -> Self {
        let rows = rows
            .into_iter()
            .map(|(label, values)| {
                let largest = values.iter().flatten().copied().max().unwrap_or(0);
                let cells = values
                    .iter()
                    .map(|value| match value {
                        Some(v) => HeatCell {
                            text: v.to_string(),
                            shade: if largest > 0 { *v as f64 / largest as f64 } else { 0.0 },
                        },
                        None => HeatCell { text: "failed".to_string(), shade: 0.0 },
                    })
                    .collect();
                (label, cells)
            })
            .collect();
        HeatTable { title, note, policies, rows }
    }

    /// A table of fractions from 0 to 1, written with three decimals and
    /// shaded by their value; `None` is written `-`, unshaded.
    pub fn fractions(
        title: String,
        note: String,
        policies: Vec<PolicyKind>,
        rows: Vec<(String, Vec<Option<f64>>)>,
    ) -> Self {
        let rows = rows
            .into_iter()
            .map(|(label, values)| {
                let cells = values
                    .iter()
                    .map(|value| match value {
                        Some(v) => HeatCell { text: format!("{v:.3}"), shade: *v },
                        None => HeatCell { text: "-".to_string(), shade: 0.0 },
                    })
                    .collect();
                (label, cells)
            })
            .collect();
        HeatTable { title, note, policies, rows }
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
        let height = TITLE_HEIGHT + NOTE_HEIGHT + HEADER_HEIGHT + ROW_HEIGHT * self.rows.len() as u32 + SIDE_MARGIN;
        (width.max(1000), height)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let width = self.size().0 as i32;
        let centred = |size: u32| (FONT, size).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Center));
        root.draw(&Text::new(self.title.clone(), (width / 2, TITLE_HEIGHT as i32 / 2 + 4), centred(TITLE_SIZE)))?;
        let note_y = (TITLE_HEIGHT + NOTE_HEIGHT / 2) as i32;
        root.draw(&Text::new(self.note.clone(), (width / 2, note_y), centred(LEGEND_SIZE)))?;

        let table_width = self.label_width() + COLUMN_WIDTH * self.policies.len() as u32;
        let left = (width - table_width as i32) / 2;
        let top = (TITLE_HEIGHT + NOTE_HEIGHT) as i32;
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
    let ink = if cell.shade > 0.55 { WHITE } else { BLACK };
    let style = (FONT, TICK_LABEL_SIZE + 1).into_font().color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
    root.draw(&Text::new(cell.text.clone(), (x + COLUMN_WIDTH as i32 / 2, y + ROW_HEIGHT as i32 / 2), style))
}

/// White for 0, [`DARKEST`] for 1, straight between.
fn shade(share: f64) -> RGBColor {
    let share = share.clamp(0.0, 1.0);
    let mix = |dark: u8| (255.0 - (255.0 - f64::from(dark)) * share).round() as u8;
    RGBColor(mix(DARKEST.0), mix(DARKEST.1), mix(DARKEST.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shades_run_from_white_to_the_darkest() {
        assert_eq!(shade(0.0), WHITE);
        assert_eq!(shade(1.0), DARKEST);
        assert_eq!(shade(7.0), DARKEST);
    }

    #[test]
    fn counts_are_shaded_within_their_row_and_fractions_by_value() {
        let policies = vec![PolicyKind::Eager, PolicyKind::GnuMach];
        let counts =
            HeatTable::counts(String::new(), String::new(), policies.clone(), vec![("a".into(), vec![Some(50), None])]);
        assert_eq!(
            counts.rows[0].1,
            [HeatCell { text: "50".into(), shade: 1.0 }, HeatCell { text: "failed".into(), shade: 0.0 }]
        );
        let fractions =
            HeatTable::fractions(String::new(), String::new(), policies, vec![("a".into(), vec![Some(0.25), None])]);
        assert_eq!(
            fractions.rows[0].1,
            [HeatCell { text: "0.250".into(), shade: 0.25 }, HeatCell { text: "-".into(), shade: 0.0 }]
        );
    }
}
