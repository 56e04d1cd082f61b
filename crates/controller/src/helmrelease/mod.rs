//! Flux's `HelmRelease` (`helm.toolkit.fluxcd.io/v2`) on the engine, and
//! the `HelmRepository` (`source.toolkit.fluxcd.io/v1`) it takes charts
//! from. A HelmRelease is an adapter like the Kustomization: its spec
//! becomes a plan ([`plan`]), its values are composed from `valuesFrom`
//! and `values` ([`values`]), the chart is fetched and rendered by the
//! pinned `helm template` ([`chart`]), and the objects go through the same
//! compare → sync → health phases (server-side apply, prune limited to the
//! inventory, drift reverted, a conflict for another owner's object); the
//! result becomes its status with Flux's reasons ([`status`]).
//!
//! driftless does not run Helm actions: no release Secret is written
//! (`helm list` shows nothing, as with Argo CD), and Helm hooks are
//! applied as the sync engine applies them for an Application.

pub(crate) mod chart;
pub(crate) mod controller;
pub(crate) mod crds;
mod entry;
pub(crate) mod plan;
mod raw;
mod reconcile;
pub(crate) mod repository;
pub(crate) mod status;
pub(crate) mod values;

use std::sync::{Arc, OnceLock};

use driftless_api::flux::helm::v2::{HelmRelease, HelmReleaseStatus};
use driftless_api::flux::source::helm::{HelmRepository, HelmRepositoryStatus};
use driftless_helm::Renderer;

use crate::flux_state::FluxState;

pub use entry::{error_policy, reconcile};

/// An API call the HelmRelease or HelmRepository controller could not make.
pub type HelmReleaseError = crate::flux_write::FluxApiError;

/// The HelmRelease and HelmRepository controllers' shared state (held by
/// the [`crate::Context`]).
#[derive(Default)]
pub struct Shared {
    /// HelmReleases: triggers, dependents, sources, memory (the unknown
    /// fields of the stored spec per generation).
    pub state: FluxState<HelmRelease, HelmReleaseStatus, Vec<String>>,
    /// HelmRepositories: triggers and the status last written.
    pub repositories: FluxState<HelmRepository, HelmRepositoryStatus, ()>,
    renderer: OnceLock<Arc<Renderer>>,
}

impl Shared {
    /// Renders charts with `renderer` (the controller's one helm renderer,
    /// shared with Application chart sources).
    pub fn set_renderer(&self, renderer: Arc<Renderer>) {
        let _ = self.renderer.set(renderer);
    }

    /// The chart renderer, once a helm binary is configured.
    pub fn renderer(&self) -> Option<Arc<Renderer>> {
        self.renderer.get().cloned()
    }
}

/// How a source is keyed in the shared state: `(namespace, "<kind>/<name>")`,
/// so a HelmRepository and a GitRepository of the same name differ.
pub(crate) fn source_key(kind: &str, name: &str) -> String {
    format!("{kind}/{name}")
}
