//! Kubernetes Events on Applications, so `kubectl describe application`
//! tells the story (sync started/succeeded/failed, prunes, errors).
//!
//! kube-runtime's `Recorder` aggregates Events by (type, reason, action)
//! and, on a repeat, re-sends the first Event's text with a higher count: a
//! self-heal that configured one object read "2 created". [`Recorder`]
//! aggregates only repeats of the same text, so every Event describes its
//! own occurrence. Events are sent in the background, a few at a time: a
//! reconcile never waits on one.

use std::collections::HashMap;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event as K8sEvent, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Reporter};
use kube::{Client, Resource};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::context::Context;

/// A repeat within this long joins the earlier Event's series.
const SERIES_WINDOW: SignedDuration = SignedDuration::from_mins(6);
/// How many Events may wait to be sent (client-go's recorder keeps 1,000).
const QUEUE: usize = 4096;
/// The longest note kept (the API server allows 1 kB).
const MAX_NOTE_BYTES: usize = 1000;
/// How many Events are taken from the queue at once.
const BATCH: usize = 64;
/// How many requests sending a batch makes at once, so a burst (an Event
/// per Kustomization of a pushed repository) does not wait on one request
/// at a time. What it changed in bench/peers was within the runs' noise
/// (bench/README, session 21).
const IN_FLIGHT: usize = 4;

/// Event reasons, as Argo CD names them where it has a name.
pub mod reason {
    /// A sync that waits (waves, hooks, CRDs) started; a sync that never
    /// waits has only its outcome's Event, which says what was out of sync.
    pub const SYNC_STARTED: &str = "OperationStarted";
    /// A sync succeeded.
    pub const SYNC_SUCCEEDED: &str = "OperationCompleted";
    /// A sync failed.
    pub const SYNC_FAILED: &str = "OperationFailed";
    /// Resources were pruned.
    pub const PRUNED: &str = "ResourcesPruned";
    /// Fetching, rendering or comparing failed.
    pub const COMPARISON_ERROR: &str = "ComparisonError";
    /// The spec is invalid or violates its project.
    pub const INVALID_SPEC: &str = "InvalidSpecError";
    /// The Application's resources are being deleted (finalizer).
    pub const DELETING: &str = "ResourcesDeleting";
    /// An object is tracked by another Application and left to it.
    pub const SHARED_RESOURCE: &str = "SharedResourceWarning";
    /// Something was skipped or is stale (a symlink out of the repository, a failed fetch).
    pub const COMPARISON_WARNING: &str = "ComparisonWarning";
    /// An automated sync refused (an empty render without `allowEmpty`).
    pub const SYNC_ERROR: &str = "SyncError";
    /// Self-heal reverts objects another field manager changed.
    pub const SELF_HEAL: &str = "SelfHeal";
}

/// What makes two Events the same occurrence repeated: the object, type,
/// reason and text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    regarding: (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ),
    warning: bool,
    reason: String,
    note: Option<String>,
}

/// An Event already sent, to extend its series on a repeat.
#[derive(Clone, Debug)]
struct Sent {
    namespace: String,
    name: String,
    count: i32,
    last: Timestamp,
}

/// An Event waiting to be sent, and the object it is about.
type Pending = (Event, ObjectReference);

/// Publishes `events.k8s.io/v1` Events without making a reconcile wait on
/// them: [`Recorder::publish`] queues, one background task sends, at most
/// [`IN_FLIGHT`] at once; the Events of one object and text keep their
/// order. During a burst of reconciles an Event waits for the API server to
/// have room, as client-go's recorder does; when [`QUEUE`] Events already
/// wait, more are dropped with a warning in the log.
pub struct Recorder {
    queue: mpsc::Sender<Pending>,
}

impl Recorder {
    /// A recorder reporting as `reporter`; its sender runs on the current
    /// Tokio runtime until the recorder is dropped.
    pub fn spawn(client: Client, reporter: Reporter) -> Self {
        let (queue, pending) = mpsc::channel(QUEUE);
        let sender = Sender {
            client,
            reporter,
            sent: HashMap::new(),
        };
        tokio::spawn(sender.run(pending));
        Recorder { queue }
    }

    /// Queues `event` about the object `regarding`, its note cut to what
    /// the API server accepts; never waits.
    pub fn publish(&self, mut event: Event, regarding: ObjectReference) {
        event.note = event.note.map(|note| truncate(note, MAX_NOTE_BYTES));
        if let Err(error) = self.queue.try_send((event, regarding)) {
            let (dropped, why) = match error {
                TrySendError::Full(p) => (p, "the queue is full"),
                TrySendError::Closed(p) => (p, "the sender stopped"),
            };
            tracing::warn!(
                reason = dropped.0.reason,
                object = dropped.1.name,
                "Event dropped: {why}"
            );
        }
    }
}

/// Sends queued Events, [`IN_FLIGHT`] at once; a repeat of the same text
/// within [`SERIES_WINDOW`] raises the count of the earlier Event instead
/// of creating another.
struct Sender {
    client: Client,
    reporter: Reporter,
    sent: HashMap<Key, Sent>,
}

/// The Events of one [`Key`] in a batch, in the order they were published,
/// and the Event they repeat (if any).
struct Repeats {
    key: Key,
    earlier: Option<Sent>,
    events: Vec<Pending>,
}

impl Sender {
    async fn run(mut self, mut pending: mpsc::Receiver<Pending>) {
        let mut batch = Vec::with_capacity(BATCH);
        while pending.recv_many(&mut batch, BATCH).await > 0 {
            let now = Timestamp::now();
            self.sent.retain(|_, s| s.last + SERIES_WINDOW > now);
            let groups = group(&self.sent, batch.drain(..));
            let sent: Vec<(Key, Option<Sent>)> = futures::stream::iter(groups)
                .map(|group| self.send_all(group))
                .buffer_unordered(IN_FLIGHT)
                .collect()
                .await;
            let last = sent
                .into_iter()
                .filter_map(|(key, last)| Some((key, last?)));
            self.sent.extend(last);
        }
    }

    /// Sends a group's Events in order; returns its key and the Event that
    /// a later repeat extends.
    async fn send_all(&self, group: Repeats) -> (Key, Option<Sent>) {
        let mut earlier = group.earlier;
        for (event, regarding) in &group.events {
            let now = Timestamp::now();
            let sent = match earlier.clone() {
                Some(e) => self.extend_series(e, now).await,
                None => self.create(event, regarding, now).await,
            };
            match sent {
                Ok(sent) => earlier = Some(sent),
                Err(error) => {
                    tracing::warn!(%error, reason = event.reason, "cannot publish event")
                }
            }
        }
        (group.key, earlier)
    }

    async fn extend_series(&self, mut earlier: Sent, now: Timestamp) -> Result<Sent, kube::Error> {
        earlier.count += 1;
        earlier.last = now;
        let series = EventSeries {
            count: earlier.count,
            last_observed_time: MicroTime(now),
        };
        let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), &earlier.namespace);
        let body = json!({ "series": series });
        api.patch(&earlier.name, &PatchParams::default(), &Patch::Merge(&body))
            .await?;
        Ok(earlier)
    }

    async fn create(
        &self,
        event: &Event,
        regarding: &ObjectReference,
        now: Timestamp,
    ) -> Result<Sent, kube::Error> {
        let namespace = regarding
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string());
        let name = format!(
            "{}.{:x}",
            regarding
                .name
                .as_deref()
                .unwrap_or(&self.reporter.controller),
            now.as_nanosecond()
        );
        let body = K8sEvent {
            action: Some(event.action.clone()),
            reason: Some(event.reason.clone()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            related: event.secondary.clone(),
            note: event.note.clone(),
            metadata: ObjectMeta {
                namespace: Some(namespace.clone()),
                name: Some(name.clone()),
                ..Default::default()
            },
            reporting_controller: Some(self.reporter.controller.clone()),
            reporting_instance: Some(
                self.reporter
                    .instance
                    .clone()
                    .unwrap_or_else(|| self.reporter.controller.clone()),
            ),
            type_: Some(if event.type_ == EventType::Warning {
                "Warning".into()
            } else {
                "Normal".into()
            }),
            ..Default::default()
        };
        let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), &namespace);
        api.create(&PostParams::default(), &body).await?;
        Ok(Sent {
            namespace,
            name,
            count: 1,
            last: now,
        })
    }
}

/// `batch` grouped by [`Key`] (first-published first), the Events of each
/// in the order they were published, with the Event in `sent` they repeat.
fn group(sent: &HashMap<Key, Sent>, batch: impl Iterator<Item = Pending>) -> Vec<Repeats> {
    let mut groups: Vec<Repeats> = Vec::new();
    for (event, regarding) in batch {
        let key = key_of(&event, &regarding);
        match groups.iter_mut().find(|g| g.key == key) {
            Some(group) => group.events.push((event, regarding)),
            None => groups.push(Repeats {
                earlier: sent.get(&key).cloned(),
                key,
                events: vec![(event, regarding)],
            }),
        }
    }
    groups
}

/// What makes `event` about `regarding` a repeat of another.
fn key_of(event: &Event, regarding: &ObjectReference) -> Key {
    Key {
        regarding: (
            regarding.namespace.clone(),
            regarding.kind.clone(),
            regarding.name.clone(),
            regarding.uid.clone(),
        ),
        warning: event.type_ == EventType::Warning,
        reason: event.reason.clone(),
        note: event.note.clone(),
    }
}

/// A Normal Event with `reason` listing what `result` pruned (none when it
/// pruned nothing).
pub fn publish_pruned<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    owner: &K,
    reason: &str,
    result: &driftless_sync::SyncResult,
) {
    let pruned = result.pruned();
    if !pruned.is_empty() {
        publish(
            ctx,
            owner,
            false,
            reason,
            format!("pruned {}", pruned.join(", ")),
        );
    }
}

/// Queues an Event on `app` (an Application, a Kustomization); a failure
/// to publish is logged, never fatal.
pub fn publish<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    app: &K,
    warning: bool,
    reason: &str,
    note: String,
) {
    let event = Event {
        type_: if warning {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: reason.to_string(),
        note: Some(note),
        action: reason.to_string(),
        secondary: None,
    };
    ctx.recorder.publish(event, app.object_ref(&()));
}

/// `s` cut to at most `max` bytes, on a character boundary.
fn truncate(mut s: String, max: usize) -> String {
    s.truncate(s.floor_char_boundary(max));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(name: &str, note: &str) -> Pending {
        let event = Event {
            type_: EventType::Normal,
            reason: "R".into(),
            note: Some(note.into()),
            action: "R".into(),
            secondary: None,
        };
        let regarding = ObjectReference {
            namespace: Some("ns".into()),
            name: Some(name.into()),
            ..Default::default()
        };
        (event, regarding)
    }

    #[test]
    fn a_batch_is_grouped_by_object_and_text_in_order() {
        let earlier = Sent {
            namespace: "ns".into(),
            name: "b.1".into(),
            count: 3,
            last: Timestamp::now(),
        };
        let (event, regarding) = pending("b", "x");
        let sent = HashMap::from([(key_of(&event, &regarding), earlier)]);
        let batch = [
            pending("a", "x"),
            pending("b", "x"),
            pending("a", "y"),
            pending("a", "x"),
        ];
        let groups = group(&sent, batch.into_iter());
        let shape: Vec<String> = groups
            .iter()
            .map(|g| {
                let (name, note) = (g.key.regarding.2.as_deref(), g.key.note.as_deref());
                let earlier = g.earlier.as_ref().map(|e| e.count);
                format!("{name:?} {note:?} x{} {earlier:?}", g.events.len())
            })
            .collect();
        assert_eq!(
            shape,
            [
                r#"Some("a") Some("x") x2 None"#,
                r#"Some("b") Some("x") x1 Some(3)"#,
                r#"Some("a") Some("y") x1 None"#,
            ]
        );
    }

    #[test]
    fn long_notes_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("short".into(), MAX_NOTE_BYTES), "short");
        let cut = truncate("é".repeat(MAX_NOTE_BYTES), MAX_NOTE_BYTES);
        assert_eq!(cut.len(), MAX_NOTE_BYTES);
        let odd = truncate(format!("x{}", "é".repeat(MAX_NOTE_BYTES)), MAX_NOTE_BYTES);
        assert_eq!(odd.len(), MAX_NOTE_BYTES - 1);
    }
}
