//! A new revision that changes nothing a Kustomization's build reads: when
//! no file changed in the directories its last applied render read (its
//! path, its bases and components), and nothing else that shapes the build
//! changed (spec generation, render options, source URL and ignore rules),
//! the build would be byte-identical. Flux renders and applies it anyway;
//! driftless moves the applied revision on without rendering or applying.
//!
//! Conservative on purpose: any doubt (no remembered render, a render
//! that was not applied and Ready, values read from the cluster by
//! `postBuild.substituteFrom`, a changed `.sourceignore`) means a full
//! reconcile.

use std::sync::Arc;

use driftless_api::flux::condition::is_ready;
use driftless_api::flux::kustomize::KustomizationStatus;
use driftless_api::flux::revision::revision_sha;

use super::plan::Plan;
use super::source::Artifact;
use crate::flux_state::RenderedInputs;

/// Everything besides the files that shapes the build, as one key.
pub(crate) fn key(plan: &Plan, generation: Option<i64>, artifact: &Artifact) -> String {
    format!(
        "{generation:?}|{}|{}|{:?}",
        plan.render_fingerprint(),
        artifact.url,
        artifact.ignore
    )
}

/// `path` without `./` and slashes at the ends (`""`: the repository root).
fn dir(path: &str) -> &str {
    let path = path.trim_matches('/');
    let path = path.strip_prefix("./").unwrap_or(path);
    if path == "." { "" } else { path }
}

/// The directories a changed file in which may change the build: the
/// rendered path (every file below it, new ones included) and the
/// directory of each file the render read.
pub(crate) fn dirs(path: &str, files_read: &[String]) -> Arc<[String]> {
    let mut dirs: Vec<String> = std::iter::once(dir(path))
        .chain(
            files_read
                .iter()
                .map(|f| f.rsplit_once('/').map_or("", |(d, _)| d)),
        )
        .map(str::to_string)
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs.into()
}

/// Whether a change to `changed` (repository paths) may change a build
/// that read from `dirs`.
pub(crate) fn touched(changed: &[String], dirs: &[String]) -> bool {
    let dirs: Vec<&str> = dirs.iter().map(String::as_str).collect();
    driftless_source::paths_touch(Some(changed), &dirs)
        || changed
            .iter()
            .any(|p| p.rsplit('/').next() == Some(".sourceignore"))
}

/// The remembered render to compare the new commit `sha` with, when it
/// may stand for it: rendered with the same `key` at another commit, that
/// commit is the last applied revision, the Kustomization is Ready at
/// `generation` with an inventory, and the build reads no cluster values.
pub(crate) fn candidate<'a>(
    rendered: Option<&'a RenderedInputs>,
    prev: &KustomizationStatus,
    key: &str,
    sha: &str,
    generation: Option<i64>,
    reads_cluster: bool,
) -> Option<&'a RenderedInputs> {
    let r = rendered?;
    let applied = prev.last_applied_revision.as_deref().map(revision_sha);
    let stands = !reads_cluster
        && r.key == key
        && r.sha != sha
        && applied == Some(r.sha.as_str())
        && prev.inventory.is_some()
        && is_ready(&prev.conditions, generation)
        && prev.observed_generation == generation;
    stands.then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_api::flux::condition::new_condition;
    use driftless_api::flux::kustomize::ResourceInventory;

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_directories_are_the_path_and_those_of_the_files_read() {
        let read = strings(&[
            "apps/base/deployment.yaml",
            "apps/base/kustomization.yaml",
            "apps/web/kustomization.yaml",
            "root.yaml",
        ]);
        assert_eq!(
            &*dirs("./apps/web/", &read),
            strings(&["", "apps/base", "apps/web"])
        );
        assert_eq!(&*dirs("./", &[]), strings(&[""]));
    }

    #[test]
    fn a_change_touches_the_build_below_its_directories_only() {
        let dirs = strings(&["apps/base", "apps/web"]);
        let t = |changed: &[&str]| touched(&strings(changed), &dirs);
        assert!(t(&["apps/web/deployment.yaml"]));
        assert!(t(&["apps/web/new/file.yaml"]), "a new file below the path");
        assert!(t(&["apps/base/service.yaml"]), "a base it read");
        assert!(
            !t(&["apps/web2/deployment.yaml"]),
            "a sibling with a common prefix"
        );
        assert!(!t(&["apps/api/deployment.yaml", "README.md"]));
        assert!(t(&["apps/api/.sourceignore"]), "ignore rules anywhere");
        assert!(!t(&[]));
        assert!(
            touched(&strings(&["anything"]), &strings(&[""])),
            "the root"
        );
    }

    fn ready_status(revision: &str, generation: i64) -> KustomizationStatus {
        let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::now(),
        );
        let ready = new_condition(
            "Ready",
            "True",
            "ReconciliationSucceeded",
            "Applied",
            Some(generation),
            now,
        );
        KustomizationStatus {
            conditions: vec![ready],
            last_applied_revision: Some(format!("main@sha1:{revision}")),
            observed_generation: Some(generation),
            inventory: Some(ResourceInventory::default()),
            ..Default::default()
        }
    }

    #[test]
    fn only_an_applied_ready_render_of_the_same_inputs_stands() {
        let r = RenderedInputs {
            sha: "old".into(),
            key: "k".into(),
            dirs: strings(&["apps/web"]).into(),
            ignore: None,
        };
        let prev = ready_status("old", 2);
        let stands = |prev: &KustomizationStatus, key: &str, sha: &str, reads: bool| {
            candidate(Some(&r), prev, key, sha, Some(2), reads).is_some()
        };
        assert!(stands(&prev, "k", "new", false));
        assert!(
            !stands(&prev, "k", "old", false),
            "the same commit: a full reconcile"
        );
        assert!(!stands(&prev, "other", "new", false), "other inputs");
        assert!(!stands(&prev, "k", "new", true), "cluster values");
        assert!(!stands(&ready_status("older", 2), "k", "new", false));
        assert!(
            !stands(&ready_status("old", 1), "k", "new", false),
            "an older generation"
        );
        let mut not_ready = prev.clone();
        not_ready.conditions[0].status = "False".into();
        assert!(!stands(&not_ready, "k", "new", false));
        let mut no_inventory = prev.clone();
        no_inventory.inventory = None;
        assert!(!stands(&no_inventory, "k", "new", false));
        assert!(candidate(None, &prev, "k", "new", Some(2), false).is_none());
    }
}
