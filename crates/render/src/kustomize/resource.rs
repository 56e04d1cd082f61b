//! Resources inside a build: an object plus the history kustomize keeps
//! about it (earlier ids, generator options, the prefixes and suffixes
//! applied), and the ordered map of resources one kustomization holds.

use std::rc::Rc;

use crate::object::Object;

/// A resource id as kustomize compares them: group, version, kind,
/// namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResId {
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Namespace (empty when unset).
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ResId {
    /// The current id of `object`.
    pub fn of(object: &Object) -> Self {
        Self {
            group: object.group().to_string(),
            version: object.version().to_string(),
            kind: object.kind().to_string(),
            namespace: object.namespace().unwrap_or("").to_string(),
            name: object.name().to_string(),
        }
    }

    /// The namespace, `default` when unset (kustomize's effective namespace).
    pub fn effective_namespace(&self) -> &str {
        effective_namespace_in(&self.group, &self.kind, &self.namespace)
    }

    /// Same group, version, kind, name and effective namespace.
    pub fn same(&self, other: &ResId) -> bool {
        self.kind == other.kind
            && self.name == other.name
            && self.group == other.group
            && self.version == other.version
            && self.effective_namespace() == other.effective_namespace()
    }

    /// Same as [`Self::same`], ignoring the version.
    pub fn same_ignoring_version(&self, other: &ResId) -> bool {
        self.kind == other.kind
            && self.name == other.name
            && self.group == other.group
            && self.effective_namespace() == other.effective_namespace()
    }
}

impl std::fmt::Display for ResId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let group = if self.group.is_empty() {
            "[noGrp]"
        } else {
            &self.group
        };
        let ns = if self.namespace.is_empty() {
            "[noNs]"
        } else {
            &self.namespace
        };
        write!(
            f,
            "{group}/{}/{}/{}.{ns}",
            self.version, self.kind, self.name
        )
    }
}

/// kustomize's effective namespace of an object of `group` and `kind` in
/// `namespace`: empty for a cluster-scoped kind, `default` when unset.
pub fn effective_namespace_in<'a>(group: &str, kind: &str, namespace: &'a str) -> &'a str {
    let cluster = is_cluster_scoped_in(group, kind);
    if namespace.is_empty() || cluster {
        if cluster { "" } else { "default" }
    } else {
        namespace
    }
}

/// Whether objects of `kind` in API `group` are cluster-scoped: a built-in
/// cluster-scoped kind in the core group or a `*.k8s.io` group (a custom
/// `Namespace` kind of another group is namespaced).
pub fn is_cluster_scoped_in(group: &str, kind: &str) -> bool {
    (group.is_empty() || group.ends_with("k8s.io")) && is_cluster_scoped(kind)
}

/// Kinds kustomize knows to be cluster-scoped (no namespace is set on them).
pub fn is_cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "CustomResourceDefinition"
            | "PersistentVolume"
            | "StorageClass"
            | "PriorityClass"
            | "APIService"
            | "MutatingWebhookConfiguration"
            | "ValidatingWebhookConfiguration"
            | "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding"
            | "MutatingAdmissionPolicy"
            | "MutatingAdmissionPolicyBinding"
            | "Node"
            | "IngressClass"
            | "CSIDriver"
            | "CSINode"
            | "RuntimeClass"
            | "PodSecurityPolicy"
            | "VolumeAttachment"
            | "ComponentStatus"
            | "CertificateSigningRequest"
            | "FlowSchema"
            | "PriorityLevelConfiguration"
            | "StorageVersion"
            | "TokenReview"
            | "SelfSubjectAccessReview"
            | "SelfSubjectRulesReview"
            | "SubjectAccessReview"
            | "ClusterTrustBundle"
            | "DeviceClass"
            | "IPAddress"
            | "ServiceCIDR"
    )
}

/// Which built-in plugin made or changed a resource, for `buildMetadata`.
#[derive(Clone, Debug, PartialEq)]
pub struct Configured {
    /// The file configuring it (a kustomization or a plugin config file).
    pub configured_in: String,
    /// The plugin kind, e.g. `ConfigMapGenerator`, `PrefixTransformer`.
    pub kind: String,
    /// The plugin config's `metadata.name`, for plugin configs.
    pub name: Option<String>,
    /// The plugin config's `metadata.namespace`, for plugin configs.
    pub namespace: Option<String>,
}

impl Configured {
    /// The record of a plugin config `doc` read from `file`.
    pub fn plugin(file: &str, doc: &serde_json::Value) -> Self {
        let text = |pointer: &str| doc.pointer(pointer).and_then(serde_json::Value::as_str);
        Self {
            configured_in: file.to_string(),
            kind: text("/kind").unwrap_or("").to_string(),
            name: text("/metadata/name").map(str::to_string),
            namespace: text("/metadata/namespace").map(str::to_string),
        }
    }
}

/// One resource of a build.
#[derive(Clone, Debug)]
pub struct Resource {
    /// The object as it is now.
    pub object: Object,
    /// Every id the object had before its current one, oldest first.
    pub history: Vec<ResId>,
    /// Whether a content-hash suffix is appended to the name at the end.
    pub needs_hash: bool,
    /// Whether this was made by a generator (merge/replace apply to it).
    pub generated: bool,
    /// The name prefixes applied, innermost first.
    pub prefixes: Vec<String>,
    /// The name suffixes applied, innermost first.
    pub suffixes: Vec<String>,
    /// The file the object was read from (for errors and origin annotations).
    pub origin: String,
    /// The generator that made the object, when one did.
    pub generated_by: Option<Configured>,
    /// The transformers that ran over the object, in order (shared: one
    /// record per transformer run, whatever the number of resources).
    pub transformations: Vec<Rc<Configured>>,
}

impl Resource {
    /// A resource read from `origin`.
    pub fn new(object: Object, origin: &str) -> Self {
        Self {
            object,
            history: Vec::new(),
            needs_hash: false,
            generated: false,
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            origin: origin.to_string(),
            generated_by: None,
            transformations: Vec::new(),
        }
    }

    /// The current id.
    pub fn id(&self) -> ResId {
        ResId::of(&self.object)
    }

    /// The id the object was first read (or generated) with.
    pub fn original_id(&self) -> ResId {
        self.history.first().cloned().unwrap_or_else(|| self.id())
    }

    /// Records `before` as an earlier id when the object's id changed since.
    pub fn record(&mut self, before: ResId) {
        let o = &self.object;
        let unchanged = o.name() == before.name
            && o.kind() == before.kind
            && o.namespace().unwrap_or("") == before.namespace
            && o.group() == before.group
            && o.version() == before.version;
        if !unchanged && self.history.last() != Some(&before) {
            self.history.push(before);
        }
    }

    /// Every id the resource had, the current one last.
    pub fn all_ids(&self) -> impl Iterator<Item = ResId> + '_ {
        self.history
            .iter()
            .cloned()
            .chain(std::iter::once(self.id()))
    }

    /// Whether the current or any earlier id is `id` (ignoring versions).
    pub fn had_id(&self, id: &ResId) -> bool {
        self.all_ids().any(|known| known.same_ignoring_version(id))
    }
}
