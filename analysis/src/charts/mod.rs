//! Charts of comparison runs, drawn with plotters as SVG and PNG.
//!
//! Every chart is a value implementing [`Chart`]: it knows its size and how
//! to draw itself on *any* plotters backend, so one piece of drawing code
//! makes both the SVG and the PNG, and the two always show the same thing.
//!
//! Four rules keep the pictures trustworthy and reproducible:
//!
//! - **Text comes from an embedded font.** DejaVu Sans (the `dejavu`
//!   crate) is registered with plotters' `ab_glyph` renderer under the name
//!   `sans-serif`, so PNGs render identically on a machine with no system
//!   fonts at all. (SVGs name `sans-serif` and let the viewer draw it.)
//! - **A policy has one colour everywhere,** chosen by its position in
//!   `PolicyKind::ALL`, and a fault kind has one colour everywhere; see
//!   [`policy_colour`] and [`fault_colour`].
//! - **Small differences stay visible.** The designs differ by orders of
//!   magnitude, so an axis whose values span more than 50 times is
//!   logarithmic and says so ([`scale`]), heat tables shade on log scales
//!   ([`heat`]), counts are drawn as steps, not ramps ([`lines`]), and a
//!   fraction is never rounded to a 1 it is not.
//! - **Bytes depend only on the data.** No timestamps, no paths, no hash
//!   map order: the same reports give byte-identical files. The PNG is
//!   encoded by the `png` crate from plotters' RGB buffer.
//!
//! The chart kinds: [`bars`] (faults by kind per policy, stacked; page
//! copies per policy), [`lines`] (values over the run, one line per policy)
//! and [`heat`] (a table of one number per input and policy, shaded);
//! [`scale`] is the value axis the bars and lines share.

use plotters::coord::Shift;
use plotters::prelude::*;
use sim::report::Faults;
use sim::{FaultKind, PolicyKind};

pub mod bars;
pub mod comparison;
pub mod heat;
pub mod lines;
pub mod scale;
pub mod xy;

/// The font family every chart names; registered once from DejaVu Sans.
pub const FONT: &str = "sans-serif";

/// Text sizes in pixels, chosen to be readable at a glance on a 1000-pixel
/// wide chart.
pub const TITLE_SIZE: u32 = 26;
pub const AXIS_DESC_SIZE: u32 = 19;
pub const TICK_LABEL_SIZE: u32 = 16;
pub const LEGEND_SIZE: u32 = 17;
pub const VALUE_LABEL_SIZE: u32 = 15;

/// What drawing on a backend returns.
pub type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A chart that can draw itself on any plotters backend.
pub trait Chart {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the whole chart on `root`, which is already filled white.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

/// Why a chart could not be made. Both are bugs or resource problems, not
/// bad input.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("drawing a chart failed: {0}")]
    Draw(String),
    #[error("encoding a PNG failed: {0}")]
    Png(#[from] png::EncodingError),
}

/// The chart as an SVG document.
pub fn render_svg(chart: &impl Chart) -> Result<String, ChartError> {
    register_fonts();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, chart.size()).into_drawing_area();
        draw_on(chart, &root)?;
    }
    Ok(svg)
}

/// The chart as a PNG file's bytes (8-bit RGB).
pub fn render_png(chart: &impl Chart) -> Result<Vec<u8>, ChartError> {
    register_fonts();
    let (width, height) = chart.size();
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        draw_on(chart, &root)?;
    }
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(bytes)
}

fn draw_on<DB: DrawingBackend>(chart: &impl Chart, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
    let problem = |e: DrawingAreaErrorKind<DB::ErrorType>| ChartError::Draw(e.to_string());
    root.fill(&WHITE).map_err(problem)?;
    chart.draw(root).map_err(problem)?;
    root.present().map_err(problem)
}

/// Registers DejaVu Sans as `sans-serif` (regular and bold), once per
/// process. Plotters keeps fonts in a global table.
fn register_fonts() {
    static FONTS: std::sync::Once = std::sync::Once::new();
    FONTS.call_once(|| {
        // `InvalidFont` has no Debug, so map it before expecting: the
        // embedded fonts are known-good, a failure here is a broken build.
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| "DejaVu Sans")
            .expect("the embedded DejaVu Sans parses");
        plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold())
            .map_err(|_| "DejaVu Sans Bold")
            .expect("the embedded DejaVu Sans Bold parses");
    });
}

/// Colours for policies, handed out in the order of `PolicyKind::ALL`.
/// The reference (`eager`, first) is a neutral dark grey; the rest are the
/// Okabe–Ito colour-blind-safe colours, then a few of Paul Tol's.
pub const POLICY_PALETTE: [RGBColor; 10] = [
    RGBColor(0x44, 0x44, 0x44),
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0x88, 0x22, 0x55),
    RGBColor(0x99, 0x99, 0x33),
    RGBColor(0x33, 0x22, 0x88),
];

/// The colour of a policy: the same in every chart.
pub fn policy_colour(policy: PolicyKind) -> RGBColor {
    let index = PolicyKind::ALL.iter().position(|p| *p == policy).unwrap_or(0);
    POLICY_PALETTE[index % POLICY_PALETTE.len()]
}

/// The colour of a fault kind: the same in every chart. Copies are red,
/// the cheap kinds pale, failures purple.
pub fn fault_colour(kind: FaultKind) -> RGBColor {
    match kind {
        FaultKind::ZeroFill => RGBColor(0xA6, 0xCE, 0xE3),
        FaultKind::ZeroPage => RGBColor(0x1F, 0x78, 0xB4),
        FaultKind::PageIn => RGBColor(0xB2, 0xDF, 0x8A),
        FaultKind::Map => RGBColor(0x33, 0xA0, 0x2C),
        FaultKind::CowCopy => RGBColor(0xE3, 0x1A, 0x1C),
        FaultKind::CowMove => RGBColor(0xFB, 0x9A, 0x99),
        FaultKind::Reuse => RGBColor(0xFD, 0xBF, 0x6F),
        FaultKind::Segv => RGBColor(0x6A, 0x3D, 0x9A),
        FaultKind::Protection => RGBColor(0xCA, 0xB2, 0xD6),
    }
}

/// A report's count of one fault kind.
pub fn fault_count(faults: &Faults, kind: FaultKind) -> u64 {
    match kind {
        FaultKind::ZeroFill => faults.zero_fill,
        FaultKind::ZeroPage => faults.zero_page,
        FaultKind::PageIn => faults.page_in,
        FaultKind::Map => faults.map,
        FaultKind::CowCopy => faults.cow_copy,
        FaultKind::CowMove => faults.cow_move,
        FaultKind::Reuse => faults.reuse,
        FaultKind::Segv => faults.segv,
        FaultKind::Protection => faults.protection,
    }
}

/// Draws `title` across the top of `root`, with some air above it, and
/// returns the area below.
pub fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    root.margin(14, 0, 0, 0).titled(title, (FONT, TITLE_SIZE))
}

/// How a legend entry is marked: a filled box (bars) or a line of a given
/// width (line charts).
#[derive(Clone, Copy, Debug)]
pub enum Swatch {
    Box,
    Line(u32),
}

/// One legend entry.
#[derive(Clone, Debug)]
pub struct LegendEntry {
    pub label: String,
    pub colour: RGBColor,
    pub swatch: Swatch,
}

/// Draws a legend as a column of entries in `area` (a strip beside the
/// plot, so it never hides data), starting `top` pixels down, under an
/// optional heading.
pub fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    heading: Option<&str>,
    entries: &[LegendEntry],
    top: i32,
) -> DrawResult<DB> {
    let text = (FONT, LEGEND_SIZE).into_font().color(&BLACK);
    let line_height = LEGEND_SIZE as i32 + 12;
    let mut y = top;
    if let Some(heading) = heading {
        area.draw(&Text::new(heading.to_string(), (10, y), (FONT, LEGEND_SIZE).into_font().style(FontStyle::Bold)))?;
        y += line_height;
    }
    for entry in entries {
        let middle = y + LEGEND_SIZE as i32 / 2;
        match entry.swatch {
            Swatch::Box => {
                area.draw(&Rectangle::new([(10, y), (34, y + LEGEND_SIZE as i32)], entry.colour.filled()))?;
            }
            Swatch::Line(width) => {
                area.draw(&PathElement::new(vec![(8, middle), (38, middle)], entry.colour.stroke_width(width)))?;
            }
        }
        area.draw(&Text::new(entry.label.clone(), (46, y), text.clone()))?;
        y += line_height;
    }
    Ok(())
}

/// The legend entries of the policies in `policies`, in that order.
pub fn policy_legend(policies: &[PolicyKind], swatch: impl Fn(usize) -> Swatch) -> Vec<LegendEntry> {
    policies
        .iter()
        .enumerate()
        .map(|(i, p)| LegendEntry { label: p.name().to_string(), colour: policy_colour(*p), swatch: swatch(i) })
        .collect()
}

/// An axis maximum with headroom above `largest`, never zero (plotters
/// needs a non-empty range).
pub fn axis_top(largest: u64, headroom_percent: u64) -> u64 {
    (largest + largest * headroom_percent / 100).max(largest + 1).max(1)
}

/// Every text an SVG shows, trimmed, in order: what a test reads off a
/// chart (plotters puts each text on a line of its own).
#[cfg(test)]
pub(crate) fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|element| Some(element.split_once('>')?.1.split("</text>").next()?.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_policy_has_its_own_colour() {
        let colours: Vec<RGBColor> = PolicyKind::ALL.iter().map(|p| policy_colour(*p)).collect();
        for (i, a) in colours.iter().enumerate() {
            for b in &colours[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn axis_top_is_never_empty() {
        assert_eq!(axis_top(0, 10), 1);
        assert_eq!(axis_top(100, 10), 110);
        assert_eq!(axis_top(3, 10), 4);
    }
}
