//! Signature accept/reject for every provider, malformed and oversized payloads.

use http::{HeaderMap, HeaderName, HeaderValue};

use super::*;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

const GITHUB: &str = r#"{
  "ref": "refs/heads/main",
  "before": "1111111111111111111111111111111111111111",
  "after": "2222222222222222222222222222222222222222",
  "repository": {
    "html_url": "https://github.com/org/app",
    "clone_url": "https://github.com/org/app.git",
    "ssh_url": "git@github.com:org/app.git",
    "url": "https://api.github.com/repos/org/app"
  },
  "commits": [
    {"added": ["apps/web/new.yaml"], "modified": ["apps/web/deploy.yaml"], "removed": []},
    {"added": [], "modified": ["apps/web/deploy.yaml"], "removed": ["old.yaml"]}
  ]
}"#;

fn secrets() -> WebhookSecrets {
    WebhookSecrets {
        github: Some("gh-secret".into()),
        gitlab: Some("gl-token".into()),
        gitea: Some("gitea-secret".into()),
        gogs: Some("gogs-secret".into()),
        bitbucket_uuid: Some("{8a1b-uuid}".into()),
        bitbucket: None,
        generic: Some("generic-secret".into()),
        max_payload_bytes: 0,
    }
}

fn push(event: Result<WebhookEvent>) -> PushEvent {
    match event {
        Ok(WebhookEvent::Push(p)) => p,
        other => panic!("expected a push, got {other:?}"),
    }
}

fn unauthorized(event: Result<WebhookEvent>) -> String {
    match event {
        Err(e @ SourceError::WebhookUnauthorized { .. }) => {
            assert_eq!(e.http_status(), 401);
            e.to_string()
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn github_signature_accepted_and_parsed() {
    let sig = format!(
        "sha256={}",
        hmac_sha256_hex(b"gh-secret", GITHUB.as_bytes())
    );
    let h = headers(&[("x-github-event", "push"), ("x-hub-signature-256", &sig)]);
    let p = push(parse(&h, GITHUB.as_bytes(), &secrets()));
    assert_eq!(p.provider, Provider::GitHub);
    assert_eq!(p.branch(), Some("main"));
    assert_eq!(
        p.repo_urls,
        [
            "https://github.com/org/app",
            "https://github.com/org/app.git",
            "git@github.com:org/app.git"
        ]
    );
    assert_eq!(
        p.after.as_deref(),
        Some("2222222222222222222222222222222222222222")
    );
    assert_eq!(
        p.changed_files.unwrap(),
        ["apps/web/deploy.yaml", "apps/web/new.yaml", "old.yaml"]
    );
}

#[test]
fn github_bad_or_missing_signature_rejected() {
    let wrong = format!("sha256={}", hmac_sha256_hex(b"other", GITHUB.as_bytes()));
    let h = headers(&[("x-github-event", "push"), ("x-hub-signature-256", &wrong)]);
    let msg = unauthorized(parse(&h, GITHUB.as_bytes(), &secrets()));
    assert!(!msg.contains("gh-secret"), "{msg}");
    let h = headers(&[("x-github-event", "push")]);
    assert!(unauthorized(parse(&h, GITHUB.as_bytes(), &secrets())).contains("missing"));
    // A signature over another body does not verify this one.
    let tampered = GITHUB.replace("main", "evil");
    let sig = format!(
        "sha256={}",
        hmac_sha256_hex(b"gh-secret", GITHUB.as_bytes())
    );
    let h = headers(&[("x-github-event", "push"), ("x-hub-signature-256", &sig)]);
    unauthorized(parse(&h, tampered.as_bytes(), &secrets()));
    let h = headers(&[
        ("x-github-event", "push"),
        ("x-hub-signature-256", "sha256=zz"),
    ]);
    unauthorized(parse(&h, GITHUB.as_bytes(), &secrets()));
}

#[test]
fn github_without_secret_configured_is_accepted_and_ping_ignored() {
    let h = headers(&[("x-github-event", "push")]);
    push(parse(&h, GITHUB.as_bytes(), &WebhookSecrets::default()));
    let h = headers(&[("x-github-event", "ping")]);
    assert_eq!(
        parse(&h, b"{\"zen\":\"x\"}", &WebhookSecrets::default()).unwrap(),
        WebhookEvent::Ignored {
            provider: Provider::GitHub,
            event: "ping".into()
        }
    );
}

#[test]
fn gitlab_token() {
    let body = r#"{"object_kind":"push","ref":"refs/heads/dev","before":"a","after":"b",
      "project":{"web_url":"https://gitlab.com/g/app","git_http_url":"https://gitlab.com/g/app.git","git_ssh_url":"git@gitlab.com:g/app.git"},
      "commits":[{"added":["x.yaml"],"modified":[],"removed":[]}],"total_commits_count":1}"#;
    let ok = headers(&[
        ("x-gitlab-event", "Push Hook"),
        ("x-gitlab-token", "gl-token"),
    ]);
    let p = push(parse(&ok, body.as_bytes(), &secrets()));
    assert_eq!(p.provider, Provider::GitLab);
    assert_eq!(p.branch(), Some("dev"));
    assert_eq!(p.repo_urls.len(), 3);
    assert_eq!(p.changed_files.unwrap(), ["x.yaml"]);
    let bad = headers(&[("x-gitlab-event", "Push Hook"), ("x-gitlab-token", "nope")]);
    let msg = unauthorized(parse(&bad, body.as_bytes(), &secrets()));
    assert!(!msg.contains("gl-token"));
    let missing = headers(&[("x-gitlab-event", "Push Hook")]);
    unauthorized(parse(&missing, body.as_bytes(), &secrets()));
    // More commits than listed: changed files unknown.
    let truncated = body.replace("\"total_commits_count\":1", "\"total_commits_count\":40");
    let p = push(parse(&ok, truncated.as_bytes(), &secrets()));
    assert_eq!(p.changed_files, None);
}

#[test]
fn gitea_and_gogs_signatures() {
    let body = GITHUB.as_bytes();
    let sig = hmac_sha256_hex(b"gitea-secret", body);
    // Gitea also sends GitHub's and Gogs' headers; it must be detected as Gitea.
    let h = headers(&[
        ("x-gitea-event", "push"),
        ("x-github-event", "push"),
        ("x-gogs-event", "push"),
        ("x-gitea-signature", &sig),
    ]);
    let p = push(parse(&h, body, &secrets()));
    assert_eq!(p.provider, Provider::Gitea);
    let h = headers(&[("x-gitea-event", "push"), ("x-gitea-signature", "00ff")]);
    unauthorized(parse(&h, body, &secrets()));

    let sig = hmac_sha256_hex(b"gogs-secret", body);
    let h = headers(&[("x-gogs-event", "push"), ("x-gogs-signature", &sig)]);
    assert_eq!(push(parse(&h, body, &secrets())).provider, Provider::Gogs);
    let sig = hmac_sha256_hex(b"gitea-secret", body);
    let h = headers(&[("x-gogs-event", "push"), ("x-gogs-signature", &sig)]);
    unauthorized(parse(&h, body, &secrets()));
}

#[test]
fn bitbucket_uuid_and_signature() {
    let body = r#"{"repository":{"full_name":"team/app","links":{"html":{"href":"https://bitbucket.org/team/app"}}},
      "push":{"changes":[{"new":{"type":"branch","name":"main","target":{"hash":"bbb"}},"old":{"type":"branch","name":"main","target":{"hash":"aaa"}}}]}}"#;
    let ok = headers(&[("x-event-key", "repo:push"), ("x-hook-uuid", "{8a1b-uuid}")]);
    let p = push(parse(&ok, body.as_bytes(), &secrets()));
    assert_eq!(p.provider, Provider::Bitbucket);
    assert_eq!(p.git_ref, "refs/heads/main");
    assert_eq!(
        (p.before.as_deref(), p.after.as_deref()),
        (Some("aaa"), Some("bbb"))
    );
    assert!(
        p.repo_urls
            .contains(&"https://bitbucket.org/team/app.git".to_string())
    );
    let bad = headers(&[("x-event-key", "repo:push"), ("x-hook-uuid", "{other}")]);
    unauthorized(parse(&bad, body.as_bytes(), &secrets()));

    let with_secret = WebhookSecrets {
        bitbucket: Some("bb-secret".into()),
        ..Default::default()
    };
    let sig = format!("sha256={}", hmac_sha256_hex(b"bb-secret", body.as_bytes()));
    let h = headers(&[("x-event-key", "repo:push"), ("x-hub-signature", &sig)]);
    push(parse(&h, body.as_bytes(), &with_secret));
    let h = headers(&[
        ("x-event-key", "repo:push"),
        ("x-hub-signature", "sha256=00"),
    ]);
    unauthorized(parse(&h, body.as_bytes(), &with_secret));
}

#[test]
fn generic_form() {
    let body = br#"{"repository":"https://git.example.com/org/app.git","ref":"main","after":"abc","changedFiles":["a/b.yaml"]}"#;
    let sig = format!("sha256={}", hmac_sha256_hex(b"generic-secret", body));
    let h = headers(&[
        ("x-driftless-signature-256", &sig),
        ("content-type", "application/json"),
    ]);
    let p = push(parse(&h, body, &secrets()));
    assert_eq!(p.provider, Provider::Generic);
    assert_eq!(p.git_ref, "refs/heads/main");
    assert_eq!(p.changed_files.unwrap(), ["a/b.yaml"]);
    unauthorized(parse(&HeaderMap::new(), body, &secrets()));
}

#[test]
fn malformed_and_oversized_payloads_are_typed_errors() {
    let h = headers(&[("x-github-event", "push")]);
    let none = WebhookSecrets::default();
    for body in [
        &b"not json"[..],
        b"{}",
        b"{\"ref\":\"refs/heads/x\"}",
        b"[1,2]",
    ] {
        match parse(&h, body, &none) {
            Err(e @ SourceError::WebhookMalformed { .. }) => assert_eq!(e.http_status(), 400),
            other => panic!("{other:?}"),
        }
    }
    let small = WebhookSecrets {
        max_payload_bytes: 16,
        ..Default::default()
    };
    match parse(&h, GITHUB.as_bytes(), &small) {
        Err(e @ SourceError::WebhookTooLarge { .. }) => assert_eq!(e.http_status(), 413),
        other => panic!("{other:?}"),
    }
    let h = headers(&[("x-event-key", "repo:push")]);
    assert!(matches!(
        parse(&h, b"{\"repository\":{\"full_name\":\"a/b\"}}", &none),
        Err(SourceError::WebhookMalformed { .. })
    ));
    assert!(!format!("{:?}", secrets()).contains("gh-secret"));
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A small deterministic generator: garbage, truncated and mutated payloads.
    let mut state: u64 = 0x9e3779b97f4a7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let samples = [
        GITHUB.as_bytes(),
        br#"{"object_kind":"push"}"#,
        b"{\"push\":{}}",
    ];
    let header_sets = [
        headers(&[("x-github-event", "push")]),
        headers(&[("x-gitlab-event", "Push Hook")]),
        headers(&[("x-gitea-event", "push")]),
        headers(&[("x-event-key", "repo:push")]),
        HeaderMap::new(),
    ];
    for round in 0..2000 {
        let base = samples[round % samples.len()];
        let mut body = base[..(next() as usize % (base.len() + 1))].to_vec();
        for _ in 0..(next() % 4) {
            if !body.is_empty() {
                let i = next() as usize % body.len();
                body[i] = next() as u8;
            }
        }
        let h = &header_sets[round % header_sets.len()];
        if let Err(e) = parse(h, &body, &WebhookSecrets::default()) {
            assert!((400..500).contains(&e.http_status()), "{e}");
        }
    }
}
