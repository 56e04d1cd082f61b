//! The kube-runtime `Controller`s of HelmReleases: one per watched
//! namespace (or one for all), as the Kustomization controllers. A
//! HelmRelease is reconciled on a change to its spec, its `requestedAt`
//! annotation, deletion or finalizers; on a change to the HelmRepository
//! or GitRepository its chart comes from; on a dependency's status change
//! and on a change to an object it manages (through the shared state's
//! triggers).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use driftless_api::flux::RECONCILE_REQUESTED_AT;
use driftless_api::flux::helm::v2::HelmRelease;
use driftless_api::flux::source::helm::HelmRepository;
use driftless_api::flux::source::v1::GitRepository;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use kube::api::Api;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, watcher};
use kube::{Client, Resource, ResourceExt};

use super::entry::{error_policy, reconcile};
use crate::context::Context;

fn predicate(hr: &HelmRelease) -> Option<u64> {
    let mut h = DefaultHasher::new();
    hr.meta().generation.hash(&mut h);
    hr.annotations().get(RECONCILE_REQUESTED_AT).hash(&mut h);
    hr.meta().deletion_timestamp.is_some().hash(&mut h);
    hr.finalizers().hash(&mut h);
    Some(h.finish())
}

/// The HelmReleases whose chart comes from the source `kind` `obj`.
fn using<K: Resource>(ctx: &Context, kind: &str, obj: &K) -> Vec<ObjectRef<HelmRelease>> {
    let id = (
        obj.namespace().unwrap_or_default(),
        super::source_key(kind, &obj.name_any()),
    );
    ctx.helm_releases
        .state
        .rendering(&id)
        .into_iter()
        .map(|(ns, name)| ObjectRef::new(&name).within(&ns))
        .collect()
}

fn apis<K>(client: &Client, scope: &Option<String>) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
{
    match scope {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// One controller per scope (`None`: all namespaces), running until `shutdown`.
pub fn controllers(
    ctx: Arc<Context>,
    client: Client,
    scopes: &[Option<String>],
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + Clone + 'static,
) -> Vec<BoxFuture<'static, ()>> {
    let queue = crate::watched::Queue::<HelmRelease>::new("HelmRelease", &ctx.metrics);
    scopes
        .iter()
        .map(|scope| {
            let api: Api<HelmRelease> = apis(&client, scope);
            let (tx, triggers) = queue.triggers();
            ctx.helm_releases.state.add_trigger(scope.clone(), tx);
            let (reader, stream) = queue.watch(api, predicate);
            let (helm_ctx, git_ctx) = (ctx.clone(), ctx.clone());
            let (helm_queue, git_queue) = (queue.clone(), queue.clone());
            Controller::for_stream(stream, reader)
                .with_config(kube::runtime::Config::default().concurrency(ctx.config.concurrency))
                .watches(
                    apis::<HelmRepository>(&client, scope),
                    watcher::Config::default(),
                    move |repo| helm_queue.through(using(&helm_ctx, "HelmRepository", &repo)),
                )
                .watches(
                    apis::<GitRepository>(&client, scope),
                    watcher::Config::default(),
                    move |repo| git_queue.through(using(&git_ctx, "GitRepository", &repo)),
                )
                .reconcile_on(triggers)
                .graceful_shutdown_on(shutdown.clone())
                .run(
                    queue.reconciler(reconcile),
                    queue.error_policy(error_policy),
                    ctx.clone(),
                )
                .for_each(|result| async move {
                    if let Err(error) = result {
                        tracing::debug!(%error, "helmrelease controller event");
                    }
                })
                .boxed()
        })
        .collect()
}
