//! Waiting for an Application or a Kustomization to reach a state:
//! `driftless wait`, and the `--wait` of `sync`, `reconcile` and `refresh`.

use std::time::{Duration, Instant};

use driftless_api::flux::condition::{find_condition, types};
use driftless_api::flux::kustomize::v1::Kustomization;
use driftless_api::flux::source::v1::GitRepository;
use driftless_api::{
    Application, HealthStatusCode, OperationPhase, OperationState, SyncOperationResource,
    SyncStatusCode,
};
use kube::ResourceExt;

use crate::cluster::{Cluster, KubeFlags, block_on};
use crate::controller::parse_duration;
use crate::error::{CliError, Subject};
use crate::kinds::{self, Found};
use crate::ops::REFRESH_ANNOTATION;
use crate::progress::{Progress, Snapshot};

/// How often the state is read.
const POLL: Duration = Duration::from_millis(500);

/// Arguments of `driftless wait`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  driftless wait guestbook                  # until Synced and Healthy, no operation running
  driftless wait guestbook --health --timeout 10m
  driftless wait podinfo                    # a Kustomization: until Ready")]
pub(crate) struct Args {
    /// The Application or Kustomization.
    name: String,
    /// Wait until Synced (an Application; with neither flag, both).
    #[arg(long)]
    sync: bool,
    /// Wait until Healthy (an Application; with neither flag, both).
    #[arg(long)]
    health: bool,
    /// How long to wait, e.g. `90s`, `5m`.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    timeout: Duration,
    #[command(flatten)]
    kube: KubeFlags,
}

/// Runs `wait`.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    block_on(async {
        let cluster = Cluster::connect(&args.kube).await?;
        match kinds::find(&cluster, &args.name).await? {
            Found::App(app) => {
                let both = !args.sync && !args.health;
                let goal = Goal::State {
                    sync: both || args.sync,
                    health: both || args.health,
                };
                wait_app(&cluster, &app.name_any(), goal, args.timeout).await
            }
            Found::Ks(ks) => wait_ks(&cluster, &ks.name_any(), None, args.timeout).await,
        }
    })?
}

/// What an Application is waited for.
#[derive(Clone, Debug)]
pub(crate) enum Goal {
    /// The operation requested with `token` finished, then (unless a dry
    /// run) the Application is Healthy.
    Operation {
        token: String,
        dry_run: bool,
        /// A partial sync's resources: only their health counts.
        resources: Vec<SyncOperationResource>,
    },
    /// The refresh annotation was handled (removed by the controller).
    Refreshed,
    /// Synced and/or Healthy with no operation running.
    State { sync: bool, health: bool },
}

/// Where a wait stands after one look.
enum Verdict {
    Waiting,
    Done(String),
    Failed(String),
}

fn ours<'a>(app: &'a Application, token: &str) -> Option<&'a OperationState> {
    let state = app.status.as_ref()?.operation_state.as_ref()?;
    let mark = format!("driftless-cli {token}");
    state
        .operation
        .info
        .iter()
        .any(|i| i.value == mark)
        .then_some(state)
}

fn health_of(app: &Application) -> HealthStatusCode {
    app.status
        .as_ref()
        .and_then(|s| s.health.as_ref())
        .map(|h| h.status)
        .unwrap_or_default()
}

fn sync_of(app: &Application) -> SyncStatusCode {
    app.status
        .as_ref()
        .and_then(|s| s.sync.as_ref())
        .map(|s| s.status)
        .unwrap_or_default()
}

fn summary(app: &Application) -> String {
    let revision = app
        .status
        .as_ref()
        .and_then(|s| s.sync.as_ref())
        .and_then(|s| s.revision.as_deref())
        .map(crate::output::short_revision)
        .unwrap_or_default();
    format!(
        "{}: {:?} {:?} at {revision}",
        app.name_any(),
        sync_of(app),
        health_of(app)
    )
}

/// Whether the synced objects are healthy: the selected ones after a
/// partial sync (as `argocd app sync --resource` waits), else the Application.
fn synced_objects_healthy(app: &Application, selected: &[SyncOperationResource]) -> bool {
    if selected.is_empty() {
        return health_of(app) == HealthStatusCode::Healthy;
    }
    let resources = app
        .status
        .as_ref()
        .map(|s| s.resources.as_slice())
        .unwrap_or_default();
    selected.iter().all(|want| {
        resources.iter().any(|r| {
            r.group == want.group
                && r.kind == want.kind
                && r.name == want.name
                && want
                    .namespace
                    .as_ref()
                    .is_none_or(|ns| r.namespace.as_ref() == Some(ns))
                && r.health
                    .as_ref()
                    .is_some_and(|h| h.status == HealthStatusCode::Healthy)
        })
    })
}

fn judge_operation(
    app: &Application,
    op: &OperationState,
    dry_run: bool,
    resources: &[SyncOperationResource],
) -> Verdict {
    let message = op.message.as_deref().unwrap_or("");
    match op.phase {
        OperationPhase::Running | OperationPhase::Terminating => Verdict::Waiting,
        OperationPhase::Failed | OperationPhase::Error => Verdict::Failed(format!(
            "{}: sync {:?}: {message}",
            app.name_any(),
            op.phase
        )),
        OperationPhase::Succeeded if dry_run => {
            Verdict::Done(format!("{}: dry run succeeded: {message}", app.name_any()))
        }
        OperationPhase::Succeeded if synced_objects_healthy(app, resources) => {
            Verdict::Done(format!("{} (sync succeeded: {message})", summary(app)))
        }
        OperationPhase::Succeeded => Verdict::Waiting,
    }
}

fn judge(app: &Application, goal: &Goal) -> Verdict {
    match goal {
        Goal::Operation {
            token,
            dry_run,
            resources,
        } => match ours(app, token) {
            None => Verdict::Waiting,
            Some(op) => judge_operation(app, op, *dry_run, resources),
        },
        Goal::Refreshed => {
            if app.annotations().contains_key(REFRESH_ANNOTATION) {
                Verdict::Waiting
            } else {
                Verdict::Done(format!("{} (refreshed)", summary(app)))
            }
        }
        Goal::State { sync, health } => {
            let running = app
                .status
                .as_ref()
                .and_then(|s| s.operation_state.as_ref())
                .is_some_and(|o| o.phase == OperationPhase::Running);
            let synced = !sync || sync_of(app) == SyncStatusCode::Synced;
            let healthy = !health || health_of(app) == HealthStatusCode::Healthy;
            if synced && healthy && !running && app.spec.operation.is_none() {
                Verdict::Done(summary(app))
            } else {
                Verdict::Waiting
            }
        }
    }
}

/// Waits for `goal`, showing progress; an error on failure or timeout.
pub(crate) async fn wait_app(
    cluster: &Cluster,
    name: &str,
    goal: Goal,
    timeout: Duration,
) -> anyhow::Result<()> {
    let subject = kinds::app_subject(&cluster.namespace, Some(name));
    let started = Instant::now();
    let mut progress = Progress::new(name);
    loop {
        let app: Application = kinds::get_opt(cluster, &subject).await?.ok_or_else(|| {
            CliError::Failed(format!("Application {name} was deleted while waiting"))
        })?;
        progress.update(Snapshot::of(&app));
        match judge(&app, &goal) {
            Verdict::Waiting => {}
            Verdict::Done(text) => {
                progress.finish(true, &text);
                return Ok(());
            }
            Verdict::Failed(text) => {
                progress.finish(false, &text);
                return Err(CliError::Failed(text).into());
            }
        }
        if started.elapsed() >= timeout {
            let text = format!("Application {name} ({})", summary(&app));
            progress.finish(false, &format!("timed out: {text}"));
            return Err(CliError::Timeout {
                what: text,
                after: timeout,
            }
            .into());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// A Flux object's readiness after `token` was handled: `Some(Ok)` Ready,
/// `Some(Err(message))` failed, `None` still reconciling.
fn flux_ready(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    generation: Option<i64>,
    handled: Option<&str>,
    token: Option<&str>,
) -> Option<Result<String, String>> {
    if token.is_some() && handled != token {
        return None;
    }
    if let Some(stalled) = find_condition(conditions, types::STALLED).filter(|c| c.status == "True")
    {
        return Some(Err(stalled.message.clone()));
    }
    if find_condition(conditions, types::RECONCILING).is_some_and(|c| c.status == "True") {
        return None;
    }
    let ready = find_condition(conditions, types::READY)?;
    if generation.is_some()
        && ready.observed_generation.is_some()
        && ready.observed_generation < generation
    {
        return None;
    }
    match ready.status.as_str() {
        "True" => Some(Ok(ready.message.clone())),
        "False" => Some(Err(ready.message.clone())),
        _ => None,
    }
}

/// Waits until the Kustomization handled `token` (when given) and is Ready.
pub(crate) async fn wait_ks(
    cluster: &Cluster,
    name: &str,
    token: Option<&str>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let subject = kinds::ks_subject(&cluster.namespace, Some(name));
    let started = Instant::now();
    loop {
        let ks: Kustomization = kinds::get_opt(cluster, &subject).await?.ok_or_else(|| {
            CliError::Failed(format!("Kustomization {name} was deleted while waiting"))
        })?;
        let status = ks.status.clone().unwrap_or_default();
        let handled = status.last_handled_reconcile_at.as_deref();
        match flux_ready(&status.conditions, ks.metadata.generation, handled, token) {
            Some(Ok(message)) => {
                let revision = status.last_applied_revision.unwrap_or_default();
                println!("✓ Kustomization {name} Ready: applied revision {revision} ({message})");
                return Ok(());
            }
            Some(Err(message)) => {
                return Err(CliError::Failed(format!(
                    "Kustomization {name} is not Ready: {message}"
                ))
                .into());
            }
            None => {}
        }
        if started.elapsed() >= timeout {
            return Err(CliError::Timeout {
                what: format!("Kustomization {name} to become Ready"),
                after: timeout,
            }
            .into());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until the GitRepository handled `token` and is Ready.
pub(crate) async fn wait_source(
    cluster: &Cluster,
    subject: &Subject,
    token: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let name = subject.name.clone().unwrap_or_default();
    let started = Instant::now();
    loop {
        let repo: GitRepository = kinds::get_opt(cluster, subject)
            .await?
            .ok_or_else(|| CliError::Failed(format!("GitRepository {name} not found")))?;
        let status = repo.status.clone().unwrap_or_default();
        let handled = status.last_handled_reconcile_at.as_deref();
        match flux_ready(
            &status.conditions,
            repo.metadata.generation,
            handled,
            Some(token),
        ) {
            Some(Ok(_)) => {
                let revision = status.artifact.map(|a| a.revision).unwrap_or_default();
                println!("✓ GitRepository {name} Ready: fetched revision {revision}");
                return Ok(());
            }
            Some(Err(message)) => {
                return Err(CliError::Failed(format!(
                    "GitRepository {name} is not Ready: {message}"
                ))
                .into());
            }
            None => {}
        }
        if started.elapsed() >= timeout {
            return Err(CliError::Timeout {
                what: format!("GitRepository {name} to become Ready"),
                after: timeout,
            }
            .into());
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

    fn condition(type_: &str, status: &str, message: &str) -> Condition {
        Condition {
            type_: type_.into(),
            status: status.into(),
            message: message.into(),
            reason: "R".into(),
            observed_generation: Some(2),
            last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
            ),
        }
    }

    #[test]
    fn flux_readiness() {
        let ready = [condition(
            "Ready",
            "True",
            "Applied revision: main@sha1:abc",
        )];
        assert_eq!(
            flux_ready(&ready, Some(2), Some("t"), Some("t")),
            Some(Ok("Applied revision: main@sha1:abc".into()))
        );
        assert_eq!(
            flux_ready(&ready, Some(2), Some("old"), Some("t")),
            None,
            "token not handled yet"
        );
        assert_eq!(
            flux_ready(&ready, Some(3), None, None),
            None,
            "an older generation"
        );
        let failed = [condition("Ready", "False", "kustomization path not found")];
        assert_eq!(
            flux_ready(&failed, Some(2), None, None),
            Some(Err("kustomization path not found".into()))
        );
        let busy = [
            condition("Reconciling", "True", ""),
            condition("Ready", "Unknown", ""),
        ];
        assert_eq!(flux_ready(&busy, Some(2), None, None), None);
    }
}
