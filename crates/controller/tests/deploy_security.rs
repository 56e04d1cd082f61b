//! The shipped install (`deploy/`, every file its kustomization lists but
//! the CRDs) checked for what issue 18 asks of the deployed controller:
//!
//! * every container runs as non-root with a read-only root filesystem, no
//!   privilege escalation, every capability dropped and none added, not
//!   privileged, with no host namespaces or hostPath volumes;
//! * no RBAC rule grants the `*` verb, and `*` resources (or groups) appear
//!   only in `driftless-manage`, the documented "what it may deploy" role;
//! * Secrets, in the controller's own roles (`rbac.yaml`): cluster-wide
//!   only `get` (a GitRepository's secretRef, a Kustomization's
//!   substituteFrom, as documented there); `list` and `watch` only through
//!   Roles in `driftless` and `argocd`; never a write. (The documented
//!   `driftless-manage` wildcard, which lets it deploy any kind, Secrets
//!   included, is the one exception; `manage-rbac.yaml` says how to narrow
//!   it.)
//! * impersonation is limited to ServiceAccounts and groups (no users).

use std::path::{Path, PathBuf};

use serde_json::Value;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// The objects of every local file `deploy/kustomization.yaml` lists, as
/// (file, object).
fn deploy_objects() -> Vec<(String, Value)> {
    let dir = deploy_dir();
    let kustomization = read(&dir.join("kustomization.yaml"));
    let kustomization: Value = serde_saphyr::from_str(&kustomization)
        .unwrap_or_else(|e| panic!("deploy/kustomization.yaml: {e}"));
    let files: Vec<String> = strings(&kustomization["resources"]);
    assert!(
        files.iter().any(|f| f == "deployment.yaml"),
        "the kustomization lists the Deployment: {files:?}"
    );
    let mut objects = Vec::new();
    for file in files.iter().filter(|f| !f.starts_with("..")) {
        let text = read(&dir.join(file));
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("deploy/{file}: {e}"));
        objects.extend(
            docs.into_iter()
                .filter(|d| d.is_object())
                .map(|d| (file.clone(), d)),
        );
    }
    objects
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn kind_of(obj: &Value) -> &str {
    obj["kind"].as_str().unwrap_or_default()
}

fn name_of(obj: &Value) -> String {
    let meta = &obj["metadata"];
    let ns = meta["namespace"].as_str().map(|n| format!("{n}/"));
    format!(
        "{} {}{}",
        kind_of(obj),
        ns.unwrap_or_default(),
        meta["name"].as_str().unwrap_or("?")
    )
}

/// What is wrong with one container's security context (merged over the
/// pod's, as the kubelet does for runAsNonRoot/runAsUser).
fn container_problems(pod: &Value, container: &Value) -> Vec<String> {
    let sc = &container["securityContext"];
    let pod_sc = &pod["securityContext"];
    let pick = |field: &str| {
        if sc[field].is_null() {
            pod_sc[field].clone()
        } else {
            sc[field].clone()
        }
    };
    let mut problems = Vec::new();
    if pick("runAsNonRoot") != Value::Bool(true) {
        problems.push("runAsNonRoot is not true".to_string());
    }
    if pick("runAsUser").as_i64() == Some(0) {
        problems.push("runAsUser is 0".to_string());
    }
    if sc["readOnlyRootFilesystem"] != Value::Bool(true) {
        problems.push("readOnlyRootFilesystem is not true".to_string());
    }
    if sc["allowPrivilegeEscalation"] != Value::Bool(false) {
        problems.push("allowPrivilegeEscalation is not false".to_string());
    }
    if sc["privileged"] == Value::Bool(true) {
        problems.push("privileged".to_string());
    }
    if !strings(&sc["capabilities"]["drop"]).contains(&"ALL".to_string()) {
        problems.push("capabilities.drop lacks ALL".to_string());
    }
    if !strings(&sc["capabilities"]["add"]).is_empty() {
        problems.push("capabilities are added".to_string());
    }
    problems
}

/// What is wrong with a pod template: its containers, host access, volumes.
fn pod_problems(pod: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for host in ["hostNetwork", "hostPID", "hostIPC"] {
        if pod[host] == Value::Bool(true) {
            problems.push(format!("{host} is on"));
        }
    }
    for volume in pod["volumes"].as_array().into_iter().flatten() {
        if !volume["hostPath"].is_null() {
            problems.push(format!("volume {} is a hostPath", volume["name"]));
        }
    }
    let containers = pod["containers"].as_array().into_iter().flatten();
    let init = pod["initContainers"].as_array().into_iter().flatten();
    for c in containers.chain(init) {
        for p in container_problems(pod, c) {
            problems.push(format!("container {}: {p}", c["name"]));
        }
    }
    problems
}

#[test]
fn every_deployed_container_is_non_root_read_only_and_unprivileged() {
    let objects = deploy_objects();
    let workloads: Vec<&(String, Value)> = objects
        .iter()
        .filter(|(_, o)| !o["spec"]["template"]["spec"].is_null())
        .collect();
    assert!(!workloads.is_empty(), "deploy/ has a workload");
    let mut problems = Vec::new();
    for (file, obj) in workloads {
        let pod = &obj["spec"]["template"]["spec"];
        assert!(
            pod["containers"].as_array().is_some_and(|c| !c.is_empty()),
            "{file}: {} has containers",
            name_of(obj)
        );
        for p in pod_problems(pod) {
            problems.push(format!("{file}: {}: {p}", name_of(obj)));
        }
    }
    assert_eq!(problems, Vec::<String>::new());
}

/// Every rule of every Role and ClusterRole: (file, role, namespace, rule).
fn rules(objects: &[(String, Value)]) -> Vec<(String, String, Option<String>, Value)> {
    objects
        .iter()
        .filter(|(_, o)| matches!(kind_of(o), "Role" | "ClusterRole"))
        .flat_map(|(file, o)| {
            let ns = o["metadata"]["namespace"].as_str().map(str::to_string);
            let role = name_of(o);
            o["rules"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |r| (file.clone(), role.clone(), ns.clone(), r))
        })
        .collect()
}

/// The documented role that may deploy every kind (`manage-rbac.yaml`).
const MANAGE_ROLE: &str = "ClusterRole driftless-manage";

#[test]
fn rbac_has_no_wildcard_verbs_and_wildcard_resources_only_where_documented() {
    let objects = deploy_objects();
    let rules = rules(&objects);
    assert!(rules.len() > 5, "deploy/ has the controller's RBAC");
    let mut problems = Vec::new();
    for (file, role, _, rule) in &rules {
        let verbs = strings(&rule["verbs"]);
        let wide = strings(&rule["resources"]).contains(&"*".to_string())
            || strings(&rule["apiGroups"]).contains(&"*".to_string());
        if verbs.iter().any(|v| v == "*") {
            problems.push(format!("{file}: {role}: the verb '*'"));
        }
        for v in ["escalate", "bind"] {
            if verbs.iter().any(|x| x == v) {
                problems.push(format!("{file}: {role}: the verb {v}"));
            }
        }
        if wide && role != MANAGE_ROLE {
            problems.push(format!("{file}: {role}: '*' resources or groups"));
        }
    }
    assert_eq!(problems, Vec::<String>::new());
    let documented = read(&deploy_dir().join("manage-rbac.yaml"));
    assert!(
        documented.contains("every kind") && documented.contains("To narrow it"),
        "manage-rbac.yaml documents what its wildcard grants and how to narrow it"
    );
}

/// Whether `rule` covers core Secrets by name (not through `*`).
fn names_secrets(rule: &Value) -> bool {
    strings(&rule["apiGroups"]).contains(&String::new())
        && strings(&rule["resources"]).contains(&"secrets".to_string())
}

#[test]
fn secrets_are_read_cluster_wide_only_by_name_and_listed_only_in_its_namespaces() {
    let objects = deploy_objects();
    let mut problems = Vec::new();
    let mut listed_in = Vec::new();
    for (file, role, ns, rule) in rules(&objects).iter().filter(|r| names_secrets(&r.3)) {
        let verbs = strings(&rule["verbs"]);
        let writes: Vec<&String> = verbs
            .iter()
            .filter(|v| !matches!(v.as_str(), "get" | "list" | "watch"))
            .collect();
        if !writes.is_empty() {
            problems.push(format!("{file}: {role}: Secrets {writes:?}"));
        }
        let lists = verbs.iter().any(|v| v == "list" || v == "watch");
        match ns {
            None if lists => problems.push(format!("{file}: {role}: lists Secrets cluster-wide")),
            Some(ns) if lists => listed_in.push(ns.clone()),
            _ => {}
        }
    }
    assert_eq!(problems, Vec::<String>::new());
    listed_in.sort();
    assert_eq!(listed_in, ["argocd", "driftless"], "as rbac.yaml documents");
}

#[test]
fn impersonation_is_limited_to_service_accounts_and_groups() {
    let objects = deploy_objects();
    let impersonating: Vec<Vec<String>> = rules(&objects)
        .iter()
        .filter(|(_, role, _, _)| role != MANAGE_ROLE)
        .filter(|(_, _, _, r)| strings(&r["verbs"]).iter().any(|v| v == "impersonate"))
        .map(|(_, _, _, r)| strings(&r["resources"]))
        .collect();
    assert_eq!(impersonating, [vec!["serviceaccounts", "groups"]]);
}
