//! The live display of `sync --wait` and `wait`: one line per object as it
//! changes, and on a terminal a status line with a spinner and a bar that is
//! redrawn in place (plain lines when piped).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::Instant;

use driftless_api::{Application, HealthStatusCode, SyncStatusCode};

use crate::output::color::{self, Color};

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const BAR_WIDTH: usize = 20;

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

/// The display.
pub(crate) struct Progress {
    name: String,
    tty: bool,
    colored: bool,
    last: Snapshot,
    frame: usize,
    started: Instant,
    status_line: bool,
}

impl Progress {
    /// A display for the Application `name` on stdout.
    pub(crate) fn new(name: &str) -> Progress {
        let tty = std::io::stdout().is_terminal();
        Progress {
            name: name.to_string(),
            tty,
            colored: tty && std::env::var_os("NO_COLOR").is_none(),
            last: Snapshot::default(),
            frame: 0,
            started: Instant::now(),
            status_line: false,
        }
    }

    /// Shows what changed since the last update.
    pub(crate) fn update(&mut self, snap: Snapshot) {
        let mut out = String::new();
        self.clear_status(&mut out);
        for (k, v) in &snap.objects {
            if self.last.objects.get(k) != Some(v) {
                out.push_str(&format!("  {k}: {}\n", self.paint_state(v)));
            }
        }
        let total = snap.objects.len();
        if self.tty {
            self.frame = (self.frame + 1) % SPINNER.len();
            out.push_str(&format!(
                "{} {}: {} {} {}/{} healthy, {}/{} synced ({}s)",
                SPINNER[self.frame],
                self.name,
                snap.phase,
                bar(snap.healthy, total),
                snap.healthy,
                total,
                snap.synced,
                total,
                self.started.elapsed().as_secs()
            ));
            self.status_line = true;
        } else if snap.phase != self.last.phase {
            out.push_str(&format!("{}: {}\n", self.name, snap.phase));
        }
        print_flush(&out);
        self.last = snap;
    }

    /// Ends the display with a summary line (green on success, red otherwise).
    pub(crate) fn finish(&mut self, ok: bool, summary: &str) {
        let mut out = String::new();
        self.clear_status(&mut out);
        let mark = if ok { "✓" } else { "✗" };
        let text = format!("{mark} {summary} ({}s)", self.started.elapsed().as_secs());
        out.push_str(&color::paint(
            &text,
            if ok { Color::Green } else { Color::Red },
            self.colored,
        ));
        out.push('\n');
        print_flush(&out);
    }

    fn clear_status(&mut self, out: &mut String) {
        if self.status_line {
            out.push_str("\r\x1b[2K");
            self.status_line = false;
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

fn print_flush(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// `[######--------------]`: `done` of `total`.
fn bar(done: usize, total: usize) -> String {
    let filled = (done * BAR_WIDTH).checked_div(total).unwrap_or(0);
    format!("[{}{}]", "#".repeat(filled), "-".repeat(BAR_WIDTH - filled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars() {
        assert_eq!(bar(0, 0), format!("[{}]", "-".repeat(20)));
        assert_eq!(bar(1, 2), format!("[{}{}]", "#".repeat(10), "-".repeat(10)));
        assert_eq!(bar(3, 3), format!("[{}]", "#".repeat(20)));
    }

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
