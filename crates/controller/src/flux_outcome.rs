//! How a Flux reconcile ended, and what that means for the conditions,
//! for the endings every Flux kind shares (pure): `Stalled` (the spec
//! cannot be reconciled until it changes), `Failed` (retried), and
//! `Progressing` (applied, waiting for health). Each kind adds its own
//! endings (`Own`: a Kustomization's Applied/Unhealthy, a HelmRelease's
//! Released) and the conditions only it writes.

use driftless_api::flux::condition::{
    new_condition, reasons, remove_condition, set_condition, status, types,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// How a reconcile ended; `E` is the kind's own endings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome<E> {
    /// The spec cannot be reconciled until it changes (unsupported fields,
    /// malformed values): `Stalled=True`, `Ready=False`.
    Stalled {
        /// Flux's reason.
        reason: &'static str,
        /// What is wrong, naming the field.
        message: String,
    },
    /// A step failed; it is retried: `Ready=False`, `Reconciling=True`
    /// (`ProgressingWithRetry`).
    Failed {
        /// Flux's reason.
        reason: &'static str,
        /// What failed, naming the object, file, chart or revision.
        message: String,
    },
    /// Applied; waiting for the objects to become healthy:
    /// `Ready=Unknown`, `Reconciling=True`.
    Progressing {
        /// What is awaited.
        message: String,
    },
    /// An ending of the kind's own.
    Own(E),
}

/// Writes conditions of one generation at one time.
pub(crate) struct Conditions<'a> {
    list: &'a mut Vec<Condition>,
    generation: Option<i64>,
    now: Time,
}

impl<'a> Conditions<'a> {
    /// Writes into `list` for `generation` at `now`.
    pub(crate) fn new(list: &'a mut Vec<Condition>, generation: Option<i64>, now: Time) -> Self {
        Conditions {
            list,
            generation,
            now,
        }
    }

    /// Sets the condition `type_` (its transition time kept when its status stays).
    pub(crate) fn set(&mut self, type_: &str, status_: &str, reason: &str, message: &str) {
        let c = new_condition(
            type_,
            status_,
            reason,
            message,
            self.generation,
            self.now.clone(),
        );
        set_condition(self.list, c);
    }

    /// Removes the condition `type_`.
    pub(crate) fn remove(&mut self, type_: &str) {
        remove_condition(self.list, type_);
    }
}

/// Writes what a shared ending means; the kind's own ending is handed back
/// for the kind to write.
pub(crate) fn write<'o, E>(c: &mut Conditions<'_>, outcome: &'o Outcome<E>) -> Option<&'o E> {
    match outcome {
        Outcome::Stalled { reason, message } => {
            c.set(types::READY, status::FALSE, reason, message);
            c.set(types::STALLED, status::TRUE, reason, message);
            c.remove(types::RECONCILING);
            None
        }
        Outcome::Failed { reason, message } => {
            c.set(types::READY, status::FALSE, reason, message);
            let retry = format!("{reason}: retrying");
            let progressing = reasons::PROGRESSING_WITH_RETRY;
            c.set(types::RECONCILING, status::TRUE, progressing, &retry);
            c.remove(types::STALLED);
            None
        }
        Outcome::Progressing { message } => {
            let progressing = reasons::PROGRESSING;
            c.set(types::READY, status::UNKNOWN, progressing, message);
            c.set(types::RECONCILING, status::TRUE, progressing, message);
            c.remove(types::STALLED);
            None
        }
        Outcome::Own(own) => Some(own),
    }
}
