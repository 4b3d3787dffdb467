//! PNG charts for the examples and the CLI, drawn with plotters' bitmap
//! backend and the DejaVu Sans font embedded from the `dejavu` crate, so
//! nothing is needed from the system.

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::path::Path;
use std::sync::Once;

/// A named series of points.
pub struct Series {
    /// Legend text.
    pub name: String,
    /// `(x, y)` points in order.
    pub points: Vec<(f64, f64)>,
}

static FONT: Once = Once::new();

fn font() {
    FONT.call_once(|| {
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

fn error(e: impl std::fmt::Display) -> String {
    e.to_string()
}

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// Draws line series into a PNG; `log_y` uses a logarithmic y axis (values must be > 0).
pub fn lines(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_y: bool,
) -> Result<(), String> {
    font();
    let all = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in all.filter(|(x, y)| x.is_finite() && y.is_finite() && (!log_y || *y > 0.0)) {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if !x0.is_finite() {
        return Err("nothing to plot".into());
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    if y1 <= y0 {
        y1 = y0 + 1.0;
    }
    let root = BitMapBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(error)?;
    let mut builder = ChartBuilder::on(&root);
    builder.caption(title, ("sans-serif", 22)).margin(15).x_label_area_size(45).y_label_area_size(70);
    if log_y {
        let mut chart = builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale()).map_err(error)?;
        chart.configure_mesh().x_desc(x_label).y_desc(y_label).draw().map_err(error)?;
        for (i, s) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(s.points.iter().copied().filter(|(_, y)| *y > 0.0), color.stroke_width(2)))
                .map_err(error)?
                .label(s.name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(error)?;
    } else {
        let margin = (y1 - y0) * 0.05;
        let mut chart = builder.build_cartesian_2d(x0..x1, (y0 - margin)..(y1 + margin)).map_err(error)?;
        chart.configure_mesh().x_desc(x_label).y_desc(y_label).draw().map_err(error)?;
        for (i, s) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(s.points.iter().copied(), color.stroke_width(2)))
                .map_err(error)?
                .label(s.name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(error)?;
    }
    root.present().map_err(error)
}

/// A decision boundary: the plane coloured by `classify(x, y)` (0 or 1) with the labelled points on top.
pub fn decision_boundary(
    path: &Path,
    title: &str,
    points: &[(f64, f64, usize)],
    classify: impl Fn(f64, f64) -> usize,
) -> Result<(), String> {
    font();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y, _) in points {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if !x0.is_finite() {
        return Err("nothing to plot".into());
    }
    let (x0, x1, y0, y1) = (x0 - 0.5, x1 + 0.5, y0 - 0.5, y1 + 0.5);
    let root = BitMapBackend::new(path, (700, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(error)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(error)?;
    chart.configure_mesh().disable_mesh().draw().map_err(error)?;
    let steps = 160;
    let (dx, dy) = ((x1 - x0) / steps as f64, (y1 - y0) / steps as f64);
    let background = [RGBColor(198, 219, 239), RGBColor(253, 208, 162)];
    chart
        .draw_series((0..steps).flat_map(|i| (0..steps).map(move |j| (i, j))).map(|(i, j)| {
            let (x, y) = (x0 + i as f64 * dx, y0 + j as f64 * dy);
            let class = classify(x + dx / 2.0, y + dy / 2.0).min(1);
            Rectangle::new([(x, y), (x + dx, y + dy)], background[class].filled())
        }))
        .map_err(error)?;
    let marks = [RGBColor(31, 119, 180), RGBColor(214, 39, 40)];
    chart
        .draw_series(points.iter().map(|&(x, y, c)| Circle::new((x, y), 3, marks[c.min(1)].filled())))
        .map_err(error)?;
    root.present().map_err(error)
}
