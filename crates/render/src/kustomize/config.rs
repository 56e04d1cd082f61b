//! The transformer configuration of a build: kustomize's built-in field
//! specs, extended by `configurations` files.

use serde_json::Value;

use super::fieldpath::FieldSpec;
use super::specs;
use crate::error::RenderError;

/// Where a kind is referenced by name.
#[derive(Clone, Debug)]
pub struct NameReference {
    /// The referenced group (empty: any).
    pub group: String,
    /// The referenced version (empty: any).
    pub version: String,
    /// The referenced kind.
    pub kind: String,
    /// The fields that hold its name.
    pub referrers: Vec<FieldSpec>,
}

/// Field specs for each built-in transformer.
#[derive(Clone, Debug)]
pub struct Config {
    /// Name references (ConfigMap in pod volumes, ...).
    pub name_reference: Vec<NameReference>,
    /// Label fields `commonLabels` sets (besides `metadata/labels`).
    pub common_labels: Vec<FieldSpec>,
    /// Pod-template label fields.
    pub template_labels: Vec<FieldSpec>,
    /// Extra label fields every `labels` entry sets (`configurations: labels`).
    pub labels: Vec<FieldSpec>,
    /// Annotation fields `commonAnnotations` sets.
    pub common_annotations: Vec<FieldSpec>,
    /// Extra fields the namespace goes into.
    pub namespace: Vec<FieldSpec>,
    /// Extra fields prefixes and suffixes go into.
    pub name_prefix: Vec<FieldSpec>,
    /// When set, only objects these specs select get prefixes and suffixes.
    pub prefix_kinds: Option<Vec<FieldSpec>>,
    /// Raw sections other transformers read (`images`, `replicas`, `varReference`).
    pub extra: Vec<(String, Value)>,
}

fn spec(group: &str, version: &str, kind: &str, path: &str, create: bool) -> FieldSpec {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
    FieldSpec {
        group: some(group),
        version: some(version),
        kind: some(kind),
        path: path.to_string(),
        create,
    }
}

impl Default for Config {
    fn default() -> Self {
        let name_reference = specs::NAME_REFERENCES
            .iter()
            .map(|((group, version, kind), refs)| NameReference {
                group: group.to_string(),
                version: version.to_string(),
                kind: kind.to_string(),
                referrers: refs
                    .iter()
                    .map(|(g, v, k, p)| spec(g, v, k, p, false))
                    .collect(),
            })
            .collect();
        let list = |table: &[specs::CreateSpec]| {
            table
                .iter()
                .map(|(g, v, k, p, c)| spec(g, v, k, p, *c))
                .collect::<Vec<_>>()
        };
        Self {
            name_reference,
            common_labels: list(specs::LABEL_SELECTORS),
            template_labels: list(specs::LABEL_TEMPLATES),
            labels: Vec::new(),
            common_annotations: list(specs::ANNOTATION_TEMPLATES),
            namespace: vec![
                spec(
                    "apiregistration.k8s.io",
                    "",
                    "APIService",
                    "spec/service/namespace",
                    true,
                ),
                spec(
                    "apiextensions.k8s.io",
                    "",
                    "CustomResourceDefinition",
                    "spec/conversion/webhook/clientConfig/service/namespace",
                    false,
                ),
            ],
            name_prefix: Vec::new(),
            prefix_kinds: None,
            extra: Vec::new(),
        }
    }
}

fn push_unique(list: &mut Vec<FieldSpec>, items: Vec<FieldSpec>) {
    for item in items {
        if !list.contains(&item) {
            list.push(item);
        }
    }
}

impl Config {
    /// Adds the field specs of a `configurations` file.
    pub fn merge_file(&mut self, value: &Value, file: &str) -> Result<(), RenderError> {
        let Some(map) = value.as_object() else {
            return Ok(());
        };
        for (key, section) in map {
            let specs = |field: &str| {
                FieldSpec::parse_list(section, file, field)
                    .map_err(|e| RenderError::field(file, field, e))
            };
            match key.as_str() {
                "commonLabels" => {
                    let mut list = specs(key)?;
                    list.retain(|s| s.path != "metadata/labels");
                    push_unique(&mut self.common_labels, list);
                }
                "templateLabels" => push_unique(&mut self.template_labels, specs(key)?),
                "labels" => {
                    let mut list = specs(key)?;
                    list.retain(|s| s.path != "metadata/labels");
                    push_unique(&mut self.labels, list);
                }
                "commonAnnotations" => {
                    let mut list = specs(key)?;
                    list.retain(|s| s.path != "metadata/annotations");
                    push_unique(&mut self.common_annotations, list);
                }
                "namespace" => {
                    let mut list = specs(key)?;
                    list.retain(|s| s.path != "metadata/namespace");
                    push_unique(&mut self.namespace, list);
                }
                "namePrefix" | "nameSuffix" => {
                    let list = specs(key)?;
                    if list.iter().any(|s| s.path == "metadata/name") {
                        // Kind-specific metadata/name specs narrow the default (every kind).
                        self.prefix_kinds = Some(
                            list.iter()
                                .filter(|s| s.path == "metadata/name")
                                .cloned()
                                .collect(),
                        );
                    }
                    let list = list
                        .into_iter()
                        .filter(|s| s.path != "metadata/name")
                        .collect();
                    push_unique(&mut self.name_prefix, list);
                }
                "nameReference" => self.merge_name_references(section, file)?,
                other => self.extra.push((other.to_string(), section.clone())),
            }
        }
        Ok(())
    }

    fn merge_name_references(&mut self, section: &Value, file: &str) -> Result<(), RenderError> {
        let Some(entries) = section.as_array() else {
            return Err(RenderError::field(file, "nameReference", "must be a list"));
        };
        for (i, entry) in entries.iter().enumerate() {
            let field = format!("nameReference[{i}]");
            let get = |k: &str| {
                entry
                    .get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let referrers = match entry.get("fieldSpecs") {
                Some(v) => FieldSpec::parse_list(v, file, &field)
                    .map_err(|e| RenderError::field(file, &field, e))?,
                None => Vec::new(),
            };
            let (group, version, kind) = (get("group"), get("version"), get("kind"));
            match self
                .name_reference
                .iter_mut()
                .find(|n| n.kind == kind && n.group == group)
            {
                Some(existing) => push_unique(&mut existing.referrers, referrers),
                None => self.name_reference.push(NameReference {
                    group,
                    version,
                    kind,
                    referrers,
                }),
            }
        }
        Ok(())
    }

    /// The field specs of a section other transformers read (`images`,
    /// `replicas`, `varReference`), from every `configurations` file.
    pub fn extra_specs(&self, section: &str, file: &str) -> Result<Vec<FieldSpec>, RenderError> {
        let mut out = Vec::new();
        for (key, value) in &self.extra {
            if key == section {
                let specs = FieldSpec::parse_list(value, file, key)
                    .map_err(|e| RenderError::field(file, "configurations", e))?;
                push_unique(&mut out, specs);
            }
        }
        Ok(out)
    }

    /// Merges another build's configuration into this one.
    pub fn merge(&mut self, other: &Config) {
        for n in &other.name_reference {
            match self
                .name_reference
                .iter_mut()
                .find(|m| m.kind == n.kind && m.group == n.group)
            {
                Some(existing) => push_unique(&mut existing.referrers, n.referrers.clone()),
                None => self.name_reference.push(n.clone()),
            }
        }
        push_unique(&mut self.common_labels, other.common_labels.clone());
        push_unique(&mut self.template_labels, other.template_labels.clone());
        push_unique(&mut self.labels, other.labels.clone());
        push_unique(
            &mut self.common_annotations,
            other.common_annotations.clone(),
        );
        push_unique(&mut self.namespace, other.namespace.clone());
        push_unique(&mut self.name_prefix, other.name_prefix.clone());
        if let Some(kinds) = &other.prefix_kinds {
            let mine = self.prefix_kinds.get_or_insert_with(Vec::new);
            push_unique(mine, kinds.clone());
        }
        for e in &other.extra {
            if !self.extra.contains(e) {
                self.extra.push(e.clone());
            }
        }
    }
}
