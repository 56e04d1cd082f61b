//! The live display of `sync --wait` and `wait`: one line per object as it
//! changes, and on a terminal a status line with a spinner and a bar that is
//! redrawn in place (plain lines when piped).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use driftless_api::{Application, HealthStatusCode, SyncStatusCode};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::color::{self, Color};

/// The spinner's frames; the last one is shown when finished.
const SPINNER: [&str; 11] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏", "✓"];

/// What one poll saw of an Application, for the display.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Snapshot {
    /// `Kind namespace/name` → `Synced Healthy` (and the sync's message).
    pub objects: BTreeMap<String, String>,
    /// How many objects are Synced.
    pub synced: usize,
    /// How many objects are Healthy.
    pub healthy: usize,
    /// What the Application is doing (`operation Running: ...`, `OutOfSync Progressing`).
    pub phase: String,
}

impl Snapshot {
    /// The snapshot of `app`.
    pub(crate) fn of(app: &Application) -> Snapshot {
        let status = app.status.clone().unwrap_or_default();
        let messages: BTreeMap<String, String> = status
            .operation_state
            .as_ref()
            .and_then(|o| o.sync_result.as_ref())
            .map(|r| {
                r.resources
                    .iter()
                    .map(|x| {
                        (
                            key(&x.kind, x.namespace.as_deref(), &x.name),
                            x.message.clone().unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut snap = Snapshot::default();
        for r in &status.resources {
            let k = key(&r.kind, r.namespace.as_deref(), &r.name);
            let health = r.health.as_ref().map(|h| h.status).unwrap_or_default();
            snap.synced += usize::from(r.status == SyncStatusCode::Synced);
            snap.healthy += usize::from(health == HealthStatusCode::Healthy);
            let mut line = format!("{:?} {:?}", r.status, health);
            if let Some(m) = messages.get(&k).filter(|m| !m.is_empty()) {
                line.push_str(&format!(" ({m})"));
            }
            snap.objects.insert(k, line);
        }
        snap.phase = match &status.operation_state {
            Some(o) if o.phase == driftless_api::OperationPhase::Running => {
                format!(
                    "syncing: {}",
                    crate::output::one_line(o.message.as_deref().unwrap_or(""), 60)
                )
            }
            _ => format!(
                "{:?} {:?}",
                status.sync.map(|s| s.status).unwrap_or_default(),
                status.health.map(|h| h.status).unwrap_or_default()
            ),
        };
        snap
    }
}

fn key(kind: &str, namespace: Option<&str>, name: &str) -> String {
    match namespace.filter(|n| !n.is_empty()) {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// The display: on a terminal an indicatif bar (spinner, objects healthy
/// of all, elapsed time) redrawn in place below the object lines; piped,
/// plain lines only.
pub(crate) struct Progress {
    name: String,
    bar: Option<ProgressBar>,
    colored: bool,
    last: Snapshot,
    started: Instant,
}

impl Progress {
    /// A display for the Application `name` on stdout.
    pub(crate) fn new(name: &str) -> Progress {
        let tty = std::io::stdout().is_terminal();
        Progress {
            name: name.to_string(),
            bar: tty.then(|| status_bar(name)),
            colored: tty && std::env::var_os("NO_COLOR").is_none(),
            last: Snapshot::default(),
            started: Instant::now(),
        }
    }

    /// Shows what changed since the last update.
    pub(crate) fn update(&mut self, snap: Snapshot) {
        for (k, v) in &snap.objects {
            if self.last.objects.get(k) != Some(v) {
                self.line(&format!("  {k}: {}", self.paint_state(v)));
            }
        }
        let total = snap.objects.len();
        match &self.bar {
            Some(bar) => {
                bar.set_length(total as u64);
                bar.set_position(snap.healthy as u64);
                bar.set_message(format!("{} {}/{total} synced", snap.phase, snap.synced));
            }
            None if snap.phase != self.last.phase => {
                println!("{}: {}", self.name, snap.phase);
            }
            None => {}
        }
        self.last = snap;
    }

    /// Ends the display with a summary line (green on success, red otherwise).
    pub(crate) fn finish(&mut self, ok: bool, summary: &str) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let mark = if ok { "✓" } else { "✗" };
        let text = format!("{mark} {summary} ({}s)", self.started.elapsed().as_secs());
        let color = if ok { Color::Green } else { Color::Red };
        println!("{}", color::paint(&text, color, self.colored));
    }

    /// One line above the bar (or a plain line when piped).
    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => println!("{text}"),
        }
    }

    fn paint_state(&self, state: &str) -> String {
        state
            .split(' ')
            .map(|w| match color::of_status(w) {
                Some(c) => color::paint(w, c, self.colored),
                None => w.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The terminal's status line: `⠙ NAME: PHASE n/m synced [####----] k/m healthy (3s)`.
fn status_bar(name: &str) -> ProgressBar {
    let style = ProgressStyle::with_template(
        "{spinner} {prefix}: {msg} [{bar:20}] {pos}/{len} healthy ({elapsed})",
    )
    .expect("a valid template")
    .tick_strings(&SPINNER)
    .progress_chars("##-");
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stdout())
        .with_style(style)
        .with_prefix(name.to_string());
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_count_objects() {
        let app: Application = serde_json::from_value(serde_json::json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "web"},
            "spec": {"project": "default", "destination": {}},
            "status": {"resources": [
                {"kind": "ConfigMap", "namespace": "ns", "name": "a", "status": "Synced", "health": {"status": "Healthy"}},
                {"group": "apps", "kind": "Deployment", "namespace": "ns", "name": "b", "status": "OutOfSync", "health": {"status": "Missing"}}
            ]}
        }))
        .expect("an Application");
        let snap = Snapshot::of(&app);
        assert_eq!((snap.synced, snap.healthy), (1, 1));
        assert_eq!(snap.objects["Deployment ns/b"], "OutOfSync Missing");
    }
}
