//! One managed object of an Application: its live manifest (Secret values
//! redacted) and its Events. Only objects the Application's status lists
//! can be asked for, so the page cannot be used to read anything else with
//! the server's own rights.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use driftless_api::Application;
use k8s_openapi::api::core::v1::Event;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, GroupVersionKind, ListParams};
use kube::discovery::{self, Scope};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{app_for, caller};
use crate::error::ApiError;
use crate::redact;
use crate::server::Shared;

/// Which object (all empty: the Application itself).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ObjectQuery {
    #[serde(default)]
    group: String,
    #[serde(default)]
    version: String,
    kind: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
}

/// A managed object, identified.
struct Target {
    gvk: GroupVersionKind,
    namespace: Option<String>,
    name: String,
}

impl Target {
    fn describe(&self) -> String {
        let ns = self
            .namespace
            .as_deref()
            .map(|n| format!("{n}/"))
            .unwrap_or_default();
        format!("{} {ns}{}", self.gvk.kind, self.name)
    }
}

/// The object `query` names, when `app`'s status lists it (or the
/// Application itself when the query names nothing).
fn target(app: &Application, query: &ObjectQuery) -> Result<Target, ApiError> {
    let (Some(kind), Some(name)) = (&query.kind, &query.name) else {
        return Ok(Target {
            gvk: GroupVersionKind::gvk(driftless_api::GROUP, driftless_api::VERSION, "Application"),
            namespace: app.namespace(),
            name: app.name_any(),
        });
    };
    let resources = app
        .status
        .as_ref()
        .map(|s| s.resources.as_slice())
        .unwrap_or_default();
    let listed = resources.iter().find(|r| {
        r.group == query.group
            && &r.kind == kind
            && &r.name == name
            && r.namespace == query.namespace
    });
    let Some(r) = listed else {
        return Err(ApiError::NotFound(format!(
            "Application {}/{} does not manage {kind} {}{name}",
            app.namespace().unwrap_or_default(),
            app.name_any(),
            query
                .namespace
                .as_deref()
                .map(|n| format!("{n}/"))
                .unwrap_or_default()
        )));
    };
    let version = if query.version.is_empty() {
        r.version.clone()
    } else {
        query.version.clone()
    };
    Ok(Target {
        gvk: GroupVersionKind::gvk(&r.group, &version, &r.kind),
        namespace: r.namespace.clone(),
        name: r.name.clone(),
    })
}

async fn live_object(shared: &Shared, target: &Target) -> Result<Value, ApiError> {
    let what = format!("reading {}", target.describe());
    let (resource, caps) = discovery::pinned_kind(&shared.client, &target.gvk)
        .await
        .map_err(|e| ApiError::kube(what.clone(), e))?;
    let api: Api<DynamicObject> = match (&caps.scope, &target.namespace) {
        (Scope::Namespaced, Some(ns)) => Api::namespaced_with(shared.client.clone(), ns, &resource),
        _ => Api::all_with(shared.client.clone(), &resource),
    };
    let object = api
        .get(&target.name)
        .await
        .map_err(|e| ApiError::kube(what, e))?;
    let mut value = serde_json::to_value(object).unwrap_or(Value::Null);
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    redact::redact(&mut value);
    Ok(value)
}

async fn checked_target(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    (namespace, name): (&str, &str),
    query: &ObjectQuery,
) -> Result<Target, ApiError> {
    let perms = caller(shared, headers).await?;
    let app = app_for(shared, &perms, "get", (namespace, name)).await?;
    target(&app, query)
}

/// `GET …/manifest?group=&version=&kind=&namespace=&name=`: the live object.
pub(crate) async fn manifest(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
    Query(query): Query<ObjectQuery>,
) -> Result<Json<Value>, ApiError> {
    let target = checked_target(&shared, &headers, (&namespace, &name), &query).await?;
    Ok(Json(live_object(&shared, &target).await?))
}

/// `GET …/events[?group=&kind=&namespace=&name=]`: the Events about the
/// Application or one of its objects, newest last.
pub(crate) async fn events(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
    Query(query): Query<ObjectQuery>,
) -> Result<Json<Value>, ApiError> {
    let target = checked_target(&shared, &headers, (&namespace, &name), &query).await?;
    let api: Api<Event> = match &target.namespace {
        Some(ns) => Api::namespaced(shared.client.clone(), ns),
        None => Api::all(shared.client.clone()),
    };
    let selector = format!(
        "involvedObject.name={},involvedObject.kind={}",
        target.name, target.gvk.kind
    );
    let list = api
        .list(&ListParams::default().fields(&selector))
        .await
        .map_err(|e| ApiError::kube(format!("listing the Events of {}", target.describe()), e))?;
    let mut items: Vec<Value> = list
        .items
        .into_iter()
        .map(|e| {
            let when = e
                .last_timestamp
                .map(|t| t.0.to_string())
                .or_else(|| e.event_time.map(|t| t.0.to_string()));
            json!({
                "type": e.type_, "reason": e.reason, "message": e.message,
                "count": e.count, "time": when,
                "source": e.reporting_component.or(e.source.and_then(|s| s.component)),
            })
        })
        .collect();
    items.sort_by(|a, b| a["time"].as_str().cmp(&b["time"].as_str()));
    Ok(Json(json!({"items": items})))
}
