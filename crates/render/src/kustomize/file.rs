//! Loading a kustomization file: field names matched case-insensitively
//! (like kustomize's Go JSON decoding), unknown fields rejected, the
//! deprecated fields folded into their replacements.

use serde_json::{Map, Value};

use crate::error::RenderError;
use crate::yaml::Reader;

/// Every field a kustomization may have, spelled as kustomize does.
const FIELDS: [&str; 36] = [
    "apiVersion",
    "kind",
    "metadata",
    "openapi",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patchesStrategicMerge",
    "patchesJson6902",
    "patches",
    "images",
    "imageTags",
    "replacements",
    "replicas",
    "vars",
    "sortOptions",
    "resources",
    "components",
    "crds",
    "bases",
    "configMapGenerator",
    "secretGenerator",
    "helmGlobals",
    "helmCharts",
    "helmChartInflationGenerator",
    "generatorOptions",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "buildMetadata",
    "status",
    "inventory",
];

/// Which kind of kustomization file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `kind: Kustomization` (the default).
    Kustomization,
    /// `kind: Component`.
    Component,
}

/// A parsed kustomization: its file path and fields under their canonical names.
#[derive(Clone, Debug)]
pub struct Kustomization {
    /// The kustomization file's path in the tree.
    pub file: String,
    /// Its directory.
    pub dir: String,
    /// Kustomization or Component.
    pub kind: Kind,
    /// The fields, keyed by canonical name.
    pub fields: Map<String, Value>,
}

impl Kustomization {
    /// Reads and checks the kustomization file `file` in `dir`.
    pub fn load(reader: &Reader<'_>, dir: &str, file: &str) -> Result<Self, RenderError> {
        let text = reader.read_text(file)?;
        Self::parse(&text, dir, file)
    }

    /// Parses kustomization text.
    pub fn parse(text: &str, dir: &str, file: &str) -> Result<Self, RenderError> {
        let value = crate::yaml::parse_one(text, file)?;
        let raw = match value {
            Value::Null => {
                return Err(RenderError::Parse {
                    file: file.to_string(),
                    message: "kustomization file is empty".into(),
                });
            }
            Value::Object(map) => map,
            _ => {
                return Err(RenderError::Parse {
                    file: file.to_string(),
                    message: "a kustomization must be a YAML mapping".into(),
                });
            }
        };
        let mut fields = Map::new();
        for (key, value) in raw {
            let Some(name) = FIELDS.iter().find(|f| f.eq_ignore_ascii_case(&key)) else {
                return Err(RenderError::field(
                    file,
                    &key,
                    format!("invalid Kustomization: json: unknown field {key:?}"),
                ));
            };
            fields.insert((*name).to_string(), value);
        }
        let kind = match fields.get("kind").and_then(Value::as_str) {
            None | Some("") | Some("Kustomization") => Kind::Kustomization,
            Some("Component") => Kind::Component,
            Some(other) => {
                return Err(RenderError::field(
                    file,
                    "kind",
                    format!("unknown kind {other:?}: expected Kustomization or Component"),
                ));
            }
        };
        if kind == Kind::Component {
            match fields.get("apiVersion").and_then(Value::as_str) {
                None | Some("kustomize.config.k8s.io/v1alpha1") => {}
                Some(other) => {
                    return Err(RenderError::field(
                        file,
                        "apiVersion",
                        format!(
                            "apiVersion for Component should be kustomize.config.k8s.io/v1alpha1, not {other}"
                        ),
                    ));
                }
            }
        }
        let mut k = Self {
            file: file.to_string(),
            dir: dir.to_string(),
            kind,
            fields,
        };
        k.fold_deprecated();
        k.refuse_unsupported()?;
        Ok(k)
    }

    /// `bases` join `resources`; `imageTags` join `images`.
    fn fold_deprecated(&mut self) {
        if let Some(Value::Array(bases)) = self.fields.remove("bases") {
            let resources = self
                .fields
                .entry("resources")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = resources {
                list.extend(bases);
            } else {
                *resources = Value::Array(bases);
            }
        }
        if let Some(Value::Array(tags)) = self.fields.remove("imageTags") {
            let images = self
                .fields
                .entry("images")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = images {
                list.extend(tags);
            }
        }
    }

    fn refuse_unsupported(&self) -> Result<(), RenderError> {
        for field in ["helmChartInflationGenerator"] {
            if self.fields.get(field).is_some_and(|v| !v.is_null()) {
                return Err(RenderError::Unsupported {
                    file: self.file.clone(),
                    field: field.to_string(),
                    message: "the deprecated helmChartInflationGenerator field is not \
                              supported by the native renderer; use helmCharts"
                        .into(),
                });
            }
        }
        Ok(())
    }

    /// A field, `None` when absent or null.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields.get(field).filter(|v| !v.is_null())
    }

    /// A string field.
    pub fn string(&self, field: &str) -> Result<Option<&str>, RenderError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(RenderError::field(&self.file, field, "must be a string")),
        }
    }

    /// A list-of-strings field (`resources`, `components`, ...).
    pub fn strings(&self, field: &str) -> Result<Vec<String>, RenderError> {
        match self.get(field) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(RenderError::field(
                        &self.file,
                        &format!("{field}[{i}]"),
                        "must be a string",
                    )),
                })
                .collect(),
            Some(_) => Err(RenderError::field(&self.file, field, "must be a list")),
        }
    }

    /// A map-of-strings field (`commonLabels`, `commonAnnotations`); numbers
    /// and booleans are kept as their text.
    pub fn string_map(&self, field: &str) -> Result<Vec<(String, String)>, RenderError> {
        match self.get(field) {
            None => Ok(Vec::new()),
            Some(Value::Object(map)) => Ok(map
                .iter()
                .map(|(k, v)| (k.clone(), scalar_text(v)))
                .collect()),
            Some(_) => Err(RenderError::field(&self.file, field, "must be a map")),
        }
    }
}

/// The text of a scalar as kustomize would keep it.
pub fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_case_insensitive_and_unknown_ones_refused() {
        let k =
            Kustomization::parse("nameprefix: a-\nBases: [x]\nresources: [y]\n", "", "k").unwrap();
        assert_eq!(k.string("namePrefix").unwrap(), Some("a-"));
        assert_eq!(k.strings("resources").unwrap(), ["y", "x"]);
        let err = Kustomization::parse("foo: 1\n", "d", "d/kustomization.yaml").unwrap_err();
        assert!(err.to_string().contains("d/kustomization.yaml"), "{err}");
        assert!(err.to_string().contains("foo"), "{err}");
    }

    #[test]
    fn the_deprecated_helm_field_is_refused_by_name() {
        let err = Kustomization::parse(
            "helmChartInflationGenerator: [{chartName: x}]\n",
            "",
            "k.yaml",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("helmChartInflationGenerator"),
            "{err}"
        );
        assert!(Kustomization::parse("helmCharts: [{name: x}]\n", "", "k.yaml").is_ok());
    }
}
