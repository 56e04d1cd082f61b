//! Helm charts named by a kustomization's `helmCharts`: the native engine
//! works out what kustomize's `HelmChartInflationGenerator` would run (which
//! chart, which values, which flags) and hands the request to a
//! [`ChartInflater`]. driftless-helm implements it with the pinned,
//! sandboxed `helm template`; this crate cannot call helm itself (helm
//! depends on it), so the inflater comes in through
//! [`crate::RenderOptions::chart_inflater`].

use std::sync::Arc;

use crate::object::Object;
use crate::tree::FileTree;

/// Why an inflater failed: its own typed error (driftless-helm's names the
/// chart, its version and its repository).
pub type InflateError = Box<dyn std::error::Error + Send + Sync>;

/// Where a chart comes from.
#[derive(Clone, Copy)]
pub enum ChartLocation<'a> {
    /// A chart directory (holding `Chart.yaml`) in the tree being rendered:
    /// kustomize found it below the chart home.
    Tree {
        /// The tree.
        tree: &'a dyn FileTree,
        /// The chart directory, relative to the tree's root.
        dir: &'a str,
    },
    /// A chart repository (`repo:` an `http(s)://` URL serving `index.yaml`).
    Repository {
        /// The repository URL.
        url: &'a str,
    },
    /// An OCI registry (`repo:` an `oci://` URL; the chart name is appended).
    Oci {
        /// The `oci://` URL.
        url: &'a str,
    },
}

/// One chart: where, which, and which version.
#[derive(Clone, Copy)]
pub struct ChartRef<'a> {
    /// Where it comes from.
    pub location: ChartLocation<'a>,
    /// The chart name (`helmCharts[].name`).
    pub name: &'a str,
    /// The version (`helmCharts[].version`); `None`: the newest.
    pub version: Option<&'a str>,
}

/// One `helm template` of a `helmCharts` entry.
#[derive(Clone)]
pub struct InflateRequest<'a> {
    /// The chart.
    pub chart: ChartRef<'a>,
    /// The release name (kustomize's default is `release-name`).
    pub release_name: String,
    /// The release namespace, when set.
    pub namespace: Option<String>,
    /// The value files, in order, as (name for messages, YAML text): the
    /// values file (merged with `valuesInline`), then `additionalValuesFiles`.
    pub values: Vec<(String, String)>,
    /// Render the chart's `crds/` (`includeCRDs`).
    pub include_crds: bool,
    /// Leave the chart's tests out (`skipTests`).
    pub skip_tests: bool,
    /// Leave the chart's hooks out (`skipHooks`).
    pub skip_hooks: bool,
    /// `Capabilities.APIVersions` (`apiVersions`).
    pub api_versions: Vec<String>,
    /// `Capabilities.KubeVersion` (`kubeVersion`).
    pub kube_version: Option<String>,
}

/// Renders Helm charts for the native Kustomize engine.
pub trait ChartInflater: Send + Sync {
    /// The text of the chart's own `values.yaml` (`""` when it has none):
    /// kustomize merges `valuesInline` into it.
    fn default_values(&self, chart: &ChartRef<'_>) -> Result<String, InflateError>;

    /// The objects `helm template` renders for `request`, in its order.
    fn inflate(&self, request: &InflateRequest<'_>) -> Result<Vec<Object>, InflateError>;
}

/// A shared [`ChartInflater`], as render options hold it (options compare
/// equal when they share the same inflater).
#[derive(Clone)]
pub struct SharedInflater(pub Arc<dyn ChartInflater>);

impl std::fmt::Debug for SharedInflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedInflater")
    }
}

impl PartialEq for SharedInflater {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
