//! Helm benchmark: a chart of 24 templates served by a chart repository on
//! 127.0.0.1 (the test kit's), rendered by driftless-helm's [`Renderer`] and
//! by the pinned `helm template` run directly, alternately, in the same run:
//!
//! - cold: driftless with an empty cache (index and archive fetched over
//!   HTTP in Rust, then one `helm template`) against `helm template --repo URL` (fetch + render in
//!   one process), each with a fresh home;
//! - miss: the chart already unpacked in driftless' cache, a render it has
//!   not cached (another values digest each run) against `helm template`
//!   of the unpacked chart directory;
//! - hit: the same render again, answered from the render cache, against
//!   the same `helm template` of the directory.
//!
//! Prints the medians and the ratios (driftless / helm: below 1 is faster),
//! and the mean CPU time of each side (this process and helm), which a
//! loaded machine disturbs less than wall time.
//! `cargo run --release -p driftless-helm --example bench -- [--runs N]`
//! (or `bench/helm.sh`). A measurement, never a test.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use driftless_helm::{ChartSource, Helm, Renderer, RepoChart, TemplateOptions};
use driftless_testkit::helm::{ChartRepo, binaries, package, write_chart};

const CHART: &str = "bench";
const VERSION: &str = "1.0.0";

/// A chart with a Deployment, Service, ConfigMap, ... per component.
fn write_bench_chart(dir: &Path) -> std::path::PathBuf {
    let mut templates = Vec::new();
    for i in 0..8 {
        templates.push((
            format!("deploy-{i}.yaml"),
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{{{ .Release.Name }}}}-c{i}\n  \
                 labels: {{{{- include \"labels\" . | nindent 4 }}}}\nspec:\n  replicas: {{{{ .Values.replicas }}}}\n  \
                 selector:\n    matchLabels: {{app: c{i}}}\n  template:\n    metadata:\n      labels: {{app: c{i}}}\n    \
                 spec:\n      containers:\n      - name: app\n        image: \"{{{{ .Values.image }}}}:{{{{ .Values.tag }}}}\"\n        \
                 env:\n        {{{{- range $k, $v := .Values.env }}}}\n        - name: {{{{ $k }}}}\n          value: {{{{ $v | quote }}}}\n        {{{{- end }}}}\n"
            ),
        ));
        templates.push((
            format!("svc-{i}.yaml"),
            format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{{{ .Release.Name }}}}-c{i}\nspec:\n  \
                 selector: {{app: c{i}}}\n  ports:\n  - port: {{{{ .Values.port }}}}\n"
            ),
        ));
        templates.push((
            format!("cm-{i}.yaml"),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{{{ .Release.Name }}}}-c{i}\ndata:\n  \
                 values: {{{{ toYaml .Values | quote }}}}\n"
            ),
        ));
    }
    templates.push((
        "_helpers.tpl".into(),
        "{{- define \"labels\" -}}\napp.kubernetes.io/instance: {{ .Release.Name }}\nhelm.sh/chart: {{ .Chart.Name }}\n{{- end -}}\n".into(),
    ));
    let refs: Vec<(&str, &str)> = templates
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    write_chart(
        dir,
        CHART,
        VERSION,
        "replicas: 2\nimage: nginx\ntag: \"1.27\"\nport: 80\nenv: {A: \"1\", B: two}\n",
        &refs,
    )
}

/// `helm ARGS` with a fresh, private home; its wall time.
fn helm(args: &[&OsStr], home: &Path) -> Duration {
    let start = Instant::now();
    let status = Command::new(binaries().helm)
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run helm");
    assert!(status.success(), "helm {args:?} failed");
    start.elapsed()
}

/// CPU time used so far by this process (all threads, the test chart
/// repository's included) and by its waited-for children (helm), from
/// `/proc/self/stat` (Linux, 100 ticks a second); zero where unreadable.
/// Less disturbed than wall time by other work on a loaded machine.
fn cpu() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    // Fields after the name start at `state` (field 3): utime, stime,
    // cutime and cstime are fields 14 to 17.
    let ticks: u64 = after_name
        .split_whitespace()
        .skip(11)
        .take(4)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// Runs `f`, adding the CPU time it used (see [`cpu`]) to `total`.
fn with_cpu<T>(total: &mut Duration, f: impl FnOnce() -> T) -> T {
    let before = cpu();
    let out = f();
    *total += cpu().saturating_sub(before);
    out
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let mut runs = 7;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            other => panic!("unknown argument {other}; usage: bench [--runs N]"),
        }
    }
    let work = tempfile::tempdir().expect("work dir");
    let chart_dir = write_bench_chart(&work.path().join("src"));
    let repo = ChartRepo::start(None);
    repo.add(&package(&chart_dir, &work.path().join("packages")));
    let url = repo.url().to_string();
    let source = ChartSource::Repository(RepoChart::new(&url, CHART, VERSION));

    let (mut cold, mut cold_peer) = (Vec::new(), Vec::new());
    let (mut cold_cpu, mut cold_peer_cpu) = (Duration::ZERO, Duration::ZERO);
    for i in 0..runs {
        let root = work.path().join(format!("cold-{i}"));
        let renderer = Renderer::new(Helm::new(binaries().helm), &root);
        let start = Instant::now();
        let rendered = with_cpu(&mut cold_cpu, || {
            renderer
                .render(&source, &TemplateOptions::new("bench"))
                .expect("render")
        });
        cold.push(start.elapsed());
        assert!(!rendered.cached && rendered.objects.len() == 24);
        let home = work.path().join(format!("peer-cold-{i}"));
        let peer = [
            "template",
            "bench",
            CHART,
            "--repo",
            &url,
            "--version",
            VERSION,
        ];
        let peer: Vec<&OsStr> = peer.iter().map(OsStr::new).collect();
        cold_peer.push(with_cpu(&mut cold_peer_cpu, || helm(&peer, &home)));
    }

    let renderer = Renderer::new(Helm::new(binaries().helm), work.path().join("warm"));
    renderer
        .render(&source, &TemplateOptions::new("bench"))
        .expect("prime the chart cache");
    let (mut miss, mut hit, mut peer_dir) = (Vec::new(), Vec::new(), Vec::new());
    let (mut miss_cpu, mut peer_dir_cpu) = (Duration::ZERO, Duration::ZERO);
    for i in 0..runs {
        let mut options = TemplateOptions::new("bench");
        options.values = Some(format!("tag: \"run-{i}\"\n"));
        let start = Instant::now();
        let first = with_cpu(&mut miss_cpu, || {
            renderer.render(&source, &options).expect("render")
        });
        miss.push(start.elapsed());
        let start = Instant::now();
        let again = renderer.render(&source, &options).expect("render");
        hit.push(start.elapsed());
        assert!(!first.cached && again.cached);
        let home = work.path().join(format!("peer-dir-{i}"));
        let args = [
            OsStr::new("template"),
            OsStr::new("bench"),
            chart_dir.as_os_str(),
        ];
        peer_dir.push(with_cpu(&mut peer_dir_cpu, || helm(&args, &home)));
    }

    let (cold, cold_peer) = (median(cold), median(cold_peer));
    let (miss, hit, peer_dir) = (median(miss), median(hit), median(peer_dir));
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!("chart {CHART} {VERSION}: 24 objects, median of {runs} runs");
    println!(
        "{:<58} {:>12} {:>12} {:>10}",
        "", "driftless", "helm", "ratio"
    );
    println!(
        "{:<58} {:>12} {:>12} {:>9.2}x",
        "cold (empty cache: fetch + template | helm --repo)",
        ms(cold),
        ms(cold_peer),
        ratio(cold, cold_peer)
    );
    println!(
        "{:<58} {:>12} {:>12} {:>9.2}x",
        "render-cache miss, chart cached | helm template DIR",
        ms(miss),
        ms(peer_dir),
        ratio(miss, peer_dir)
    );
    println!(
        "{:<58} {:>12} {:>12} {:>9.4}x",
        "render-cache hit | helm template DIR",
        ms(hit),
        ms(peer_dir),
        ratio(hit, peer_dir)
    );
    let mean = |total: Duration| total / runs as u32;
    println!(
        "{:<58} {:>12} {:>12} {:>9.2}x",
        "CPU, mean: cold (driftless process + helm | helm)",
        ms(mean(cold_cpu)),
        ms(mean(cold_peer_cpu)),
        ratio(cold_cpu, cold_peer_cpu)
    );
    println!(
        "{:<58} {:>12} {:>12} {:>9.2}x",
        "CPU, mean: render-cache miss | helm template DIR",
        ms(mean(miss_cpu)),
        ms(mean(peer_dir_cpu)),
        ratio(miss_cpu, peer_dir_cpu)
    );
    println!(
        "cache hit is {:.0}x faster than helm template (goal >= 100x); cold is {:+.0}% vs helm (goal within 10%)",
        1.0 / ratio(hit, peer_dir),
        (ratio(cold, cold_peer) - 1.0) * 100.0
    );
}
