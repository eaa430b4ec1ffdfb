//! Drawing a chart to SVG or PNG with plotters: one drawing routine per
//! chart, generic over the backend, so both formats show the same thing.
//!
//! SVG text is left to the viewer's sans-serif font. PNG text is rasterised
//! with an embedded subset of DejaVu Sans (`assets/fonts/`, Bitstream Vera
//! licence), so PNGs look the same on every machine and need no system font.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::mode::Mode;
use crate::score::Measure;

/// The font PNG text is drawn with (see `assets/fonts/LICENSE.md`).
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-subset.ttf");

/// What drawing a chart on a backend returns.
pub type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A chart: its size, and how it draws itself on any plotters backend.
pub trait Chart {
    /// Width and height in pixels (SVG user units).
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

/// Output formats, chosen by file extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Png,
    Svg,
}

/// Why a chart could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("{}: a chart is written as .png or .svg (the file name says which)", .0.display())]
    UnknownFormat(PathBuf),
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    #[error("encoding the PNG failed: {0}")]
    Png(String),
    #[error("cannot write {}: {error}", path.display())]
    Io { path: PathBuf, error: std::io::Error },
}

impl Format {
    /// The format a file name asks for.
    pub fn of(path: &Path) -> Result<Self, ChartError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("png") => Ok(Format::Png),
            Some("svg") => Ok(Format::Svg),
            _ => Err(ChartError::UnknownFormat(path.to_owned())),
        }
    }
}

/// Colours of the three modes and their combination (Okabe-Ito palette,
/// safe for colour-blind readers; grey is left to chance lines).
pub fn mode_color(measure: impl Into<Measure>) -> RGBColor {
    match measure.into() {
        Measure::Combined => RGBColor(204, 121, 167),
        Measure::Mode(Mode::Both) => RGBColor(0, 114, 178),
        Measure::Mode(Mode::Harmonic) => RGBColor(0, 158, 115),
        Measure::Mode(Mode::Percussive) => RGBColor(230, 159, 0),
    }
}

/// Grid lines: light enough to read values against, quiet enough to ignore.
pub const GRID: RGBColor = RGBColor(226, 226, 226);

/// Colours for series that are not modes (candidates, kinds), in turn.
pub fn series_color(i: usize) -> RGBColor {
    const COLORS: [RGBColor; 8] = [
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(230, 159, 0),
        RGBColor(86, 180, 233),
        RGBColor(120, 120, 120),
        RGBColor(0, 0, 0),
    ];
    COLORS[i % COLORS.len()]
}

/// The font family every chart uses: the embedded font on bitmaps.
pub fn font(size: f64) -> TextStyle<'static> {
    register_font();
    TextStyle::from(("sans-serif", size).into_font())
}

fn register_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The font is part of the binary and was checked when it was added:
        // failing here would be a build defect.
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .unwrap_or_else(|_| panic!("the embedded chart font is not a valid TrueType file"));
    });
}

/// The chart as an SVG document.
pub fn to_svg(chart: &impl Chart) -> Result<String, ChartError> {
    register_font();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, chart.size()).into_drawing_area();
        draw_on(chart, &root)?;
    }
    Ok(svg)
}

/// The chart as a PNG image (8-bit RGB).
pub fn to_png(chart: &impl Chart) -> Result<Vec<u8>, ChartError> {
    register_font();
    let (width, height) = chart.size();
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        draw_on(chart, &root)?;
    }
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| ChartError::Png(e.to_string()))?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| ChartError::Png(e.to_string()))?;
    writer.finish().map_err(|e| ChartError::Png(e.to_string()))?;
    Ok(png)
}

fn draw_on<DB: DrawingBackend>(chart: &impl Chart, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
    let draw_error = |e: &dyn std::fmt::Debug| ChartError::Draw(format!("{e:?}"));
    root.fill(&WHITE).map_err(|e| draw_error(&e))?;
    chart.draw(root).map_err(|e| draw_error(&e))?;
    root.present().map_err(|e| draw_error(&e))
}

/// Writes the chart to `path` as PNG or SVG, by its extension (atomically).
pub fn write(chart: &impl Chart, path: &Path) -> Result<(), ChartError> {
    let bytes = match Format::of(path)? {
        Format::Png => to_png(chart)?,
        Format::Svg => to_svg(chart)?.into_bytes(),
    };
    crate::atomic_file::write_bytes(path, &bytes).map_err(|error| ChartError::Io {
        path: path.to_owned(),
        error,
    })
}

/// Draws the legend of a chart's labelled series, in the same style on every chart.
pub fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> DrawResult<DB> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .label_font(font(14.0))
        .draw()
}

/// Height of one row of a legend strip, pixels.
pub const LEGEND_ROW: u32 = 28;

/// A legend item's colour swatch, the gap after it and the space between items, pixels.
const SWATCH: i32 = 14;
const SWATCH_GAP: i32 = 6;
const ITEM_SPACING: i32 = 24;

/// One row of a legend strip: its items as (item index, left x).
type LegendRow = Vec<(usize, i32)>;

/// The rows of a legend strip as wide as `area`: each row's items as
/// (item index, left x), the row centred. Items fill a row in order until
/// the next would not fit; one wider than the strip gets a row of its own.
fn legend_layout<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(&str, RGBColor)],
) -> Result<Vec<LegendRow>, DrawingAreaErrorKind<DB::ErrorType>> {
    let style = font(14.0);
    let width = area.dim_in_pixel().0 as i32;
    let mut rows: Vec<LegendRow> = Vec::new();
    let mut row_width = 0;
    for (i, (label, _)) in items.iter().enumerate() {
        let item = SWATCH + SWATCH_GAP + area.estimate_text_size(label, &style)?.0 as i32;
        match rows.last_mut() {
            Some(row) if row_width + ITEM_SPACING + item <= width => {
                row.push((i, row_width + ITEM_SPACING));
                row_width += ITEM_SPACING + item;
            }
            _ => {
                centre(rows.last_mut(), row_width, width);
                rows.push(vec![(i, 0)]);
                row_width = item;
            }
        }
    }
    centre(rows.last_mut(), row_width, width);
    Ok(rows)
}

/// Moves a finished legend row `used` pixels wide to the middle of `width`.
fn centre(row: Option<&mut LegendRow>, used: i32, width: i32) {
    let offset = (width - used).max(0) / 2;
    for (_, x) in row.into_iter().flatten() {
        *x += offset;
    }
}

/// The height a [`draw_legend_strip`] of `items` needs on `area`'s width:
/// [`LEGEND_ROW`] per row.
pub fn legend_strip_height<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(&str, RGBColor)],
) -> Result<u32, DrawingAreaErrorKind<DB::ErrorType>> {
    Ok(LEGEND_ROW * legend_layout(area, items)?.len() as u32)
}

/// A legend on its own strip (`area`, [`legend_strip_height`] high, below
/// a chart), its rows centred: unlike a legend inside the plotting area, it
/// never covers data, wherever the bars or lines reach.
pub fn draw_legend_strip<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(&str, RGBColor)],
) -> DrawResult<DB> {
    let style = font(14.0).pos(Pos::new(HPos::Left, VPos::Center));
    for (r, row) in legend_layout(area, items)?.into_iter().enumerate() {
        let y = LEGEND_ROW as i32 * r as i32 + LEGEND_ROW as i32 / 2;
        for (i, x) in row {
            let (label, color) = items[i];
            area.draw(&Rectangle::new(
                [(x, y - SWATCH / 2), (x + SWATCH, y + SWATCH / 2)],
                color.filled(),
            ))?;
            area.draw_text(label, &style, (x + SWATCH + SWATCH_GAP, y))?;
        }
    }
    Ok(())
}

/// A padded [low, high] range around `values` (a unit range around a single value).
pub fn padded_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (low, high) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !low.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((high - low) * 0.08).max(0.5);
    (low - pad, high + pad)
}

/// Shortens a label to `max` characters, keeping its end (file names differ at the end).
pub fn shorten(label: &str, max: usize) -> String {
    let chars: Vec<char> = label.chars().collect();
    if chars.len() <= max {
        return label.to_string();
    }
    let tail: String = chars[chars.len() - (max - 1)..].iter().collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_the_extension() {
        assert_eq!(Format::of(Path::new("a/b.PNG")).unwrap(), Format::Png);
        assert_eq!(Format::of(Path::new("b.svg")).unwrap(), Format::Svg);
        assert!(Format::of(Path::new("b.jpg")).is_err());
        assert!(Format::of(Path::new("png")).is_err());
    }

    #[test]
    fn ranges_and_labels() {
        assert_eq!(padded_range([f64::NAN].into_iter()), (0.0, 1.0));
        let (lo, hi) = padded_range([10.0, 20.0].into_iter());
        assert!(lo < 10.0 && hi > 20.0);
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("a-very-long-name.wav", 8), "…ame.wav");
    }

    #[test]
    fn a_legend_wraps_into_centred_rows_that_fit_its_strip() {
        register_font();
        let mut svg = String::new();
        let area = SVGBackend::with_string(&mut svg, (960, 100)).into_drawing_area();
        let grey = RGBColor(90, 90, 90);
        let modes = [
            ("combined", grey),
            ("both", grey),
            ("harmonic", grey),
            ("percussive", grey),
        ];
        let rows = legend_layout(&area, &modes).unwrap();
        assert_eq!(rows.len(), 1);
        let (first, last) = (rows[0][0].1, rows[0][3].1);
        assert!(first > 200 && last < 760, "centred: {rows:?}");
        assert_eq!(legend_strip_height(&area, &modes).unwrap(), LEGEND_ROW);

        let long: Vec<String> = (0..6)
            .map(|i| format!("…candidate-with-a-long-file-name-{i}.wav"))
            .collect();
        let items: Vec<(&str, RGBColor)> = long.iter().map(|n| (n.as_str(), grey)).collect();
        let rows = legend_layout(&area, &items).unwrap();
        assert!(rows.len() >= 2, "{rows:?}");
        let order: Vec<usize> = rows.iter().flatten().map(|&(i, _)| i).collect();
        assert_eq!(order, [0, 1, 2, 3, 4, 5], "every item once, in order");
        assert!(rows.iter().flatten().all(|&(_, x)| (0..960).contains(&x)));
        assert_eq!(
            legend_strip_height(&area, &items).unwrap(),
            LEGEND_ROW * rows.len() as u32
        );
        assert!(legend_layout(&area, &[]).unwrap().is_empty());
    }
}
