//! Render benchmark: the seed overlays (tests/fixtures) and a large
//! synthetic overlay tree (3 levels of bases, generators, patches, images,
//! more than 500 objects), rendered alternately by `driftless render` (when
//! `--driftless PATH` names the binary) and `kubectl kustomize`; prints the
//! median wall time and peak RSS of each and the ratios, plus the median
//! in-process render time (no process start).
//!
//! `cargo run --release -p driftless-render --example bench -- [--driftless PATH] [--runs N] [--in-process-only] [--write-tree DIR] [--render ROOT PATH]`
//! (or `bench/render.sh`). A measurement, never a test.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use driftless_render::{DiskTree, RenderOptions, render_kustomization, to_yaml};

/// One child run: wall time and peak RSS in KiB.
fn run_child(program: &Path, args: &[&Path]) -> Result<(Duration, u64), String> {
    let start = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child, not yet waited for; the pointers are valid.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    if waited != pid {
        return Err(format!("wait4 failed for {}", program.display()));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("{} {:?} failed", program.display(), args));
    }
    Ok((elapsed, usage.ru_maxrss as u64))
}

/// This process's peak RSS in KiB so far (VmHWM).
fn own_peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn median<T: Copy + Ord>(mut values: Vec<T>) -> T {
    values.sort();
    values[values.len() / 2]
}

/// Writes the synthetic tree: base (apps) <- mid (team) <- overlay (env).
fn synthetic_tree(root: &Path, apps: usize) -> std::io::Result<()> {
    let write = |path: &str, text: &str| -> std::io::Result<()> {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap_or(root))?;
        std::fs::write(full, text)
    };
    let mut base_resources = String::from("resources:\n");
    for i in 0..apps {
        let name = format!("app{i:03}");
        base_resources.push_str(&format!("- {name}.yaml\n"));
        write(
            &format!("base/{name}.yaml"),
            &format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  labels:\n    app: {name}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: main\n        image: registry.example.com/{name}:1.0.0\n        ports:\n        - containerPort: 8080\n        envFrom:\n        - configMapRef:\n            name: {name}-config\n        resources:\n          requests:\n            cpu: 100m\n            memory: 128Mi\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  selector:\n    app: {name}\n  ports:\n  - port: 80\n    targetPort: 8080\n"
            ),
        )?;
    }
    write(
        "base/kustomization.yaml",
        &format!("{base_resources}commonLabels:\n  tier: backend\n"),
    )?;
    let mut mid = String::from(
        "resources:\n- ../base\nnamePrefix: team-\ncommonAnnotations:\n  owner: team-a\nconfigMapGenerator:\n",
    );
    for i in 0..apps {
        mid.push_str(&format!(
            "- name: app{i:03}-config\n  literals:\n  - LOG_LEVEL=info\n  - APP_INDEX=\"{i}\"\n"
        ));
    }
    mid.push_str("patches:\n- path: resources.yaml\n  target:\n    kind: Deployment\n    labelSelector: tier=backend\n");
    write("mid/kustomization.yaml", &mid)?;
    write(
        "mid/resources.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: any\nspec:\n  template:\n    spec:\n      containers:\n      - name: main\n        resources:\n          limits:\n            memory: 256Mi\n",
    )?;
    let mut overlay = String::from(
        "resources:\n- ../mid\nnamespace: production\nnameSuffix: -prod\ncommonLabels:\n  env: prod\nimages:\n",
    );
    for i in 0..apps {
        overlay.push_str(&format!(
            "- name: registry.example.com/app{i:03}\n  newTag: 1.2.{i}\n"
        ));
    }
    overlay.push_str("replicas:\n");
    for i in (0..apps).step_by(3) {
        overlay.push_str(&format!("- name: team-app{i:03}\n  count: 3\n"));
    }
    overlay.push_str("configMapGenerator:\n");
    for i in (0..apps).step_by(2) {
        overlay.push_str(&format!(
            "- name: app{i:03}-config\n  behavior: merge\n  literals:\n  - LOG_LEVEL=warn\n"
        ));
    }
    overlay.push_str("secretGenerator:\n- name: db\n  literals:\n  - password=s3cret\npatches:\n- patch: |-\n    - op: add\n      path: /spec/template/metadata/annotations\n      value: {prometheus.io/scrape: \"true\"}\n  target:\n    kind: Deployment\n");
    write("overlay/kustomization.yaml", &overlay)
}

struct Case {
    name: String,
    root: PathBuf,
    path: String,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut driftless: Option<PathBuf> = None;
    let mut runs = 11usize;
    let mut with_kubectl = true;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--driftless" => driftless = args.next().map(PathBuf::from),
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(runs),
            "--in-process-only" => with_kubectl = false,
            "--render" => {
                // Renders ROOT/PATH once and prints it, for profiling by hand.
                let root = PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
                let path = args.next().unwrap_or_default();
                let tree = DiskTree::new(&root).expect("opening the directory");
                let rendered = render_kustomization(&tree, &path, &RenderOptions::default())
                    .expect("rendering");
                let stdout = std::io::stdout();
                driftless_render::write_yaml(&rendered.objects, &mut stdout.lock())
                    .expect("printing");
                return;
            }
            "--write-tree" => {
                // Writes the synthetic tree to DIR and exits, for profiling by hand.
                let dir = PathBuf::from(args.next().unwrap_or_else(|| "synthetic".into()));
                synthetic_tree(&dir, 170).expect("writing the synthetic tree");
                println!("{}", dir.join("overlay").display());
                return;
            }
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let kubectl = PathBuf::from("kubectl");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let synthetic = tempfile::tempdir().expect("temporary directory");
    synthetic_tree(synthetic.path(), 170).expect("writing the synthetic tree");
    let mut cases: Vec<Case> = [
        "seed000/overlays/prod",
        "seed001/environments/dev/myapp-kustomized",
        "seed002/k8s/overlays/production",
        "seed004/apps/production",
    ]
    .iter()
    .map(|p| Case {
        name: p.to_string(),
        root: fixtures.clone(),
        path: p.to_string(),
    })
    .collect();
    cases.push(Case {
        name: "synthetic (3 levels)".into(),
        root: synthetic.path().to_path_buf(),
        path: "overlay".into(),
    });
    let mut report = String::new();
    let _ = writeln!(
        report,
        "{:<42} {:>7} {:>11} {:>11} {:>9} {:>10} {:>10} {:>9} {:>11}",
        "case",
        "objects",
        "in-process",
        "driftless",
        "kubectl",
        "ratio",
        "rss ours",
        "rss kctl",
        "rss ratio"
    );
    // Child processes first: Linux counts the parent's peak RSS into a child's
    // (exec keeps the larger of the two), so they are measured while this
    // process is still small, before any in-process render grows it.
    let floor_kib = own_peak_rss_kib();
    let mut measured = Vec::new();
    for case in &cases {
        let dir = case.root.join(&case.path);
        let (mut ours, mut ours_rss, mut theirs, mut theirs_rss) = (vec![], vec![], vec![], vec![]);
        for _ in 0..runs {
            if let Some(bin) = &driftless {
                let (t, rss) =
                    run_child(bin, &[Path::new("render"), &dir]).expect("driftless render");
                ours.push(t);
                ours_rss.push(rss);
            }
            if with_kubectl {
                let (t, rss) = run_child(&kubectl, &[Path::new("kustomize"), &dir])
                    .expect("kubectl kustomize");
                theirs.push(t);
                theirs_rss.push(rss);
            }
        }
        measured.push((ours, ours_rss, theirs, theirs_rss));
    }
    for (case, (ours, ours_rss, theirs, theirs_rss)) in cases.iter().zip(measured) {
        let tree = DiskTree::new(&case.root).expect("tree");
        let options = RenderOptions::default();
        let rendered = render_kustomization(&tree, &case.path, &options)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let objects = rendered.objects.len();
        let mut in_process = Vec::new();
        for _ in 0..runs {
            let start = Instant::now();
            let r = render_kustomization(&tree, &case.path, &options).expect("render");
            let _ = to_yaml(&r.objects).expect("yaml");
            in_process.push(start.elapsed());
        }
        let ms = |d: Duration| format!("{:.2}ms", d.as_secs_f64() * 1000.0);
        let mib = |kib: u64| format!("{:.1}MiB", kib as f64 / 1024.0);
        let inproc = median(in_process);
        if theirs.is_empty() {
            let _ = writeln!(
                report,
                "{:<42} {:>7} {:>11}",
                case.name,
                objects,
                ms(inproc)
            );
            continue;
        }
        let kctl = median(theirs);
        let kctl_rss = median(theirs_rss);
        let (ours_t, ratio, ours_m, rss_ratio) = if ours.is_empty() {
            (
                "-".to_string(),
                format!("{:.0}x*", kctl.as_secs_f64() / inproc.as_secs_f64()),
                "-".to_string(),
                "-".to_string(),
            )
        } else {
            let t = median(ours);
            let m = median(ours_rss);
            (
                ms(t),
                format!("{:.1}x", kctl.as_secs_f64() / t.as_secs_f64()),
                mib(m),
                format!("{:.1}x", kctl_rss as f64 / m.max(1) as f64),
            )
        };
        let _ = writeln!(
            report,
            "{:<42} {:>7} {:>11} {:>11} {:>9} {:>10} {:>10} {:>9} {:>11}",
            case.name,
            objects,
            ms(inproc),
            ours_t,
            ms(kctl),
            ratio,
            ours_m,
            mib(kctl_rss),
            rss_ratio
        );
    }
    let _ = writeln!(
        report,
        "(child peak RSS includes at least this benchmark's own at the time: {:.1}MiB)",
        floor_kib as f64 / 1024.0
    );
    print!("{report}");
    println!(
        "medians of {runs} alternating runs; ratio = kubectl / driftless (* = against in-process time: no --driftless binary given)"
    );
}
