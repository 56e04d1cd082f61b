//! `helmCharts` and `helmGlobals`, as kustomize v5.5's
//! `HelmChartInflationGenerator` reads them: the chart is found below the
//! chart home (`helmGlobals.chartHome`, default `charts`, and
//! `NAME-VERSION/` below it when both `repo` and `version` are set) or, when
//! it is not there, taken from `repo`; the values file (by default the
//! chart's own `values.yaml`) is merged with `valuesInline` by `valuesMerge`
//! (`override`, the default: inline wins; `merge`: the file wins; `replace`:
//! inline only) and passed before `additionalValuesFiles`. The release is
//! named `release-name` unless `releaseName` says otherwise. Rendering
//! itself is the [`ChartInflater`]'s job; `configHome` is never used (helm
//! runs with an empty private configuration).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::build::Context;
use super::file::Kustomization;
use super::generators::{Behavior, Generated};
use crate::charts::{ChartInflater, ChartLocation, ChartRef, InflateRequest};
use crate::error::RenderError;
use crate::tree::{EntryKind, FileTree, join};

/// The release name kustomize's `helm template --generate-name` ends up with.
const DEFAULT_RELEASE_NAME: &str = "release-name";

/// One `helmCharts` entry (unknown fields are refused, as kustomize's
/// strict decoding of a kustomization does).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
struct HelmChart {
    name: String,
    version: String,
    repo: String,
    release_name: String,
    namespace: String,
    additional_values_files: Vec<String>,
    values_file: String,
    values_inline: Option<Map<String, Value>>,
    values_merge: String,
    #[serde(rename = "includeCRDs")]
    include_crds: bool,
    skip_hooks: bool,
    api_versions: Vec<String>,
    kube_version: String,
    name_template: String,
    skip_tests: bool,
    debug: bool,
    devel: bool,
}

impl HelmChart {
    /// Reads an entry; a null field is an absent one.
    fn parse(entry: &Value) -> Result<Self, serde_json::Error> {
        let mut entry = entry.clone();
        if let Value::Object(map) = &mut entry {
            map.retain(|_, v| !v.is_null());
        }
        serde_json::from_value(entry)
    }
}

/// `helmGlobals`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
struct HelmGlobals {
    chart_home: Option<String>,
    config_home: Option<String>,
}

/// How `valuesInline` is combined with the values file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ValuesMerge {
    Override,
    Merge,
    Replace,
}

/// The objects every `helmCharts` entry of `k` renders, in order; none when
/// it has none. Without an inflater, `helmCharts` is refused as unsupported
/// (an external kustomize, when configured, then takes the path).
pub(crate) fn generate(
    ctx: &Context<'_, '_>,
    k: &Kustomization,
) -> Result<Vec<Generated>, RenderError> {
    let Some(list) = k.get("helmCharts") else {
        return Ok(Vec::new());
    };
    let Some(inflater) = ctx.inflater else {
        return Err(RenderError::Unsupported {
            file: k.file.clone(),
            field: "helmCharts".into(),
            message: "Helm charts need the Helm renderer, and none is configured \
                      (nor an external kustomize command)"
                .into(),
        });
    };
    let globals: HelmGlobals = match k.get("helmGlobals") {
        None => HelmGlobals::default(),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| RenderError::field(&k.file, "helmGlobals", e.to_string()))?,
    };
    let _ignored = globals.config_home;
    let home = globals.chart_home.unwrap_or_else(|| "charts".into());
    let Value::Array(entries) = list else {
        return Err(RenderError::field(&k.file, "helmCharts", "must be a list"));
    };
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let field = format!("helmCharts[{i}]");
        let chart = HelmChart::parse(entry)
            .map_err(|e| RenderError::field(&k.file, &field, e.to_string()))?;
        let objects = inflate(ctx, inflater, k, &home, &chart, &field)?;
        out.extend(objects.into_iter().map(|object| Generated {
            object,
            behavior: Behavior::Create,
            hash_suffix: false,
            generator_kind: "HelmChartInflationGenerator",
            generator_name: None,
        }));
    }
    Ok(out)
}

/// Renders one entry.
fn inflate(
    ctx: &Context<'_, '_>,
    inflater: &dyn ChartInflater,
    k: &Kustomization,
    home: &str,
    chart: &HelmChart,
    field: &str,
) -> Result<Vec<crate::object::Object>, RenderError> {
    check_supported(k, chart, field)?;
    let tree: &dyn FileTree = ctx.reader;
    let home = ctx.file_path(k, home, "helmGlobals.chartHome")?;
    let home = if !chart.version.is_empty() && !chart.repo.is_empty() {
        join(&home, &format!("{}-{}", chart.name, chart.version))?
    } else {
        home
    };
    let local = join(&home, &chart.name)?;
    let location = if tree.entry(&local)? == Some(EntryKind::Dir) {
        ChartLocation::Tree { tree, dir: &local }
    } else {
        remote_location(k, chart, field, &local)?
    };
    let chart_ref = ChartRef {
        location,
        name: &chart.name,
        version: (!chart.version.is_empty()).then_some(chart.version.as_str()),
    };
    let values = chart_values(ctx, inflater, k, chart, &chart_ref, field)?;
    let request = InflateRequest {
        chart: chart_ref,
        release_name: non_empty(&chart.release_name).unwrap_or_else(|| DEFAULT_RELEASE_NAME.into()),
        namespace: non_empty(&chart.namespace),
        values,
        include_crds: chart.include_crds,
        skip_tests: chart.skip_tests,
        skip_hooks: chart.skip_hooks,
        api_versions: chart.api_versions.clone(),
        kube_version: non_empty(&chart.kube_version),
    };
    inflater
        .inflate(&request)
        .map_err(|source| chart_error(k, field, &chart_ref, source))
}

/// A [`RenderError::Chart`] for the entry `field` of `k`.
fn chart_error(
    k: &Kustomization,
    field: &str,
    chart: &ChartRef<'_>,
    source: crate::charts::InflateError,
) -> RenderError {
    let version = chart.version.map(|v| format!(" {v}")).unwrap_or_default();
    RenderError::Chart {
        file: k.file.clone(),
        field: field.to_string(),
        chart: format!("{}{version}", chart.name),
        source,
    }
}

/// The value files of an entry, in order: the values file (the chart's own
/// `values.yaml` unless `valuesFile` names another) combined with
/// `valuesInline`, then `additionalValuesFiles`.
fn chart_values(
    ctx: &Context<'_, '_>,
    inflater: &dyn ChartInflater,
    k: &Kustomization,
    chart: &HelmChart,
    chart_ref: &ChartRef<'_>,
    field: &str,
) -> Result<Vec<(String, String)>, RenderError> {
    let merge = values_merge(&chart.values_merge).ok_or_else(|| {
        RenderError::field(
            &k.file,
            &format!("{field}.valuesMerge"),
            "valuesMerge must be one of [merge override replace]",
        )
    })?;
    let (label, text) = if chart.values_file.is_empty() {
        let text = match chart_ref.location {
            ChartLocation::Tree { dir, .. } => read_optional(ctx, &join(dir, "values.yaml")?)?,
            _ => inflater
                .default_values(chart_ref)
                .map_err(|source| chart_error(k, field, chart_ref, source))?,
        };
        (format!("{} values.yaml", chart.name), text)
    } else {
        let path = ctx.file_path(k, &chart.values_file, &format!("{field}.valuesFile"))?;
        let text = ctx.reader.read_text(&path)?;
        (path, text)
    };
    let text = match chart.values_inline.as_ref().filter(|m| !m.is_empty()) {
        None => text,
        Some(inline) => merged_values(&text, inline, merge)
            .map_err(|m| RenderError::field(&k.file, &format!("{field}.valuesInline"), m))?,
    };
    let mut values = vec![(label, text)];
    for (j, file) in chart.additional_values_files.iter().enumerate() {
        let path = ctx.file_path(k, file, &format!("{field}.additionalValuesFiles[{j}]"))?;
        let text = ctx.reader.read_text(&path)?;
        values.push((path, text));
    }
    Ok(values)
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

/// Refuses what the native path does not do (rather than rendering
/// something else than kustomize would).
fn check_supported(k: &Kustomization, chart: &HelmChart, field: &str) -> Result<(), RenderError> {
    if chart.name.is_empty() {
        return Err(RenderError::field(
            &k.file,
            field,
            "chart name cannot be empty",
        ));
    }
    let unsupported = |name: &str| RenderError::Unsupported {
        file: k.file.clone(),
        field: format!("{field}.{name}"),
        message: format!("{name} is not supported by the native Helm renderer"),
    };
    if !chart.name_template.is_empty() {
        return Err(unsupported("nameTemplate"));
    }
    if chart.devel {
        return Err(unsupported("devel"));
    }
    let _only_verbose = chart.debug;
    Ok(())
}

/// The chart of `repo`, when it is not in the tree at `local`.
fn remote_location<'a>(
    k: &Kustomization,
    chart: &'a HelmChart,
    field: &str,
    local: &str,
) -> Result<ChartLocation<'a>, RenderError> {
    let repo = chart.repo.as_str();
    if repo.is_empty() {
        return Err(RenderError::field(
            &k.file,
            field,
            format!("no repo specified for pull, no chart found at '{local}'"),
        ));
    }
    if repo.starts_with("oci://") {
        Ok(ChartLocation::Oci { url: repo })
    } else if repo.starts_with("http://") || repo.starts_with("https://") {
        Ok(ChartLocation::Repository { url: repo })
    } else {
        Err(RenderError::field(
            &k.file,
            &format!("{field}.repo"),
            format!("{repo:?} is not an http(s):// chart repository or an oci:// registry"),
        ))
    }
}

fn read_optional(ctx: &Context<'_, '_>, path: &str) -> Result<String, RenderError> {
    if ctx.reader.entry(path)? == Some(EntryKind::File) {
        ctx.reader.read_text(path)
    } else {
        Ok(String::new())
    }
}

fn values_merge(text: &str) -> Option<ValuesMerge> {
    match text {
        "" | "override" => Some(ValuesMerge::Override),
        "merge" => Some(ValuesMerge::Merge),
        "replace" => Some(ValuesMerge::Replace),
        _ => None,
    }
}

/// The values file text combined with `valuesInline`, as YAML.
fn merged_values(
    file_text: &str,
    inline: &Map<String, Value>,
    merge: ValuesMerge,
) -> Result<String, String> {
    let inline = Value::Object(inline.clone());
    let merged = match merge {
        ValuesMerge::Replace => inline,
        ValuesMerge::Override | ValuesMerge::Merge => {
            let file = crate::yaml::parse_documents_lenient(file_text, "values file")
                .map_err(|e| format!("the values file is not YAML: {e}"))?
                .into_iter()
                .next()
                .filter(|v| !v.is_null())
                .unwrap_or_else(|| Value::Object(Map::new()));
            if merge == ValuesMerge::Override {
                merge_into(file, inline)
            } else {
                merge_into(inline, file)
            }
        }
    };
    serde_saphyr::to_string(&merged).map_err(|e| e.to_string())
}

/// `src` merged into `dest` as kyaml's `merge2` does: maps recursively,
/// anything else replaced by `src`, and a null in `src` clears the field.
fn merge_into(mut dest: Value, src: Value) -> Value {
    crate::merge::deep_merge(&mut dest, src, crate::merge::Nulls::Clear);
    dest
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn merged(file: &str, inline: Value, merge: ValuesMerge) -> Value {
        let Value::Object(inline) = inline else {
            panic!("inline values are a map")
        };
        let text = merged_values(file, &inline, merge).unwrap();
        crate::yaml::parse_documents(&text, "merged")
            .unwrap()
            .remove(0)
    }

    #[test]
    fn values_inline_overrides_merges_or_replaces_the_values_file() {
        let file = "a: 1\nnested:\n  x: file\n  y: file\nlist: [1, 2]\ngone: yes\n";
        let inline = json!({"nested": {"x": "inline"}, "list": [3], "gone": null, "new": true});
        assert_eq!(
            merged(file, inline.clone(), ValuesMerge::Override),
            json!({"a": 1, "nested": {"x": "inline", "y": "file"}, "list": [3], "new": true})
        );
        assert_eq!(
            merged(file, inline.clone(), ValuesMerge::Merge),
            json!({"a": 1, "nested": {"x": "file", "y": "file"}, "list": [1, 2], "gone": "yes", "new": true})
        );
        assert_eq!(
            merged(file, inline, ValuesMerge::Replace),
            json!({"nested": {"x": "inline"}, "list": [3], "gone": null, "new": true})
        );
        assert_eq!(
            merged("", json!({"b": 2}), ValuesMerge::Override),
            json!({"b": 2})
        );
    }

    #[test]
    fn an_unknown_merge_mode_or_field_is_refused() {
        assert_eq!(values_merge("bogus"), None);
        let error = HelmChart::parse(&json!({"name": "x", "valuesFiles": []})).unwrap_err();
        assert!(error.to_string().contains("valuesFiles"), "{error}");
        let chart = HelmChart::parse(&json!({"name": "x", "version": null, "includeCRDs": true}));
        assert!(chart.unwrap().include_crds);
    }
}
