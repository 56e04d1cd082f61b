//! [`Renderer`]: fetch (or find in the cache) the chart, read the inputs,
//! and run `helm template` in a fresh sandbox unless the same render is
//! cached.

use std::path::PathBuf;
use std::sync::Arc;

use driftless_render::{DiskTree, Object};

use crate::binary::Helm;
use crate::cache::{self, RenderCache};
use crate::fetch::{ChartStore, Fetched, helm_failed};
use crate::inputs::{self, ChartBase};
use crate::{ChartSource, HelmError, TemplateOptions, args, names, output, tree_chart};

/// Renders charts with a pinned helm, caching unpacked charts on disk and
/// rendered objects in memory. Blocking: run it off the async runtime.
#[derive(Debug)]
pub struct Renderer {
    pub(crate) helm: Helm,
    pub(crate) root: PathBuf,
    cache: RenderCache,
}

/// The result of one render.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// The objects, in helm's output order.
    pub objects: Arc<Vec<Object>>,
    /// The chart version rendered (for a chart from Git, its `Chart.yaml`
    /// version).
    pub version: String,
    /// Whether the objects came from the render cache (helm did not run).
    pub cached: bool,
    /// Value files that did not exist and were skipped
    /// (`ignoreMissingValueFiles`).
    pub skipped_value_files: Vec<String>,
}

impl Renderer {
    /// A renderer running `helm`, keeping unpacked charts and its sandboxes
    /// below `work_root`.
    pub fn new(helm: Helm, work_root: impl Into<PathBuf>) -> Self {
        Self {
            helm,
            root: work_root.into(),
            cache: RenderCache::new(cache::DEFAULT_CAPACITY),
        }
    }

    /// Renders the chart `source` names with `options`.
    pub fn render(
        &self,
        source: &ChartSource<'_>,
        options: &TemplateOptions<'_>,
    ) -> Result<Rendered, HelmError> {
        self.render_with_refresh(source, options, false)
    }

    /// Renders like [`Renderer::render`], but on `refresh` (Argo CD's hard
    /// refresh) the render cache is not read and a chart repository's index
    /// is read again even for an exact version already unpacked.
    pub fn render_with_refresh(
        &self,
        source: &ChartSource<'_>,
        options: &TemplateOptions<'_>,
        refresh: bool,
    ) -> Result<Rendered, HelmError> {
        let store = ChartStore {
            helm: &self.helm,
            root: &self.root,
            refresh,
        };
        match source {
            ChartSource::Repository(spec) => {
                names::check_release_name(&spec.chart, &options.release_name)?;
                let fetched = store.fetch_repo(spec)?;
                let source = cache::source_key(&spec.url, spec.credentials.as_ref());
                let identity = format!("repo\0{source}\0{}", spec.chart);
                self.render_fetched(&store, fetched, &spec.chart, &identity, options)
            }
            ChartSource::Oci(spec) => {
                names::check_release_name(&spec.chart, &options.release_name)?;
                let fetched = store.fetch_oci(spec)?;
                let source = cache::source_key(&spec.url, spec.credentials.as_ref());
                let identity = format!("oci\0{source}\0{}", spec.chart);
                self.render_fetched(&store, fetched, &spec.chart, &identity, options)
            }
            ChartSource::Tree(spec) => {
                let label = format!("{} in {}", spec.path, spec.repo_url);
                names::check_release_name(&label, &options.release_name)?;
                let dependencies: Vec<String> = spec
                    .dependency_credentials
                    .iter()
                    .map(|(url, c)| cache::source_key(url, Some(c)))
                    .collect();
                let identity = format!(
                    "git\0{}\0{}\0{}\0{}",
                    spec.repo_url,
                    spec.revision,
                    spec.path,
                    dependencies.join("\0")
                );
                let base = ChartBase {
                    tree: spec.tree,
                    dir: spec.path.clone(),
                };
                let target = Target {
                    label: &label,
                    identity: &identity,
                    version: None,
                };
                self.render_with(&store, &base, options, &target, |sandbox| {
                    tree_chart::prepare(&store, sandbox, spec).map(|p| (p.dir, p.version))
                })
            }
        }
    }

    /// Renders a chart unpacked in the cache; value files are read from it.
    fn render_fetched(
        &self,
        store: &ChartStore<'_>,
        fetched: Fetched,
        label: &str,
        identity: &str,
        options: &TemplateOptions<'_>,
    ) -> Result<Rendered, HelmError> {
        let Fetched { dir, version } = fetched;
        let disk = DiskTree::new(&dir).map_err(|source| HelmError::Tree {
            chart: label.to_string(),
            source,
        })?;
        let base = ChartBase {
            tree: &disk,
            dir: String::new(),
        };
        let target = Target {
            label,
            identity,
            version: Some(&version),
        };
        self.render_with(store, &base, options, &target, |_| {
            Ok((dir.clone(), version.clone()))
        })
    }

    /// Reads the inputs, answers from the cache when it can, else prepares
    /// the chart directory with `chart_dir` in a fresh sandbox and runs
    /// `helm template` there.
    fn render_with(
        &self,
        store: &ChartStore<'_>,
        base: &ChartBase<'_>,
        options: &TemplateOptions<'_>,
        target: &Target<'_>,
        chart_dir: impl FnOnce(&crate::sandbox::Sandbox) -> Result<(PathBuf, String), HelmError>,
    ) -> Result<Rendered, HelmError> {
        let Target {
            label,
            identity,
            version,
        } = *target;
        let collected = inputs::collect(options, base, label)?;
        let key = cache::key(identity, version.unwrap_or(""), options, &collected);
        if let Some((objects, version)) = self.cache.get(&key).filter(|_| !store.refresh) {
            tracing::debug!(chart = label, "helm render cache hit");
            return Ok(Rendered {
                objects,
                version,
                cached: true,
                skipped_value_files: collected.skipped,
            });
        }
        let sandbox = store.sandbox(label)?;
        let (dir, chart_version) = chart_dir(&sandbox)?;
        let files = collected.write(&sandbox, label)?;
        let template = args::template_args(options, dir, &files);
        let out = self
            .helm
            .run(&sandbox, &sandbox.work(), &template, &[])
            .map_err(|m| {
                helm_failed(label, &chart_version, identity_repository(identity))("template", m)
            })?;
        let objects = Arc::new(output::parse(&out, label, &chart_version)?);
        self.cache
            .put(key, (objects.clone(), chart_version.clone()));
        Ok(Rendered {
            objects,
            version: chart_version,
            cached: false,
            skipped_value_files: collected.skipped,
        })
    }
}

/// Which chart a render is of.
#[derive(Clone, Copy)]
struct Target<'a> {
    /// How messages name the chart.
    label: &'a str,
    /// Where it comes from (the cache key's first part).
    identity: &'a str,
    /// Its version, when known before the chart is prepared.
    version: Option<&'a str>,
}

/// The repository URL part of a cache identity, for messages.
fn identity_repository(identity: &str) -> &str {
    identity.split('\0').nth(1).unwrap_or(identity)
}
