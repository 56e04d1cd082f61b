//! `source.helm` of an Argo CD `Application`: how a Helm chart is rendered
//! (`helm template`), with Argo CD's field names and meanings.

use schemars::{Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// Helm options of a source whose `chart` is set, or whose `path` holds a
/// `Chart.yaml`: the inputs of `helm template`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct ApplicationSourceHelm {
    /// Value files, in order: paths relative to the chart (inside the
    /// fetched chart, or the chart's directory in Git, where `..` may reach
    /// up to the repository root), or `$ref/path` for a file of the source
    /// whose `ref` is `ref` (multi-source Applications).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub value_files: Vec<String>,
    /// Skip value files that do not exist instead of failing the render.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_missing_value_files: bool,
    /// Inline values as YAML text, applied after the value files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<String>,
    /// Inline values as an object, applied after the value files; takes the
    /// place of `values` when both are set (as in Argo CD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub values_object: Option<serde_json::Value>,
    /// `--set` parameters, applied after every value file and inline value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<HelmParameter>,
    /// `--set-file` parameters: a value path and a file (relative to the
    /// chart, or `$ref/path`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_parameters: Vec<HelmFileParameter>,
    /// The release name; the Application's name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    /// The release namespace (`.Release.Namespace`); the destination
    /// namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Leave out the chart's `crds/` directory.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_crds: bool,
    /// Do not validate the values against the chart's `values.schema.json`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_schema_validation: bool,
    /// The Kubernetes version templates see (`.Capabilities.KubeVersion`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_version: Option<String>,
    /// API versions templates see (`.Capabilities.APIVersions`), e.g.
    /// `monitoring.coreos.com/v1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_versions: Vec<String>,
    /// Send the repository's credentials to other hosts too when its index
    /// serves charts from elsewhere.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pass_credentials: bool,
    /// Helm's version; only `v3` (the default) is accepted by Argo CD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A `--set` parameter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmParameter {
    /// The value path, e.g. `image.tag`.
    #[serde(default)]
    pub name: String,
    /// The value.
    #[serde(default)]
    pub value: String,
    /// Keep the value a string (`--set-string`) instead of letting Helm
    /// read `true` or `80` as a boolean or a number.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force_string: bool,
}

/// A `--set-file` parameter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmFileParameter {
    /// The value path, e.g. `config`.
    #[serde(default)]
    pub name: String,
    /// The file whose contents become the value: relative to the chart, or
    /// `$ref/path`.
    #[serde(default)]
    pub path: String,
}

/// Any object, kept as written.
fn any_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
}
