//! The web page's JSON API against the real control plane: who sees what
//! (TokenReview + SubjectAccessReview), redaction, Events, Kustomizations,
//! HelmReleases, buttons only with `patch`, and live updates over
//! server-sent events.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{EventStream, World};
use serde_json::{Value, json};

fn synced(resources: Value) -> Value {
    json!({"sync": {"status": "Synced", "revision": "89abcdef0123456789abcdef0123456789abcdef"},
           "health": {"status": "Healthy"}, "resources": resources})
}

fn names(items: &Value) -> Vec<String> {
    let mut names: Vec<String> = items
        .as_array()
        .expect("an array of items")
        .iter()
        .map(|i| i["name"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    names
}

const VIEW_WEB_AND_API: &str = "[{apiGroups: [argoproj.io], resources: [applications], verbs: [get], resourceNames: [web, api]}]";
const OPERATE_ALL: &str =
    "[{apiGroups: [argoproj.io], resources: [applications], verbs: [get, patch]}]";

#[tokio::test(flavor = "multi_thread")]
async fn rbac_decides_what_each_token_sees_and_may_do() {
    let mut w = World::new("ui-rbac").await;
    w.application("web", &synced(json!([])));
    w.application(
        "api",
        &json!({"sync": {"status": "OutOfSync"}, "health": {"status": "Degraded"}}),
    );
    w.application("batch", &synced(json!([])));
    let viewer = w.account("viewer", VIEW_WEB_AND_API);
    let nobody = w.account("nobody", "[]");
    let operator = w.account("operator", OPERATE_ALL);
    let metrics: driftless_ui::MetricsSource =
        Arc::new(|| "driftless_reconciles_total{result=\"ok\"} 5\n".to_string());
    w.serve(true, Some(metrics)).await;
    let ns = w.ns.clone();

    for path in [
        "/api/v1/applications",
        "/api/v1/overview",
        "/api/v1/stream",
        "/api/v1/health",
    ] {
        let (status, body) = w.get(path, None).await;
        assert_eq!(status, 401, "{path} without a token: {body}");
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("bearer token")),
            "{body}"
        );
    }
    let (status, _) = w
        .get(&format!("/api/v1/applications/{ns}/web/tree"), None)
        .await;
    assert_eq!(status, 401);
    let (status, body) = w.get("/api/v1/applications", Some("not-a-token")).await;
    assert_eq!(status, 401, "{body}");

    // No RBAC: nothing listed, nothing readable.
    let (status, body) = w.get("/api/v1/applications", Some(&nobody)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(&body["items"]), Vec::<String>::new());
    let (status, body) = w
        .get(
            &format!("/api/v1/applications/{ns}/web/tree"),
            Some(&nobody),
        )
        .await;
    assert_eq!(status, 403, "{body}");

    // get on web and api only: exactly those, no buttons.
    let (status, body) = w.get("/api/v1/applications", Some(&viewer)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(&body["items"]), ["api", "web"]);
    let api = body["items"]
        .as_array()
        .and_then(|i| i.iter().find(|a| a["name"] == "api"))
        .expect("api");
    assert_eq!(api["sync"], "OutOfSync");
    assert_eq!(api["health"], "Degraded");
    assert!(
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|a| a["canPatch"] == false)
    );
    let (status, _) = w
        .get(
            &format!("/api/v1/applications/{ns}/batch/tree"),
            Some(&viewer),
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = w
        .get(
            &format!("/api/v1/applications/{ns}/web/history"),
            Some(&viewer),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = w
        .post(
            &format!("/api/v1/applications/{ns}/web/refresh"),
            Some(&viewer),
        )
        .await;
    assert_eq!(status, 403, "{body}");

    // get and patch on all: everything, with buttons that work.
    let (status, body) = w.get("/api/v1/overview", Some(&operator)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(&body["applications"]), ["api", "batch", "web"]);
    assert!(
        body["applications"]
            .as_array()
            .expect("apps")
            .iter()
            .all(|a| a["canPatch"] == true)
    );
    assert_eq!(body["counts"]["sync"]["Synced"], 2);
    let (status, body) = w
        .post(
            &format!("/api/v1/applications/{ns}/web/refresh"),
            Some(&operator),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let refresh = w.kubectl(&[
        "get",
        "application",
        "web",
        "-n",
        &ns,
        "-o",
        "jsonpath={.metadata.annotations.argocd\\.argoproj\\.io/refresh}",
    ]);
    assert_eq!(refresh, "normal");
    let (status, body) = w
        .post(
            &format!("/api/v1/applications/{ns}/batch/sync"),
            Some(&operator),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let by = w.kubectl(&[
        "get",
        "application",
        "batch",
        "-n",
        &ns,
        "-o",
        "jsonpath={.operation.initiatedBy.username}",
    ]);
    assert_eq!(by, format!("system:serviceaccount:{ns}:operator"));

    let (status, body) = w.get("/api/v1/health", Some(&viewer)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["controller"]["reconciles"]["ok"], 5.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_server_has_no_buttons_even_with_patch() {
    let mut w = World::new("ui-readonly").await;
    w.application("web", &synced(json!([])));
    let operator = w.account("operator", OPERATE_ALL);
    w.serve(false, None).await;
    let (status, body) = w.get("/api/v1/applications", Some(&operator)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"][0]["canPatch"], false);
    let (status, body) = w
        .post(
            &format!("/api/v1/applications/{}/web/sync", w.ns),
            Some(&operator),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("read-only")),
        "{body}"
    );
    let operation = w.kubectl(&[
        "get",
        "application",
        "web",
        "-n",
        &w.ns,
        "-o",
        "jsonpath={.operation}",
    ]);
    assert_eq!(operation, "");
}

#[tokio::test(flavor = "multi_thread")]
async fn manifests_redact_secret_values_and_events_are_shown() {
    let mut w = World::new("ui-redact").await;
    let ns = w.ns.clone();
    w.apply(
        "apiVersion: v1
kind: Secret
metadata: {name: db-credentials}
stringData: {password: hunter2-plaintext}
---
apiVersion: v1
kind: Secret
metadata: {name: unrelated}
stringData: {token: not-managed-by-web}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: blue-green}
",
    );
    let resource = |kind: &str, name: &str| json!({"group": "", "version": "v1", "kind": kind, "namespace": ns, "name": name, "status": "Synced"});
    w.application(
        "web",
        &synced(json!([
            resource("Secret", "db-credentials"),
            resource("ConfigMap", "settings")
        ])),
    );
    w.apply(&format!(
        "apiVersion: v1
kind: Event
metadata: {{name: web.sync-1}}
involvedObject: {{apiVersion: argoproj.io/v1alpha1, kind: Application, name: web, namespace: {ns}}}
reason: OperationCompleted
message: Sync operation to 89abcdef succeeded
type: Normal
firstTimestamp: '2026-01-01T00:00:00Z'
lastTimestamp: '2026-01-01T00:00:00Z'
count: 1
source: {{component: driftless-controller}}
"
    ));
    let viewer = w.account("viewer", VIEW_WEB_AND_API);
    w.serve(false, None).await;
    let base = format!("/api/v1/applications/{ns}/web");

    let (status, secret) = w
        .get(
            &format!(
                "{base}/manifest?group=&version=v1&kind=Secret&namespace={ns}&name=db-credentials"
            ),
            Some(&viewer),
        )
        .await;
    assert_eq!(status, 200, "{secret}");
    assert_eq!(secret["metadata"]["name"], "db-credentials");
    assert_eq!(secret["data"]["password"], "<redacted>");
    let text = secret.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains("aHVudGVyMi1wbGFpbnRleHQ"), "{text}"); // base64 of the value
    assert!(secret["metadata"].get("managedFields").is_none());

    let (status, config) = w
        .get(
            &format!("{base}/manifest?version=v1&kind=ConfigMap&namespace={ns}&name=settings"),
            Some(&viewer),
        )
        .await;
    assert_eq!(status, 200, "{config}");
    assert_eq!(config["data"]["mode"], "blue-green");

    // Only objects the Application lists can be read through it.
    let (status, body) = w
        .get(
            &format!("{base}/manifest?version=v1&kind=Secret&namespace={ns}&name=unrelated"),
            Some(&viewer),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.to_string().contains("not-managed-by-web"));

    let (status, events) = w.get(&format!("{base}/events"), Some(&viewer)).await;
    assert_eq!(status, 200, "{events}");
    let messages: Vec<&str> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert_eq!(messages, ["Sync operation to 89abcdef succeeded"]);

    let (status, tree) = w.get(&format!("{base}/tree"), Some(&viewer)).await;
    assert_eq!(status, 200, "{tree}");
    assert_eq!(names(&tree["children"]), ["db-credentials", "settings"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn kustomizations_are_listed_with_rbac_and_drawn_with_dependencies() {
    let mut w = World::new("ui-flux").await;
    let condition = |status: &str, reason: &str| {
        json!({"conditions": [{"type": "Ready", "status": status, "reason": reason, "message": format!("{reason} here"),
                               "lastTransitionTime": "2026-01-01T00:00:00Z"}],
               "lastAppliedRevision": "main@sha1:0123456789abcdef0123456789abcdef01234567",
               "inventory": {"entries": [{"id": format!("{}_web_apps_Deployment", "team"), "v": "v1"}]}})
    };
    for (name, deps) in [
        ("infra", "[]"),
        ("apps", "[{name: infra}]"),
        ("secret-team", "[]"),
    ] {
        w.apply(&format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: {name}}}
spec: {{interval: 5m, prune: true, path: ./{name}, sourceRef: {{kind: GitRepository, name: repo}}, dependsOn: {deps}}}
"
        ));
    }
    w.set_status(
        "kustomization",
        "infra",
        &condition("False", "HealthCheckFailed"),
    );
    w.set_status(
        "kustomization",
        "apps",
        &condition("True", "ReconciliationSucceeded"),
    );
    for name in ["podinfo", "hidden-chart"] {
        w.apply(&format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {{name: {name}}}
spec: {{interval: 5m, chart: {{spec: {{chart: {name}, sourceRef: {{kind: HelmRepository, name: charts}}}}}}, dependsOn: [{{name: infra}}]}}
"
        ));
    }
    w.set_status(
        "helmrelease",
        "podinfo",
        &condition("False", "InstallFailed"),
    );
    let reader = w.account(
        "reader",
        "[{apiGroups: [kustomize.toolkit.fluxcd.io], resources: [kustomizations], verbs: [get], resourceNames: [infra, apps]}, \
          {apiGroups: [helm.toolkit.fluxcd.io], resources: [helmreleases], verbs: [get], resourceNames: [podinfo]}]",
    );
    w.serve(false, None).await;
    let (status, body) = w.get("/api/v1/kustomizations", Some(&reader)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(&body["items"]), ["apps", "infra"]);
    let infra = body["items"]
        .as_array()
        .and_then(|i| i.iter().find(|k| k["name"] == "infra"))
        .expect("infra");
    assert_eq!(infra["ready"], "False");
    assert_eq!(infra["reason"], "HealthCheckFailed");
    // HelmReleases: only those RBAC lets the caller get, in both the list
    // and the overview.
    let (status, body) = w.get("/api/v1/helmreleases", Some(&reader)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(&body["items"]), ["podinfo"]);
    let podinfo = &body["items"][0];
    assert_eq!(podinfo["ready"], "False");
    assert_eq!(podinfo["chart"], "podinfo");
    assert_eq!(podinfo["dependsOn"], json!([format!("{}/infra", w.ns)]));
    let (_, overview) = w.get("/api/v1/overview", Some(&reader)).await;
    assert_eq!(names(&overview["helmReleases"]), ["podinfo"]);
    assert_eq!(overview["counts"]["helmReady"], json!({"False": 1}));
    let (_, health) = w.get("/api/v1/health", Some(&reader)).await;
    let failing: Vec<&str> = health["lastErrors"]
        .as_array()
        .expect("lastErrors")
        .iter()
        .filter_map(|e| e["object"].as_str())
        .collect();
    assert_eq!(
        failing,
        [
            format!("HelmRelease {}/podinfo", w.ns),
            format!("Kustomization {}/infra", w.ns)
        ],
        "{health}"
    );

    let (status, tree) = w
        .get(
            &format!("/api/v1/kustomizations/{}/apps/tree", w.ns),
            Some(&reader),
        )
        .await;
    assert_eq!(status, 200, "{tree}");
    assert_eq!(tree["sync"], "True");
    assert_eq!(tree["children"][0]["edge"], "dependsOn");
    assert_eq!(tree["children"][0]["name"], "infra");
    assert_eq!(tree["children"][0]["sync"], "False");
    assert_eq!(tree["children"][1]["kind"], "Deployment");
    assert_eq!(tree["children"][1]["namespace"], "team");
    let (status, _) = w
        .get(
            &format!("/api/v1/kustomizations/{}/secret-team/tree", w.ns),
            Some(&reader),
        )
        .await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn live_updates_follow_status_changes_without_leaking() {
    let mut w = World::new("ui-live").await;
    w.application("web", &synced(json!([])));
    w.application("hidden", &synced(json!([])));
    let viewer = w.account("viewer", VIEW_WEB_AND_API);
    w.serve(false, None).await;
    let mut stream = EventStream::open(w.addr, &viewer).await;
    let first = stream
        .next_overview(Duration::from_secs(30))
        .await
        .expect("a first overview");
    assert_eq!(names(&first["applications"]), ["web"]);
    assert_eq!(first["applications"][0]["sync"], "Synced");

    // A change the viewer may not see sends nothing new...
    w.set_status(
        "application",
        "hidden",
        &json!({"sync": {"status": "OutOfSync"}}),
    );
    // ...and one it may see arrives without asking.
    w.set_status(
        "application",
        "web",
        &json!({"sync": {"status": "OutOfSync"}, "health": {"status": "Progressing"}}),
    );
    let next = stream
        .next_overview(Duration::from_secs(60))
        .await
        .expect("an update after the status change");
    assert!(!next.to_string().contains("hidden"), "{next}");
    assert_eq!(next["applications"][0]["name"], "web");
    assert_eq!(next["applications"][0]["sync"], "OutOfSync");
    assert_eq!(next["applications"][0]["health"], "Progressing");
}

/// The diff and commit endpoints follow the same rules as the rest: a
/// token, RBAC `get` on the Application, a well-formed SHA; a server
/// without Git access says so (501), and a repository that cannot be
/// reached is named in a 502. (Real diffs and messages: `browser_git.rs`.)
#[tokio::test(flavor = "multi_thread")]
async fn diff_and_commit_endpoints_follow_rbac() {
    let mut w = World::new("ui-gitapi").await;
    w.application("web", &synced(json!([])));
    let viewer = w.account("viewer", VIEW_WEB_AND_API);
    let nobody = w.account("nobody", "[]");
    let ns = w.ns.clone();
    let diff = format!("/api/v1/applications/{ns}/web/diff");
    let commit = format!("/api/v1/applications/{ns}/web/revisions/89abcdef");

    w.serve(false, None).await;
    for path in [&diff, &commit] {
        let (status, body) = w.get(path, Some(&viewer)).await;
        assert_eq!(status, 501, "{path} without Git access: {body}");
    }

    let cache = tempfile::tempdir().expect("temp dir");
    let previewer =
        driftless_controller::preview::Previewer::new(w.cp.client().await, cache.path(), &ns, None)
            .expect("a previewer");
    w.previewer = Some(Arc::new(previewer));
    w.serve(false, None).await;
    for path in [&diff, &commit] {
        let (status, body) = w.get(path, None).await;
        assert_eq!(status, 401, "{path} without a token: {body}");
        let (status, body) = w.get(path, Some(&nobody)).await;
        assert_eq!(status, 403, "{path} without RBAC: {body}");
        let (status, body) = w.get(path, Some(&viewer)).await;
        assert_eq!(status, 502, "{path}: the repository is unreachable: {body}");
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("git.example.invalid")),
            "names the repository: {body}"
        );
    }
    let (status, body) = w
        .get(
            &format!("/api/v1/applications/{ns}/web/revisions/not-a-sha"),
            Some(&viewer),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}
