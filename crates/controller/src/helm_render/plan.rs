//! Pure: an Application's Helm source becomes the chart to fetch and the
//! inputs of `helm template`, as Argo CD maps them (release name: the
//! Application's name; namespace: the destination's; `valuesObject` over
//! `values`; `$ref/path` value files from another source's tree).

use std::sync::Arc;

use driftless_api::{ApplicationSource, ApplicationSourceHelm};
use driftless_helm::{ChartSource, FileRef, OciChart, Parameter, RepoChart, TemplateOptions};
use driftless_render::FileTree;

use super::credentials::HelmAccess;

/// A source of a multi-source Application that others name with `$ref`,
/// resolved to a commit.
#[derive(Clone)]
pub(crate) struct RefTree {
    /// Its `ref` name.
    pub(crate) name: String,
    /// The commit its `targetRevision` resolved to.
    pub(crate) revision: String,
    /// The commit's files.
    pub(crate) tree: Arc<dyn FileTree>,
}

/// A Helm source that cannot be rendered as written.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PlanError {
    /// A `$ref/...` file names a ref no source has.
    #[error(
        "{field}: {value:?} names ${name}, but no source in spec.sources has ref: {name} \
         (refs: {known})"
    )]
    UnknownRef {
        /// The field, e.g. `helm.valueFiles[0]`.
        field: String,
        /// The value as written.
        value: String,
        /// The ref name.
        name: String,
        /// The refs that exist.
        known: String,
    },
    /// `$ref` without a file path after it.
    #[error("{field}: {value:?} names a source but no file in it (write ${name}/path/values.yaml)")]
    NoPath {
        /// The field.
        field: String,
        /// The value as written.
        value: String,
        /// The ref name.
        name: String,
    },
    /// `valuesObject` could not be serialized.
    #[error("helm.valuesObject: {0}")]
    ValuesObject(String),
}

/// The inputs of `helm template`, and the files of ref sources it reads
/// (`(ref index, path)`, for webhook path matching).
pub(crate) struct Plan<'a> {
    /// The options.
    pub(crate) options: TemplateOptions<'a>,
    /// Files read from ref sources: index into the refs, path.
    pub(crate) ref_files: Vec<(usize, String)>,
}

/// The options of `helm template` for `helm` (absent: defaults only) of an
/// Application named `app_name` deploying into `dest_namespace`.
pub(crate) fn template_options<'a>(
    helm: Option<&ApplicationSourceHelm>,
    app_name: &str,
    dest_namespace: Option<&str>,
    refs: &'a [RefTree],
) -> Result<Plan<'a>, PlanError> {
    let default = ApplicationSourceHelm::default();
    let helm = helm.unwrap_or(&default);
    let release = helm
        .release_name
        .as_deref()
        .filter(|r| !r.is_empty())
        .unwrap_or(app_name);
    let mut options = TemplateOptions::new(release);
    options.namespace = helm
        .namespace
        .as_deref()
        .or(dest_namespace)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let mut ref_files = Vec::new();
    for (i, value) in helm.value_files.iter().enumerate() {
        let field = format!("helm.valueFiles[{i}]");
        options
            .value_files
            .push(file_ref(&field, value, refs, &mut ref_files)?);
    }
    options.ignore_missing_value_files = helm.ignore_missing_value_files;
    options.values = match &helm.values_object {
        Some(object) => Some(
            serde_json::to_string(object).map_err(|e| PlanError::ValuesObject(e.to_string()))?,
        ),
        None => helm.values.clone().filter(|v| !v.trim().is_empty()),
    };
    options.parameters = helm
        .parameters
        .iter()
        .map(|p| Parameter {
            force_string: p.force_string,
            ..Parameter::new(&p.name, &p.value)
        })
        .collect();
    for (i, parameter) in helm.file_parameters.iter().enumerate() {
        let field = format!("helm.fileParameters[{i}].path");
        let file = file_ref(&field, &parameter.path, refs, &mut ref_files)?;
        options.file_parameters.push((parameter.name.clone(), file));
    }
    options.skip_crds = helm.skip_crds;
    options.skip_schema_validation = helm.skip_schema_validation;
    options.kube_version = helm.kube_version.clone().filter(|v| !v.is_empty());
    options.api_versions = helm.api_versions.clone();
    Ok(Plan { options, ref_files })
}

/// A value file or file parameter: `$ref/path` from that ref's tree, else a
/// path relative to the chart.
fn file_ref<'a>(
    field: &str,
    value: &str,
    refs: &'a [RefTree],
    ref_files: &mut Vec<(usize, String)>,
) -> Result<FileRef<'a>, PlanError> {
    let Some(rest) = value.strip_prefix('$') else {
        return Ok(FileRef::Chart(value.to_string()));
    };
    let (name, path) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(index) = refs.iter().position(|r| r.name == name) else {
        let known: Vec<String> = refs.iter().map(|r| format!("${}", r.name)).collect();
        return Err(PlanError::UnknownRef {
            field: field.to_string(),
            value: value.to_string(),
            name: name.to_string(),
            known: if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            },
        });
    };
    let path = path.trim_start_matches('/');
    if path.is_empty() {
        return Err(PlanError::NoPath {
            field: field.to_string(),
            value: value.to_string(),
            name: name.to_string(),
        });
    }
    ref_files.push((index, path.to_string()));
    Ok(FileRef::Tree {
        tree: refs[index].tree.as_ref(),
        path: path.to_string(),
        label: value.to_string(),
    })
}

/// Where the chart of a source with `chart` comes from: an OCI registry
/// (`oci://` URL, or a Secret with `enableOCI`) or a chart repository.
pub(crate) fn chart_source(
    source: &ApplicationSource,
    chart: &str,
    version: &str,
    access: HelmAccess,
) -> ChartSource<'static> {
    let url = source.repo_url.trim();
    let pass_credentials = source.helm.as_ref().is_some_and(|h| h.pass_credentials);
    if url.starts_with("oci://") || access.enable_oci {
        let mut spec = OciChart::new(url, chart, version);
        spec.credentials = access.credentials;
        spec.plain_http = access.plain_http;
        ChartSource::Oci(spec)
    } else {
        let mut spec = RepoChart::new(url, chart, version);
        spec.credentials = access.credentials;
        spec.pass_credentials = pass_credentials;
        ChartSource::Repository(spec)
    }
}

/// The version asked for: `targetRevision`, `*` (the newest) when unset.
pub(crate) fn wanted_version(target_revision: Option<&str>) -> &str {
    match target_revision.map(str::trim) {
        None | Some("") | Some("HEAD") => "*",
        Some(v) => v,
    }
}

#[cfg(test)]
mod tests {
    use driftless_api::{HelmFileParameter, HelmParameter};
    use driftless_render::DiskTree;

    use super::*;

    fn refs() -> (tempfile::TempDir, Vec<RefTree>) {
        let dir = tempfile::tempdir().unwrap();
        let tree: Arc<dyn FileTree> = Arc::new(DiskTree::new(dir.path()).unwrap());
        let r = RefTree {
            name: "values".into(),
            revision: "abc".into(),
            tree,
        };
        (dir, vec![r])
    }

    #[test]
    fn argo_defaults_and_overrides() {
        let plan = template_options(None, "shop", Some("prod"), &[]).unwrap();
        assert_eq!(plan.options.release_name, "shop");
        assert_eq!(plan.options.namespace.as_deref(), Some("prod"));
        assert!(!plan.options.skip_crds);

        let helm = ApplicationSourceHelm {
            release_name: Some("web".into()),
            namespace: Some("other".into()),
            values: Some("a: 1\n".into()),
            values_object: Some(serde_json::json!({"b": {"c": 2}})),
            parameters: vec![HelmParameter {
                name: "port".into(),
                value: "80".into(),
                force_string: true,
            }],
            skip_crds: true,
            kube_version: Some("1.30.0".into()),
            api_versions: vec!["monitoring.coreos.com/v1".into()],
            ..Default::default()
        };
        let plan = template_options(Some(&helm), "shop", Some("prod"), &[]).unwrap();
        let o = &plan.options;
        assert_eq!(o.release_name, "web");
        assert_eq!(o.namespace.as_deref(), Some("other"));
        assert_eq!(
            o.values.as_deref(),
            Some(r#"{"b":{"c":2}}"#),
            "valuesObject wins"
        );
        assert_eq!(o.parameters.len(), 1);
        assert!(o.parameters[0].force_string);
        assert!(o.skip_crds);
        assert_eq!(o.kube_version.as_deref(), Some("1.30.0"));
    }

    #[test]
    fn ref_files_come_from_the_named_source_and_unknown_refs_are_errors() {
        let (_dir, refs) = refs();
        let helm = ApplicationSourceHelm {
            value_files: vec!["values-prod.yaml".into(), "$values/env/prod.yaml".into()],
            file_parameters: vec![HelmFileParameter {
                name: "config".into(),
                path: "$values/config.txt".into(),
            }],
            ..Default::default()
        };
        let plan = template_options(Some(&helm), "shop", None, &refs).unwrap();
        assert!(
            matches!(&plan.options.value_files[0], FileRef::Chart(p) if p == "values-prod.yaml")
        );
        assert!(matches!(
            &plan.options.value_files[1],
            FileRef::Tree { path, label, .. } if path == "env/prod.yaml" && label == "$values/env/prod.yaml"
        ));
        assert_eq!(
            plan.ref_files,
            [
                (0, "env/prod.yaml".to_string()),
                (0, "config.txt".to_string())
            ]
        );

        let bad = ApplicationSourceHelm {
            value_files: vec!["$vals/prod.yaml".into()],
            ..Default::default()
        };
        let error = template_options(Some(&bad), "shop", None, &refs)
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            error,
            "helm.valueFiles[0]: \"$vals/prod.yaml\" names $vals, but no source in spec.sources \
             has ref: vals (refs: $values)"
        );
        let no_path = ApplicationSourceHelm {
            value_files: vec!["$values".into()],
            ..Default::default()
        };
        assert!(matches!(
            template_options(Some(&no_path), "shop", None, &refs),
            Err(PlanError::NoPath { .. })
        ));
    }

    #[test]
    fn oci_is_chosen_by_scheme_or_secret() {
        let mut source = ApplicationSource {
            repo_url: "oci://registry.example.com/charts".into(),
            ..Default::default()
        };
        assert!(matches!(
            chart_source(&source, "web", "1.0.0", HelmAccess::default()),
            ChartSource::Oci(_)
        ));
        source.repo_url = "registry.example.com/charts".into();
        assert!(matches!(
            chart_source(&source, "web", "1.0.0", HelmAccess::default()),
            ChartSource::Repository(_)
        ));
        let access = HelmAccess {
            enable_oci: true,
            plain_http: true,
            ..Default::default()
        };
        match chart_source(&source, "web", "1.0.0", access) {
            ChartSource::Oci(spec) => assert!(spec.plain_http),
            _ => panic!("enableOCI makes it OCI"),
        }
        assert_eq!(wanted_version(None), "*");
        assert_eq!(wanted_version(Some("^1.2")), "^1.2");
    }
}
