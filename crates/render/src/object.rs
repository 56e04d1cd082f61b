//! A rendered Kubernetes object: an ordered JSON map with accessors for the
//! fields every stage needs (apiVersion, kind, metadata).

use serde_json::{Map, Value};

/// One Kubernetes object as rendered from Git. Field order is kept as written.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Object(pub Map<String, Value>);

/// Identifies an object within a cluster: group, kind, namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// API group; empty for the core group.
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace; empty for cluster-scoped objects (or not yet set).
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let group = if self.group.is_empty() {
            String::new()
        } else {
            format!(".{}", self.group)
        };
        match self.namespace.as_str() {
            "" => write!(f, "{}{group}/{}", self.kind, self.name),
            ns => write!(f, "{}{group} {ns}/{}", self.kind, self.name),
        }
    }
}

impl Object {
    /// Wraps a JSON value; `None` when it is not a JSON object.
    pub fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Object(map) => Some(Self(map)),
            _ => None,
        }
    }

    /// The object as a JSON value.
    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }

    fn str_at(&self, path: &[&str]) -> Option<&str> {
        let (last, parents) = path.split_last()?;
        let mut map = &self.0;
        for key in parents {
            map = map.get(*key)?.as_object()?;
        }
        map.get(*last)?.as_str()
    }

    /// `apiVersion`, e.g. `apps/v1`.
    pub fn api_version(&self) -> &str {
        self.str_at(&["apiVersion"]).unwrap_or("")
    }

    /// The API group (`apps`), empty for the core group (`v1`).
    pub fn group(&self) -> &str {
        self.api_version()
            .rsplit_once('/')
            .map_or("", |(group, _)| group)
    }

    /// The API version without the group (`v1`).
    pub fn version(&self) -> &str {
        let api_version = self.api_version();
        api_version
            .rsplit_once('/')
            .map_or(api_version, |(_, version)| version)
    }

    /// `kind`.
    pub fn kind(&self) -> &str {
        self.str_at(&["kind"]).unwrap_or("")
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.str_at(&["metadata", "name"]).unwrap_or("")
    }

    /// `metadata.namespace`, when set and not empty.
    pub fn namespace(&self) -> Option<&str> {
        self.str_at(&["metadata", "namespace"])
            .filter(|ns| !ns.is_empty())
    }

    /// The object's identity.
    pub fn key(&self) -> ObjectKey {
        ObjectKey {
            group: self.group().to_string(),
            kind: self.kind().to_string(),
            namespace: self.namespace().unwrap_or("").to_string(),
            name: self.name().to_string(),
        }
    }

    /// `metadata`, created empty when missing.
    pub fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let meta = self
            .0
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !meta.is_object() {
            *meta = Value::Object(Map::new());
        }
        meta.as_object_mut()
            .expect("metadata was just made an object")
    }

    /// Sets `metadata.namespace`.
    pub fn set_namespace(&mut self, namespace: &str) {
        self.metadata_mut()
            .insert("namespace".into(), Value::String(namespace.into()));
    }

    /// The value of the annotation `key`.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.str_at(&["metadata", "annotations", key])
    }

    /// The value of the label `key`.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.str_at(&["metadata", "labels", key])
    }

    /// Sets the annotation `key` to `value`.
    pub fn set_annotation(&mut self, key: &str, value: &str) {
        let annotations = self
            .metadata_mut()
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if !annotations.is_object() {
            *annotations = Value::Object(Map::new());
        }
        if let Some(map) = annotations.as_object_mut() {
            map.insert(key.into(), Value::String(value.into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> Object {
        Object::from_value(serde_json::json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "dev", "labels": {"app": "web"}},
        }))
        .unwrap()
    }

    #[test]
    fn accessors() {
        let obj = deployment();
        assert_eq!(
            (obj.group(), obj.version(), obj.kind()),
            ("apps", "v1", "Deployment")
        );
        assert_eq!((obj.name(), obj.namespace()), ("web", Some("dev")));
        assert_eq!(obj.label("app"), Some("web"));
        assert_eq!(obj.key().to_string(), "Deployment.apps dev/web");
    }

    #[test]
    fn core_group_is_empty() {
        let obj =
            Object::from_value(serde_json::json!({"apiVersion": "v1", "kind": "Service"})).unwrap();
        assert_eq!((obj.group(), obj.version(), obj.name()), ("", "v1", ""));
        assert_eq!(obj.key().to_string(), "Service/");
    }

    #[test]
    fn set_annotation_creates_maps() {
        let mut obj = Object::from_value(serde_json::json!({"kind": "ConfigMap"})).unwrap();
        obj.set_annotation("a", "b");
        obj.set_namespace("ns");
        assert_eq!(obj.annotation("a"), Some("b"));
        assert_eq!(obj.namespace(), Some("ns"));
    }
}
