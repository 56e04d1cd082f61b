//! The kube-runtime `Controller`s of Kustomizations: one per watched
//! namespace (or one for all), in the same process and with the same
//! scoping as the Application controllers. A Kustomization is reconciled on
//! a change to its spec, its `requestedAt` annotation or deletion (not on
//! its own status writes nor its finalizers); on a new artifact of the
//! GitRepository it renders (those whose files changed first: [`concerned`]);
//! on a dependency's status change and on a
//! change to an object it manages (both through [`super::State`]'s
//! triggers).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use driftless_api::flux::condition::{find_condition, status as cs, types};
use driftless_api::flux::kustomize::KustomizationStatus;
use driftless_api::flux::revision::revision_sha;

use driftless_api::flux::RECONCILE_REQUESTED_AT;
use driftless_api::flux::kustomize::v1::Kustomization;
use driftless_api::flux::source::v1::GitRepository;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{Controller, WatchStreamExt};
use kube::{Client, Resource, ResourceExt};

use super::entry::{error_policy, reconcile};
use super::unchanged;
use crate::context::Context;
use crate::cycle::AppId;

/// What reconciles a Kustomization when it changes: its spec, a requested
/// reconcile, its deletion. Not its status, nor its finalizers (as Flux:
/// the reconcile that adds the finalizer goes on to apply, and a second
/// reconcile for that write would only compare again).
fn predicate(ks: &Kustomization) -> Option<u64> {
    let mut h = DefaultHasher::new();
    ks.meta().generation.hash(&mut h);
    ks.annotations().get(RECONCILE_REQUESTED_AT).hash(&mut h);
    ks.meta().deletion_timestamp.is_some().hash(&mut h);
    Some(h.finish())
}

/// How long the Kustomizations whose files a new artifact did not change
/// wait for those whose files it changed.
const HOLD_LIMIT: Duration = Duration::from_secs(10);

/// Whether `ks` needs no reconcile for the artifact `revision`: as Flux,
/// one Ready at that revision already (the source's status writes and
/// annotations alone reconcile nothing).
fn at_revision(status: Option<&KustomizationStatus>, revision: &str) -> bool {
    status.is_some_and(|s| {
        let ready = find_condition(&s.conditions, types::READY);
        ready.is_some_and(|c| c.status == cs::TRUE)
            && s.last_attempted_revision.as_deref() == Some(revision)
    })
}

/// Whether a Kustomization last triggered for `claimed` is to be
/// triggered for `artifact` (revision, ignore rules): the first time only.
fn claim(
    claimed: &mut Option<(String, Option<String>)>,
    artifact: (String, Option<String>),
) -> bool {
    let first = claimed.as_ref() != Some(&artifact);
    *claimed = Some(artifact);
    first
}

/// The Kustomizations rendering `repo` that its artifact concerns, split
/// into those whose build may change (or unknown) and those whose files
/// did not change (they only move their revision on: see
/// [`super::unchanged`]).
fn concerned(ctx: &Context, repo: &GitRepository) -> (Vec<AppId>, Vec<AppId>) {
    let id = (repo.namespace().unwrap_or_default(), repo.name_any());
    let artifact = repo.status.as_ref().and_then(|s| s.artifact.as_ref());
    let Some(revision) = artifact.map(|a| a.revision.as_str()) else {
        return (Vec::new(), Vec::new());
    };
    let sha = revision_sha(revision);
    let (mut first, mut then) = (Vec::new(), Vec::new());
    for ks in ctx.flux.rendering(&id) {
        let (status, rendered) = ctx.flux.memory(&ks, |m| {
            (m.written.clone().map(|(_, s)| s), m.rendered.clone())
        });
        let same_ignore = rendered
            .as_ref()
            .is_none_or(|r| r.ignore == repo.spec.ignore);
        if at_revision(status.as_ref(), revision) && same_ignore {
            continue;
        }
        // The hand-off and the watch event of the same artifact: once.
        let artifact = (revision.to_string(), repo.spec.ignore.clone());
        if !ctx.flux.memory(&ks, |m| claim(&mut m.claimed, artifact)) {
            continue;
        }
        let changed = rendered.as_ref().and_then(|r| {
            let paths = ctx.git_repositories.changed(&repo.spec.url, &r.sha, sha)?;
            Some(unchanged::touched(&paths, &r.dirs))
        });
        match changed {
            Some(false) => then.push(ks),
            _ => first.push(ks),
        }
    }
    (first, then)
}

/// The Kustomizations to reconcile now for `repo`'s event; the others it
/// concerns are held until these finished (at most [`HOLD_LIMIT`]), so a
/// push's changed app is not queued behind every other app.
pub(crate) fn rendering(ctx: &Arc<Context>, repo: &GitRepository) -> Vec<ObjectRef<Kustomization>> {
    let (first, then) = concerned(ctx, repo);
    if !then.is_empty() {
        let wave = ctx.flux.hold(&first, then);
        let ctx = ctx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(HOLD_LIMIT).await;
            ctx.flux.release(wave);
        });
    }
    first
        .into_iter()
        .map(|(ns, name)| ObjectRef::new(&name).within(&ns))
        .collect()
}

/// One controller per scope (`None`: all namespaces), running until `shutdown`.
pub fn controllers(
    ctx: Arc<Context>,
    client: Client,
    scopes: &[Option<String>],
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + Clone + 'static,
) -> Vec<BoxFuture<'static, ()>> {
    let queue = crate::watched::Queue::<Kustomization>::new("Kustomization", &ctx.metrics);
    scopes
        .iter()
        .map(|scope| {
            let (api, repos): (Api<Kustomization>, Api<GitRepository>) = match scope {
                Some(ns) => (
                    Api::namespaced(client.clone(), ns),
                    Api::namespaced(client.clone(), ns),
                ),
                None => (Api::all(client.clone()), Api::all(client.clone())),
            };
            let (tx, triggers) = queue.triggers();
            ctx.flux.add_trigger(scope.clone(), tx);
            let (reader, stream) = queue.watch(api, predicate);
            let (map_ctx, map_queue) = (ctx.clone(), queue.clone());
            let (repo_view, repo_writer) = reflector::store();
            ctx.git_repositories.add_view(scope.clone(), repo_view);
            let repo_events =
                reflector::reflector(repo_writer, crate::watched::stored(repos)).touched_objects();
            Controller::for_stream(stream, reader)
                .with_config(kube::runtime::Config::default().concurrency(ctx.config.concurrency))
                .watches_stream(repo_events, move |repo| {
                    map_queue.through(rendering(&map_ctx, &repo))
                })
                .reconcile_on(triggers)
                .graceful_shutdown_on(shutdown.clone())
                .run(
                    queue.reconciler(reconcile),
                    queue.error_policy(error_policy),
                    ctx.clone(),
                )
                .for_each(|result| async move {
                    if let Err(error) = result {
                        tracing::debug!(%error, "kustomization controller event");
                    }
                })
                .boxed()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_api::flux::condition::new_condition;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    fn status(ready: &str, attempted: &str) -> KustomizationStatus {
        let now = Time(Timestamp::now());
        KustomizationStatus {
            conditions: vec![new_condition("Ready", ready, "R", "m", Some(1), now)],
            last_attempted_revision: Some(attempted.into()),
            ..Default::default()
        }
    }

    #[test]
    fn only_a_ready_kustomization_at_the_revision_is_left_alone() {
        let rev = "main@sha1:b";
        assert!(at_revision(Some(&status("True", rev)), rev));
        assert!(!at_revision(Some(&status("True", "main@sha1:a")), rev));
        assert!(
            !at_revision(Some(&status("False", rev)), rev),
            "failed: retried"
        );
        assert!(!at_revision(None, rev), "nothing written yet");
    }

    #[test]
    fn a_kustomization_is_claimed_once_per_artifact() {
        let mut claimed = None;
        let artifact =
            |rev: &str, ignore: Option<&str>| (rev.to_string(), ignore.map(str::to_string));
        assert!(claim(&mut claimed, artifact("main@sha1:a", None)));
        assert!(
            !claim(&mut claimed, artifact("main@sha1:a", None)),
            "the watch event after the hand-off"
        );
        assert!(
            claim(&mut claimed, artifact("main@sha1:a", Some("*.md"))),
            "ignore changed"
        );
        assert!(claim(&mut claimed, artifact("main@sha1:b", Some("*.md"))));
    }
}
