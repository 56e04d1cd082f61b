//! What needs Git: an Application's objects compared with what its source
//! renders (the node's "diff against Git"; Secret values redacted by the
//! sync engine), and a revision's commit message. Both go through the
//! controller's [`Previewer`] (its own mirror cache; the server-side
//! dry-run with the server's rights, after RBAC allowed the caller to
//! `get` the Application).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use driftless_controller::preview::{Origin, Preview, Previewer};
use driftless_render::ObjectKey;
use kube::ResourceExt;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{app_for, caller};
use crate::error::ApiError;
use crate::server::Shared;

/// Which object's diff (all empty: every object of the Application).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct KeyQuery {
    #[serde(default)]
    group: String,
    kind: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
}

impl KeyQuery {
    pub(super) fn matches(&self, key: &ObjectKey) -> bool {
        let (Some(kind), Some(name)) = (&self.kind, &self.name) else {
            return true;
        };
        key.group == self.group
            && &key.kind == kind
            && &key.name == name
            && key.namespace == self.namespace.clone().unwrap_or_default()
    }

    pub(super) fn describe(&self) -> String {
        let ns = self
            .namespace
            .as_deref()
            .map(|n| format!("{n}/"))
            .unwrap_or_default();
        format!(
            "{} {ns}{}",
            self.kind.as_deref().unwrap_or_default(),
            self.name.as_deref().unwrap_or_default()
        )
    }
}

pub(super) fn previewer(shared: &Shared) -> Result<Arc<Previewer>, ApiError> {
    shared
        .config
        .previewer
        .clone()
        .ok_or_else(|| ApiError::Unavailable("this server was started without Git access".into()))
}

/// `GET /api/v1/applications/{ns}/{name}/diff[?group=&kind=&namespace=&name=]`:
/// `{"revision": sha, "sources": [{source, revision}], "resources": [{group, kind, namespace,
/// name, state, diff, error}]}` (`sources` for several sources only).
pub(crate) async fn diff(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
    Query(query): Query<KeyQuery>,
) -> Result<Json<Value>, ApiError> {
    let perms = caller(&shared, &headers).await?;
    let app = app_for(&shared, &perms, "get", (&namespace, &name)).await?;
    let preview = previewer(&shared)?
        .application(&app, &Origin::Git)
        .await
        .map_err(|e| ApiError::Git(e.to_string()))?;
    answer(&format!("Application {namespace}/{name}"), &preview, &query)
}

/// The diff answer: the resources `query` selects (a named one must exist).
pub(super) fn answer(
    owner: &str,
    preview: &Preview,
    query: &KeyQuery,
) -> Result<Json<Value>, ApiError> {
    let resources: Vec<Value> = preview
        .comparison
        .resources
        .iter()
        .filter(|r| query.matches(&r.key))
        .map(|r| {
            json!({
                "group": r.key.group, "kind": r.key.kind,
                "namespace": r.key.namespace, "name": r.key.name,
                "state": format!("{:?}", r.state), "diff": r.diff, "error": r.error,
            })
        })
        .collect();
    if query.kind.is_some() && resources.is_empty() {
        return Err(ApiError::NotFound(format!(
            "{owner} renders no {} at {}",
            query.describe(),
            preview.revision
        )));
    }
    let sources: Vec<Value> = preview
        .sources
        .iter()
        .map(|s| json!({"source": s.source, "revision": s.revision}))
        .collect();
    Ok(Json(json!({
        "revision": preview.revision,
        "sources": sources,
        "resources": resources,
    })))
}

/// Refuses anything but 4 to 40 hexadecimal digits.
pub(super) fn check_sha(sha: &str) -> Result<(), ApiError> {
    if (4..=40).contains(&sha.len()) && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!("{sha:?} is not a commit SHA")))
    }
}

/// `{sha, message, author, time}` of `sha` in `repo`.
pub(super) async fn commit_json(
    shared: &Shared,
    repo: &str,
    sha: &str,
) -> Result<Json<Value>, ApiError> {
    let info = previewer(shared)?
        .commit(repo, sha)
        .await
        .map_err(|e| ApiError::Git(e.to_string()))?;
    let time = k8s_openapi::jiff::Timestamp::from_second(info.time)
        .map(|t| t.to_string())
        .unwrap_or_default();
    Ok(Json(json!({
        "sha": info.sha, "message": info.message, "author": info.author, "time": time,
    })))
}

/// `GET /api/v1/applications/{ns}/{name}/revisions/{sha}`: the commit's
/// `{sha, message, author, time}` in the Application's repository.
pub(crate) async fn revision(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((namespace, name, sha)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let perms = caller(&shared, &headers).await?;
    let app = app_for(&shared, &perms, "get", (&namespace, &name)).await?;
    if !(4..=40).contains(&sha.len()) || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::BadRequest(format!("{sha:?} is not a commit SHA")));
    }
    let source = app
        .spec
        .spec
        .source
        .clone()
        .or_else(|| app.spec.spec.sources.first().cloned())
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "Application {namespace}/{} has no source",
                app.name_any()
            ))
        })?;
    commit_json(&shared, &source.repo_url, &sha).await
}

#[cfg(test)]
mod tests {
    use driftless_controller::preview::SourceRevision;

    use super::*;

    fn preview(sources: Vec<SourceRevision>) -> Preview {
        Preview {
            revision: "1.0.0,abc".into(),
            sources,
            comparison: Default::default(),
        }
    }

    #[test]
    fn a_diff_names_each_source_with_its_revision() {
        let both = vec![
            SourceRevision {
                source: "spec.sources[0] (chart web)".into(),
                revision: "1.0.0".into(),
            },
            SourceRevision {
                source: "spec.sources[1] (path \"manifests\")".into(),
                revision: "abc".into(),
            },
        ];
        let Json(body) = answer("Application a/b", &preview(both), &KeyQuery::default()).unwrap();
        assert_eq!(
            body["sources"][1]["source"],
            "spec.sources[1] (path \"manifests\")"
        );
        assert_eq!(body["sources"][1]["revision"], "abc");
        assert_eq!(body["revision"], "1.0.0,abc");
        let Json(one) = answer(
            "Application a/b",
            &preview(Vec::new()),
            &KeyQuery::default(),
        )
        .unwrap();
        assert_eq!(one["sources"], json!([]));
    }
}
