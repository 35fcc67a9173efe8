//! The picture of a crawl: an SVG timeline (plotters, SVG backend only) with one lane per
//! crawler. Each fetch is a bar coloured by domain; a fetch whose commit was refused is a red
//! outline; a bar above the lane marks when the crawler was the coordinator; vertical lines mark
//! the injected faults and the configuration bump.

use std::collections::HashMap;
use std::path::Path;

use plotters::prelude::*;

use crate::events::Event;
use crate::fleet::Proc;
use crate::site::Site;

const LANE: u32 = 56;
const WIDTH: u32 = 1200;
/// Pixels right of the plot for the legend.
const LEGEND: i32 = 240;

pub fn draw(
    path: &Path,
    events: &[Event],
    site: &Site,
    t0: u64,
    fleet: &[Proc],
) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let lanes: Vec<&str> = fleet.iter().map(|p| p.id.as_str()).collect();
    let lane_of: HashMap<&str, usize> = lanes.iter().enumerate().map(|(i, l)| (*l, i)).collect();
    let secs = |t: u64| t.saturating_sub(t0) as f64 / 1000.0;
    let end = events.iter().map(|e| secs(e.t)).fold(1.0, f64::max) + 0.5;
    let n = lanes.len().max(1) as f64;
    let height = 150 + LANE * lanes.len() as u32;
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "zkcluster crawl: fetches per crawler (colour = domain), coordinator, faults",
            ("sans-serif", 17),
        )
        .margin(12)
        .margin_right(LEGEND as u32)
        .x_label_area_size(32)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..end, 0f64..n + 0.75)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc("seconds since the crawlers started")
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    let colour = |d: usize| Palette99::pick(d).to_rgba();
    let domain_of = |e: &Event| {
        e.domain.as_ref().and_then(|d| site.domains.iter().position(|s| s == d)).unwrap_or(0)
    };
    let y = |lane: usize| n - 1.0 - lane as f64; // first crawler on top

    // A crawler runs several fetches at once: each goes on the first row of its lane that is
    // free at its start.
    let mut rows: HashMap<usize, Vec<f64>> = HashMap::new();
    let mut fetches: Vec<&Event> =
        events.iter().filter(|e| e.kind == "fetch" && e.start.is_some()).collect();
    fetches.sort_by_key(|e| e.start);
    let mut bars = Vec::new();
    for e in fetches {
        let Some(&lane) = lane_of.get(e.member.as_str()) else { continue };
        let (start, stop) = (
            secs(e.start.unwrap_or(e.t)),
            secs(e.end.unwrap_or(e.t)).max(secs(e.start.unwrap_or(e.t)) + 0.03),
        );
        let ends = rows.entry(lane).or_default();
        let row = ends.iter().position(|&free| free <= start).unwrap_or(ends.len());
        if row == ends.len() {
            ends.push(stop);
        } else {
            ends[row] = stop;
        }
        bars.push((lane, row, start, stop, domain_of(e)));
    }
    let per_lane: HashMap<usize, usize> = rows.iter().map(|(l, r)| (*l, r.len().max(1))).collect();
    let band = |lane: usize, row: usize| {
        let h = 0.58 / per_lane.get(&lane).copied().unwrap_or(1) as f64;
        (y(lane) + 0.08 + h * row as f64, y(lane) + 0.08 + h * (row as f64 + 0.85))
    };
    chart
        .draw_series(bars.iter().map(|&(lane, row, start, stop, d)| {
            let (lo, hi) = band(lane, row);
            Rectangle::new([(start, lo), (stop, hi)], colour(d).filled())
        }))
        .map_err(err)?;
    let refused = events.iter().filter(|e| e.kind == "stale_rejected").filter_map(|e| {
        let lane = *lane_of.get(e.member.as_str())?;
        let (start, stop) = (secs(e.start.unwrap_or(e.t)), secs(e.end.unwrap_or(e.t)));
        Some(Rectangle::new(
            [(start, y(lane) + 0.08), (stop.max(start + 0.1), y(lane) + 0.66)],
            RED.stroke_width(2),
        ))
    });
    chart.draw_series(refused).map_err(err)?;

    // Coordinator spans: from a `leader` event to the next one (or a kill, or the end).
    let leaders: Vec<&Event> = events.iter().filter(|e| e.kind == "leader").collect();
    let ends: Vec<(u64, &str)> = events
        .iter()
        .filter(|e| e.kind == "fault" && e.fault.as_deref() == Some("kill") || e.kind == "done")
        .map(|e| (e.t, e.target.as_deref().unwrap_or(e.member.as_str())))
        .collect();
    let spans = leaders.iter().enumerate().filter_map(|(i, l)| {
        let lane = *lane_of.get(l.member.as_str())?;
        let next = leaders.get(i + 1).map_or(u64::MAX, |n| n.t);
        let own_end = ends
            .iter()
            .filter(|(t, m)| *t > l.t && *m == l.member)
            .map(|(t, _)| *t)
            .min()
            .unwrap_or(u64::MAX);
        let stop = next.min(own_end);
        let stop = if stop == u64::MAX { end } else { secs(stop) };
        Some(Rectangle::new(
            [(secs(l.t), y(lane) + 0.7), (stop, y(lane) + 0.82)],
            RGBColor(30, 30, 30).filled(),
        ))
    });
    chart.draw_series(spans).map_err(err)?;

    // Faults and the configuration bump: vertical lines with a label.
    let mut marks: Vec<(f64, String, RGBColor)> = events
        .iter()
        .filter_map(|e| match (e.kind.as_str(), e.fault.as_deref()) {
            ("fault", Some(f)) => {
                let c = match f {
                    "kill" => RED,
                    "pause" | "resume" => RGBColor(230, 120, 0),
                    _ => RGBColor(120, 40, 160),
                };
                Some((secs(e.t), format!("{f} {}", e.target.as_deref().unwrap_or("")), c))
            }
            ("config_bump", _) => Some((secs(e.t), "config v2".to_string(), RGBColor(0, 120, 60))),
            ("session_expired", _) => {
                Some((secs(e.t), format!("{} session lost", e.member), RGBColor(120, 120, 120)))
            }
            _ => None,
        })
        .collect();
    marks.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (i, (x, label, c)) in marks.iter().enumerate() {
        chart.draw_series(LineSeries::new([(*x, 0.0), (*x, n)], c.stroke_width(1))).map_err(err)?;
        let row = n + 0.05 + 0.18 * (i % 3) as f64;
        chart
            .draw_series(std::iter::once(Text::new(
                label.clone(),
                (*x, row + 0.2),
                ("sans-serif", 11).into_font().color(c),
            )))
            .map_err(err)?;
    }
    // Lane names in the label area, left of the plot.
    for (lane, name) in lanes.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(0.0, y(lane) + 0.45));
        root.draw(&Text::new(name.to_string(), (px - 64, py - 6), ("sans-serif", 13).into_font()))
            .map_err(err)?;
    }
    // The legend, in the right margin.
    let x0 = WIDTH as i32 - LEGEND + 8;
    let mut row = 40;
    let mut key = |shape: ShapeStyle, text: String, thin: bool| -> Result<(), String> {
        let (top, bottom) = if thin { (row - 2, row + 2) } else { (row - 5, row + 5) };
        root.draw(&Rectangle::new([(x0, top), (x0 + 14, bottom)], shape)).map_err(err)?;
        root.draw(&Text::new(text, (x0 + 20, row - 6), ("sans-serif", 12).into_font()))
            .map_err(err)?;
        row += 18;
        Ok(())
    };
    for (d, name) in site.domains.iter().enumerate() {
        key(colour(d).filled(), format!("fetch from {name}"), false)?;
    }
    key(RED.stroke_width(2), "commit refused: stale claim".into(), false)?;
    key(RGBColor(30, 30, 30).filled(), "coordinator (Election leader)".into(), true)?;
    root.present().map_err(err)?;
    Ok(())
}
