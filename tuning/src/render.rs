//! The plan as Markdown and as a self-contained HTML page with SVG plots (plotters).

use std::fmt::Write as _;

use linkflow_loadtest::Sweep;
use plotters::prelude::*;

use crate::plan::{cores_for, Plan};

/// Plot size in pixels.
const PLOT_SIZE_PX: (u32, u32) = (640, 360);

fn si(v: f64) -> String {
    if v >= 1e12 {
        format!("{:.2} T", v / 1e12)
    } else if v >= 1e9 {
        format!("{:.2} G", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.2} k", v / 1e3)
    } else {
        format!("{v:.2} ")
    }
}

/// The plan as Markdown.
pub fn markdown(p: &Plan, sweeps: &[(String, Sweep)]) -> String {
    let a = &p.assumptions;
    let mut s = String::new();
    let _ = writeln!(s, "# LinkFlow capacity plan\n");
    let _ = writeln!(
        s,
        "Target **{} executions/day** at p99 ≤ {:.1} ms.\n",
        si(a.target_per_day),
        a.p99_budget_us as f64 / 1000.0
    );
    let _ = writeln!(s, "## Measured\n\n| sweep | server cores | max sustainable req/s | req/s per core |\n|---|---:|---:|---:|");
    for (name, sw) in sweeps {
        let per_core = crate::plan::sweep_rps_per_core(sw, a.p99_budget_us);
        let cores = sw.server_cores.unwrap_or(1.0);
        let _ = writeln!(
            s,
            "| {name} | {cores} | {:.0} | {per_core:.0} |",
            per_core * cores.max(1.0)
        );
    }
    let _ = writeln!(
        s,
        "\nPlanning rate: **{:.0} req/s per core** (lowest across sweeps).\n",
        p.rps_per_core
    );
    let _ = writeln!(s, "## Plan\n\n| quantity | value |\n|---|---:|");
    let rows = [
        ("average rate", format!("{:.0} req/s", p.avg_rps)),
        (
            "peak rate (× peak factor)",
            format!("{:.0} req/s", p.peak_rps),
        ),
        ("cores at peak with headroom", p.cores.to_string()),
        ("nodes (incl. spares)", p.nodes.to_string()),
        (
            "memory per node",
            format!("{:.0} MiB", p.memory_per_node_mib),
        ),
        (
            "journal bytes per day",
            format!("{}B", si(p.journal_bytes_per_day)),
        ),
        (
            "journal write bandwidth at peak",
            format!("{}B/s", si(p.journal_peak_bytes_per_s)),
        ),
        (
            "network at peak",
            format!("{}bit/s", si(p.network_peak_bits_per_s)),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(s, "| {k} | {v} |");
    }
    let _ = writeln!(s, "\n## Assumptions\n");
    let _ = writeln!(
        s,
        "- Peak factor {} (peak-hour rate over the daily average).",
        a.peak_factor
    );
    let _ = writeln!(s, "- Cores loaded to at most {:.0} % of the measured max at peak (headroom for bursts and scheduling jitter).", a.utilisation_max * 100.0);
    let _ = writeln!(
        s,
        "- {} cores per node, {} spare node(s) for failures and rolling deploys.",
        a.cores_per_node, a.spare_nodes
    );
    let origin = |measured: bool| {
        if measured {
            "measured: the largest value the sweeps saw"
        } else {
            "assumed: the sweeps did not record it"
        }
    };
    let _ = writeln!(
        s,
        "- Memory: {:.0} MiB per node (assumed: OS and the node's control thread) + {:.0} MiB per core ({}; server peak RSS over its cores, so the process's fixed part is counted per core too).",
        a.memory_per_node_mib,
        a.memory_per_core_mib,
        origin(a.measured.memory)
    );
    let _ = writeln!(
        s,
        "- Journal level `{:?}`: {:.0} B per execution at summary, {:.0} B at all (record sizes of the reference workflow measured by `dataplane/examples/journal_figures.rs`; other workflows: `--summary-record-bytes`, `--all-record-bytes`).",
        a.record_level, a.summary_record_bytes, a.all_record_bytes
    );
    let _ = writeln!(
        s,
        "- {:.0} B on the wire per execution (request + response, HTTP heads included, TCP/IP framing not; {}).",
        a.wire_bytes_per_request,
        origin(a.measured.wire_bytes)
    );
    let _ = writeln!(s, "- Scaling is linear in cores (shared-nothing shards); the measured per-core rate comes from open-loop sweeps with latency measured from the intended send time.");
    s
}

/// Throughput vs p99 with the budget line, as SVG.
pub fn throughput_svg(sweeps: &[(String, Sweep)], budget_us: u64) -> Result<String, String> {
    let mut out = String::new();
    {
        let pts: Vec<Vec<(f64, f64)>> = sweeps
            .iter()
            .map(|(_, s)| {
                s.points
                    .iter()
                    .map(|p| {
                        (
                            p.report.throughput_rps,
                            p.report.latency_us.p99 as f64 / 1000.0,
                        )
                    })
                    .collect()
            })
            .collect();
        let xmax = pts.iter().flatten().map(|p| p.0).fold(1.0, f64::max) * 1.1;
        let budget_ms = budget_us as f64 / 1000.0;
        let ymax = pts.iter().flatten().map(|p| p.1).fold(budget_ms, f64::max) * 1.2;
        let root = SVGBackend::with_string(&mut out, PLOT_SIZE_PX).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption("throughput vs p99", ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..xmax, 0.0..ymax)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("achieved req/s")
            .y_desc("p99 ms")
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(
                [(0.0, budget_ms), (xmax, budget_ms)],
                RED.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?;
        for (i, series) in pts.into_iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(series.clone(), color.stroke_width(2)))
                .map_err(|e| e.to_string())?;
            chart
                .draw_series(
                    series
                        .into_iter()
                        .map(|p| Circle::new(p, 3, color.filled())),
                )
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// Cores needed vs target load (0.1× to 2× the target), as SVG.
pub fn cores_svg(p: &Plan) -> Result<String, String> {
    let mut out = String::new();
    {
        let a = &p.assumptions;
        let series: Vec<(f64, f64)> = (1..=20)
            .map(|k| {
                let per_day = a.target_per_day * f64::from(k) / 10.0;
                (per_day / 1e9, cores_for(per_day, a, p.rps_per_core) as f64)
            })
            .collect();
        let xmax = series.last().map_or(1.0, |s| s.0) * 1.05;
        let ymax = series.iter().map(|s| s.1).fold(1.0, f64::max) * 1.1;
        let root = SVGBackend::with_string(&mut out, PLOT_SIZE_PX).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption("cores needed vs target load", ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..xmax, 0.0..ymax)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("executions/day (billions)")
            .y_desc("cores")
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(series.clone(), BLUE.stroke_width(2)))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(series.into_iter().map(|p| Circle::new(p, 3, BLUE.filled())))
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// A self-contained HTML page: the Markdown tables as preformatted text and both plots inline.
pub fn html(md: &str, p: &Plan, sweeps: &[(String, Sweep)]) -> Result<String, String> {
    let esc = md
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    Ok(format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>LinkFlow capacity plan</title>\n<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}pre{{white-space:pre-wrap}}</style></head>\n<body>\n<pre>{esc}</pre>\n<h2>Throughput vs p99 (red: budget)</h2>\n{}\n<h2>Cores needed vs target load</h2>\n{}\n</body></html>\n",
        throughput_svg(sweeps, p.assumptions.p99_budget_us)?,
        cores_svg(p)?
    ))
}
