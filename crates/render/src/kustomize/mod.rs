//! The Kustomize engine: loads kustomizations and builds them into objects,
//! following kustomize v5.5 (`kubectl kustomize`).
//!
//! Each kustomization is built in kustomize's order ([`build()`], [`mod@build`]): its
//! `resources` (files, and directories built recursively), `configurations`
//! and `crds`, its generators (`configMapGenerator`, `secretGenerator`,
//! `generators`), its `components`, then its transformers (patches,
//! namespace, prefix, suffix, labels, annotations, JSON 6902 patches,
//! replicas, images, replacements, `transformers`) and its `vars`. Only the
//! top level then appends content hashes to generated names, rewrites name
//! references ([`nameref`]), resolves vars, drops local-config objects,
//! sorts ([`sort`]) and adds `buildMetadata` annotations ([`metadata`]).
//!
//! Every resource keeps the ids it had ([`resource::Resource`]), which is how
//! patches, name references, vars and replacements find objects that were
//! renamed on the way.

pub mod build;
pub mod config;
pub mod crds;
pub mod fieldpath;
pub mod file;
pub mod generators;
pub mod helm;
pub mod images;
pub mod metadata;
pub mod nameref;
pub mod overrides;
pub mod patches;
pub mod plugins;
pub mod replacements;
pub mod replicas;
pub mod resource;
pub mod select;
pub mod sort;
pub mod specs;
pub mod transform;
pub mod vars;

use crate::RenderOptions;
use crate::error::RenderError;
use crate::object::Object;
use crate::tree::{FileTree, join};
use crate::yaml::Reader;

/// The file names kustomize recognizes, in its order of preference.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The kustomization file of `dir`, `None` when it has none; an error when
/// it has more than one.
pub fn find_kustomization(tree: &dyn FileTree, dir: &str) -> Result<Option<String>, RenderError> {
    let mut found = Vec::new();
    for name in KUSTOMIZATION_FILES {
        let path = join(dir, name)?;
        if tree.entry(&path)? == Some(crate::EntryKind::File) {
            found.push(path);
        }
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(RenderError::resource(
            dir,
            format!("found multiple kustomization files: {}", found.join(", ")),
        )),
    }
}

/// Builds the kustomization in `dir`, with Argo CD's overrides applied to it.
pub fn build(
    reader: &Reader<'_>,
    dir: &str,
    options: &RenderOptions,
) -> Result<Vec<Object>, RenderError> {
    let Some(file) = find_kustomization(reader.tree(), dir)? else {
        return Err(RenderError::resource(
            dir,
            "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization'",
        ));
    };
    let mut k = file::Kustomization::load(reader, dir, &file)?;
    if let Some(overrides) = &options.kustomize {
        overrides::apply(&mut k, overrides)?;
    }
    let mut ctx = build::Context::new(reader, options.load_restrictions_none);
    ctx.inflater = options.chart_inflater.as_ref().map(|i| &*i.0);
    ctx.build_root(&k)
}
