//! Deployments, StatefulSets, DaemonSets and ReplicaSets, judged as `kubectl
//! rollout status` judges them.

use driftless_api::HealthStatus;
use serde_json::Value;

use super::conditions::find;
use super::{degraded, healthy, int_at, observed, progressing, str_at, suspended};

const WAITING_GENERATION: &str = "waiting for the controller to observe the latest generation";

pub(super) fn deployment(live: &Value) -> HealthStatus {
    if live.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
        return suspended("Deployment is paused");
    }
    if !observed(live) {
        return progressing(WAITING_GENERATION);
    }
    if let Some(cond) = find(live, "Progressing")
        && cond.reason == "ProgressDeadlineExceeded"
    {
        return degraded(format!(
            "Deployment exceeded its progress deadline: {}",
            cond.message
        ));
    }
    let want = int_at(live, "/spec/replicas").unwrap_or(1);
    let updated = int_at(live, "/status/updatedReplicas").unwrap_or(0);
    let total = int_at(live, "/status/replicas").unwrap_or(0);
    let available = int_at(live, "/status/availableReplicas").unwrap_or(0);
    if updated < want {
        return progressing(format!("{updated} of {want} replicas updated"));
    }
    if total > updated {
        return progressing(format!(
            "{} old replicas pending termination",
            total - updated
        ));
    }
    if available < updated {
        return progressing(format!("{available} of {want} replicas available"));
    }
    healthy(format!("{available} of {want} replicas available"))
}

pub(super) fn stateful_set(live: &Value) -> HealthStatus {
    if !observed(live) {
        return progressing(WAITING_GENERATION);
    }
    let want = int_at(live, "/spec/replicas").unwrap_or(1);
    let ready = int_at(live, "/status/readyReplicas").unwrap_or(0);
    if str_at(live, "/spec/updateStrategy/type") == "OnDelete" {
        return healthy(format!(
            "{ready} of {want} replicas ready (updateStrategy OnDelete)"
        ));
    }
    if ready < want {
        return progressing(format!("{ready} of {want} replicas ready"));
    }
    let partition = int_at(live, "/spec/updateStrategy/rollingUpdate/partition").unwrap_or(0);
    if partition > 0 {
        let updated = int_at(live, "/status/updatedReplicas").unwrap_or(0);
        let expected = want - partition;
        if updated < expected {
            return progressing(format!(
                "{updated} of {expected} replicas updated (partition {partition})"
            ));
        }
        return healthy(format!(
            "partitioned rollout complete: {updated} replicas updated"
        ));
    }
    let update = str_at(live, "/status/updateRevision");
    if !update.is_empty() && update != str_at(live, "/status/currentRevision") {
        let updated = int_at(live, "/status/updatedReplicas").unwrap_or(0);
        return progressing(format!("{updated} of {want} replicas updated to {update}"));
    }
    healthy(format!("{ready} of {want} replicas ready"))
}

pub(super) fn daemon_set(live: &Value) -> HealthStatus {
    if !observed(live) {
        return progressing(WAITING_GENERATION);
    }
    let desired = int_at(live, "/status/desiredNumberScheduled").unwrap_or(0);
    let available = int_at(live, "/status/numberAvailable").unwrap_or(0);
    if str_at(live, "/spec/updateStrategy/type") == "OnDelete" {
        return healthy(format!(
            "{available} of {desired} pods available (updateStrategy OnDelete)"
        ));
    }
    let updated = int_at(live, "/status/updatedNumberScheduled").unwrap_or(0);
    if updated < desired {
        return progressing(format!("{updated} of {desired} pods updated"));
    }
    if available < desired {
        return progressing(format!("{available} of {desired} pods available"));
    }
    healthy(format!("{available} of {desired} pods available"))
}

pub(super) fn replica_set(live: &Value) -> HealthStatus {
    if !observed(live) {
        return progressing(WAITING_GENERATION);
    }
    if let Some(cond) = find(live, "ReplicaFailure")
        && cond.status == "True"
    {
        return degraded(format!("ReplicaSet failed: {}", cond.message));
    }
    let want = int_at(live, "/spec/replicas").unwrap_or(1);
    let available = int_at(live, "/status/availableReplicas").unwrap_or(0);
    if available < want {
        return progressing(format!("{available} of {want} replicas available"));
    }
    healthy(format!("{available} of {want} replicas available"))
}

#[cfg(test)]
mod tests {
    use super::super::assess;
    use driftless_api::HealthStatusCode::*;
    use serde_json::json;

    fn deploy(status: serde_json::Value) -> serde_json::Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": 3}, "status": status})
    }

    #[test]
    fn deployment_states() {
        let h = assess(&deploy(json!({"observedGeneration": 1})));
        assert_eq!(h.status, Progressing);
        let h = assess(&deploy(json!({"observedGeneration": 2, "replicas": 3,
            "updatedReplicas": 3, "availableReplicas": 2})));
        assert_eq!(h.status, Progressing);
        assert_eq!(h.message.as_deref(), Some("2 of 3 replicas available"));
        let h = assess(&deploy(json!({"observedGeneration": 2, "replicas": 4,
            "updatedReplicas": 3, "availableReplicas": 3})));
        assert_eq!(h.status, Progressing);
        let h = assess(&deploy(json!({"observedGeneration": 2, "replicas": 3,
            "updatedReplicas": 3, "availableReplicas": 3})));
        assert_eq!(
            (h.status, h.message.as_deref()),
            (Healthy, Some("3 of 3 replicas available"))
        );
        let h = assess(&deploy(json!({"observedGeneration": 2, "conditions": [
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
             "message": "ReplicaSet \"web-1\" has timed out progressing."}]})));
        assert_eq!(h.status, Degraded);
        let mut paused = deploy(json!({}));
        paused["spec"]["paused"] = json!(true);
        assert_eq!(assess(&paused).status, Suspended);
    }

    #[test]
    fn stateful_set_states() {
        let sts = |status: serde_json::Value| {
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"generation": 1}, "spec": {"replicas": 2}, "status": status})
        };
        assert_eq!(
            assess(&sts(json!({"observedGeneration": 1, "readyReplicas": 1}))).status,
            Progressing
        );
        assert_eq!(
            assess(&sts(json!({"observedGeneration": 1, "readyReplicas": 2,
            "currentRevision": "a", "updateRevision": "b", "updatedReplicas": 1})))
            .status,
            Progressing
        );
        assert_eq!(
            assess(&sts(json!({"observedGeneration": 1, "readyReplicas": 2,
            "currentRevision": "b", "updateRevision": "b"})))
            .status,
            Healthy
        );
    }

    #[test]
    fn daemon_set_and_replica_set_states() {
        let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"generation": 1},
            "status": {"observedGeneration": 1, "desiredNumberScheduled": 2,
                "updatedNumberScheduled": 2, "numberAvailable": 1}});
        assert_eq!(assess(&ds).status, Progressing);
        let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"generation": 1},
            "spec": {"replicas": 1}, "status": {"observedGeneration": 1, "availableReplicas": 1}});
        assert_eq!(assess(&rs).status, Healthy);
        let failed = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"generation": 1},
            "spec": {"replicas": 1}, "status": {"observedGeneration": 1, "conditions": [
                {"type": "ReplicaFailure", "status": "True", "message": "quota exceeded"}]}});
        assert_eq!(assess(&failed).status, Degraded);
    }
}
