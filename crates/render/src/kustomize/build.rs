//! The build: accumulating resources, components, generators and
//! transformers of each kustomization in kustomize's order, then the steps
//! only the top level runs (hash suffixes, name references, vars, order).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use serde_json::Value;

use super::config::Config;
use super::file::{Kind, Kustomization};
use super::resource::{Configured, ResId, Resource, effective_namespace_in};
use super::sort::Order;
use super::{generators, images, patches, replacements, replicas, transform, vars};
use crate::error::RenderError;
use crate::object::Object;
use crate::tree::{EntryKind, FileTree, join};
use crate::yaml::Reader;

/// Annotation marking objects kustomize drops from the output.
const LOCAL_CONFIG: &str = "config.kubernetes.io/local-config";

/// What one kustomization (with everything below it) produced.
#[derive(Default)]
pub struct Acc {
    /// The resources, in input order.
    pub resources: Vec<Resource>,
    /// Transformer configuration gathered on the way.
    pub config: Config,
    /// The vars declared so far.
    pub vars: vars::VarSet,
}

/// State shared by one build.
pub struct Context<'r, 't> {
    /// The tree, recording reads.
    pub reader: &'r Reader<'t>,
    /// Directories being built, outermost first (cycle detection).
    stack: Vec<String>,
    /// Whether files may be read from outside their kustomization's directory.
    pub load_anywhere: bool,
    /// The schema of an `openapi:` field (the first one met), for patches.
    pub schema: Option<crate::patch::Schema>,
    /// Whether an `openapi:` field was met already.
    openapi_seen: bool,
    /// What renders `helmCharts` (none: they are refused).
    pub inflater: Option<&'r dyn crate::charts::ChartInflater>,
    /// Whether a resource file was read already: a custom schema met after
    /// that is layered over the built-in one instead of replacing it.
    resources_read: bool,
}

/// Whether a resource entry names a remote location.
fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("git@")
        || entry.starts_with("github.com/")
        || entry.starts_with("gitlab.com/")
        || entry.starts_with("bitbucket.org/")
        || entry.contains("?ref=")
        || entry.contains(".git//")
}

impl<'r, 't> Context<'r, 't> {
    /// A build reading `reader`.
    pub fn new(reader: &'r Reader<'t>, load_anywhere: bool) -> Self {
        Self {
            reader,
            stack: Vec::new(),
            load_anywhere,
            schema: None,
            openapi_seen: false,
            inflater: None,
            resources_read: false,
        }
    }

    /// A file named by a kustomization field, checked against the load
    /// restrictions (inside the kustomization's directory by default).
    pub fn file_path(
        &self,
        k: &Kustomization,
        rel: &str,
        field: &str,
    ) -> Result<String, RenderError> {
        if is_remote(rel) {
            return Err(remote(&k.file, field, rel));
        }
        let path = join(&k.dir, rel)?;
        if !self.load_anywhere && !inside(&k.dir, &path) {
            return Err(RenderError::field(
                &k.file,
                field,
                format!(
                    "security; file '{path}' is not in or below '{}' (load restrictor LoadRestrictionsRootOnly)",
                    if k.dir.is_empty() { "." } else { &k.dir }
                ),
            ));
        }
        Ok(path)
    }

    /// Builds the kustomization in `dir` completely (the top-level steps included).
    pub fn build_root(&mut self, k: &Kustomization) -> Result<Vec<Object>, RenderError> {
        let mut acc = Acc::default();
        self.stack.push(k.dir.clone());
        self.accumulate_target(k, &mut acc)?;
        self.stack.pop();
        let mut resources = acc.resources;
        // Content-hash suffixes of generated objects.
        for res in &mut resources {
            if res.needs_hash {
                let hash = generators::content_hash(&res.object)?;
                let before = res.id();
                let name = format!("{}-{hash}", res.object.name());
                res.object
                    .metadata_mut()
                    .insert("name".into(), Value::String(name));
                res.record(before);
            }
        }
        super::nameref::fix(&mut resources, &acc.config, &k.file)?;
        if !acc.vars.is_empty() {
            let mut specs = vars::default_field_specs();
            specs.extend(acc.config.extra_specs("varReference", &k.file)?);
            with_objects(&mut resources, |objects| acc.vars.resolve(objects, &specs))?;
        }
        resources.retain(|r| r.object.annotation(LOCAL_CONFIG) != Some("true"));
        let order = Order::parse(k.get("sortOptions"), &k.file)?.unwrap_or_default();
        order.sort(&mut resources);
        super::metadata::build_metadata(k, &mut resources)?;
        Ok(resources.into_iter().map(|r| r.object).collect())
    }

    /// Loads the kustomization of `dir`, failing when it has none.
    fn load_dir(
        &self,
        dir: &str,
        referrer: &str,
        field: &str,
    ) -> Result<Kustomization, RenderError> {
        let file = super::find_kustomization(self.reader.tree(), dir)?.ok_or_else(|| {
            RenderError::field(
                referrer,
                field,
                format!(
                    "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{}'",
                    if dir.is_empty() { "." } else { dir }
                ),
            )
        })?;
        Kustomization::load(self.reader, dir, &file)
    }

    fn enter(&mut self, dir: &str, referrer: &str) -> Result<(), RenderError> {
        if self.stack.iter().any(|d| d == dir) {
            let mut chain = self.stack.clone();
            chain.push(dir.to_string());
            return Err(RenderError::Cycle {
                file: referrer.to_string(),
                chain: chain.join(" -> "),
            });
        }
        self.stack.push(dir.to_string());
        Ok(())
    }

    /// Accumulates the kustomization `sub` of directory `dir` (referred to
    /// from `referrer`) into `acc`, with `dir` on the cycle-detection stack
    /// for exactly that long.
    fn accumulate_nested(
        &mut self,
        dir: &str,
        referrer: &str,
        sub: &Kustomization,
        acc: &mut Acc,
    ) -> Result<(), RenderError> {
        self.enter(dir, referrer)?;
        let result = self.accumulate_target(sub, acc);
        self.stack.pop();
        result
    }

    /// Everything one kustomization does, in kustomize's order.
    fn accumulate_target(&mut self, k: &Kustomization, acc: &mut Acc) -> Result<(), RenderError> {
        self.load_openapi(k)?;
        self.accumulate_resources(k, acc)?;
        for (i, path) in k.strings("configurations")?.iter().enumerate() {
            let field = format!("configurations[{i}]");
            let file = self.file_path(k, path, &field)?;
            for doc in self.reader.read_documents(&file)? {
                acc.config.merge_file(&doc, &file)?;
            }
        }
        for (i, path) in k.strings("crds")?.iter().enumerate() {
            let file = self.file_path(k, path, &format!("crds[{i}]"))?;
            for doc in self.reader.read_documents(&file)? {
                super::crds::add_name_references(&mut acc.config, &doc);
            }
        }
        self.run_generators(k, acc)?;
        self.accumulate_components(k, acc)?;
        self.run_transformers(k, acc)?;
        if let Some(list) = k.get("vars") {
            let file = k.file.clone();
            let set = &mut acc.vars;
            with_objects(&mut acc.resources, |objects| {
                set.declare(objects, list, &file)
            })?;
        }
        Ok(())
    }

    /// Reads the `openapi:` field (kustomize keeps the first one met).
    fn load_openapi(&mut self, k: &Kustomization) -> Result<(), RenderError> {
        let Some(openapi) = k.get("openapi") else {
            return Ok(());
        };
        if self.openapi_seen {
            return Ok(());
        }
        self.openapi_seen = true;
        let version = openapi.get("version").and_then(Value::as_str);
        let text = match openapi.get("path").and_then(Value::as_str) {
            Some(path) => {
                let file = self.file_path(k, path, "openapi.path")?;
                Some(self.reader.read_text(&file)?)
            }
            None => None,
        };
        let schema = crate::patch::Schema::for_openapi_field(version, text.as_deref())
            .map_err(|e| RenderError::field(&k.file, "openapi", e.to_string()))?;
        // Kustomize's schema is global: read before any resource, a custom
        // one replaces the built-in schema; read later (in a component, after
        // the resources) it is layered over it, so its `$ref`s to built-in
        // types resolve (see the patch module's docs).
        let schema = match schema {
            std::borrow::Cow::Owned(custom) if self.resources_read => {
                custom.with_base(crate::patch::Schema::builtin())
            }
            other => other.into_owned(),
        };
        self.schema = Some(schema);
        Ok(())
    }

    fn accumulate_resources(
        &mut self,
        k: &Kustomization,
        acc: &mut Acc,
    ) -> Result<(), RenderError> {
        for (i, entry) in k.strings("resources")?.iter().enumerate() {
            let field = format!("resources[{i}]");
            if is_remote(entry) {
                return Err(remote(&k.file, &field, entry));
            }
            let path = join(&k.dir, entry)?;
            match self.reader.entry(&path)? {
                Some(EntryKind::Dir) => {
                    let sub = self.load_dir(&path, &k.file, &field)?;
                    expect_kind(&sub, Kind::Kustomization, &k.file, &field, &path)?;
                    let mut sub_acc = Acc::default();
                    self.accumulate_nested(&path, &k.file, &sub, &mut sub_acc)?;
                    // The base is done: give back what its transformers grew
                    // maps by before this level transforms them again.
                    for r in &mut sub_acc.resources {
                        crate::yaml::compact_map(&mut r.object.0);
                    }
                    append_all(&mut acc.resources, sub_acc.resources, &k.file)?;
                    acc.config.merge(&sub_acc.config);
                    acc.vars.merge(sub_acc.vars, &k.file)?;
                }
                Some(EntryKind::File) => {
                    let file = self.file_path(k, entry, &field)?;
                    let resources = self.read_resources(&file)?;
                    self.resources_read = true;
                    append_all(&mut acc.resources, resources, &k.file)?;
                }
                None => {
                    return Err(RenderError::field(
                        &k.file,
                        &field,
                        format!("accumulating resources: '{path}' does not exist"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The objects of a resource file.
    fn read_resources(&self, file: &str) -> Result<Vec<Resource>, RenderError> {
        let mut objects = Vec::new();
        for doc in self.reader.read_documents(file)? {
            crate::plain::flatten(doc, file, &mut objects)?;
        }
        let mut out = Vec::new();
        for object in objects {
            if matches!(object.kind(), "Kustomization" | "Component")
                && object.api_version().starts_with("kustomize.config.k8s.io")
            {
                return Err(RenderError::resource(
                    file,
                    "a kustomization file was listed as a resource; list its directory instead",
                ));
            }
            if object.name().is_empty() && !object.0.contains_key("metadata") {
                return Err(RenderError::resource(
                    file,
                    format!("missing metadata.name in object of kind {}", object.kind()),
                ));
            }
            out.push(Resource::new(stringify_metadata(object), file));
        }
        Ok(out)
    }

    fn accumulate_components(
        &mut self,
        k: &Kustomization,
        acc: &mut Acc,
    ) -> Result<(), RenderError> {
        for (i, entry) in k.strings("components")?.iter().enumerate() {
            let field = format!("components[{i}]");
            if is_remote(entry) {
                return Err(remote(&k.file, &field, entry));
            }
            let path = join(&k.dir, entry)?;
            if self.reader.entry(&path)? != Some(EntryKind::Dir) {
                return Err(RenderError::field(
                    &k.file,
                    &field,
                    format!("'{path}' must be a directory holding a Component"),
                ));
            }
            let sub = self.load_dir(&path, &k.file, &field)?;
            expect_kind(&sub, Kind::Component, &k.file, &field, &path)?;
            self.accumulate_nested(&path, &k.file, &sub, acc)?;
        }
        Ok(())
    }

    fn run_generators(&mut self, k: &Kustomization, acc: &mut Acc) -> Result<(), RenderError> {
        let tree: &dyn FileTree = self.reader;
        let mut plugin_generated = Vec::new();
        let generated = generators::generate(
            tree,
            &k.dir,
            &k.file,
            k.get("configMapGenerator"),
            k.get("secretGenerator"),
            k.get("generatorOptions"),
        )?;
        let charts = super::helm::generate(self, k)?;
        for (i, entry) in k
            .strings("generators")
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let field = format!("generators[{i}]");
            let (docs, file) = self.plugin_configs(k, entry, &field)?;
            for doc in docs {
                match generators::generate_builtin(tree, &k.dir, &file, &doc)? {
                    Some(g) => {
                        plugin_generated.push((g, Configured::plugin(&file, &doc)));
                    }
                    None => return Err(unsupported_plugin(&file, &field, &doc)),
                }
            }
        }
        let from_fields = generated.into_iter().map(|g| {
            let kind = format!("{}Generator", g.object.kind());
            let by = Configured {
                configured_in: k.file.clone(),
                kind,
                name: None,
                namespace: None,
            };
            (g, by)
        });
        let from_charts = charts.into_iter().map(|g| {
            let by = Configured {
                configured_in: k.file.clone(),
                kind: g.generator_kind.to_string(),
                name: None,
                namespace: None,
            };
            (g, by)
        });
        let all: Vec<_> = from_fields
            .chain(from_charts)
            .chain(plugin_generated)
            .collect();
        if all.is_empty() {
            return Ok(());
        }
        let mut names = NameIndex::default();
        for (i, res) in acc.resources.iter().enumerate() {
            names.add(i, res);
        }
        // At most one new resource each (merges add none), without doubling.
        acc.resources.reserve_exact(all.len());
        for (g, by) in all {
            add_generated(&mut acc.resources, &mut names, g, by, &k.file)?;
        }
        Ok(())
    }

    /// The plugin configs a `generators`/`transformers` entry names: a file or inline YAML.
    fn plugin_configs(
        &mut self,
        k: &Kustomization,
        entry: &str,
        field: &str,
    ) -> Result<(Vec<Value>, String), RenderError> {
        if entry.contains('\n') {
            return Ok((
                crate::yaml::parse_documents(entry, &k.file)?,
                k.file.clone(),
            ));
        }
        if is_remote(entry) {
            return Err(remote(&k.file, field, entry));
        }
        let path = join(&k.dir, entry)?;
        if self.reader.entry(&path)? == Some(EntryKind::Dir) {
            let sub = self.load_dir(&path, &k.file, field)?;
            let mut sub_acc = Acc::default();
            self.accumulate_nested(&path, &k.file, &sub, &mut sub_acc)?;
            let docs = sub_acc
                .resources
                .into_iter()
                .map(|r| r.object.into_value())
                .collect();
            return Ok((docs, sub.file));
        }
        let file = self.file_path(k, entry, field)?;
        Ok((self.reader.read_documents(&file)?, file))
    }

    fn run_transformers(&mut self, k: &Kustomization, acc: &mut Acc) -> Result<(), RenderError> {
        let file = k.file.as_str();
        let res = &mut acc.resources;
        // One shared record per transformer run, not one copy per resource.
        let ran = |res: &mut [Resource], kind: &str| {
            let by = Rc::new(Configured {
                configured_in: file.to_string(),
                kind: kind.to_string(),
                name: None,
                namespace: None,
            });
            for r in res.iter_mut() {
                r.transformations.push(Rc::clone(&by));
            }
        };
        if k.get("patchesStrategicMerge").is_some() {
            patches::strategic_merge_field(self, k, res)?;
            ran(res, "PatchStrategicMergeTransformer");
        }
        if k.get("patches").is_some() {
            patches::patches_field(self, k, res)?;
            ran(res, "PatchTransformer");
        }
        if let Some(ns) = k.string("namespace")?.filter(|ns| !ns.is_empty()) {
            transform::namespace(res, ns, &acc.config, file)?;
            ran(res, "NamespaceTransformer");
        }
        let prefix = k.string("namePrefix")?.unwrap_or("");
        let suffix = k.string("nameSuffix")?.unwrap_or("");
        if !prefix.is_empty() {
            transform::prefix_suffix(res, prefix, "", &acc.config, file)?;
            ran(res, "PrefixTransformer");
        }
        if !suffix.is_empty() {
            transform::prefix_suffix(res, "", suffix, &acc.config, file)?;
            ran(res, "SuffixTransformer");
        }
        let common = k.string_map("commonLabels")?;
        if !common.is_empty() || k.get("labels").is_some() {
            ran(res, "LabelTransformer");
        }
        if !common.is_empty() {
            let mut specs = acc.config.common_labels.clone();
            specs.extend(acc.config.template_labels.iter().cloned());
            transform::add_to_maps(res, &common, "labels", &specs, file)?;
        }
        if let Some(labels) = k.get("labels") {
            for (pairs, selectors, templates, fields) in transform::labels_entries(labels, file)? {
                let mut specs = fields;
                specs.extend(acc.config.labels.iter().cloned());
                if selectors {
                    specs.extend(acc.config.common_labels.iter().cloned());
                    specs.extend(acc.config.template_labels.iter().cloned());
                } else if templates {
                    specs.extend(acc.config.template_labels.iter().cloned());
                }
                transform::add_to_maps(res, &pairs, "labels", &specs, file)?;
            }
        }
        let annotations = k.string_map("commonAnnotations")?;
        if !annotations.is_empty() {
            ran(res, "AnnotationsTransformer");
        }
        transform::add_to_maps(
            res,
            &annotations,
            "annotations",
            &acc.config.common_annotations,
            file,
        )?;
        if k.get("patchesJson6902").is_some() {
            patches::json6902_field(self, k, res)?;
            ran(res, "PatchJson6902Transformer");
        }
        if let Some(list) = k.get("replicas") {
            ran(res, "ReplicaCountTransformer");
            let mut specs = replicas::default_field_specs();
            specs.extend(acc.config.extra_specs("replicas", file)?);
            with_objects_where(
                res,
                |object| replicas::may_scale(object, &specs),
                |objects| replicas::apply_with_field_specs(objects, list, file, &specs),
            )?;
        }
        if let Some(list) = k.get("images") {
            ran(res, "ImageTagTransformer");
            let mut specs = images::default_field_specs();
            specs.extend(acc.config.extra_specs("images", file)?);
            // Images neither match nor change names: no previous ids needed.
            with_objects_where(
                res,
                |_| false,
                |objects| images::apply_with_field_specs(objects, list, file, &specs),
            )?;
        }
        if let Some(list) = k.get("replacements") {
            ran(res, "ReplacementTransformer");
            let tree: &dyn FileTree = self.reader;
            with_objects(res, |objects| {
                replacements::apply(objects, list, tree, &k.dir, file)
            })?;
        }
        for (i, entry) in k.strings("transformers")?.iter().enumerate() {
            let field = format!("transformers[{i}]");
            let (docs, config_file) = self.plugin_configs(k, entry, &field)?;
            for doc in docs {
                let by = Rc::new(Configured::plugin(&config_file, &doc));
                for r in acc.resources.iter_mut() {
                    r.transformations.push(Rc::clone(&by));
                }
                super::plugins::run_transformer(
                    self,
                    k,
                    &mut acc.resources,
                    &acc.config,
                    &doc,
                    &config_file,
                    &field,
                )?;
            }
        }
        if let Some(validators) = k.get("validators")
            && validators.as_array().is_some_and(|v| !v.is_empty())
        {
            return Err(RenderError::Unsupported {
                file: k.file.clone(),
                field: "validators".into(),
                message: "validator plugins are not supported".into(),
            });
        }
        Ok(())
    }
}

/// Whether `path` is `dir` or below it.
fn inside(dir: &str, path: &str) -> bool {
    dir.is_empty() || path == dir || path.starts_with(&format!("{dir}/"))
}

fn remote(file: &str, field: &str, entry: &str) -> RenderError {
    RenderError::Unsupported {
        file: file.to_string(),
        field: field.to_string(),
        message: format!(
            "'{entry}': remote bases are not supported (no network access during a render)"
        ),
    }
}

/// The error for a plugin config kustomize would run as a plugin.
pub fn unsupported_plugin(file: &str, field: &str, doc: &Value) -> RenderError {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("?");
    let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("?");
    RenderError::Unsupported {
        file: file.to_string(),
        field: field.to_string(),
        message: format!("plugin {api}/{kind} is not supported (no exec, container or Go plugins)"),
    }
}

/// Appends resources, refusing an id that is already there: the error
/// names the first of `new` whose id is in `into` or earlier in `new`.
///
/// This runs for every resource file of a kustomization, so the ids of
/// `into` are compared where they are, without copying them.
pub fn append_all(
    into: &mut Vec<Resource>,
    new: Vec<Resource>,
    file: &str,
) -> Result<(), RenderError> {
    let ids: Vec<ResId> = new.iter().map(Resource::id).collect();
    // Group, version, kind, effective namespace, name -> first index in `new`.
    let mut first: HashMap<(&str, &str, &str, &str, &str), usize> =
        HashMap::with_capacity(ids.len());
    let mut duplicate: Option<usize> = None;
    for (i, id) in ids.iter().enumerate() {
        let key = (
            id.group.as_str(),
            id.version.as_str(),
            id.kind.as_str(),
            id.effective_namespace(),
            id.name.as_str(),
        );
        match first.entry(key) {
            Entry::Occupied(_) => {
                duplicate.get_or_insert(i);
            }
            Entry::Vacant(slot) => {
                slot.insert(i);
            }
        }
    }
    // Most existing objects differ by name: compare that first.
    let names: HashSet<&str> = if ids.len() > 8 {
        ids.iter().map(|id| id.name.as_str()).collect()
    } else {
        HashSet::new()
    };
    let may_be_new = |name: &str| {
        if names.is_empty() {
            ids.iter().any(|id| id.name == name)
        } else {
            names.contains(name)
        }
    };
    for res in into.iter() {
        let object = &res.object;
        if !may_be_new(object.name()) {
            continue;
        }
        let (group, kind) = (object.group(), object.kind());
        let namespace = effective_namespace_in(group, kind, object.namespace().unwrap_or(""));
        let key = (group, object.version(), kind, namespace, object.name());
        if let Some(&i) = first.get(&key) {
            duplicate = Some(duplicate.map_or(i, |d| d.min(i)));
        }
    }
    if let Some(i) = duplicate {
        // Those before it are appended, as one at a time would have.
        let id = ids[i].to_string();
        into.extend(new.into_iter().take(i));
        return Err(RenderError::resource(
            file,
            format!("may not add resource with an already registered id: {id}"),
        ));
    }
    into.extend(new);
    Ok(())
}

/// Which resources have (or had) each name: a superset, in no order, of
/// the indices of the resources whose current or earlier name it is.
#[derive(Default)]
struct NameIndex(HashMap<String, Vec<usize>>);

impl NameIndex {
    /// Records the current and earlier names of `res`, at index `i`.
    fn add(&mut self, i: usize, res: &Resource) {
        let names =
            std::iter::once(res.object.name()).chain(res.history.iter().map(|h| h.name.as_str()));
        for name in names {
            let indices = self.0.entry(name.to_string()).or_default();
            if indices.last() != Some(&i) {
                indices.push(i);
            }
        }
    }

    /// The indices that may have had `name`, in order.
    fn get(&self, name: &str) -> Vec<usize> {
        let mut indices = self.0.get(name).cloned().unwrap_or_default();
        indices.sort_unstable();
        indices.dedup();
        indices
    }
}

/// Adds a generated object, or merges it into the one it names (`names`
/// indexes `resources` and is kept up to date).
fn add_generated(
    resources: &mut Vec<Resource>,
    names: &mut NameIndex,
    g: generators::Generated,
    by: Configured,
    file: &str,
) -> Result<(), RenderError> {
    let mut res = Resource::new(g.object, file);
    res.generated_by = Some(by);
    res.needs_hash = g.hash_suffix;
    res.generated = true;
    let id = res.id();
    let matching: Vec<usize> = names
        .get(&id.name)
        .into_iter()
        .filter(|&i| {
            let r = &resources[i];
            r.object.name() == id.name || r.history.iter().any(|h| h.name == id.name)
        })
        .filter(|&i| resources[i].id().same(&id) || resources[i].had_id(&id))
        .collect();
    match g.behavior {
        generators::Behavior::Create => {
            if !matching.is_empty() {
                return Err(RenderError::resource(
                    file,
                    format!("may not add resource with an already registered id: {id}"),
                ));
            }
            names.add(resources.len(), &res);
            resources.push(res);
        }
        behavior => {
            let [i] = matching[..] else {
                return Err(RenderError::resource(
                    file,
                    if matching.is_empty() {
                        format!("id {id} does not exist; cannot merge or replace")
                    } else {
                        format!("found multiple objects {id} to merge or replace")
                    },
                ));
            };
            let before = resources[i].id();
            generators::merge_into(&mut resources[i].object, &res.object, behavior)?;
            if behavior == generators::Behavior::Replace {
                resources[i].generated_by = res.generated_by.take();
            }
            resources[i].needs_hash = resources[i].generated && g.hash_suffix;
            resources[i].record(before);
            names.add(i, &resources[i]);
        }
    }
    Ok(())
}

/// Runs a transformer written for plain objects over resources, keeping
/// their history.
pub fn with_objects(
    resources: &mut [Resource],
    f: impl FnOnce(&mut [Object]) -> Result<(), RenderError>,
) -> Result<(), RenderError> {
    with_objects_where(resources, |_| true, f)
}

/// [`with_objects`], writing the previous ids the transformer matches
/// names against only into the objects `needs_ids` selects (the others
/// cannot be changed by it, and skipping them saves memory on big builds).
pub fn with_objects_where(
    resources: &mut [Resource],
    needs_ids: impl Fn(&Object) -> bool,
    f: impl FnOnce(&mut [Object]) -> Result<(), RenderError>,
) -> Result<(), RenderError> {
    let before: Vec<_> = resources.iter().map(Resource::id).collect();
    let mut objects: Vec<Object> = resources
        .iter_mut()
        .map(|r| {
            let mut object = Object(std::mem::take(&mut r.object.0));
            if !needs_ids(&object) {
                return object;
            }
            let previous: Vec<replacements::ResId> = r
                .history
                .iter()
                .map(|id| replacements::ResId {
                    group: id.group.clone(),
                    version: id.version.clone(),
                    kind: id.kind.clone(),
                    name: id.name.clone(),
                    namespace: id.namespace.clone(),
                })
                .collect();
            replacements::set_previous_ids(&mut object, &previous);
            object
        })
        .collect();
    let result = f(&mut objects);
    for ((res, mut object), id) in resources.iter_mut().zip(objects).zip(before) {
        replacements::clear_previous_ids(&mut object);
        res.object = object;
        res.record(id);
    }
    result
}

/// Labels and annotations are strings: numbers and booleans written
/// unquoted become their text, as kustomize does.
fn stringify_metadata(mut object: Object) -> Object {
    if let Some(Value::Object(meta)) = object.0.get_mut("metadata") {
        for field in ["labels", "annotations"] {
            if let Some(Value::Object(map)) = meta.get_mut(field) {
                for value in map.values_mut() {
                    if matches!(value, Value::Number(_) | Value::Bool(_)) {
                        *value = Value::String(value.to_string());
                    }
                }
            }
        }
    }
    object
}

/// Refuses a Component where a Kustomization belongs and the other way round,
/// in kustomize's words.
fn expect_kind(
    sub: &Kustomization,
    want: Kind,
    file: &str,
    field: &str,
    path: &str,
) -> Result<(), RenderError> {
    if sub.kind == want {
        return Ok(());
    }
    let name = |kind| match kind {
        Kind::Kustomization => "Kustomization",
        Kind::Component => "Component",
    };
    Err(RenderError::field(
        file,
        field,
        format!(
            "expected kind '{}' for path '{path}' but got '{}'",
            name(want),
            name(sub.kind)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn res(kind: &str, name: &str, namespace: Option<&str>) -> Resource {
        let mut meta = json!({"name": name});
        if let Some(ns) = namespace {
            meta["namespace"] = json!(ns);
        }
        let object =
            Object::from_value(json!({"apiVersion": "v1", "kind": kind, "metadata": meta}));
        Resource::new(object.unwrap(), "f.yaml")
    }

    #[test]
    fn append_all_names_the_first_duplicate() {
        let mut into = vec![res("ConfigMap", "a", None), res("Namespace", "n", None)];
        append_all(&mut into, vec![res("ConfigMap", "b", None)], "k.yaml").unwrap();
        assert_eq!(into.len(), 3);
        // `default` is the effective namespace; a Namespace has none.
        let err = append_all(
            &mut into,
            vec![
                res("ConfigMap", "c", None),
                res("ConfigMap", "c", None),
                res("ConfigMap", "a", Some("default")),
            ],
            "k.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.ends_with("/v1/ConfigMap/c.[noNs]"), "{err}");
        assert_eq!(into.len(), 4);
        let err = append_all(
            &mut into,
            vec![
                res("ConfigMap", "d", None),
                res("Namespace", "n", Some("x")),
                res("ConfigMap", "b", None),
            ],
            "k.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.ends_with("/v1/Namespace/n.x"), "{err}");
        assert_eq!(into.len(), 5);
        append_all(&mut into, vec![res("ConfigMap", "a", Some("x"))], "k.yaml").unwrap();
        assert_eq!(into.len(), 6);
    }
}
