//! `configMapGenerator`, `secretGenerator` and `generatorOptions`, as
//! kustomize v5.5 builds them, plus the content hash kustomize appends to
//! generated names.
//!
//! The engine calls [`generate`] with the raw kustomization fields, adds
//! each [`Generated`] object (or, for `merge`/`replace`, folds it into the
//! existing object with [`merge_into`]), and at the very end of the build
//! (after prefixes, suffixes and patches, as kustomize does) renames every
//! object whose `hash_suffix` holds to `<name>-<content_hash(object)>` and
//! updates the references to it.
//!
//! Besides the kustomization fields, [`generate_builtin`] reads the
//! `apiVersion: builtin` `ConfigMapGenerator`/`SecretGenerator`/
//! `IAMPolicyGenerator` configs a kustomization may list under
//! `generators:`, and [`generate_with_restrictor`] lifts the rule that
//! files stay inside the kustomization's directory.
//!
//! Notes for the engine: when an object is merged or replaced, it keeps the
//! hash suffix only when both the existing object and the generated one
//! want it ([`merged_hash_suffix`]; checked with kubectl: a base with
//! `disableNameSuffixHash: true` merged by an overlay without it, or a plain
//! resource merged by a generator, get no suffix); and `merge`/`replace`
//! with no existing object, or `create` with an existing one, are errors
//! the engine reports (kustomize: "id ... does not exist; cannot merge or
//! replace", "id ... exists; behavior must be merge or replace").
//! [`Generated::origin_annotation`] gives the `buildMetadata` origin text.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::RenderError;
use crate::object::Object;
use crate::tree::{self, FileTree};

/// What a generator does when an object with the same id already exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behavior {
    /// A new object (the default); an existing one with the same id is an error.
    Create,
    /// Merge the generated data into the existing object (generated keys win).
    Merge,
    /// Replace the existing object's data (its name, namespace, labels and
    /// annotations are kept, merged with the generated ones).
    Replace,
}

/// One generated ConfigMap or Secret.
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    /// The object, named without the hash suffix.
    pub object: Object,
    /// What to do when an object with the same id exists.
    pub behavior: Behavior,
    /// Whether the content hash must be appended to the name at the end of
    /// the build (false with `disableNameSuffixHash: true`).
    pub hash_suffix: bool,
    /// The builtin generator that made it: `ConfigMapGenerator`,
    /// `SecretGenerator` or `IAMPolicyGenerator`.
    pub generator_kind: &'static str,
    /// `metadata.name` of the generator's config, for `generators:`
    /// entries (`None` for the kustomization's own generator fields).
    pub generator_name: Option<String>,
}

impl Generated {
    /// The text of the `config.kubernetes.io/origin` annotation kustomize
    /// writes on generated objects with `buildMetadata: [originAnnotations]`;
    /// `configured_in` is the file holding the generator's config, relative
    /// to the directory being built (e.g. `../base/kustomization.yaml`).
    pub fn origin_annotation(&self, configured_in: &str) -> String {
        let mut text = format!(
            "configuredIn: {configured_in}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {}\n",
            self.generator_kind
        );
        if let Some(name) = &self.generator_name {
            text.push_str(&format!("  name: {name}\n"));
        }
        text
    }
}

/// `generatorOptions`, and `options` of one generator.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Options {
    #[serde(default, deserialize_with = "string_map")]
    labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "string_map")]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    disable_name_suffix_hash: bool,
    #[serde(default)]
    immutable: bool,
}

impl Options {
    /// kustomize's `MergeGlobalOptionsIntoLocal`: local labels and
    /// annotations win, either flag set anywhere is set.
    fn merged_with_global(mut self, global: Option<&Options>) -> Self {
        if let Some(global) = global {
            for (k, v) in &global.labels {
                self.labels.entry(k.clone()).or_insert_with(|| v.clone());
            }
            for (k, v) in &global.annotations {
                self.annotations
                    .entry(k.clone())
                    .or_insert_with(|| v.clone());
            }
            self.disable_name_suffix_hash |= global.disable_name_suffix_hash;
            self.immutable |= global.immutable;
        }
        self
    }
}

/// A map of strings; like kustomize, numbers and booleans must be quoted
/// (`1.10` would otherwise lose its trailing zero).
fn string_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let raw: Option<BTreeMap<String, Value>> = Option::deserialize(d)?;
    let mut out = BTreeMap::new();
    for (k, v) in raw.unwrap_or_default() {
        let text = match v {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "value of {k} must be a string, not {other} (quote it)"
                )));
            }
        };
        out.insert(k, text);
    }
    Ok(out)
}

/// One entry of `configMapGenerator` or `secretGenerator`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Args {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    behavior: String,
    #[serde(default)]
    literals: Vec<String>,
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    envs: Vec<String>,
    /// Deprecated single env file.
    #[serde(default)]
    env: String,
    #[serde(default)]
    options: Option<Options>,
    /// Secret type (`Opaque` when empty).
    #[serde(default, rename = "type")]
    secret_type: String,
}

/// Which kind of object a generator makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    ConfigMap,
    Secret,
}

impl Kind {
    fn field(self) -> &'static str {
        match self {
            Kind::ConfigMap => "configMapGenerator",
            Kind::Secret => "secretGenerator",
        }
    }
}

/// Where a generator reads its files: the tree, the kustomization's
/// directory (files must stay inside it, as with kustomize's default load
/// restrictor, unless `anywhere`) and the kustomization file (for errors).
struct Source<'a> {
    tree: &'a dyn FileTree,
    dir: &'a str,
    file: &'a str,
    anywhere: bool,
}

impl Source<'_> {
    fn read(&self, rel: &str, field: &str) -> Result<Vec<u8>, RenderError> {
        let path = tree::join(self.dir, rel)?;
        let inside =
            self.dir.is_empty() || path == self.dir || path.starts_with(&format!("{}/", self.dir));
        if !inside && !self.anywhere {
            return Err(RenderError::field(
                self.file,
                field,
                format!("security; file '{path}' is not in or below '{}'", self.dir),
            ));
        }
        Ok(self.tree.read(&path)?)
    }
}

/// Builds every object of `configMapGenerator` and `secretGenerator` (in
/// that order, each in list order), applying `generatorOptions`.
///
/// `dir` is the kustomization's directory in `tree` (files are read
/// relative to it) and `kustomization_file` its path, used in errors.
pub fn generate(
    tree: &dyn FileTree,
    dir: &str,
    kustomization_file: &str,
    config_map_generator: Option<&Value>,
    secret_generator: Option<&Value>,
    generator_options: Option<&Value>,
) -> Result<Vec<Generated>, RenderError> {
    generate_with_restrictor(
        tree,
        dir,
        kustomization_file,
        config_map_generator,
        secret_generator,
        generator_options,
        false,
    )
}

/// [`generate`], where `load_anywhere` (kustomize's `--load-restrictor
/// LoadRestrictionsNone`) lets files and env files be read from outside
/// the kustomization's directory (never outside the tree).
pub fn generate_with_restrictor(
    tree: &dyn FileTree,
    dir: &str,
    kustomization_file: &str,
    config_map_generator: Option<&Value>,
    secret_generator: Option<&Value>,
    generator_options: Option<&Value>,
    load_anywhere: bool,
) -> Result<Vec<Generated>, RenderError> {
    let source = Source {
        tree,
        dir,
        file: kustomization_file,
        anywhere: load_anywhere,
    };
    let global: Option<Options> = match generator_options {
        None | Some(Value::Null) => None,
        Some(v) => Some(serde_json::from_value(v.clone()).map_err(|e| {
            RenderError::field(kustomization_file, "generatorOptions", e.to_string())
        })?),
    };
    let mut out = Vec::new();
    for (kind, value) in [
        (Kind::ConfigMap, config_map_generator),
        (Kind::Secret, secret_generator),
    ] {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            continue;
        };
        let list = value.as_array().ok_or_else(|| {
            RenderError::field(kustomization_file, kind.field(), "must be a list")
        })?;
        for (i, entry) in list.iter().enumerate() {
            let field = format!("{}[{i}]", kind.field());
            let args: Args = serde_json::from_value(entry.clone())
                .map_err(|e| RenderError::field(kustomization_file, &field, e.to_string()))?;
            out.push(build(&source, kind, args, global.as_ref(), &field)?);
        }
    }
    Ok(out)
}

/// Builds the object of a `generators:` entry holding an `apiVersion:
/// builtin` `ConfigMapGenerator` or `SecretGenerator` config (its
/// `metadata.name`/`namespace` stand in for `name`/`namespace`), or an
/// `IAMPolicyGenerator` (a GKE workload-identity ServiceAccount).
/// `Ok(None)` for any other kind. `file` is the config's path, for errors.
pub fn generate_builtin(
    tree: &dyn FileTree,
    dir: &str,
    file: &str,
    config: &Value,
) -> Result<Option<Generated>, RenderError> {
    let kind = match config.get("kind").and_then(Value::as_str) {
        Some("ConfigMapGenerator") => Kind::ConfigMap,
        Some("SecretGenerator") => Kind::Secret,
        Some("IAMPolicyGenerator") => return iam_policy(config, file).map(Some),
        _ => return Ok(None),
    };
    let mut fields = config.as_object().cloned().unwrap_or_default();
    let metadata = fields.remove("metadata");
    fields.remove("apiVersion");
    fields.remove("kind");
    let mut args: Args = serde_json::from_value(Value::Object(fields))
        .map_err(|e| RenderError::field(file, kind.field(), e.to_string()))?;
    let meta = |key: &str| {
        metadata
            .as_ref()
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    if args.name.is_empty() {
        args.name = meta("name");
    }
    if args.namespace.is_empty() {
        args.namespace = meta("namespace");
    }
    let source = Source {
        tree,
        dir,
        file,
        anywhere: false,
    };
    let mut generated = build(&source, kind, args, None, kind.field())?;
    let name = meta("name");
    generated.generator_name = (!name.is_empty()).then_some(name);
    Ok(Some(generated))
}

/// kustomize's `IAMPolicyGenerator`: for `cloud: gke`, a ServiceAccount
/// annotated with the Google service account it impersonates.
fn iam_policy(config: &Value, file: &str) -> Result<Generated, RenderError> {
    let text = |path: &[&str]| -> String {
        let mut node = config;
        for key in path {
            node = node.get(key).unwrap_or(&Value::Null);
        }
        node.as_str().unwrap_or("").to_string()
    };
    let cloud = text(&["cloud"]);
    if cloud != "gke" {
        return Err(RenderError::field(
            file,
            "cloud",
            format!("cloud provider {cloud} not supported yet"),
        ));
    }
    let mut metadata = Map::new();
    let account = format!(
        "{}@{}.iam.gserviceaccount.com",
        text(&["serviceAccount", "name"]),
        text(&["serviceAccount", "projectId"])
    );
    let mut annotations = Map::new();
    annotations.insert(
        "iam.gke.io/gcp-service-account".into(),
        Value::String(account),
    );
    metadata.insert("annotations".into(), Value::Object(annotations));
    metadata.insert(
        "name".into(),
        Value::String(text(&["kubernetesService", "name"])),
    );
    let namespace = text(&["kubernetesService", "namespace"]);
    if !namespace.is_empty() {
        metadata.insert("namespace".into(), Value::String(namespace));
    }
    let mut object = Map::new();
    object.insert("apiVersion".into(), Value::String("v1".into()));
    object.insert("kind".into(), Value::String("ServiceAccount".into()));
    object.insert("metadata".into(), Value::Object(metadata));
    Ok(Generated {
        object: Object(object),
        behavior: Behavior::Create,
        hash_suffix: false,
        generator_kind: "IAMPolicyGenerator",
        generator_name: config
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

fn build(
    source: &Source<'_>,
    kind: Kind,
    args: Args,
    global: Option<&Options>,
    field: &str,
) -> Result<Generated, RenderError> {
    let file = source.file;
    if args.name.is_empty() {
        return Err(RenderError::field(
            file,
            field,
            "a generator must have a name",
        ));
    }
    let behavior = match args.behavior.as_str() {
        "" | "create" => Behavior::Create,
        "merge" => Behavior::Merge,
        "replace" => Behavior::Replace,
        other => {
            return Err(RenderError::field(
                file,
                &format!("{field}.behavior"),
                format!("unknown behavior {other:?}: expected create, merge or replace"),
            ));
        }
    };
    let options = args
        .options
        .clone()
        .unwrap_or_default()
        .merged_with_global(global);
    let pairs = load_pairs(source, &args, field)?;
    let mut data: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (key, value) in pairs {
        validate_key(&key).map_err(|m| RenderError::field(file, field, m))?;
        if data.contains_key(&key) {
            let what = match kind {
                Kind::ConfigMap => "configmap",
                Kind::Secret => "secret",
            };
            return Err(RenderError::field(
                file,
                field,
                format!("{what} {} illegally repeats the key `{key}`", args.name),
            ));
        }
        data.insert(key, value);
    }

    let mut metadata = Map::new();
    metadata.insert("name".into(), Value::String(args.name.clone()));
    if !args.namespace.is_empty() {
        metadata.insert("namespace".into(), Value::String(args.namespace.clone()));
    }
    if !options.labels.is_empty() {
        metadata.insert("labels".into(), string_map_value(&options.labels));
    }
    if !options.annotations.is_empty() {
        metadata.insert("annotations".into(), string_map_value(&options.annotations));
    }
    let mut object = Map::new();
    object.insert("apiVersion".into(), Value::String("v1".into()));
    match kind {
        Kind::ConfigMap => {
            object.insert("kind".into(), Value::String("ConfigMap".into()));
            object.insert("metadata".into(), Value::Object(metadata));
            let mut text = Map::new();
            let mut binary = Map::new();
            for (key, bytes) in data {
                match String::from_utf8(bytes) {
                    Ok(s) => {
                        text.insert(key, Value::String(s));
                    }
                    Err(e) => {
                        binary.insert(key, Value::String(encode_base64(e.as_bytes())));
                    }
                }
            }
            if !text.is_empty() {
                object.insert("data".into(), Value::Object(text));
            }
            if !binary.is_empty() {
                object.insert("binaryData".into(), Value::Object(binary));
            }
        }
        Kind::Secret => {
            object.insert("kind".into(), Value::String("Secret".into()));
            object.insert("metadata".into(), Value::Object(metadata));
            let secret_type = if args.secret_type.is_empty() {
                "Opaque"
            } else {
                args.secret_type.as_str()
            };
            object.insert("type".into(), Value::String(secret_type.into()));
            let encoded = data
                .into_iter()
                .map(|(k, v)| (k, Value::String(encode_base64(&v))))
                .collect();
            object.insert("data".into(), Value::Object(encoded));
        }
    }
    if options.immutable {
        object.insert("immutable".into(), Value::Bool(true));
    }
    Ok(Generated {
        object: Object(object),
        behavior,
        hash_suffix: !options.disable_name_suffix_hash,
        generator_kind: match kind {
            Kind::ConfigMap => "ConfigMapGenerator",
            Kind::Secret => "SecretGenerator",
        },
        generator_name: None,
    })
}

fn string_map_value(map: &BTreeMap<String, String>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// Reads every key/value pair in kustomize's order: env files, literals,
/// then files.
fn load_pairs(
    source: &Source<'_>,
    args: &Args,
    field: &str,
) -> Result<Vec<(String, Vec<u8>)>, RenderError> {
    let file = source.file;
    let mut pairs = Vec::new();
    let env_files = args
        .envs
        .iter()
        .chain(std::iter::once(&args.env).filter(|e| !e.is_empty()));
    for env in env_files {
        let content = source.read(env, &format!("{field}.envs"))?;
        let parsed = parse_env_file(&content).map_err(|m| {
            RenderError::field(file, &format!("{field}.envs"), format!("{env}: {m}"))
        })?;
        pairs.extend(parsed.into_iter().map(|(k, v)| (k, v.into_bytes())));
    }
    for literal in &args.literals {
        let (k, v) = parse_literal(literal)
            .map_err(|m| RenderError::field(file, &format!("{field}.literals"), m))?;
        pairs.push((k, v.into_bytes()));
    }
    for entry in &args.files {
        let (key, path) = parse_file_source(entry)
            .map_err(|m| RenderError::field(file, &format!("{field}.files"), m))?;
        let content = source.read(&path, &format!("{field}.files"))?;
        pairs.push((key, content));
    }
    Ok(pairs)
}

/// A `literals` entry `key=value`; matching quotes around the value are
/// removed (a lone quote is kept, as kustomize v5.5 does).
fn parse_literal(source: &str) -> Result<(String, String), String> {
    match source.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), remove_quotes(value))),
        _ => Err(format!(
            "invalid literal source {source}, expected key=value"
        )),
    }
}

fn remove_quotes(s: &str) -> String {
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last))
            if s.len() >= 2 && first == last && (first == b'"' || first == b'\'') =>
        {
            s[1..s.len() - 1].to_string()
        }
        _ => s.to_string(),
    }
}

/// A `files` entry: `path` (key = file name) or `key=path`.
fn parse_file_source(source: &str) -> Result<(String, String), String> {
    match source.matches('=').count() {
        0 => {
            let key = source.rsplit('/').next().unwrap_or(source);
            Ok((key.to_string(), source.to_string()))
        }
        1 if source.starts_with('=') => Err(format!(
            "missing key name for file path {:?} in source {source:?}",
            &source[1..]
        )),
        1 if source.ends_with('=') => Err(format!(
            "missing file path for key name {:?} in source {source:?}",
            &source[..source.len() - 1]
        )),
        1 => {
            let (key, path) = source.split_once('=').unwrap_or((source, ""));
            Ok((key.to_string(), path.to_string()))
        }
        _ => Err("key names or file paths cannot contain '='".into()),
    }
}

/// Parses an env file as kustomize does: one `KEY=value` per line (the
/// value kept verbatim, quotes included), leading whitespace ignored,
/// blank lines and `#` comments skipped, a line without `=` giving an empty
/// value, a UTF-8 BOM dropped from the first line.
pub fn parse_env_file(content: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let text = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    for (number, line) in lines.into_iter().enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = std::str::from_utf8(line)
            .map_err(|_| format!("line {} has invalid utf8 bytes", number + 1))?;
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        validate_env_name(key)?;
        out.push((key.to_string(), value.to_string()));
    }
    Ok(out)
}

fn validate_env_name(key: &str) -> Result<(), String> {
    let mut chars = key.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '-' | '_' | '.'))
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{key:?} is not a valid environment variable name: it must consist of alphabetic \
             characters, digits, '_', '-', or '.', and must not start with a digit"
        ))
    }
}

/// A ConfigMap/Secret key: `[-._a-zA-Z0-9]+`, at most 253 characters, not
/// `.` or `..`.
fn validate_key(key: &str) -> Result<(), String> {
    let valid = !key.is_empty()
        && key.len() <= 253
        && key != "."
        && key != ".."
        && !key.starts_with("..")
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{key:?} is not a valid key name for a ConfigMap or Secret: it must consist of \
             alphanumeric characters, '-', '_' or '.'"
        ))
    }
}

/// Base64 as kyaml writes generated data: standard alphabet, and when the
/// result is 70 characters or more, broken into lines of 70, each ending
/// with a newline.
fn encode_base64(bytes: &[u8]) -> String {
    const LINE: usize = 70;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    if encoded.len() < LINE {
        return encoded;
    }
    let mut out = String::with_capacity(encoded.len() + encoded.len() / LINE + 1);
    for chunk in encoded.as_bytes().chunks(LINE) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// An annotation the engine may put on objects that need the hash suffix
/// (kustomize keeps the same flag internally); [`merge_into`] keeps it
/// only when both objects carry it (see [`merged_hash_suffix`]). Remove it
/// before output, like every `internal.config.kubernetes.io/` annotation.
pub const NEEDS_HASH_ANNOTATION: &str = "internal.config.kubernetes.io/needsHashSuffix";

/// Whether an object that a generator merged into or replaced still gets
/// the hash suffix: only when both the existing object and the generated
/// one asked for it (kustomize v5.5: a merge into a plain resource, or a
/// merge with `disableNameSuffixHash: true`, gives no suffix).
pub fn merged_hash_suffix(existing: bool, generated: bool) -> bool {
    existing && generated
}

/// Folds a generated object into the existing object with the same id,
/// as kustomize does for `behavior: merge` and `behavior: replace`:
///
/// - the existing name and namespace are kept;
/// - labels and annotations are merged, the generated ones winning, except
///   kustomize's build annotations (`internal.config.kubernetes.io/...`),
///   where the existing ones win;
/// - `merge`: `data` and `binaryData` are merged, generated keys winning;
///   `replace`: the generated data replaces the existing data.
///
/// `Behavior::Create` is an error: the object exists.
pub fn merge_into(
    existing: &mut Object,
    generated: &Object,
    behavior: Behavior,
) -> Result<(), RenderError> {
    if behavior == Behavior::Create {
        return Err(RenderError::resource(
            "",
            format!(
                "id {} exists; behavior must be merge or replace",
                existing.key()
            ),
        ));
    }
    let mut result = generated.clone();
    let old_meta = existing.0.get("metadata").and_then(Value::as_object);
    let new_meta = generated.0.get("metadata").and_then(Value::as_object);
    let merged_map = |key: &str, old_wins: &dyn Fn(&str) -> bool| -> Option<Map<String, Value>> {
        let old = old_meta.and_then(|m| m.get(key)).and_then(Value::as_object);
        let new = new_meta.and_then(|m| m.get(key)).and_then(Value::as_object);
        if old.is_none() && new.is_none() {
            return None;
        }
        let mut out = old.cloned().unwrap_or_default();
        for (k, v) in new.into_iter().flatten() {
            if old.is_some_and(|o| o.contains_key(k)) && old_wins(k) {
                continue;
            }
            out.insert(k.clone(), v.clone());
        }
        Some(out)
    };
    let labels = merged_map("labels", &|_| false);
    let keep_origin = behavior == Behavior::Merge;
    let mut annotations = merged_map("annotations", &|k: &str| {
        k.starts_with("internal.config.kubernetes.io/")
            || k.starts_with("kustomize.config.k8s.io/")
            || (keep_origin && k == "config.kubernetes.io/origin")
    });
    let both_hashed = existing.annotation(NEEDS_HASH_ANNOTATION).is_some()
        && generated.annotation(NEEDS_HASH_ANNOTATION).is_some();
    if let Some(map) = annotations.as_mut().filter(|_| !both_hashed) {
        map.remove(NEEDS_HASH_ANNOTATION);
    }
    let name = existing.name().to_string();
    let namespace = existing.namespace().map(str::to_string);
    {
        let meta = result.metadata_mut();
        meta.insert("name".into(), Value::String(name));
        match namespace {
            Some(ns) => {
                meta.insert("namespace".into(), Value::String(ns));
            }
            None => {
                meta.remove("namespace");
            }
        }
        for (key, value) in [("labels", labels), ("annotations", annotations)] {
            match value {
                Some(map) if !map.is_empty() => {
                    meta.insert(key.into(), Value::Object(map));
                }
                _ => {
                    meta.remove(key);
                }
            }
        }
    }
    if behavior == Behavior::Merge {
        for key in ["data", "binaryData"] {
            let mut merged: BTreeMap<String, Value> = BTreeMap::new();
            for source in [&existing.0, &generated.0] {
                if let Some(map) = source.get(key).and_then(Value::as_object) {
                    for (k, v) in map {
                        merged.insert(k.clone(), v.clone());
                    }
                }
            }
            if merged.is_empty() {
                result.0.remove(key);
            } else {
                result
                    .0
                    .insert(key.into(), Value::Object(merged.into_iter().collect()));
            }
        }
    }
    *existing = result;
    Ok(())
}

/// The 10-character suffix kustomize appends to a generated object's name:
/// the SHA-256 of a canonical JSON encoding (for a ConfigMap: `kind`,
/// `name`, `data` and, when it is a map, `binaryData`; for a Secret:
/// `kind`, `type`, `name`, `data` and `stringData`; else the whole object;
/// `name` is always empty, as kustomize's lookup of it never matches, so
/// the hash does not depend on the name),
/// its first 10 hex digits with `0 1 3 a e` spelled `g h k m t`.
pub fn content_hash(object: &Object) -> Result<String, RenderError> {
    let field = |key: &str| -> Value {
        match object.0.get(key) {
            None | Some(Value::Null) => Value::String(String::new()),
            Some(v) => v.clone(),
        }
    };
    // kustomize looks the name up with the single key "metadata/name",
    // which never matches: the name it hashes is always empty.
    let name = Value::String(String::new());
    let mut canonical = Map::new();
    match object.kind() {
        "ConfigMap" => {
            canonical.insert("kind".into(), Value::String("ConfigMap".into()));
            canonical.insert("name".into(), name);
            canonical.insert("data".into(), field("data"));
            if let Some(binary @ Value::Object(_)) = object.0.get("binaryData") {
                canonical.insert("binaryData".into(), binary.clone());
            }
        }
        "Secret" => {
            canonical.insert("kind".into(), Value::String("Secret".into()));
            canonical.insert("type".into(), field("type"));
            canonical.insert("name".into(), name);
            canonical.insert("data".into(), field("data"));
            if let Some(string_data @ Value::Object(_)) = object.0.get("stringData") {
                canonical.insert("stringData".into(), string_data.clone());
            }
        }
        _ => canonical = object.0.clone(),
    }
    let mut encoded = String::new();
    go_json(&Value::Object(canonical), &mut encoded);
    let digest = Sha256::digest(encoded.as_bytes());
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    Ok(hex
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect())
}

/// Encodes a value as Go's `encoding/json` does for `map[string]interface{}`:
/// keys sorted by bytes, no spaces, HTML-safe string escaping.
fn go_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => go_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json_string(key, out);
                out.push(':');
                go_json(&map[key], out);
            }
            out.push('}');
        }
    }
}

fn go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An in-memory tree for tests.
    struct Mem(BTreeMap<String, Vec<u8>>);

    impl FileTree for Mem {
        fn entry(&self, path: &str) -> Result<Option<tree::EntryKind>, tree::TreeError> {
            Ok(self.0.contains_key(path).then_some(tree::EntryKind::File))
        }
        fn read(&self, path: &str) -> Result<Vec<u8>, tree::TreeError> {
            self.0
                .get(path)
                .cloned()
                .ok_or_else(|| tree::TreeError::NotFound {
                    path: path.to_string(),
                })
        }
        fn list(&self, _: &str) -> Result<Vec<(String, tree::EntryKind)>, tree::TreeError> {
            Ok(Vec::new())
        }
    }

    fn mem(files: &[(&str, &[u8])]) -> Mem {
        Mem(files
            .iter()
            .map(|(p, c)| (p.to_string(), c.to_vec()))
            .collect())
    }

    fn hashed_name(g: &Generated) -> String {
        format!("{}-{}", g.object.name(), content_hash(&g.object).unwrap())
    }

    #[test]
    fn literal_quotes_and_hash_match_kustomize() {
        // TestDataEndsWithQuotes and TestDataIsSingleQuote.
        let tree = mem(&[]);
        let cm = json!([{"name": "test", "literals": ["TEST=this is a 'test'"]}]);
        let out = generate(&tree, "", "kustomization.yaml", Some(&cm), None, None).unwrap();
        assert_eq!(out[0].object.0["data"], json!({"TEST": "this is a 'test'"}));
        assert_eq!(hashed_name(&out[0]), "test-k9cc55dfm5");
        let cm = json!([{"name": "test", "literals": ["TEST='"]}]);
        let out = generate(&tree, "", "kustomization.yaml", Some(&cm), None, None).unwrap();
        assert_eq!(out[0].object.0["data"], json!({"TEST": "'"}));
        assert_eq!(hashed_name(&out[0]), "test-m8t7bmb6g2");
    }

    #[test]
    fn builtin_config_with_multiline_literals() {
        // TestConfigMapGeneratorLiteralNewline.
        let tree = mem(&[]);
        let config = json!({
            "apiVersion": "builtin", "kind": "ConfigMapGenerator",
            "metadata": {"name": "testing"},
            "literals": ["initial.txt=greetings\neveryone\n", "final.txt=different\nbehavior\n"]
        });
        let g = generate_builtin(&tree, "", "configmaps.yaml", &config)
            .unwrap()
            .unwrap();
        assert_eq!(hashed_name(&g), "testing-tt4769fb52");
        // TestAnnoOriginGeneratorFromFile's annotation.
        assert_eq!(
            g.origin_annotation("configmap.yaml"),
            "configuredIn: configmap.yaml\nconfiguredBy:\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n  name: testing\n"
        );
    }

    /// TestGkeGeneratorWithNamespace.
    #[test]
    fn iam_policy_generator() {
        let config = json!({"apiVersion": "builtin", "kind": "IAMPolicyGenerator",
            "metadata": {"name": "g"}, "cloud": "gke",
            "kubernetesService": {"namespace": "k8s-namespace", "name": "k8s-sa-name"},
            "serviceAccount": {"name": "gsa-name", "projectId": "project-id"}});
        let g = generate_builtin(&mem(&[]), "", "k.yaml", &config)
            .unwrap()
            .unwrap();
        assert_eq!(
            g.object.into_value(),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
                "annotations": {"iam.gke.io/gcp-service-account": "gsa-name@project-id.iam.gserviceaccount.com"},
                "name": "k8s-sa-name", "namespace": "k8s-namespace"}})
        );
        assert!(!g.hash_suffix);
        let mut aws = config.clone();
        aws["cloud"] = json!("aws");
        assert!(generate_builtin(&mem(&[]), "", "k.yaml", &aws).is_err());
    }

    #[test]
    fn env_files() {
        // TestGeneratorFromProperties (base).
        let tree = mem(&[("base/properties", b"\nVAR1=100\n")]);
        let cm = json!([{"name": "test-configmap", "behavior": "create", "envs": ["properties"]}]);
        let out = generate(
            &tree,
            "base",
            "base/kustomization.yaml",
            Some(&cm),
            None,
            None,
        )
        .unwrap();
        assert_eq!(out[0].object.0["data"], json!({"VAR1": "100"}));
        assert_eq!(out[0].behavior, Behavior::Create);
        let parsed = parse_env_file(b"\xEF\xBB\xBF# c\n  A=\"q\" x\r\nB\n\nC=a=b").unwrap();
        assert_eq!(
            parsed,
            [
                ("A".to_string(), "\"q\" x".to_string()),
                ("B".to_string(), String::new()),
                ("C".to_string(), "a=b".to_string())
            ]
        );
        assert!(parse_env_file(b"1A=x").is_err());
    }

    #[test]
    fn binary_files_go_to_binary_data() {
        // TestGeneratorOverlaysBinaryData: 30 times 0xff "hello".
        let content: Vec<u8> = std::iter::repeat_n(b"\xffhello".as_slice(), 30)
            .flatten()
            .copied()
            .collect();
        let tree = mem(&[("base/data.bin", &content)]);
        let cm = json!([{"name": "com1", "behavior": "create", "files": ["data.bin"]}]);
        let mut out = generate(
            &tree,
            "base",
            "base/kustomization.yaml",
            Some(&cm),
            None,
            None,
        )
        .unwrap();
        let obj = &mut out[0].object;
        assert!(obj.0.get("data").is_none());
        let b64 = obj.0["binaryData"]["data.bin"].as_str().unwrap();
        assert!(
            b64.starts_with("/2hlbGxv/2hl") && b64.ends_with("2hlbGxv\n"),
            "{b64}"
        );
        assert_eq!(b64.lines().next().unwrap().len(), 70);
        obj.metadata_mut().insert("name".into(), json!("p1-com1"));
        assert_eq!(content_hash(obj).unwrap(), "96gmmt6gt5");
    }

    /// Output of kubectl kustomize v5.5 for the same input (env quoting,
    /// CRLF, literals with quotes, non-ASCII file, HTML characters, an
    /// immutable typed Secret).
    #[test]
    fn matches_kubectl_on_edge_cases() {
        let tree = mem(&[
            ("e.env", b"A=\"q\"\n  B=x y \nC\n# c\nD=a=b\r\nE=<&>\n"),
            ("u.txt", "\u{e9}\n".as_bytes()),
        ]);
        let cm = json!([{"name": "e", "envs": ["e.env"], "files": ["k=u.txt"],
                         "literals": ["L=\"x\"", "M='y", "N=\"\""]}]);
        let sec = json!([{"name": "s", "literals": ["a=b"], "type": "kubernetes.io/tls",
                          "options": {"immutable": true, "labels": {"x": "1"}}}]);
        let out = generate(&tree, "", "k.yaml", Some(&cm), Some(&sec), None).unwrap();
        assert_eq!(
            out[0].object.0["data"],
            json!({"A": "\"q\"", "B": "x y ", "C": "", "D": "a=b", "E": "<&>",
                   "L": "x", "M": "'y", "N": "", "k": "\u{e9}\n"})
        );
        assert_eq!(hashed_name(&out[0]), "e-ck6f9hm7g9");
        assert_eq!(hashed_name(&out[1]), "s-92982c4m8f");
    }

    #[test]
    fn secrets_are_base64_with_type() {
        let tree = mem(&[("a/key.pem", b"abc")]);
        let sec = json!([{"name": "s", "type": "kubernetes.io/tls", "files": ["tls.key=key.pem"],
                          "literals": ["user=admin"], "options": {"immutable": true}}]);
        let out = generate(&tree, "a", "a/kustomization.yaml", None, Some(&sec), None).unwrap();
        let obj = &out[0].object;
        assert_eq!(obj.kind(), "Secret");
        assert_eq!(obj.0["type"], "kubernetes.io/tls");
        assert_eq!(
            obj.0["data"],
            json!({"tls.key": "YWJj", "user": "YWRtaW4="})
        );
        assert_eq!(obj.0["immutable"], true);
    }

    #[test]
    fn options_merge_global_and_local() {
        let tree = mem(&[]);
        let cm = json!([{"name": "c", "namespace": "ns", "literals": ["a=b"],
                         "options": {"labels": {"x": "local"}, "annotations": {"n": "1"}}}]);
        let global = json!({"labels": {"x": "global", "y": "g"}, "disableNameSuffixHash": true});
        let out = generate(&tree, "", "k.yaml", Some(&cm), None, Some(&global)).unwrap();
        let obj = &out[0].object;
        assert_eq!(obj.0["metadata"]["labels"], json!({"x": "local", "y": "g"}));
        assert_eq!(obj.0["metadata"]["annotations"], json!({"n": "1"}));
        assert_eq!(obj.namespace(), Some("ns"));
        assert!(!out[0].hash_suffix);
        let numeric = json!([{"name": "c", "options": {"labels": {"v": 1.10}}}]);
        let err = generate(&tree, "", "k.yaml", Some(&numeric), None, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("configMapGenerator[0]") && err.contains("quote"),
            "{err}"
        );
    }

    #[test]
    fn errors_name_file_and_field() {
        let tree = mem(&[]);
        let cm = json!([{"name": "c", "literals": ["a=b", "a=c"]}]);
        let err = generate(&tree, "", "k.yaml", Some(&cm), None, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("k.yaml")
                && err.contains("configMapGenerator[0]")
                && err.contains("repeats"),
            "{err}"
        );
        let cm = json!([{"name": "c", "literals": ["=b"]}]);
        assert!(generate(&tree, "", "k.yaml", Some(&cm), None, None).is_err());
        let cm = json!([{"name": "c", "files": ["../x"]}]);
        let tree = mem(&[("x", b"1")]);
        let err = generate(&tree, "d", "d/k.yaml", Some(&cm), None, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not in or below"), "{err}");
        let out =
            generate_with_restrictor(&tree, "d", "d/k.yaml", Some(&cm), None, None, true).unwrap();
        assert_eq!(out[0].object.0["data"], json!({"x": "1"}));
        let cm = json!([{"name": "c", "behavior": "upsert"}]);
        assert!(generate(&tree, "", "k.yaml", Some(&cm), None, None).is_err());
    }

    #[test]
    fn merge_and_replace() {
        let mut existing = Object::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "p-cm", "namespace": "a", "labels": {"l": "old", "k": "old"},
                         "annotations": {"internal.config.kubernetes.io/previousNames": "cm"}},
            "data": {"a": "1", "b": "2"}
        }))
        .unwrap();
        let generated = Object::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cm", "labels": {"l": "new"},
                         "annotations": {"internal.config.kubernetes.io/previousNames": "x"}},
            "data": {"b": "3", "c": "4"}
        }))
        .unwrap();
        let mut merged = existing.clone();
        merge_into(&mut merged, &generated, Behavior::Merge).unwrap();
        assert_eq!(merged.name(), "p-cm");
        assert_eq!(merged.namespace(), Some("a"));
        assert_eq!(merged.0["data"], json!({"a": "1", "b": "3", "c": "4"}));
        assert_eq!(
            merged.0["metadata"]["labels"],
            json!({"l": "new", "k": "old"})
        );
        assert_eq!(
            merged.annotation("internal.config.kubernetes.io/previousNames"),
            Some("cm")
        );
        merge_into(&mut existing, &generated, Behavior::Replace).unwrap();
        assert_eq!(existing.0["data"], json!({"b": "3", "c": "4"}));
        assert!(merge_into(&mut existing, &generated, Behavior::Create).is_err());
    }

    /// Every ConfigMap and Secret in the conformance corpus whose name ends
    /// in a 10-character suffix must hash to that suffix (the corpus is
    /// kustomize's output, so this checks the hash on ~100 real objects).
    #[test]
    fn corpus_hash_suffixes() {
        let cases = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/conformance/kustomize/cases");
        let Ok(entries) = std::fs::read_dir(&cases) else {
            eprintln!("corpus not found at {}; skipped", cases.display());
            return;
        };
        let (mut checked, mut failed) = (0, Vec::new());
        for entry in entries.flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path().join("expected.yaml")) else {
                continue;
            };
            let docs = crate::yaml::parse_documents(&text, "expected.yaml").unwrap();
            for doc in docs {
                let Some(obj) = Object::from_value(doc) else {
                    continue;
                };
                if !matches!(obj.kind(), "ConfigMap" | "Secret") {
                    continue;
                }
                let Some((_, suffix)) = obj.name().rsplit_once('-') else {
                    continue;
                };
                let hash_like =
                    suffix.len() == 10 && suffix.chars().all(|c| "ghkmt2456789bcdf".contains(c));
                if !hash_like {
                    continue;
                }
                checked += 1;
                let got = content_hash(&obj).unwrap();
                if got != suffix {
                    failed.push(format!("{:?}: {} -> {got}", entry.file_name(), obj.name()));
                }
            }
        }
        assert!(
            failed.is_empty(),
            "{} of {checked} differ: {failed:#?}",
            failed.len()
        );
        assert!(checked > 50, "only {checked} hashed objects found");
    }

    /// Every generator in the corpus's kustomizations (of cases that are
    /// not expected to fail) builds without error.
    #[test]
    fn corpus_generators_build() {
        let cases = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/conformance/kustomize/cases");
        let Ok(entries) = std::fs::read_dir(&cases) else {
            eprintln!("corpus not found at {}; skipped", cases.display());
            return;
        };
        let (mut built, mut failures) = (0, Vec::new());
        for entry in entries.flatten() {
            let case = entry.path();
            if case.join("expected_error.txt").exists() {
                continue;
            }
            let tree = crate::tree::DiskTree::new(case.join("input")).unwrap();
            let mut stack = vec![String::new()];
            while let Some(dir) = stack.pop() {
                for (name, kind) in tree.list(&dir).unwrap() {
                    let path = tree::join(&dir, &name).unwrap();
                    if kind == tree::EntryKind::Dir {
                        stack.push(path);
                        continue;
                    }
                    if name != "kustomization.yaml" {
                        continue;
                    }
                    let text = String::from_utf8(tree.read(&path).unwrap()).unwrap();
                    let k = crate::yaml::parse_one(&text, &path).unwrap();
                    let result = generate(
                        &tree,
                        &dir,
                        &path,
                        k.get("configMapGenerator"),
                        k.get("secretGenerator"),
                        k.get("generatorOptions"),
                    );
                    match result {
                        Ok(out) => built += out.len(),
                        Err(e) => failures.push(format!("{:?}: {e}", entry.file_name())),
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
        assert!(built > 50, "only {built} generated objects");
    }

    #[test]
    fn go_json_escapes_like_go() {
        let mut s = String::new();
        go_json(&json!({"b": "<&>\u{1}", "a": [1, true, null]}), &mut s);
        assert_eq!(s, r#"{"a":[1,true,null],"b":"\u003c\u0026\u003e\u0001"}"#);
    }
}
