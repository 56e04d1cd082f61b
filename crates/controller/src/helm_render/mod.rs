//! Helm charts of Argo CD Applications: a source with `chart` (a Helm
//! repository or an OCI registry) or a Git path holding a `Chart.yaml` is
//! rendered by the pinned, sandboxed helm of `driftless-helm` instead of
//! the native Kustomize/directory renderer. Value files may come from the
//! chart, the Git path, or another source of a multi-source Application
//! (`$ref/path`); repository credentials come from Argo CD's repository
//! Secrets ([`credentials`]), only those of the repository being read.

mod capabilities;
pub(crate) mod credentials;
pub(crate) mod plan;

#[cfg(test)]
mod oracle_tests;

use std::sync::Arc;

use driftless_api::{ApplicationSource, ApplicationSourceHelm};
use driftless_helm::{ChartSource, TreeChart};
use driftless_render::{FileTree, Rendered, SourceType};

use crate::context::Context;
pub(crate) use capabilities::ClusterCapabilities;
pub(crate) use plan::RefTree;

/// The chart a render reads.
pub(crate) enum ChartInput {
    /// `chart` from the Helm repository or OCI registry `source.repoURL`.
    Remote {
        /// The source (its URL and `helm.passCredentials`).
        source: Box<ApplicationSource>,
        /// The chart name.
        chart: String,
        /// The version or semver range.
        version: String,
    },
    /// A directory holding `Chart.yaml` in a Git commit.
    Git {
        /// The repository URL.
        repo: String,
        /// The commit SHA.
        revision: String,
        /// The chart directory.
        path: String,
        /// The commit's files.
        tree: Arc<dyn FileTree>,
    },
}

/// What one Helm render gave.
pub(crate) struct HelmOutput {
    /// The objects, as the rest of the pipeline takes them.
    pub(crate) rendered: Rendered,
    /// The chart version rendered.
    pub(crate) version: String,
    /// Value files skipped because they do not exist (`ignoreMissingValueFiles`).
    pub(crate) skipped_value_files: Vec<String>,
    /// Files read from ref sources: index into the refs, path.
    pub(crate) ref_files: Vec<(usize, String)>,
}

/// The inputs of one render besides the chart.
pub(crate) struct HelmInputs {
    /// `source.helm`.
    pub(crate) helm: Option<ApplicationSourceHelm>,
    /// The Application's name (the default release name).
    pub(crate) app_name: String,
    /// The destination namespace (the default release namespace).
    pub(crate) dest_namespace: Option<String>,
    /// The ref sources, resolved.
    pub(crate) refs: Vec<RefTree>,
    /// A hard refresh: the render cache is bypassed and a chart
    /// repository's index read again (a range can have moved).
    pub(crate) refresh: bool,
}

/// What a render needs of its surroundings: the helm, the cluster (its
/// capabilities) and where repository Secrets are read. The reconcile
/// takes it from its [`Context`]; a preview has its own.
pub(crate) struct HelmEnv<'a> {
    /// The pinned helm with its caches; `None` when none is configured.
    pub(crate) helm: Option<Arc<driftless_helm::Renderer>>,
    /// The cluster's capabilities, cached.
    pub(crate) capabilities: &'a ClusterCapabilities,
    /// The cluster.
    pub(crate) client: &'a kube::Client,
    /// The namespace of Argo CD repository Secrets.
    pub(crate) credentials_namespace: &'a str,
}

/// Renders `chart` with `inputs` off the async runtime, with the
/// controller's helm, cluster and credentials (see [`render_with`]).
pub(crate) async fn render(
    ctx: &Context,
    chart: ChartInput,
    inputs: HelmInputs,
) -> Result<HelmOutput, String> {
    let env = HelmEnv {
        helm: ctx.helm.clone(),
        capabilities: &ctx.capabilities,
        client: &ctx.client,
        credentials_namespace: &ctx.config.credentials_namespace,
    };
    render_with(&env, chart, inputs).await
}

/// Renders `chart` with `inputs` off the async runtime. The error is a
/// message naming the chart, its version and the file at fault.
pub(crate) async fn render_with(
    env: &HelmEnv<'_>,
    chart: ChartInput,
    inputs: HelmInputs,
) -> Result<HelmOutput, String> {
    let renderer = env.helm.clone().ok_or_else(|| {
        "this is a Helm chart, and the controller has no helm binary configured \
         (set --helm or DRIFTLESS_HELM)"
            .to_string()
    })?;
    let kube_version = env.capabilities.kube_version(env.client).await;
    let api_versions = env.capabilities.api_versions(env.client).await;
    let needs_secrets = match &chart {
        ChartInput::Remote { .. } => true,
        ChartInput::Git { tree, path, .. } => {
            !dependency_repositories(tree.as_ref(), path).is_empty()
        }
    };
    let secrets = if needs_secrets {
        let namespace = env.credentials_namespace;
        credentials::list(env.client, namespace)
            .await
            .map_err(|e| format!("reading repository Secrets in namespace {namespace}: {e}"))?
    } else {
        Vec::new()
    };
    let (access, dependency_credentials) = match &chart {
        ChartInput::Remote { source, .. } => {
            (credentials::access(&secrets, &source.repo_url), Vec::new())
        }
        ChartInput::Git { tree, path, .. } => {
            let found = dependency_repositories(tree.as_ref(), path)
                .into_iter()
                .filter_map(|url| {
                    let c = credentials::access(&secrets, &url).credentials?;
                    Some((url, c))
                })
                .collect();
            (credentials::HelmAccess::default(), found)
        }
    };
    let blocking = move || {
        let mut plan = plan::template_options(
            inputs.helm.as_ref(),
            &inputs.app_name,
            inputs.dest_namespace.as_deref(),
            &inputs.refs,
        )
        .map_err(|e| e.to_string())?;
        if plan.options.kube_version.is_none() {
            plan.options.kube_version = kube_version;
        }
        if plan.options.api_versions.is_empty() {
            plan.options.api_versions = api_versions;
        }
        let (source, files_read) = match &chart {
            ChartInput::Remote {
                source,
                chart,
                version,
            } => (
                plan::chart_source(source, chart, version, access),
                Vec::new(),
            ),
            ChartInput::Git {
                repo,
                revision,
                path,
                tree,
            } => (
                ChartSource::Tree(TreeChart {
                    tree: tree.as_ref(),
                    path: path.clone(),
                    repo_url: repo.clone(),
                    revision: revision.clone(),
                    dependency_credentials,
                }),
                chart_files_read(path, &plan.options.value_files),
            ),
        };
        let out = renderer
            .render_with_refresh(&source, &plan.options, inputs.refresh)
            .map_err(|e| e.to_string())?;
        Ok(HelmOutput {
            rendered: Rendered {
                objects: out.objects.as_ref().clone(),
                source_type: SourceType::Helm,
                files_read,
                warnings: Vec::new(),
            },
            version: out.version,
            skipped_value_files: out.skipped_value_files,
            ref_files: plan.ref_files,
        })
    };
    tokio::task::spawn_blocking(blocking)
        .await
        .map_err(|e| format!("helm render task failed: {e}"))?
}

/// The value files of a chart in Git that lie outside its directory (`..`),
/// as tree paths: a push changing them must refresh the Application too.
fn chart_files_read(path: &str, value_files: &[driftless_helm::FileRef<'_>]) -> Vec<String> {
    let mut files: Vec<String> = value_files
        .iter()
        .filter_map(|f| match f {
            driftless_helm::FileRef::Chart(rel) => driftless_render::tree::join(path, rel).ok(),
            driftless_helm::FileRef::Tree { .. } => None,
        })
        .collect();
    files.sort();
    files.dedup();
    files
}

/// The `repository` URLs of the `dependencies` of the chart at `path`
/// (chart repositories and OCI registries, not `file://`); none when
/// `Chart.yaml` cannot be read (the render then says why).
fn dependency_repositories(tree: &dyn FileTree, path: &str) -> Vec<String> {
    let file = chart_file(path);
    let Ok(bytes) = tree.read(&file) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let Ok(documents) = driftless_render::yaml::parse_documents(&text, &file) else {
        return Vec::new();
    };
    let mut urls: Vec<String> = documents
        .iter()
        .filter_map(|d| d.get("dependencies")?.as_array())
        .flatten()
        .filter_map(|d| d.get("repository")?.as_str())
        .filter(|u| {
            ["http://", "https://", "oci://"]
                .iter()
                .any(|p| u.starts_with(p))
        })
        .map(str::to_string)
        .collect();
    urls.sort();
    urls.dedup();
    urls
}

fn chart_file(path: &str) -> String {
    if path.is_empty() {
        "Chart.yaml".to_string()
    } else {
        format!("{path}/Chart.yaml")
    }
}

/// Whether the Git `path` of `tree` is a Helm chart (holds `Chart.yaml`).
pub(crate) fn is_chart_dir(tree: &dyn FileTree, path: &str) -> bool {
    matches!(
        tree.entry(&chart_file(path)),
        Ok(Some(driftless_render::tree::EntryKind::File))
    )
}
