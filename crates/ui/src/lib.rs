//! driftless-ui: the web page. One HTTP listener (the controller's
//! `--ui-listen`) serves an embedded page (HTML, a little script, CSS; no
//! CDN, no external font) and the small JSON API it reads:
//!
//! | path | what |
//! |------|------|
//! | `GET /api/v1/applications` | every Application the caller may `get`, with sync, health, revision, last sync |
//! | `GET /api/v1/applications/{ns}/{name}/tree` | the resource tree (child Applications nested) |
//! | `GET /api/v1/applications/{ns}/{name}/manifest?group=&version=&kind=&namespace=&name=` | one managed object, live, Secret values redacted |
//! | `GET /api/v1/applications/{ns}/{name}/events[?kind=&namespace=&name=]` | Events of the Application or one of its objects |
//! | `GET /api/v1/applications/{ns}/{name}/history` | deployed revisions, the current operation and its state (`operationState.syncResult.resources` with their phases) |
//! | `GET /api/v1/applications/{ns}/{name}/diff[?group=&kind=&namespace=&name=]` | `{revision, sources: [{source, revision}], resources: [{group, kind, namespace, name, state, diff, error}]}` (`sources`: each source's revision, for several): the live objects against what Git renders at the target revision (a server-side dry-run; Secret values redacted); 501 without Git access |
//! | `GET /api/v1/applications/{ns}/{name}/revisions/{sha}` | `{sha, message, author, time}` of a commit of the Application's repository |
//! | `POST /api/v1/applications/{ns}/{name}/refresh`, `…/sync` | only with `--ui-actions` and RBAC `patch` |
//! | `GET /api/v1/kustomizations`, `…/kustomizations/{ns}/{name}/tree` | Flux Kustomizations, their inventory and `dependsOn` |
//! | `GET /api/v1/kustomizations/{ns}/{name}/diff[?…]`, `…/revisions/{sha}` | as the Application's: the objects against the GitRepository's artifact built as the controller builds it (postBuild, commonMetadata, Flux's labels), and a commit of that GitRepository |
//! | `GET /api/v1/helmreleases` | Flux HelmReleases: Ready, chart, source, revision, `dependsOn` |
//! | `GET /api/v1/stream` | server-sent events: the overview, again whenever a watched object changes |
//! | `GET /api/v1/health` | the controller's own numbers (from its metrics) and `lastErrors`: the newest error conditions of the Applications and not-Ready Kustomizations and HelmReleases the caller may `get`; `controller.controllers.{kind}.queued`/`inFlight` per controller |
//! | `GET /api/v1/whoami`, `GET /api/v1/overview` | the caller's user name; everything the overview shows |
//!
//! Every `/api/v1` request needs `Authorization: Bearer <token>`: the token
//! is checked with a TokenReview, and each object with a
//! SubjectAccessReview for its user (`get` to see, `patch` for the
//! buttons). Data comes from the API server (watched objects, their status,
//! live objects and Events), never from the controller's memory; the diff
//! and commit messages come from Git through the controller's
//! [`driftless_controller::preview::Previewer`].

#![warn(missing_docs)]

mod api;
mod assets;
mod auth;
mod error;
mod health;
mod redact;
mod server;
mod store;
mod summary;
mod tree;

pub use error::UiError;
pub use server::{MetricsSource, UiConfig, serve};
