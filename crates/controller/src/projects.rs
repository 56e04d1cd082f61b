//! The AppProjects of the control-plane namespace, kept by one watch: a
//! reconcile reads its project from memory instead of the API server, and a
//! change to a project re-checks at once every Application that uses it
//! (its boundaries may have narrowed or widened).

use std::sync::{Arc, OnceLock};

use driftless_api::{AppProject, Application};
use futures::StreamExt;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::{Api, Client, ResourceExt};

use crate::context::Context;

/// The watched AppProjects; empty until the watch has listed them once (or
/// for good when the AppProject CRD is not installed: then every read falls
/// back to the API server).
#[derive(Default)]
pub struct Projects {
    store: OnceLock<Store<AppProject>>,
}

impl Projects {
    /// The project `name` when the watch has listed projects: `Some(None)`
    /// when no such project exists, `None` when the caller must ask the API
    /// server (the watch has not listed yet, or is not running).
    pub(crate) fn get(&self, namespace: &str, name: &str) -> Option<Option<Arc<AppProject>>> {
        let store = self.store.get()?;
        Some(store.get(&ObjectRef::new(name).within(namespace)))
    }
}

/// Watches the AppProjects of `namespace`; once the first list is in, reads
/// come from it, and every change to a project triggers the Applications in
/// `apps` that name it. Ends when the watch stream ends.
pub(crate) async fn watch(
    ctx: Arc<Context>,
    client: Client,
    namespace: String,
    apps: Vec<Store<Application>>,
) {
    let api: Api<AppProject> = Api::namespaced(client, &namespace);
    let (reader, writer) = reflector::store();
    let publish = {
        let ctx = ctx.clone();
        let reader = reader.clone();
        async move {
            if reader.wait_until_ready().await.is_ok() {
                let _ = ctx.projects.store.set(reader);
            }
        }
    };
    tokio::spawn(publish);
    crate::watched::stored(api)
        .reflect(writer)
        .applied_objects()
        .for_each(|event| {
            if let Ok(project) = event {
                requeue_users(&ctx, &apps, &project.name_any());
            }
            std::future::ready(())
        })
        .await;
}

/// Triggers every Application in `apps` whose project is `project`.
fn requeue_users(ctx: &Context, apps: &[Store<Application>], project: &str) {
    for store in apps {
        for app in store.state() {
            let uses = match app.spec.spec.project.as_str() {
                "" => project == driftless_api::DEFAULT_PROJECT,
                p => p == project,
            };
            if uses {
                ctx.trigger(&(app.namespace().unwrap_or_default(), app.name_any()));
            }
        }
    }
}
