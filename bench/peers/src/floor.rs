//! The physical limit: the same N apps' objects server-side applied
//! directly, by a plain client, to a fresh control plane of the same build,
//! as the contenders get one. No controller, no Git, no status writes: what
//! the API server alone costs. Cold start here is 4N applies, eight in
//! flight; push is one apply until a watch sees it.
//!
//! Beside it, on another fresh control plane, the least a controller that
//! reports through Flux's API must add: the runner's apply of each
//! Kustomization, its finalizer and one `Ready` status, with the same 4
//! applies (7 requests per app, eight in flight; no Git, no Event).
//!
//! Both also say where the CPU went while they ran (`load.rs`), as the
//! contenders' cold starts do.

use std::time::{Duration, Instant};

use anyhow::Context;
use driftless_testkit::cluster::ControlPlane;
use driftless_testkit::metrics;
use futures::StreamExt;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};

use crate::load::{self, Load};
use crate::phases::{self, Figure, percentile};
use crate::tracker::{self, Tracker};
use crate::workload::{self, DEST, NAMESPACE};

/// The field manager of the floor's applies.
const FIELD_MANAGER: &str = "bench-peers-floor";

/// The floor's figures.
pub(crate) struct Floor {
    /// Seconds to apply every object once.
    pub(crate) secs: f64,
    /// Applies made (one API request each): 4 per app.
    pub(crate) applies: usize,
    /// The control plane's CPU and the machine's busy share during the
    /// applies.
    pub(crate) load: Load,
    /// p50 of one apply → a watch sees the change, ms.
    pub(crate) push_p50_ms: Figure<f64>,
    /// The applies plus each app's Kustomization, finalizer and `Ready`
    /// status (see the module's text).
    pub(crate) ready: Figure<Ready>,
}

/// The floor with the Kustomization's writes.
pub(crate) struct Ready {
    /// Seconds for all of it.
    pub(crate) secs: f64,
    /// The control plane's CPU and the machine's busy share meanwhile.
    pub(crate) load: Load,
}

impl Floor {
    /// Apply requests per second.
    pub(crate) fn per_second(&self) -> f64 {
        self.applies as f64 / self.secs
    }
}

/// The objects of app `i` running `image`, as the contenders read them from
/// Git (namespace `DEST`, as `targetNamespace` / the destination sets).
pub(crate) fn objects(i: usize, image: &str) -> anyhow::Result<Vec<Value>> {
    workload::files(i, image)
        .into_iter()
        .map(|(path, text)| {
            let mut object = driftless_render::yaml::parse_one(&text, &path)
                .with_context(|| format!("parsing {path}"))?;
            object["metadata"]["namespace"] = DEST.into();
            Ok(object)
        })
        .collect()
}

/// Measures the floor for `n` apps on a fresh control plane, `pushes`
/// pushes; then the floor with the Kustomization's writes on another.
pub(crate) async fn measure(n: usize, pushes: usize) -> Figure<Floor> {
    let cp = fresh_plane().await?;
    let plain = on(&cp, n, pushes).await.map_err(|e| format!("{e:#}"));
    cp.stop();
    let (secs, applies, load, push_p50_ms) = plain?;
    let ready = match fresh_plane().await {
        Ok(cp) => {
            let ready = ready_on(&cp, n).await.map_err(|e| format!("{e:#}"));
            cp.stop();
            ready
        }
        Err(e) => Err(e),
    };
    Ok(Floor {
        secs,
        applies,
        load,
        push_p50_ms,
        ready,
    })
}

/// A fresh control plane, started as the contenders' are.
async fn fresh_plane() -> Figure<ControlPlane> {
    tokio::task::spawn_blocking(ControlPlane::start)
        .await
        .map_err(|e| format!("starting a control plane: {e}"))?
        .map_err(|e| format!("starting a fresh control plane: {e}"))
}

/// The floor with the Kustomization's writes on `cp`.
async fn ready_on(cp: &ControlPlane, n: usize) -> anyhow::Result<Ready> {
    crate::contender::install_crds(cp, &crate::contender::driftless_crds())?;
    for ns in [NAMESPACE, DEST] {
        cp.kubectl(&["create", "namespace", ns])
            .map_err(anyhow::Error::msg)?;
    }
    let client = cp.client().await;
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let gvk = GroupVersionKind::gvk("kustomize.toolkit.fluxcd.io", "v1", "Kustomization");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "kustomizations");
    let kustomizations: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, &ar);
    let mut apps = Vec::with_capacity(n);
    for i in 0..n {
        apps.push((i, objects(i, crate::contender::FIRST_IMAGE)?));
    }
    let cpu_before = load::sample(cp);
    let seconds_before = metrics::snapshot_seconds(cp);
    let started = Instant::now();
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(apps)
        .map(|(i, objects)| one_app(&client, &kustomizations, &params, i, objects))
        .buffer_unordered(8)
        .collect()
        .await;
    results.into_iter().collect::<anyhow::Result<()>>()?;
    let secs = started.elapsed().as_secs_f64();
    let load = cpu_before.until(&load::sample(cp));
    eprintln!(
        "peers: floor + Kustomization writes: CPU {}; API server time by request {}",
        load.describe(),
        metrics::describe_seconds(&seconds_before, &metrics::snapshot_seconds(cp), 10)
    );
    Ok(Ready { secs, load })
}

/// App `i`, one request after the other: its Kustomization applied, the
/// finalizer added, its objects applied, `Ready` written.
async fn one_app(
    client: &kube::Client,
    api: &Api<DynamicObject>,
    params: &PatchParams,
    i: usize,
    objects: Vec<Value>,
) -> anyhow::Result<()> {
    let name = workload::app(i);
    phases::apply(client.clone(), workload::kustomization(i), params).await?;
    let finalizer = json!({ "metadata": { "finalizers": ["finalizers.fluxcd.io"] } });
    api.patch(&name, &PatchParams::default(), &Patch::Merge(&finalizer))
        .await
        .with_context(|| format!("adding the finalizer of Kustomization {name}"))?;
    for object in objects {
        phases::apply(client.clone(), object, params).await?;
    }
    api.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(&ready_status()),
    )
    .await
    .with_context(|| format!("writing the status of Kustomization {name}"))?;
    Ok(())
}

/// A status patch that makes a Kustomization Ready.
fn ready_status() -> Value {
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    json!({ "status": {
        "observedGeneration": 1,
        "lastAppliedRevision": "main@sha1:floor",
        "conditions": [{
            "type": "Ready",
            "status": "True",
            "reason": "ReconciliationSucceeded",
            "message": "Applied revision: main@sha1:floor",
            "lastTransitionTime": now,
            "observedGeneration": 1,
        }],
    }})
}

/// The plain floor on `cp`: seconds for the applies, how many, the CPU
/// they took, push p50.
async fn on(
    cp: &ControlPlane,
    n: usize,
    pushes: usize,
) -> anyhow::Result<(f64, usize, Load, Figure<f64>)> {
    let client = cp.client().await;
    cp.kubectl(&["create", "namespace", DEST])
        .map_err(anyhow::Error::msg)?;
    let mut all = Vec::with_capacity(4 * n);
    for i in 0..n {
        all.extend(objects(i, crate::contender::FIRST_IMAGE)?);
    }
    let applies = all.len();
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let cpu_before = load::sample(cp);
    let started = Instant::now();
    phases::apply_objects(&client, &params, all).await?;
    let secs = started.elapsed().as_secs_f64();
    let load = cpu_before.until(&load::sample(cp));
    eprintln!("peers: raw SSA floor: CPU {}", load.describe());
    let deployments = Tracker::start(
        client.clone(),
        GroupVersionKind::gvk("apps", "v1", "Deployment"),
        "deployments",
        DEST,
        tracker::deployment_state,
    );
    let push_p50_ms = push_p50(&client, &params, &deployments, n, pushes)
        .await
        .map_err(|e| format!("{e:#}"));
    Ok((secs, applies, load, push_p50_ms))
}

/// p50 (ms) of one Deployment apply until `deployments` sees its new image.
async fn push_p50(
    client: &kube::Client,
    params: &PatchParams,
    deployments: &Tracker,
    n: usize,
    pushes: usize,
) -> anyhow::Result<f64> {
    let seen_all = |s: &tracker::Seen| s.states.len() >= n;
    deployments
        .wait(Duration::from_secs(120), seen_all)
        .await
        .context("the watch did not list the N Deployments within 120 s")?;
    let mut millis = Vec::with_capacity(pushes);
    for k in 0..pushes {
        let image = format!("nginx:1.27.{k}");
        let deployment = objects(0, &image)?.swap_remove(0);
        let want = tracker::deployment_state(&serde_json::from_value(deployment.clone())?);
        let started = Instant::now();
        phases::apply_objects(client, params, vec![deployment]).await?;
        let name = workload::app(0);
        deployments
            .wait(Duration::from_secs(30), |s| {
                s.states.get(&name) == Some(&want)
            })
            .await
            .with_context(|| format!("push {k}: {DEST}/{name} not seen within 30 s"))?;
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(percentile(&mut millis, 50.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_objects_per_app_in_the_destination() {
        let objects = objects(3, "nginx:1.27").unwrap();
        let kinds: Vec<&str> = objects
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["Deployment", "ServiceAccount", "Service", "Ingress"]
        );
        for o in &objects {
            assert_eq!(o["metadata"]["namespace"], DEST);
            assert_eq!(o["metadata"]["name"], "app-3");
        }
        let image = &objects[0]["spec"]["template"]["spec"]["containers"][0]["image"];
        assert_eq!(image, "nginx:1.27");
    }

    #[test]
    fn rate_is_applies_per_second() {
        let load = Load {
            apiserver: 1.0,
            etcd: 0.5,
            controller_manager: 0.1,
            busy_percent: Ok(80.0),
        };
        let f = Floor {
            secs: 2.0,
            applies: 400,
            load: load.clone(),
            push_p50_ms: Ok(5.0),
            ready: Ok(Ready { secs: 3.0, load }),
        };
        assert_eq!(f.per_second(), 200.0);
    }
}
