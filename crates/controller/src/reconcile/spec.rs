//! Dereference and validate: the AppProject, the spec's own rules, and
//! fields driftless does not support.

use driftless_api::{AppProject, AppProjectSpec, Application, ApplicationSource, condition};
use kube::Resource;
use kube::api::Api;

use crate::error::{Error, Result};
use crate::project;

use super::{Failure, Reconciler};

impl<'a> Reconciler<'a> {
    /// Reports spec fields driftless does not support, checked once per
    /// generation (one extra read of the stored object).
    pub(super) async fn report_unknown_fields(&mut self) {
        let generation = self.app.meta().generation;
        let known = self.ctx.memory(&self.id, |m| {
            m.unknown_fields
                .as_ref()
                .filter(|(g, _)| *g == generation)
                .map(|(_, f)| f.clone())
        });
        let fields = match known {
            Some(f) => f,
            None => {
                let api: Api<kube::api::DynamicObject> = Api::namespaced_with(
                    self.ctx.client.clone(),
                    &self.id.0,
                    &kube::api::ApiResource::erase::<Application>(&()),
                );
                let Ok(raw) = api.get(&self.id.1).await else {
                    return;
                };
                let raw = serde_json::json!({
                    "spec": raw.data.get("spec").cloned().unwrap_or_default(),
                    "operation": raw.data.get("operation").cloned().unwrap_or_default(),
                });
                let typed = serde_json::json!({
                    "spec": serde_json::to_value(&self.app.spec.spec).unwrap_or_default(),
                    "operation": serde_json::to_value(&self.app.spec.operation).unwrap_or_default(),
                });
                let fields = crate::unknown::unknown_fields(&raw, &typed);
                self.ctx.memory(&self.id, |m| {
                    m.unknown_fields = Some((generation, fields.clone()))
                });
                fields
            }
        };
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

    fn invalid(&self, message: String) -> Failure {
        Failure {
            condition: condition::INVALID_SPEC_ERROR,
            message: format!("application {}: {message}", self.label),
        }
    }

    pub(super) fn validate(
        &mut self,
        project_name: &str,
        project: &AppProjectSpec,
    ) -> Result<&'a ApplicationSource, Failure> {
        let spec = &self.app.spec.spec;
        let invalid = |message: String| self.invalid(message);
        let source = rendering_source(spec).map_err(invalid)?;
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
        Ok(source)
    }
}

/// The source of `spec` that renders: `source`, the only one of
/// `sources`, or the one of several that is not a `ref` source. The
/// reconcile and the preview both pick it here.
pub(crate) fn rendering_source(
    spec: &driftless_api::ApplicationSpec,
) -> Result<&ApplicationSource, String> {
    match (&spec.source, spec.sources.as_slice()) {
        (Some(s), _) => Ok(s),
        (None, [only]) => Ok(only),
        (None, []) => Err("spec.source is required".into()),
        (None, many) => main_source(many),
    }
}

/// The one source of several that renders: every other one must be a
/// `ref` source (a `ref` name, no `path`, no `chart`) whose files the
/// rendering source's Helm value files name with `$ref/...`.
fn main_source(sources: &[ApplicationSource]) -> Result<&ApplicationSource, String> {
    let is_ref_only = |s: &ApplicationSource| {
        s.ref_.as_deref().is_some_and(|r| !r.is_empty()) && s.path.is_none() && s.chart().is_none()
    };
    let rendering: Vec<&ApplicationSource> = sources.iter().filter(|s| !is_ref_only(s)).collect();
    match rendering.as_slice() {
        [one] => Ok(one),
        [] => Err(
            "spec.sources holds only ref sources: one source must have a path or a chart".into(),
        ),
        _ => Err(format!(
            "spec.sources renders {} sources ({}); driftless renders one, with the others as ref \
             sources (ref set, no path or chart) for its $ref value files",
            rendering.len(),
            rendering
                .iter()
                .map(|s| s.chart().unwrap_or(s.path()).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
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

    #[test]
    fn one_source_renders_and_the_others_are_refs() {
        let chart = source("https://charts.example", None, Some("web"), None);
        let values = source("https://git.example/values.git", None, None, Some("values"));
        let sources = [values.clone(), chart.clone()];
        assert_eq!(main_source(&sources), Ok(&chart));

        let path = source("https://git.example/app.git", Some("app"), None, None);
        let error = main_source(&[chart.clone(), path]).unwrap_err();
        assert!(error.contains("renders 2 sources (web, app)"), "{error}");
        let error = main_source(&[values]).unwrap_err();
        assert!(error.contains("only ref sources"), "{error}");
        let both = source(
            "https://git.example/app.git",
            Some("app"),
            None,
            Some("app"),
        );
        let error = main_source(&[both, chart]).unwrap_err();
        assert!(
            error.contains("renders 2"),
            "a ref source with a path renders: {error}"
        );
    }
}
