//! The tracking annotation that ties a live object to the Application that
//! manages it: `argocd.argoproj.io/tracking-id: <app>:<group>/<kind>:<namespace>/<name>`.

use driftless_render::ObjectKey;

/// The annotation holding an object's tracking id.
pub const TRACKING_ANNOTATION: &str = "argocd.argoproj.io/tracking-id";

/// A parsed tracking id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackingId {
    /// The tracking name of the Application.
    pub app: String,
    /// The object the id was written for.
    pub key: ObjectKey,
}

/// The tracking id of `key` for the Application `app`.
pub fn tracking_id(app: &str, key: &ObjectKey) -> String {
    format!(
        "{app}:{}/{}:{}/{}",
        key.group, key.kind, key.namespace, key.name
    )
}

/// Parses a tracking id; `None` when it is not of the form
/// `<app>:<group>/<kind>:<namespace>/<name>`.
pub fn parse_tracking_id(value: &str) -> Option<TrackingId> {
    let (app, rest) = value.split_once(':')?;
    let (group_kind, ns_name) = rest.split_once(':')?;
    let (group, kind) = group_kind.split_once('/')?;
    let (namespace, name) = ns_name.split_once('/')?;
    if app.is_empty() || kind.is_empty() || name.is_empty() {
        return None;
    }
    Some(TrackingId {
        app: app.to_string(),
        key: ObjectKey {
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        },
    })
}

/// The prefix of a Flux Kustomization's tracking name,
/// `kustomization_<namespace>_<name>`: two `_`, where an Application's
/// (`<name>` or `<namespace>_<name>`) has at most one, so they never collide.
pub const KUSTOMIZATION_PREFIX: &str = "kustomization_";

/// The Kustomization `(namespace, name)` a tracking name belongs to, when
/// it is one of a Kustomization.
pub fn kustomization_of(tracking: &str) -> Option<(&str, &str)> {
    tracking.strip_prefix(KUSTOMIZATION_PREFIX)?.split_once('_')
}

/// The prefix of a Flux HelmRelease's tracking name,
/// `helmrelease_<namespace>_<name>` (two `_`, as a Kustomization's).
pub const HELMRELEASE_PREFIX: &str = "helmrelease_";

/// The HelmRelease `(namespace, name)` a tracking name belongs to, when it
/// is one of a HelmRelease.
pub fn helmrelease_of(tracking: &str) -> Option<(&str, &str)> {
    tracking.strip_prefix(HELMRELEASE_PREFIX)?.split_once('_')
}

/// The owner a tracking name stands for, as messages name it:
/// `Kustomization <namespace>/<name>`, `HelmRelease <namespace>/<name>`,
/// or `Application <tracking name>`.
pub fn describe_owner(tracking: &str) -> String {
    if let Some((ns, name)) = kustomization_of(tracking) {
        return format!("Kustomization {ns}/{name}");
    }
    match helmrelease_of(tracking) {
        Some((ns, name)) => format!("HelmRelease {ns}/{name}"),
        None => format!("Application {tracking}"),
    }
}

/// Who a live object belongs to, judged from its tracking annotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// No (valid) tracking id: nobody claims it.
    Untracked,
    /// Tracked by this Application, and the id names this very object.
    Ours,
    /// Tracked by another Application (its name).
    OtherApp(String),
    /// The id names this Application but another object (copied by a
    /// controller, or the object was renamed): never pruned.
    Copied,
}

/// Judges who owns the live object `key` with tracking annotation `annotation`.
pub fn ownership(app: &str, key: &ObjectKey, annotation: Option<&str>) -> Ownership {
    let Some(id) = annotation.and_then(parse_tracking_id) else {
        return Ownership::Untracked;
    };
    if id.app != app {
        return Ownership::OtherApp(id.app);
    }
    if id.key == *key {
        Ownership::Ours
    } else {
        Ownership::Copied
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(group: &str, kind: &str, ns: &str, name: &str) -> ObjectKey {
        ObjectKey {
            group: group.into(),
            kind: kind.into(),
            namespace: ns.into(),
            name: name.into(),
        }
    }

    #[test]
    fn owners_are_described_by_kind() {
        assert_eq!(
            describe_owner("kustomization_flux-system_apps"),
            "Kustomization flux-system/apps"
        );
        assert_eq!(describe_owner("team-a_web"), "Application team-a_web");
        assert_eq!(kustomization_of("kustomization_ns_a"), Some(("ns", "a")));
        assert_eq!(kustomization_of("web"), None);
        assert_eq!(
            describe_owner("helmrelease_flux-system_web"),
            "HelmRelease flux-system/web"
        );
        assert_eq!(helmrelease_of("helm_web"), None);
    }

    #[test]
    fn formats_like_argo_cd() {
        assert_eq!(
            tracking_id("guestbook", &key("apps", "Deployment", "dev", "web")),
            "guestbook:apps/Deployment:dev/web"
        );
        assert_eq!(
            tracking_id("guestbook", &key("", "Namespace", "", "dev")),
            "guestbook:/Namespace:/dev"
        );
    }

    #[test]
    fn round_trips() {
        let k = key("rbac.authorization.k8s.io", "ClusterRole", "", "reader");
        let id = parse_tracking_id(&tracking_id("a", &k)).unwrap();
        assert_eq!((id.app.as_str(), id.key), ("a", k));
        assert_eq!(parse_tracking_id("nonsense"), None);
        assert_eq!(parse_tracking_id("a:/ConfigMap:ns/"), None);
    }

    #[test]
    fn judges_ownership() {
        let k = key("", "ConfigMap", "ns", "cm");
        let ours = tracking_id("a", &k);
        assert_eq!(ownership("a", &k, Some(&ours)), Ownership::Ours);
        assert_eq!(
            ownership("b", &k, Some(&ours)),
            Ownership::OtherApp("a".into())
        );
        let other = key("", "ConfigMap", "ns", "copy");
        assert_eq!(ownership("a", &other, Some(&ours)), Ownership::Copied);
        assert_eq!(ownership("a", &k, None), Ownership::Untracked);
        assert_eq!(ownership("a", &k, Some("junk")), Ownership::Untracked);
    }
}
