//! The chart: objects Ready over time after the cold-start apply, one curve
//! per contender, as an SVG (plotters' SVG backend).

use std::path::Path;

use anyhow::Context;
use plotters::prelude::*;

use crate::phases::Results;

/// Colours of the curves, in the order of `results`.
const COLOURS: [RGBColor; 3] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
];

/// The curve of one contender as points (seconds, Ready), starting at (0, 0).
fn points(curve: &[(f64, usize)]) -> Vec<(f64, f64)> {
    let mut points = vec![(0.0, 0.0)];
    for &(t, ready) in curve {
        // A step: the count holds until it changes.
        let last = points.last().map(|p| p.1).unwrap_or(0.0);
        points.push((t, last));
        points.push((t, ready as f64));
    }
    points
}

/// Writes the chart for `n` objects to `path`.
pub(crate) fn write(path: &Path, n: usize, results: &[&Results]) -> anyhow::Result<()> {
    let curves: Vec<(&str, Vec<(f64, f64)>)> = results
        .iter()
        .filter_map(|r| Some((r.label, points(&r.cold.as_ref().ok()?.curve))))
        .collect();
    let x_max = curves
        .iter()
        .flat_map(|(_, p)| p.iter().map(|p| p.0))
        .fold(1.0_f64, f64::max)
        * 1.05;
    let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("Cold start: {n} objects applied at once, Ready over time"),
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max, 0.0..(n as f64 * 1.05))?;
    chart
        .configure_mesh()
        .x_desc("seconds since the first apply")
        .y_desc("Ready")
        .draw()?;
    for (i, (label, points)) in curves.into_iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::points;

    #[test]
    fn curve_is_a_step_function_from_the_origin() {
        assert_eq!(
            points(&[(1.0, 2), (3.0, 5)]),
            [(0.0, 0.0), (1.0, 0.0), (1.0, 2.0), (3.0, 2.0), (3.0, 5.0)]
        );
    }
}
