//! The Git views of a Flux Kustomization: its objects against what its
//! GitRepository's artifact renders (as the controller builds it:
//! postBuild, commonMetadata, Flux's labels; Secret values redacted), and
//! a commit of that GitRepository. Only for callers RBAC lets `get` the
//! Kustomization.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use driftless_api::flux::kustomize::v1::Kustomization;
use driftless_api::flux::source::v1::GitRepository;
use driftless_controller::preview::Origin;
use kube::Api;
use serde_json::Value;

use super::git::{KeyQuery, answer, check_sha, commit_json, previewer};
use super::{KUSTOMIZATIONS, caller};
use crate::error::ApiError;
use crate::server::Shared;

/// The watched Kustomization `namespace/name`, typed, when the caller may `get` it.
async fn kustomization_for(
    shared: &Shared,
    headers: &HeaderMap,
    (namespace, name): (&str, &str),
) -> Result<Kustomization, ApiError> {
    let perms = caller(shared, headers).await?;
    if !perms.allows("get", KUSTOMIZATIONS, namespace, name).await? {
        return Err(ApiError::Forbidden(format!(
            "{} may not get Kustomization {namespace}/{name}",
            perms.caller.user
        )));
    }
    let object = shared
        .stores
        .kustomization(namespace, name)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "Kustomization {namespace}/{name} is not watched here"
            ))
        })?;
    let value = serde_json::to_value(object.as_ref()).unwrap_or(Value::Null);
    serde_json::from_value(value).map_err(|e| {
        ApiError::BadRequest(format!(
            "Kustomization {namespace}/{name} does not read as v1: {e}"
        ))
    })
}

/// `GET /api/v1/kustomizations/{ns}/{name}/diff[?group=&kind=&namespace=&name=]`:
/// as the Application's.
pub(crate) async fn kustomization_diff(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
    Query(query): Query<KeyQuery>,
) -> Result<Json<Value>, ApiError> {
    let ks = kustomization_for(&shared, &headers, (&namespace, &name)).await?;
    let preview = previewer(&shared)?
        .kustomization(&ks, &Origin::Git)
        .await
        .map_err(|e| ApiError::Git(e.to_string()))?;
    answer(
        &format!("Kustomization {namespace}/{name}"),
        &preview,
        &query,
    )
}

/// `GET /api/v1/kustomizations/{ns}/{name}/revisions/{sha}`: a commit of
/// the Kustomization's GitRepository.
pub(crate) async fn kustomization_revision(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((namespace, name, sha)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let ks = kustomization_for(&shared, &headers, (&namespace, &name)).await?;
    check_sha(&sha)?;
    let source = &ks.spec.source_ref;
    let source_ns = source
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| namespace.clone());
    if source.kind != "GitRepository" {
        return Err(ApiError::NotFound(format!(
            "Kustomization {namespace}/{name}: its source is a {}, not a GitRepository",
            source.kind
        )));
    }
    let repo = Api::<GitRepository>::namespaced(shared.client.clone(), &source_ns)
        .get(&source.name)
        .await
        .map_err(|e| {
            ApiError::kube(
                format!("reading GitRepository {source_ns}/{}", source.name),
                e,
            )
        })?;
    commit_json(&shared, &repo.spec.url, &sha).await
}
