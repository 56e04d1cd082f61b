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
//! conflict and is never pruned by this one.

pub mod discovery;
mod engine;
pub mod error;
pub mod health;
pub mod ignore;
pub mod jq;
mod kubeapi;
pub mod model;
pub mod normalize;
pub mod options;
pub mod order;
pub mod path;
pub mod text;
pub mod tracking;

pub use discovery::{Catalog, Resolved};
pub use engine::{DEFAULT_FIELD_MANAGER, SyncEngine};
pub use error::SyncError;
pub use model::{
    Action, Comparison, ManagedKind, ResourceDiff, ResourceOutcome, ResourceState, SyncResult,
    Target, Warning,
};
pub use options::{PropagationPolicy, SyncOptions, parse_sync_options};
pub use tracking::{TRACKING_ANNOTATION, tracking_id};
