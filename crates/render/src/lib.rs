//! Renders a path of a read-only file tree (a Git commit, or a directory on
//! disk) into Kubernetes objects: natively for Kustomize overlays, and for
//! plain directories of YAML/JSON manifests.

pub mod charts;
pub mod error;
pub mod external;
pub mod flux;
pub mod jsonnet;
pub mod kustomize;
pub mod merge;
pub mod object;
pub mod patch;
pub mod plain;
pub mod process;
pub mod substitute;
pub mod tree;
pub mod warning;
pub mod yaml;

pub use charts::{ChartInflater, SharedInflater};
pub use error::RenderError;
pub use external::ExternalKustomize;
pub use object::{Object, ObjectKey};
pub use tree::{DiskTree, EntryKind, FileTree, SkippedLink, TreeError};
pub use warning::RenderWarning;

/// How a path was rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceType {
    /// A Kustomize overlay (a kustomization file was found).
    Kustomize,
    /// A plain directory of manifests.
    Directory,
    /// A Helm chart rendered by `helm template` (driftless-helm; the
    /// controller produces these, this crate's renderer never does).
    Helm,
}

/// The result of a render.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// The objects, in output order.
    pub objects: Vec<Object>,
    /// How the path was rendered.
    pub source_type: SourceType,
    /// Every file the render read (tree paths, sorted, deduplicated).
    pub files_read: Vec<String>,
    /// What the render skipped (symlinks not followed, files of a kind it
    /// does not render); empty when it rendered everything it found.
    pub warnings: Vec<RenderWarning>,
}

/// A patch given by an Application's `spec.source.kustomize.patches`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OverridePatch {
    /// A file with the patch, relative to the rendered path.
    pub path: Option<String>,
    /// The patch text (strategic merge or JSON 6902, YAML or JSON).
    pub patch: Option<String>,
    /// Which objects it applies to.
    pub target: Option<PatchTarget>,
    /// `allowNameChange`, `allowKindChange`.
    pub options: std::collections::BTreeMap<String, bool>,
}

/// A patch target selector, as in a kustomization's `patches[].target`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PatchTarget {
    /// API group.
    pub group: Option<String>,
    /// API version.
    pub version: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Name (a regular expression anchored at both ends).
    pub name: Option<String>,
    /// Namespace (a regular expression anchored at both ends).
    pub namespace: Option<String>,
    /// Label selector, e.g. `app=web,tier!=db`.
    pub label_selector: Option<String>,
    /// Annotation selector.
    pub annotation_selector: Option<String>,
}

/// Argo CD's `spec.source.kustomize` overrides, applied to the root
/// kustomization the way `kustomize edit set ...` would before building.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KustomizeOverrides {
    /// Images as `name=newName:tag`, `name:tag`, `name@digest`, ...
    pub images: Vec<String>,
    /// `namePrefix`.
    pub name_prefix: Option<String>,
    /// `nameSuffix`.
    pub name_suffix: Option<String>,
    /// `commonLabels`.
    pub common_labels: Vec<(String, String)>,
    /// `commonAnnotations`.
    pub common_annotations: Vec<(String, String)>,
    /// `namespace`.
    pub namespace: Option<String>,
    /// `replicas`: (object name, count).
    pub replicas: Vec<(String, i64)>,
    /// `patches`.
    pub patches: Vec<OverridePatch>,
    /// `components` (paths relative to the rendered path).
    pub components: Vec<String>,
}

/// Argo CD's `spec.source.directory` options for plain directories.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DirectoryOptions {
    /// Descend into sub-directories.
    pub recurse: bool,
    /// Only files matching this glob (`{a,b}` alternation allowed).
    pub include: Option<String>,
    /// Skip files matching this glob.
    pub exclude: Option<String>,
    /// How `*.jsonnet` files are evaluated (`directory.jsonnet`).
    pub jsonnet: jsonnet::JsonnetOptions,
}

/// Options of one render.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RenderOptions {
    /// Overrides for a Kustomize path.
    pub kustomize: Option<KustomizeOverrides>,
    /// Options for a plain-directory path.
    pub directory: Option<DirectoryOptions>,
    /// Allow kustomizations to read files outside their own directory
    /// (`--load-restrictor LoadRestrictionsNone`); never outside the tree.
    pub load_restrictions_none: bool,
    /// A kustomize command for the paths the native engine refuses (Helm
    /// charts, plugins, remote bases); `None` keeps those an error.
    pub external_kustomize: Option<ExternalKustomize>,
    /// What renders a kustomization's `helmCharts` natively (driftless-helm);
    /// `None` keeps them an error (or hands them to `external_kustomize`).
    pub chart_inflater: Option<SharedInflater>,
    /// Render the path as Flux's kustomize-controller does, with these
    /// Kustomization fields (see [`flux`]); the other options are then not used.
    pub flux: Option<flux::FluxOptions>,
}

/// Renders `path` (a directory of `tree`, `""` for the root): a Kustomize
/// build when it holds a kustomization file, else a plain directory (its
/// `*.jsonnet` files evaluated, see [`jsonnet`]). A Helm chart directory is
/// an error rather than an empty render.
/// With [`RenderOptions::flux`] set, the path is built as Flux builds it
/// ([`flux`]) instead.
pub fn render(
    tree: &dyn FileTree,
    path: &str,
    options: &RenderOptions,
) -> Result<Rendered, RenderError> {
    let path = tree::join("", path)?;
    if let Some(flux) = &options.flux {
        return flux::render(tree, &path, flux);
    }
    let reader = yaml::Reader::new(tree);
    if kustomize::find_kustomization(tree, &path)?.is_some() {
        return build_kustomization(reader, &path, options);
    }
    let plain = plain::render(&reader, &path, options.directory.as_ref())?;
    Ok(Rendered {
        objects: plain.objects,
        source_type: SourceType::Directory,
        files_read: reader.into_files_read(),
        warnings: plain.warnings,
    })
}

/// Renders `path` as `kubectl kustomize` would: an error when it holds no
/// kustomization file (no plain-directory fallback).
pub fn render_kustomization(
    tree: &dyn FileTree,
    path: &str,
    options: &RenderOptions,
) -> Result<Rendered, RenderError> {
    let path = tree::join("", path)?;
    build_kustomization(yaml::Reader::new(tree), &path, options)
}

/// A native Kustomize build, handed to the external command (when one is
/// configured) if the native engine refuses a feature the path uses.
fn build_kustomization(
    reader: yaml::Reader<'_>,
    path: &str,
    options: &RenderOptions,
) -> Result<Rendered, RenderError> {
    match kustomize::build(&reader, path, options) {
        Ok(objects) => Ok(Rendered {
            objects,
            source_type: SourceType::Kustomize,
            files_read: reader.into_files_read(),
            warnings: Vec::new(),
        }),
        Err(refused @ RenderError::Unsupported { .. }) => {
            let Some(external) = &options.external_kustomize else {
                return Err(refused);
            };
            tracing::debug!(path, %refused, command = %external.display(), "rendering with the external kustomize");
            let (objects, files_read) =
                external::render(reader.tree(), path, options.kustomize.as_ref(), external)?;
            Ok(Rendered {
                objects,
                source_type: SourceType::Kustomize,
                files_read,
                warnings: Vec::new(),
            })
        }
        Err(other) => Err(other),
    }
}

/// Prints objects as `kubectl kustomize` does: YAML documents separated by `---`.
pub fn to_yaml(objects: &[Object]) -> Result<String, RenderError> {
    yaml::to_yaml(objects)
}

/// Writes objects as [`to_yaml`] prints them, one document at a time.
pub fn write_yaml(objects: &[Object], out: &mut dyn std::io::Write) -> Result<(), RenderError> {
    yaml::write_yaml(objects, out)
}
