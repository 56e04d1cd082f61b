//! The deprecated `vars` field: `$(NAME)` references replaced by a field of
//! another object, as kustomize v5.5 does it.
//!
//! kustomize binds vars in two steps, and so does this module:
//!
//! 1. **Declare** ([`VarSet::declare`]), at each kustomization level after
//!    its transformers ran, with that level's objects only: each var's
//!    `objref` is matched against the objects' *original* ids (see
//!    [`super::replacements::original_id`]); more than one match is an
//!    error, one match binds the var to that object (recorded in the
//!    annotation [`REF_VAR_NAMES`], so the binding follows the object
//!    through renames, patches and merges). A level's set is merged into its
//!    parent's with [`VarSet::merge`]; a name declared twice is an error.
//! 2. **Resolve** ([`VarSet::resolve`]), once, at the end of the top-level
//!    build (after the hash suffixes and name references): every var takes
//!    the current value of its `fieldref` in its bound object, and `$(NAME)`
//!    is replaced in the fields of kustomize's `varReference` field specs
//!    ([`default_field_specs`], plus those of `configurations`). The
//!    [`REF_VAR_NAMES`] annotations are removed.
//!
//! Signature note: besides the requested `apply(objects, vars)` (which
//! declares every var against the final objects, and so cannot tell apart
//! objects that only their level could), the engine should use [`VarSet`].

use serde::Deserialize;
use serde_json::Value;

use super::fieldpath::{FieldSpec, lookup, scalar_string};
use super::replacements::{ResId, original_id};
use crate::error::RenderError;
use crate::object::Object;

/// Annotation listing the vars bound to an object (comma-separated).
/// Internal: [`VarSet::resolve`] removes it.
pub const REF_VAR_NAMES: &str = "internal.config.kubernetes.io/refVarNames";

/// One `vars` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Var {
    /// The name used in `$(NAME)`.
    pub name: String,
    /// The object it refers to (group, version, kind, name, namespace).
    pub objref: ResId,
    /// The field, e.g. `metadata.name` or `spec.ports[0].port`.
    pub fieldpath: String,
    /// The kustomization file that declared it.
    pub file: String,
}

impl std::fmt::Display for Var {
    /// kustomize's form: `{NAME Kind.version.group {fieldpath}}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let or = |s: &str, empty: &'static str| {
            if s.is_empty() {
                empty.to_string()
            } else {
                s.to_string()
            }
        };
        write!(
            f,
            "{{{} {}.{}.{} {{{}}}}}",
            self.name,
            or(&self.objref.kind, "[noKind]"),
            or(&self.objref.version, "[noVer]"),
            or(&self.objref.group, "[noGrp]"),
            self.fieldpath
        )
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawVar {
    name: String,
    objref: RawObjRef,
    #[serde(default)]
    fieldref: Option<RawFieldRef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawObjRef {
    #[serde(default)]
    group: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    api_version: String,
}

#[derive(Deserialize)]
struct RawFieldRef {
    #[serde(default)]
    fieldpath: String,
}

/// Parses a `vars` field (`file` names the kustomization in errors).
pub fn parse(vars: &Value, file: &str) -> Result<Vec<Var>, RenderError> {
    if vars.is_null() {
        return Ok(Vec::new());
    }
    let list = vars
        .as_array()
        .ok_or_else(|| RenderError::field(file, "vars", "must be a list"))?;
    let mut out = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let raw: RawVar = serde_json::from_value(entry.clone())
            .map_err(|e| RenderError::field(file, &format!("vars[{i}]"), e.to_string()))?;
        let mut objref = ResId {
            group: raw.objref.group,
            version: raw.objref.version,
            kind: raw.objref.kind,
            name: raw.objref.name,
            namespace: raw.objref.namespace,
        };
        match raw.objref.api_version.split_once('/') {
            Some((group, version)) => {
                objref.group = group.to_string();
                objref.version = version.to_string();
            }
            None if !raw.objref.api_version.is_empty() => objref.version = raw.objref.api_version,
            None => {}
        }
        let fieldpath = raw
            .fieldref
            .map(|f| f.fieldpath)
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "metadata.name".to_string());
        out.push(Var {
            name: raw.name,
            objref,
            fieldpath,
            file: file.to_string(),
        });
    }
    Ok(out)
}

/// kustomize's default `varReference` field specs: container args,
/// commands, env values and mount paths of the workload kinds, NFS servers,
/// Ingress hosts and TLS, Service ports, a Deployment's pod template
/// annotations, and every object's labels and annotations (checked against
/// kubectl kustomize v5.5).
pub fn default_field_specs() -> Vec<FieldSpec> {
    let mut specs = Vec::new();
    let container_fields = ["args", "command", "env/value", "volumeMounts/mountPath"];
    let pod_specs = [
        ("CronJob", "spec/jobTemplate/spec/template/spec/"),
        ("DaemonSet", "spec/template/spec/"),
        ("Deployment", "spec/template/spec/"),
        ("Job", "spec/template/spec/"),
        ("Pod", "spec/"),
        ("ReplicaSet", "spec/template/spec/"),
        ("StatefulSet", "spec/template/spec/"),
    ];
    for (kind, prefix) in pod_specs {
        for list in ["containers", "initContainers"] {
            for field in container_fields {
                specs.push(FieldSpec::new(
                    kind,
                    &format!("{prefix}{list}/{field}"),
                    false,
                ));
            }
        }
        let volumes = match kind {
            // kustomize's spec for CronJob misses the inner `spec/`; kept as is.
            "CronJob" => "spec/jobTemplate/spec/template/volumes/nfs/server".to_string(),
            "StatefulSet" => "spec/volumeClaimTemplates/spec/nfs/server".to_string(),
            _ => format!("{prefix}volumes/nfs/server"),
        };
        specs.push(FieldSpec::new(kind, &volumes, false));
    }
    for (kind, path) in [
        ("Ingress", "spec/rules/host"),
        ("Ingress", "spec/tls/hosts"),
        ("Ingress", "spec/tls/secretName"),
        ("Service", "spec/ports/port"),
        ("Service", "spec/ports/targetPort"),
        ("PersistentVolume", "spec/nfs/server"),
        // Not in kustomize's source list, but kubectl v5.5 does replace here
        // (checked; no other kind's template annotations are).
        ("Deployment", "spec/template/metadata/annotations"),
        ("", "metadata/labels"),
        ("", "metadata/annotations"),
    ] {
        specs.push(FieldSpec::new(kind, path, false));
    }
    specs
}

/// The vars declared in a build so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VarSet {
    vars: Vec<Var>,
}

impl VarSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no var is declared.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    /// The declared vars, in declaration order.
    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    /// Declares the `vars` field of the kustomization `file`, binding each
    /// var to the one object of `objects` (this level's objects) whose
    /// original id matches its `objref` (kustomize's `MergeVars`).
    pub fn declare(
        &mut self,
        objects: &mut [Object],
        vars: &Value,
        file: &str,
    ) -> Result<(), RenderError> {
        let incoming = parse(vars, file)?;
        let list = || {
            let parts: Vec<String> = incoming.iter().map(Var::to_string).collect();
            format!("[{}]", parts.join(" "))
        };
        for var in &incoming {
            let target = &var.objref;
            let with_namespace = !target.namespace.is_empty()
                || target.effective_namespace() == "_non_namespaceable_";
            let mut matched = Vec::new();
            for (i, object) in objects.iter().enumerate() {
                let id = original_id(object).map_err(|m| RenderError::field(file, "vars", m))?;
                let same = id.group == target.group
                    && id.version == target.version
                    && id.kind == target.kind
                    && id.name == target.name
                    && (!with_namespace
                        || id.effective_namespace() == target.effective_namespace());
                if same {
                    matched.push(i);
                }
            }
            if matched.len() > 1 {
                return Err(RenderError::field(
                    file,
                    "vars",
                    format!(
                        "merging vars {}: found {} resId matches for var {var} (unable to disambiguate)",
                        list(),
                        matched.len()
                    ),
                ));
            }
            if let Some(&i) = matched.first() {
                let object = &mut objects[i];
                let names = match object.annotation(REF_VAR_NAMES) {
                    Some(existing) if !existing.is_empty() => format!("{existing},{}", var.name),
                    _ => var.name.clone(),
                };
                object.set_annotation(REF_VAR_NAMES, &names);
            }
        }
        for var in incoming {
            self.add(var, file)?;
        }
        Ok(())
    }

    /// Merges the vars of a base (or component) into this set (kustomize's
    /// `MergeSet`); `file` names the kustomization merging, for errors.
    pub fn merge(&mut self, other: VarSet, file: &str) -> Result<(), RenderError> {
        for var in other.vars {
            self.add(var, file)?;
        }
        Ok(())
    }

    fn add(&mut self, var: Var, file: &str) -> Result<(), RenderError> {
        if self.vars.iter().any(|v| v.name == var.name) {
            return Err(RenderError::field(
                file,
                "vars",
                format!("var '{}' already encountered", var.name),
            ));
        }
        self.vars.push(var);
        Ok(())
    }

    /// Resolves every var from its bound object and replaces `$(NAME)` in
    /// the fields of `field_specs` (see [`default_field_specs`]), then
    /// removes the [`REF_VAR_NAMES`] annotations.
    pub fn resolve(
        &self,
        objects: &mut [Object],
        field_specs: &[FieldSpec],
    ) -> Result<(), RenderError> {
        let mut values: Vec<(String, Option<Value>)> = Vec::new();
        for var in &self.vars {
            let bound = objects.iter().find(|o| {
                o.annotation(REF_VAR_NAMES)
                    .is_some_and(|names| names.split(',').any(|n| n == var.name))
            });
            let Some(object) = bound else {
                return Err(RenderError::field(
                    &var.file,
                    "vars",
                    format!(
                        "var '{var}' cannot be mapped to a field in the set of known resources"
                    ),
                ));
            };
            let root = Value::Object(object.0.clone());
            let found = lookup(&root, &field_path_segments(&var.fieldpath))
                .ok()
                .flatten()
                .ok_or_else(|| {
                    RenderError::field(
                        &var.file,
                        "vars",
                        format!(
                            "field specified in var '{var}' not found in corresponding resource"
                        ),
                    )
                })?;
            let scalar = match found {
                Value::String(_) | Value::Number(_) | Value::Bool(_) => Some(found.clone()),
                _ => None,
            };
            values.push((var.name.clone(), scalar));
        }
        for object in objects.iter_mut() {
            if let Some(meta) = object.0.get_mut("metadata").and_then(Value::as_object_mut)
                && let Some(annotations) =
                    meta.get_mut("annotations").and_then(Value::as_object_mut)
            {
                annotations.remove(REF_VAR_NAMES);
                if annotations.is_empty() {
                    meta.remove("annotations");
                }
            }
        }
        if values.is_empty() {
            return Ok(());
        }
        let used = std::cell::RefCell::new(std::collections::BTreeSet::new());
        let mapping = |name: &str| -> Option<Value> {
            let (found, value) = values.iter().find(|(n, _)| n == name)?;
            used.borrow_mut().insert(found.clone());
            value.clone()
        };
        let file = self.vars.first().map_or("", |v| v.file.as_str());
        for object in objects.iter_mut() {
            let key = object.key();
            let specs: Vec<&FieldSpec> = field_specs.iter().filter(|s| s.selects(object)).collect();
            for spec in specs {
                let spec = FieldSpec {
                    create: false,
                    ..spec.clone()
                };
                spec.apply(object, &Value::Null, &mut |v| substitute(v, &mapping))
                    .map_err(|m| {
                        RenderError::resource(file, format!("resolving vars in {key}: {m}"))
                    })?;
            }
        }
        let used = used.into_inner();
        let unused: Vec<&str> = values
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| !used.contains(*n))
            .collect();
        if !unused.is_empty() {
            tracing::warn!(
                vars = %unused.join(","),
                "well-defined vars that were never replaced"
            );
        }
        Ok(())
    }
}

/// Splits a var's field path: on `.`, with `name[3]` read as `name`, `3`.
fn field_path_segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in path.split('.') {
        match slice_index(part) {
            Some((head, index)) => {
                if !head.is_empty() {
                    out.push(head.to_string());
                }
                out.push(index.to_string());
            }
            None => out.push(part.to_string()),
        }
    }
    out
}

/// `ports[0]` gives `("ports", "0")`.
fn slice_index(part: &str) -> Option<(&str, &str)> {
    let inner = part.strip_suffix(']')?;
    let open = inner.rfind('[')?;
    let index = &inner[open + 1..];
    (!index.is_empty() && index.chars().all(|c| c.is_ascii_digit()))
        .then_some((&inner[..open], index))
}

/// Replaces `$(NAME)` in one field's value: a string, the string values of
/// a map, or the items of a list (which must all be strings).
fn substitute(value: &mut Value, mapping: &dyn Fn(&str) -> Option<Value>) -> Result<(), String> {
    match value {
        Value::String(_) => expand_value(value, mapping),
        Value::Object(map) => {
            for (_, v) in map.iter_mut() {
                if v.is_string() {
                    expand_value(v, mapping);
                }
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                if !item.is_string() {
                    return Err("invalid value type expect a string".into());
                }
                expand_value(item, mapping);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Expands one string value; a string that is exactly `$(NAME)` takes the
/// var's value with its type (a number stays a number).
fn expand_value(value: &mut Value, mapping: &dyn Fn(&str) -> Option<Value>) {
    let Value::String(s) = &*value else {
        return;
    };
    let whole = s
        .strip_prefix("$(")
        .and_then(|rest| rest.strip_suffix(')'))
        .filter(|name| !name.contains(')'));
    if let Some(typed) = whole.and_then(mapping) {
        *value = typed;
        return;
    }
    *value = Value::String(expand(s, mapping));
}

/// kustomize's `Expand`: `$(NAME)` becomes the var's value when it is
/// known (unknown names are left as written), `$$` becomes `$`.
pub fn expand(input: &str, mapping: &dyn Fn(&str) -> Option<Value>) -> String {
    let bytes = input.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < bytes.len() {
        if bytes[cursor] == b'$' && cursor + 1 < bytes.len() {
            out.extend_from_slice(&bytes[checkpoint..cursor]);
            let rest = &bytes[cursor + 1..];
            let advance = match rest[0] {
                b'$' => {
                    out.push(b'$');
                    1
                }
                b'(' => match rest.iter().position(|&b| b == b')') {
                    Some(close) => {
                        let name = &input[cursor + 2..cursor + 1 + close];
                        match mapping(name).as_ref().and_then(scalar_string) {
                            Some(value) => out.extend_from_slice(value.as_bytes()),
                            None => out.extend_from_slice(&bytes[cursor..cursor + 2 + close]),
                        }
                        close + 1
                    }
                    None => {
                        out.extend_from_slice(b"$(");
                        1
                    }
                },
                other => {
                    out.push(b'$');
                    out.push(other);
                    1
                }
            };
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    out.extend_from_slice(&bytes[checkpoint.min(bytes.len())..]);
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Declares every `(vars field, kustomization file)` against `objects`
/// and resolves them with the default field specs. Simpler than
/// [`VarSet`], but it binds against the final objects, so two levels
/// declaring vars for objects with the same original id are reported as
/// ambiguous; prefer [`VarSet`].
pub fn apply(objects: &mut [Object], vars: &[(Value, String)]) -> Result<(), RenderError> {
    apply_with_field_specs(objects, vars, &default_field_specs())
}

/// [`apply`] with the given `varReference` field specs (the defaults plus
/// those of `configurations`).
pub fn apply_with_field_specs(
    objects: &mut [Object],
    vars: &[(Value, String)],
    field_specs: &[FieldSpec],
) -> Result<(), RenderError> {
    let mut set = VarSet::new();
    for (value, file) in vars {
        set.declare(objects, value, file)?;
    }
    set.resolve(objects, field_specs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kustomize::replacements::{PREVIOUS_KINDS, PREVIOUS_NAMES, PREVIOUS_NAMESPACES};
    use serde_json::json;

    fn obj(v: Value) -> Object {
        Object::from_value(v).unwrap()
    }

    fn sts(ns: &str) -> Object {
        obj(
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "es", "namespace": ns},
            "spec": {"template": {"spec": {"containers": [{"name": "es", "env": [
                {"name": "A", "value": format!("$(svc-{ns}).svc")},
                {"name": "B", "value": format!("$(proto-{ns})")}]}]}}}}),
        )
    }

    fn svc(ns: &str, proto: &str) -> Object {
        obj(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "es", "namespace": ns},
            "spec": {"ports": [{"name": "t", "port": 9300, "protocol": proto}]}}),
        )
    }

    fn var(name: &str, ns: &str, path: &str) -> Value {
        json!({"name": name, "objref": {"kind": "Service", "name": "es", "namespace": ns, "apiVersion": "v1"},
               "fieldref": {"fieldpath": path}})
    }

    #[test]
    fn expands_like_kustomize() {
        let map = |n: &str| match n {
            "A" => Some(json!("1")),
            _ => None,
        };
        assert_eq!(expand("x$(A)y", &map), "x1y");
        assert_eq!(expand("$(A)", &map), "1");
        assert_eq!(expand("$(B)", &map), "$(B)");
        assert_eq!(expand("$$(A)", &map), "$(A)");
        assert_eq!(expand("$(A", &map), "$(A");
        assert_eq!(expand("a$", &map), "a$");
        assert_eq!(expand("$x é$(A)", &map), "$x é1");
    }

    #[test]
    fn field_paths_with_indexes() {
        assert_eq!(
            field_path_segments("spec.ports[0].protocol"),
            ["spec", "ports", "0", "protocol"]
        );
        assert_eq!(field_path_segments("a.[name=x].b"), ["a", "[name=x]", "b"]);
    }

    /// TestVariablesDisambiguatedWithNamespace.
    #[test]
    fn disambiguated_with_namespace() {
        let mut objects = vec![
            sts("dev"),
            svc("dev", "TCP"),
            sts("test"),
            svc("test", "UDP"),
        ];
        let vars = json!([
            var("svc-test", "test", "metadata.name"),
            var("proto-test", "test", "spec.ports[0].protocol"),
            var("svc-dev", "dev", "metadata.name"),
            var("proto-dev", "dev", "spec.ports[0].protocol"),
        ]);
        apply(&mut objects, &[(vars, "kustomization.yaml".into())]).unwrap();
        let env = |o: &Object| o.0["spec"]["template"]["spec"]["containers"][0]["env"].clone();
        assert_eq!(env(&objects[0])[0]["value"], "es.svc");
        assert_eq!(env(&objects[0])[1]["value"], "TCP");
        assert_eq!(env(&objects[2])[1]["value"], "UDP");
        assert!(objects[1].annotation(REF_VAR_NAMES).is_none());
        assert!(objects[1].0["metadata"].get("annotations").is_none());
    }

    /// TestVariablesAmbiguous.
    #[test]
    fn ambiguous_without_namespace() {
        let mut objects = vec![
            sts("dev"),
            svc("dev", "TCP"),
            sts("test"),
            svc("test", "UDP"),
        ];
        let vars = json!([var("svc-test", "", "metadata.name")]);
        let err = apply(&mut objects, &[(vars, "k.yaml".into())])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("found 2 resId matches for var {svc-test Service.v1.[noGrp] {metadata.name}} (unable to disambiguate)"),
            "{err}"
        );
    }

    #[test]
    fn binds_by_original_name_and_resolves_current_value() {
        let mut pod = obj(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "base-kelley"},
            "spec": {"containers": [{"command": ["echo", "$(POD_NAME)"], "args": ["$(POD_NAME)-x"]}]}}),
        );
        pod.set_annotation(PREVIOUS_NAMES, "kelley");
        pod.set_annotation(PREVIOUS_KINDS, "Pod");
        pod.set_annotation(PREVIOUS_NAMESPACES, "default");
        let mut objects = vec![pod];
        let mut set = VarSet::new();
        let vars = json!([{"name": "POD_NAME", "objref": {"apiVersion": "v1", "kind": "Pod", "name": "kelley"}}]);
        set.declare(&mut objects, &vars, "base/kustomization.yaml")
            .unwrap();
        // A later level renames the object again; the binding follows it.
        objects[0]
            .metadata_mut()
            .insert("name".into(), json!("top-base-kelley"));
        let mut top = VarSet::new();
        top.merge(set, "kustomization.yaml").unwrap();
        top.resolve(&mut objects, &default_field_specs()).unwrap();
        let c = &objects[0].0["spec"]["containers"][0];
        assert_eq!(c["command"], json!(["echo", "top-base-kelley"]));
        assert_eq!(c["args"], json!(["top-base-kelley-x"]));
    }

    #[test]
    fn collisions_and_unmapped_vars() {
        let mut objects = vec![svc("a", "TCP")];
        let mut one = VarSet::new();
        one.declare(
            &mut objects,
            &json!([var("X", "a", "metadata.name")]),
            "b1/kustomization.yaml",
        )
        .unwrap();
        let mut two = VarSet::new();
        two.declare(
            &mut [],
            &json!([var("X", "a", "metadata.name")]),
            "b2/kustomization.yaml",
        )
        .unwrap();
        let err = one
            .merge(two, "kustomization.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("var 'X' already encountered"), "{err}");
        let mut unbound = VarSet::new();
        unbound
            .declare(&mut [], &json!([var("Y", "a", "metadata.name")]), "k.yaml")
            .unwrap();
        let err = unbound
            .resolve(&mut objects, &default_field_specs())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot be mapped to a field in the set of known resources"),
            "{err}"
        );
        let mut missing = VarSet::new();
        missing
            .declare(&mut objects, &json!([var("Z", "a", "spec.nope")]), "k.yaml")
            .unwrap();
        let err = missing
            .resolve(&mut objects, &default_field_specs())
            .unwrap_err()
            .to_string();
        assert!(err.contains("not found in corresponding resource"), "{err}");
    }

    /// Where kubectl kustomize v5.5 replaces a var and where it does not
    /// (a sample of a larger experiment).
    #[test]
    fn default_field_specs_like_kubectl() {
        let v = "$(V)";
        let mut objects = vec![
            obj(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "src"}, "data": {"v": "VAL"}}),
            ),
            obj(
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                "spec": {"template": {"metadata": {"labels": {"l": v}, "annotations": {"a": v}},
                    "spec": {"containers": [{"name": "c", "image": v, "workingDir": v,
                        "volumeMounts": [{"mountPath": v, "subPath": v}]}]}}}}),
            ),
            obj(
                json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj"},
                "spec": {"jobTemplate": {"spec": {"template": {"metadata": {"annotations": {"a": v}},
                    "spec": {"volumes": [{"nfs": {"server": v}}]}}}}}}),
            ),
            obj(
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"},
                "spec": {"rules": [{"host": v, "http": {"paths": [{"path": v}]}}],
                         "tls": [{"hosts": [v], "secretName": v}]}}),
            ),
            obj(
                json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
                "spec": {"serviceName": v, "template": {"metadata": {"annotations": {"a": v}}},
                         "volumeClaimTemplates": [{"spec": {"nfs": {"server": v}}}]}}),
            ),
        ];
        let vars = json!([{"name": "V", "objref": {"apiVersion": "v1", "kind": "ConfigMap", "name": "src"},
                           "fieldref": {"fieldpath": "data.v"}}]);
        apply(&mut objects, &[(vars, "k.yaml".into())]).unwrap();
        let d = &objects[1].0["spec"]["template"];
        assert_eq!(d["metadata"]["annotations"]["a"], "VAL");
        assert_eq!(d["metadata"]["labels"]["l"], v);
        assert_eq!(d["spec"]["containers"][0]["image"], v);
        assert_eq!(d["spec"]["containers"][0]["workingDir"], v);
        assert_eq!(
            d["spec"]["containers"][0]["volumeMounts"][0],
            json!({"mountPath": "VAL", "subPath": v})
        );
        let cj = &objects[2].0["spec"]["jobTemplate"]["spec"]["template"];
        assert_eq!(cj["metadata"]["annotations"]["a"], v);
        assert_eq!(cj["spec"]["volumes"][0]["nfs"]["server"], v);
        let ing = &objects[3].0["spec"];
        assert_eq!(ing["rules"][0]["host"], "VAL");
        assert_eq!(ing["rules"][0]["http"]["paths"][0]["path"], v);
        assert_eq!(
            ing["tls"][0],
            json!({"hosts": ["VAL"], "secretName": "VAL"})
        );
        let ss = &objects[4].0["spec"];
        assert_eq!(ss["serviceName"], v);
        assert_eq!(ss["template"]["metadata"]["annotations"]["a"], v);
        assert_eq!(
            ss["volumeClaimTemplates"][0]["spec"]["nfs"]["server"],
            "VAL"
        );
    }

    #[test]
    fn labels_maps_and_non_strings() {
        let mut cm = obj(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s",
            "labels": {"a": "$(V)", "n": 1}}, "spec": {"ports": [{"port": "$(V)", "targetPort": 80}]}}),
        );
        cm.set_annotation("x", "$(V)-$(W)");
        let mut objects = vec![cm];
        let vars = json!([{"name": "V", "objref": {"apiVersion": "v1", "kind": "Service", "name": "s"},
                           "fieldref": {"fieldpath": "spec.ports[0].targetPort"}}]);
        apply(&mut objects, &[(vars, "k.yaml".into())]).unwrap();
        // A whole `$(V)` keeps the number's type (TestSimpleServicePortVarReplace).
        assert_eq!(objects[0].0["metadata"]["labels"], json!({"a": 80, "n": 1}));
        assert_eq!(objects[0].annotation("x"), Some("80-$(W)"));
        assert_eq!(objects[0].0["spec"]["ports"][0]["port"], 80);
    }
}
