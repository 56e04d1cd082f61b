//! Merge keys and patch strategies of Kubernetes types, by kind and field.
//!
//! The built-in table (`crates/render/openapi/merge_keys.json`) is generated
//! from the Kubernetes v1.34.4 OpenAPI v2 spec (completed by v1.21.2, the
//! schema kustomize v5.5.0 has built in, for the kinds 1.34 dropped) by
//! `tools/openapi/generate.py`; a
//! custom OpenAPI document (kustomize's `openapi:` field) is compiled into
//! the same shape at run time by [`Schema::from_openapi`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

use super::error::PatchError;

/// The generated table of the built-in Kubernetes types.
const BUILTIN_TABLE: &str = include_str!("../../openapi/merge_keys.json");

/// Versions accepted by a kustomization's `openapi: {version: ...}`:
/// kustomize v5.5.0's built-in one, and the one our table comes from. Both
/// select [`Schema::builtin`].
pub const BUILTIN_OPENAPI_VERSIONS: &[&str] = &["v1.21.2", "v1.34.4"];

/// Name under which a type's `additionalProperties` schema is stored.
const ANY_FIELD: &str = "*";

/// Patch metadata of one field of one type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct FieldInfo {
    /// The type of the field's value: for lists, of their elements; for
    /// string-keyed maps, of their values.
    #[serde(rename = "t", default)]
    pub type_name: Option<String>,
    /// `x-kubernetes-patch-strategy`, e.g. `merge`, `retainKeys`,
    /// `merge,retainKeys`, `replace`.
    #[serde(rename = "s", default)]
    pub strategy: Option<String>,
    /// Merge keys, as kustomize reads them: `x-kubernetes-list-map-keys`
    /// when present, else `x-kubernetes-patch-merge-key`. Empty when the
    /// field has no patch strategy.
    #[serde(rename = "k", default)]
    pub keys: Vec<String>,
}

impl FieldInfo {
    /// Whether the list at this field merges element-wise (strategy
    /// contains `merge`), as kyaml decides.
    pub fn merges_lists(&self) -> bool {
        self.strategy
            .as_deref()
            .is_some_and(|s| s.split(',').any(|part| part.trim() == "merge"))
    }
}

/// The merge key(s) and strategy of a field, as answered by
/// [`Schema::field_meta`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldPatchMeta<'a> {
    /// `x-kubernetes-patch-strategy` (`merge`, `replace`, `retainKeys`,
    /// or a comma-separated combination), if any.
    pub strategy: Option<&'a str>,
    /// The merge keys kustomize uses for this list (empty for a list of
    /// primitives, or when the list is not merged).
    pub merge_keys: &'a [String],
    /// Whether a list at this field is merged element-wise rather than
    /// replaced.
    pub merges_lists: bool,
}

/// Merge keys and strategies of a set of types, looked up by
/// `apiVersion`/`kind` and field path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Schema {
    /// apiVersion -> kind -> type name.
    #[serde(default)]
    kinds: HashMap<String, HashMap<String, String>>,
    /// type name -> field name (or `*`) -> metadata.
    #[serde(default)]
    types: HashMap<String, HashMap<String, FieldInfo>>,
}

impl Schema {
    /// The built-in Kubernetes types (parsed once, on first use).
    pub fn builtin() -> &'static Schema {
        static BUILTIN: OnceLock<Schema> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            // The table is generated and checked in; a parse failure is a
            // build defect, caught by the unit tests.
            serde_json::from_str(BUILTIN_TABLE).unwrap_or_default()
        })
    }

    /// Compiles an OpenAPI v2 document (`definitions` with
    /// `x-kubernetes-group-version-kind`, `x-kubernetes-patch-*` and
    /// `x-kubernetes-list-map-keys` extensions, `$ref`s to
    /// `#/definitions/...`), as kustomize's `openapi: {path: ...}` names.
    pub fn from_openapi(document: &Value) -> Result<Schema, PatchError> {
        let definitions = document
            .get("definitions")
            .and_then(Value::as_object)
            .ok_or_else(|| PatchError::Schema("no 'definitions' map".to_string()))?;
        let mut schema = Schema::default();
        for (name, definition) in definitions {
            if let Some(gvks) = definition
                .get("x-kubernetes-group-version-kind")
                .and_then(Value::as_array)
            {
                for gvk in gvks {
                    let part = |key: &str| gvk.get(key).and_then(Value::as_str).unwrap_or("");
                    let (group, version, kind) = (part("group"), part("version"), part("kind"));
                    if version.is_empty() || kind.is_empty() {
                        continue;
                    }
                    let api_version = if group.is_empty() {
                        version.to_string()
                    } else {
                        format!("{group}/{version}")
                    };
                    schema
                        .kinds
                        .entry(api_version)
                        .or_default()
                        .insert(kind.to_string(), name.clone());
                }
            }
            schema.compile_type(name, definition)?;
        }
        Ok(schema)
    }

    /// Like [`Schema::from_openapi`], from JSON or YAML text.
    pub fn from_openapi_text(text: &str) -> Result<Schema, PatchError> {
        let document: Value = match serde_json::from_str(text) {
            Ok(document) => document,
            Err(_) => serde_saphyr::from_str(text)
                .map_err(|e| PatchError::Schema(format!("not JSON nor YAML: {e}")))?,
        };
        Schema::from_openapi(&document)
    }

    /// The schema a kustomization's `openapi:` field selects, with
    /// kustomize's rules: `path` (its file's text given as `custom_text`)
    /// gives a schema of its own (use [`Schema::with_base`] to layer it over
    /// the built-in one when kustomize would, see the module docs);
    /// `version` must be one of
    /// [`BUILTIN_OPENAPI_VERSIONS`]; both at once is an error; neither
    /// selects the built-in schema.
    pub fn for_openapi_field(
        version: Option<&str>,
        custom_text: Option<&str>,
    ) -> Result<Cow<'static, Schema>, PatchError> {
        match (version, custom_text) {
            (Some(_), Some(_)) => Err(PatchError::Schema(
                "builtin version and custom schema provided, cannot use both".to_string(),
            )),
            (None, Some(text)) => Schema::from_openapi_text(text).map(Cow::Owned),
            (Some(version), None) if !BUILTIN_OPENAPI_VERSIONS.contains(&version) => {
                Err(PatchError::Schema(format!(
                    "the specified OpenAPI version is not built in: {version} (built in: {})",
                    BUILTIN_OPENAPI_VERSIONS.join(", ")
                )))
            }
            _ => Ok(Cow::Borrowed(Schema::builtin())),
        }
    }

    /// This schema, completed by `base` for every kind and type this one
    /// does not describe (types defined here win).
    pub fn with_base(mut self, base: &Schema) -> Schema {
        for (api_version, kinds) in &base.kinds {
            let mine = self.kinds.entry(api_version.clone()).or_default();
            for (kind, type_name) in kinds {
                mine.entry(kind.clone())
                    .or_insert_with(|| type_name.clone());
            }
        }
        for (name, fields) in &base.types {
            self.types
                .entry(name.clone())
                .or_insert_with(|| fields.clone());
        }
        self
    }

    /// Whether this schema describes `apiVersion`/`kind`.
    pub fn knows_kind(&self, api_version: &str, kind: &str) -> bool {
        self.type_of(api_version, kind).is_some()
    }

    /// The merge key(s) and strategy of the field at `path` (field names
    /// from the object's root; list elements are traversed implicitly, e.g.
    /// `["spec", "template", "spec", "containers", "ports"]`).
    pub fn field_meta(
        &self,
        api_version: &str,
        kind: &str,
        path: &[&str],
    ) -> Option<FieldPatchMeta<'_>> {
        let mut type_name = self.type_of(api_version, kind)?;
        let (last, parents) = path.split_last()?;
        for field in parents {
            type_name = self.field(type_name, field)?.type_name.as_deref()?;
        }
        let info = self.field(type_name, last)?;
        Some(FieldPatchMeta {
            strategy: info.strategy.as_deref(),
            merge_keys: if info.strategy.is_some() {
                &info.keys
            } else {
                &[]
            },
            merges_lists: info.merges_lists(),
        })
    }

    /// The type name of `apiVersion`/`kind`.
    pub(crate) fn type_of(&self, api_version: &str, kind: &str) -> Option<&str> {
        self.kinds.get(api_version)?.get(kind).map(String::as_str)
    }

    /// A field of a type (falling back to the type's `additionalProperties`).
    pub(crate) fn field(&self, type_name: &str, field: &str) -> Option<&FieldInfo> {
        let fields = self.types.get(type_name)?;
        fields.get(field).or_else(|| fields.get(ANY_FIELD))
    }

    /// Compiles the properties of one (possibly inline) schema into
    /// `self.types[name]`.
    fn compile_type(&mut self, name: &str, definition: &Value) -> Result<(), PatchError> {
        let mut fields = HashMap::new();
        if let Some(properties) = definition.get("properties").and_then(Value::as_object) {
            for (field, property) in properties {
                let info = self.compile_field(&format!("{name}/{field}"), property)?;
                fields.insert(field.clone(), info);
            }
        }
        if let Some(additional) = definition
            .get("additionalProperties")
            .filter(|v| v.is_object())
        {
            let info = self.compile_field(&format!("{name}/{ANY_FIELD}"), additional)?;
            fields.insert(ANY_FIELD.to_string(), info);
        }
        if !fields.is_empty() {
            self.types.insert(name.to_string(), fields);
        }
        Ok(())
    }

    /// Compiles one property: its extensions, and the type of its value
    /// (via `$ref`, list `items`, map `additionalProperties`, or inline
    /// `properties`, which get the synthetic name `synthetic`).
    fn compile_field(
        &mut self,
        synthetic: &str,
        property: &Value,
    ) -> Result<FieldInfo, PatchError> {
        let extension = |key: &str| property.get(key);
        let strategy = extension("x-kubernetes-patch-strategy")
            .and_then(Value::as_str)
            .map(str::to_string);
        let keys = match (
            &strategy,
            extension("x-kubernetes-list-map-keys").and_then(Value::as_array),
            extension("x-kubernetes-patch-merge-key").and_then(Value::as_str),
        ) {
            (None, _, _) => Vec::new(),
            (Some(_), Some(list), _) => list
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            (Some(_), None, Some(key)) => vec![key.to_string()],
            (Some(_), None, None) => Vec::new(),
        };
        let value_schema = match property.get("items") {
            Some(items) if items.is_object() => items,
            _ => property,
        };
        let type_name = if let Some(target) = ref_name(value_schema) {
            Some(target.to_string())
        } else if value_schema.get("properties").is_some()
            || value_schema
                .get("additionalProperties")
                .is_some_and(Value::is_object)
        {
            let inner = if std::ptr::eq(value_schema, property) {
                synthetic.to_string()
            } else {
                format!("{synthetic}[]")
            };
            self.compile_type(&inner, value_schema)?;
            self.types.contains_key(&inner).then_some(inner)
        } else {
            None
        };
        Ok(FieldInfo {
            type_name,
            strategy,
            keys,
        })
    }
}

/// The definition name a `{"$ref": "#/definitions/NAME"}` schema points to.
fn ref_name(schema: &Value) -> Option<&str> {
    let reference = schema.get("$ref")?.as_str()?;
    Some(
        reference
            .strip_prefix("#/definitions/")
            .unwrap_or(reference),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtin_table_parses_and_knows_workloads() {
        let schema = Schema::builtin();
        assert!(schema.knows_kind("apps/v1", "Deployment"));
        assert!(schema.knows_kind("v1", "Service"));
        assert!(!schema.knows_kind("example.com/v1", "Widget"));
        let containers = schema
            .field_meta(
                "apps/v1",
                "Deployment",
                &["spec", "template", "spec", "containers"],
            )
            .expect("containers");
        assert_eq!(containers.strategy, Some("merge"));
        assert_eq!(containers.merge_keys, ["name".to_string()]);
        assert!(containers.merges_lists);
    }

    #[test]
    fn kinds_dropped_after_1_21_still_merge_like_kustomize() {
        // kustomize v5.5.0's built-in schema is v1.21.2: batch/v1beta1
        // CronJob containers merge by name there (checked with kubectl
        // kustomize), so the table keeps the kinds 1.34 dropped.
        let schema = Schema::builtin();
        let containers = schema
            .field_meta(
                "batch/v1beta1",
                "CronJob",
                &[
                    "spec",
                    "jobTemplate",
                    "spec",
                    "template",
                    "spec",
                    "containers",
                ],
            )
            .expect("legacy CronJob containers");
        assert_eq!(containers.merge_keys, ["name".to_string()]);
        assert!(schema.knows_kind("policy/v1beta1", "PodDisruptionBudget"));
        assert!(schema.knows_kind("batch/v1", "CronJob"));
    }

    #[test]
    fn ports_use_list_map_keys() {
        let schema = Schema::builtin();
        let ports = schema
            .field_meta(
                "apps/v1",
                "StatefulSet",
                &["spec", "template", "spec", "containers", "ports"],
            )
            .expect("container ports");
        assert_eq!(
            ports.merge_keys,
            ["containerPort".to_string(), "protocol".to_string()]
        );
        let service_ports = schema
            .field_meta("v1", "Service", &["spec", "ports"])
            .expect("service ports");
        assert_eq!(
            service_ports.merge_keys,
            ["port".to_string(), "protocol".to_string()]
        );
    }

    #[test]
    fn strategies_other_than_merge() {
        let schema = Schema::builtin();
        let volumes = schema
            .field_meta("v1", "Pod", &["spec", "volumes"])
            .expect("volumes");
        assert_eq!(volumes.strategy, Some("merge,retainKeys"));
        assert!(volumes.merges_lists);
        let strategy = schema
            .field_meta("apps/v1", "Deployment", &["spec", "strategy"])
            .expect("deployment strategy");
        assert_eq!(strategy.strategy, Some("retainKeys"));
        assert!(!strategy.merges_lists);
        let finalizers = schema
            .field_meta("v1", "ConfigMap", &["metadata", "finalizers"])
            .expect("finalizers");
        assert!(finalizers.merges_lists);
        assert!(finalizers.merge_keys.is_empty());
    }

    #[test]
    fn openapi_field_rules() {
        assert!(matches!(
            Schema::for_openapi_field(None, None),
            Ok(Cow::Borrowed(_))
        ));
        assert!(matches!(
            Schema::for_openapi_field(Some("v1.21.2"), None),
            Ok(Cow::Borrowed(_))
        ));
        let err = Schema::for_openapi_field(Some("v1.14.1"), None).unwrap_err();
        assert!(
            err.to_string()
                .contains("the specified OpenAPI version is not built in")
        );
        let err = Schema::for_openapi_field(Some("v1.21.2"), Some("{}")).unwrap_err();
        assert!(err.to_string().contains("cannot use both"));
        let yaml = "definitions:\n  T:\n    x-kubernetes-group-version-kind:\n    - {group: a.io, version: v1, kind: T}\n";
        let custom = Schema::for_openapi_field(None, Some(yaml)).expect("yaml schema");
        assert!(custom.knows_kind("a.io/v1", "T"));
        // A custom schema replaces the built-in one, as in kustomize.
        assert!(!custom.knows_kind("apps/v1", "Deployment"));
        assert!(Schema::for_openapi_field(None, Some("[1, 2")).is_err());
    }

    #[test]
    fn compiles_a_custom_openapi_document() {
        let document = json!({
            "definitions": {
                "v1alpha1.MyCRD": {
                    "properties": {
                        "spec": {
                            "properties": {
                                "items": {
                                    "type": "array",
                                    "items": {"$ref": "#/definitions/Item"},
                                    "x-kubernetes-patch-strategy": "merge",
                                    "x-kubernetes-patch-merge-key": "id"
                                }
                            },
                            "type": "object"
                        }
                    },
                    "x-kubernetes-group-version-kind": [
                        {"group": "example.com", "version": "v1alpha1", "kind": "MyCRD"}
                    ]
                },
                "Item": {"properties": {"id": {"type": "string"}}}
            }
        });
        let schema = Schema::from_openapi(&document).expect("compiles");
        let items = schema
            .field_meta("example.com/v1alpha1", "MyCRD", &["spec", "items"])
            .expect("items");
        assert_eq!(items.merge_keys, ["id".to_string()]);
        assert!(Schema::from_openapi(&json!({})).is_err());
        let layered = schema.with_base(Schema::builtin());
        assert!(layered.knows_kind("example.com/v1alpha1", "MyCRD"));
        assert!(layered.knows_kind("apps/v1", "Deployment"));
    }
}
