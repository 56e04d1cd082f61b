//! The JSON API's handlers. Each authenticates the bearer token, then asks
//! RBAC about every object it would answer with.

mod actions;
mod flux_git;
mod git;
mod live;
mod objects;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use driftless_api::Application;
use kube::ResourceExt;
use kube::api::DynamicObject;
use serde_json::{Value, json};

use crate::auth::{self, Permissions};
use crate::error::ApiError;
use crate::server::Shared;
use crate::summary::{AppSummary, HelmReleaseSummary, KustomizationSummary, Overview};
use crate::tree;

pub(crate) use actions::{refresh, sync};
pub(crate) use flux_git::{kustomization_diff, kustomization_revision};
pub(crate) use git::{diff, revision};
pub(crate) use live::stream;
pub(crate) use objects::{events, manifest};

/// Applications, for RBAC.
pub(crate) const APPLICATIONS: (&str, &str) = (driftless_api::GROUP, "applications");
/// Flux Kustomizations, for RBAC.
pub(crate) const KUSTOMIZATIONS: (&str, &str) = (crate::store::FLUX_GROUP, "kustomizations");
/// Flux HelmReleases, for RBAC.
pub(crate) const HELM_RELEASES: (&str, &str) = (crate::store::HELM_GROUP, "helmreleases");

type SharedState = State<Arc<Shared>>;

/// The caller's permissions, from the request's bearer token.
pub(crate) async fn caller(shared: &Shared, headers: &HeaderMap) -> Result<Permissions, ApiError> {
    let token = auth::bearer(headers)?;
    let who = auth::authenticate(&shared.client, &token).await?;
    Ok(Permissions::new(shared.client.clone(), who))
}

/// The watched Applications the caller may `get`.
pub(crate) async fn visible_apps(
    shared: &Shared,
    perms: &Permissions,
) -> Result<Vec<Arc<Application>>, ApiError> {
    shared.stores.settle().await;
    let mut visible = Vec::new();
    for app in shared.stores.applications() {
        let ns = app.namespace().unwrap_or_default();
        if perms
            .allows("get", APPLICATIONS, &ns, &app.name_any())
            .await?
        {
            visible.push(app);
        }
    }
    Ok(visible)
}

async fn visible_kustomizations(
    shared: &Shared,
    perms: &Permissions,
) -> Result<Vec<Arc<DynamicObject>>, ApiError> {
    shared.stores.settle().await;
    visible_flux(perms, KUSTOMIZATIONS, shared.stores.kustomizations()).await
}

async fn visible_helm_releases(
    shared: &Shared,
    perms: &Permissions,
) -> Result<Vec<Arc<DynamicObject>>, ApiError> {
    shared.stores.settle().await;
    visible_flux(perms, HELM_RELEASES, shared.stores.helm_releases()).await
}

/// The `objects` of `resource` the caller may `get`.
async fn visible_flux(
    perms: &Permissions,
    resource: (&'static str, &'static str),
    objects: Vec<Arc<DynamicObject>>,
) -> Result<Vec<Arc<DynamicObject>>, ApiError> {
    let mut visible = Vec::new();
    for object in objects {
        let ns = object.namespace().unwrap_or_default();
        if perms
            .allows("get", resource, &ns, &object.name_any())
            .await?
        {
            visible.push(object);
        }
    }
    Ok(visible)
}

/// Everything the overview shows, for this caller.
pub(crate) async fn build_overview(
    shared: &Shared,
    perms: &Permissions,
) -> Result<Overview, ApiError> {
    let actions = shared.config.actions;
    let mut rows = Vec::new();
    for app in visible_apps(shared, perms).await? {
        let mut row = AppSummary::of(&app);
        row.can_patch = actions
            && perms
                .allows("patch", APPLICATIONS, &row.namespace, &row.name)
                .await?;
        rows.push(row);
    }
    let ks = visible_kustomizations(shared, perms).await?;
    let ks = ks.iter().map(|k| KustomizationSummary::of(k)).collect();
    let hr = visible_helm_releases(shared, perms).await?;
    let hr = hr.iter().map(|h| HelmReleaseSummary::of(h)).collect();
    Ok(Overview::new(rows, ks, hr, actions))
}

/// The Application `namespace/name` when the caller may `verb` it.
pub(crate) async fn app_for(
    shared: &Shared,
    perms: &Permissions,
    verb: &'static str,
    (namespace, name): (&str, &str),
) -> Result<Arc<Application>, ApiError> {
    if !perms.allows(verb, APPLICATIONS, namespace, name).await? {
        return Err(ApiError::Forbidden(format!(
            "{} may not {verb} Application {namespace}/{name}",
            perms.caller.user
        )));
    }
    shared.stores.settle().await;
    shared.stores.application(namespace, name).ok_or_else(|| {
        ApiError::NotFound(format!(
            "Application {namespace}/{name} is not watched here"
        ))
    })
}

/// `GET /api/v1/whoami`: the caller's user name, and whether buttons exist.
pub(crate) async fn whoami(
    State(shared): SharedState,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let perms = caller(&shared, &headers).await?;
    Ok(Json(
        json!({"user": perms.caller.user, "actions": shared.config.actions}),
    ))
}

/// `GET /api/v1/overview`.
pub(crate) async fn overview(
    State(shared): SharedState,
    headers: HeaderMap,
) -> Result<Json<Overview>, ApiError> {
    let perms = caller(&shared, &headers).await?;
    Ok(Json(build_overview(&shared, &perms).await?))
}

/// `GET /api/v1/applications`: `{"items": [...]}`.
pub(crate) async fn applications(
    State(shared): SharedState,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let perms = caller(&shared, &headers).await?;
    let overview = build_overview(&shared, &perms).await?;
    Ok(Json(json!({"items": overview.applications})))
}

/// `GET /api/v1/kustomizations`: `{"items": [...]}`.
pub(crate) async fn kustomizations(
    State(shared): SharedState,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let perms = caller(&shared, &headers).await?;
    let ks = visible_kustomizations(&shared, &perms).await?;
    let items: Vec<_> = ks.iter().map(|k| KustomizationSummary::of(k)).collect();
    Ok(Json(json!({"items": items})))
}

/// `GET /api/v1/helmreleases`: `{"items": [...]}`.
pub(crate) async fn helm_releases(
    State(shared): SharedState,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let perms = caller(&shared, &headers).await?;
    let hr = visible_helm_releases(&shared, &perms).await?;
    let items: Vec<_> = hr.iter().map(|h| HelmReleaseSummary::of(h)).collect();
    Ok(Json(json!({"items": items})))
}

/// `GET /api/v1/applications/{ns}/{name}/tree`.
pub(crate) async fn app_tree(
    State(shared): SharedState,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<tree::Node>, ApiError> {
    let perms = caller(&shared, &headers).await?;
    let app = app_for(&shared, &perms, "get", (&namespace, &name)).await?;
    let visible: HashMap<(String, String), Arc<Application>> = visible_apps(&shared, &perms)
        .await?
        .into_iter()
        .map(|a| ((a.namespace().unwrap_or_default(), a.name_any()), a))
        .collect();
    let lookup = |ns: &str, n: &str| visible.get(&(ns.to_string(), n.to_string())).cloned();
    Ok(Json(tree::app_tree(&app, &lookup)))
}

/// `GET /api/v1/applications/{ns}/{name}/history`: deployed revisions, the
/// current operation and its state.
pub(crate) async fn history(
    State(shared): SharedState,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let perms = caller(&shared, &headers).await?;
    let app = app_for(&shared, &perms, "get", (&namespace, &name)).await?;
    let status = app.status.clone().unwrap_or_default();
    let mut history = status.history;
    history.reverse();
    Ok(Json(json!({
        "history": history,
        "operation": app.spec.operation,
        "operationState": status.operation_state,
        "conditions": status.conditions,
    })))
}

/// `GET /api/v1/kustomizations/{ns}/{name}/tree`.
pub(crate) async fn kustomization_tree(
    State(shared): SharedState,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<tree::Node>, ApiError> {
    let perms = caller(&shared, &headers).await?;
    if !perms
        .allows("get", KUSTOMIZATIONS, &namespace, &name)
        .await?
    {
        return Err(ApiError::Forbidden(format!(
            "{} may not get Kustomization {namespace}/{name}",
            perms.caller.user
        )));
    }
    let object = shared
        .stores
        .kustomization(&namespace, &name)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "Kustomization {namespace}/{name} is not watched here"
            ))
        })?;
    let value = serde_json::to_value(object.as_ref()).unwrap_or(Value::Null);
    // A dependency's state shows only when the caller may see it too.
    let visible: HashMap<(String, String), String> = visible_kustomizations(&shared, &perms)
        .await?
        .iter()
        .map(|k| {
            let row = KustomizationSummary::of(k);
            ((row.namespace, row.name), row.ready)
        })
        .collect();
    let ready_of = |ns: &str, n: &str| visible.get(&(ns.to_string(), n.to_string())).cloned();
    Ok(Json(tree::kustomization_tree(&value, &ready_of)))
}

/// `GET /api/v1/health`: the controller's numbers (any authenticated user)
/// and the newest errors on the objects the caller may `get`.
pub(crate) async fn health(
    State(shared): SharedState,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let perms = caller(&shared, &headers).await?;
    let apps = visible_apps(&shared, &perms).await?;
    let mut flux = visible_kustomizations(&shared, &perms).await?;
    flux.extend(visible_helm_releases(&shared, &perms).await?);
    let flux: Vec<Value> = flux
        .iter()
        .map(|k| serde_json::to_value(k.as_ref()).unwrap_or(Value::Null))
        .collect();
    let apps: Vec<&Application> = apps.iter().map(AsRef::as_ref).collect();
    let last_errors = crate::health::last_errors(&apps, &flux);
    let Some(metrics) = &shared.config.metrics else {
        return Ok(Json(json!({"available": false, "lastErrors": last_errors})));
    };
    let health = crate::health::parse(&metrics());
    Ok(Json(
        json!({"available": true, "controller": health, "lastErrors": last_errors}),
    ))
}
