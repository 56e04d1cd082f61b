//! Patches as kustomize applies them: strategic merge patches (SMP) and
//! JSON 6902 patches.
//!
//! # Strategic merge
//!
//! [`strategic_merge`] merges a patch document into a target object the way
//! kustomize (kyaml's `merge2`) does, using the merge keys and strategies of
//! the built-in Kubernetes types ([`Schema::builtin`], generated from the
//! Kubernetes OpenAPI by `tools/openapi/generate.py`):
//!
//! - maps merge recursively; a `null` value deletes the field;
//! - a list whose field has patch strategy `merge` merges element-wise by its
//!   merge key(s) (`x-kubernetes-list-map-keys` if present, else
//!   `x-kubernetes-patch-merge-key`); like kustomize, the result lists the
//!   patch's elements first, in patch order (each merged with the target
//!   element of the same key, if any), then the target's other elements; a
//!   list of primitives with strategy `merge` is unioned the same way (patch
//!   values first); every other list (no schema, strategy `replace`, CRDs)
//!   is replaced by the patch's list;
//! - with two merge keys (ports: `containerPort`/`port` + `protocol`) a
//!   patch element merges into the element whose keys are all equal (a key
//!   missing on both sides is equal); one that matches only partly (e.g.
//!   `protocol` on one side only) is ignored, as kustomize ignores it; new
//!   elements come first, then the target's elements in their order;
//! - directives: `$patch: delete | replace | merge` on maps and list
//!   elements, a list element `{$patch: replace}` (replace the whole list),
//!   `$retainKeys`, `$deleteFromPrimitiveList/<field>`,
//!   `$setElementOrder/<field>`. None of them is left in the output.
//!
//! Deliberate differences from `kubectl kustomize` v5.5.0 (checked against
//! it), where kustomize's output is broken rather than a choice:
//! `$retainKeys`, `$deleteFromPrimitiveList/*` and `$setElementOrder/*` are
//! applied (kustomize copies them into the object verbatim); a list element
//! with `$patch: replace` replaces that element (kustomize ignores it); a
//! patch element without merge key is ignored without disturbing the other
//! elements (kustomize drops unrelated elements); a new list built from a
//! patch keeps every element (kustomize keeps only the last of duplicates).
//!
//! Kustomize keeps the target's `apiVersion`, `kind`, `name` and
//! `namespace` through a patch unless the patch's options allow a change:
//! that is the caller's job (this module merges everything it is given).
//!
//! **Deleting the whole object**: when the patch's top level carries
//! `$patch: delete`, [`strategic_merge`] sets the target to `Value::Null`;
//! use [`strategic_merge_outcome`] to get a [`MergeOutcome`] instead, or
//! [`is_delete_patch`] to ask the patch alone. Kustomize then drops the
//! object from the output.
//!
//! Custom schemas (a kustomization's `openapi: {path: ...}`) are read with
//! [`Schema::from_openapi_text`] and passed to [`strategic_merge_with`].
//! Kustomize keeps one global schema per build, and what a custom schema
//! does depends on when its `openapi:` field is read (checked with
//! `kubectl kustomize`): read before any resource was loaded (the root
//! kustomization, or the first base) it *replaces* the built-in schema (a
//! Deployment's containers are then replaced, not merged); read later (e.g.
//! in a component, after the resources) it is *layered* over the built-in
//! one ([`Schema::with_base`]), so its `$ref`s to built-in types such as
//! `io.k8s.api.core.v1.PodTemplateSpec` resolve (corpus case
//! TestCustomOpenApiFieldFromComponentWithOverlays). Either way it stays in
//! effect for the rest of the build.
//! [`Schema::for_openapi_field`] applies kustomize's rules for the field
//! (`path` xor `version`, known versions).
//!
//! # JSON 6902
//!
//! [`apply_json6902`] applies RFC 6902 operations (`add`, `remove`,
//! `replace`, `move`, `copy`, `test`) with RFC 6901 pointers (`~0`, `~1`, `-`
//! to append). [`parse_patch_text`] tells a JSON 6902 patch (a list of
//! operations, in YAML or JSON) from a strategic merge patch (one or more
//! YAML/JSON documents).

#[cfg(test)]
mod corpus_tests;
mod error;
mod json6902;
mod pointer;
mod schema;
mod smp;

pub use error::PatchError;
pub use json6902::apply_json6902;
pub use schema::{BUILTIN_OPENAPI_VERSIONS, FieldPatchMeta, Schema};
pub use smp::{
    MergeOutcome, is_delete_patch, strategic_merge, strategic_merge_outcome, strategic_merge_with,
};

use serde_json::Value;

/// What a patch file (or inline patch text) holds.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchKind {
    /// A JSON 6902 patch: the list of operations (a JSON array).
    Json6902(Value),
    /// Strategic merge patches, one per non-empty YAML document, in order.
    /// Empty when the text holds no document (kustomize reports "patch
    /// appears to be empty").
    StrategicMerge(Vec<Value>),
}

/// Parses patch text (YAML or JSON, with the crate's YAML options). A text
/// whose single document is a list is a JSON 6902 patch; documents that are
/// maps are strategic merge patches. Anything else is an error.
pub fn parse_patch_text(text: &str) -> Result<PatchKind, PatchError> {
    let documents = crate::yaml::parse_documents(text, "patch").map_err(|e| match e {
        crate::RenderError::Parse { message, .. } => PatchError::Parse(message),
        other => PatchError::Parse(other.to_string()),
    })?;
    classify_patch(documents)
}

/// Tells what already-parsed patch documents hold (see
/// [`parse_patch_text`]); null documents are ignored.
pub fn classify_patch(documents: Vec<Value>) -> Result<PatchKind, PatchError> {
    let documents: Vec<Value> = documents.into_iter().filter(|d| !d.is_null()).collect();
    if documents.iter().any(Value::is_array) {
        return match <[Value; 1]>::try_from(documents) {
            Ok([ops]) => Ok(PatchKind::Json6902(ops)),
            Err(documents) => Err(PatchError::NotAPatch(format!(
                "a JSON 6902 patch must be a single list of operations, found {} documents",
                documents.len()
            ))),
        };
    }
    if let Some(other) = documents.iter().find(|d| !d.is_object()) {
        return Err(PatchError::NotAPatch(format!(
            "expected a map or a list of operations, found {other}"
        )));
    }
    Ok(PatchKind::StrategicMerge(documents))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tells_json6902_from_strategic_merge() {
        let yaml_ops = "- op: add\n  path: /a\n  value: 1\n";
        assert_eq!(
            parse_patch_text(yaml_ops),
            Ok(PatchKind::Json6902(
                json!([{"op": "add", "path": "/a", "value": 1}])
            ))
        );
        let json_ops = r#"[{"op": "remove", "path": "/b"}]"#;
        assert_eq!(
            parse_patch_text(json_ops),
            Ok(PatchKind::Json6902(json!([{"op": "remove", "path": "/b"}])))
        );
        let smp = "kind: A\nmetadata:\n  name: x\n---\nkind: B\nmetadata:\n  name: y\n";
        assert_eq!(
            parse_patch_text(smp),
            Ok(PatchKind::StrategicMerge(vec![
                json!({"kind": "A", "metadata": {"name": "x"}}),
                json!({"kind": "B", "metadata": {"name": "y"}}),
            ]))
        );
    }

    #[test]
    fn empty_text_is_an_empty_strategic_merge() {
        assert_eq!(parse_patch_text(""), Ok(PatchKind::StrategicMerge(vec![])));
        assert_eq!(
            parse_patch_text("# only a comment\n"),
            Ok(PatchKind::StrategicMerge(vec![]))
        );
    }

    #[test]
    fn rejects_scalars_and_bad_yaml() {
        assert!(matches!(
            parse_patch_text("just text"),
            Err(PatchError::NotAPatch(_))
        ));
        assert!(matches!(
            parse_patch_text("a: [1, 2"),
            Err(PatchError::Parse(_))
        ));
    }
}
