//! Health of live objects, judged from their `status` the way `kubectl
//! rollout status` and Argo CD do. Pure: a JSON object in, a
//! [`HealthStatus`] out.

mod batch;
mod conditions;
mod other;
mod workloads;

use driftless_api::{HealthStatus, HealthStatusCode};
use serde_json::Value;

/// The health of one live object.
pub fn assess(live: &Value) -> HealthStatus {
    if live.pointer("/metadata/deletionTimestamp").is_some() {
        return progressing("pending deletion");
    }
    let api_version = str_at(live, "/apiVersion");
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    match (group, str_at(live, "/kind")) {
        ("apps" | "extensions", "Deployment") => workloads::deployment(live),
        ("apps", "StatefulSet") => workloads::stateful_set(live),
        ("apps" | "extensions", "DaemonSet") => workloads::daemon_set(live),
        ("apps" | "extensions", "ReplicaSet") => workloads::replica_set(live),
        ("", "Pod") => batch::pod(live),
        ("batch", "Job") => batch::job(live),
        ("batch", "CronJob") => batch::cron_job(live),
        ("", "PersistentVolumeClaim") => other::pvc(live),
        ("", "Service") => other::service(live),
        ("networking.k8s.io" | "extensions", "Ingress") => other::ingress(live),
        ("autoscaling", "HorizontalPodAutoscaler") => other::hpa(live),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => other::crd(live),
        ("apiregistration.k8s.io", "APIService") => other::api_service(live),
        ("argoproj.io", "Application") => other::application(live),
        _ => conditions::generic(live),
    }
}

/// The worst of several health states (Healthy when there are none); the
/// message is the worst one's, prefixed by nothing when it is alone.
pub fn worst<'a>(states: impl IntoIterator<Item = &'a HealthStatus>) -> HealthStatus {
    states
        .into_iter()
        .max_by_key(|h| h.status)
        .cloned()
        .unwrap_or_else(|| healthy(""))
}

pub(crate) fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

pub(crate) fn int_at(v: &Value, pointer: &str) -> Option<i64> {
    v.pointer(pointer).and_then(Value::as_i64)
}

fn status(code: HealthStatusCode, message: impl Into<String>) -> HealthStatus {
    let message = message.into();
    HealthStatus {
        status: code,
        message: (!message.is_empty()).then_some(message),
    }
}

pub(crate) fn healthy(message: impl Into<String>) -> HealthStatus {
    status(HealthStatusCode::Healthy, message)
}

pub(crate) fn progressing(message: impl Into<String>) -> HealthStatus {
    status(HealthStatusCode::Progressing, message)
}

pub(crate) fn degraded(message: impl Into<String>) -> HealthStatus {
    status(HealthStatusCode::Degraded, message)
}

pub(crate) fn suspended(message: impl Into<String>) -> HealthStatus {
    status(HealthStatusCode::Suspended, message)
}

pub(crate) fn unknown(message: impl Into<String>) -> HealthStatus {
    status(HealthStatusCode::Unknown, message)
}

/// The health of an object that should exist but does not.
pub fn missing() -> HealthStatus {
    status(HealthStatusCode::Missing, "not found in the cluster")
}

/// Whether the controller has seen the latest spec (observedGeneration at
/// least generation). Objects without either field count as observed.
pub(crate) fn observed(live: &Value) -> bool {
    match (
        int_at(live, "/metadata/generation"),
        int_at(live, "/status/observedGeneration"),
    ) {
        (Some(generation), Some(observed)) => observed >= generation,
        (Some(_), None) => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_without_status_are_healthy() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
        assert_eq!(assess(&cm).status, HealthStatusCode::Healthy);
    }

    #[test]
    fn deleting_objects_progress() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "deletionTimestamp": "2024-01-01T00:00:00Z"}});
        assert_eq!(assess(&cm).status, HealthStatusCode::Progressing);
    }

    #[test]
    fn worst_wins() {
        let states = [healthy("a"), degraded("b"), progressing("c")];
        let w = worst(&states);
        assert_eq!(w.status, HealthStatusCode::Degraded);
        assert_eq!(w.message.as_deref(), Some("b"));
        assert_eq!(worst(&[]).status, HealthStatusCode::Healthy);
    }
}
