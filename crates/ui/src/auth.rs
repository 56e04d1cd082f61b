//! Who is asking, and what RBAC lets them do: the bearer token is checked
//! with a TokenReview, each access with a SubjectAccessReview for that user
//! (the way `kubectl auth can-i --as` asks).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use axum::http::HeaderMap;
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::Client;
use kube::api::{Api, PostParams};

use crate::error::ApiError;

/// An authenticated user, as the API server's TokenReview named them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The user name (`system:serviceaccount:<ns>:<name>` for a ServiceAccount).
    pub(crate) user: String,
    /// The user's uid, when the authenticator gives one.
    pub(crate) uid: Option<String>,
    /// The user's groups.
    pub(crate) groups: Vec<String>,
    /// Extra attributes (scopes, the bound Pod, ...), passed on to SubjectAccessReviews.
    pub(crate) extra: BTreeMap<String, Vec<String>>,
}

/// One thing a caller may or may not do.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Access {
    /// `get`, `list`, `patch`, ...
    pub(crate) verb: &'static str,
    /// The API group (`argoproj.io`).
    pub(crate) group: &'static str,
    /// The plural resource (`applications`).
    pub(crate) resource: &'static str,
    /// The namespace.
    pub(crate) namespace: String,
    /// One object's name; `None` asks for every object of the namespace.
    pub(crate) name: Option<String>,
}

/// The bearer token of `headers`, or why there is none.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<String, ApiError> {
    let missing = || {
        ApiError::Unauthenticated(
            "a Kubernetes bearer token is required (Authorization: Bearer <token>, e.g. from `kubectl create token`)"
                .into(),
        )
    };
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(missing)?
        .to_str()
        .map_err(|_| missing())?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(missing)?;
    Ok(token.to_string())
}

/// Checks `token` with a TokenReview.
pub(crate) async fn authenticate(client: &Client, token: &str) -> Result<Caller, ApiError> {
    let review = TokenReview {
        spec: TokenReviewSpec {
            token: Some(token.to_string()),
            audiences: None,
        },
        ..Default::default()
    };
    let api: Api<TokenReview> = Api::all(client.clone());
    let answer = api
        .create(&PostParams::default(), &review)
        .await
        .map_err(|e| ApiError::kube("checking the bearer token (TokenReview)", e))?;
    let status = answer.status.unwrap_or_default();
    if status.authenticated != Some(true) {
        return Err(ApiError::Unauthenticated(format!(
            "the API server did not accept the bearer token{}",
            status.error.map(|e| format!(": {e}")).unwrap_or_default()
        )));
    }
    let user = status.user.unwrap_or_default();
    Ok(Caller {
        user: user.username.unwrap_or_default(),
        uid: user.uid,
        groups: user.groups.unwrap_or_default(),
        extra: user.extra.unwrap_or_default(),
    })
}

/// The SubjectAccessReview asking whether `caller` may do `access`.
pub(crate) fn access_review(caller: &Caller, access: &Access) -> SubjectAccessReview {
    SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(caller.user.clone()),
            uid: caller.uid.clone(),
            groups: Some(caller.groups.clone()),
            extra: (!caller.extra.is_empty()).then(|| caller.extra.clone()),
            resource_attributes: Some(ResourceAttributes {
                verb: Some(access.verb.to_string()),
                group: Some(access.group.to_string()),
                resource: Some(access.resource.to_string()),
                namespace: Some(access.namespace.clone()),
                name: access.name.clone(),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// What one caller may do, asked of the API server once per distinct
/// access and remembered for the request (or one live-update push).
pub(crate) struct Permissions {
    client: Client,
    /// Who asks.
    pub(crate) caller: Caller,
    answers: Mutex<HashMap<Access, bool>>,
}

impl Permissions {
    /// Nothing asked yet.
    pub(crate) fn new(client: Client, caller: Caller) -> Self {
        Permissions {
            client,
            caller,
            answers: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the caller may `verb` the object `name` of `resource` in
    /// `namespace`: allowed namespace-wide, or for that name.
    pub(crate) async fn allows(
        &self,
        verb: &'static str,
        (group, resource): (&'static str, &'static str),
        namespace: &str,
        name: &str,
    ) -> Result<bool, ApiError> {
        let mut access = Access {
            verb,
            group,
            resource,
            namespace: namespace.to_string(),
            name: None,
        };
        if self.ask(&access).await? {
            return Ok(true);
        }
        access.name = Some(name.to_string());
        self.ask(&access).await
    }

    async fn ask(&self, access: &Access) -> Result<bool, ApiError> {
        if let Some(known) = self.lock().get(access) {
            return Ok(*known);
        }
        let api: Api<SubjectAccessReview> = Api::all(self.client.clone());
        let answer = api
            .create(&PostParams::default(), &access_review(&self.caller, access))
            .await
            .map_err(|e| ApiError::kube("asking RBAC (SubjectAccessReview)", e))?;
        let allowed = answer.status.is_some_and(|s| s.allowed);
        self.lock().insert(access.clone(), allowed);
        Ok(allowed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Access, bool>> {
        self.answers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        Caller {
            user: "system:serviceaccount:team-a:viewer".into(),
            uid: Some("u-1".into()),
            groups: vec![
                "system:serviceaccounts".into(),
                "system:authenticated".into(),
            ],
            extra: BTreeMap::from([(
                "authentication.kubernetes.io/pod-name".to_string(),
                vec!["web-0".to_string()],
            )]),
        }
    }

    #[test]
    fn access_review_names_user_groups_and_object() {
        let access = Access {
            verb: "get",
            group: "argoproj.io",
            resource: "applications",
            namespace: "team-a".into(),
            name: Some("guestbook".into()),
        };
        let review = access_review(&caller(), &access);
        let spec = review.spec;
        assert_eq!(
            spec.user.as_deref(),
            Some("system:serviceaccount:team-a:viewer")
        );
        assert_eq!(spec.uid.as_deref(), Some("u-1"));
        assert_eq!(spec.groups.as_ref().map(Vec::len), Some(2));
        assert!(
            spec.extra
                .is_some_and(|e| e.contains_key("authentication.kubernetes.io/pod-name"))
        );
        let attrs = spec.resource_attributes.expect("resource attributes");
        assert_eq!(attrs.verb.as_deref(), Some("get"));
        assert_eq!(attrs.group.as_deref(), Some("argoproj.io"));
        assert_eq!(attrs.resource.as_deref(), Some("applications"));
        assert_eq!(attrs.namespace.as_deref(), Some("team-a"));
        assert_eq!(attrs.name.as_deref(), Some("guestbook"));
    }

    #[test]
    fn namespace_wide_access_has_no_name() {
        let access = Access {
            verb: "patch",
            group: "kustomize.toolkit.fluxcd.io",
            resource: "kustomizations",
            namespace: "flux-system".into(),
            name: None,
        };
        let mut who = caller();
        who.extra.clear();
        let spec = access_review(&who, &access).spec;
        assert!(spec.extra.is_none());
        let attrs = spec.resource_attributes.expect("resource attributes");
        assert_eq!(attrs.name, None);
        assert_eq!(attrs.verb.as_deref(), Some("patch"));
    }

    #[test]
    fn bearer_token_is_required() {
        let mut headers = HeaderMap::new();
        assert!(matches!(
            bearer(&headers),
            Err(ApiError::Unauthenticated(_))
        ));
        headers.insert(
            "authorization",
            "Basic dXNlcjpwYXNz".parse().expect("header"),
        );
        assert!(matches!(
            bearer(&headers),
            Err(ApiError::Unauthenticated(_))
        ));
        headers.insert("authorization", "Bearer   ".parse().expect("header"));
        assert!(matches!(
            bearer(&headers),
            Err(ApiError::Unauthenticated(_))
        ));
        headers.insert("authorization", "Bearer abc.def".parse().expect("header"));
        assert_eq!(bearer(&headers).expect("token"), "abc.def");
    }
}
