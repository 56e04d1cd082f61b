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

/// Kinds known to be cluster-scoped without asking the API server.
pub fn well_known_cluster_scoped(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        ("", "Namespace" | "Node" | "PersistentVolume")
            | (
                "rbac.authorization.k8s.io",
                "ClusterRole" | "ClusterRoleBinding"
            )
            | ("apiextensions.k8s.io", "CustomResourceDefinition")
            | ("storage.k8s.io", "StorageClass" | "CSIDriver")
            | (
                "admissionregistration.k8s.io",
                "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration"
            )
            | ("scheduling.k8s.io", "PriorityClass")
            | ("networking.k8s.io", "IngressClass")
            | ("apiregistration.k8s.io", "APIService")
    )
}

/// Every rendered object the project does not allow, as messages naming
/// the object. An object without a namespace of a kind not known to be
/// cluster-scoped counts as namespaced (it lands in the destination namespace).
pub fn forbidden_objects<'a>(
    project: &AppProjectSpec,
    project_name: &str,
    keys: impl IntoIterator<Item = &'a ObjectKey>,
) -> Vec<String> {
    keys.into_iter()
        .filter_map(|key| {
            let namespaced = !well_known_cluster_scoped(&key.group, &key.kind);
            (!kind_allowed(project, &key.group, &key.kind, namespaced)).then(|| {
                let scope = if namespaced {
                    "namespaced"
                } else {
                    "cluster-scoped"
                };
                format!("{scope} resource {key} is not permitted in project {project_name}")
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ObjectKey {
                group: "".into(),
                kind: "Namespace".into(),
                namespace: "".into(),
                name: "prod".into(),
            },
            ObjectKey {
                group: "apps".into(),
                kind: "Deployment".into(),
                namespace: "".into(),
                name: "web".into(),
            },
        ];
        let msgs = forbidden_objects(&p, "team", &keys);
        assert_eq!(msgs.len(), 1);
        assert!(
            msgs[0].contains("Namespace/prod") && msgs[0].contains("team"),
            "{msgs:?}"
        );
    }
}
