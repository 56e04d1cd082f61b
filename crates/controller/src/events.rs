//! Kubernetes Events on Applications, so `kubectl describe application`
//! tells the story (sync started/succeeded/failed, prunes, errors).

use driftless_api::Application;
use kube::Resource;
use kube::runtime::events::{Event, EventType};

use crate::context::Context;

/// Event reasons, as Argo CD names them where it has a name.
pub mod reason {
    /// A sync started.
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
}

/// Publishes an Event on `app`; a failure to publish is logged, never fatal.
pub async fn publish(ctx: &Context, app: &Application, warning: bool, reason: &str, note: String) {
    let event = Event {
        type_: if warning {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: reason.to_string(),
        note: Some(truncate(note, 1000)),
        action: reason.to_string(),
        secondary: None,
    };
    if let Err(error) = ctx.recorder.publish(&event, &app.object_ref(&())).await {
        tracing::warn!(%error, reason, "cannot publish event");
    }
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}
