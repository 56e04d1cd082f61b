//! The revision of each source in one reconcile: what a sync operation
//! asks for (`operation.sync.revisions`, one entry per `spec.sources`
//! entry as `argocd app sync --revisions` writes them, or `revision` for
//! the first rendering source), else each source's own target revision;
//! and what each source resolved to, for `syncResult.revisions`. Pure.

use driftless_api::SyncOperation;
use driftless_api::{
    ApplicationSource, ApplicationSpec, OperationState, ResourceResult, RevisionHistory,
    SyncOperationResult,
};

use super::{Reconciler, wanted_revision};

/// The revisions of one reconcile's sources.
#[derive(Debug, Default)]
pub(super) struct SourceRevisions {
    /// The revision to resolve, per entry of `spec.sources` (or the single
    /// `spec.source`).
    wanted: Vec<String>,
    /// For several sources, what each entry of `spec.sources` resolved to
    /// (commit SHAs, chart versions); empty for one source.
    pub(super) resolved: Vec<String>,
    /// What the leading (first rendering) source resolved to: the
    /// `revision` of a sync result or history entry.
    pub(super) leading: String,
}

impl SourceRevisions {
    /// The revisions `sync` (when a sync operation runs) asks for the
    /// sources of `spec`, `first` being the first rendering source. An
    /// error names what is wrong with `operation.sync.revisions`.
    pub(super) fn wanted(
        spec: &ApplicationSpec,
        first: &ApplicationSource,
        sync: Option<&SyncOperation>,
    ) -> Result<Self, String> {
        let all = all_sources(spec);
        let asked = sync.map(|s| s.revisions.as_slice()).unwrap_or_default();
        if asked.len() > all.len() {
            return Err(format!(
                "operation.sync.revisions lists {} revisions but the Application has {} \
                 source(s): one revision per entry of spec.sources (or operation.sync.sources), \
                 in order",
                asked.len(),
                all.len()
            ));
        }
        let revision = sync
            .and_then(|s| s.revision.as_deref())
            .map(str::trim)
            .filter(|r| !r.is_empty());
        let wanted = all
            .iter()
            .enumerate()
            .map(|(i, source)| {
                let given = asked.get(i).map(|r| r.trim()).filter(|r| !r.is_empty());
                let leading = std::ptr::eq(*source, first);
                given
                    .or(revision.filter(|_| leading))
                    .unwrap_or_else(|| wanted_revision(source))
                    .to_string()
            })
            .collect();
        Ok(SourceRevisions {
            wanted,
            ..Default::default()
        })
    }

    /// The revision wanted for `source`, an entry of `spec.sources` (or
    /// `spec.source`) found by address; `None` for another source.
    pub(super) fn of(&self, spec: &ApplicationSpec, source: &ApplicationSource) -> Option<&str> {
        let index = all_sources(spec)
            .iter()
            .position(|s| std::ptr::eq(*s, source))?;
        self.wanted.get(index).map(String::as_str)
    }
}

impl Reconciler<'_> {
    /// The result of a sync of `source` (the leading one): its revision,
    /// and for several sources each one's revision and `spec.sources`.
    pub(super) fn sync_result(
        &self,
        source: &ApplicationSource,
        resources: Vec<ResourceResult>,
    ) -> SyncOperationResult {
        SyncOperationResult {
            revision: self.revisions.leading.clone(),
            revisions: self.revisions.resolved.clone(),
            source: Some(source.clone()),
            sources: self.synced_sources(),
            resources,
        }
    }

    /// The history entry of a sync of `source` that succeeded (its id is
    /// set when it is appended).
    pub(super) fn history_entry(
        &self,
        source: &ApplicationSource,
        state: &OperationState,
    ) -> RevisionHistory {
        RevisionHistory {
            id: 0,
            revision: self.revisions.leading.clone(),
            revisions: self.revisions.resolved.clone(),
            deployed_at: state.finished_at.clone(),
            deploy_started_at: state.started_at.clone(),
            source: Some(source.clone()),
            sources: self.synced_sources(),
            initiated_by: state.operation.initiated_by.clone(),
        }
    }

    /// The automated sync of what was resolved: `revision` for one source,
    /// `revisions` (one per entry of `spec.sources`) for several.
    pub(super) fn automated_sync(&self, prune: bool) -> SyncOperation {
        let several = !self.revisions.resolved.is_empty();
        SyncOperation {
            revision: (!several).then(|| self.revisions.leading.clone()),
            revisions: self.revisions.resolved.clone(),
            prune,
            ..Default::default()
        }
    }

    /// `spec.sources` when several sources were synced, else nothing.
    fn synced_sources(&self) -> Vec<ApplicationSource> {
        if self.revisions.resolved.is_empty() {
            Vec::new()
        } else {
            self.spec.sources.clone()
        }
    }
}

/// `spec.source` alone, or every entry of `spec.sources`.
fn all_sources(spec: &ApplicationSpec) -> Vec<&ApplicationSource> {
    match &spec.source {
        Some(source) => vec![source],
        None => spec.sources.iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(repo: &str, revision: Option<&str>) -> ApplicationSource {
        ApplicationSource {
            repo_url: repo.into(),
            path: Some("p".into()),
            target_revision: revision.map(str::to_string),
            ..Default::default()
        }
    }

    fn multi() -> ApplicationSpec {
        ApplicationSpec {
            sources: vec![
                source("https://git/a", Some("main")),
                source("https://git/b", None),
                source("https://git/c", Some("v1")),
            ],
            ..Default::default()
        }
    }

    fn sync(revision: Option<&str>, revisions: &[&str]) -> SyncOperation {
        SyncOperation {
            revision: revision.map(str::to_string),
            revisions: revisions.iter().map(|r| r.to_string()).collect(),
            ..Default::default()
        }
    }

    fn wanted_all(spec: &ApplicationSpec, op: Option<&SyncOperation>) -> Vec<String> {
        let first = spec.source.as_ref().unwrap_or_else(|| &spec.sources[0]);
        let revisions = SourceRevisions::wanted(spec, first, op).unwrap();
        all_sources(spec)
            .into_iter()
            .map(|s| revisions.of(spec, s).unwrap().to_string())
            .collect()
    }

    #[test]
    fn without_an_operation_each_source_is_at_its_target_revision() {
        assert_eq!(wanted_all(&multi(), None), ["main", "HEAD", "v1"]);
    }

    #[test]
    fn revisions_name_each_source_and_empty_entries_keep_the_target() {
        let op = sync(None, &["", "feature", " v2 "]);
        assert_eq!(wanted_all(&multi(), Some(&op)), ["main", "feature", "v2"]);
        let short = sync(None, &["abc123"]);
        assert_eq!(wanted_all(&multi(), Some(&short)), ["abc123", "HEAD", "v1"]);
    }

    #[test]
    fn revision_applies_to_the_first_rendering_source_unless_revisions_name_it() {
        let spec = multi();
        let first = &spec.sources[1];
        let op = sync(Some("tag"), &[]);
        let revisions = SourceRevisions::wanted(&spec, first, Some(&op)).unwrap();
        assert_eq!(revisions.of(&spec, &spec.sources[0]), Some("main"));
        assert_eq!(revisions.of(&spec, &spec.sources[1]), Some("tag"));
        let op = sync(Some("tag"), &["", "given"]);
        let revisions = SourceRevisions::wanted(&spec, first, Some(&op)).unwrap();
        assert_eq!(revisions.of(&spec, &spec.sources[1]), Some("given"));
    }

    #[test]
    fn a_single_source_takes_revision_or_the_one_entry_of_revisions() {
        let spec = ApplicationSpec {
            source: Some(source("https://git/a", Some("main"))),
            ..Default::default()
        };
        assert_eq!(wanted_all(&spec, Some(&sync(Some("v3"), &[]))), ["v3"]);
        assert_eq!(wanted_all(&spec, Some(&sync(None, &["v4"]))), ["v4"]);
    }

    #[test]
    fn more_revisions_than_sources_is_an_error_naming_the_field() {
        let spec = multi();
        let op = sync(None, &["a", "b", "c", "d"]);
        let error = SourceRevisions::wanted(&spec, &spec.sources[0], Some(&op)).unwrap_err();
        assert!(
            error.contains("operation.sync.revisions lists 4 revisions")
                && error.contains("3 source"),
            "{error}"
        );
    }

    #[test]
    fn a_copy_of_a_source_is_not_one_of_the_spec() {
        let spec = multi();
        let revisions = SourceRevisions::wanted(&spec, &spec.sources[0], None).unwrap();
        let copy = spec.sources[0].clone();
        assert_eq!(revisions.of(&spec, &copy), None);
    }
}
