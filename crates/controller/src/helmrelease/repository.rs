//! Flux's `HelmRepository`: a kube-runtime `Controller` per watched
//! namespace. A `default` repository's `index.yaml` is fetched by the
//! pinned helm with the credentials of its own `spec.secretRef` and its
//! digest reported as `status.artifact.revision` (`sha256:<hex>`), as Flux
//! does; an `oci` one has no index: its registry is checked for
//! reachability (a TCP connection within `spec.timeout`) and no artifact is
//! written, as in Flux. Ready carries Flux's reasons: `Succeeded`,
//! `AuthenticationFailed`, `IndexationFailed`, `UnsupportedField`, `InvalidSpec`.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use driftless_api::flux::RECONCILE_REQUESTED_AT;
use driftless_api::flux::condition::{
    new_condition, reasons, remove_condition, set_condition, status, types,
};
use driftless_api::flux::reference::Artifact;
use driftless_api::flux::source::helm::{HelmRepository, HelmRepositoryStatus};
use driftless_api::flux::unsupported::helm_repository_unsupported;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::Api;

use kube::runtime::Controller;
use kube::{Client, Resource, ResourceExt};

use super::HelmReleaseError;
use crate::context::Context;
use crate::watched::NextReconcile;

/// Flux's reason when the index cannot be fetched.
const INDEXATION_FAILED: &str = "IndexationFailed";

/// What one check of a repository found.
#[derive(Debug, PartialEq, Eq)]
enum Checked {
    /// The index was fetched (its digest and size), or the registry answered.
    Ready(Option<(String, u64)>),
    /// It cannot be checked until the spec changes.
    Stalled(&'static str, String),
    /// The check failed; retried at the interval.
    Failed(&'static str, String),
}

fn predicate(repo: &HelmRepository) -> Option<u64> {
    let mut h = DefaultHasher::new();
    repo.meta().generation.hash(&mut h);
    repo.annotations().get(RECONCILE_REQUESTED_AT).hash(&mut h);
    Some(h.finish())
}

async fn check(ctx: &Context, repo: &HelmRepository) -> Checked {
    let spec = &repo.spec;
    let unsupported = helm_repository_unsupported(spec);
    if !unsupported.is_empty() {
        let list: Vec<String> = unsupported.iter().map(ToString::to_string).collect();
        return Checked::Stalled(
            reasons::UNSUPPORTED,
            format!("not supported: {}", list.join("; ")),
        );
    }
    let timeout = match spec.interval_duration().and(spec.timeout_duration()) {
        Ok(t) => t,
        Err(e) => return Checked::Stalled(reasons::INVALID_SPEC, e.to_string()),
    };
    if spec.is_oci() {
        return reachable(&spec.url, spec.insecure, timeout).await;
    }
    let ns = repo.namespace().unwrap_or_default();
    let credentials = match &spec.secret_ref {
        Some(r) => match super::chart::read_credentials(&ctx.client, &ns, &r.name).await {
            Ok(c) => c,
            Err(m) => return Checked::Failed(reasons::AUTHENTICATION_FAILED, m),
        },
        None => None,
    };
    let Some(renderer) = ctx.helm_releases.renderer() else {
        return Checked::Failed(INDEXATION_FAILED, "no helm binary is configured".into());
    };
    let url = spec.url.clone();
    let fetched =
        tokio::task::spawn_blocking(move || renderer.fetch_index(&url, credentials.as_ref())).await;
    match fetched {
        Ok(Ok(index)) => Checked::Ready(Some((index.digest, index.size))),
        Ok(Err(e)) => Checked::Failed(INDEXATION_FAILED, e.to_string()),
        Err(e) => Checked::Failed(INDEXATION_FAILED, format!("the helm task failed: {e}")),
    }
}

/// Whether the registry of `url` (`oci://host[:port]/path`) accepts a connection.
async fn reachable(url: &str, insecure: bool, timeout: Duration) -> Checked {
    let rest = url.strip_prefix("oci://").unwrap_or(url);
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Checked::Stalled(
            reasons::URL_INVALID,
            format!("{url:?} names no registry host"),
        );
    }
    let addr = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:{}", if insecure { 80 } else { 443 })
    };
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(&addr)).await {
        Ok(Ok(_)) => Checked::Ready(None),
        Ok(Err(e)) => Checked::Failed(INDEXATION_FAILED, format!("registry {host}: {e}")),
        Err(_) => Checked::Failed(
            INDEXATION_FAILED,
            format!("registry {host}: no answer within {timeout:?}"),
        ),
    }
}

/// The status after `checked` (pure).
fn next(
    prev: &HelmRepositoryStatus,
    repo: &HelmRepository,
    checked: &Checked,
    now: Time,
) -> HelmRepositoryStatus {
    let mut next = prev.clone();
    let generation = repo.meta().generation;
    next.observed_generation = generation;
    if let Some(at) = repo.annotations().get(RECONCILE_REQUESTED_AT) {
        next.last_handled_reconcile_at = Some(at.clone());
    }
    let c = &mut next.conditions;
    let cond =
        |t: &str, s: &str, r: &str, m: &str| new_condition(t, s, r, m, generation, now.clone());
    match checked {
        Checked::Ready(index) => {
            let message = match index {
                Some((digest, size)) => {
                    let same = prev.artifact.as_ref().filter(|a| a.revision == *digest);
                    next.url = Some(format!(
                        "{}/index.yaml",
                        repo.spec.url.trim_end_matches('/')
                    ));
                    next.artifact = Some(Artifact {
                        path: format!(
                            "helmrepository/{}/{}/index-{digest}.yaml",
                            repo.namespace().unwrap_or_default(),
                            repo.name_any()
                        ),
                        url: format!("{}/index.yaml", repo.spec.url.trim_end_matches('/')),
                        revision: digest.clone(),
                        digest: Some(digest.clone()),
                        last_update_time: same.map_or(now.clone(), |a| a.last_update_time.clone()),
                        size: i64::try_from(*size).ok(),
                        metadata: Default::default(),
                    });
                    format!("stored artifact: revision '{digest}'")
                }
                None => "Helm repository is ready".to_string(),
            };
            set_condition(
                c,
                cond(types::READY, status::TRUE, reasons::SUCCEEDED, &message),
            );
            remove_condition(c, types::FETCH_FAILED);
            remove_condition(c, types::STALLED);
            remove_condition(c, types::RECONCILING);
        }
        Checked::Stalled(reason, message) => {
            set_condition(c, cond(types::READY, status::FALSE, reason, message));
            set_condition(c, cond(types::STALLED, status::TRUE, reason, message));
            remove_condition(c, types::RECONCILING);
        }
        Checked::Failed(reason, message) => {
            set_condition(c, cond(types::READY, status::FALSE, reason, message));
            set_condition(c, cond(types::FETCH_FAILED, status::TRUE, reason, message));
            remove_condition(c, types::STALLED);
        }
    }
    next
}

async fn reconcile(
    repo: Arc<HelmRepository>,
    ctx: Arc<Context>,
) -> Result<NextReconcile, HelmReleaseError> {
    let id = (repo.namespace().unwrap_or_default(), repo.name_any());
    if repo.meta().deletion_timestamp.is_some() || repo.spec.suspend {
        return Ok(NextReconcile::OnChange);
    }
    let checked = check(&ctx, &repo).await;
    let state = &ctx.helm_releases.repositories;
    let cached = repo.status.clone().unwrap_or_default();
    let prev =
        crate::flux_write::freshest(state, &id, cached, repo.meta().resource_version.as_deref());
    let next = next(&prev, &repo, &checked, Time(Timestamp::now()));
    let api: Api<HelmRepository> = Api::namespaced(ctx.client.clone(), &id.0);
    crate::flux_write::status(&api, state, &id, &prev, &next)
        .await
        .map_err(HelmReleaseError::of(
            "helmrepository",
            &id,
            "write the HelmRepository status",
        ))?;
    if let Checked::Failed(reason, message) | Checked::Stalled(reason, message) = &checked {
        tracing::info!(helmrepository = %format!("{}/{}", id.0, id.1), reason, %message, "not ready");
    }
    Ok(NextReconcile::After(
        repo.spec
            .interval_duration()
            .unwrap_or(Duration::from_secs(600)),
    ))
}

fn error_policy(
    _: Arc<HelmRepository>,
    error: &HelmReleaseError,
    _: Arc<Context>,
) -> NextReconcile {
    tracing::debug!(%error, "requeue after error");
    NextReconcile::After(Duration::from_secs(5))
}

/// One HelmRepository controller per scope (`None`: all namespaces).
pub fn controllers(
    ctx: Arc<Context>,
    client: Client,
    scopes: &[Option<String>],
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + Clone + 'static,
) -> Vec<BoxFuture<'static, ()>> {
    let queue = crate::watched::Queue::<HelmRepository>::new("HelmRepository", &ctx.metrics);
    scopes
        .iter()
        .map(|scope| {
            let api: Api<HelmRepository> = match scope {
                Some(ns) => Api::namespaced(client.clone(), ns),
                None => Api::all(client.clone()),
            };
            let (tx, triggers) = queue.triggers();
            ctx.helm_releases
                .repositories
                .add_trigger(scope.clone(), tx);
            let (reader, stream) = queue.watch(api, predicate);
            Controller::for_stream(stream, reader)
                .with_config(kube::runtime::Config::default().concurrency(ctx.config.concurrency))
                .reconcile_on(triggers)
                .graceful_shutdown_on(shutdown.clone())
                .run(
                    queue.reconciler(reconcile),
                    queue.error_policy(error_policy),
                    ctx.clone(),
                )
                .for_each(|result| async move {
                    if let Err(error) = result {
                        tracing::debug!(%error, "helmrepository controller event");
                    }
                })
                .boxed()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> HelmRepository {
        let mut r = HelmRepository::new(
            "charts",
            serde_json::from_value(serde_json::json!({"url": "http://127.0.0.1:1/charts/"}))
                .unwrap(),
        );
        r.metadata.namespace = Some("ns".into());
        r.metadata.generation = Some(2);
        r
    }

    #[test]
    fn an_index_becomes_the_artifact_and_keeps_its_time_while_unchanged() {
        let (t1, t2) = (
            Time(Timestamp::from_second(1).unwrap()),
            Time(Timestamp::from_second(2).unwrap()),
        );
        let ready = Checked::Ready(Some(("sha256:ab".into(), 10)));
        let first = next(
            &HelmRepositoryStatus::default(),
            &repo(),
            &ready,
            t1.clone(),
        );
        let artifact = first.artifact.clone().unwrap();
        assert_eq!(artifact.revision, "sha256:ab");
        assert_eq!(artifact.url, "http://127.0.0.1:1/charts/index.yaml");
        assert_eq!(first.observed_generation, Some(2));
        let again = next(&first, &repo(), &ready, t2.clone());
        assert_eq!(again.artifact.unwrap().last_update_time, t1);
        let failed = Checked::Failed(INDEXATION_FAILED, "401 Unauthorized".into());
        let broken = next(&first, &repo(), &failed, t2);
        let ready = broken
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", INDEXATION_FAILED)
        );
        assert_eq!(
            broken.artifact.unwrap().revision,
            "sha256:ab",
            "the last artifact stays"
        );
    }
}
