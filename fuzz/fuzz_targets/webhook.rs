//! The webhook parsers: the first byte picks a provider's headers (and
//! whether a secret is configured), the rest is the body.
#![no_main]

use driftless_source::webhook::{WebhookSecrets, parse};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

const PROVIDERS: [(&str, &str); 6] = [
    ("x-github-event", "push"),
    ("x-gitlab-event", "Push Hook"),
    ("x-gitea-event", "push"),
    ("x-gogs-event", "push"),
    ("x-event-key", "repo:push"),
    ("x-driftless-generic", "push"),
];

fuzz_target!(|data: &[u8]| {
    let Some((first, body)) = data.split_first() else {
        return;
    };
    let (name, value) = PROVIDERS[usize::from(*first) % PROVIDERS.len()];
    let mut headers = HeaderMap::new();
    headers.insert(name, HeaderValue::from_static(value));
    let _ = parse(&headers, body, &WebhookSecrets::default());
    if first & 0x80 != 0 {
        let secrets = WebhookSecrets {
            github: Some("s".into()),
            gitlab: Some("s".into()),
            gitea: Some("s".into()),
            gogs: Some("s".into()),
            bitbucket: Some("s".into()),
            generic: Some("s".into()),
            ..WebhookSecrets::default()
        };
        headers.insert("x-hub-signature-256", HeaderValue::from_static("sha256=00"));
        assert!(
            parse(&headers, body, &secrets).is_err(),
            "accepted a wrong signature"
        );
    }
});
