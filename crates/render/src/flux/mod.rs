//! Flux's build of a path, as kustomize-controller does it (fluxcd/pkg
//! `kustomize` generator, then a kustomize build with
//! `LoadRestrictionsNone` and plugins disabled), on the native engine.
//!
//! 1. The root kustomization: the path's own kustomization file, or, when it
//!    has none, one generated from its manifests (`generate`): every
//!    `.yaml`/`.yml` file found recursively (hidden ones too, other
//!    extensions ignored), and every sub-directory that holds a
//!    kustomization file as one resource, not descended into.
//! 2. The Kustomization's own fields are written into that root
//!    kustomization as Flux's generator writes them (`overlay`):
//!    `targetNamespace`, `namePrefix` and `nameSuffix` replace the file's
//!    values, `patches`, `patchesStrategicMerge`, `patchesJson6902` and
//!    `components` are appended, `images` are merged by name.
//! 3. The native engine builds it. Files outside the path (but inside the
//!    tree) may be read, as Flux allows.
//!
//! `postBuild` substitution ([`crate::substitute`]) and `commonMetadata`
//! ([`set_common_metadata`]) come after the build, in that order, as
//! kustomize-controller runs them: common labels and annotations are set on
//! `metadata` only (never on selectors or templates) and are not
//! substituted.

mod generate;
mod metadata;
mod overlay;

use serde_json::Value;

pub use metadata::set_common_metadata;

use crate::error::RenderError;
use crate::kustomize::{self, build::Context, file::Kustomization};
use crate::tree::{FileTree, join};
use crate::yaml::Reader;
use crate::{PatchTarget, Rendered, SourceType};

/// A Flux Kustomization's build fields (`spec.*`), as the render needs them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FluxOptions {
    /// `spec.targetNamespace`: replaces the root kustomization's `namespace`.
    pub target_namespace: Option<String>,
    /// `spec.namePrefix`: replaces the root kustomization's `namePrefix`.
    pub name_prefix: Option<String>,
    /// `spec.nameSuffix`: replaces the root kustomization's `nameSuffix`.
    pub name_suffix: Option<String>,
    /// `spec.patches`: appended to the root kustomization's `patches`.
    pub patches: Vec<FluxPatch>,
    /// v1beta2 `spec.patchesStrategicMerge`: each patch object, appended to
    /// the root kustomization's `patchesStrategicMerge`.
    pub patches_strategic_merge: Vec<Value>,
    /// v1beta2 `spec.patchesJson6902`: appended to the root kustomization's
    /// `patchesJson6902`.
    pub patches_json6902: Vec<FluxJson6902Patch>,
    /// `spec.images`: merged by name into the root kustomization's `images`.
    pub images: Vec<FluxImage>,
    /// `spec.components`: paths relative to the rendered path, appended to
    /// the root kustomization's `components`.
    pub components: Vec<String>,
    /// `spec.ignoreMissingComponents`: leave out components that do not exist.
    pub ignore_missing_components: bool,
}

/// One entry of `spec.patches`: an inline patch and the objects it targets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FluxPatch {
    /// The patch text (a strategic merge patch or a JSON 6902 list, YAML or JSON).
    pub patch: String,
    /// Which objects it applies to; a strategic merge patch without one
    /// applies to the object it names.
    pub target: Option<PatchTarget>,
}

/// One entry of v1beta2 `spec.patchesJson6902`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FluxJson6902Patch {
    /// The objects it applies to.
    pub target: PatchTarget,
    /// The operations (`op`, `path`, `value`, `from`), as JSON.
    pub operations: Vec<Value>,
}

/// One entry of `spec.images`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FluxImage {
    /// The image name to match (without tag or digest).
    pub name: String,
    /// A replacement name.
    pub new_name: Option<String>,
    /// A replacement tag.
    pub new_tag: Option<String>,
    /// A replacement digest (wins over the tag).
    pub digest: Option<String>,
}

/// Builds `path` of `tree` as Flux does (see the module docs). `path` is a
/// normalized tree path.
pub(crate) fn render(
    tree: &dyn FileTree,
    path: &str,
    flux: &FluxOptions,
) -> Result<Rendered, RenderError> {
    let reader = Reader::new(tree);
    match tree.entry(path)? {
        Some(crate::EntryKind::Dir) => {}
        found => {
            let what = if found.is_some() {
                "a file"
            } else {
                "not found"
            };
            return Err(RenderError::resource(
                crate::warning::display_dir(path),
                format!("kustomization path is {what}: Flux builds a directory of the source"),
            ));
        }
    }
    let (mut root, source_type, warnings) = match kustomize::find_kustomization(tree, path)? {
        Some(file) => {
            let mut k = Kustomization::load(&reader, path, &file)?;
            overlay::allow_empty_resources(&mut k);
            (k, SourceType::Kustomize, Vec::new())
        }
        None => {
            let (k, warnings) = generate::kustomization(&reader, path)?;
            (k, SourceType::Directory, warnings)
        }
    };
    overlay::apply(&mut root, flux, tree)?;
    let objects = Context::new(&reader, true).build_root(&root)?;
    Ok(Rendered {
        objects,
        source_type,
        files_read: reader.into_files_read(),
        warnings,
    })
}

/// The label used for a generated kustomization in error messages.
pub(crate) fn generated_file_name(dir: &str) -> Result<String, RenderError> {
    Ok(format!(
        "{} (generated)",
        join(dir, kustomize::KUSTOMIZATION_FILES[0])?
    ))
}
