//! The table (driftless and Flux side by side, with ratios) and the one
//! summary line scripts read.

use std::collections::BTreeSet;

use crate::floor::{Floor, Ready};
use crate::phases::{Figure, Results};

/// A cell: the value formatted, or `n/a (reason)`.
fn cell<T>(figure: &Figure<T>, value: impl Fn(&T) -> f64, digits: usize) -> (String, Option<f64>) {
    match figure {
        Ok(t) => {
            let v = value(t);
            (format!("{v:.digits$}"), Some(v))
        }
        Err(reason) => (format!("n/a ({reason})"), None),
    }
}

/// A cell of a figure inside another (`inner` of `outer`): `n/a` with the
/// outer reason when the outer figure is missing.
fn inner_cell<T, U>(
    outer: &Figure<T>,
    inner: impl Fn(&T) -> &Figure<U>,
    value: impl Fn(&U) -> f64,
    digits: usize,
) -> (String, Option<f64>) {
    match outer {
        Ok(t) => cell(inner(t), value, digits),
        Err(reason) => (format!("n/a ({reason})"), None),
    }
}

/// `flux / driftless` (how many times less driftless needs), when both exist.
fn ratio(flux: Option<f64>, driftless: Option<f64>) -> String {
    match (flux, driftless) {
        (Some(f), Some(d)) if d > 0.0 => format!("{:.1}x", f / d),
        (Some(f), Some(d)) if f == d => "1.0x".into(),
        _ => "-".into(),
    }
}

/// One row: the measure, then driftless (Kustomization), Flux, ratio,
/// driftless (Application), the raw server-side-apply floor.
type Row = [String; 6];

fn row(
    name: &str,
    k: &Results,
    flux: &Results,
    apps: &Results,
    get: &dyn Fn(&Results) -> (String, Option<f64>),
) -> Row {
    let (dk, dkv) = get(k);
    let (f, fv) = get(flux);
    let (da, _) = get(apps);
    [name.to_string(), dk, f, ratio(fv, dkv), da, "-".into()]
}

/// The floor's figure for the row named `name` (`-` where it has none).
/// Its requests are its own applies (the API server counts server-side
/// applies under the verb `APPLY`), not every client's.
fn floor_cell(name: &str, floor: &Figure<Floor>, n: usize) -> String {
    let figure = |value: &dyn Fn(&Floor) -> Figure<f64>, digits: usize| match floor
        .as_ref()
        .map_err(Clone::clone)
        .and_then(value)
    {
        Ok(v) => format!("{v:.digits$}"),
        Err(reason) => format!("n/a ({reason})"),
    };
    match name {
        "cold: all Ready (s)" => figure(&|f| Ok(f.secs), 1),
        "cold: API requests" | "  APPLY" => figure(&|f| Ok(f.applies as f64), 0),
        "cold: API requests/app" | OWN_PER_APP => figure(&|f| Ok(f.applies as f64 / n as f64), 1),
        "push->applied p50 (ms)" => figure(&|f| f.push_p50_ms.clone(), 0),
        APISERVER_CPU => figure(&|f| Ok(f.load.apiserver), 1),
        ETCD_CPU => figure(&|f| Ok(f.load.etcd), 1),
        MACHINE_BUSY => figure(&|f| f.load.busy_percent.clone(), 0),
        FLOOR_RATE => figure(&|f| Ok(f.per_second()), 0),
        FLOOR_READY => figure(&|f| Ok(ready(f)?.secs), 1),
        FLOOR_READY_APISERVER => figure(&|f| Ok(ready(f)?.load.apiserver), 1),
        FLOOR_READY_BUSY => figure(&|f| ready(f)?.load.busy_percent.clone(), 0),
        _ => "-".into(),
    }
}

/// The floor with the Kustomization's writes, or why not measured.
fn ready(floor: &Floor) -> Result<&Ready, String> {
    floor.ready.as_ref().map_err(Clone::clone)
}

/// The row of the controllers' own requests per app (their client metrics).
const OWN_PER_APP: &str = "cold: own API requests/app";

/// The rows of where the CPU went during the cold start (the control
/// plane's processes, the machine).
const APISERVER_CPU: &str = "cold: kube-apiserver CPU (s)";
const ETCD_CPU: &str = "cold: etcd CPU (s)";
const MACHINE_BUSY: &str = "cold: machine busy (%)";

/// The row of the floor's apply rate (its figure alone).
const FLOOR_RATE: &str = "floor: apply requests/s";

/// The row of the floor with each Kustomization's own writes (the runner's
/// apply, the finalizer, `Ready`): 7 requests per app.
const FLOOR_READY: &str = "floor + Kustomization writes (s)";

/// The rows of the CPU the floor with the Kustomization's writes took.
const FLOOR_READY_APISERVER: &str = "floor + K writes: kube-apiserver CPU (s)";
const FLOOR_READY_BUSY: &str = "floor + K writes: machine busy (%)";

/// The rows of the table.
fn rows(n: usize, k: &Results, flux: &Results, apps: &Results) -> Vec<Row> {
    let n = n as f64;
    let mut rows = vec![
        row("cold: all Ready (s)", k, flux, apps, &|r| {
            cell(&r.cold, |c| c.secs, 1)
        }),
        row("cold: peak RSS (MiB)", k, flux, apps, &|r| {
            cell(&r.cold, |c| c.peak_mib, 1)
        }),
        row("cold: CPU (s)", k, flux, apps, &|r| {
            cell(&r.cold, |c| c.cpu_secs, 1)
        }),
        row(APISERVER_CPU, k, flux, apps, &|r| {
            cell(&r.cold, |c| c.load.apiserver, 1)
        }),
        row(ETCD_CPU, k, flux, apps, &|r| {
            cell(&r.cold, |c| c.load.etcd, 1)
        }),
        row(MACHINE_BUSY, k, flux, apps, &|r| {
            inner_cell(&r.cold, |c| &c.load.busy_percent, |b| *b, 0)
        }),
        row("cold: API requests", k, flux, apps, &|r| {
            cell(&r.cold, |c| c.total_requests(), 0)
        }),
        row("cold: API requests/app", k, flux, apps, &|r| {
            cell(&r.cold, |c| c.total_requests() / n, 1)
        }),
        row(OWN_PER_APP, k, flux, apps, &|r| {
            inner_cell(&r.cold, |c| &c.own_requests, |own| own / n, 1)
        }),
    ];
    let verbs: BTreeSet<String> = [k, flux, apps]
        .iter()
        .filter_map(|r| r.cold.as_ref().ok())
        .flat_map(|c| c.requests.keys().cloned())
        .collect();
    for verb in verbs {
        let get = |r: &Results| {
            cell(
                &r.cold,
                |c| c.requests.get(&verb).copied().unwrap_or(0.0),
                0,
            )
        };
        rows.push(row(&format!("  {verb}"), k, flux, apps, &get));
    }
    rows.extend([
        row("push->applied p50 (ms)", k, flux, apps, &|r| {
            cell(&r.push, |p| p.p50_ms, 0)
        }),
        row("push->applied p99 (ms)", k, flux, apps, &|r| {
            cell(&r.push, |p| p.p99_ms, 0)
        }),
        row("push: Git fetch, mean (ms)", k, flux, apps, &|r| {
            inner_cell(&r.push, |p| &p.fetch_ms, |v| *v, 0)
        }),
        row("push trigger", k, flux, apps, &|r| match &r.push {
            Ok(p) => (p.trigger.to_string(), None),
            Err(reason) => (format!("n/a ({reason})"), None),
        }),
        row("monorepo: app applied (s)", k, flux, apps, &|r| {
            cell(&r.monorepo, |m| m.applied_secs, 2)
        }),
        row("monorepo: reconciles", k, flux, apps, &|r| {
            cell(&r.monorepo, |m| m.reconciles, 0)
        }),
        row("monorepo: renders", k, flux, apps, &|r| {
            inner_cell(&r.monorepo, |m| &m.renders, |v| *v, 0)
        }),
        row("drift reverted (s)", k, flux, apps, &|r| {
            cell(&r.drift, |d| *d, 2)
        }),
        row("caught up with the pushes (s)", k, flux, apps, &|r| {
            cell(&r.caught_up, |c| *c, 1)
        }),
        row("idle: CPU (s/min)", k, flux, apps, &|r| {
            cell(&r.idle, |i| i.cpu_per_min, 2)
        }),
        row("idle: API writes/min", k, flux, apps, &|r| {
            cell(&r.idle, |i| i.writes_per_min, 1)
        }),
    ]);
    rows
}

/// One line: newlines of a reason (e.g. a log tail) become ` | `.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Replaces each `n/a (reason)` cell with `n/a [k]`, the reasons listed once in `notes`.
fn footnote(rows: &mut [Row], notes: &mut Vec<String>) {
    for cell in rows.iter_mut().flat_map(|r| r.iter_mut()) {
        let Some(reason) = cell.strip_prefix("n/a (").and_then(|r| r.strip_suffix(')')) else {
            continue;
        };
        let reason = one_line(reason);
        let k = match notes.iter().position(|n| *n == reason) {
            Some(k) => k,
            None => {
                notes.push(reason);
                notes.len() - 1
            }
        };
        *cell = format!("n/a [{}]", k + 1);
    }
}

/// The table as text, columns padded, the reasons for missing figures as
/// numbered notes below it.
pub(crate) fn table(
    n: usize,
    k: &Results,
    flux: &Results,
    apps: &Results,
    floor: &Figure<Floor>,
) -> String {
    let header: Row = [
        format!("N={n}"),
        k.label.to_string(),
        flux.label.to_string(),
        "flux/driftless".to_string(),
        apps.label.to_string(),
        "raw SSA floor".to_string(),
    ];
    let mut all = vec![header];
    all.extend(rows(n, k, flux, apps));
    let dash = || "-".to_string();
    all.push([FLOOR_RATE.into(), dash(), dash(), dash(), dash(), dash()]);
    for name in [FLOOR_READY, FLOOR_READY_APISERVER, FLOOR_READY_BUSY] {
        all.push([name.into(), dash(), dash(), dash(), dash(), dash()]);
    }
    for row in &mut all[1..] {
        row[5] = floor_cell(&row[0], floor, n);
    }
    let mut notes = Vec::new();
    footnote(&mut all, &mut notes);
    let widths: Vec<usize> = (0..6)
        .map(|c| all.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut lines: Vec<String> = all
        .iter()
        .map(|r| {
            let cells: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(v, w)| format!("{v:<w$}"))
                .collect();
            format!("| {} |", cells.join(" | "))
        })
        .collect();
    lines.extend(
        notes
            .iter()
            .enumerate()
            .map(|(i, n)| format!("[{}] {n}", i + 1)),
    );
    lines.join("\n")
}

/// The line scripts read:
/// `peers N=<N>: driftless <s> s <MiB> MiB <req> req/app, flux <s> s <MiB> MiB`.
/// driftless' figures are its Kustomization run's (the same manifests as Flux's).
pub(crate) fn summary(n: usize, driftless: &Results, flux: &Results) -> String {
    let d = match &driftless.cold {
        Ok(c) => format!(
            "{:.1} s {:.1} MiB {:.1} req/app",
            c.secs,
            c.peak_mib,
            c.total_requests() / n as f64
        ),
        Err(reason) => format!("n/a ({})", one_line(reason)),
    };
    let f = match &flux.cold {
        Ok(c) => format!("{:.1} s {:.1} MiB", c.secs, c.peak_mib),
        Err(reason) => format!("n/a ({})", one_line(reason)),
    };
    format!("peers N={n}: driftless {d}, flux {f}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Load;
    use crate::phases::Cold;

    fn results(label: &'static str, cold: Figure<Cold>) -> Results {
        use crate::phases::na;
        Results {
            label,
            cold,
            push: na("skipped"),
            monorepo: na("skipped"),
            drift: na("skipped"),
            caught_up: na("skipped"),
            idle: na("skipped"),
        }
    }

    fn cold(secs: f64, mib: f64, requests: f64) -> Cold {
        Cold {
            secs,
            peak_mib: mib,
            cpu_secs: 1.0,
            requests: [
                ("GET".to_string(), requests / 2.0),
                ("APPLY".to_string(), requests / 2.0),
            ]
            .into(),
            own_requests: Ok(requests / 4.0),
            curve: vec![],
            load: load(secs),
        }
    }

    /// A load with kube-apiserver busy for `secs`.
    fn load(secs: f64) -> Load {
        Load {
            apiserver: secs,
            etcd: secs / 4.0,
            controller_manager: 0.1,
            busy_percent: Ok(90.0),
        }
    }

    #[test]
    fn summary_line_has_the_issue_format_and_says_why_a_figure_is_missing() {
        let d = results("d", Ok(cold(2.5, 30.0, 800.0)));
        let f = results("f", Err("no Go toolchain".into()));
        assert_eq!(
            summary(100, &d, &f),
            "peers N=100: driftless 2.5 s 30.0 MiB 8.0 req/app, flux n/a (no Go toolchain)"
        );
    }

    #[test]
    fn ratios_divide_flux_by_driftless_only_when_both_exist() {
        let d = results("d", Ok(cold(2.0, 30.0, 800.0)));
        let f = results("f", Ok(cold(20.0, 90.0, 4000.0)));
        let a = results("a", Err("x".into()));
        let text = table(100, &d, &f, &a, &Err("no plane".into()));
        let cold_row = text
            .lines()
            .find(|l| l.contains("all Ready"))
            .expect("cold row");
        assert!(cold_row.contains("10.0x"), "{cold_row}");
        assert!(cold_row.contains("n/a [1]"), "{cold_row}");
        assert!(text.lines().any(|l| l == "[1] x"), "{text}");
        let drift_row = text
            .lines()
            .find(|l| l.contains("drift reverted"))
            .expect("drift row");
        assert!(drift_row.contains(" - "), "{drift_row}");
    }

    #[test]
    fn the_floor_column_has_cold_requests_push_and_its_rate() {
        let d = results("d", Ok(cold(2.0, 30.0, 1600.0)));
        let f = results("f", Err("x".into()));
        let floor = Ok(Floor {
            secs: 0.5,
            applies: 400,
            load: load(0.4),
            push_p50_ms: Ok(12.0),
            ready: Ok(Ready {
                secs: 0.9,
                load: load(0.8),
            }),
        });
        let text = table(100, &d, &f, &f, &floor);
        let line = |name: &str| cells(&text, name);
        assert_eq!(line("N=100")[5], "raw SSA floor");
        assert_eq!(line("all Ready")[5], "0.5");
        assert_eq!(
            line("requests/app")[1..],
            ["16.0", "n/a [1]", "-", "n/a [1]", "4.0"]
        );
        assert_eq!(
            line("own API requests/app")[1..],
            ["4.0", "n/a [1]", "-", "n/a [1]", "4.0"]
        );
        assert_eq!(
            line("APPLY")[1..],
            ["800", "n/a [1]", "-", "n/a [1]", "400"]
        );
        assert_eq!(line("  GET")[5], "-");
        assert_eq!(line("push->applied p50")[5], "12");
        assert_eq!(
            line("floor: apply requests/s")[1..],
            ["-", "-", "-", "-", "800"]
        );
        assert_eq!(line("drift reverted")[5], "-");
        assert_eq!(
            line("floor + Kustomization writes")[1..],
            ["-", "-", "-", "-", "0.9"]
        );
        assert_eq!(
            line("cold: kube-apiserver CPU")[1..],
            ["2.0", "n/a [1]", "-", "n/a [1]", "0.4"]
        );
        assert_eq!(line("cold: etcd CPU")[5], "0.1");
        assert_eq!(line("cold: machine busy")[1], "90");
        assert_eq!(
            line("K writes: kube-apiserver CPU")[1..],
            ["-", "-", "-", "-", "0.8"]
        );
        assert_eq!(line("K writes: machine busy")[5], "90");
    }

    #[test]
    fn the_git_fetch_row_is_the_mean_or_why_not() {
        use crate::phases::Push;
        let push = |fetch_ms| Push {
            p50_ms: 40.0,
            p99_ms: 60.0,
            trigger: "webhook",
            fetch_ms,
        };
        let mut d = results("d", Ok(cold(2.0, 30.0, 1600.0)));
        d.push = Ok(push(Ok(27.4)));
        let mut f = results("f", Ok(cold(20.0, 90.0, 1600.0)));
        f.push = Ok(push(Err("not measured alone".into())));
        let a = results("a", Err("x".into()));
        let text = table(100, &d, &f, &a, &Err("no floor".into()));
        let row = cells(&text, "Git fetch");
        assert_eq!(row[1], "27", "{row:?}");
        assert!(row[2].starts_with("n/a"), "{row:?}");
    }

    /// The non-empty cells of the first line of `text` naming `name`.
    fn cells<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
        let line = text.lines().find(|l| l.contains(name)).expect(name);
        line.split('|')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect()
    }
}
