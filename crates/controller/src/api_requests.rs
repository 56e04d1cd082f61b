//! The process's own API requests, counted by verb as its client sends them
//! (`driftless_api_requests_total`). The API server's counters see every
//! client; this one says what the controller itself asked for, as Flux's
//! `rest_client_requests_total` does for its controllers.

use std::sync::LazyLock;

use http::header::CONTENT_TYPE;
use http::{Method, Request};
use kube::client::{Body, ClientBuilder};
use kube::{Client, Config};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use tower::util::MapRequestLayer;

/// The label of [`REQUESTS`] (static: counting a request allocates nothing).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct VerbLabels {
    /// `GET` (an object or a list), `WATCH`, `POST`, `PUT`, `PATCH`,
    /// `APPLY` (a server-side apply), `DELETE`, or `OTHER`.
    verb: &'static str,
}

/// Every request of every client made by [`client`] in this process.
pub(crate) static REQUESTS: LazyLock<Family<VerbLabels, Counter>> = LazyLock::new(Family::default);

/// A client for `config` whose requests are counted in
/// `driftless_api_requests_total`.
pub fn client(config: Config) -> kube::Result<Client> {
    Ok(ClientBuilder::try_from(config)?
        .with_layer(&MapRequestLayer::new(count))
        .build())
}

/// A counted client from the environment (in-cluster, or `KUBECONFIG` /
/// `~/.kube/config`), as `Client::try_default`.
pub async fn default_client() -> kube::Result<Client> {
    let config = Config::infer().await.map_err(kube::Error::InferConfig)?;
    client(config)
}

fn count(request: Request<Body>) -> Request<Body> {
    let verb = verb(&request);
    REQUESTS.get_or_create(&VerbLabels { verb }).inc();
    request
}

/// The API server's name for what `request` asks (its audit verb, with a
/// list counted as `GET`).
fn verb<B>(request: &Request<B>) -> &'static str {
    let method = request.method();
    let query = request.uri().query().unwrap_or("");
    let watch = query
        .split('&')
        .any(|pair| pair == "watch=true" || pair == "watch=1");
    let apply = request
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/apply-patch"));
    match *method {
        Method::GET if watch => "WATCH",
        Method::GET => "GET",
        Method::PATCH if apply => "APPLY",
        Method::PATCH => "PATCH",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, uri: &str, content_type: Option<&str>) -> Request<()> {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(t) = content_type {
            builder = builder.header(CONTENT_TYPE, t);
        }
        builder.body(()).expect("a valid request")
    }

    #[test]
    fn watches_and_applies_are_told_from_gets_and_patches() {
        let list = "/apis/apps/v1/namespaces/a/deployments?labelSelector=x";
        assert_eq!(verb(&request(Method::GET, list, None)), "GET");
        let watch = "/apis/apps/v1/deployments?resourceVersion=5&watch=true&timeoutSeconds=290";
        assert_eq!(verb(&request(Method::GET, watch, None)), "WATCH");
        let named = "/api/v1/namespaces/a/configmaps/watch=true";
        assert_eq!(verb(&request(Method::GET, named, None)), "GET");
        let path = "/apis/apps/v1/namespaces/a/deployments/d?fieldManager=driftless";
        let apply = request(Method::PATCH, path, Some("application/apply-patch+yaml"));
        assert_eq!(verb(&apply), "APPLY");
        let merge = request(Method::PATCH, path, Some("application/merge-patch+json"));
        assert_eq!(verb(&merge), "PATCH");
        assert_eq!(
            verb(&request(Method::POST, "/api/v1/namespaces/a/events", None)),
            "POST"
        );
        assert_eq!(verb(&request(Method::OPTIONS, "/api", None)), "OTHER");
    }
}
