//! driftless-sync: compares rendered objects with the live cluster and makes
//! the cluster match them, the way the most trusted GitOps tools do.
//!
//! - [`SyncEngine::diff`] resolves every object through API discovery, runs
//!   a server-side apply **dry-run** of it and compares the result with the
//!   live object (so API-server defaults and mutating webhooks never show as
//!   drift), honouring `ignoreDifferences`. It also finds the live objects
//!   tracked to the Application that are no longer rendered. No writes.
//! - [`SyncEngine::sync`] applies (server-side apply, stable field manager,
//!   force) only what is Missing or OutOfSync, in order: phase, sync wave,
//!   kind, name; a wave starts when the previous one is applied and healthy;
//!   CRDs are waited for until Established. Then it prunes (reverse order,
//!   with the propagation policy), never on an empty render without
//!   `allowEmpty`.
//! - [`health::assess`] judges the health of one live object; the pure
//!   helpers ([`order`], [`options`], [`tracking`], [`jq`], [`ignore`],
//!   [`normalize`], [`text`]) are usable on their own.
//!
//! Every applied object carries the tracking annotation
//! [`tracking::TRACKING_ANNOTATION`] (`<app>:<group>/<kind>:<namespace>/<name>`);
//! an object whose annotation names another Application is a shared-resource
//! conflict (a [`Warning`], or a failure with `FailOnSharedResource=true`)
//! and is never pruned by this one.
//!
//! # Use from a controller
//!
//! ```no_run
//! # async fn reconcile(client: kube::Client, rendered: Vec<driftless_render::Object>,
//! #                    previous: Vec<driftless_api::ResourceStatus>) -> Result<(), driftless_sync::SyncError> {
//! use driftless_sync::{SyncEngine, Target, parse_sync_options};
//! let engine = SyncEngine::new(client); // keep one per process: it caches discovery
//! let (options, unknown) = parse_sync_options(&["CreateNamespace=true"]);
//! // `unknown`: one message per unsupported option, for an UnsupportedFieldWarning condition.
//! let target = Target {
//!     app: "guestbook".into(),
//!     namespace: Some("guestbook".into()),
//!     options,
//!     prune: true,
//!     previous, // the Application's last status.resources: finds what left Git
//!     ..Target::default()
//! };
//! let comparison = engine.diff(&target, rendered).await?;
//! // status.sync.status, status.health, status.resources, conditions:
//! let _ = (comparison.sync_status(), comparison.health(), comparison.resource_statuses(), &comparison.warnings);
//! // self-heal: watch these kinds
//! let _ = &comparison.managed_kinds;
//! if comparison.out_of_sync().next().is_some() {
//!     let result = engine.sync(&target, &comparison).await?;
//!     let _ = (result.succeeded, &result.message, result.resource_results());
//! }
//! # Ok(()) }
//! ```
//!
//! - Only call [`SyncEngine::sync`] with the comparison of a successful
//!   render: the engine cannot tell a failed render from an empty one. It
//!   refuses to prune everything when nothing was rendered unless
//!   [`Target::allow_empty`].
//! - Kinds that are no longer rendered are searched for objects to prune only
//!   through [`Target::previous`]: pass the last `status.resources`.
//! - A diff costs requests in proportion to the Application's own objects,
//!   not to the size of its namespace: live objects are fetched by name;
//!   objects to prune are found through one metadata-only watch per kind and
//!   namespace (started on first use, shared by every Application syncing
//!   there; objects this engine applies are known at once, those another
//!   writer annotates once the watch reports them); a dry-run is skipped
//!   when neither the desired object nor the live one (apart from its
//!   status) changed since they were found in sync or applied; and the
//!   comparison right after a sync ([`SyncEngine::diff_after_sync`]) takes
//!   what the applies returned as the live objects. With
//!   [`SyncEngine::with_live_cache`], an object the index has not seen is
//!   missing without a read, and is then created only if it still does not
//!   exist (the apply carries `resourceVersion: "1"`; an object created
//!   meanwhile is read and applied to, or left to its owner).
//! - Deleting an Application (its finalizer): call
//!   [`SyncEngine::delete_tracked`] until its [`Deletion`] is finished; only
//!   `Delete=false` keeps an object, and objects already being deleted are
//!   reported with the finalizers they wait for instead of being deleted again.
//! - A wave is waited for (until healthy) only when a later wave follows, for
//!   every object of it, written by this sync or unchanged since an earlier
//!   one: a wave is a gate across attempts. A Degraded object or
//!   [`SyncEngine::with_wave_timeout`] fails the sync and stops later waves
//!   and pruning.
//! - Sync hooks ([`hooks`]: `argocd.argoproj.io/hook`, or Helm's
//!   `helm.sh/hook` mapped as Argo CD maps it) are run when
//!   [`Target::hooks`] is set (Argo CD Applications): they are kept out of
//!   the diff, the status resources and the prune set ([`Comparison::hooks`]),
//!   created with `create` (so `generateName` works) in their phase (PreSync,
//!   Sync, PostSync) and wave, waited for until they finish, and deleted per
//!   their delete policy; a failed sync runs the SyncFail hooks. Without
//!   [`Target::hooks`] (Flux), hook annotations only order objects by phase,
//!   `Skip`/`SyncFail` objects and those with only `generateName` are not
//!   applied.
//! - [`Target::stop`] stops a running sync between waves or while a wave
//!   waits ([`SyncResult::terminated`], message "Operation terminated").

pub mod discovery;
mod engine;
pub mod error;
pub mod health;
pub mod hooks;
pub mod ignore;
mod index;
pub mod jq;
mod kubeapi;
mod live;
pub mod model;
pub mod normalize;
pub mod options;
pub mod order;
pub mod path;
pub mod progress;
mod rejections;
mod stamp;
pub mod text;
pub mod tracking;
mod verdicts;

pub use discovery::{Catalog, Resolved};
pub use engine::{DEFAULT_FIELD_MANAGER, Deletion, SyncEngine};
pub use error::SyncError;
pub use index::TrackedChange;
pub use model::{
    Action, Comparison, Hook, HookPhase, ManagedKind, ResourceDiff, ResourceOutcome, ResourceState,
    SyncResult, Target, Warning,
};
pub use options::{PropagationPolicy, SyncOptions, parse_sync_options};
pub use progress::{Progress, Stop};
pub use stamp::LiveStamp;
pub use tracking::{TRACKING_ANNOTATION, tracking_id};
pub use verdicts::objects_fingerprint;
