//! Status conditions, and the generic health of custom resources judged by
//! the kstatus conventions: `Ready`, `Stalled`, `Reconciling`, observedGeneration.

use driftless_api::HealthStatus;
use serde_json::Value;

use super::{degraded, healthy, int_at, observed, progressing};

/// One entry of `status.conditions`.
pub(super) struct Condition<'a> {
    pub status: &'a str,
    pub reason: &'a str,
    pub message: &'a str,
}

/// The condition of type `kind` in `status.conditions`.
pub(super) fn find<'a>(live: &'a Value, kind: &str) -> Option<Condition<'a>> {
    let conditions = live.pointer("/status/conditions")?.as_array()?;
    let cond = conditions
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))?;
    let field = |name: &str| cond.get(name).and_then(Value::as_str).unwrap_or("");
    Some(Condition {
        status: field("status"),
        reason: field("reason"),
        message: field("message"),
    })
}

fn describe(kind: &str, cond: &Condition<'_>) -> String {
    match (cond.reason, cond.message) {
        ("", "") => format!("{kind}={}", cond.status),
        (reason, "") => format!("{kind}={}: {reason}", cond.status),
        (_, message) => message.to_string(),
    }
}

/// Health of any object by its conditions and observedGeneration; objects
/// with no conditions the conventions name are Healthy.
pub(super) fn generic(live: &Value) -> HealthStatus {
    if let Some(cond) = find(live, "Stalled")
        && cond.status == "True"
    {
        return degraded(describe("Stalled", &cond));
    }
    let has_observed = int_at(live, "/status/observedGeneration").is_some();
    if has_observed && !observed(live) {
        return progressing("waiting for the controller to observe the latest generation");
    }
    if let Some(cond) = find(live, "Reconciling")
        && cond.status == "True"
    {
        return progressing(describe("Reconciling", &cond));
    }
    match find(live, "Ready") {
        Some(cond) if cond.status == "True" => healthy(describe("Ready", &cond)),
        Some(cond) if cond.status == "False" => degraded(describe("Ready", &cond)),
        Some(cond) => progressing(describe("Ready", &cond)),
        None => healthy(""),
    }
}

#[cfg(test)]
mod tests {
    use super::super::assess;
    use driftless_api::HealthStatusCode::*;
    use serde_json::json;

    fn widget(generation: i64, status: serde_json::Value) -> serde_json::Value {
        json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "generation": generation}, "status": status})
    }

    #[test]
    fn custom_resources_by_conditions() {
        assert_eq!(assess(&widget(1, json!({}))).status, Healthy);
        let ready = widget(
            1,
            json!({"observedGeneration": 1,
            "conditions": [{"type": "Ready", "status": "True", "message": "all good"}]}),
        );
        let h = assess(&ready);
        assert_eq!(
            (h.status, h.message.as_deref()),
            (Healthy, Some("all good"))
        );
        let stale = widget(
            2,
            json!({"observedGeneration": 1,
            "conditions": [{"type": "Ready", "status": "True"}]}),
        );
        assert_eq!(assess(&stale).status, Progressing);
        let stalled = widget(
            1,
            json!({"conditions": [
            {"type": "Stalled", "status": "True", "reason": "BadConfig"}]}),
        );
        assert_eq!(assess(&stalled).status, Degraded);
        let reconciling = widget(
            1,
            json!({"conditions": [
            {"type": "Reconciling", "status": "True"},
            {"type": "Ready", "status": "False"}]}),
        );
        assert_eq!(assess(&reconciling).status, Progressing);
        let failed = widget(
            1,
            json!({"conditions": [
            {"type": "Ready", "status": "False", "reason": "Failed", "message": "boom"}]}),
        );
        assert_eq!(assess(&failed).status, Degraded);
        let unknown = widget(
            1,
            json!({"conditions": [{"type": "Ready", "status": "Unknown"}]}),
        );
        assert_eq!(assess(&unknown).status, Progressing);
    }
}
