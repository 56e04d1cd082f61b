//! The two buttons: Refresh (compare with Git now) and Sync (Argo CD's
//! `operation`). Only when the server runs with actions enabled, and only
//! for callers RBAC lets `patch` the Application; the patch records who
//! asked.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use driftless_api::{Application, OperationPhase};
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use super::{app_for, caller};
use crate::error::ApiError;
use crate::server::Shared;

/// The annotation that asks the controller to compare with Git now.
const REFRESH_ANNOTATION: &str = "argocd.argoproj.io/refresh";

/// The Application when actions are on and the caller may patch it.
async fn patchable(
    shared: &Shared,
    headers: &HeaderMap,
    (namespace, name): (&str, &str),
) -> Result<(Arc<Application>, String), ApiError> {
    if !shared.config.actions {
        return Err(ApiError::Forbidden(
            "this page is read-only (start the controller with --ui-actions to enable Sync and Refresh)".into(),
        ));
    }
    let perms = caller(shared, headers).await?;
    let app = app_for(shared, &perms, "patch", (namespace, name)).await?;
    Ok((app, perms.caller.user.clone()))
}

async fn merge_patch(
    shared: &Shared,
    (namespace, name): (&str, &str),
    patch: &Value,
) -> Result<(), ApiError> {
    let api: Api<Application> = Api::namespaced(shared.client.clone(), namespace);
    api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map_err(|e| ApiError::kube(format!("patching Application {namespace}/{name}"), e))?;
    Ok(())
}

/// `POST …/refresh`: sets the refresh annotation.
pub(crate) async fn refresh(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (_, user) = patchable(&shared, &headers, (&namespace, &name)).await?;
    let patch = json!({"metadata": {"annotations": {REFRESH_ANNOTATION: "normal"}}});
    merge_patch(&shared, (&namespace, &name), &patch).await?;
    tracing::info!(app = %format!("{namespace}/{name}"), %user, "refresh requested from the web page");
    Ok(Json(json!({"refresh": "requested"})))
}

/// `POST …/sync`: requests a sync to the target revision.
pub(crate) async fn sync(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (app, user) = patchable(&shared, &headers, (&namespace, &name)).await?;
    let running = app
        .status
        .as_ref()
        .and_then(|s| s.operation_state.as_ref())
        .is_some_and(|o| o.phase == OperationPhase::Running);
    if app.spec.operation.is_some() || running {
        return Err(ApiError::BadRequest(format!(
            "Application {namespace}/{name}: another operation is already in progress"
        )));
    }
    let patch = json!({"operation": {
        "initiatedBy": {"username": user},
        "info": [{"name": "Requested-By", "value": "driftless web page"}],
        "sync": {"prune": false},
    }});
    merge_patch(&shared, (&namespace, &name), &patch).await?;
    tracing::info!(app = %format!("{namespace}/{name}"), %user, "sync requested from the web page");
    Ok(Json(json!({"sync": "requested"})))
}
