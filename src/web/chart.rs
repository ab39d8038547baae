//! Minimal SVG charts drawn on the server: no script, no CDN, printable.

use std::fmt::Write;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Gridlines above zero.
const TICKS: i64 = 4;

/// A round step (1, 2 or 5 × 10^n) such that `TICKS` steps reach `max`:
/// every gridline then carries an exact integer label.
fn axis(max: i64) -> (i64, i64) {
    let mut magnitude = 1i64;
    loop {
        for m in [1, 2, 5] {
            let step = m * magnitude;
            if step * TICKS >= max {
                return (step, step * TICKS);
            }
        }
        magnitude = magnitude.saturating_mul(10);
    }
}

/// A bar chart of labelled integer values. `title` is read by screen
/// readers. The output is safe to embed as HTML: every label is escaped.
pub fn bar_chart(title: &str, points: &[(String, i64)], width: u32, height: u32) -> String {
    let pad_left = 36.0;
    let pad_bottom = 22.0;
    let pad_top = 10.0;
    let w = f64::from(width);
    let h = f64::from(height);
    let plot_w = w - pad_left - 8.0;
    let plot_h = h - pad_bottom - pad_top;
    let max = points.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let (step, top) = axis(max);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        escape(title)
    );
    for i in 0..=TICKS {
        let y = pad_top + plot_h * (i as f64) / (TICKS as f64);
        let value = top - step * i;
        let _ = write!(
            svg,
            "<line x1=\"{pad_left}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" class=\"grid\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"end\">{value}</text>",
            w - 8.0,
            pad_left - 4.0,
            y + 4.0
        );
    }
    let n = points.len().max(1) as f64;
    let slot = plot_w / n;
    let bar_w = (slot * 0.6).max(2.0);
    let label_every = ((points.len() as f64) / 8.0).ceil().max(1.0) as usize;
    for (i, (label, v)) in points.iter().enumerate() {
        let bh = plot_h * (*v as f64) / (top as f64);
        let x = pad_left + slot * i as f64 + (slot - bar_w) / 2.0;
        let y = pad_top + plot_h - bh;
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar_w:.1}\" height=\"{bh:.1}\" class=\"bar\"><title>{}: {v}</title></rect>",
            escape(label)
        );
        // Count from the newest point so the latest (today) is labelled.
        if (points.len() - 1 - i).is_multiple_of(label_every) {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"middle\">{}</text>",
                x + bar_w / 2.0,
                h - 6.0,
                escape(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_one_bar_per_point_and_escapes_labels() {
        let svg = bar_chart("a<b", &[("<x>".into(), 3), ("y".into(), 0)], 300, 120);
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("&lt;x&gt;"));
        assert!(svg.contains("aria-label=\"a&lt;b\""));
        assert!(!svg.contains("<x>"));
    }

    #[test]
    fn axis_labels_are_exact_and_round() {
        assert_eq!(axis(1), (1, 4));
        assert_eq!(axis(5), (2, 8));
        assert_eq!(axis(8), (2, 8));
        assert_eq!(axis(9), (5, 20));
        assert_eq!(axis(37), (10, 40));
        assert_eq!(axis(41), (20, 80));
    }

    #[test]
    fn empty_chart_still_renders() {
        assert!(bar_chart("t", &[], 300, 120).starts_with("<svg"));
    }
}
