//! `spec.serviceAccountName`: applying and pruning as
//! `system:serviceaccount:<namespace>:<name>`. The controller's own client
//! is wrapped so every request carries Kubernetes' impersonation headers;
//! the API server then authorizes each request against that
//! ServiceAccount's RBAC. One sync engine is kept per ServiceAccount.

use driftless_sync::SyncEngine;
use http::HeaderValue;
use kube::Client;
use kube::client::Body;

use crate::adapters::Engine;
use crate::context::Context;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The user name Kubernetes gives the ServiceAccount `namespace/name`.
pub fn user_name(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// A client of `base` acting as the ServiceAccount `namespace/name`
/// (with the groups a ServiceAccount token carries).
pub fn client_as(base: &Client, namespace: &str, name: &str) -> Result<Client, String> {
    let header = |v: &str| HeaderValue::from_str(v).map_err(|e| format!("{v:?}: {e}"));
    let user = header(&user_name(namespace, name))?;
    let groups = [
        header("system:serviceaccounts")?,
        header(&format!("system:serviceaccounts:{namespace}"))?,
        header("system:authenticated")?,
    ];
    let inner = base.clone();
    let service = tower::service_fn(move |mut request: http::Request<Body>| {
        let inner = inner.clone();
        let (user, groups) = (user.clone(), groups.clone());
        async move {
            let headers = request.headers_mut();
            headers.insert("Impersonate-User", user);
            for group in groups {
                headers.append("Impersonate-Group", group);
            }
            inner.send(request).await.map_err(BoxError::from)
        }
    });
    Ok(Client::new(service, base.default_namespace().to_string()))
}

/// The sync engine to apply with: the controller's own, or one acting as
/// the ServiceAccount `namespace/name` (created once, then reused).
pub fn engine(
    ctx: &Context,
    namespace: &str,
    service_account: Option<&str>,
) -> Result<Engine, String> {
    let Some(name) = service_account.filter(|n| !n.is_empty()) else {
        return Ok(ctx.engine.clone());
    };
    ctx.flux
        .engine_for((namespace.to_string(), name.to_string()), || {
            let client = client_as(&ctx.client, namespace, name)
                .map_err(|e| format!("spec.serviceAccountName {name:?}: {e}"))?;
            let engine = SyncEngine::new(client)
                .with_field_manager(ctx.config.field_manager.clone())
                .with_wave_timeout(ctx.config.wave_timeout);
            if ctx.config.watch_managed {
                ctx.watches.listen(&engine, ctx.weak());
            }
            Ok(Engine(engine))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_account_user_names() {
        assert_eq!(
            user_name("flux-system", "deployer"),
            "system:serviceaccount:flux-system:deployer"
        );
    }
}
