//! `postBuild` against the real control plane: variables read from a real
//! ConfigMap and Secret in the Kustomization's namespace, a missing optional
//! Secret tolerated, a missing required ConfigMap refused by name, the
//! opt-out annotation, `${var:=default}`, and Secret values kept out of
//! errors and log lines.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use driftless_api::flux::kustomize::{PostBuild, SubstituteReference, v1};
use driftless_controller::flux_build;
use driftless_controller::postbuild::{self, PostBuildError};
use driftless_render::Object;
use driftless_testkit::cluster::ControlPlane;
use serde_json::{Value, json};

const SECRET_VALUE: &str = "pa55-w0rd-never-printed";
/// A Secret value that breaks YAML where it is substituted.
const SECRET_TOKEN: &str = "tok3n-never-printed: [unclosed";

fn reference(kind: &str, name: &str, optional: bool) -> SubstituteReference {
    SubstituteReference {
        kind: kind.into(),
        name: name.into(),
        optional,
    }
}

fn object(value: Value) -> Object {
    Object::from_value(value).expect("an object")
}

fn rendered() -> Vec<Object> {
    vec![
        object(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"env": "${env}"}},
            "spec": {
                "replicas": "${replicas}",
                "template": {"spec": {"containers": [{
                    "name": "app", "image": "nginx",
                    "env": [
                        {"name": "REGION", "value": "${region}"},
                        {"name": "TIER", "value": "${tier:=backend}"},
                        {"name": "PASSWORD", "value": "${password}"}
                    ]
                }]}}
            }
        })),
        object(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {
                "name": "script",
                "annotations": {"kustomize.toolkit.fluxcd.io/substitute": "disabled"}
            },
            "data": {"run.sh": "echo ${env} ${replicas}"}
        })),
    ]
}

/// Creates the ConfigMap `vars` and the Secret `creds` in a fresh namespace.
async fn namespace_with_sources(cp: &ControlPlane) -> String {
    let ns = cp.namespace("postbuild").await;
    let manifests = format!(
        "apiVersion: v1
kind: ConfigMap
metadata:
  name: vars
  namespace: {ns}
data:
  env: from-configmap
  replicas: \"3\"
  region: eu-1
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: {ns}
stringData:
  env: from-secret
  password: {SECRET_VALUE}
  token: \"{SECRET_TOKEN}\"
"
    );
    cp.kubectl_stdin(&["apply", "-f", "-"], &manifests)
        .unwrap_or_else(|e| panic!("creating the variable sources: {e}"));
    ns
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_come_from_configmaps_secrets_and_inline_in_flux_order() {
    logs();
    let cp = ControlPlane::shared().await;
    let client = cp.client().await;
    let ns = namespace_with_sources(cp).await;
    let post_build = PostBuild {
        substitute: BTreeMap::from([("region".to_string(), "us-inline".to_string())]),
        substitute_from: vec![
            reference("ConfigMap", "vars", false),
            reference("Secret", "creds", false),
            reference("Secret", "does-not-exist", true),
        ],
    };
    let out = postbuild::apply(&client, &ns, Some(&post_build), rendered())
        .await
        .expect("substitutes");
    let web = out[0].clone().into_value();
    assert_eq!(
        web["spec"]["replicas"],
        json!(3),
        "a number after substitution"
    );
    assert_eq!(
        web["metadata"]["labels"]["env"], "from-secret",
        "the later Secret overrides the ConfigMap"
    );
    let env = &web["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(env[0]["value"], "us-inline", "inline substitute wins");
    assert_eq!(env[1]["value"], "backend", "the default applies");
    assert_eq!(env[2]["value"], SECRET_VALUE);
    let script = out[1].clone().into_value();
    assert_eq!(
        script["data"]["run.sh"], "echo ${env} ${replicas}",
        "the opt-out annotation leaves the object as rendered"
    );

    // Without postBuild, nothing is read or substituted.
    let untouched = postbuild::apply(&client, &ns, None, rendered())
        .await
        .expect("no postBuild");
    assert_eq!(untouched, rendered());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_required_source_is_an_error_naming_it() {
    logs();
    let cp = ControlPlane::shared().await;
    let client = cp.client().await;
    let ns = namespace_with_sources(cp).await;
    let post_build = PostBuild {
        substitute: BTreeMap::new(),
        substitute_from: vec![
            reference("Secret", "creds", false),
            reference("ConfigMap", "absent", false),
        ],
    };
    let err = postbuild::apply(&client, &ns, Some(&post_build), rendered())
        .await
        .expect_err("a required ConfigMap is missing");
    assert!(
        matches!(&err, PostBuildError::NotFound { kind, name, namespace }
            if kind == "ConfigMap" && name == "absent" && namespace == &ns),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("ConfigMap/absent") && text.contains(&ns),
        "{text}"
    );

    let wrong_kind = PostBuild {
        substitute: BTreeMap::new(),
        substitute_from: vec![reference("Bucket", "vars", false)],
    };
    let err = postbuild::load(&client, &ns, &wrong_kind)
        .await
        .expect_err("only ConfigMap and Secret")
        .to_string();
    assert!(
        err.contains("substituteFrom[0]") && err.contains("Bucket"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn common_metadata_comes_after_substitution() {
    logs();
    let cp = ControlPlane::shared().await;
    let client = cp.client().await;
    let ns = namespace_with_sources(cp).await;
    let spec: v1::KustomizationSpec = serde_json::from_value(json!({
        "interval": "1m", "prune": true,
        "sourceRef": {"kind": "GitRepository", "name": "repo"},
        "postBuild": {"substituteFrom": [{"kind": "ConfigMap", "name": "vars"}]},
        "commonMetadata": {
            "labels": {"team": "${env}"},
            "annotations": {"kustomize.toolkit.fluxcd.io/substitute": "disabled"}
        }
    }))
    .expect("a spec");
    let out = flux_build::after_render(&client, &ns, &spec, rendered())
        .await
        .expect("builds");
    let web = out[0].clone().into_value();
    assert_eq!(
        web["spec"]["replicas"],
        json!(3),
        "substituted despite the common annotation"
    );
    assert_eq!(web["metadata"]["labels"]["env"], "from-configmap");
    assert_eq!(
        web["metadata"]["labels"]["team"], "${env}",
        "common labels are not substituted"
    );
    assert_eq!(
        web["spec"]["template"]["metadata"],
        Value::Null,
        "common metadata stays out of templates"
    );
    for object in &out {
        assert_eq!(object.label("team"), Some("${env}"), "{}", object.key());
    }
}

/// A `MakeWriter` collecting every log line in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The log lines of every test in this binary, captured by one global
/// subscriber that each test installs before it runs any controller code. A
/// subscriber scoped to one test (`set_default`) missed lines when another
/// test's thread registered the same callsite first.
fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_max_level(tracing::Level::TRACE)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        logs
    })
}

#[tokio::test(flavor = "current_thread")]
async fn secret_values_are_never_in_errors_or_logs() {
    let logs = logs();
    let cp = ControlPlane::shared().await;
    let client = cp.client().await;
    let ns = namespace_with_sources(cp).await;

    let post_build = PostBuild {
        substitute: BTreeMap::new(),
        substitute_from: vec![reference("Secret", "creds", false)],
    };
    let vars = postbuild::load(&client, &ns, &post_build)
        .await
        .expect("reads the Secret");
    let debug = format!("{vars:?}");
    assert!(
        debug.contains("password") && !debug.contains(SECRET_VALUE),
        "{debug}"
    );
    // The token's value breaks this object's YAML once substituted.
    let broken = object(json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "broken"},
        "data": {"k": "${token}"}
    }));
    let err = vars
        .substitute(vec![broken])
        .expect_err("the substituted object is not YAML");
    let text = format!("{err} / {err:?}");
    assert!(
        text.contains("broken"),
        "the error names the object: {text}"
    );
    assert!(!text.contains("tok3n-never-printed"), "{text}");

    let logged = String::from_utf8(logs.0.lock().expect("log buffer").clone()).expect("UTF-8");
    assert!(logged.contains("postBuild variables read"), "{logged}");
    for value in [SECRET_VALUE, "tok3n-never-printed"] {
        assert!(!logged.contains(value), "{logged}");
    }
}
