//! Dereference and validate: the AppProject, the spec's own rules, and
//! fields driftless does not support.

use driftless_api::{AppProject, AppProjectSpec, ApplicationSource, condition};
use kube::api::Api;

use crate::error::{Error, Result};
use crate::project;

use super::{Failure, Reconciler};

impl<'a> Reconciler<'a> {
    /// Reports spec fields driftless does not support (found as the
    /// Application was read: [`driftless_api::ApplicationBody::unknown_fields`]).
    pub(super) fn report_unknown_fields(&mut self) {
        let fields = &self.app.spec.unknown_fields;
        if !fields.is_empty() {
            self.conditions.push((
                condition::UNSUPPORTED_FIELD_WARNING.to_string(),
                format!(
                    "application {}: not supported yet and ignored: {}",
                    self.label,
                    fields.join(", ")
                ),
            ));
        }
    }

    /// The Application's AppProject, read from the control-plane namespace
    /// (the implicit `default` when no AppProject `default` exists), once the
    /// project is known to accept Applications from this one's namespace.
    pub(super) async fn project(&self) -> Result<(String, AppProjectSpec), Failure> {
        let name = match self.app.spec.spec.project.as_str() {
            "" => driftless_api::DEFAULT_PROJECT.to_string(),
            n => n.to_string(),
        };
        let control = &self.ctx.config.control_plane_namespace;
        let found = match self.ctx.projects.get(control, &name) {
            Some(watched) => Ok(watched.map(|p| p.as_ref().clone())),
            None => {
                let api: Api<AppProject> = Api::namespaced(self.ctx.client.clone(), control);
                api.get_opt(&name).await
            }
        };
        let spec = match found {
            Ok(Some(p)) => p.spec,
            Ok(None) if name == driftless_api::DEFAULT_PROJECT => project::default_project(),
            Ok(None) => {
                return Err(self.invalid(format!("AppProject {control}/{name} does not exist")));
            }
            // No AppProject CRD installed: only the implicit default exists.
            Err(kube::Error::Api(s)) if s.code == 404 && name == driftless_api::DEFAULT_PROJECT => {
                project::default_project()
            }
            Err(e) => {
                return Err(Error::kube(
                    &self.label,
                    format!("get AppProject {control}/{name}"),
                    e,
                )
                .into());
            }
        };
        if !project::source_namespace_allowed(&spec, &self.id.0, control) {
            return Err(self.invalid(format!(
                "Applications in namespace {} may not use project {name}: only Applications in \
                 the control-plane namespace {control} may, unless the project's sourceNamespaces \
                 lists their namespace (it lists: {})",
                self.id.0,
                listed(&spec.source_namespaces)
            )));
        }
        Ok((name, spec))
    }

    pub(super) fn invalid(&self, message: String) -> Failure {
        Failure {
            condition: condition::INVALID_SPEC_ERROR,
            message: format!("application {}: {message}", self.label),
        }
    }

    /// Checks the spec against its project; returns the sources that
    /// render, the first one leading (see [`rendering_sources`]).
    pub(super) fn validate(
        &mut self,
        project_name: &str,
        project: &AppProjectSpec,
    ) -> Result<Vec<&'a ApplicationSource>, Failure> {
        let spec = self.spec;
        let invalid = |message: String| self.invalid(message);
        let sources = rendering_sources(spec).map_err(invalid)?;
        for source in &sources[1..] {
            if source.repo_url.trim().is_empty() {
                return Err(invalid(format!(
                    "spec.sources: the source of {} has an empty repoURL",
                    source.chart().unwrap_or(source.path())
                )));
            }
        }
        let source = sources[0];
        for other in spec.sources.iter().filter(|s| !std::ptr::eq(*s, source)) {
            if !project::source_allowed(project, &other.repo_url) {
                return Err(invalid(format!(
                    "repository {} (ref {}) is not permitted in project {project_name}",
                    other.repo_url,
                    other.ref_.as_deref().unwrap_or("")
                )));
            }
        }
        if source.repo_url.trim().is_empty() {
            return Err(invalid("spec.source.repoURL is empty".into()));
        }
        if project::destination_missing(&spec.destination) {
            return Err(invalid(format!(
                "spec.destination names no cluster: set destination.server ({}) or \
                 destination.name ({})",
                driftless_api::IN_CLUSTER_SERVER,
                driftless_api::IN_CLUSTER_NAME
            )));
        }
        if !spec.destination.is_in_cluster() {
            return Err(invalid(format!(
                "destination {} is not supported yet: only the controller's own cluster ({} / {}) is",
                spec.destination
                    .server
                    .as_deref()
                    .or(spec.destination.name.as_deref())
                    .unwrap_or(""),
                driftless_api::IN_CLUSTER_SERVER,
                driftless_api::IN_CLUSTER_NAME
            )));
        }
        if !project::source_allowed(project, &source.repo_url) {
            return Err(invalid(format!(
                "repository {} is not permitted in project {project_name}",
                source.repo_url
            )));
        }
        if !project::destination_allowed(project, &spec.destination) {
            return Err(invalid(format!(
                "destination namespace {:?} is not permitted in project {project_name}",
                spec.destination.namespace.as_deref().unwrap_or("")
            )));
        }
        Ok(sources)
    }
}

/// The sources of `spec` that render, in order: `source`, or every one of
/// `sources` that is not only a `ref` (a `ref` name, no `path`, no
/// `chart`), as Argo CD renders each of them and applies the union. Never
/// empty. The reconcile and the preview both pick them here.
pub(crate) fn rendering_sources(
    spec: &driftless_api::ApplicationSpec,
) -> Result<Vec<&ApplicationSource>, String> {
    if let Some(source) = &spec.source {
        return Ok(vec![source]);
    }
    let rendering: Vec<&ApplicationSource> =
        spec.sources.iter().filter(|s| !is_ref_only(s)).collect();
    match (spec.sources.as_slice(), rendering.is_empty()) {
        ([], _) => Err("spec.source is required".into()),
        (_, true) => Err(
            "spec.sources holds only ref sources: one source must have a path or a chart".into(),
        ),
        (_, false) => Ok(rendering),
    }
}

/// A source that only lends its files to `$ref` value files.
fn is_ref_only(s: &ApplicationSource) -> bool {
    s.ref_.as_deref().is_some_and(|r| !r.is_empty()) && s.path.is_none() && s.chart().is_none()
}

/// A list for messages: `a, b`, or `nothing`.
fn listed(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".into()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(
        repo: &str,
        path: Option<&str>,
        chart: Option<&str>,
        ref_: Option<&str>,
    ) -> ApplicationSource {
        ApplicationSource {
            repo_url: repo.into(),
            path: path.map(Into::into),
            chart: chart.map(Into::into),
            ref_: ref_.map(Into::into),
            ..Default::default()
        }
    }

    fn spec(sources: &[ApplicationSource]) -> driftless_api::ApplicationSpec {
        driftless_api::ApplicationSpec {
            sources: sources.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn every_source_but_the_refs_renders() {
        let chart = source("https://charts.example", None, Some("web"), None);
        let values = source("https://git.example/values.git", None, None, Some("values"));
        let only_chart = spec(&[values.clone(), chart.clone()]);
        assert_eq!(rendering_sources(&only_chart), Ok(vec![&chart]));

        let path = source("https://git.example/app.git", Some("app"), None, None);
        let both = spec(&[chart.clone(), values.clone(), path.clone()]);
        assert_eq!(rendering_sources(&both), Ok(vec![&chart, &path]));
        let error = rendering_sources(&spec(&[values])).unwrap_err();
        assert!(error.contains("only ref sources"), "{error}");
        let error = rendering_sources(&spec(&[])).unwrap_err();
        assert!(error.contains("spec.source is required"), "{error}");
        let ref_with_path = source(
            "https://git.example/app.git",
            Some("app"),
            None,
            Some("app"),
        );
        let renders = spec(&[ref_with_path.clone(), chart.clone()]);
        assert_eq!(
            rendering_sources(&renders),
            Ok(vec![&ref_with_path, &chart]),
            "a ref source with a path renders"
        );
    }
}
