//! Helpers shared by the sync engine's cluster tests.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use driftless_api::HealthStatusCode;
use driftless_render::{Object, ObjectKey};
use driftless_sync::{Comparison, ResourceState, SyncEngine, Target};
use driftless_testkit::cluster::ControlPlane;
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::discovery::ApiResource;
use serde_json::{Value, json};

/// Generous: the point is "eventually", not speed.
pub const EVENTUALLY: Duration = Duration::from_secs(180);

/// A cluster, a fresh namespace, a client and an engine for one test.
pub struct Env {
    pub cp: &'static ControlPlane,
    pub ns: String,
    pub client: Client,
    pub engine: SyncEngine,
}

pub async fn env(prefix: &str) -> Env {
    let cp = ControlPlane::shared().await;
    let ns = cp.namespace(prefix).await;
    let client = cp.client().await;
    let engine = SyncEngine::new(client.clone()).with_wave_timeout(EVENTUALLY);
    Env {
        cp,
        ns,
        client,
        engine,
    }
}

impl Env {
    /// A target for Application `app` deploying into this test's namespace, pruning.
    pub fn target(&self, app: &str) -> Target {
        Target {
            app: app.to_string(),
            namespace: Some(self.ns.clone()),
            prune: true,
            ..Target::default()
        }
    }

    /// Fetches a live object (`None` when it does not exist).
    pub async fn get(&self, api_version: &str, kind: &str, name: &str) -> Option<Value> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
        let (ar, caps) = kube::discovery::pinned_kind(&self.client, &gvk)
            .await
            .unwrap_or_else(|e| panic!("discovering {api_version} {kind}: {e}"));
        let api: Api<DynamicObject> = if caps.scope == kube::discovery::Scope::Namespaced {
            Api::namespaced_with(self.client.clone(), &self.ns, &ar)
        } else {
            Api::all_with(self.client.clone(), &ar)
        };
        api.get_opt(name)
            .await
            .unwrap_or_else(|e| panic!("getting {kind} {name}: {e}"))
            .map(|o| serde_json::to_value(o).expect("serializable"))
    }

    /// Diffs `objects` for `target`, panicking on a comparison error.
    pub async fn diff(&self, target: &Target, objects: &[Value]) -> Comparison {
        self.engine
            .diff(target, objs(objects))
            .await
            .unwrap_or_else(|e| panic!("diff for {}: {e}", target.app))
    }

    /// Diffs and syncs `objects`; panics when the sync does not succeed.
    pub async fn sync_ok(&self, target: &Target, objects: &[Value]) -> driftless_sync::SyncResult {
        let cmp = self.diff(target, objects).await;
        let result = self
            .engine
            .sync(target, &cmp)
            .await
            .unwrap_or_else(|e| panic!("sync for {}: {e}", target.app));
        assert!(
            result.succeeded,
            "sync failed: {}\n{:#?}",
            result.message, result.resources
        );
        result
    }

    /// Polls `check` until it returns `Some`, failing after [`EVENTUALLY`].
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let start = Instant::now();
        loop {
            if let Some(v) = check().await {
                return v;
            }
            assert!(start.elapsed() < EVENTUALLY, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}

pub fn objs(values: &[Value]) -> Vec<Object> {
    values
        .iter()
        .map(|v| Object::from_value(v.clone()).expect("a JSON object"))
        .collect()
}

pub fn key(group: &str, kind: &str, ns: &str, name: &str) -> ObjectKey {
    ObjectKey {
        group: group.into(),
        kind: kind.into(),
        namespace: ns.into(),
        name: name.into(),
    }
}

/// The state of `key` in a comparison (panics when absent).
pub fn state(cmp: &Comparison, key: &ObjectKey) -> ResourceState {
    resource(cmp, key).state
}

pub fn resource<'a>(cmp: &'a Comparison, key: &ObjectKey) -> &'a driftless_sync::ResourceDiff {
    cmp.resources
        .iter()
        .find(|r| r.key == *key)
        .unwrap_or_else(|| {
            panic!(
                "{key} not in the comparison: {:#?}",
                cmp.resources
                    .iter()
                    .map(|r| r.key.to_string())
                    .collect::<Vec<_>>()
            )
        })
}

pub fn health(cmp: &Comparison, key: &ObjectKey) -> HealthStatusCode {
    resource(cmp, key).health.status
}

pub fn config_map(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
}

/// A Deployment of `replicas` pods; `extra` is merged into the pod spec.
pub fn deployment(name: &str, replicas: i64, pod_extra: Value) -> Value {
    let mut pod = json!({"containers": [{"name": "app", "image": "nginx:1.27"}]});
    if let (Some(p), Some(extra)) = (pod.as_object_mut(), pod_extra.as_object()) {
        for (k, v) in extra {
            p.insert(k.clone(), v.clone());
        }
    }
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod}
        }
    })
}

/// A pod spec fragment no node can satisfy: pods stay Pending.
pub fn unschedulable() -> Value {
    json!({"nodeSelector": {"driftless.test/no-such-node": "true"}})
}

pub fn with_annotation(mut obj: Value, key: &str, value: &str) -> Value {
    obj["metadata"]["annotations"][key] = json!(value);
    obj
}

pub fn api_resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: if group.is_empty() {
            version.into()
        } else {
            format!("{group}/{version}")
        },
        kind: kind.into(),
        plural: plural.into(),
    }
}
