//! Pods, Jobs and CronJobs.

use driftless_api::HealthStatus;
use serde_json::Value;

use super::conditions::find;
use super::{degraded, healthy, progressing, str_at, suspended, unknown};

/// Waiting reasons that mean a container will not start without a change.
const STUCK_REASONS: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
];

fn stuck_container(live: &Value) -> Option<String> {
    ["/status/initContainerStatuses", "/status/containerStatuses"]
        .iter()
        .filter_map(|p| live.pointer(p).and_then(Value::as_array))
        .flatten()
        .find_map(|c| {
            let reason = str_at(c, "/state/waiting/reason");
            STUCK_REASONS.contains(&reason).then(|| {
                let message = str_at(c, "/state/waiting/message");
                format!("container {}: {reason} {message}", str_at(c, "/name"))
                    .trim_end()
                    .to_string()
            })
        })
}

pub(super) fn pod(live: &Value) -> HealthStatus {
    let message = str_at(live, "/status/message");
    match str_at(live, "/status/phase") {
        "Succeeded" => healthy(message),
        "Failed" => degraded(if message.is_empty() {
            "pod failed"
        } else {
            message
        }),
        "Running" | "Pending" => {
            if let Some(stuck) = stuck_container(live) {
                return degraded(stuck);
            }
            let ready = find(live, "Ready").is_some_and(|c| c.status == "True");
            let always = matches!(str_at(live, "/spec/restartPolicy"), "" | "Always");
            if str_at(live, "/status/phase") == "Running" && ready && always {
                healthy("pod is running and ready")
            } else if str_at(live, "/status/phase") == "Pending" {
                let scheduled = find(live, "PodScheduled");
                match scheduled {
                    Some(c) if c.status == "False" && !c.message.is_empty() => {
                        progressing(format!("pod is pending: {}", c.message))
                    }
                    _ => progressing("pod is pending"),
                }
            } else {
                progressing("pod is running, not ready yet")
            }
        }
        _ => unknown("pod phase is unknown"),
    }
}

pub(super) fn job(live: &Value) -> HealthStatus {
    if let Some(cond) = find(live, "Failed")
        && cond.status == "True"
    {
        return degraded(
            format!("Job failed: {} {}", cond.reason, cond.message)
                .trim_end()
                .to_string(),
        );
    }
    if let Some(cond) = find(live, "Complete")
        && cond.status == "True"
    {
        return healthy("Job completed");
    }
    if live.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        return suspended("Job is suspended");
    }
    progressing("Job is running")
}

pub(super) fn cron_job(live: &Value) -> HealthStatus {
    if live.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        return suspended("CronJob is suspended");
    }
    match str_at(live, "/status/lastScheduleTime") {
        "" => healthy("not scheduled yet"),
        last => healthy(format!("last scheduled at {last}")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::assess;
    use driftless_api::HealthStatusCode::*;
    use serde_json::json;

    fn pod(status: serde_json::Value) -> serde_json::Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}, "status": status})
    }

    #[test]
    fn pod_states() {
        assert_eq!(
            assess(&pod(json!({"phase": "Pending"}))).status,
            Progressing
        );
        let ready = pod(json!({"phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}]}));
        assert_eq!(assess(&ready).status, Healthy);
        let crash = pod(json!({"phase": "Running", "containerStatuses": [
            {"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}));
        let h = assess(&crash);
        assert_eq!(h.status, Degraded);
        assert!(h.message.unwrap().contains("app: CrashLoopBackOff"));
        assert_eq!(assess(&pod(json!({"phase": "Failed"}))).status, Degraded);
        assert_eq!(assess(&pod(json!({"phase": "Succeeded"}))).status, Healthy);
        assert_eq!(assess(&pod(json!({}))).status, Unknown);
    }

    #[test]
    fn job_states() {
        let job = |status: serde_json::Value| json!({"apiVersion": "batch/v1", "kind": "Job", "status": status});
        assert_eq!(assess(&job(json!({}))).status, Progressing);
        assert_eq!(
            assess(&job(
                json!({"conditions": [{"type": "Complete", "status": "True"}]})
            ))
            .status,
            Healthy
        );
        assert_eq!(
            assess(&job(json!({"conditions": [
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]})))
            .status,
            Degraded
        );
        let cron = json!({"apiVersion": "batch/v1", "kind": "CronJob", "spec": {"suspend": true}});
        assert_eq!(assess(&cron).status, Suspended);
    }
}
