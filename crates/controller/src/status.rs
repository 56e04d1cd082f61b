//! Computes the Application's status from what one reconcile observed, and
//! decides whether it changed (ignoring `reconciledAt`, so an idle
//! Application causes no writes). Pure.

use driftless_api::{
    ApplicationCondition, ApplicationDestination, ApplicationSource, ApplicationStatus, ComparedTo,
    HealthStatus, HealthStatusCode, OperationState, ResourceStatus, RevisionHistory, SyncStatus,
    SyncStatusCode, condition,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::pipeline::Comparison;

/// The most resources listed in `status.resources` (the rest are counted in a condition).
pub const MAX_RESOURCES: usize = 1000;
/// The default `spec.revisionHistoryLimit`.
pub const DEFAULT_HISTORY_LIMIT: usize = 10;

/// What one reconcile observed.
#[derive(Clone, Debug, Default)]
pub struct Observation<'a> {
    /// `metadata.generation` of the Application.
    pub generation: Option<i64>,
    /// The resolved commit; `None` when resolution failed.
    pub revision: Option<String>,
    /// The source compared.
    pub source: Option<ApplicationSource>,
    /// Every source compared, for multi-source Applications.
    pub sources: Vec<ApplicationSource>,
    /// The revision of each of `sources` (commit SHAs, chart versions).
    pub revisions: Vec<String>,
    /// The destination compared.
    pub destination: ApplicationDestination,
    /// `Kustomize` or `Directory`.
    pub source_type: Option<String>,
    /// For several sources: each one's type (empty for a `ref` source).
    pub source_types: Vec<String>,
    /// The comparison; `None` when it could not be made.
    pub comparison: Option<&'a Comparison>,
    /// Conditions (type, message) that hold now.
    pub conditions: Vec<(String, String)>,
    /// The latest operation's state, when one ran or is running.
    pub operation_state: Option<OperationState>,
    /// A sync that just succeeded, to append to `history`.
    pub synced: Option<RevisionHistory>,
    /// `spec.revisionHistoryLimit`.
    pub history_limit: Option<i64>,
    /// Now.
    pub now: Option<Time>,
    /// How messages name the Application (`application ns/name`): that
    /// prefix is dropped from its own conditions, which already live on it,
    /// so the MESSAGE column starts with what is wrong.
    pub subject: Option<String>,
}

/// The new status: `prev` updated with `obs`.
pub fn compute(prev: &ApplicationStatus, obs: Observation<'_>) -> ApplicationStatus {
    let mut next = prev.clone();
    next.observed_generation = obs.generation.or(prev.observed_generation);
    next.reconciled_at = obs.now.clone();
    if obs.source_type.is_some() {
        next.source_type = obs.source_type.clone();
        next.source_types = obs.source_types.clone();
    }
    let compared_to = Some(ComparedTo {
        source: obs.source.clone(),
        sources: obs.sources.clone(),
        destination: obs.destination.clone(),
    });
    let mut conditions = obs.conditions.clone();
    match obs.comparison {
        Some(cmp) => {
            let (resources, dropped) = resources(cmp);
            if dropped > 0 {
                conditions.push((
                    driftless_api::condition::UNSUPPORTED_FIELD_WARNING.to_string(),
                    format!(
                        "status lists the first {MAX_RESOURCES} resources; {dropped} more are managed but not listed"
                    ),
                ));
            }
            next.resources = resources;
            next.sync = Some(SyncStatus {
                status: if cmp.out_of_sync() {
                    SyncStatusCode::OutOfSync
                } else {
                    SyncStatusCode::Synced
                },
                revision: obs.revision.clone(),
                revisions: obs.revisions.clone(),
                compared_to,
            });
            next.health = Some(health(cmp));
        }
        None => {
            next.sync = Some(SyncStatus {
                status: SyncStatusCode::Unknown,
                revision: obs
                    .revision
                    .clone()
                    .or_else(|| prev.sync.as_ref().and_then(|s| s.revision.clone())),
                revisions: prev
                    .sync
                    .as_ref()
                    .map(|s| s.revisions.clone())
                    .unwrap_or_default(),
                compared_to,
            });
            if next.health.is_none() {
                next.health = Some(HealthStatus {
                    status: HealthStatusCode::Unknown,
                    message: None,
                });
            }
        }
    }
    if let Some(subject) = &obs.subject {
        for (_, message) in &mut conditions {
            strip_subject(message, subject);
        }
    }
    next.conditions = merge_conditions(&prev.conditions, &conditions, obs.now.as_ref());
    if let Some(op) = obs.operation_state {
        next.operation_state = Some(op);
    }
    if let Some(entry) = obs.synced {
        let limit = obs
            .history_limit
            .and_then(|l| usize::try_from(l).ok())
            .unwrap_or(DEFAULT_HISTORY_LIMIT);
        push_history(&mut next.history, entry, limit);
    }
    next
}

/// The status written when a sync starts: `prev` with the Running
/// `operation`, keeping the last known sync and health. Where they are not
/// known (a first sync; Unknown after a failed comparison) they come from
/// `before`, the comparison the sync starts from, so SYNC and HEALTH are
/// never blank (nor needlessly Unknown) while it runs.
pub fn running(
    prev: &ApplicationStatus,
    operation: OperationState,
    before: &Comparison,
    revision: &str,
) -> ApplicationStatus {
    let mut next = prev.clone();
    let sync_known = prev
        .sync
        .as_ref()
        .is_some_and(|s| s.status != SyncStatusCode::Unknown);
    let health_known = prev
        .health
        .as_ref()
        .is_some_and(|h| h.status != HealthStatusCode::Unknown);
    if !sync_known || !health_known {
        let compared = compute(
            prev,
            Observation {
                revision: Some(revision.to_string()),
                comparison: Some(before),
                ..Default::default()
            },
        );
        if !sync_known {
            next.sync = compared.sync;
        }
        if !health_known {
            next.health = compared.health;
        }
        if next.resources.is_empty() {
            next.resources = compared.resources;
        }
    }
    next.operation_state = Some(operation);
    next
}

/// The status written before a fetch (which may take minutes): `prev`, with
/// Unknown sync and health when it has none yet (a new Application), and the
/// requested `operation`'s Running state when there is one.
pub fn waiting(prev: &ApplicationStatus, operation: Option<OperationState>) -> ApplicationStatus {
    let mut next = prev.clone();
    next.sync.get_or_insert_with(|| SyncStatus {
        status: SyncStatusCode::Unknown,
        ..Default::default()
    });
    next.health.get_or_insert(HealthStatus {
        status: HealthStatusCode::Unknown,
        message: None,
    });
    if operation.is_some() {
        next.operation_state = operation;
    }
    next
}

fn resources(cmp: &Comparison) -> (Vec<ResourceStatus>, usize) {
    let mut list: Vec<ResourceStatus> = cmp
        .resources
        .iter()
        .map(|r| ResourceStatus {
            group: r.key.group.clone(),
            version: r.version.clone(),
            kind: r.key.kind.clone(),
            namespace: (!r.key.namespace.is_empty()).then(|| r.key.namespace.clone()),
            name: r.key.name.clone(),
            status: r.status,
            health: r.health.clone(),
            requires_pruning: r.requires_pruning,
            sync_wave: r.sync_wave,
        })
        .collect();
    list.sort_by(|a, b| {
        (&a.group, &a.kind, &a.namespace, &a.name).cmp(&(&b.group, &b.kind, &b.namespace, &b.name))
    });
    let dropped = list.len().saturating_sub(MAX_RESOURCES);
    list.truncate(MAX_RESOURCES);
    (list, dropped)
}

/// The Application's health: the worst of its resources' (those requiring
/// pruning do not count); Healthy when it has none. When it is not
/// healthy, the message names the first resource in that state and gives
/// that resource's own reason.
pub fn health(cmp: &Comparison) -> HealthStatus {
    let counted = || cmp.resources.iter().filter(|r| !r.requires_pruning);
    let worst = driftless_sync::health::worst(counted().filter_map(|r| r.health.as_ref()));
    let responsible = counted().find_map(|r| {
        let h = r.health.as_ref().filter(|h| h.status == worst.status)?;
        Some((r, h))
    });
    let message = match responsible {
        Some((r, h)) if worst.status != HealthStatusCode::Healthy => match &h.message {
            Some(detail) if !detail.is_empty() => Some(format!("{}: {detail}", r.key)),
            _ => Some(r.key.to_string()),
        },
        _ => None,
    };
    HealthStatus {
        status: worst.status,
        message,
    }
}

/// The conditions that hold now, errors before warnings (the MESSAGE printer
/// column shows the first); a condition already present with the same
/// type and message keeps its `lastTransitionTime`.
pub fn merge_conditions(
    prev: &[ApplicationCondition],
    now_holding: &[(String, String)],
    now: Option<&Time>,
) -> Vec<ApplicationCondition> {
    let mut out: Vec<ApplicationCondition> = Vec::new();
    for (type_, message) in now_holding {
        if out
            .iter()
            .any(|c| &c.type_ == type_ && &c.message == message)
        {
            continue;
        }
        let kept = prev
            .iter()
            .find(|c| &c.type_ == type_ && &c.message == message)
            .and_then(|c| c.last_transition_time.clone());
        out.push(ApplicationCondition {
            type_: type_.clone(),
            message: message.clone(),
            last_transition_time: kept.or_else(|| now.cloned()),
        });
    }
    // Stable: the order within errors and within warnings is kept.
    out.sort_by_key(|c| !condition::is_error(&c.type_));
    out
}

/// Drops a leading `"{subject}: "` from `message`.
fn strip_subject(message: &mut String, subject: &str) {
    let cut = message
        .strip_prefix(subject)
        .and_then(|rest| rest.strip_prefix(": "))
        .map(|rest| message.len() - rest.len());
    if let Some(cut) = cut {
        message.drain(..cut);
    }
}

/// Appends a history entry with the next id, keeping the newest `limit`.
pub fn push_history(history: &mut Vec<RevisionHistory>, mut entry: RevisionHistory, limit: usize) {
    entry.id = history.iter().map(|h| h.id).max().map_or(0, |m| m + 1);
    history.push(entry);
    let excess = history.len().saturating_sub(limit.max(1));
    history.drain(..excess);
}

/// Whether `a` and `b` differ in anything but `reconciledAt`.
pub fn differs(a: &ApplicationStatus, b: &ApplicationStatus) -> bool {
    let mut a = a.clone();
    a.reconciled_at = b.reconciled_at.clone();
    a != *b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::ResourceDiff;
    use driftless_render::ObjectKey;
    use k8s_openapi::jiff::Timestamp;

    fn at(secs: i64) -> Time {
        Time(Timestamp::from_second(secs).unwrap())
    }

    fn diff(name: &str, status: SyncStatusCode, health: HealthStatusCode) -> ResourceDiff {
        ResourceDiff {
            key: ObjectKey {
                group: "apps".into(),
                kind: "Deployment".into(),
                namespace: "dev".into(),
                name: name.into(),
            },
            version: "v1".into(),
            status,
            health: Some(HealthStatus {
                status: health,
                message: Some("2 of 3 ready".into()),
            }),
            requires_pruning: false,
            missing: false,
            sync_wave: None,
            shared_with: None,
        }
    }

    #[test]
    fn synced_and_healthy() {
        let cmp = Comparison {
            resources: vec![
                diff("b", SyncStatusCode::Synced, HealthStatusCode::Healthy),
                diff("a", SyncStatusCode::Synced, HealthStatusCode::Healthy),
            ],
            warnings: vec![],
        };
        let s = compute(
            &ApplicationStatus::default(),
            Observation {
                generation: Some(3),
                revision: Some("abc".into()),
                comparison: Some(&cmp),
                now: Some(at(10)),
                ..Default::default()
            },
        );
        assert_eq!(s.sync.as_ref().unwrap().status, SyncStatusCode::Synced);
        assert_eq!(s.sync.as_ref().unwrap().revision.as_deref(), Some("abc"));
        assert_eq!(s.health.as_ref().unwrap().status, HealthStatusCode::Healthy);
        assert_eq!(s.observed_generation, Some(3));
        assert_eq!(
            s.resources
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    #[test]
    fn out_of_sync_and_worst_health_named() {
        let mut pruned = diff("old", SyncStatusCode::OutOfSync, HealthStatusCode::Degraded);
        pruned.requires_pruning = true;
        let cmp = Comparison {
            resources: vec![
                diff("web", SyncStatusCode::Synced, HealthStatusCode::Progressing),
                pruned,
            ],
            warnings: vec![],
        };
        let s = compute(
            &ApplicationStatus::default(),
            Observation {
                comparison: Some(&cmp),
                ..Default::default()
            },
        );
        assert_eq!(s.sync.unwrap().status, SyncStatusCode::OutOfSync);
        let h = s.health.unwrap();
        assert_eq!(
            h.status,
            HealthStatusCode::Progressing,
            "pruned resources do not count"
        );
        assert!(h.message.unwrap().contains("dev/web"));
    }

    #[test]
    fn the_health_message_is_the_named_resources_own() {
        let mut ingress = diff("web", SyncStatusCode::Synced, HealthStatusCode::Progressing);
        ingress.key.kind = "Ingress".into();
        ingress.health.as_mut().unwrap().message = Some("no address yet".into());
        let cmp = Comparison {
            resources: vec![
                diff("web", SyncStatusCode::Synced, HealthStatusCode::Progressing),
                ingress,
            ],
            warnings: vec![],
        };
        let h = health(&cmp);
        assert_eq!(h.status, HealthStatusCode::Progressing);
        let message = h.message.unwrap();
        assert!(message.contains("Deployment"), "{message}");
        assert!(message.ends_with(": 2 of 3 ready"), "{message}");
    }

    #[test]
    fn failed_comparison_is_unknown_and_keeps_resources() {
        let cmp = Comparison {
            resources: vec![diff(
                "web",
                SyncStatusCode::Synced,
                HealthStatusCode::Healthy,
            )],
            warnings: vec![],
        };
        let first = compute(
            &ApplicationStatus::default(),
            Observation {
                revision: Some("abc".into()),
                comparison: Some(&cmp),
                ..Default::default()
            },
        );
        let second = compute(
            &first,
            Observation {
                conditions: vec![("ComparisonError".into(), "boom".into())],
                now: Some(at(5)),
                ..Default::default()
            },
        );
        assert_eq!(
            second.sync.as_ref().unwrap().status,
            SyncStatusCode::Unknown
        );
        assert_eq!(
            second.sync.as_ref().unwrap().revision.as_deref(),
            Some("abc")
        );
        assert_eq!(second.resources.len(), 1);
        assert_eq!(second.conditions[0].type_, "ComparisonError");
    }

    #[test]
    fn conditions_keep_transition_time() {
        let mut own = "application argocd/web: cannot render path x".to_string();
        strip_subject(&mut own, "application argocd/web");
        assert_eq!(own, "cannot render path x");
        let mut other = "application argocd/webshop: y".to_string();
        strip_subject(&mut other, "application argocd/web");
        assert_eq!(other, "application argocd/webshop: y");
        let prev = merge_conditions(&[], &[("SyncError".into(), "x".into())], Some(&at(1)));
        let same = merge_conditions(&prev, &[("SyncError".into(), "x".into())], Some(&at(2)));
        assert_eq!(same[0].last_transition_time, Some(at(1)));
        let changed = merge_conditions(&prev, &[("SyncError".into(), "y".into())], Some(&at(3)));
        assert_eq!(changed[0].last_transition_time, Some(at(3)));
        assert!(merge_conditions(&prev, &[], None).is_empty());
    }

    #[test]
    fn errors_come_first_so_the_message_column_shows_one() {
        let held = [
            (
                "ComparisonWarning".to_string(),
                "symlink a -> /etc skipped".to_string(),
            ),
            ("SyncError".to_string(), "sync failed".to_string()),
            ("UnsupportedFieldWarning".to_string(), "spec.x".to_string()),
            ("ComparisonError".to_string(), "render failed".to_string()),
        ];
        let types: Vec<String> = merge_conditions(&[], &held, None)
            .into_iter()
            .map(|c| c.type_)
            .collect();
        assert_eq!(
            types,
            [
                "SyncError",
                "ComparisonError",
                "ComparisonWarning",
                "UnsupportedFieldWarning"
            ]
        );
    }

    fn op(message: &str) -> OperationState {
        OperationState {
            phase: driftless_api::OperationPhase::Running,
            message: Some(message.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_first_sync_shows_the_comparison_it_starts_from() {
        let before = Comparison {
            resources: vec![diff(
                "web",
                SyncStatusCode::OutOfSync,
                HealthStatusCode::Missing,
            )],
            warnings: vec![],
        };
        let s = running(&ApplicationStatus::default(), op("syncing"), &before, "abc");
        assert_eq!(s.sync.as_ref().unwrap().status, SyncStatusCode::OutOfSync);
        let unknown = waiting(&ApplicationStatus::default(), None);
        let after_fetch = running(&unknown, op("syncing"), &before, "abc");
        assert_eq!(after_fetch.sync, s.sync, "Unknown is not a known value");
        assert_eq!(after_fetch.health, s.health);
        assert_eq!(s.sync.as_ref().unwrap().revision.as_deref(), Some("abc"));
        assert_eq!(s.health.as_ref().unwrap().status, HealthStatusCode::Missing);
        assert_eq!(s.resources.len(), 1);
        assert_eq!(
            s.operation_state.unwrap().message.as_deref(),
            Some("syncing")
        );
    }

    #[test]
    fn a_later_sync_keeps_the_last_known_values() {
        let synced = Comparison {
            resources: vec![diff(
                "web",
                SyncStatusCode::Synced,
                HealthStatusCode::Healthy,
            )],
            warnings: vec![],
        };
        let prev = compute(
            &ApplicationStatus::default(),
            Observation {
                revision: Some("old".into()),
                comparison: Some(&synced),
                ..Default::default()
            },
        );
        let before = Comparison {
            resources: vec![diff(
                "web",
                SyncStatusCode::OutOfSync,
                HealthStatusCode::Degraded,
            )],
            warnings: vec![],
        };
        let s = running(&prev, op("syncing"), &before, "new");
        assert_eq!(s.sync, prev.sync);
        assert_eq!(s.health, prev.health);
        assert!(s.operation_state.is_some());
    }

    #[test]
    fn before_a_first_fetch_sync_and_health_are_unknown_not_blank() {
        let s = waiting(&ApplicationStatus::default(), None);
        assert_eq!(s.sync.unwrap().status, SyncStatusCode::Unknown);
        assert_eq!(s.health.unwrap().status, HealthStatusCode::Unknown);
        assert!(s.operation_state.is_none());
        let prev = ApplicationStatus {
            health: Some(HealthStatus {
                status: HealthStatusCode::Healthy,
                message: None,
            }),
            ..Default::default()
        };
        let s = waiting(&prev, Some(op("fetching main")));
        assert_eq!(s.health, prev.health, "a known health is kept");
        assert_eq!(
            s.operation_state.unwrap().message.as_deref(),
            Some("fetching main")
        );
    }

    #[test]
    fn history_is_capped_with_increasing_ids() {
        let mut h = Vec::new();
        for i in 0..15 {
            push_history(
                &mut h,
                RevisionHistory {
                    revision: format!("r{i}"),
                    ..Default::default()
                },
                10,
            );
        }
        assert_eq!(h.len(), 10);
        assert_eq!(h.first().unwrap().revision, "r5");
        assert_eq!(h.last().unwrap().id, 14);
        let cmp = Comparison::default();
        let s = compute(
            &ApplicationStatus {
                history: h,
                ..Default::default()
            },
            Observation {
                comparison: Some(&cmp),
                synced: Some(RevisionHistory::default()),
                history_limit: Some(3),
                ..Default::default()
            },
        );
        assert_eq!(s.history.len(), 3);
        assert_eq!(s.history.last().unwrap().id, 15);
    }

    #[test]
    fn resources_are_bounded() {
        let cmp = Comparison {
            resources: (0..MAX_RESOURCES + 5)
                .map(|i| {
                    diff(
                        &format!("d{i:05}"),
                        SyncStatusCode::Synced,
                        HealthStatusCode::Healthy,
                    )
                })
                .collect(),
            warnings: vec![],
        };
        let s = compute(
            &ApplicationStatus::default(),
            Observation {
                comparison: Some(&cmp),
                ..Default::default()
            },
        );
        assert_eq!(s.resources.len(), MAX_RESOURCES);
        assert!(s.conditions.iter().any(|c| c.message.contains("5 more")));
    }

    #[test]
    fn reconciled_at_alone_is_no_change() {
        let cmp = Comparison {
            resources: vec![diff(
                "web",
                SyncStatusCode::Synced,
                HealthStatusCode::Healthy,
            )],
            warnings: vec![],
        };
        let obs = |t| Observation {
            revision: Some("abc".into()),
            comparison: Some(&cmp),
            now: Some(at(t)),
            ..Default::default()
        };
        let a = compute(&ApplicationStatus::default(), obs(1));
        let b = compute(&a, obs(2));
        assert!(!differs(&a, &b));
        assert!(differs(&ApplicationStatus::default(), &b));
    }
}
