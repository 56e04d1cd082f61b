//! How each kind becomes a row of `get`'s table.

use driftless_api::Application;
use driftless_api::flux::condition::{find_condition, types};
use driftless_api::flux::kustomize::v1::Kustomization;
use driftless_api::flux::source::v1::GitRepository;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{Resource, ResourceExt};

use super::Rows;
use crate::error::Subject;
use crate::kinds;
use crate::output;

/// Application rows: NAME SYNC HEALTH REVISION PATH AGE MESSAGE.
pub(crate) struct AppRows;

impl Rows<Application> for AppRows {
    fn subject(&self, namespace: &str, name: Option<&str>) -> Subject {
        kinds::app_subject(namespace, name)
    }

    fn header(&self, wide: bool) -> Vec<&'static str> {
        let mut h = vec![
            "NAME", "SYNC", "HEALTH", "REVISION", "PATH", "AGE", "MESSAGE",
        ];
        if wide {
            h.extend(["REPO", "TARGET", "PROJECT", "AUTO-SYNC", "OPERATION"]);
        }
        h
    }

    fn row(&self, app: &Application, wide: bool) -> Vec<String> {
        let status = app.status.clone().unwrap_or_default();
        let spec = &app.spec.spec;
        let source = spec
            .source
            .clone()
            .or_else(|| spec.sources.first().cloned())
            .unwrap_or_default();
        let sync = status.sync.as_ref();
        let mut row = vec![
            app.name_any(),
            sync.map(|s| format!("{:?}", s.status))
                .unwrap_or_else(|| "Unknown".into()),
            status
                .health
                .as_ref()
                .map(|h| format!("{:?}", h.status))
                .unwrap_or_else(|| "Unknown".into()),
            sync.and_then(|s| s.revision.as_deref())
                .map(output::short_revision)
                .unwrap_or_default(),
            source.path.clone().unwrap_or_default(),
            output::age(app.meta().creation_timestamp.as_ref()),
            status
                .conditions
                .first()
                .map(|c| output::one_line(&c.message, 80))
                .unwrap_or_default(),
        ];
        if wide {
            let op = status.operation_state.as_ref();
            row.extend([
                source.repo_url.clone(),
                source.revision().to_string(),
                spec.project.clone(),
                auto_sync(app).to_string(),
                op.map(|o| {
                    format!(
                        "{:?}: {}",
                        o.phase,
                        output::one_line(o.message.as_deref().unwrap_or(""), 60)
                    )
                })
                .unwrap_or_default(),
            ]);
        }
        row
    }
}

/// `Enabled`, `Disabled` (automated with `enabled: false`, see `suspend`) or `Off`.
pub(crate) fn auto_sync(app: &Application) -> &'static str {
    match app
        .spec
        .spec
        .sync_policy
        .as_ref()
        .and_then(|p| p.automated.as_ref())
    {
        Some(a) if a.enabled == Some(false) => "Disabled",
        Some(_) => "Enabled",
        None => "Off",
    }
}

fn condition_cells(conditions: &[Condition], type_: &str) -> (String, String) {
    match find_condition(conditions, type_) {
        Some(c) => (c.status.clone(), output::one_line(&c.message, 80)),
        None => ("Unknown".into(), String::new()),
    }
}

/// Kustomization rows: NAME READY HEALTH REVISION PATH AGE MESSAGE.
pub(crate) struct KsRows;

impl Rows<Kustomization> for KsRows {
    fn subject(&self, namespace: &str, name: Option<&str>) -> Subject {
        kinds::ks_subject(namespace, name)
    }

    fn header(&self, wide: bool) -> Vec<&'static str> {
        let mut h = vec![
            "NAME", "READY", "HEALTH", "REVISION", "PATH", "AGE", "MESSAGE",
        ];
        if wide {
            h.extend(["SOURCE", "SUSPENDED"]);
        }
        h
    }

    fn row(&self, ks: &Kustomization, wide: bool) -> Vec<String> {
        let status = ks.status.clone().unwrap_or_default();
        let (ready, message) = condition_cells(&status.conditions, types::READY);
        let health = match find_condition(&status.conditions, types::HEALTHY) {
            Some(c) if c.status == "True" => "Healthy".to_string(),
            Some(c) if c.status == "False" => "Degraded".to_string(),
            _ => "-".to_string(),
        };
        let mut row = vec![
            ks.name_any(),
            ready,
            health,
            status
                .last_applied_revision
                .as_deref()
                .map(output::short_revision)
                .unwrap_or_default(),
            ks.spec.path.clone().unwrap_or_else(|| "./".into()),
            output::age(ks.meta().creation_timestamp.as_ref()),
            message,
        ];
        if wide {
            let r = &ks.spec.source_ref;
            row.extend([
                format!("{}/{}", r.kind, r.name),
                ks.spec.suspend.to_string(),
            ]);
        }
        row
    }
}

/// GitRepository rows: NAME READY REVISION URL AGE MESSAGE.
pub(crate) struct SourceRows;

impl Rows<GitRepository> for SourceRows {
    fn subject(&self, namespace: &str, name: Option<&str>) -> Subject {
        kinds::source_subject(namespace, name)
    }

    fn header(&self, wide: bool) -> Vec<&'static str> {
        let mut h = vec!["NAME", "READY", "REVISION", "URL", "AGE", "MESSAGE"];
        if wide {
            h.push("SUSPENDED");
        }
        h
    }

    fn row(&self, repo: &GitRepository, wide: bool) -> Vec<String> {
        let status = repo.status.clone().unwrap_or_default();
        let (ready, message) = condition_cells(&status.conditions, types::READY);
        let mut row = vec![
            repo.name_any(),
            ready,
            status
                .artifact
                .as_ref()
                .map(|a| output::short_revision(&a.revision))
                .unwrap_or_default(),
            repo.spec.url.clone(),
            output::age(repo.meta().creation_timestamp.as_ref()),
            message,
        ];
        if wide {
            row.push(repo.spec.suspend.to_string());
        }
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_rows() {
        let app: Application = serde_json::from_value(serde_json::json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "web", "namespace": "argocd"},
            "spec": {"project": "default",
                     "source": {"repoURL": "https://git.example/r.git", "path": "apps/web"},
                     "destination": {"namespace": "web"},
                     "syncPolicy": {"automated": {"enabled": false}}},
            "status": {"sync": {"status": "OutOfSync", "revision": "0123456789abcdef0123456789abcdef01234567"},
                       "health": {"status": "Degraded"},
                       "conditions": [{"type": "ComparisonError", "message": "bad\nthing"}]}
        }))
        .expect("an Application");
        let row = AppRows.row(&app, true);
        assert_eq!(
            &row[..5],
            ["web", "OutOfSync", "Degraded", "0123456", "apps/web"]
        );
        assert_eq!(row[6], "bad thing");
        assert_eq!(row[10], "Disabled");
    }
}
