//! The report's charts as SVG text, drawn with plotters' SVG backend: a funnel of trapezoids
//! (one per stage, as wide as the leads that reached it) and horizontal bar charts with an
//! optional reference mark per bar (the ideal rate, the stage's limit).
//!
//! Text stays text in the SVG, so the browser draws Chinese labels with the reader's fonts and
//! a test can find every label in the page.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use unicode_width::UnicodeWidthStr;

use crate::RenderError;
use crate::document::{Bars, Chart};

/// Width of every chart, in pixels.
const WIDTH: u32 = 900;
/// Pixels per terminal column of a label at [`LABEL_SIZE`] (a Chinese character is two).
const COLUMN_PIXELS: u32 = 7;
/// Height of one bar's row.
const ROW_HEIGHT: u32 = 34;
/// Room for the title and the x axis.
const CHROME_HEIGHT: u32 = 90;
/// Font size of labels (plotters divides by 1.24 when writing SVG).
const LABEL_SIZE: f64 = 16.0;
/// The family the browser resolves, Chinese included.
const FONT: &str = "sans-serif";
/// Bars and trapezoids.
const FILL: RGBColor = RGBColor(0x2b, 0x6c, 0xb0);
/// Reference marks.
const MARK: RGBColor = RGBColor(0xd9, 0x48, 0x1c);
/// Axis and value text.
const INK: RGBColor = RGBColor(0x33, 0x33, 0x33);

/// Draws `chart` as an `<svg>` element.
pub fn svg(chart: &Chart) -> Result<String, RenderError> {
    let failed = |reason: String| RenderError::Chart {
        chart: chart.id(),
        reason,
    };
    let mut text = String::new();
    match chart {
        Chart::Funnel { title, stages, .. } => {
            let height = CHROME_HEIGHT + ROW_HEIGHT * 2 * stages.len() as u32;
            let root = SVGBackend::with_string(&mut text, (WIDTH, height)).into_drawing_area();
            funnel(&root, title, stages).map_err(|err| failed(err.to_string()))?;
            root.present().map_err(|err| failed(err.to_string()))?;
        }
        Chart::Bars(bars) => {
            let height = CHROME_HEIGHT + ROW_HEIGHT * bars.bars.len().max(1) as u32;
            let root = SVGBackend::with_string(&mut text, (WIDTH, height)).into_drawing_area();
            horizontal_bars(&root, bars).map_err(|err| failed(err.to_string()))?;
            root.present().map_err(|err| failed(err.to_string()))?;
        }
    }
    Ok(text)
}

/// Pixels the longest of `labels` needs, by display width, within a third of the chart.
fn label_room<'a>(labels: impl Iterator<Item = &'a str>) -> u32 {
    let columns = labels.map(UnicodeWidthStr::width).max().unwrap_or(0);
    (u32::try_from(columns)
        .unwrap_or(u32::MAX)
        .saturating_mul(COLUMN_PIXELS)
        + 24)
        .min(WIDTH / 2)
}

type DrawResult = Result<(), DrawingAreaErrorKind<std::io::Error>>;

fn style(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).color(&INK)
}

/// Stage label at the left, a centred trapezoid per stage narrowing to the next stage's width,
/// and the count inside.
fn funnel(
    area: &DrawingArea<SVGBackend, Shift>,
    title: &str,
    stages: &[(String, u64)],
) -> DrawResult {
    area.fill(&WHITE)?;
    let area = area.titled(title, (FONT, 20))?;
    let (width, height) = area.dim_in_pixel();
    let label_room =
        i32::try_from(label_room(stages.iter().map(|(label, _)| label.as_str()))).unwrap_or(0);
    let funnel_width = f64::from(width) - f64::from(label_room) - 20.0;
    let row = f64::from(height) / stages.len().max(1) as f64;
    let widest = stages.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
    let centre = f64::from(label_room) + funnel_width / 2.0;
    let half = |count: u64| (count as f64 / widest * funnel_width / 2.0).max(2.0);
    for (index, (label, count)) in stages.iter().enumerate() {
        let top = index as f64 * row + 4.0;
        let bottom = (index + 1) as f64 * row - 4.0;
        let next = stages.get(index + 1).map_or(*count, |(_, n)| *n);
        let (top_half, bottom_half) = (half(*count), half(next.min(*count)));
        let corners = [
            (centre - top_half, top),
            (centre + top_half, top),
            (centre + bottom_half, bottom),
            (centre - bottom_half, bottom),
        ]
        .map(|(x, y)| (x.round() as i32, y.round() as i32));
        area.draw(&Polygon::new(corners.to_vec(), FILL.mix(0.85).filled()))?;
        let middle = ((top + bottom) / 2.0).round() as i32;
        area.draw(&Text::new(
            label.clone(),
            (label_room - 12, middle),
            style(LABEL_SIZE).pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
        // The count sits inside a wide shape, and beside a narrow one.
        let (at, anchor, colour) = if top_half > 24.0 {
            (centre, HPos::Center, WHITE)
        } else {
            (centre + top_half + 8.0, HPos::Left, INK)
        };
        area.draw(&Text::new(
            count.to_string(),
            (at.round() as i32, middle),
            style(LABEL_SIZE)
                .color(&colour)
                .pos(Pos::new(anchor, VPos::Center)),
        ))?;
    }
    Ok(())
}

/// Bars from zero with the value written after each, a reference mark where one is given,
/// and labels on the left, the first bar at the top.
fn horizontal_bars(area: &DrawingArea<SVGBackend, Shift>, chart: &Bars) -> DrawResult {
    area.fill(&WHITE)?;
    if chart.bars.is_empty() {
        let area = area.titled(&chart.title, (FONT, 20))?;
        return area.draw(&Text::new(
            "nothing to show for this period",
            (20, 10),
            style(LABEL_SIZE),
        ));
    }
    let count = chart.bars.len();
    let largest = chart
        .bars
        .iter()
        .flat_map(|bar| [Some(bar.value), bar.marker])
        .flatten()
        .fold(0.0f64, f64::max);
    // Room after the longest bar for its value.
    let x_end = if largest > 0.0 { largest * 1.3 } else { 1.0 };
    let title = match chart.marker_name {
        Some(marker) => format!("{} (mark: {marker})", chart.title),
        None => chart.title.clone(),
    };
    let mut grid = ChartBuilder::on(area)
        .caption(title, (FONT, 20))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(label_room(chart.bars.iter().map(|bar| bar.label.as_str())))
        .build_cartesian_2d(0.0..x_end, (0..count).into_segmented())?;
    let label_of = |segment: &SegmentValue<usize>| match segment {
        // The first bar is drawn at the top: segment k holds bar count - 1 - k.
        SegmentValue::CenterOf(k) => count
            .checked_sub(k + 1)
            .and_then(|index| chart.bars.get(index))
            .map(|bar| bar.label.clone())
            .unwrap_or_default(),
        _ => String::new(),
    };
    // A count axis is labelled at whole numbers only (no "0.5 leads").
    let x_label = |value: &f64| match (chart.counts, value.fract() == 0.0) {
        (true, false) => String::new(),
        _ => format!("{value}"),
    };
    grid.configure_mesh()
        .disable_y_mesh()
        .x_label_formatter(&x_label)
        .light_line_style(TRANSPARENT)
        .y_labels(count)
        .y_label_formatter(&label_of)
        .y_label_style((FONT, LABEL_SIZE))
        .x_desc(chart.unit)
        .axis_desc_style((FONT, 14))
        .label_style((FONT, 14))
        .draw()?;
    let row_of = |index: usize| count - 1 - index;
    grid.draw_series(chart.bars.iter().enumerate().map(|(index, bar)| {
        let row = row_of(index);
        let mut rectangle = Rectangle::new(
            [
                (0.0, SegmentValue::Exact(row)),
                (bar.value, SegmentValue::Exact(row + 1)),
            ],
            FILL.filled(),
        );
        rectangle.set_margin(6, 6, 0, 0);
        rectangle
    }))?;
    grid.draw_series(chart.bars.iter().enumerate().filter_map(|(index, bar)| {
        let row = row_of(index);
        let mark = bar.marker?;
        Some(PathElement::new(
            vec![
                (mark, SegmentValue::Exact(row)),
                (mark, SegmentValue::Exact(row + 1)),
            ],
            MARK.stroke_width(3),
        ))
    }))?;
    grid.draw_series(chart.bars.iter().enumerate().map(|(index, bar)| {
        Text::new(
            format!("  {}", bar.text),
            (bar.value, SegmentValue::CenterOf(row_of(index))),
            style(14.0).pos(Pos::new(HPos::Left, VPos::Center)),
        )
    }))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Bar;

    /// The text of every `<text>` element of an SVG.
    fn texts(svg: &str) -> Vec<&str> {
        svg.split("<text")
            .skip(1)
            .filter_map(|element| element.split_once('>')?.1.split_once("</text>"))
            .map(|(text, _)| text.trim())
            .collect()
    }

    #[test]
    fn a_count_axis_shows_whole_numbers_only() {
        let bars = |counts| Bars {
            id: "loss-chart",
            title: "Why deals were lost".to_owned(),
            unit: "leads",
            counts,
            marker_name: None,
            bars: vec![Bar {
                label: "price 价格过高".to_owned(),
                value: 2.0,
                text: "2 (100.0%)".to_owned(),
                marker: None,
            }],
        };
        let fractional = |svg: &str| {
            texts(svg)
                .iter()
                .any(|text| text.parse::<f64>().is_ok_and(|v| v.fract() != 0.0))
        };
        let counted = svg(&Chart::Bars(bars(true))).unwrap();
        assert!(!fractional(&counted), "{:?}", texts(&counted));
        assert!(texts(&counted).contains(&"1"), "{:?}", texts(&counted));
        // Without the fix the same axis is labelled in halves.
        let plain = svg(&Chart::Bars(bars(false))).unwrap();
        assert!(fractional(&plain), "{:?}", texts(&plain));
    }
}
