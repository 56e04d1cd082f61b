//! What both contenders deploy: the flux-benchmark app shape (a Deployment
//! with replicas 0, a ServiceAccount, a Service and an Ingress per app), each
//! app in its own path of one repository, and the objects that point at it
//! (one GitRepository with N Kustomizations, or N Argo CD Applications).

use serde_json::{Value, json};

/// The namespace holding the GitRepository, Kustomizations and Applications.
pub(crate) const NAMESPACE: &str = "bench";
/// The namespace the apps are deployed into.
pub(crate) const DEST: &str = "bench-dest";
/// The GitRepository every Kustomization reads.
pub(crate) const GIT_REPOSITORY: &str = "bench";
/// The Secret with the Git server's basic-auth credentials.
pub(crate) const GIT_SECRET: &str = "bench-git-auth";
/// The Kustomizations' `spec.interval` (and so Flux's drift correction period).
pub(crate) const INTERVAL: &str = "10m";

/// The name of app `i`.
pub(crate) fn app(i: usize) -> String {
    format!("app-{i}")
}

/// The repository path of app `i`.
pub(crate) fn app_path(i: usize) -> String {
    format!("apps/{}", app(i))
}

/// The files of app `i`, its Deployment running `image`.
pub(crate) fn files(i: usize, image: &str) -> Vec<(String, String)> {
    let name = app(i);
    let dir = app_path(i);
    vec![
        (format!("{dir}/deployment.yaml"), deployment(&name, image)),
        (
            format!("{dir}/serviceaccount.yaml"),
            format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n"),
        ),
        (
            format!("{dir}/service.yaml"),
            format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  selector:\n    app: {name}\n  ports:\n  - port: 80\n"
            ),
        ),
        (
            format!("{dir}/ingress.yaml"),
            format!(
                "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\nspec:\n  rules:\n  - host: {name}.example.com\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend:\n          service:\n            name: {name}\n            port:\n              number: 80\n"
            ),
        ),
    ]
}

/// The Deployment file of app `name` running `image`.
pub(crate) fn deployment(name: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: 0\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      serviceAccountName: {name}\n      containers:\n      - name: web\n        image: {image}\n"
    )
}

/// The basic-auth Secret the GitRepository names.
pub(crate) fn git_secret(user: &str, password: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": { "name": GIT_SECRET, "namespace": NAMESPACE },
        "stringData": { "username": user, "password": password },
    })
}

/// The Argo CD repository Secret that gives the Applications the same
/// HTTP access as the GitRepository (`argocd.argoproj.io/secret-type:
/// repository`, in the controller's namespace).
pub(crate) fn repository_secret(url: &str, user: &str, password: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": GIT_SECRET,
            "namespace": NAMESPACE,
            "labels": { "argocd.argoproj.io/secret-type": "repository" },
        },
        "stringData": { "url": url, "username": user, "password": password },
    })
}

/// The one GitRepository (Flux's `source.toolkit.fluxcd.io/v1`).
pub(crate) fn git_repository(url: &str) -> Value {
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": { "name": GIT_REPOSITORY, "namespace": NAMESPACE },
        "spec": {
            "url": url,
            "interval": INTERVAL,
            "ref": { "branch": "main" },
            "secretRef": { "name": GIT_SECRET },
        },
    })
}

/// Kustomization `i` (`kustomize.toolkit.fluxcd.io/v1`), deploying its path.
pub(crate) fn kustomization(i: usize) -> Value {
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": { "name": app(i), "namespace": NAMESPACE },
        "spec": {
            "interval": INTERVAL,
            "path": format!("./{}", app_path(i)),
            "prune": true,
            "targetNamespace": DEST,
            "sourceRef": { "kind": "GitRepository", "name": GIT_REPOSITORY },
        },
    })
}

/// Application `i` (`argoproj.io/v1alpha1`), deploying its path of `url`.
pub(crate) fn application(i: usize, url: &str) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": { "name": app(i), "namespace": NAMESPACE },
        "spec": {
            "source": { "repoURL": url, "targetRevision": "main", "path": app_path(i) },
            "destination": { "server": "https://kubernetes.default.svc", "namespace": DEST },
            "syncPolicy": { "automated": { "prune": true, "selfHeal": true } },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_app_has_the_four_objects_in_its_own_path() {
        let files = files(7, "nginx:1.27");
        let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "apps/app-7/deployment.yaml",
                "apps/app-7/serviceaccount.yaml",
                "apps/app-7/service.yaml",
                "apps/app-7/ingress.yaml"
            ]
        );
        assert!(files[0].1.contains("replicas: 0") && files[0].1.contains("image: nginx:1.27"));
    }

    #[test]
    fn kustomization_and_application_point_at_the_same_path() {
        assert_eq!(kustomization(3)["spec"]["path"], "./apps/app-3");
        assert_eq!(
            application(3, "git://x")["spec"]["source"]["path"],
            "apps/app-3"
        );
    }
}
