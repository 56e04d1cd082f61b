//! The kube-runtime `Controller`s of Kustomizations: one per watched
//! namespace (or one for all), in the same process and with the same
//! scoping as the Application controllers. A Kustomization is reconciled on
//! a change to its spec, its `requestedAt` annotation, deletion or
//! finalizers (not on its own status writes); on a change to the
//! GitRepository it renders; on a dependency's status change and on a
//! change to an object it manages (both through [`super::State`]'s
//! triggers).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use driftless_api::flux::RECONCILE_REQUESTED_AT;
use driftless_api::flux::kustomize::v1::Kustomization;
use driftless_api::flux::source::v1::GitRepository;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use kube::api::Api;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, watcher};
use kube::{Client, Resource, ResourceExt};

use super::entry::{error_policy, reconcile};
use crate::context::Context;

fn predicate(ks: &Kustomization) -> Option<u64> {
    let mut h = DefaultHasher::new();
    ks.meta().generation.hash(&mut h);
    ks.annotations().get(RECONCILE_REQUESTED_AT).hash(&mut h);
    ks.meta().deletion_timestamp.is_some().hash(&mut h);
    ks.finalizers().hash(&mut h);
    Some(h.finish())
}

/// The Kustomizations rendering `repo`.
fn rendering(ctx: &Context, repo: &GitRepository) -> Vec<ObjectRef<Kustomization>> {
    let id = (repo.namespace().unwrap_or_default(), repo.name_any());
    ctx.flux
        .rendering(&id)
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
            Controller::for_stream(stream, reader)
                .with_config(kube::runtime::Config::default().concurrency(ctx.config.concurrency))
                .watches(repos, watcher::Config::default(), move |repo| {
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
