//! Volumes, networking, autoscaling, API extension kinds and Applications.

use driftless_api::{HealthStatus, HealthStatusCode};
use serde_json::Value;

use super::conditions::find;
use super::{degraded, healthy, progressing, str_at, suspended, unknown};

fn has_lb_ingress(live: &Value) -> bool {
    live.pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
}

pub(super) fn pvc(live: &Value) -> HealthStatus {
    match str_at(live, "/status/phase") {
        "Bound" => healthy("claim is bound"),
        "Lost" => degraded("claim lost its volume"),
        "Pending" => progressing("claim is pending"),
        _ => progressing("claim has no phase yet"),
    }
}

pub(super) fn service(live: &Value) -> HealthStatus {
    if str_at(live, "/spec/type") != "LoadBalancer" || has_lb_ingress(live) {
        return healthy("");
    }
    progressing("waiting for the load balancer to get an address")
}

pub(super) fn ingress(live: &Value) -> HealthStatus {
    if has_lb_ingress(live) {
        return healthy("");
    }
    progressing("waiting for the ingress controller to assign an address")
}

pub(super) fn hpa(live: &Value) -> HealthStatus {
    let Some(conditions) = live.pointer("/status/conditions").and_then(Value::as_array) else {
        return progressing("waiting for the autoscaler to observe its target");
    };
    for cond in conditions {
        let field = |name: &str| cond.get(name).and_then(Value::as_str).unwrap_or("");
        if field("status") == "False" && field("reason").starts_with("Failed") {
            return degraded(format!("{}: {}", field("reason"), field("message")));
        }
    }
    healthy("")
}

pub(super) fn crd(live: &Value) -> HealthStatus {
    if let Some(cond) = find(live, "NamesAccepted")
        && cond.status == "False"
    {
        return degraded(format!("names not accepted: {}", cond.message));
    }
    match find(live, "Established") {
        Some(cond) if cond.status == "True" => healthy("established"),
        _ => progressing("waiting for the CustomResourceDefinition to be established"),
    }
}

pub(super) fn api_service(live: &Value) -> HealthStatus {
    match find(live, "Available") {
        Some(cond) if cond.status == "True" => healthy(""),
        Some(cond) => progressing(format!("APIService not available: {}", cond.message)),
        None => progressing("waiting for the APIService to become available"),
    }
}

/// A child Application reports its own health; a parent's wave waits for it.
pub(super) fn application(live: &Value) -> HealthStatus {
    let message = str_at(live, "/status/health/message");
    let code = match str_at(live, "/status/health/status") {
        "" => return progressing("waiting for the Application to report its health"),
        "Healthy" => HealthStatusCode::Healthy,
        "Suspended" => return suspended(message),
        "Progressing" => HealthStatusCode::Progressing,
        "Missing" => HealthStatusCode::Missing,
        "Degraded" => return degraded(message),
        other => {
            return unknown(
                format!("unknown health {other:?} {message}")
                    .trim_end()
                    .to_string(),
            );
        }
    };
    HealthStatus {
        status: code,
        message: (!message.is_empty()).then(|| message.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::assess;
    use driftless_api::HealthStatusCode::*;
    use serde_json::json;

    #[test]
    fn volumes_and_networking() {
        let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Bound"}});
        assert_eq!(assess(&pvc).status, Healthy);
        let lb = json!({"apiVersion": "v1", "kind": "Service", "spec": {"type": "LoadBalancer"}});
        assert_eq!(assess(&lb).status, Progressing);
        let cluster_ip =
            json!({"apiVersion": "v1", "kind": "Service", "spec": {"type": "ClusterIP"}});
        assert_eq!(assess(&cluster_ip).status, Healthy);
        let ing = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}}});
        assert_eq!(assess(&ing).status, Healthy);
    }

    #[test]
    fn api_extensions() {
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "status": {"conditions": [{"type": "Established", "status": "True"}]}});
        assert_eq!(assess(&crd).status, Healthy);
        let pending =
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition"});
        assert_eq!(assess(&pending).status, Progressing);
        let hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "status": {"conditions": [{"type": "ScalingActive", "status": "False",
                "reason": "FailedGetResourceMetric", "message": "no metrics"}]}});
        assert_eq!(assess(&hpa).status, Degraded);
    }

    #[test]
    fn child_applications_report_their_own_health() {
        let app = |status: serde_json::Value| {
            json!({"apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application", "status": status})
        };
        assert_eq!(assess(&app(json!({}))).status, Progressing);
        assert_eq!(
            assess(&app(json!({"health": {"status": "Healthy"}}))).status,
            Healthy
        );
        assert_eq!(
            assess(&app(
                json!({"health": {"status": "Degraded", "message": "x"}})
            ))
            .status,
            Degraded
        );
        assert_eq!(
            assess(&app(json!({"health": {"status": "Missing"}}))).status,
            Missing
        );
    }
}
