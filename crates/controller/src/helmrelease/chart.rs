//! Fetching and rendering a HelmRelease's chart: from a HelmRepository
//! (its URL, type and `secretRef` credentials) or a GitRepository's
//! artifact (a chart directory of the commit, read from the shared
//! mirror), rendered by the pinned helm off the async runtime.

use driftless_source::credentials::flux::from_flux_http_secret;
use std::sync::Arc;

use driftless_api::flux::condition::{find_condition, is_ready};
use driftless_api::flux::source::helm::HelmRepository;
use driftless_helm::{
    ChartSource, Credentials, FileRef, OciChart, Rendered, Renderer, RepoChart, TemplateOptions,
    TreeChart,
};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use super::plan::{ChartFrom, Plan};
use crate::context::Context;
use crate::engine::{self, Owner};
use crate::kustomization::plan::SourceRef;
use crate::kustomization::source;

/// Why the chart could not be fetched or rendered.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The source is missing, not ready, or its credentials cannot be read
    /// (reported as `ArtifactFailed`).
    #[error("{0}")]
    Source(String),
    /// helm failed to fetch the chart (no such version, wrong password,
    /// unreachable): `ArtifactFailed`.
    #[error("{0}")]
    Fetch(driftless_helm::HelmError),
    /// helm failed to render it (a template error, a bad value file):
    /// `InstallFailed`/`UpgradeFailed`.
    #[error("{0}")]
    Render(driftless_helm::HelmError),
}

impl From<driftless_helm::HelmError> for ChartError {
    fn from(e: driftless_helm::HelmError) -> Self {
        use driftless_helm::HelmError as H;
        match e {
            H::NoSuchVersion { .. } | H::BadVersion { .. } | H::Index { .. } | H::Fetch { .. } => {
                ChartError::Fetch(e)
            }
            H::Helm { step, .. } if step != "template" => ChartError::Fetch(e),
            _ => ChartError::Render(e),
        }
    }
}

/// A rendered chart and the revision it is reported as.
pub struct Chart {
    /// What helm rendered.
    pub rendered: Rendered,
    /// The chart version; for a chart from Git, `<version>+<sha12>`.
    pub revision: String,
}

/// The values and options of one render, owned (sent to a blocking task).
pub struct Inputs {
    /// `.Release.Name`.
    pub release_name: String,
    /// `.Release.Namespace`.
    pub namespace: String,
    /// The composed values (JSON text).
    pub values: String,
    /// `valuesFiles`, relative to the chart.
    pub values_files: Vec<String>,
    /// Skip missing `valuesFiles`.
    pub ignore_missing: bool,
    /// Leave the chart's `crds/` out.
    pub skip_crds: bool,
}

impl Inputs {
    fn options(&self) -> TemplateOptions<'static> {
        let mut options = TemplateOptions::new(self.release_name.clone());
        options.namespace = Some(self.namespace.clone());
        options.values = Some(self.values.clone());
        options.value_files = self
            .values_files
            .iter()
            .cloned()
            .map(FileRef::Chart)
            .collect();
        options.ignore_missing_value_files = self.ignore_missing;
        options.skip_crds = self.skip_crds;
        options
    }
}

/// Fetches and renders the chart `plan` names.
pub async fn render(
    ctx: &Context,
    owner: &Owner,
    plan: &Plan,
    inputs: Inputs,
) -> Result<Chart, ChartError> {
    let renderer = ctx.helm_releases.renderer().ok_or_else(|| {
        ChartError::Source("no helm binary is configured for this controller".into())
    })?;
    match &plan.chart {
        ChartFrom::Repository { chart, version } => {
            let repo = helm_repository(ctx, &plan.source).await?;
            let credentials = credentials(ctx, &plan.source, &repo).await?;
            let spec = &repo.spec;
            let source = if spec.is_oci() {
                ChartSpec::Oci(OciChart {
                    url: spec.url.clone(),
                    chart: chart.clone(),
                    version: version.clone(),
                    credentials,
                    plain_http: spec.insecure,
                })
            } else {
                ChartSpec::Repo(RepoChart {
                    url: spec.url.clone(),
                    chart: chart.clone(),
                    version: version.clone(),
                    credentials,
                    pass_credentials: spec.pass_credentials,
                })
            };
            let rendered = blocking(renderer, move |r| {
                let source = match source {
                    ChartSpec::Oci(c) => ChartSource::Oci(c),
                    ChartSpec::Repo(c) => ChartSource::Repository(c),
                };
                r.render(&source, &inputs.options())
            })
            .await?;
            let revision = rendered.version.clone();
            Ok(Chart { rendered, revision })
        }
        ChartFrom::Git { path } => git(ctx, owner, plan, path, renderer, inputs).await,
    }
}

enum ChartSpec {
    Oci(OciChart),
    Repo(RepoChart),
}

async fn git(
    ctx: &Context,
    owner: &Owner,
    plan: &Plan,
    path: &str,
    renderer: Arc<Renderer>,
    inputs: Inputs,
) -> Result<Chart, ChartError> {
    let artifact = source::fetch(&ctx.client, &plan.source)
        .await
        .map_err(|e| ChartError::Source(e.to_string()))?;
    let sha = engine::resolve(ctx, owner, &artifact.url, &artifact.sha, false)
        .await
        .map_err(|e| ChartError::Source(e.to_string()))?
        .sha;
    let cache = ctx
        .git_repositories
        .cache()
        .ok_or_else(|| ChartError::Source("the Git mirror cache is not running".into()))?;
    let tree = cache
        .tree(&artifact.url, &sha)
        .map_err(|e| ChartError::Source(format!("{}: {e}", plan.source)))?;
    let (url, path, commit) = (artifact.url.clone(), path.to_string(), sha.clone());
    let rendered = blocking(renderer, move |r| {
        let chart = TreeChart {
            tree: &tree,
            path,
            repo_url: url,
            revision: commit,
            dependency_credentials: Vec::new(),
        };
        r.render(&ChartSource::Tree(chart), &inputs.options())
    })
    .await?;
    let short = &sha[..sha.len().min(12)];
    let revision = format!("{}+{short}", rendered.version);
    Ok(Chart { rendered, revision })
}

async fn blocking(
    renderer: Arc<Renderer>,
    run: impl FnOnce(&Renderer) -> Result<Rendered, driftless_helm::HelmError> + Send + 'static,
) -> Result<Rendered, ChartError> {
    tokio::task::spawn_blocking(move || run(&renderer))
        .await
        .map_err(|e| ChartError::Source(format!("the helm task failed: {e}")))?
        .map_err(ChartError::from)
}

/// The HelmRepository `source`; a `default` one must be Ready (its index
/// fetched), as Flux requires.
async fn helm_repository(ctx: &Context, source: &SourceRef) -> Result<HelmRepository, ChartError> {
    let api: Api<HelmRepository> = Api::namespaced(ctx.client.clone(), &source.namespace);
    let repo = api
        .get_opt(&source.name)
        .await
        .map_err(|e| ChartError::Source(format!("Source '{source}': {e}")))?
        .ok_or_else(|| ChartError::Source(format!("Source '{source}' not found")))?;
    let status = repo.status.clone().unwrap_or_default();
    if !repo.spec.is_oci() && !is_ready(&status.conditions, repo.metadata.generation) {
        let why = find_condition(&status.conditions, "Ready")
            .map(|c| format!("{}: {}", c.reason, c.message))
            .unwrap_or_else(|| "no Ready condition".into());
        return Err(ChartError::Source(format!(
            "Source '{source}' is not ready: {why}"
        )));
    }
    Ok(repo)
}

/// The credentials of a HelmRepository's `secretRef` (`username`, `password`).
pub async fn credentials(
    ctx: &Context,
    source: &SourceRef,
    repo: &HelmRepository,
) -> Result<Option<Credentials>, ChartError> {
    let Some(secret_ref) = &repo.spec.secret_ref else {
        return Ok(None);
    };
    read_credentials(&ctx.client, &source.namespace, &secret_ref.name)
        .await
        .map_err(ChartError::Source)
}

/// The basic auth of the Secret `namespace/name`, read by the Flux Secret
/// reader GitRepository uses (`username` and `password`; neither means
/// anonymous). Errors name the Secret and key, never a value.
pub async fn read_credentials(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Option<Credentials>, String> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = api
        .get_opt(name)
        .await
        .map_err(|e| format!("reading Secret '{namespace}/{name}': {e}"))?
        .ok_or_else(|| format!("Secret '{namespace}/{name}' not found"))?;
    let data = secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(key, value)| (key, value.0))
        .collect();
    let origin = format!("{namespace}/{name}");
    let read = from_flux_http_secret(&data, &origin).map_err(|e| e.to_string())?;
    if read.bearer_token.is_some() {
        return Err(format!(
            "Secret {origin}: key \"bearerToken\" is not supported for Helm repositories"
        ));
    }
    Ok(read
        .username
        .zip(read.password)
        .map(|(user, password)| Credentials::new(user, password)))
}
