//! The tables a scenario prints: the side-by-side closed-loop table with ratios against a
//! base row, and the open-loop table at half of each row's peak.

use crate::runner::{Row, HALF_LOAD_P99_US_TARGET, HALF_LOAD_SHARE};

/// The side-by-side table. Ratio columns divide each row by the `base` row (the first
/// row whose name starts with `base`, else the first row): req/s and p99 as `row / base`,
/// CPU per request as `row / base`, so "n8n: CPU/req 400×" reads "400 times LinkFlow's".
pub fn table(rows: &[Row], base: &str) -> String {
    let base_row = rows
        .iter()
        .find(|r| r.name.starts_with(base))
        .or(rows.first());
    let base_name = base_row.map_or("-", |r| r.name.as_str());
    let mut s = format!(
        "| server | req/s | p50 | p99 | errors | server CPU/req | RSS | loadgen CPU/req | req/s ÷ {base_name} | p99 ÷ {base_name} | CPU/req ÷ {base_name} |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    let ratio = |x: f64, b: f64| {
        if b > 0.0 && x.is_finite() {
            format!("{:.3}×", x / b).replace(".000×", "×")
        } else {
            "n/a".into()
        }
    };
    for r in rows {
        let f = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.1} us"));
        let cpu_ratio = match (base_row.and_then(|b| b.server_cpu_us), r.server_cpu_us) {
            (Some(b), Some(x)) => ratio(x, b),
            _ => "n/a".into(),
        };
        s.push_str(&format!(
            "| {} | {:.0} | {} us | {} us | {} | {} | {} | {} | {} | {} | {} |\n",
            r.name,
            r.rps,
            r.p50_us,
            r.p99_us,
            r.errors,
            f(r.server_cpu_us),
            r.rss_mib.map_or("n/a".into(), |m| format!("{m} MiB")),
            f(r.loadgen_cpu_us),
            base_row.map_or("n/a".into(), |b| ratio(r.rps, b.rps)),
            base_row.map_or("n/a".into(), |b| ratio(r.p99_us as f64, b.p99_us as f64)),
            cpu_ratio,
        ));
    }
    s
}

/// The open-loop table: for every row measured at half of its closed-loop peak, the rate,
/// what was achieved, and latency from the intended send time (coordinated omission
/// corrected), with the p99 checked against [`HALF_LOAD_P99_US_TARGET`]. Empty when no
/// row has such a measurement.
pub fn half_load_table(rows: &[Row]) -> String {
    let measured: Vec<_> = rows
        .iter()
        .filter_map(|r| r.half_load.as_ref().map(|h| (r, h)))
        .collect();
    if measured.is_empty() {
        return String::new();
    }
    let mut s = format!(
        "\nOpen loop at {:.0} % of each row's closed-loop peak (latency from the intended send time):\n\n\
         | server | peak req/s | rate | achieved req/s | p50 | p99 | p99.9 | errors | p99 ≤ {} ms |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|:---:|\n",
        HALF_LOAD_SHARE * 100.0,
        HALF_LOAD_P99_US_TARGET / 1000
    );
    for (row, half) in measured {
        s.push_str(&format!(
            "| {} | {:.0} | {:.0} | {:.0} | {} us | {} us | {} us | {} | {} |\n",
            row.name,
            row.rps,
            half.rate_rps,
            half.achieved_rps,
            half.p50_us,
            half.p99_us,
            half.p999_us,
            half.errors,
            if half.p99_us <= HALF_LOAD_P99_US_TARGET {
                "yes"
            } else {
                "no"
            },
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use crate::runner::OpenLoop;

    use super::*;

    fn row(name: &str, cpu: Option<f64>) -> Row {
        Row {
            name: name.into(),
            rps: 1000.0,
            p50_us: 1,
            p99_us: 2,
            p999_us: 4,
            errors: 0,
            server_cpu_us: cpu,
            loadgen_cpu_us: Some(3.0),
            rss_mib: Some(5),
            half_load: None,
        }
    }

    #[test]
    fn table_ratios_are_against_the_named_base_row() {
        let mut peer = row("peer", Some(2500.0));
        peer.rps = 10.0;
        peer.p99_us = 200;
        let t = table(
            &[
                row("bare", Some(10.0)),
                row("linkflow", Some(25.0)),
                peer,
                row("gone", None),
            ],
            "linkflow",
        );
        assert!(t.contains("req/s ÷ linkflow"), "{t}");
        assert!(
            t.contains(
                "| bare | 1000 | 1 us | 2 us | 0 | 10.0 us | 5 MiB | 3.0 us | 1× | 1× | 0.400× |"
            ),
            "{t}"
        );
        assert!(
            t.contains(
                "| linkflow | 1000 | 1 us | 2 us | 0 | 25.0 us | 5 MiB | 3.0 us | 1× | 1× | 1× |"
            ),
            "{t}"
        );
        assert!(t.contains("| peer | 10 | 1 us | 200 us | 0 | 2500.0 us | 5 MiB | 3.0 us | 0.010× | 100× | 100× |"), "{t}");
        assert!(
            t.contains("| gone | 1000 | 1 us | 2 us | 0 | n/a | 5 MiB | 3.0 us | 1× | 1× | n/a |"),
            "{t}"
        );
    }

    #[test]
    fn table_falls_back_to_the_first_row() {
        let t = table(&[row("bare", Some(10.0)), row("x", Some(20.0))], "missing");
        assert!(
            t.contains("| x | 1000 | 1 us | 2 us | 0 | 20.0 us | 5 MiB | 3.0 us | 1× | 1× | 2× |"),
            "{t}"
        );
    }

    #[test]
    fn half_load_table_lists_only_rows_measured_open_loop() {
        assert_eq!(half_load_table(&[row("bare", None)]), "");
        let mut linkflow = row("linkflow", Some(20.0));
        linkflow.half_load = Some(OpenLoop {
            rate_rps: 500.0,
            achieved_rps: 499.6,
            p50_us: 80,
            p99_us: 1_200,
            p999_us: 3_000,
            errors: 0,
        });
        let t = half_load_table(&[row("wrk", None), linkflow]);
        assert!(!t.contains("| wrk |"), "{t}");
        assert!(t.contains("p99 ≤ 1 ms"), "{t}");
        assert!(
            t.contains("| linkflow | 1000 | 500 | 500 | 80 us | 1200 us | 3000 us | 0 | no |"),
            "{t}"
        );
    }
}
