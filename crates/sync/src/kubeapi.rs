//! Thin helpers over kube's dynamic API: an `Api` for a resolved kind,
//! objects as JSON, server-side apply, and reading API errors.

use kube::Client;
use kube::api::{
    Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions, ValidationDirective,
};
use serde_json::Value;

use crate::discovery::Resolved;
use crate::options::PropagationPolicy;

/// The API for `resolved` in `namespace` (ignored for cluster-scoped kinds).
pub fn api(client: &Client, resolved: &Resolved, namespace: &str) -> Api<DynamicObject> {
    if resolved.namespaced && !namespace.is_empty() {
        Api::namespaced_with(client.clone(), namespace, &resolved.resource)
    } else {
        Api::all_with(client.clone(), &resolved.resource)
    }
}

/// A dynamic object as JSON, with `apiVersion` and `kind` set (list items lack them).
pub fn to_value(obj: DynamicObject, resolved: &Resolved) -> Value {
    let mut value = serde_json::to_value(obj).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.insert(
            "apiVersion".into(),
            Value::String(resolved.resource.api_version.clone()),
        );
        map.insert("kind".into(), Value::String(resolved.resource.kind.clone()));
    }
    value
}

/// Server-side apply parameters: `manager`, forced, optionally dry-run and
/// without field validation.
pub fn apply_params(manager: &str, dry_run: bool, validate: bool) -> PatchParams {
    let mut params = PatchParams::apply(manager).force();
    params.dry_run = dry_run;
    if !validate {
        params.field_validation = Some(ValidationDirective::Ignore);
    }
    params
}

/// Server-side applies `body` to `name`; the object the server returns.
pub async fn apply(
    api: &Api<DynamicObject>,
    resolved: &Resolved,
    name: &str,
    body: &Value,
    params: &PatchParams,
) -> Result<Value, kube::Error> {
    let obj = api.patch(name, params, &Patch::Apply(body)).await?;
    Ok(to_value(obj, resolved))
}

/// Deletes `name` with `policy`, only if its uid is still `uid`. A missing
/// object counts as deleted.
pub async fn delete(
    api: &Api<DynamicObject>,
    name: &str,
    policy: PropagationPolicy,
    uid: Option<String>,
) -> Result<(), kube::Error> {
    let params = DeleteParams {
        propagation_policy: Some(match policy {
            PropagationPolicy::Foreground => kube::api::PropagationPolicy::Foreground,
            PropagationPolicy::Background => kube::api::PropagationPolicy::Background,
            PropagationPolicy::Orphan => kube::api::PropagationPolicy::Orphan,
        }),
        preconditions: uid.map(|uid| Preconditions {
            uid: Some(uid),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(name, &params).await {
        Ok(_) => Ok(()),
        Err(e) if status_code(&e) == Some(404) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The HTTP status of an API error.
pub fn status_code(err: &kube::Error) -> Option<u16> {
    match err {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// The message of an API error, without kube's wrapping.
pub fn message(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) if !status.message.is_empty() => status.message.clone(),
        other => other.to_string(),
    }
}

/// Whether the server refused an update because it changes an immutable field.
pub fn is_immutable(err: &kube::Error) -> bool {
    let msg = message(err);
    status_code(err) == Some(422)
        && (msg.contains("immutable") || msg.contains("Forbidden: updates to"))
}
