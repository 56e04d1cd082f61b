//! Converts an Application source's `kustomize` and `directory` overrides
//! into the renderer's [`RenderOptions`].

use driftless_api::{ApplicationSource, KustomizePatch, KustomizeSelector};
use driftless_render::jsonnet::{JsonnetOptions, JsonnetVar};
use driftless_render::{
    DirectoryOptions, KustomizeOverrides, OverridePatch, PatchTarget, RenderOptions,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The render options an Application source asks for; an error message
/// names the offending field (e.g. a non-numeric replica count).
pub fn render_options(source: &ApplicationSource) -> Result<RenderOptions, String> {
    let kustomize =
        match &source.kustomize {
            None => None,
            Some(k) => {
                Some(KustomizeOverrides {
                    images: k.images.clone(),
                    name_prefix: k.name_prefix.clone().filter(|s| !s.is_empty()),
                    name_suffix: k.name_suffix.clone().filter(|s| !s.is_empty()),
                    common_labels: k.common_labels.clone().into_iter().collect(),
                    common_annotations: k.common_annotations.clone().into_iter().collect(),
                    namespace: k.namespace.clone().filter(|s| !s.is_empty()),
                    replicas: k
                        .replicas
                        .iter()
                        .map(|r| {
                            replica_count(&r.count).map(|n| (r.name.clone(), n)).ok_or_else(|| {
                    format!("spec.source.kustomize.replicas: count of {:?} is not a number", r.name)
                })
                        })
                        .collect::<Result<_, _>>()?,
                    patches: k.patches.iter().map(patch).collect(),
                    components: k.components.clone(),
                })
            }
        };
    let directory = source.directory.as_ref().map(|d| DirectoryOptions {
        recurse: d.recurse,
        include: d.include.clone().filter(|s| !s.is_empty()),
        exclude: d.exclude.clone().filter(|s| !s.is_empty()),
        jsonnet: d.jsonnet.as_ref().map(jsonnet).unwrap_or_default(),
    });
    Ok(RenderOptions {
        kustomize,
        directory,
        ..RenderOptions::default()
    })
}

/// `directory.jsonnet` as the renderer takes it.
fn jsonnet(j: &driftless_api::ApplicationSourceJsonnet) -> JsonnetOptions {
    let var = |v: &driftless_api::JsonnetVar| JsonnetVar {
        name: v.name.clone(),
        value: v.value.clone(),
        code: v.code,
    };
    JsonnetOptions {
        ext_vars: j.ext_vars.iter().map(var).collect(),
        tlas: j.tlas.iter().map(var).collect(),
        libs: j.libs.clone(),
    }
}

fn replica_count(count: &IntOrString) -> Option<i64> {
    match count {
        IntOrString::Int(n) => Some(i64::from(*n)),
        IntOrString::String(s) => s.trim().parse().ok(),
    }
}

fn patch(p: &KustomizePatch) -> OverridePatch {
    OverridePatch {
        path: p.path.clone(),
        patch: p.patch.clone(),
        target: p.target.as_ref().map(target),
        options: p.options.clone(),
    }
}

fn target(s: &KustomizeSelector) -> PatchTarget {
    PatchTarget {
        group: s.group.clone(),
        version: s.version.clone(),
        kind: s.kind.clone(),
        name: s.name.clone(),
        namespace: s.namespace.clone(),
        label_selector: s.label_selector.clone(),
        annotation_selector: s.annotation_selector.clone(),
    }
}

/// A stable text form of the overrides, part of the render cache key.
pub fn fingerprint(source: &ApplicationSource) -> String {
    let k = serde_json::to_string(&source.kustomize).unwrap_or_default();
    let d = serde_json::to_string(&source.directory).unwrap_or_default();
    format!("{k}|{d}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_api::{ApplicationSourceDirectory, ApplicationSourceKustomize, KustomizeReplica};

    #[test]
    fn none_means_defaults() {
        let opts = render_options(&ApplicationSource::default()).unwrap();
        assert_eq!(opts, RenderOptions::default());
    }

    #[test]
    fn kustomize_overrides_are_converted() {
        let source = ApplicationSource {
            kustomize: Some(ApplicationSourceKustomize {
                images: vec!["nginx=nginx:1.27".into()],
                name_prefix: Some("dev-".into()),
                namespace: Some(String::new()),
                common_labels: [("env".to_string(), "dev".to_string())].into(),
                replicas: vec![
                    KustomizeReplica {
                        name: "web".into(),
                        count: IntOrString::Int(3),
                    },
                    KustomizeReplica {
                        name: "api".into(),
                        count: IntOrString::String("2".into()),
                    },
                ],
                ..Default::default()
            }),
            ..Default::default()
        };
        let k = render_options(&source).unwrap().kustomize.unwrap();
        assert_eq!(k.images, ["nginx=nginx:1.27"]);
        assert_eq!(k.name_prefix.as_deref(), Some("dev-"));
        assert_eq!(k.namespace, None, "an empty namespace is no override");
        assert_eq!(k.common_labels, [("env".to_string(), "dev".to_string())]);
        assert_eq!(k.replicas, [("web".to_string(), 3), ("api".to_string(), 2)]);
    }

    #[test]
    fn bad_replica_count_names_the_workload() {
        let source = ApplicationSource {
            kustomize: Some(ApplicationSourceKustomize {
                replicas: vec![KustomizeReplica {
                    name: "web".into(),
                    count: IntOrString::String("many".into()),
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let err = render_options(&source).unwrap_err();
        assert!(err.contains("\"web\""), "{err}");
    }

    #[test]
    fn directory_and_fingerprint() {
        let mut source = ApplicationSource {
            directory: Some(ApplicationSourceDirectory {
                recurse: true,
                include: Some("*.yaml".into()),
                exclude: None,
                jsonnet: None,
            }),
            ..Default::default()
        };
        let d = render_options(&source).unwrap().directory.unwrap();
        assert!(d.recurse);
        assert_eq!(d.include.as_deref(), Some("*.yaml"));
        let before = fingerprint(&source);
        source.directory.as_mut().unwrap().recurse = false;
        assert_ne!(before, fingerprint(&source));
    }
}
