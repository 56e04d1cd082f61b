//! Helm charts for driftless: fetched from a chart repository (an
//! `index.yaml` over HTTP(S), an exact version or a semver range), an OCI
//! registry, or a directory of a Git tree (with its `dependencies` built as
//! `helm dependency build` does), and rendered by the pinned `helm template`
//! the way Argo CD's repo-server does. Charts from a repository or registry
//! are downloaded and unpacked here (modules `http`, `download`, `oci`,
//! `archive`): a cold render runs one helm process.
//!
//! Every `helm` command runs in a private, empty Helm home ([`sandbox`]):
//! environment cleared, no plugins, no post-renderer, no repository or
//! registry login except those of the chart being read, stdin closed and a
//! time limit ([`Helm`]). Value files and file parameters are read through
//! the [`FileTree`] (which refuses paths and symlinks leaving the
//! repository) and handed to helm as private copies; helm never sees a URL
//! or a path it could follow elsewhere.
//!
//! [`Renderer`] caches unpacked charts by (repository, chart, version) on
//! disk and rendered objects by (chart, version, digest of every input) in
//! memory, so an unchanged chart is not rendered twice.
//!
//! ```no_run
//! use driftless_helm::{ChartSource, Helm, RepoChart, Renderer, TemplateOptions};
//! let renderer = Renderer::new(Helm::new("/usr/local/bin/helm"), "/var/cache/driftless/helm");
//! let chart = ChartSource::Repository(RepoChart::new("https://charts.example.com", "web", "^1.2"));
//! let rendered = renderer.render(&chart, &TemplateOptions::new("web"))?;
//! println!("{} objects from web {}", rendered.objects.len(), rendered.version);
//! # Ok::<(), driftless_helm::HelmError>(())
//! ```

#![warn(missing_docs)]

mod archive;
mod args;
mod binary;
mod cache;
mod dependencies;
mod download;
mod error;
mod fetch;
mod http;
mod index;
mod inputs;
mod kustomize;
mod link;
mod names;
mod oci;
mod output;
mod render;
mod repository;
pub(crate) mod sandbox;
mod tree_chart;

use driftless_render::FileTree;

pub use binary::{DEFAULT_TIMEOUT, Helm};
pub use error::{FetchError, HelmError};
pub use render::{Rendered, Renderer};
pub use repository::RepositoryIndex;

/// A username and password for a chart repository or registry. `Debug`
/// never prints the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The username.
    pub username: String,
    /// The password (or token).
    pub password: String,
}

impl Credentials {
    /// Credentials from a username and a password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// A chart in a chart repository (Argo CD `repoURL` + `chart` +
/// `targetRevision`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoChart {
    /// The repository URL (`http://` or `https://`), where `index.yaml` is.
    pub url: String,
    /// The chart name.
    pub chart: String,
    /// An exact version or a semver range (`^1.2`, `>=1.0 <2.0`, `1.x`, `*`).
    pub version: String,
    /// The repository's credentials, if it needs any.
    pub credentials: Option<Credentials>,
    /// Send the credentials to other hosts too when charts are served from
    /// elsewhere (Argo CD's `passCredentials`).
    pub pass_credentials: bool,
}

impl RepoChart {
    /// A chart without credentials.
    pub fn new(
        url: impl Into<String>,
        chart: impl Into<String>,
        version: impl Into<String>,
    ) -> Self {
        Self {
            url: url.into(),
            chart: chart.into(),
            version: version.into(),
            credentials: None,
            pass_credentials: false,
        }
    }
}

/// A chart in an OCI registry (Argo CD `repoURL` with `enableOCI`, or an
/// `oci://` URL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OciChart {
    /// The registry and repository path, with or without `oci://`, e.g.
    /// `oci://registry.example.com/charts`.
    pub url: String,
    /// The chart name (the last path element of the OCI reference).
    pub chart: String,
    /// The version (tag); a semver range is resolved by helm from the tags.
    pub version: String,
    /// The registry's credentials, if it needs any.
    pub credentials: Option<Credentials>,
    /// Speak plain HTTP to the registry (a local test registry).
    pub plain_http: bool,
}

impl OciChart {
    /// A chart without credentials, over HTTPS.
    pub fn new(
        url: impl Into<String>,
        chart: impl Into<String>,
        version: impl Into<String>,
    ) -> Self {
        Self {
            url: url.into(),
            chart: chart.into(),
            version: version.into(),
            credentials: None,
            plain_http: false,
        }
    }
}

/// A chart directory (holding `Chart.yaml`) in a Git tree.
pub struct TreeChart<'a> {
    /// The tree (a commit).
    pub tree: &'a dyn FileTree,
    /// The chart directory, relative to the tree's root.
    pub path: String,
    /// The repository URL, for messages and the cache key.
    pub repo_url: String,
    /// The commit SHA the tree is: part of the cache key.
    pub revision: String,
    /// Credentials for the chart repositories and registries its
    /// `dependencies` come from, by repository URL (exact match).
    pub dependency_credentials: Vec<(String, Credentials)>,
}

/// Where a chart comes from.
pub enum ChartSource<'a> {
    /// A chart repository.
    Repository(RepoChart),
    /// An OCI registry.
    Oci(OciChart),
    /// A directory of a Git tree.
    Tree(TreeChart<'a>),
}

/// A file given to a render: a value file or a file parameter.
#[derive(Clone)]
pub enum FileRef<'a> {
    /// A path relative to the chart directory: inside the fetched chart for
    /// a chart from a repository or registry; inside the Git tree (`..`
    /// allowed up to the tree's root) for a chart from Git.
    Chart(String),
    /// A file of another tree (a multi-source `$ref`), relative to its root.
    Tree {
        /// The tree.
        tree: &'a dyn FileTree,
        /// The path in it.
        path: String,
        /// How messages name it, e.g. `$values/env/prod.yaml`.
        label: String,
    },
}

impl FileRef<'_> {
    /// How messages name the file.
    pub fn label(&self) -> &str {
        match self {
            FileRef::Chart(path) => path,
            FileRef::Tree { label, .. } => label,
        }
    }
}

/// A `--set` (or, with `force_string`, `--set-string`) parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parameter {
    /// The value path, e.g. `image.tag`.
    pub name: String,
    /// The value.
    pub value: String,
    /// Keep the value a string (`--set-string`), as Argo CD's `forceString`.
    pub force_string: bool,
}

impl Parameter {
    /// A `--set NAME=VALUE` parameter.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            force_string: false,
        }
    }
}

/// The inputs of one `helm template` (Argo CD's `source.helm`).
#[derive(Clone)]
pub struct TemplateOptions<'a> {
    /// The release name (`releaseName`, by default the Application's name).
    pub release_name: String,
    /// The release namespace (`namespace`, by default the destination's).
    pub namespace: Option<String>,
    /// Value files, in order (`valueFiles`).
    pub value_files: Vec<FileRef<'a>>,
    /// Skip value files that do not exist instead of failing
    /// (`ignoreMissingValueFiles`).
    pub ignore_missing_value_files: bool,
    /// Inline values as YAML or JSON text (`values`, or `valuesObject`
    /// serialized), applied after the value files.
    pub values: Option<String>,
    /// `parameters`.
    pub parameters: Vec<Parameter>,
    /// `fileParameters`: value path and file.
    pub file_parameters: Vec<(String, FileRef<'a>)>,
    /// Leave the chart's `crds/` out (`skipCrds`).
    pub skip_crds: bool,
    /// Do not validate values against `values.schema.json`
    /// (`skipSchemaValidation`).
    pub skip_schema_validation: bool,
    /// `Capabilities.KubeVersion` (`kubeVersion`).
    pub kube_version: Option<String>,
    /// `Capabilities.APIVersions` (`apiVersions`).
    pub api_versions: Vec<String>,
    /// Leave the chart's tests out (`--skip-tests`; kustomize's `skipTests`).
    pub skip_tests: bool,
    /// Leave the chart's hooks out (`--no-hooks`; kustomize's `skipHooks`).
    pub no_hooks: bool,
}

impl TemplateOptions<'_> {
    /// Options with only a release name: CRDs included, nothing else set.
    pub fn new(release_name: impl Into<String>) -> Self {
        Self {
            release_name: release_name.into(),
            namespace: None,
            value_files: Vec::new(),
            ignore_missing_value_files: false,
            values: None,
            parameters: Vec::new(),
            file_parameters: Vec::new(),
            skip_crds: false,
            skip_schema_validation: false,
            kube_version: None,
            api_versions: Vec::new(),
            skip_tests: false,
            no_hooks: false,
        }
    }
}
