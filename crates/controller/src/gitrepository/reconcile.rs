//! One GitRepository reconcile, as phases: (suspended?) → plan the spec →
//! credentials → fetch and resolve → status and events. Each phase returns
//! a value; only the status write can fail the reconcile (and is retried).

use std::sync::Arc;
use std::time::Duration;

use driftless_api::flux::RECONCILE_REQUESTED_AT;
use driftless_api::flux::condition::{find_condition, reasons, status as cs, types};
use driftless_api::flux::revision::revision_sha;
use driftless_api::flux::source::GitRepositoryStatus;
use driftless_api::flux::source::v1::GitRepository;
use driftless_source::redact;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde_json::Value;
use tracing::Instrument;

use super::ReconcileError;
use super::changes;
use super::fetch::{Fetched, access, fetch, secret_key};
use super::plan::{Plan, plan};
use super::status::{self, Observed};
use crate::context::Context;
use crate::watched::NextReconcile;

/// What a reconcile ended with.
enum Outcome {
    /// The spec cannot be acted on (a condition reason and message).
    Stalled {
        reason: &'static str,
        message: String,
    },
    /// `spec.suspend`: nothing done.
    Suspended,
    /// The reference resolved to a commit now in the mirror.
    Fetched(Fetched),
    /// The credentials, the fetch or the resolution failed.
    Failed {
        reason: &'static str,
        message: String,
        /// Only a spec change can help.
        stalling: bool,
    },
}

/// Reconciles one GitRepository.
pub(crate) async fn reconcile(
    repo: Arc<GitRepository>,
    ctx: Arc<Context>,
) -> Result<NextReconcile, ReconcileError> {
    let id = format!(
        "{}/{}",
        repo.namespace().unwrap_or_default(),
        repo.name_any()
    );
    let span = tracing::info_span!("reconcile_gitrepository", gitrepository = %id);
    reconcile_in(repo, ctx, id).instrument(span).await
}

async fn reconcile_in(
    repo: Arc<GitRepository>,
    ctx: Arc<Context>,
    id: String,
) -> Result<NextReconcile, ReconcileError> {
    let obs = observed(&repo, &id);
    // As Flux: a suspended object is not looked at, not even its spec.
    let planned = plan(&repo.spec);
    let outcome = match &planned {
        _ if repo.spec.suspend => Outcome::Suspended,
        Err(stall) => Outcome::Stalled {
            reason: stall.reason,
            message: stall.message.clone(),
        },
        Ok(plan) => run(&ctx, &repo, plan).await,
    };
    let old = repo.status.clone().unwrap_or_default();
    if let Outcome::Fetched(fetched) = &outcome {
        note_changes(&ctx, &repo, &old, fetched).await;
    }
    let new = next_status(&old, &obs, &outcome);
    if new != old {
        // A new artifact goes to its Kustomizations while its status is
        // being written: the commit is in the mirror already.
        let moving = moved(&old, &new);
        if moving {
            let mut pending = (*repo).clone();
            pending.status = Some(new.clone());
            super::published::hand_off(&ctx, pending);
        }
        let written = write_status(&ctx, &repo, &id, &new).await;
        if moving {
            let published = &ctx.git_repositories.published;
            published.settle(&repo, written.as_ref().ok().cloned());
        }
        written?;
    }
    report(&ctx, &repo, &old, &outcome);
    Ok(match (&planned, &outcome) {
        (Ok(plan), Outcome::Fetched(_)) => NextReconcile::After(every(plan.interval)),
        (
            Ok(plan),
            Outcome::Failed {
                stalling: false, ..
            },
        ) => NextReconcile::After(every(plan.interval)),
        _ => NextReconcile::OnChange,
    })
}

/// When the artifact moves, works out which files changed before the new
/// revision is published, so its Kustomizations find the answer ready
/// (those whose files changed go first; the others skip their render).
async fn note_changes(
    ctx: &Context,
    repo: &GitRepository,
    old: &GitRepositoryStatus,
    fetched: &Fetched,
) {
    let Some(before) = old.artifact.as_ref().map(|a| revision_sha(&a.revision)) else {
        return;
    };
    if before == fetched.sha {
        return;
    }
    let url = &repo.spec.url;
    if let Err(error) = changes::between(&*ctx.source, url, before, &fetched.sha).await {
        tracing::debug!(%error, "the files changed are worked out by each consumer");
    }
}

/// Whether `new` has an artifact revision `old` did not have.
fn moved(old: &GitRepositoryStatus, new: &GitRepositoryStatus) -> bool {
    let revision = |s: &GitRepositoryStatus| s.artifact.as_ref().map(|a| a.revision.clone());
    revision(new).is_some() && revision(new) != revision(old)
}

/// `spec.interval`, at least a second.
fn every(interval: Duration) -> Duration {
    interval.max(Duration::from_secs(1))
}

fn observed(repo: &GitRepository, id: &str) -> Observed {
    Observed {
        generation: repo.meta().generation,
        requested_at: repo.annotations().get(RECONCILE_REQUESTED_AT).cloned(),
        id: id.to_string(),
        url: redact(&repo.spec.url),
        ignore: repo.spec.ignore.clone(),
        interval: repo.spec.interval.clone(),
        now: Time(Timestamp::now()),
    }
}

/// Credentials, then the fetch.
async fn run(ctx: &Context, repo: &GitRepository, plan: &Plan) -> Outcome {
    let Some(cache) = ctx.git_repositories.cache() else {
        return Outcome::Failed {
            reason: reasons::GIT_OPERATION_FAILED,
            message: "the repository cache is not started".into(),
            stalling: false,
        };
    };
    let started = std::time::Instant::now();
    let secrets = &ctx.git_repositories.secrets;
    let reading = access(&ctx.client, Some(secrets), repo, &plan.url, plan.timeout);
    let result = match reading.await {
        Ok(access) => {
            tracing::debug!(
                elapsed_ms = crate::metrics::elapsed_ms(started),
                "credentials read"
            );
            let started = std::time::Instant::now();
            let fetched = fetch(&cache, &repo.spec.url, &plan.wanted, access).await;
            if fetched.is_ok() {
                ctx.metrics.observe_fetch(&cache, &repo.spec.url);
            }
            tracing::debug!(
                elapsed_ms = crate::metrics::elapsed_ms(started),
                ok = fetched.is_ok(),
                "fetched"
            );
            fetched
        }
        Err(e) => Err(e),
    };
    if result.is_err()
        && let Some(key) = secret_key(repo)
    {
        secrets.forget(&key);
    }
    match result {
        Ok(fetched) => Outcome::Fetched(fetched),
        Err(e) => Outcome::Failed {
            reason: e.reason(),
            message: e.to_string(),
            stalling: e.is_stalling(),
        },
    }
}

fn next_status(
    old: &GitRepositoryStatus,
    obs: &Observed,
    outcome: &Outcome,
) -> GitRepositoryStatus {
    match outcome {
        Outcome::Stalled { reason, message }
        | Outcome::Failed {
            reason,
            message,
            stalling: true,
        } => status::stalled(old, obs, reason, message),
        Outcome::Suspended => status::suspended(old, obs),
        Outcome::Fetched(fetched) => status::fetched(old, obs, fetched),
        Outcome::Failed {
            reason, message, ..
        } => status::failed(old, obs, reason, message),
    }
}

/// Writes `status` (a merge patch of the status subresource; fields that
/// are unset now are removed); returns the object as written.
async fn write_status(
    ctx: &Context,
    repo: &GitRepository,
    id: &str,
    status: &GitRepositoryStatus,
) -> Result<GitRepository, ReconcileError> {
    let mut body = serde_json::to_value(status).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut body {
        for key in [
            "observedIgnore",
            "lastHandledReconcileAt",
            "artifact",
            "observedGeneration",
        ] {
            map.entry(key).or_insert(Value::Null);
        }
    }
    let api: Api<GitRepository> =
        Api::namespaced(ctx.client.clone(), &repo.namespace().unwrap_or_default());
    let started = std::time::Instant::now();
    let written = api
        .patch_status(
            &repo.name_any(),
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({ "status": body })),
        )
        .await
        .map_err(|source| ReconcileError::Kube {
            object: id.to_string(),
            action: "write status",
            source,
        })?;
    tracing::debug!(
        elapsed_ms = crate::metrics::elapsed_ms(started),
        "gitrepository status written"
    );
    Ok(written)
}

/// Events: a new revision (Normal `NewArtifact`) and failures (Warning,
/// with the condition's reason). A repeat of the same failure joins the
/// earlier Event's series.
fn report(ctx: &Context, repo: &GitRepository, old: &GitRepositoryStatus, outcome: &Outcome) {
    let (warning, reason, note) = match outcome {
        Outcome::Fetched(fetched) => {
            let known = old
                .artifact
                .as_ref()
                .is_some_and(|a| a.revision == fetched.revision)
                && find_condition(&old.conditions, types::READY)
                    .is_some_and(|c| c.status == cs::TRUE);
            if known {
                return;
            }
            tracing::info!(revision = %fetched.revision, "stored artifact");
            (
                false,
                "NewArtifact",
                format!(
                    "stored artifact with revision '{}' from '{}'",
                    fetched.revision,
                    redact(&repo.spec.url)
                ),
            )
        }
        Outcome::Failed {
            reason, message, ..
        }
        | Outcome::Stalled { reason, message } => {
            tracing::warn!(reason, error = %message, "reconcile failed");
            (true, *reason, message.clone())
        }
        Outcome::Suspended => return,
    };
    crate::events::publish(ctx, repo, warning, reason, note);
}

/// After an API failure (the status write): retry in 5 s.
pub(crate) fn error_policy(
    repo: Arc<GitRepository>,
    error: &ReconcileError,
    _ctx: Arc<Context>,
) -> NextReconcile {
    tracing::warn!(gitrepository = %repo.name_any(), %error, "requeue after error");
    NextReconcile::After(Duration::from_secs(5))
}
