//! A watch on one kind in one namespace that keeps, per object, a short
//! state string (e.g. `ready`, or a Deployment's image and replicas), and a
//! timeline of how many objects are `ready`: one watch request however many
//! objects, so measuring costs the API server almost nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use tokio::sync::Notify;

/// The state string of a ready object.
pub(crate) const READY: &str = "ready";

/// The state string of a Flux object without conditions (no controller acted on it).
pub(crate) const NO_STATUS: &str = "no-status";

/// The start of the state string of a Flux object with conditions but not
/// Ready; its Ready condition follows in parentheses.
pub(crate) const NOT_READY: &str = "not-ready";

/// What is known so far.
#[derive(Default)]
pub(crate) struct Seen {
    /// Per object name, its state string.
    pub(crate) states: HashMap<String, String>,
    /// (when, how many objects were `ready`), at each change of that count.
    pub(crate) timeline: Vec<(Instant, usize)>,
}

impl Seen {
    /// How many objects are `ready`.
    pub(crate) fn ready(&self) -> usize {
        self.states.values().filter(|s| *s == READY).count()
    }
}

/// A running watch; stopped on drop.
pub(crate) struct Tracker {
    seen: Arc<Mutex<Seen>>,
    changed: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

/// Flux's readiness: condition `Ready` is `True`.
pub(crate) fn flux_ready(o: &DynamicObject) -> String {
    let Some(conditions) = o.data["status"]["conditions"].as_array() else {
        return NO_STATUS.into();
    };
    let Some(ready) = conditions.iter().find(|c| c["type"] == "Ready") else {
        return format!("{NOT_READY} (no Ready condition)");
    };
    if ready["status"] == "True" {
        return READY.into();
    }
    let text = |k: &str| ready[k].as_str().unwrap_or("").to_string();
    format!(
        "{NOT_READY} (Ready={} {}: {})",
        text("status"),
        text("reason"),
        text("message")
    )
}

/// Argo CD's: `status.sync.status` is `Synced`.
pub(crate) fn application_synced(o: &DynamicObject) -> String {
    if o.data["status"]["sync"]["status"] == "Synced" {
        READY.into()
    } else {
        "not-synced".into()
    }
}

/// The commit an object last reported: an Application's
/// `status.sync.revision`, a Kustomization's `status.lastAttemptedRevision`
/// (`main@sha1:<sha>`); empty before either.
pub(crate) fn revision(o: &DynamicObject) -> String {
    let status = &o.data["status"];
    status["sync"]["revision"]
        .as_str()
        .or(status["lastAttemptedRevision"].as_str())
        .unwrap_or("")
        .to_string()
}

/// A Deployment's first container image and its replicas: `image/replicas`.
pub(crate) fn deployment_state(o: &DynamicObject) -> String {
    let spec = &o.data["spec"];
    let image = spec["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or("");
    format!("{image}/{}", spec["replicas"])
}

impl Tracker {
    /// Watches `gvk` (plural `plural`) in `namespace`, each object's state
    /// given by `state`.
    pub(crate) fn start(
        client: Client,
        gvk: GroupVersionKind,
        plural: &str,
        namespace: &str,
        state: fn(&DynamicObject) -> String,
    ) -> Tracker {
        let resource = ApiResource::from_gvk_with_plural(&gvk, plural);
        let api: Api<DynamicObject> = Api::namespaced_with(client, namespace, &resource);
        let seen = Arc::new(Mutex::new(Seen::default()));
        let changed = Arc::new(Notify::new());
        let (seen2, changed2) = (seen.clone(), changed.clone());
        let task = tokio::spawn(async move {
            let mut stream = watcher(api, watcher::Config::default())
                .default_backoff()
                .applied_objects()
                .boxed();
            while let Some(next) = stream.next().await {
                let Ok(object) = next else { continue };
                let name = object.metadata.name.clone().unwrap_or_default();
                let mut seen = seen2.lock().unwrap_or_else(|e| e.into_inner());
                let before = seen.ready();
                seen.states.insert(name, state(&object));
                let after = seen.ready();
                if after != before {
                    seen.timeline.push((Instant::now(), after));
                }
                drop(seen);
                changed2.notify_waiters();
            }
        });
        Tracker {
            seen,
            changed,
            task,
        }
    }

    /// Runs `f` on what is known now.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        f(&self.seen.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Waits until `done` holds, at most `limit`: the time it took, or
    /// `None` on time-out.
    pub(crate) async fn wait(
        &self,
        limit: Duration,
        done: impl Fn(&Seen) -> bool,
    ) -> Option<Duration> {
        let started = Instant::now();
        loop {
            let notified = self.changed.notified();
            if self.with(&done) {
                return Some(started.elapsed());
            }
            let left = limit.checked_sub(started.elapsed())?;
            // Wake at least once a second, so a missed notification costs little.
            let _ = tokio::time::timeout(left.min(Duration::from_secs(1)), notified).await;
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.task.abort();
    }
}
