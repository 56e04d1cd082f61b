//! App of Apps with three environments, shaped like the seed documents: a
//! Kustomize base, dev/staging/prod overlays, and a root Application whose
//! path holds one child Application per environment (sync waves 0, 1, 2).

mod common;

use std::time::Duration;

use common::{Harness, eventually};
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;

const BASE_KUSTOMIZATION: &str = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- deployment.yaml
- service.yaml
- configmap.yaml
commonLabels:
  app: my-app
  managed-by: kustomize
";

const BASE_DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-app
spec:
  replicas: 1
  selector:
    matchLabels:
      app: my-app
  template:
    metadata:
      labels:
        app: my-app
    spec:
      containers:
      - name: my-app
        image: my-registry/my-app:latest
        ports:
        - containerPort: 8080
        envFrom:
        - configMapRef:
            name: my-app-config
";

const BASE_SERVICE: &str = "apiVersion: v1
kind: Service
metadata:
  name: my-app
spec:
  selector:
    app: my-app
  ports:
  - port: 80
    targetPort: 8080
";

const BASE_CONFIGMAP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: my-app-config
data:
  LOG_LEVEL: info
";

fn overlay(namespace: &str, replicas: u32, tag: &str) -> (String, String) {
    let kustomization = format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: {namespace}
resources:
- ../../base
patches:
- path: patch-deployment.yaml
images:
- name: my-registry/my-app
  newTag: \"{tag}\"
"
    );
    let patch = format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-app
spec:
  replicas: {replicas}
"
    );
    (kustomization, patch)
}

fn child_app(name: &str, apps_ns: &str, repo: &str, env: &str, dest: &str, wave: u32) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: {apps_ns}
  annotations:
    argocd.argoproj.io/sync-wave: \"{wave}\"
  finalizers:
  - resources-finalizer.argocd.argoproj.io
spec:
  project: default
  source:
    repoURL: {repo}
    targetRevision: main
    path: k8s/overlays/{env}
  destination:
    server: https://kubernetes.default.svc
    namespace: {dest}
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
    - CreateNamespace=true
    - PrunePropagationPolicy=foreground
"
    )
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{:x}{:x}", std::process::id(), nanos)
}

async fn image_and_ready(h: &Harness, ns: &str) -> Option<(String, i32)> {
    let api: Api<Deployment> = Api::namespaced(h.client.clone(), ns);
    let d = api.get_opt("my-app").await.ok().flatten()?;
    let image = d
        .spec
        .as_ref()?
        .template
        .spec
        .as_ref()?
        .containers
        .first()?
        .image
        .clone()?;
    let ready = d.status.as_ref()?.available_replicas.unwrap_or(0);
    Some((image, ready))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn root_app_deploys_three_environments_and_a_push_moves_only_dev() {
    let h = Harness::start("aoa", Duration::from_secs(2)).await;
    let h = &h;
    let repo = h.git.create_repo("aoa/gitops");
    let url = h.git.git_url("aoa/gitops");
    repo.write("k8s/base/kustomization.yaml", BASE_KUSTOMIZATION);
    repo.write("k8s/base/deployment.yaml", BASE_DEPLOYMENT);
    repo.write("k8s/base/service.yaml", BASE_SERVICE);
    repo.write("k8s/base/configmap.yaml", BASE_CONFIGMAP);
    let envs = [
        ("dev", 1u32, "dev-latest"),
        ("staging", 2, "1.2.3-rc1"),
        ("prod", 3, "1.2.3"),
    ];
    let mut namespaces = Vec::new();
    for (wave, (env, replicas, tag)) in envs.iter().enumerate() {
        let ns = unique(&format!("aoa-{env}"));
        let (k, p) = overlay(&ns, *replicas, tag);
        repo.write(&format!("k8s/overlays/{env}/kustomization.yaml"), &k);
        repo.write(&format!("k8s/overlays/{env}/patch-deployment.yaml"), &p);
        repo.write(
            &format!("apps/{env}.yaml"),
            &child_app(
                &format!("my-app-{env}"),
                &h.apps_ns,
                &url,
                env,
                &ns,
                wave as u32,
            ),
        );
        namespaces.push(ns);
    }
    let first = repo.commit("three environments");
    h.apply(&format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: root-app
  namespace: {apps_ns}
spec:
  project: default
  source:
    repoURL: {url}
    targetRevision: main
    path: apps
  destination:
    server: https://kubernetes.default.svc
    namespace: {apps_ns}
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
",
        apps_ns = h.apps_ns
    ));

    let root = h.wait_synced_healthy("root-app", Some(&first)).await;
    let kinds: Vec<String> = root
        .status
        .unwrap_or_default()
        .resources
        .iter()
        .map(|r| format!("{}/{}", r.kind, r.name))
        .collect();
    assert_eq!(
        kinds,
        [
            "Application/my-app-dev",
            "Application/my-app-prod",
            "Application/my-app-staging"
        ]
    );
    for ((env, replicas, tag), ns) in envs.iter().zip(&namespaces) {
        h.wait_synced_healthy(&format!("my-app-{env}"), Some(&first))
            .await;
        let want = (format!("my-registry/my-app:{tag}"), *replicas as i32);
        eventually(&format!("{env}: {want:?}"), || {
            let want = want.clone();
            async move { (image_and_ready(h, ns).await? == want).then_some(()) }
        })
        .await;
    }
    // The environments were synced in wave order: dev before staging before prod.
    let deployed_at = |app: &driftless_api::Application| {
        app.status
            .as_ref()
            .and_then(|s| s.history.first())
            .and_then(|e| e.deployed_at.clone())
    };
    let mut times = Vec::new();
    for (env, _, _) in envs {
        times.push(deployed_at(
            &h.apps().get(&format!("my-app-{env}")).await.expect("get"),
        ));
    }
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    // An image-tag change to dev moves dev only.
    let (k, _) = overlay(&namespaces[0], 1, "dev-2");
    repo.write("k8s/overlays/dev/kustomization.yaml", &k);
    let second = repo.commit("dev: new image");
    h.wait_synced_healthy("my-app-dev", Some(&second)).await;
    eventually("dev to run the new image", || async {
        let (image, _) = image_and_ready(h, &namespaces[0]).await?;
        (image == "my-registry/my-app:dev-2").then_some(())
    })
    .await;
    for (i, (env, replicas, tag)) in envs.iter().enumerate().skip(1) {
        let got = image_and_ready(h, &namespaces[i]).await;
        assert_eq!(
            got,
            Some((format!("my-registry/my-app:{tag}"), *replicas as i32)),
            "{env} moved"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_application_that_manages_itself_is_reported() {
    let h = Harness::start("self", Duration::from_secs(2)).await;
    let repo = h.git.create_repo("self/gitops");
    let url = h.git.git_url("self/gitops");
    let manifest = format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: selfish
  namespace: {apps_ns}
spec:
  project: default
  source:
    repoURL: {url}
    targetRevision: main
    path: apps
  destination:
    server: https://kubernetes.default.svc
    namespace: {apps_ns}
  syncPolicy:
    automated:
      prune: true
",
        apps_ns = h.apps_ns
    );
    repo.write("apps/selfish.yaml", &manifest);
    repo.write(
        "apps/settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: selfish-settings\ndata:\n  a: b\n",
    );
    repo.commit("an app that renders itself");
    h.apply(&manifest);
    let app = h
        .wait_app("selfish", "reported as managing itself", |app| {
            app.status.as_ref().is_some_and(|s| {
                s.conditions.iter().any(|c| {
                    c.type_ == driftless_api::condition::CYCLIC_DEPENDENCY_ERROR
                        && c.message.contains("manages itself")
                })
            })
        })
        .await;
    // Its other resources are still deployed; its own manifest is left out.
    assert!(common::synced_healthy(&app), "{:?}", app.status);
    let generation = app.metadata.generation;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later = h.apps().get("selfish").await.expect("get");
    assert_eq!(
        later.metadata.generation, generation,
        "the app must not rewrite its own spec"
    );
}
