//! AppProject rules: the implicit `default` project, and the checks an
//! Application and its rendered objects must pass (source repositories,
//! destinations, cluster- and namespace-scoped kind allow/deny lists).
//! Pure functions; a violation is reported as an InvalidSpecError condition
//! and nothing is applied.

use driftless_api::{AppProjectSpec, ApplicationDestination, GroupKind};
use driftless_render::ObjectKey;

/// The spec of the implicit `default` project: everything is allowed.
pub fn default_project() -> AppProjectSpec {
    let any = GroupKind {
        group: "*".into(),
        kind: "*".into(),
    };
    AppProjectSpec {
        description: Some(
            "The default project: allows every repository, destination and kind".into(),
        ),
        source_repos: vec!["*".into()],
        destinations: vec![ApplicationDestination {
            server: Some("*".into()),
            namespace: Some("*".into()),
            name: Some("*".into()),
        }],
        cluster_resource_whitelist: vec![any],
        ..Default::default()
    }
}

/// Matches `text` against a glob with `*` (any run of characters) and `?`
/// (one character).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether a list of globs (entries starting with `!` deny) admits `text`:
/// at least one positive match and no negative match.
fn admitted(patterns: &[String], text: &str) -> bool {
    let mut allowed = false;
    for pattern in patterns {
        if let Some(negated) = pattern.strip_prefix('!') {
            if glob_match(negated, text) {
                return false;
            }
        } else if glob_match(pattern, text) {
            allowed = true;
        }
    }
    allowed
}

fn normalize_repo(url: &str) -> String {
    url.trim()
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .to_string()
}

/// Whether the project allows deploying from `repo_url`.
pub fn source_allowed(project: &AppProjectSpec, repo_url: &str) -> bool {
    let repo = normalize_repo(repo_url);
    let patterns: Vec<String> = project
        .source_repos
        .iter()
        .map(|p| match p.strip_prefix('!') {
            Some(neg) => format!("!{}", normalize_repo(neg)),
            None => normalize_repo(p),
        })
        .collect();
    admitted(&patterns, &repo)
}

/// Whether the project allows deploying into `dest` (server or name, and namespace).
pub fn destination_allowed(project: &AppProjectSpec, dest: &ApplicationDestination) -> bool {
    let namespace = dest.namespace.as_deref().unwrap_or("");
    let server = dest.server.as_deref().unwrap_or("");
    let name = dest.name.as_deref().unwrap_or("");
    let mut allowed = false;
    for rule in &project.destinations {
        let ns_rule = rule.namespace.as_deref().unwrap_or("");
        let ns_match = match ns_rule.strip_prefix('!') {
            Some(neg) => {
                if glob_match(neg, namespace) {
                    return false;
                }
                continue;
            }
            None => glob_match(ns_rule, namespace),
        };
        let cluster_match = match (rule.server.as_deref(), rule.name.as_deref()) {
            (Some(s), _) if !server.is_empty() && glob_match(s, server.trim_end_matches('/')) => {
                true
            }
            (_, Some(n)) if !name.is_empty() && glob_match(n, name) => true,
            // An Application naming neither cluster means in-cluster.
            (Some(s), _) if server.is_empty() && name.is_empty() => {
                glob_match(s, driftless_api::IN_CLUSTER_SERVER)
            }
            _ => false,
        };
        allowed |= ns_match && cluster_match;
    }
    allowed
}

fn gk_match(list: &[GroupKind], group: &str, kind: &str) -> bool {
    list.iter()
        .any(|gk| glob_match(&gk.group, group) && glob_match(&gk.kind, kind))
}

/// Whether the project allows an object of `group`/`kind`; `namespaced`
/// tells which list applies.
pub fn kind_allowed(project: &AppProjectSpec, group: &str, kind: &str, namespaced: bool) -> bool {
    if namespaced {
        let white = &project.namespace_resource_whitelist;
        (white.is_empty() || gk_match(white, group, kind))
            && !gk_match(&project.namespace_resource_blacklist, group, kind)
    } else {
        gk_match(&project.cluster_resource_whitelist, group, kind)
            && !gk_match(&project.cluster_resource_blacklist, group, kind)
    }
}

/// Whether an Application in `app_namespace` may use `project`: always in
/// the control-plane namespace, elsewhere only when one of the project's
/// `sourceNamespaces` globs matches (Argo CD's "applications in any
/// namespace"; its implicit `default` project lists none).
pub fn source_namespace_allowed(
    project: &AppProjectSpec,
    app_namespace: &str,
    control_namespace: &str,
) -> bool {
    app_namespace.is_empty()
        || app_namespace == control_namespace
        || project
            .source_namespaces
            .iter()
            .any(|pattern| glob_match(pattern, app_namespace))
}

/// Whether `dest` names no cluster at all (neither `server` nor `name`):
/// Argo CD refuses such an Application.
pub fn destination_missing(dest: &ApplicationDestination) -> bool {
    let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
    blank(&dest.server) && blank(&dest.name)
}

/// The project's destination rules, for messages: `server/namespace, ...`.
pub fn describe_destinations(project: &AppProjectSpec) -> String {
    if project.destinations.is_empty() {
        return "none".into();
    }
    project
        .destinations
        .iter()
        .map(|d| {
            let cluster = d.server.as_deref().or(d.name.as_deref()).unwrap_or("");
            format!(
                "{cluster} namespace {:?}",
                d.namespace.as_deref().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every object the project does not allow, as messages naming the object
/// and the rule. `keys` are the objects as the sync engine would write them:
/// namespaced objects carry the namespace they are applied to (their own,
/// else the destination's), cluster-scoped ones an empty namespace (the
/// engine knows scopes from discovery). As Argo CD does, a namespaced object
/// is checked against `destinations` with its own namespace on the
/// Application's cluster, and a cluster-scoped one against the
/// cluster-scoped kind lists only.
pub fn forbidden_resources<'a>(
    project: &AppProjectSpec,
    project_name: &str,
    dest: &ApplicationDestination,
    keys: impl IntoIterator<Item = &'a ObjectKey>,
) -> Vec<String> {
    keys.into_iter()
        .filter_map(|key| forbidden_resource(project, project_name, dest, key))
        .collect()
}

fn forbidden_resource(
    project: &AppProjectSpec,
    project_name: &str,
    dest: &ApplicationDestination,
    key: &ObjectKey,
) -> Option<String> {
    let namespaced = !key.namespace.is_empty();
    if !kind_allowed(project, &key.group, &key.kind, namespaced) {
        let (scope, lists) = if namespaced {
            ("namespaced", "namespaceResourceWhitelist/Blacklist")
        } else {
            ("cluster-scoped", "clusterResourceWhitelist/Blacklist")
        };
        return Some(format!(
            "{scope} resource {key} is not permitted in project {project_name} (its {lists})"
        ));
    }
    let in_namespace = ApplicationDestination {
        namespace: Some(key.namespace.clone()),
        ..dest.clone()
    };
    (namespaced && !destination_allowed(project, &in_namespace)).then(|| {
        format!(
            "{key}: namespace {} is not permitted in project {project_name} (its destinations: {})",
            key.namespace,
            describe_destinations(project)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(group: &str, kind: &str, namespace: &str, name: &str) -> ObjectKey {
        ObjectKey {
            group: group.into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    fn in_cluster(namespace: &str) -> ApplicationDestination {
        ApplicationDestination {
            server: Some(driftless_api::IN_CLUSTER_SERVER.into()),
            namespace: Some(namespace.into()),
            name: None,
        }
    }

    fn only_namespace(pattern: &str) -> AppProjectSpec {
        AppProjectSpec {
            source_repos: vec!["*".into()],
            destinations: vec![in_cluster(pattern)],
            ..Default::default()
        }
    }

    #[test]
    fn globs() {
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "anything"));
        assert!(glob_match(
            "https://github.com/org/*",
            "https://github.com/org/repo"
        ));
        assert!(!glob_match(
            "https://github.com/org/*",
            "https://gitlab.com/org/repo"
        ));
        assert!(glob_match("team-?", "team-a"));
        assert!(!glob_match("team-?", "team-ab"));
        assert!(glob_match("*-prod", "shop-prod"));
        assert!(!glob_match("*-prod", "shop-staging"));
    }

    #[test]
    fn default_project_allows_everything() {
        let p = default_project();
        assert!(source_allowed(&p, "https://example.com/x.git"));
        let dest = ApplicationDestination {
            server: Some("https://kubernetes.default.svc".into()),
            namespace: Some("prod".into()),
            name: None,
        };
        assert!(destination_allowed(&p, &dest));
        assert!(destination_allowed(&p, &ApplicationDestination::default()));
        assert!(kind_allowed(&p, "", "Namespace", false));
        assert!(kind_allowed(&p, "apps", "Deployment", true));
    }

    #[test]
    fn source_repos_with_negation_and_git_suffix() {
        let p = AppProjectSpec {
            source_repos: vec![
                "https://git.example/team/*".into(),
                "!https://git.example/team/secret".into(),
            ],
            ..Default::default()
        };
        assert!(source_allowed(&p, "https://git.example/team/app.git"));
        assert!(!source_allowed(&p, "https://git.example/team/secret.git"));
        assert!(!source_allowed(&p, "https://elsewhere/app"));
        assert!(!source_allowed(
            &AppProjectSpec::default(),
            "https://git.example/team/app"
        ));
    }

    #[test]
    fn destinations() {
        let p = AppProjectSpec {
            destinations: vec![ApplicationDestination {
                server: Some("https://kubernetes.default.svc".into()),
                namespace: Some("team-*".into()),
                name: None,
            }],
            ..Default::default()
        };
        let dest = |ns: &str| ApplicationDestination {
            server: Some("https://kubernetes.default.svc".into()),
            namespace: Some(ns.into()),
            name: None,
        };
        assert!(destination_allowed(&p, &dest("team-a")));
        assert!(!destination_allowed(&p, &dest("kube-system")));
        let by_name = ApplicationDestination {
            server: None,
            namespace: Some("team-a".into()),
            name: Some("in-cluster".into()),
        };
        assert!(
            !destination_allowed(&p, &by_name),
            "only the server is allowed"
        );
    }

    #[test]
    fn kinds() {
        let p = AppProjectSpec {
            destinations: vec![in_cluster("*")],
            namespace_resource_blacklist: vec![GroupKind {
                group: "".into(),
                kind: "Secret".into(),
            }],
            ..Default::default()
        };
        assert!(kind_allowed(&p, "apps", "Deployment", true));
        assert!(!kind_allowed(&p, "", "Secret", true));
        assert!(
            !kind_allowed(&p, "", "Namespace", false),
            "no cluster kinds unless whitelisted"
        );
        let keys = [
            key("", "Namespace", "", "prod"),
            key("apps", "Deployment", "team-a", "web"),
        ];
        let msgs = forbidden_resources(&p, "team", &in_cluster(""), &keys);
        assert_eq!(msgs.len(), 1);
        assert!(
            msgs[0].contains("Namespace/prod") && msgs[0].contains("project team"),
            "{msgs:?}"
        );
    }

    #[test]
    fn objects_are_checked_in_their_own_namespace() {
        let p = only_namespace("allowed");
        let dest = in_cluster("allowed");
        let ok = key("", "ConfigMap", "allowed", "app");
        let escape = key("", "ConfigMap", "kube-system", "escape");
        let msgs = forbidden_resources(&p, "team", &dest, [&ok, &escape]);
        assert_eq!(msgs.len(), 1, "{msgs:?}");
        assert!(
            msgs[0].contains("ConfigMap kube-system/escape")
                && msgs[0].contains("namespace kube-system is not permitted in project team")
                && msgs[0].contains("\"allowed\""),
            "{msgs:?}"
        );
        // The rule applies to the Application's cluster, by name too.
        let by_name = ApplicationDestination {
            server: None,
            name: Some("elsewhere".into()),
            namespace: Some("allowed".into()),
        };
        assert_eq!(forbidden_resources(&p, "team", &by_name, [&ok]).len(), 1);
    }

    #[test]
    fn cluster_scoped_objects_follow_the_kind_lists_only() {
        let mut p = only_namespace("allowed");
        let ns = key("", "Namespace", "", "other");
        let msgs = forbidden_resources(&p, "team", &in_cluster("allowed"), [&ns]);
        assert!(
            msgs.len() == 1 && msgs[0].contains("cluster-scoped resource Namespace/other"),
            "{msgs:?}"
        );
        p.cluster_resource_whitelist = vec![GroupKind {
            group: "".into(),
            kind: "Namespace".into(),
        }];
        assert!(forbidden_resources(&p, "team", &in_cluster("allowed"), [&ns]).is_empty());
        // Negated destination rules deny a namespace even when another allows it.
        let mut p = only_namespace("*");
        p.destinations.push(in_cluster("!kube-*"));
        let cm = key("", "ConfigMap", "kube-public", "x");
        assert_eq!(
            forbidden_resources(&p, "team", &in_cluster("a"), [&cm]).len(),
            1
        );
    }

    #[test]
    fn source_namespaces() {
        let mut p = default_project();
        assert!(source_namespace_allowed(&p, "argocd", "argocd"));
        assert!(
            !source_namespace_allowed(&p, "team-a", "argocd"),
            "the implicit default project lists no source namespaces"
        );
        p.source_namespaces = vec!["team-*".into(), "ops".into()];
        assert!(source_namespace_allowed(&p, "team-a", "argocd"));
        assert!(source_namespace_allowed(&p, "ops", "argocd"));
        assert!(!source_namespace_allowed(&p, "operations", "argocd"));
    }

    #[test]
    fn missing_destinations() {
        assert!(destination_missing(&ApplicationDestination::default()));
        assert!(destination_missing(&ApplicationDestination {
            server: Some(" ".into()),
            name: Some(String::new()),
            namespace: Some("dev".into()),
        }));
        assert!(!destination_missing(&in_cluster("")));
        assert!(!destination_missing(&ApplicationDestination {
            name: Some("in-cluster".into()),
            ..Default::default()
        }));
    }
}
