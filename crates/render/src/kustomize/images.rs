//! The kustomization's `images` field: new names, tags and digests for
//! container images, as kustomize v5.5's `ImageTagTransformer` sets them;
//! and [`parse_argo_image`] for Argo CD's `spec.source.kustomize.images`.
//!
//! Each entry is applied to every object (in list order) twice, as
//! kustomize does: first to the `image` of every element of any list named
//! `containers` or `initContainers`, wherever it is in the object; then to
//! the field specs (the defaults, [`default_field_specs`], plus any from
//! `configurations`, see [`apply_with_field_specs`]).
//! `CustomResourceDefinition`s are never changed.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::fieldpath::{FieldSpec, Step, scalar_string, split_slash_path, value_at_mut};
use crate::error::RenderError;
use crate::object::Object;

/// One `images` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Image {
    /// The image to match, without tag or digest (kustomize reads it as a
    /// regular expression anchored at the start).
    pub name: String,
    /// Replaces the name.
    pub new_name: String,
    /// Replaces the tag (and drops a digest, unless `digest` is also set).
    pub new_tag: String,
    /// Replaces the digest (and drops a tag, unless `new_tag` is also set).
    pub digest: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawImage {
    #[serde(default)]
    name: Value,
    #[serde(default)]
    new_name: Value,
    #[serde(default)]
    new_tag: Value,
    #[serde(default)]
    digest: Value,
}

/// kustomize's default field specs for images (`spec/containers[]/image`,
/// `spec/initContainers[]/image` and the same under `spec/template`).
pub fn default_field_specs() -> Vec<FieldSpec> {
    [
        "spec/containers[]/image",
        "spec/initContainers[]/image",
        "spec/template/spec/containers[]/image",
        "spec/template/spec/initContainers[]/image",
    ]
    .into_iter()
    .map(|path| FieldSpec::new("", path, true))
    .collect()
}

/// Parses the `images` field (`file` names the kustomization in errors).
pub fn parse(images: &Value, file: &str) -> Result<Vec<Image>, RenderError> {
    if images.is_null() {
        return Ok(Vec::new());
    }
    let list = images
        .as_array()
        .ok_or_else(|| RenderError::field(file, "images", "must be a list"))?;
    let mut out = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let field = format!("images[{i}]");
        let raw: RawImage = serde_json::from_value(entry.clone())
            .map_err(|e| RenderError::field(file, &field, e.to_string()))?;
        let text = |v: &Value, name: &str| -> Result<String, RenderError> {
            // Like kustomize, only strings: a number such as `1.10` would
            // silently lose its trailing zero.
            match v {
                Value::Null => Ok(String::new()),
                Value::String(s) => Ok(s.clone()),
                other => Err(RenderError::field(
                    file,
                    &format!("{field}.{name}"),
                    format!("must be a string, not {other} (quote it)"),
                )),
            }
        };
        out.push(Image {
            name: text(&raw.name, "name")?,
            new_name: text(&raw.new_name, "newName")?,
            new_tag: text(&raw.new_tag, "newTag")?,
            digest: text(&raw.digest, "digest")?,
        });
    }
    Ok(out)
}

/// Applies the `images` field to `objects` with the default field specs.
pub fn apply(objects: &mut [Object], images: &Value, file: &str) -> Result<(), RenderError> {
    apply_with_field_specs(objects, images, file, &default_field_specs())
}

/// Applies the `images` field with the given field specs (the defaults
/// plus those of `configurations`).
///
/// kustomize applies each entry in turn to every object, through the
/// containers walk and then each selected field spec, so a field reached
/// `k` times (e.g. by the walk and by a default spec) is rewritten by the
/// first entry `k` times, then by the second `k` times, and so on. This
/// finds each object's image fields (and how often each is reached) once
/// and applies the entries in that order, which gives the same result:
/// which fields are reached, and any error, do not depend on the image
/// values. Only a field spec that could change an object's `kind` or
/// `apiVersion` (and so which specs select it) makes that untrue: then the
/// entries are applied one at a time to every object.
pub fn apply_with_field_specs(
    objects: &mut [Object],
    images: &Value,
    file: &str,
    field_specs: &[FieldSpec],
) -> Result<(), RenderError> {
    let images = parse(images, file)?;
    if images.is_empty() {
        return Ok(());
    }
    let entries: Vec<(&Image, Matcher)> = images
        .iter()
        .map(|image| (image, Matcher::new(&image.name)))
        .collect();
    if field_specs.iter().any(may_change_type) {
        return apply_per_entry(objects, &entries, file, field_specs);
    }
    for object in objects.iter_mut() {
        if object.kind() == "CustomResourceDefinition" {
            continue;
        }
        let fields = image_fields(object, field_specs).map_err(|message| {
            RenderError::field(file, "images", format!("{}: {message}", object.key()))
        })?;
        for (path, times) in fields {
            let Some(value) = value_at_mut(&mut object.0, &path) else {
                continue;
            };
            for (image, matcher) in &entries {
                // A reference that does not match is left as it is.
                for _ in 0..times {
                    if !rewrite(value, image, matcher) {
                        break;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Whether a field spec's path starts at `kind` or `apiVersion`.
fn may_change_type(spec: &FieldSpec) -> bool {
    let segments = split_slash_path(&spec.path);
    let first = segments.first().map_or("", String::as_str);
    matches!(
        first.strip_suffix("[]").unwrap_or(first),
        "kind" | "apiVersion"
    )
}

/// Paths to image fields, each with how many times it is reached.
type Fields = Vec<(Vec<Step<String>>, usize)>;

/// The image fields of `object` that the entries rewrite (`null`s left
/// out) with how many times each is reached: once by the containers walk
/// and once by each selected field spec reaching it. Errors as the first
/// entry would meet them: the walk's first, then each spec's in order.
fn image_fields(object: &Object, field_specs: &[FieldSpec]) -> Result<Fields, String> {
    let mut found: Vec<Vec<Step<String>>> = Vec::new();
    let mut path = Vec::new();
    walk_container_images(&object.0, &mut path, &mut found)?;
    for spec in field_specs.iter().filter(|s| s.selects(object)) {
        spec.visit(object, &mut |path, value| {
            check(value)?;
            if !value.is_null() {
                found.push(path.iter().map(Step::to_owned_step).collect());
            }
            Ok(())
        })?;
    }
    found.sort_unstable();
    let mut fields: Fields = Vec::with_capacity(found.len());
    for path in found {
        match fields.last_mut() {
            Some((last, times)) if *last == path => *times += 1,
            _ => fields.push((path, 1)),
        }
    }
    Ok(fields)
}

/// Collects the path of the `image` of every element of every
/// `containers`/`initContainers` list anywhere below `map`, in the order
/// kustomize visits them.
fn walk_container_images<'a>(
    map: &'a Map<String, Value>,
    path: &mut Vec<Step<&'a str>>,
    found: &mut Vec<Vec<Step<String>>>,
) -> Result<(), String> {
    for (key, value) in map {
        path.push(Step::Field(key.as_str()));
        walk_container_images_in(value, path, found)?;
        if (key == "containers" || key == "initContainers")
            && let Value::Array(items) = value
        {
            for (i, item) in items.iter().enumerate() {
                let Some(field) = item.as_object().and_then(|m| m.get("image")) else {
                    continue;
                };
                check(field)?;
                if !field.is_null() {
                    let mut owned: Vec<Step<String>> =
                        path.iter().map(Step::to_owned_step).collect();
                    owned.push(Step::Index(i));
                    owned.push(Step::Field("image".to_string()));
                    found.push(owned);
                }
            }
        }
        path.pop();
    }
    Ok(())
}

fn walk_container_images_in<'a>(
    node: &'a Value,
    path: &mut Vec<Step<&'a str>>,
    found: &mut Vec<Vec<Step<String>>>,
) -> Result<(), String> {
    match node {
        Value::Object(map) => walk_container_images(map, path, found),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Index(i));
                let result = walk_container_images_in(item, path, found);
                path.pop();
                result?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// kustomize's order, one entry at a time over all objects (see
/// [`apply_with_field_specs`]).
fn apply_per_entry(
    objects: &mut [Object],
    entries: &[(&Image, Matcher)],
    file: &str,
    field_specs: &[FieldSpec],
) -> Result<(), RenderError> {
    for (image, matcher) in entries {
        for object in objects.iter_mut() {
            if object.kind() == "CustomResourceDefinition" {
                continue;
            }
            let key = object.key();
            let error =
                |message: String| RenderError::field(file, "images", format!("{key}: {message}"));
            let mut root = Value::Object(std::mem::take(&mut object.0));
            let walked = walk_containers(&mut root, image, matcher);
            if let Value::Object(map) = root {
                object.0 = map;
            }
            walked.map_err(error)?;
            let selected: Vec<&FieldSpec> =
                field_specs.iter().filter(|s| s.selects(object)).collect();
            for spec in selected {
                let mut set = |v: &mut Value| update(v, image, matcher);
                // Fields are never created here: a missing image stays missing.
                let spec = FieldSpec {
                    create: false,
                    ..spec.clone()
                };
                spec.apply(object, &Value::Null, &mut set).map_err(error)?;
            }
        }
    }
    Ok(())
}

/// Visits every `containers`/`initContainers` list anywhere in `node`.
fn walk_containers(node: &mut Value, image: &Image, matcher: &Matcher) -> Result<(), String> {
    match node {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                walk_containers(value, image, matcher)?;
                if (key == "containers" || key == "initContainers")
                    && let Value::Array(items) = value
                {
                    for item in items {
                        if let Some(field) = item.as_object_mut().and_then(|m| m.get_mut("image")) {
                            update(field, image, matcher)?;
                        }
                    }
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            for item in items {
                walk_containers(item, image, matcher)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Matches image references against an entry's name the way kustomize's
/// `IsImageMatched` does: `^name(:tag)?(@sha256:digest)?$`.
///
/// Most names hold no regular expression syntax but `.` (any character):
/// those are matched directly, without compiling an expression.
struct Matcher {
    kind: MatcherKind,
    name: String,
}

enum MatcherKind {
    /// The name is letters, digits, `/`, `_`, `-`, `:`, `@` and `.` only.
    Simple,
    Regex(regex::Regex),
    /// Not a valid expression: the name is compared literally.
    Invalid,
}

impl Matcher {
    fn new(name: &str) -> Self {
        let simple = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_-:@.".contains(c));
        let kind = if simple {
            MatcherKind::Simple
        } else {
            let pattern = format!("^{name}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$");
            match regex::Regex::new(&pattern) {
                Ok(regex) => MatcherKind::Regex(regex),
                Err(_) => MatcherKind::Invalid,
            }
        };
        Self {
            kind,
            name: name.to_string(),
        }
    }

    fn matches(&self, reference: &str) -> bool {
        match &self.kind {
            MatcherKind::Simple => simple_match(&self.name, reference),
            MatcherKind::Regex(regex) => regex.is_match(reference),
            MatcherKind::Invalid => split(reference).0 == self.name,
        }
    }
}

/// `^name(:[a-zA-Z0-9_.{}-]*)?(@sha256:[a-zA-Z0-9_.{}-]*)?$` for a name of
/// literal ASCII characters and `.` (any character but a newline).
fn simple_match(name: &str, reference: &str) -> bool {
    // `name` is ASCII, and an ASCII byte is never part of a longer UTF-8
    // sequence: compare bytes, stepping over a whole character for a `.`.
    let bytes = reference.as_bytes();
    let mut at = 0;
    for want in name.bytes() {
        let Some(&have) = bytes.get(at) else {
            return false;
        };
        if want == b'.' {
            if have == b'\n' {
                return false;
            }
            at += utf8_len(have);
        } else if have != want {
            return false;
        } else {
            at += 1;
        }
    }
    let in_class = |c: char| c.is_ascii_alphanumeric() || "_.{}-".contains(c);
    let rest = &reference[at..];
    let rest = match rest.strip_prefix(':') {
        Some(tag) => tag.trim_start_matches(in_class),
        None => rest,
    };
    let rest = match rest.strip_prefix("@sha256:") {
        Some(digest) => digest.trim_start_matches(in_class),
        None => rest,
    };
    rest.is_empty()
}

/// The length of the UTF-8 character starting with byte `first`.
fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// Rewrites one image reference when it matches; an error for a map or a
/// list.
fn update(value: &mut Value, image: &Image, matcher: &Matcher) -> Result<(), String> {
    check(value)?;
    rewrite(value, image, matcher);
    Ok(())
}

/// An image field must be a scalar (or `null`).
fn check(value: &Value) -> Result<(), String> {
    match value {
        Value::Object(_) | Value::Array(_) => Err("an image field must hold a string".into()),
        _ => Ok(()),
    }
}

/// Rewrites one scalar image reference when it matches (`null`, maps and
/// lists are left alone); whether it matched.
fn rewrite(value: &mut Value, image: &Image, matcher: &Matcher) -> bool {
    let converted;
    let reference = match &*value {
        Value::Null | Value::Object(_) | Value::Array(_) => return false,
        Value::String(s) => s.as_str(),
        other => {
            converted = scalar_string(other).unwrap_or_default();
            converted.as_str()
        }
    };
    if !matcher.matches(reference) {
        return false;
    }
    let (name, mut tag, mut digest) = split(reference);
    let name = if image.new_name.is_empty() {
        name
    } else {
        image.new_name.as_str()
    };
    match (image.new_tag.is_empty(), image.digest.is_empty()) {
        (false, false) => {
            tag = &image.new_tag;
            digest = &image.digest;
        }
        (false, true) => {
            tag = &image.new_tag;
            digest = "";
        }
        (true, false) => {
            tag = "";
            digest = &image.digest;
        }
        (true, true) => {}
    }
    let mut out = String::with_capacity(name.len() + tag.len() + digest.len() + 2);
    out.push_str(name);
    if !tag.is_empty() {
        out.push(':');
        out.push_str(tag);
    }
    if !digest.is_empty() {
        out.push('@');
        out.push_str(digest);
    }
    *value = Value::String(out);
    true
}

/// Splits `[host[:port]/]path[:tag][@digest]` into name, tag and digest
/// (a `:` before the first `/` is a registry port, not a tag).
pub fn split(reference: &str) -> (&str, &str, &str) {
    let offset = match reference.find('/') {
        Some(i) if i > 0 => i,
        _ => 0,
    };
    let search = &reference[offset..];
    let at = search.find('@').map(|i| i + offset);
    let colon = search.find(':').map(|i| i + offset);
    match (colon, at) {
        (None, None) => (reference, "", ""),
        (Some(c), Some(a)) if c < a => (&reference[..c], &reference[c + 1..a], &reference[a + 1..]),
        (_, Some(a)) => (&reference[..a], "", &reference[a + 1..]),
        (Some(c), None) => (&reference[..c], &reference[c + 1..], ""),
    }
}

/// Parses one of Argo CD's `spec.source.kustomize.images` strings (the
/// syntax of `kustomize edit set image`) into a kustomization `images`
/// entry:
///
/// - `name=newName`, `name=newName:tag`, `name=newName@digest`;
/// - `name:tag`, `name@digest`.
pub fn parse_argo_image(spec: &str) -> Result<Value, RenderError> {
    let invalid = || {
        RenderError::field(
            "spec.source.kustomize",
            "images",
            format!(
                "invalid image {spec:?}: use <image>=<newimage>:<newtag>, <image>=<newimage>@<digest>, \
                 <image>=<newimage>, <image>:<newtag> or <image>@<digest>"
            ),
        )
    };
    let (name, overwrite, with_name) = match spec.split('=').collect::<Vec<_>>()[..] {
        [name, rest] => (Some(name), rest, true),
        [rest] => (None, rest, false),
        _ => return Err(invalid()),
    };
    let (image, tag, digest) = if let Some((image, digest)) = overwrite.split_once('@') {
        (image, "", digest)
    } else if let Some((image, tag)) = overwrite.rsplit_once(':').filter(|(_, t)| {
        *t == "*"
            || t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    }) {
        (image, tag, "")
    } else if with_name && !overwrite.is_empty() {
        (overwrite, "", "")
    } else {
        return Err(invalid());
    };
    let mut entry = Map::new();
    match name {
        Some(name) => {
            entry.insert("name".into(), Value::String(name.to_string()));
            if !image.is_empty() {
                entry.insert("newName".into(), Value::String(image.to_string()));
            }
        }
        None => {
            entry.insert("name".into(), Value::String(image.to_string()));
        }
    }
    if !tag.is_empty() {
        entry.insert("newTag".into(), Value::String(tag.to_string()));
    }
    if !digest.is_empty() {
        entry.insert("digest".into(), Value::String(digest.to_string()));
    }
    Ok(Value::Object(entry))
}

/// Applies Argo CD's image overrides to a kustomization's `images` list
/// as `kustomize edit set image <spec>` does for each spec in turn: an
/// entry with the same `name` is replaced (a `*` as new name, tag or digest
/// keeps the existing value), others are added, and the list is sorted by
/// name. `existing` is the current `images` value (`Value::Null` when
/// absent).
pub fn set_images(existing: &Value, specs: &[String]) -> Result<Value, RenderError> {
    let mut entries: Vec<Map<String, Value>> = match existing {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_object().cloned().ok_or_else(|| {
                    RenderError::field("kustomization", "images", "entries must be maps")
                })
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(RenderError::field(
                "kustomization",
                "images",
                "must be a list",
            ));
        }
    };
    for spec in specs {
        let Value::Object(mut new) = parse_argo_image(spec)? else {
            continue;
        };
        let name = new.get("name").cloned();
        let old = entries
            .iter()
            .position(|e| e.get("name") == name.as_ref())
            .map(|i| entries.remove(i));
        for key in ["newName", "newTag", "digest"] {
            if new.get(key).and_then(Value::as_str) == Some("*") {
                match old.as_ref().and_then(|o| o.get(key)) {
                    Some(kept) => new.insert(key.to_string(), kept.clone()),
                    None => new.remove(key),
                };
            }
        }
        entries.push(new);
    }
    entries.sort_by(|a, b| {
        let name = |m: &Map<String, Value>| {
            m.get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        name(a).cmp(&name(b))
    });
    Ok(Value::Array(
        entries.into_iter().map(Value::Object).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(value: Value) -> Object {
        Object::from_value(value).unwrap()
    }

    #[test]
    fn splits_references() {
        assert_eq!(split("nginx"), ("nginx", "", ""));
        assert_eq!(split("nginx:1.7"), ("nginx", "1.7", ""));
        assert_eq!(split("nginx@sha256:ab"), ("nginx", "", "sha256:ab"));
        assert_eq!(split("nginx:1@sha256:ab"), ("nginx", "1", "sha256:ab"));
        assert_eq!(split("host:1234/my/image"), ("host:1234/my/image", "", ""));
        assert_eq!(
            split("host:1234/my/image:v1"),
            ("host:1234/my/image", "v1", "")
        );
    }

    /// Simple names match exactly as their regular expression does.
    #[test]
    fn simple_names_match_like_the_expression() {
        let names = [
            "nginx",
            "registry.example.com/app",
            "host:5000/app",
            "a.b",
            "",
            "x@y",
            "my-app_1",
            "...",
        ];
        let references = [
            "nginx",
            "nginx:1",
            "nginx:1@sha256:ab",
            "nginx@sha256:",
            "nginx:",
            "nginx:a:b",
            "nginx@sha1:x",
            "nginxx",
            "ngin",
            "nginx:1 ",
            "",
            ":",
            "registryXexample.com/app:1",
            "registry.example.com/app@sha256:{x}-_.",
            "host:5000/app:v1@sha256:ab",
            "nginx:1@sha256:a@b",
            "a\nb",
            "aéb:1",
            "a.b:é",
            "a😀b",
            "a€b:x",
            "é",
            "😀..",
            "x😀y:1",
            "x@y:1",
            "abc",
            "a\n",
        ];
        for name in names {
            let matcher = Matcher::new(name);
            assert!(matches!(matcher.kind, MatcherKind::Simple), "{name}");
            let pattern = format!("^{name}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$");
            let regex = regex::Regex::new(&pattern).unwrap();
            for reference in references {
                assert_eq!(
                    matcher.matches(reference),
                    regex.is_match(reference),
                    "{name} against {reference:?}"
                );
            }
        }
        assert!(matches!(Matcher::new("ng.*x").kind, MatcherKind::Regex(_)));
        assert!(matches!(Matcher::new("a(").kind, MatcherKind::Invalid));
    }

    /// TestTransfomersImageDefaultConfig from the corpus.
    #[test]
    fn default_config_case() {
        let images = json!([
            {"name": "nginx", "newTag": "v2"},
            {"name": "my-nginx", "newTag": "previous"},
            {"name": "myprivaterepohostname:1234/my/image", "newTag": "v1.0.1"},
            {"name": "foobar", "digest": "sha256:24a0c4b4"},
            {"name": "alpine", "newName": "myprivaterepohostname:1234/my/cool-alpine"},
            {"name": "gcr.io:8080/my-project/my-cool-app", "newName": "my-cool-app"},
            {"name": "postgres", "newName": "my-postgres", "newTag": "v3"},
            {"name": "docker", "newName": "my-docker", "digest": "sha256:25a0d4b4"}
        ]);
        let mut objects = vec![
            obj(
                json!({"apiVersion": "v1", "kind": "Deployment", "metadata": {"name": "d"},
                "spec": {"template": {"spec": {
                    "initContainers": [{"image": "my-nginx:1.8.0"}, {"image": "alpine:1.8.0"}],
                    "containers": [{"image": "nginx:1.7.9"}, {"image": "foobar:1"}, {"image": "postgres:1.8.0"}]
                }}}}),
            ),
            obj(json!({"kind": "randomKind", "metadata": {"name": "r"},
            "spec2": {"template": {"spec": {"containers": [{"image": "nginx:v1"}, {"image": "my-nginx:latest"}]}}},
            "spec3": {"template": {"spec": {"initContainers": [
                {"image": "postgres:alpine-9"}, {"image": "docker:17-git"},
                {"image": "myprivaterepohostname:1234/my/image:latest"},
                {"image": "myprivaterepohostname:1234/my/image"},
                {"image": "my-app-image:v1"},
                {"image": "gcr.io:8080/my-project/my-cool-app:latest"}
            ]}}}})),
        ];
        apply(&mut objects, &images, "kustomization.yaml").unwrap();
        let images_of = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|c| c["image"].as_str().unwrap().to_string())
                .collect()
        };
        let spec = &objects[0].0["spec"]["template"]["spec"];
        assert_eq!(
            images_of(&spec["containers"]),
            ["nginx:v2", "foobar@sha256:24a0c4b4", "my-postgres:v3"]
        );
        assert_eq!(
            images_of(&spec["initContainers"]),
            [
                "my-nginx:previous",
                "myprivaterepohostname:1234/my/cool-alpine:1.8.0"
            ]
        );
        assert_eq!(
            images_of(&objects[1].0["spec2"]["template"]["spec"]["containers"]),
            ["nginx:v2", "my-nginx:previous"]
        );
        assert_eq!(
            images_of(&objects[1].0["spec3"]["template"]["spec"]["initContainers"]),
            [
                "my-postgres:v3",
                "my-docker@sha256:25a0d4b4",
                "myprivaterepohostname:1234/my/image:v1.0.1",
                "myprivaterepohostname:1234/my/image:v1.0.1",
                "my-app-image:v1",
                "my-cool-app:latest"
            ]
        );
    }

    /// Output of kubectl kustomize v5.5 for the same input.
    #[test]
    fn matches_kubectl_on_registries_and_digests() {
        let mut objects = vec![obj(
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
                {"image": "host:5000/app:1@sha256:abc"}, {"image": "host:5000/app"},
                {"image": "docker.io/library/nginx:1.2"}, {"image": "nginx"},
                {"image": "nginx.x"}, {"image": 123}
            ]}}}}}}),
        )];
        let images = json!([
            {"name": "host:5000/app", "newTag": "2"},
            {"name": "nginx", "newName": "mirror/nginx"},
            {"name": "docker.io/library/nginx", "digest": "sha256:def"},
            {"name": "123", "newTag": "x"}
        ]);
        apply(&mut objects, &images, "k.yaml").unwrap();
        let got: Vec<Value> =
            objects[0].0["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["image"].clone())
                .collect();
        assert_eq!(
            got,
            [
                "host:5000/app:2",
                "host:5000/app:2",
                "docker.io/library/nginx@sha256:def",
                "mirror/nginx",
                "nginx.x",
                "123:x"
            ]
        );
    }

    #[test]
    fn custom_field_specs_and_crds() {
        let mut objects = vec![
            obj(
                json!({"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": "s"},
                "spec": {"runLatest": {"configuration": {"revisionTemplate": {"spec": {"container": {"image": "app"}}}}}}}),
            ),
            obj(
                json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": "c"}, "spec": {"containers": [{"image": "app"}]}}),
            ),
        ];
        let mut specs = default_field_specs();
        specs.push(FieldSpec::new(
            "Service",
            "spec/runLatest/configuration/revisionTemplate/spec/container/image",
            true,
        ));
        let images = json!([{"name": "app", "newName": "registry/app", "newTag": "1"}]);
        apply_with_field_specs(&mut objects, &images, "k.yaml", &specs).unwrap();
        assert_eq!(
            objects[0].0["spec"]["runLatest"]["configuration"]["revisionTemplate"]["spec"]["container"]
                ["image"],
            "registry/app:1"
        );
        assert_eq!(objects[1].0["spec"]["containers"][0]["image"], "app");
    }

    #[test]
    fn tag_and_digest_rules() {
        let mut objects = vec![obj(json!({"kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"image": "a:1@sha256:x"}, {"image": "b:1@sha256:x"}, {"image": "c"}]}}))];
        let images = json!([
            {"name": "a", "newTag": "2"},
            {"name": "b", "digest": "sha256:y"},
            {"name": "c", "newTag": "3", "digest": "sha256:z"}
        ]);
        apply(&mut objects, &images, "k.yaml").unwrap();
        let c = &objects[0].0["spec"]["containers"];
        assert_eq!(c[0]["image"], "a:2");
        assert_eq!(c[1]["image"], "b@sha256:y");
        assert_eq!(c[2]["image"], "c:3@sha256:z");
        // A prefix of another name does not match.
        let mut objects = vec![obj(
            json!({"kind": "Pod", "spec": {"containers": [{"image": "nginx-extra:1"}]}}),
        )];
        apply(
            &mut objects,
            &json!([{"name": "nginx", "newTag": "2"}]),
            "k.yaml",
        )
        .unwrap();
        assert_eq!(
            objects[0].0["spec"]["containers"][0]["image"],
            "nginx-extra:1"
        );
    }

    /// Each entry rewrites a field as often as the walk and the specs
    /// reach it before the next entry runs: `a` becomes `b` (not `c`).
    #[test]
    fn entries_apply_in_kustomize_order() {
        let deployment = || {
            obj(
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": {"containers": [{"image": "a"}, {"image": "c:1"}, {"image": null}],
            "initContainers": [{"image": "b@sha256:x"}]}}}}),
            )
        };
        let cases = [
            json!([{"name": "b", "newName": "c"}, {"name": "a", "newName": "b"}]),
            json!([{"name": "a", "newName": "a@sha256:q"}, {"name": "c", "newName": "c:7"}]),
            json!([{"name": "[abc]", "newTag": "t"}, {"name": "c", "digest": "sha256:d"}]),
        ];
        let mut specs = default_field_specs();
        specs.push(FieldSpec::new(
            "Deployment",
            "spec/template/spec/containers/image",
            false,
        ));
        for images in &cases {
            let mut fast = vec![deployment()];
            apply_with_field_specs(&mut fast, images, "k.yaml", &specs).unwrap();
            let mut slow = vec![deployment()];
            let parsed = parse(images, "k.yaml").unwrap();
            let entries: Vec<(&Image, Matcher)> =
                parsed.iter().map(|i| (i, Matcher::new(&i.name))).collect();
            apply_per_entry(&mut slow, &entries, "k.yaml", &specs).unwrap();
            assert_eq!(fast, slow, "{images}");
        }
        let mut objects = vec![deployment()];
        apply(&mut objects, &cases[0], "k.yaml").unwrap();
        assert_eq!(
            objects[0].0["spec"]["template"]["spec"]["containers"][0]["image"],
            "b"
        );
    }

    /// A field spec at `kind` can change which specs select an object:
    /// the entries then run one at a time over all objects.
    #[test]
    fn kind_field_specs_apply_entry_by_entry() {
        let mut objects = vec![obj(
            json!({"apiVersion": "v1", "kind": "a", "metadata": {"name": "p"},
            "spec": {"x": "a"}}),
        )];
        let specs = vec![
            FieldSpec::new("", "kind", false),
            FieldSpec::new("a", "spec/x", false),
        ];
        let images = json!([{"name": "a", "newName": "b"}, {"name": "b", "newName": "c"}]);
        apply_with_field_specs(&mut objects, &images, "k.yaml", &specs).unwrap();
        assert_eq!(objects[0].0["kind"], "c");
        assert_eq!(objects[0].0["spec"]["x"], "b");
    }

    #[test]
    fn errors_are_those_of_the_first_entry() {
        let pod = |image: Value| {
            obj(
                json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"image": image}]}}),
            )
        };
        let images = json!([{"name": "x", "newTag": "1"}]);
        let mut objects = vec![pod(json!("x")), pod(json!({"a": 1}))];
        let err = apply(&mut objects, &images, "k.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Pod/p: an image field must hold a string"),
            "{err}"
        );
        let specs = vec![FieldSpec::new("Pod", "spec/containers/image/deeper", false)];
        let mut objects = vec![pod(json!("x"))];
        let err = apply_with_field_specs(&mut objects, &images, "k.yaml", &specs)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "path spec/containers/image/deeper: expected sequence or mapping node at deeper"
            ),
            "{err}"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let err = apply(&mut [], &json!({"name": "x"}), "k.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("k.yaml") && err.contains("images"), "{err}");
        let err = apply(&mut [], &json!([{"name": "x", "newTag": 1.10}]), "k.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("images[0].newTag") && err.contains("quote"),
            "{err}"
        );
        let err = apply(&mut [], &json!([{"name": ["x"]}]), "k.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("images[0].name"), "{err}");
    }

    #[test]
    fn set_images_like_kustomize_edit() {
        let existing = json!([
            {"name": "web", "newName": "reg/web", "newTag": "1"},
            {"name": "db", "newTag": "5"}
        ]);
        let out = set_images(
            &existing,
            &[
                "web:*".to_string(),
                "cache=redis:7".to_string(),
                "db@sha256:x".to_string(),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            json!([
                {"name": "cache", "newName": "redis", "newTag": "7"},
                {"name": "db", "digest": "sha256:x"},
                {"name": "web", "newTag": "1"}
            ])
        );
        assert!(set_images(&Value::Null, &["bad".to_string()]).is_err());
    }

    #[test]
    fn argo_image_forms() {
        assert_eq!(
            parse_argo_image("nginx=registry/nginx:1.2").unwrap(),
            json!({"name": "nginx", "newName": "registry/nginx", "newTag": "1.2"})
        );
        assert_eq!(
            parse_argo_image("nginx:1.2").unwrap(),
            json!({"name": "nginx", "newTag": "1.2"})
        );
        assert_eq!(
            parse_argo_image("nginx@sha256:abc").unwrap(),
            json!({"name": "nginx", "digest": "sha256:abc"})
        );
        assert_eq!(
            parse_argo_image("nginx=other").unwrap(),
            json!({"name": "nginx", "newName": "other"})
        );
        assert_eq!(
            parse_argo_image("host:5000/app=host:5000/app2@sha256:d").unwrap(),
            json!({"name": "host:5000/app", "newName": "host:5000/app2", "digest": "sha256:d"})
        );
        assert!(parse_argo_image("nginx").is_err());
        assert!(parse_argo_image("a=b=c").is_err());
    }
}
