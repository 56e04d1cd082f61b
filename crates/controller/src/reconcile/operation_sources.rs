//! The sources a sync operation brings with it (`operation.sync.source`,
//! `operation.sync.sources`, set by a rollback to a history entry's recorded
//! definitions, as Argo CD's): for that operation only they replace the
//! Application's `spec.source`/`spec.sources` in the render, the comparison,
//! `syncResult` and the history entry; `spec` itself is not changed, so the
//! next reconcile compares with it again; and whether a sync result was of
//! the sources `spec` names now. Pure.

use std::borrow::Cow;

use driftless_api::{Application, ApplicationSpec, SyncOperation, SyncOperationResult};

/// The spec a reconcile of `app` renders: its own, or, while a sync
/// operation carrying sources is pending, a copy with those in place of
/// `spec.source`/`spec.sources` (`sources` wins over `source`, as in Argo CD).
pub(super) fn spec_to_render(app: &Application) -> Cow<'_, ApplicationSpec> {
    let spec = &app.spec.spec;
    match app.spec.operation.as_ref().and_then(|o| o.sync.as_ref()) {
        Some(sync) if carries_sources(sync) => Cow::Owned(with_sources_of(spec, sync)),
        _ => Cow::Borrowed(spec),
    }
}

fn carries_sources(sync: &SyncOperation) -> bool {
    sync.source.is_some() || !sync.sources.is_empty()
}

/// `spec` with the sources of `sync` (which carries some).
fn with_sources_of(spec: &ApplicationSpec, sync: &SyncOperation) -> ApplicationSpec {
    let mut spec = spec.clone();
    if sync.sources.is_empty() {
        spec.source = sync.source.clone();
        spec.sources = Vec::new();
    } else {
        spec.source = None;
        spec.sources = sync.sources.clone();
    }
    spec
}

/// Whether `result` synced the source definitions `spec` renders now (its
/// leading source and, for several, every entry of `spec.sources`). A sync
/// of other definitions (a rollback's, or from before a source changed) is
/// not one automated sync may skip as already done at that revision, as
/// Argo CD's `alreadyAttemptedSync` compares sources too. A result that
/// names no source counts as the same.
pub(super) fn synced_same_sources(result: &SyncOperationResult, spec: &ApplicationSpec) -> bool {
    let leading = super::rendering_sources(spec)
        .ok()
        .and_then(|all| all.first().copied());
    let same_source = result.source.is_none() || result.source.as_ref() == leading;
    let same_sources = result.sources.is_empty() || result.sources == spec.sources;
    same_source && same_sources
}

#[cfg(test)]
mod tests {
    use driftless_api::{ApplicationSource, Operation};

    use super::*;

    fn source(path: &str) -> ApplicationSource {
        ApplicationSource {
            repo_url: "https://git/a".into(),
            path: Some(path.into()),
            ..Default::default()
        }
    }

    fn app(spec: ApplicationSpec, sync: Option<SyncOperation>) -> Application {
        let mut app = Application::new("web", Default::default());
        app.spec.spec = spec;
        app.spec.operation = sync.map(|sync| Operation {
            sync: Some(sync),
            ..Default::default()
        });
        app
    }

    fn single(path: &str) -> ApplicationSpec {
        ApplicationSpec {
            source: Some(source(path)),
            ..Default::default()
        }
    }

    #[test]
    fn without_operation_sources_the_spec_is_rendered_as_it_is() {
        let plain = app(single("new"), Some(SyncOperation::default()));
        assert!(matches!(spec_to_render(&plain), Cow::Borrowed(_)));
        let idle = app(single("new"), None);
        assert_eq!(spec_to_render(&idle).source, Some(source("new")));
    }

    #[test]
    fn an_operation_source_replaces_the_spec_source_for_the_operation() {
        let sync = SyncOperation {
            source: Some(source("old")),
            ..Default::default()
        };
        let multi = ApplicationSpec {
            sources: vec![source("a"), source("b")],
            ..Default::default()
        };
        let rendered = spec_to_render(&app(multi, Some(sync.clone()))).into_owned();
        assert_eq!(rendered.source, Some(source("old")));
        assert!(rendered.sources.is_empty());
        let rollback = app(single("new"), Some(sync));
        assert_eq!(spec_to_render(&rollback).source, Some(source("old")));
        assert_eq!(rollback.spec.spec.source, Some(source("new")), "spec kept");
    }

    #[test]
    fn operation_sources_replace_either_spec_field_and_win_over_source() {
        let sync = SyncOperation {
            source: Some(source("ignored")),
            sources: vec![source("x"), source("y")],
            ..Default::default()
        };
        let rendered = spec_to_render(&app(single("new"), Some(sync))).into_owned();
        assert_eq!(rendered.source, None);
        assert_eq!(rendered.sources, [source("x"), source("y")]);
    }

    #[test]
    fn a_result_of_other_definitions_is_not_a_sync_of_the_spec() {
        let result = |source: Option<ApplicationSource>, sources: Vec<ApplicationSource>| {
            SyncOperationResult {
                revision: "abc".into(),
                source,
                sources,
                ..Default::default()
            }
        };
        let spec = single("new");
        assert!(synced_same_sources(
            &result(Some(source("new")), vec![]),
            &spec
        ));
        assert!(!synced_same_sources(
            &result(Some(source("old")), vec![]),
            &spec
        ));
        assert!(synced_same_sources(&result(None, vec![]), &spec), "unnamed");
        let mut reference = source("");
        reference.path = None;
        reference.ref_ = Some("values".into());
        let multi = ApplicationSpec {
            sources: vec![reference.clone(), source("x"), source("y")],
            ..Default::default()
        };
        let leading = Some(source("x"));
        let all = multi.sources.clone();
        assert!(synced_same_sources(&result(leading.clone(), all), &multi));
        let before = vec![reference, source("x")];
        assert!(!synced_same_sources(&result(leading, before), &multi));
    }
}
