//! [`ChartInflater`] for [`Renderer`]: the native Kustomize engine's
//! `helmCharts` rendered by the same sandboxed `helm template` (and the same
//! chart and render caches) as Argo CD's `source.helm`. The engine has
//! already read the value files and merged `valuesInline`; they reach helm
//! as in-memory files.

use std::collections::BTreeMap;

use driftless_render::charts::{ChartLocation, ChartRef, InflateError, InflateRequest};
use driftless_render::tree::{EntryKind, FileTree, TreeError, join};
use driftless_render::{ChartInflater, Object};
use sha2::{Digest, Sha256};

use crate::fetch::ChartStore;
use crate::{ChartSource, FileRef, OciChart, Renderer, RepoChart, TemplateOptions, TreeChart};

/// How the cache and messages name a chart from the kustomization's own tree.
const TREE_LABEL: &str = "kustomize chart home";

impl ChartInflater for Renderer {
    fn default_values(&self, chart: &ChartRef<'_>) -> Result<String, InflateError> {
        let store = ChartStore {
            helm: &self.helm,
            root: &self.root,
            refresh: false,
        };
        let fetched = match chart.location {
            ChartLocation::Tree { tree, dir } => {
                let path = join(dir, "values.yaml")?;
                return match tree.read(&path) {
                    Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
                    Err(TreeError::NotFound { .. }) => Ok(String::new()),
                    Err(error) => Err(error.into()),
                };
            }
            ChartLocation::Repository { url } => store.fetch_repo(&repo_chart(url, chart))?,
            ChartLocation::Oci { url } => store.fetch_oci(&oci_chart(url, chart))?,
        };
        match std::fs::read(fetched.dir.join("values.yaml")) {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(format!(
                "chart {} version {}: reading values.yaml: {e}",
                chart.name, fetched.version
            )
            .into()),
        }
    }

    fn inflate(&self, request: &InflateRequest<'_>) -> Result<Vec<Object>, InflateError> {
        let values = ValuesTree::new(&request.values);
        let mut options = TemplateOptions::new(request.release_name.clone());
        options.namespace.clone_from(&request.namespace);
        options.value_files = values.refs();
        options.skip_crds = !request.include_crds;
        options.skip_tests = request.skip_tests;
        options.no_hooks = request.skip_hooks;
        options.api_versions.clone_from(&request.api_versions);
        options.kube_version.clone_from(&request.kube_version);
        let chart = &request.chart;
        let source = match chart.location {
            ChartLocation::Tree { tree, dir } => ChartSource::Tree(TreeChart {
                tree,
                path: dir.to_string(),
                repo_url: TREE_LABEL.into(),
                revision: tree_digest(tree, dir)?,
                dependency_credentials: Vec::new(),
            }),
            ChartLocation::Repository { url } => ChartSource::Repository(repo_chart(url, chart)),
            ChartLocation::Oci { url } => ChartSource::Oci(oci_chart(url, chart)),
        };
        let rendered = self.render(&source, &options)?;
        Ok(rendered.objects.to_vec())
    }
}

fn repo_chart(url: &str, chart: &ChartRef<'_>) -> RepoChart {
    RepoChart::new(url, chart.name, chart.version.unwrap_or("*"))
}

/// A kustomization names no credentials and no transport: a registry on
/// a loopback address is spoken to over plain HTTP (as Docker treats
/// `127.0.0.0/8` as an insecure registry), any other over HTTPS.
fn oci_chart(url: &str, chart: &ChartRef<'_>) -> OciChart {
    let mut spec = OciChart::new(url, chart.name, chart.version.unwrap_or(""));
    spec.plain_http = is_loopback(url);
    spec
}

/// Whether the registry host of `url` (`oci://host[:port]/...`) is
/// `localhost` or a loopback IP address.
fn is_loopback(url: &str) -> bool {
    let bare = url.strip_prefix("oci://").unwrap_or(url);
    let authority = bare.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The value files of a request as a tree (`values-0.yaml`, ...).
struct ValuesTree<'a> {
    files: BTreeMap<String, &'a str>,
    labels: Vec<(String, String)>,
}

impl<'a> ValuesTree<'a> {
    fn new(values: &'a [(String, String)]) -> Self {
        let mut files = BTreeMap::new();
        let mut labels = Vec::new();
        for (i, (label, text)) in values.iter().enumerate() {
            let path = format!("values-{i}.yaml");
            files.insert(path.clone(), text.as_str());
            labels.push((path, label.clone()));
        }
        Self { files, labels }
    }

    fn refs(&self) -> Vec<FileRef<'_>> {
        self.labels
            .iter()
            .map(|(path, label)| FileRef::Tree {
                tree: self,
                path: path.clone(),
                label: label.clone(),
            })
            .collect()
    }
}

impl FileTree for ValuesTree<'_> {
    fn entry(&self, path: &str) -> Result<Option<EntryKind>, TreeError> {
        Ok(self.files.contains_key(path).then_some(EntryKind::File))
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, TreeError> {
        self.files
            .get(path)
            .map(|text| text.as_bytes().to_vec())
            .ok_or_else(|| TreeError::NotFound {
                path: path.to_string(),
            })
    }

    fn list(&self, path: &str) -> Result<Vec<(String, EntryKind)>, TreeError> {
        if !path.is_empty() {
            return Err(TreeError::NotFound {
                path: path.to_string(),
            });
        }
        Ok(self
            .files
            .keys()
            .map(|name| (name.clone(), EntryKind::File))
            .collect())
    }
}

/// A digest of every file below `dir` (paths and contents): the "revision"
/// of a chart read from the tree, so an edited chart is rendered again.
fn tree_digest(tree: &dyn FileTree, dir: &str) -> Result<String, TreeError> {
    let mut hasher = Sha256::new();
    let mut pending = vec![dir.to_string()];
    while let Some(current) = pending.pop() {
        for (name, kind) in tree.list(&current)? {
            let path = join(&current, &name)?;
            match kind {
                EntryKind::Dir => pending.push(path),
                EntryKind::File => {
                    let bytes = tree.read(&path)?;
                    hasher.update((path.len() as u64).to_le_bytes());
                    hasher.update(path.as_bytes());
                    hasher.update((bytes.len() as u64).to_le_bytes());
                    hasher.update(&bytes);
                }
            }
        }
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_registries_are_plain_http() {
        for plain in [
            "oci://127.0.0.1:5000/charts",
            "oci://localhost/charts",
            "oci://[::1]:5000/charts",
            "127.0.0.2/charts",
        ] {
            assert!(is_loopback(plain), "{plain}");
        }
        for tls in [
            "oci://ghcr.io/org/charts",
            "oci://10.0.0.1:5000/charts",
            "oci://127.0.0.1.nip.io/charts",
        ] {
            assert!(!is_loopback(tls), "{tls}");
        }
    }

    #[test]
    fn value_files_keep_their_order_and_labels() {
        let values = vec![
            ("web values.yaml".to_string(), "a: 1\n".to_string()),
            ("extra.yaml".to_string(), "b: 2\n".to_string()),
        ];
        let tree = ValuesTree::new(&values);
        let refs = tree.refs();
        let labels: Vec<&str> = refs.iter().map(FileRef::label).collect();
        assert_eq!(labels, ["web values.yaml", "extra.yaml"]);
        assert_eq!(tree.read("values-1.yaml").unwrap(), b"b: 2\n");
        assert!(tree.read("values-2.yaml").is_err());
    }
}
