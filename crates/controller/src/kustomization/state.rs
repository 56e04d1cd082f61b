//! The Kustomization controller's shared state: [`crate::flux_state`] for
//! Kustomizations.

use driftless_api::flux::kustomize::KustomizationStatus;
use driftless_api::flux::kustomize::v1::Kustomization;

use super::raw::Raw;
use crate::flux_state::{FluxMemory, FluxState};

/// What is remembered about one Kustomization between reconciles.
pub type Memory = FluxMemory<KustomizationStatus, Raw>;

/// The Kustomization controller's shared state.
pub type State = FluxState<Kustomization, KustomizationStatus, Raw>;
