//! Argo CD's build environment: `$ARGOCD_APP_NAME` and its siblings,
//! substituted into an Application source's fields exactly where Argo CD's
//! repo-server substitutes them (`newEnv` + `Env.Envsubst`):
//!
//! - Jsonnet `directory.jsonnet.extVars` and `tlas` values (code or not);
//! - Helm `parameters` values, `fileParameters` paths and `valueFiles`;
//! - Kustomize `images` and `commonLabels` values (and `commonAnnotations`
//!   values only with `commonAnnotationsEnvsubst`, which this API does not
//!   have yet, so never).
//!
//! The variables are `ARGOCD_APP_NAME` (the instance name: `<ns>_<name>`
//! outside the control-plane namespace), `ARGOCD_APP_NAMESPACE` (the
//! destination namespace), `ARGOCD_APP_PROJECT_NAME`, `ARGOCD_APP_REVISION`
//! (the resolved commit or chart version), `ARGOCD_APP_REVISION_SHORT` (7
//! characters), `ARGOCD_APP_REVISION_SHORT_8`, `ARGOCD_APP_SOURCE_REPO_URL`,
//! `ARGOCD_APP_SOURCE_PATH` and `ARGOCD_APP_SOURCE_TARGET_REVISION`. Argo CD
//! gives `KUBE_VERSION` and `KUBE_API_VERSIONS` to config management
//! plugins only, so here, as there, they expand to nothing. An unknown
//! variable expands to nothing and `$$` is a `$` (Go's `os.Expand`).
//!
//! The substituted source is what is rendered and fingerprinted, so the
//! render cache never serves one Application's expansion to another.

use driftless_api::{Application, ApplicationSource};

use crate::context::Context;

/// `source` of `app` with Argo CD's build environment of rendering it at
/// `revision` substituted (see [`BuildEnv::substitute`]).
pub(crate) fn substituted(
    app: &Application,
    ctx: &Context,
    source: &ApplicationSource,
    revision: &str,
) -> ApplicationSource {
    substituted_in(app, &ctx.config.control_plane_namespace, source, revision)
}

/// [`substituted`] with the control-plane namespace given (the preview has
/// no controller context).
pub(crate) fn substituted_in(
    app: &Application,
    control_namespace: &str,
    source: &ApplicationSource,
    revision: &str,
) -> ApplicationSource {
    BuildEnv::new(app, control_namespace, source, revision).substitute(source)
}

/// The variables of one render.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BuildEnv {
    vars: Vec<(&'static str, String)>,
    /// The app's `ref:` names, as `$name`: a value file under one of them is
    /// substituted only after that prefix (Argo CD resolves the reference
    /// first).
    refs: Vec<String>,
}

impl BuildEnv {
    /// The environment of rendering `source` of `app` at `revision`.
    pub(crate) fn new(
        app: &Application,
        control_namespace: &str,
        source: &ApplicationSource,
        revision: &str,
    ) -> BuildEnv {
        let short = |n: usize| revision.chars().take(n).collect::<String>();
        let spec = &app.spec.spec;
        BuildEnv {
            vars: vec![
                (
                    "ARGOCD_APP_NAME",
                    crate::reconcile::tracking_name(app, control_namespace),
                ),
                (
                    "ARGOCD_APP_NAMESPACE",
                    spec.destination.namespace.clone().unwrap_or_default(),
                ),
                ("ARGOCD_APP_PROJECT_NAME", spec.project.clone()),
                ("ARGOCD_APP_REVISION", revision.to_string()),
                ("ARGOCD_APP_REVISION_SHORT", short(7)),
                ("ARGOCD_APP_REVISION_SHORT_8", short(8)),
                ("ARGOCD_APP_SOURCE_REPO_URL", source.repo_url.clone()),
                ("ARGOCD_APP_SOURCE_PATH", source.path().to_string()),
                (
                    "ARGOCD_APP_SOURCE_TARGET_REVISION",
                    source.revision().to_string(),
                ),
            ],
            refs: spec
                .sources
                .iter()
                .filter_map(|s| s.ref_.as_deref())
                .map(|r| format!("${r}"))
                .collect(),
        }
    }

    fn value(&self, name: &str) -> &str {
        if name == "$" {
            return "$";
        }
        self.vars
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// `text` with `$NAME` and `${NAME}` replaced, as Go's `os.Expand`.
    pub(crate) fn envsubst(&self, text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let (mut i, mut j) = (0, 0);
        while j < bytes.len() {
            if bytes[j] == b'$' && j + 1 < bytes.len() {
                out.push_str(&text[i..j]);
                let (name, width) = shell_name(&text[j + 1..]);
                match name {
                    Some(name) if !name.is_empty() => out.push_str(self.value(name)),
                    // `$` followed by no name: kept.
                    Some(_) if width == 0 => out.push('$'),
                    // Bad syntax (`${`, `${}`): eaten.
                    _ => {}
                }
                j += width;
                i = j + 1;
            }
            j += 1;
        }
        out.push_str(&text[i.min(text.len())..]);
        out
    }

    /// A value file with the variables substituted; `$ref/path` keeps its
    /// reference and has only `path` substituted.
    fn value_file(&self, file: &str) -> String {
        match file.split_once('/') {
            Some((head, rest)) if self.refs.iter().any(|r| r == head) => {
                format!("{head}/{}", self.envsubst(rest))
            }
            _ => self.envsubst(file),
        }
    }

    /// `source` with the variables substituted where Argo CD substitutes them.
    pub(crate) fn substitute(&self, source: &ApplicationSource) -> ApplicationSource {
        let mut source = source.clone();
        if let Some(jsonnet) = source.directory.as_mut().and_then(|d| d.jsonnet.as_mut()) {
            for var in jsonnet.ext_vars.iter_mut().chain(jsonnet.tlas.iter_mut()) {
                var.value = self.envsubst(&var.value);
            }
        }
        if let Some(helm) = source.helm.as_mut() {
            for p in &mut helm.parameters {
                p.value = self.envsubst(&p.value);
            }
            for p in &mut helm.file_parameters {
                p.path = self.envsubst(&p.path);
            }
            for file in &mut helm.value_files {
                *file = self.value_file(file);
            }
        }
        if let Some(kustomize) = source.kustomize.as_mut() {
            for image in &mut kustomize.images {
                *image = self.envsubst(image);
            }
            for value in kustomize.common_labels.values_mut() {
                *value = self.envsubst(value);
            }
        }
        source
    }
}

fn is_special(c: u8) -> bool {
    matches!(
        c,
        b'*' | b'#' | b'$' | b'@' | b'!' | b'?' | b'-' | b'0'..=b'9'
    )
}

/// The variable name at the start of `s` (after a `$`) and how many bytes
/// it spans: `Some("")` with width 0 when there is no name, `None` for bad
/// syntax (Go's `getShellName`).
fn shell_name(s: &str) -> (Option<&str>, usize) {
    let b = s.as_bytes();
    if b[0] == b'{' {
        if b.len() > 2 && is_special(b[1]) && b[2] == b'}' {
            return (Some(&s[1..2]), 3);
        }
        return match s[1..].find('}') {
            Some(0) => (None, 2),
            Some(end) => (Some(&s[1..=end]), end + 2),
            None => (None, 1),
        };
    }
    if is_special(b[0]) {
        return (Some(&s[..1]), 1);
    }
    let end = b
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
        .unwrap_or(b.len());
    (Some(&s[..end]), end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn app(ns: &str) -> Application {
        serde_json::from_value(json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "web", "namespace": ns},
            "spec": {"project": "team", "destination": {"namespace": "shop"},
                "source": {"repoURL": "https://git.example/r.git", "path": "apps/web", "targetRevision": "main"}}
        }))
        .unwrap()
    }

    fn env(ns: &str) -> BuildEnv {
        let a = app(ns);
        let source = a.spec.spec.source.clone().unwrap();
        BuildEnv::new(
            &a,
            "argocd",
            &source,
            "f913b6cbf58aa5ae5ca1f8a2b149477aebcbd9d8",
        )
    }

    #[test]
    fn every_variable_expands_as_argo_cd_sets_it() {
        let e = env("argocd");
        let text = "$ARGOCD_APP_NAME ${ARGOCD_APP_NAMESPACE} $ARGOCD_APP_PROJECT_NAME \
                    $ARGOCD_APP_REVISION $ARGOCD_APP_REVISION_SHORT $ARGOCD_APP_REVISION_SHORT_8 \
                    $ARGOCD_APP_SOURCE_REPO_URL $ARGOCD_APP_SOURCE_PATH $ARGOCD_APP_SOURCE_TARGET_REVISION";
        assert_eq!(
            e.envsubst(text),
            "web shop team f913b6cbf58aa5ae5ca1f8a2b149477aebcbd9d8 f913b6c f913b6cb \
             https://git.example/r.git apps/web main"
        );
        assert_eq!(env("team-a").envsubst("$ARGOCD_APP_NAME"), "team-a_web");
    }

    #[test]
    fn expansion_follows_go_os_expand() {
        let e = env("argocd");
        for (input, want) in [
            ("", ""),
            ("plain", "plain"),
            ("$$ARGOCD_APP_NAME", "$ARGOCD_APP_NAME"),
            ("a$", "a$"),
            ("$UNKNOWN-x", "-x"),
            ("$KUBE_VERSION", ""),
            ("${ARGOCD_APP_NAME", "ARGOCD_APP_NAME"),
            ("x${}y", "xy"),
            ("$1$@z", "z"),
            ("v-$ARGOCD_APP_REVISION_SHORT.tgz", "v-f913b6c.tgz"),
            ("$ é", "$ é"),
        ] {
            assert_eq!(e.envsubst(input), want, "{input:?}");
        }
    }

    #[test]
    fn a_value_file_under_a_ref_keeps_its_reference() {
        let mut a = app("argocd");
        a.spec.spec.sources = vec![
            serde_json::from_value(json!({"repoURL": "https://charts.example", "chart": "web"}))
                .unwrap(),
            serde_json::from_value(
                json!({"repoURL": "https://git.example/v.git", "ref": "values"}),
            )
            .unwrap(),
        ];
        let source = a.spec.spec.sources[0].clone();
        let e = BuildEnv::new(&a, "argocd", &source, "1.0.0");
        assert_eq!(
            e.value_file("$values/envs/$ARGOCD_APP_NAME.yaml"),
            "$values/envs/web.yaml"
        );
        // Not a reference of this app: substituted as a whole, as Argo CD.
        assert_eq!(e.value_file("$other/x.yaml"), "/x.yaml");
    }

    #[test]
    fn substitution_reaches_only_the_fields_argo_cd_substitutes() {
        let source: ApplicationSource = serde_json::from_value(json!({
            "repoURL": "r", "path": "p",
            "directory": {"jsonnet": {
                "extVars": [{"name": "a", "value": "$ARGOCD_APP_NAME"}],
                "tlas": [{"name": "b", "value": "'${ARGOCD_APP_REVISION_SHORT}'", "code": true}]}},
            "helm": {"valueFiles": ["values-$ARGOCD_APP_NAME.yaml"], "values": "x: $ARGOCD_APP_NAME",
                "parameters": [{"name": "tag", "value": "$ARGOCD_APP_REVISION_SHORT_8"}],
                "fileParameters": [{"name": "f", "path": "$ARGOCD_APP_NAME.txt"}]},
            "kustomize": {"images": ["web=reg/web:$ARGOCD_APP_REVISION_SHORT"],
                "commonLabels": {"app": "$ARGOCD_APP_NAME"},
                "commonAnnotations": {"app": "$ARGOCD_APP_NAME"}, "namePrefix": "$ARGOCD_APP_NAME"}
        }))
        .unwrap();
        let s = env("argocd").substitute(&source);
        let j = s.directory.unwrap().jsonnet.unwrap();
        assert_eq!(j.ext_vars[0].value, "web");
        assert_eq!(j.tlas[0].value, "'f913b6c'");
        let h = s.helm.unwrap();
        assert_eq!(h.value_files, ["values-web.yaml"]);
        assert_eq!(h.parameters[0].value, "f913b6cb");
        assert_eq!(h.file_parameters[0].path, "web.txt");
        assert_eq!(
            h.values.as_deref(),
            Some("x: $ARGOCD_APP_NAME"),
            "values are not substituted"
        );
        let k = s.kustomize.unwrap();
        assert_eq!(k.images, ["web=reg/web:f913b6c"]);
        assert_eq!(k.common_labels["app"], "web");
        assert_eq!(k.common_annotations["app"], "$ARGOCD_APP_NAME");
        assert_eq!(k.name_prefix.as_deref(), Some("$ARGOCD_APP_NAME"));
    }
}
