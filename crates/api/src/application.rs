//! The `Application` custom resource: a compatible subset of Argo CD's
//! `argoproj.io/v1alpha1` schema, plus the status driftless writes.
//!
//! Argo CD keeps `operation` beside `spec` at the top level of the object, so
//! the derived root struct flattens [`ApplicationBody`] (`spec` + `operation`)
//! into the object: in Rust that reads `app.spec.spec` and `app.spec.operation`.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::helm_source::{ApplicationSourceHelm, HelmFileParameter, HelmParameter};

/// The group every driftless (and Argo CD) resource lives in.
pub const GROUP: &str = "argoproj.io";
/// The served and stored version.
pub const VERSION: &str = "v1alpha1";
/// The finalizer that makes deleting an Application delete its resources
/// (foreground; append `/background` for background cascading deletion).
pub const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";
/// The project every Application belongs to when it names none.
pub const DEFAULT_PROJECT: &str = "default";

/// The top level of an Application: its `spec` and the optional `operation`
/// used to request a sync by hand (as `argocd app sync` does).
///
/// Printer columns: SYNC STATUS, HEALTH STATUS, REVISION, AGE and MESSAGE;
/// `-o wide` adds OPERATION and PROJECT. MESSAGE is
/// `.status.conditions[0].message`: a printer column takes one JSONPath
/// without filters, and the controller sorts conditions errors first, so the
/// first condition is the most severe thing to know (blank when all is well).
/// What a running sync waits for is `status.operationState.message`
/// (OPERATION), kept apart so a long wave does not hide an error. Both are
/// Argo CD's own fields: no field is added that Argo CD's tools would not know.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
// Several printer columns share `type_ = "string"`, which clippy mistakes for a repeated attribute.
#[allow(clippy::duplicated_attributes)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "Application",
    plural = "applications",
    singular = "application",
    namespaced,
    no_spec,
    status = "ApplicationStatus",
    shortname = "app",
    shortname = "apps",
    category = "argocd",
    doc = "An Application deploys one path of a Git repository into a destination cluster and namespace, and keeps it in sync.",
    printcolumn(
        name = "Sync Status",
        type_ = "string",
        json_path = ".status.sync.status"
    ),
    printcolumn(
        name = "Health Status",
        type_ = "string",
        json_path = ".status.health.status"
    ),
    printcolumn(
        name = "Revision",
        type_ = "string",
        json_path = ".status.sync.revision"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.conditions[0].message"
    ),
    printcolumn(
        name = "Operation",
        type_ = "string",
        json_path = ".status.operationState.message",
        priority = "1"
    ),
    printcolumn(
        name = "Project",
        type_ = "string",
        json_path = ".spec.project",
        priority = "1"
    )
)]
pub struct ApplicationBody {
    /// What to deploy, where, and how to keep it in sync.
    pub spec: ApplicationSpec,
    /// A requested operation (a manual sync). The controller runs it once and
    /// records the outcome in `status.operationState`, then clears this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
    /// The paths (`spec.source.plugin`) of `spec` and `operation` fields the
    /// types above do not model, found as the object was read (the CRD keeps
    /// unknown fields): what the controller reports in an
    /// UnsupportedFieldWarning condition, with no second read of the stored
    /// object. Not part of the schema; never written.
    #[serde(skip)]
    #[schemars(skip)]
    pub unknown_fields: Vec<String>,
}

impl<'de> Deserialize<'de> for ApplicationBody {
    /// Reads `spec` and `operation` as stored, types them, and keeps the
    /// paths of what the types dropped in [`ApplicationBody::unknown_fields`].
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        use serde_json::{Value, json};

        /// The body as stored, before it is typed.
        #[derive(Deserialize)]
        struct Stored {
            spec: Value,
            #[serde(default)]
            operation: Option<Value>,
        }
        let stored = Stored::deserialize(deserializer)?;
        // Typed straight from the values (`&Value` is a deserializer): no copies.
        let spec = ApplicationSpec::deserialize(&stored.spec).map_err(D::Error::custom)?;
        let operation = match &stored.operation {
            Some(op) => Some(Operation::deserialize(op).map_err(D::Error::custom)?),
            None => None,
        };
        let typed = json!({
            "spec": serde_json::to_value(&spec).map_err(D::Error::custom)?,
            "operation": serde_json::to_value(&operation).map_err(D::Error::custom)?,
        });
        let raw = json!({"spec": stored.spec, "operation": stored.operation});
        Ok(ApplicationBody {
            spec,
            operation,
            unknown_fields: crate::unsupported::unknown_fields(&raw, &typed),
        })
    }
}

/// What to deploy, where to, and how to keep it in sync.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct ApplicationSpec {
    /// The AppProject this Application belongs to; `default` when unset.
    #[serde(default = "default_project")]
    pub project: String,
    /// The Git repository, revision and path to deploy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Several sources rendered into one set of objects (used instead of `source`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ApplicationSource>,
    /// The cluster and namespace to deploy into.
    #[serde(default)]
    pub destination: ApplicationDestination,
    /// When and how to sync automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<SyncPolicy>,
    /// Differences between Git and the cluster that do not make the Application OutOfSync.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_differences: Vec<ResourceIgnoreDifferences>,
    /// How many entries of `status.history` to keep (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i64>,
    /// Free-form information shown to people (name/value pairs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub info: Vec<Info>,
}

fn default_project() -> String {
    DEFAULT_PROJECT.to_string()
}

/// A name/value pair of extra information.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Info {
    /// The name of the entry.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// Where the manifests come from: a repository, a revision and a path in it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct ApplicationSource {
    /// The Git repository URL (https://, http://, git://, ssh://, scp-style or file://).
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// The directory inside the repository to render; the repository root when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A branch, tag, `refs/...` name, commit SHA, or `HEAD` (the default branch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_revision: Option<String>,
    /// Options for a plain directory of manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<ApplicationSourceDirectory>,
    /// Overrides applied on top of a Kustomize overlay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<ApplicationSourceKustomize>,
    /// A name for this source, unique among `sources`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A reference name other sources can use for this one's files (`$ref/...`).
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub ref_: Option<String>,
    /// A Helm chart name: `repoURL` is then a Helm repository (where
    /// `index.yaml` is) or an OCI registry (`oci://host/path`, or a Secret
    /// with `enableOCI`), and `targetRevision` the chart version or a semver
    /// range (`^1.2`, `>=1.0 <2`, `*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<String>,
    /// Helm options (value files, values, parameters, release name, ...),
    /// for a `chart` or a Git `path` holding a `Chart.yaml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<ApplicationSourceHelm>,
    /// A config management plugin to render with. Not supported: an
    /// Application naming one reports a ComparisonError and is never
    /// rendered as a plain directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<ApplicationSourcePlugin>,
}

/// Argo CD's config management plugin settings (only the name is read).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct ApplicationSourcePlugin {
    /// The plugin's name; Argo CD discovers one when it is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl ApplicationSource {
    /// The revision to deploy: `targetRevision`, or `HEAD` when unset or empty.
    pub fn revision(&self) -> &str {
        match self.target_revision.as_deref() {
            None | Some("") => "HEAD",
            Some(rev) => rev,
        }
    }

    /// The Helm chart name, when this source is a chart from a Helm
    /// repository or OCI registry (not Git).
    pub fn chart(&self) -> Option<&str> {
        self.chart
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
    }

    /// The path to render, without leading `./` or trailing `/`; `""` is the repository root.
    pub fn path(&self) -> &str {
        let path = self.path.as_deref().unwrap_or("").trim();
        let path = path.trim_start_matches("./").trim_matches('/');
        if path == "." { "" } else { path }
    }
}

/// Options for rendering a plain directory of YAML/JSON manifests.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct ApplicationSourceDirectory {
    /// Also read manifests in subdirectories.
    #[serde(default)]
    pub recurse: bool,
    /// A glob (or `{a,b}` list of globs) of files to include.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<String>,
    /// A glob (or `{a,b}` list of globs) of files to leave out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<String>,
    /// How the directory's `*.jsonnet` files are evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jsonnet: Option<ApplicationSourceJsonnet>,
}

/// Jsonnet options of a directory source (Argo CD's `directory.jsonnet`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSourceJsonnet {
    /// External variables, read with `std.extVar(name)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ext_vars: Vec<JsonnetVar>,
    /// Top-level arguments, passed when a file evaluates to a function.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tlas: Vec<JsonnetVar>,
    /// Library directories searched by `import`, relative to the repository root.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub libs: Vec<String>,
}

/// A Jsonnet external variable or top-level argument.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JsonnetVar {
    /// The variable's name.
    pub name: String,
    /// Its value: a string, or Jsonnet code when `code` is true.
    pub value: String,
    /// Evaluate `value` as Jsonnet code rather than pass it as a string.
    #[serde(default)]
    pub code: bool,
}

/// Overrides applied on top of a Kustomize overlay, as Argo CD applies them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct ApplicationSourceKustomize {
    /// A prefix added to the name of every resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    /// A suffix added to the name of every resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_suffix: Option<String>,
    /// Image overrides, in `kustomize edit set image` form: `name=newName:tag`, `name:tag`, `name@digest`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// Labels added to every resource (and its selectors).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub common_labels: BTreeMap<String, String>,
    /// Annotations added to every resource.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub common_annotations: BTreeMap<String, String>,
    /// The namespace every namespaced resource is put in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Replica count overrides by workload name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<KustomizeReplica>,
    /// Extra patches (strategic merge or JSON 6902).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<KustomizePatch>,
    /// Extra Kustomize components to include (paths relative to the source path).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// Override existing labels of the same key instead of refusing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force_common_labels: bool,
    /// Override existing annotations of the same key instead of refusing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force_common_annotations: bool,
    /// Apply `commonLabels` to metadata only, not to selectors.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub label_without_selector: bool,
}

/// A replica count override for the workload named `name`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KustomizeReplica {
    /// The name of the Deployment, StatefulSet or ReplicaSet.
    pub name: String,
    /// The number of replicas (a number or a numeric string).
    pub count: IntOrString,
}

/// A patch applied by Kustomize: inline or from a file, to the objects `target` selects.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizePatch {
    /// A file holding the patch, relative to the source path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The patch itself (strategic merge YAML or a JSON 6902 operation list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// Which objects to patch; the patch's own kind and name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<KustomizeSelector>,
    /// Patch options (`allowNameChange`, `allowKindChange`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, bool>,
}

/// Selects objects by group, version, kind, name (a regular expression),
/// namespace, and label or annotation selectors.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizeSelector {
    /// API group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name (a regular expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace (a regular expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// A label selector, as in `kubectl get -l`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    /// An annotation selector, in label selector syntax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_selector: Option<String>,
}

/// The cluster and namespace an Application deploys into.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct ApplicationDestination {
    /// The API server URL; `https://kubernetes.default.svc` is the cluster the controller runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The namespace given to namespaced objects that name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The cluster's name instead of its URL; `in-cluster` is the controller's own cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The in-cluster API server URL, as Argo CD spells it.
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";
/// The in-cluster cluster name, as Argo CD spells it.
pub const IN_CLUSTER_NAME: &str = "in-cluster";

impl ApplicationDestination {
    /// Whether this destination is the cluster the controller itself talks to.
    /// An empty destination counts as in-cluster, as with Argo CD.
    pub fn is_in_cluster(&self) -> bool {
        let server = self.server.as_deref().unwrap_or("").trim_end_matches('/');
        let name = self.name.as_deref().unwrap_or("");
        match (server, name) {
            ("", "") => true,
            ("", name) => name == IN_CLUSTER_NAME,
            (server, "") => server == IN_CLUSTER_SERVER,
            (server, name) => server == IN_CLUSTER_SERVER && name == IN_CLUSTER_NAME,
        }
    }
}

/// When and how the Application is synced.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct SyncPolicy {
    /// Sync automatically whenever Git and the cluster differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<SyncPolicyAutomated>,
    /// Options such as `CreateNamespace=true` or `PrunePropagationPolicy=foreground`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_options: Vec<String>,
    /// How failed syncs are retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryStrategy>,
}

impl SyncPolicy {
    /// The automated policy, when automated sync is on (`enabled` defaults to true).
    pub fn automated(&self) -> Option<&SyncPolicyAutomated> {
        self.automated
            .as_ref()
            .filter(|a| a.enabled.unwrap_or(true))
    }
}

/// Automated sync settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicyAutomated {
    /// Delete resources that are no longer in Git.
    #[serde(default)]
    pub prune: bool,
    /// Revert changes made to the live objects outside Git.
    #[serde(default)]
    pub self_heal: bool,
    /// Allow a sync that would leave the Application with no resources.
    #[serde(default)]
    pub allow_empty: bool,
    /// Turns automated sync off when false (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// How a failed sync is retried.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryStrategy {
    /// The most attempts after the first; negative means no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// The delay between attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
}

/// Exponential backoff between sync attempts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Backoff {
    /// The first delay, e.g. `5s` (a number means seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// The factor each delay is multiplied by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<i64>,
    /// The longest delay, e.g. `3m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<String>,
}

/// Differences to ignore for the objects this entry matches.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceIgnoreDifferences {
    /// API group of the objects (empty for the core group).
    #[serde(default)]
    pub group: String,
    /// Kind of the objects.
    pub kind: String,
    /// Name of the object; every name when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace of the object; every namespace when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// JSON pointers (RFC 6901) of fields to ignore, e.g. `/spec/replicas`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub json_pointers: Vec<String>,
    /// jq path expressions of fields to ignore, e.g. `.spec.template.spec.containers[].image`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jq_path_expressions: Vec<String>,
    /// Ignore fields owned by these field managers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_fields_managers: Vec<String>,
}

/// A requested operation; today only `sync`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct Operation {
    /// Sync the Application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncOperation>,
    /// Who asked for the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiated_by: Option<OperationInitiator>,
    /// Free-form information about the operation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub info: Vec<Info>,
    /// How the operation is retried when it fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryStrategy>,
}

/// Who started an operation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationInitiator {
    /// The user who asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// True when the controller started it (automated sync).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub automated: bool,
}

/// A sync requested by hand.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct SyncOperation {
    /// The revision to sync to; the source's `targetRevision` when empty.
    /// For several sources, the first rendering source's (see `revisions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// For an Application with several sources, the revision (Git) or chart
    /// version (Helm) to sync each of `spec.sources` to, in that order
    /// (`argocd app sync --revisions`); an empty or missing entry syncs that
    /// source at its `targetRevision`. More entries than sources is an
    /// error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<String>,
    /// The source to sync instead of `spec.source`, for this operation only
    /// (typically set by a rollback to a history entry's `source`), at
    /// `revision`; `spec` is left as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// The sources to sync instead of `spec.sources` (or `spec.source`), for
    /// this operation only (typically set by a rollback to a history entry's
    /// `sources`), each at its entry of `revisions`; wins over `source`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ApplicationSource>,
    /// Delete resources that are no longer in Git.
    #[serde(default)]
    pub prune: bool,
    /// Compute and report the sync without changing the cluster.
    #[serde(default)]
    pub dry_run: bool,
    /// Sync only these resources; all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<SyncOperationResource>,
    /// Sync options for this operation only, added to the Application's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_options: Vec<String>,
}

/// One resource selected for a partial sync.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperationResource {
    /// API group (empty for the core group).
    #[serde(default)]
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace (empty for cluster-scoped objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Whether the cluster matches Git.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SyncStatusCode {
    /// Not known yet, or the comparison failed.
    #[default]
    Unknown,
    /// The cluster matches Git.
    Synced,
    /// The cluster differs from Git.
    OutOfSync,
}

/// How healthy a resource or an Application is. Ordered best to worst, so
/// the worst of several is their `max()`.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
pub enum HealthStatusCode {
    /// Working as intended.
    Healthy,
    /// Paused or suspended on purpose.
    Suspended,
    /// Not yet healthy, but still making progress.
    Progressing,
    /// Expected but not present in the cluster.
    Missing,
    /// Failed, or made no progress in time.
    Degraded,
    /// Health could not be judged.
    #[default]
    Unknown,
}

/// The phase of an operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum OperationPhase {
    /// Still running.
    #[default]
    Running,
    /// Being stopped.
    Terminating,
    /// Finished and failed (the resources were at fault).
    Failed,
    /// Finished with an error (driftless or the cluster was at fault).
    Error,
    /// Finished and succeeded.
    Succeeded,
}

/// What the controller observed and did, written by the controller.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationStatus {
    /// Every resource the Application manages, with its sync and health state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceStatus>,
    /// Whether the cluster matches Git, and at which revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncStatus>,
    /// The worst health of the Application's resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatus>,
    /// The latest syncs, newest last (capped by `spec.revisionHistoryLimit`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<RevisionHistory>,
    /// Errors and warnings about the Application (InvalidSpecError, ComparisonError, SyncError, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ApplicationCondition>,
    /// When the controller last compared Git with the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciled_at: Option<Time>,
    /// The state of the latest operation (sync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_state: Option<OperationState>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// How the source was rendered: `Kustomize`, `Directory` or `Helm`
    /// (for several sources, the first rendering one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    /// For several sources: how each of `spec.sources` was rendered, in
    /// order (`Kustomize`, `Directory`, `Helm`; empty for a `ref`-only
    /// source, which is not rendered).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_types: Vec<String>,
}

/// The sync state of one managed resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
    /// API group (empty for the core group).
    #[serde(default)]
    pub group: String,
    /// API version.
    #[serde(default)]
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Namespace (empty for cluster-scoped objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// Whether the live object matches Git.
    #[serde(default)]
    pub status: SyncStatusCode,
    /// The object's health.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatus>,
    /// True when the object is in the cluster but no longer in Git.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub requires_pruning: bool,
    /// The object's sync wave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_wave: Option<i64>,
}

/// Whether the cluster matches Git.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// Synced, OutOfSync or Unknown.
    pub status: SyncStatusCode,
    /// The full commit SHA that was compared (the chart version for a
    /// Helm chart source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// For multi-source Applications, the revision of each source, in the
    /// order of `spec.sources` (commit SHAs, chart versions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<String>,
    /// The source and destination that were compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_to: Option<ComparedTo>,
}

/// The source and destination a comparison used.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComparedTo {
    /// The source compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// The sources compared, for multi-source Applications.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ApplicationSource>,
    /// The destination compared.
    #[serde(default)]
    pub destination: ApplicationDestination,
}

/// A health state with a message a person understands.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthStatus {
    /// Healthy, Progressing, Degraded, Suspended, Missing or Unknown.
    pub status: HealthStatusCode,
    /// Why, e.g. "2 of 3 replicas available".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One past sync.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionHistory {
    /// A number unique within this Application's history.
    pub id: i64,
    /// The full commit SHA that was synced (for several sources, the first
    /// source's revision; see `revisions`).
    pub revision: String,
    /// For several sources, the revision each of `sources` was synced at, in
    /// that order (commit SHAs, chart versions); empty for one source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<String>,
    /// When the sync finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployed_at: Option<Time>,
    /// When the sync started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy_started_at: Option<Time>,
    /// The source that was synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// For several sources, the `spec.sources` that were synced (at
    /// `revisions`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ApplicationSource>,
    /// Who started the sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiated_by: Option<OperationInitiator>,
}

/// An error or warning about the Application.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationCondition {
    /// The condition type, e.g. `ComparisonError` or `SyncError`.
    #[serde(rename = "type")]
    pub type_: String,
    /// What is wrong, naming the file, object or revision involved.
    pub message: String,
    /// When the condition was first seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}

/// Condition types, as Argo CD names them.
pub mod condition {
    /// The spec is invalid or violates its project.
    pub const INVALID_SPEC_ERROR: &str = "InvalidSpecError";
    /// Fetching, rendering or comparing failed.
    pub const COMPARISON_ERROR: &str = "ComparisonError";
    /// The latest sync failed.
    pub const SYNC_ERROR: &str = "SyncError";
    /// A resource is also tracked by another Application.
    pub const SHARED_RESOURCE_WARNING: &str = "SharedResourceWarning";
    /// The spec uses a field or option driftless does not support (yet).
    pub const UNSUPPORTED_FIELD_WARNING: &str = "UnsupportedFieldWarning";
    /// The Application manages itself or is part of a cycle of Applications.
    pub const CYCLIC_DEPENDENCY_ERROR: &str = "CyclicDependencyError";
    /// A resource requires pruning but pruning is off.
    pub const ORPHANED_RESOURCE_WARNING: &str = "OrphanedResourceWarning";
    /// The render skipped something (a symlink it does not follow, files of
    /// a kind it does not render) but rendered the rest. Argo CD has no
    /// such type; the `Warning` suffix makes its tools treat it as one.
    pub const COMPARISON_WARNING: &str = "ComparisonWarning";
    /// Several sources of a multi-source Application render the same
    /// object; the last source's one is applied (as Argo CD does).
    pub const REPEATED_RESOURCE_WARNING: &str = "RepeatedResourceWarning";

    /// Whether a condition type is an error (`...Error`), which sorts before
    /// warnings in `status.conditions` (the MESSAGE column shows the first).
    pub fn is_error(type_: &str) -> bool {
        type_.ends_with("Error")
    }
}

/// The state of the latest operation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationState {
    /// The operation that ran.
    #[serde(default)]
    pub operation: Operation,
    /// Running, Succeeded, Failed, Error or Terminating.
    pub phase: OperationPhase,
    /// A summary of the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The sync's result, resource by resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_result: Option<SyncOperationResult>,
    /// When the operation started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When the operation finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// How many times the operation has been retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_count: Option<i64>,
}

/// The result of a sync.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperationResult {
    /// The full commit SHA that was synced (for several sources, the first
    /// source's revision; see `revisions`).
    pub revision: String,
    /// For several sources, the revision each of `spec.sources` was synced
    /// at, in that order (commit SHAs, chart versions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<String>,
    /// The source that was synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// For several sources, the `spec.sources` that were synced (at
    /// `revisions`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ApplicationSource>,
    /// What happened to each resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceResult>,
}

impl SyncOperationResult {
    /// What the sync was of, for comparing two syncs: `revision`, or for
    /// several sources every one of `revisions` joined by commas (a new
    /// commit in any source is a new sync). Not stored anywhere.
    pub fn synced_revisions(&self) -> String {
        synced_key(&self.revision, &self.revisions)
    }
}

/// What a sync is of, for comparing two syncs: `revision` for one source,
/// or every one of `revisions` joined by commas for several (a new commit
/// in any source is a new sync). Kept in memory only, never stored.
pub fn synced_key(revision: &str, revisions: &[String]) -> String {
    if revisions.is_empty() {
        revision.to_string()
    } else {
        revisions.join(",")
    }
}

/// What a sync did to one resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceResult {
    /// API group (empty for the core group).
    #[serde(default)]
    pub group: String,
    /// API version.
    #[serde(default)]
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Namespace (empty for cluster-scoped objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// `Synced`, `SyncFailed`, `Pruned` or `PruneSkipped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// What was done: created, configured, unchanged, pruned, ... or why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The sync phase the resource belongs to (`PreSync`, `Sync`, `PostSync`, `SyncFail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_phase: Option<String>,
    /// For a sync hook: its hook type in this phase (`PreSync`, `Sync`, `PostSync`, `SyncFail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_type: Option<String>,
    /// For a sync hook: how it ended (`Running`, `Succeeded`, `Failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_phase: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_the_types_drop_are_named_as_the_object_is_read() {
        let app: Application = serde_json::from_value(serde_json::json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "a", "namespace": "argocd"},
            "spec": {"project": "default", "destination": {"namespace": "x"},
                     "source": {"repoURL": "https://example.com/r.git", "path": "p", "newField": "x"},
                     "syncPolicy": {"automated": {}, "managedNamespaceMetadata": {"labels": {"a": "b"}}}},
            "operation": {"sync": {"revision": "main", "futureOption": true}}
        }))
        .unwrap();
        assert_eq!(
            app.spec.unknown_fields,
            [
                "spec.source.newField",
                "spec.syncPolicy.managedNamespaceMetadata",
                "operation.sync.futureOption"
            ]
        );
        assert_eq!(
            app.spec.spec.source.as_ref().unwrap().path.as_deref(),
            Some("p")
        );
        let written = serde_json::to_value(&app.spec).unwrap();
        assert!(written.get("unknownFields").is_none(), "{written}");
        let known: ApplicationBody = serde_json::from_value(written).unwrap();
        assert!(
            known.unknown_fields.is_empty(),
            "{:?}",
            known.unknown_fields
        );
    }

    #[test]
    fn revision_defaults_to_head() {
        let mut source = ApplicationSource::default();
        assert_eq!(source.revision(), "HEAD");
        source.target_revision = Some(String::new());
        assert_eq!(source.revision(), "HEAD");
        source.target_revision = Some("main".into());
        assert_eq!(source.revision(), "main");
    }

    #[test]
    fn path_is_normalized() {
        let mut source = ApplicationSource::default();
        for (given, want) in [("apps/", "apps"), ("./apps", "apps"), (".", ""), ("", "")] {
            source.path = Some(given.into());
            assert_eq!(source.path(), want, "path {given:?}");
        }
    }

    #[test]
    fn in_cluster_destinations() {
        let dest = |server: Option<&str>, name: Option<&str>| ApplicationDestination {
            server: server.map(Into::into),
            name: name.map(Into::into),
            namespace: None,
        };
        assert!(dest(Some("https://kubernetes.default.svc"), None).is_in_cluster());
        assert!(dest(Some("https://kubernetes.default.svc/"), None).is_in_cluster());
        assert!(dest(None, Some("in-cluster")).is_in_cluster());
        assert!(dest(None, None).is_in_cluster());
        assert!(!dest(Some("https://10.0.0.1:6443"), None).is_in_cluster());
        assert!(!dest(None, Some("prod-eu")).is_in_cluster());
    }

    #[test]
    fn health_worst_wins() {
        use HealthStatusCode::*;
        let worst = [Healthy, Progressing, Suspended].into_iter().max();
        assert_eq!(worst, Some(Progressing));
        assert!(Degraded > Missing && Unknown > Degraded && Suspended > Healthy);
    }
}
