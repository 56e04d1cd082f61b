//! Charts from a real chart repository on 127.0.0.1 (index.yaml and .tgz
//! over HTTP, made with the pinned helm), rendered by the sandboxed helm.

mod common;

use std::ffi::OsStr;

use common::{config_data, helm_template, kinds_and_names, renderer, web_chart};
use driftless_helm::{
    ChartSource, Credentials, FetchError, FileRef, HelmError, Parameter, RepoChart, TemplateOptions,
};
use driftless_render::DiskTree;
use driftless_testkit::helm::{ChartRepo, package};

/// A repository serving `web` 1.0.0, 1.2.0 and 2.0.0.
fn repo_with_web(auth: Option<(&str, &str)>) -> (ChartRepo, tempfile::TempDir) {
    let repo = ChartRepo::start(auth);
    let work = tempfile::tempdir().unwrap();
    for version in ["1.0.0", "1.2.0", "2.0.0"] {
        let src = work.path().join(format!("src-{version}"));
        let chart = web_chart(&src, version);
        repo.add(&package(&chart, &work.path().join("packages")));
    }
    (repo, work)
}

#[test]
fn a_semver_range_picks_the_highest_match_and_renders_like_helm_template() {
    let (repo, work) = repo_with_web(None);
    let renderer = renderer(work.path());
    let chart = ChartSource::Repository(RepoChart::new(repo.url(), "web", "^1.0"));
    let extra = tempfile::tempdir().unwrap();
    std::fs::write(extra.path().join("config.txt"), "from a file").unwrap();
    std::fs::write(extra.path().join("env.yaml"), "port: 8080\n").unwrap();
    let other_tree = DiskTree::new(extra.path()).unwrap();
    let mut options = TemplateOptions::new("shop");
    options.namespace = Some("prod".into());
    options.value_files = vec![
        FileRef::Chart("values-prod.yaml".into()),
        FileRef::Tree {
            tree: &other_tree,
            path: "env.yaml".into(),
            label: "$values/env.yaml".into(),
        },
    ];
    options.values = Some("greeting: inline\n".into());
    options.parameters = vec![Parameter {
        force_string: true,
        ..Parameter::new("port", "9090")
    }];
    options.file_parameters = vec![(
        "config".into(),
        FileRef::Tree {
            tree: &other_tree,
            path: "config.txt".into(),
            label: "$values/config.txt".into(),
        },
    )];
    options.kube_version = Some("1.33.0".into());
    options.api_versions = vec!["monitoring.coreos.com/v1".into()];

    let rendered = renderer.render(&chart, &options).unwrap();
    assert_eq!(rendered.version, "1.2.0");
    assert!(!rendered.cached);

    // The oracle: helm template on the same chart with the same inputs.
    let src = work.path().join("src-1.2.0/web");
    let inline = extra.path().join("inline.yaml");
    std::fs::write(&inline, "greeting: inline\n").unwrap();
    let config = format!("config={}", extra.path().join("config.txt").display());
    let expected = helm_template(&[
        OsStr::new("shop"),
        src.as_os_str(),
        OsStr::new("--namespace"),
        OsStr::new("prod"),
        OsStr::new("--kube-version"),
        OsStr::new("1.33.0"),
        OsStr::new("--api-versions"),
        OsStr::new("monitoring.coreos.com/v1"),
        OsStr::new("--values"),
        src.join("values-prod.yaml").as_os_str(),
        OsStr::new("--values"),
        extra.path().join("env.yaml").as_os_str(),
        OsStr::new("--values"),
        inline.as_os_str(),
        OsStr::new("--set-string"),
        OsStr::new("port=9090"),
        OsStr::new("--set-file"),
        OsStr::new(&config),
        OsStr::new("--include-crds"),
    ]);
    assert_eq!(*rendered.objects, expected);
    // And the inputs really reached the templates.
    let data = config_data(&rendered.objects);
    assert_eq!(data["greeting"], "inline");
    assert_eq!(data["port"], "9090");
    assert_eq!(
        data["portType"], "string",
        "forceString keeps 9090 a string"
    );
    assert_eq!(data["config"], "from a file");
    assert_eq!(data["chart"], "1.2.0");
    assert_eq!(data["kube"], "v1.33.0");
    assert_eq!(data["monitoring"], "true");
    assert_eq!(
        kinds_and_names(&rendered.objects),
        [
            (
                "CustomResourceDefinition".into(),
                "widgets.example.com".into()
            ),
            ("ConfigMap".into(), "shop-config".into()),
            ("Service".into(), "shop".into()),
        ]
    );
}

#[test]
fn an_unchanged_render_is_served_from_the_cache_without_a_request() {
    let (repo, work) = repo_with_web(None);
    let renderer = renderer(work.path());
    let chart = ChartSource::Repository(RepoChart::new(repo.url(), "web", "1.0.0"));
    let mut options = TemplateOptions::new("web");
    options.skip_crds = true;
    let first = renderer.render(&chart, &options).unwrap();
    assert!(!first.cached);
    assert_eq!(
        kinds_and_names(&first.objects),
        [
            ("ConfigMap".into(), "web-config".into()),
            ("Service".into(), "web".into())
        ],
        "skipCrds leaves the CRD out"
    );
    let requests = repo.requests();
    assert!(requests > 0, "the first render fetched from the repository");

    let second = renderer.render(&chart, &options).unwrap();
    assert!(second.cached);
    assert_eq!(second.objects, first.objects);
    assert_eq!(repo.requests(), requests, "a cache hit fetches nothing");

    // A changed input is a new render (the chart itself stays cached on disk).
    options
        .parameters
        .push(Parameter::new("greeting", "changed"));
    let third = renderer.render(&chart, &options).unwrap();
    assert!(!third.cached);
    assert_eq!(config_data(&third.objects)["greeting"], "changed");
    assert_eq!(repo.requests(), requests, "the unpacked chart was reused");
}

#[test]
fn basic_auth_needs_the_right_password_and_never_shows_it() {
    let (repo, work) = repo_with_web(Some(("reader", "correct-horse")));
    let renderer = renderer(work.path());
    let options = TemplateOptions::new("web");

    let mut spec = RepoChart::new(repo.url(), "web", "^1");
    let error = renderer
        .render(&ChartSource::Repository(spec.clone()), &options)
        .unwrap_err();
    assert!(
        matches!(
            error.fetch_error(),
            Some(FetchError::Status { status: 401, .. })
        ),
        "{error}"
    );
    let text = error.to_string();
    assert!(
        text.contains("chart web") && text.contains(repo.url()),
        "{text}"
    );
    assert!(text.contains("401"), "names the refusal: {text}");

    spec.credentials = Some(Credentials::new("reader", "wrong-battery"));
    let error = renderer
        .render(&ChartSource::Repository(spec.clone()), &options)
        .unwrap_err()
        .to_string();
    assert!(error.contains("401"), "{error}");
    assert!(
        !error.contains("wrong-battery"),
        "the password leaked: {error}"
    );

    spec.credentials = Some(Credentials::new("reader", "correct-horse"));
    let rendered = renderer
        .render(&ChartSource::Repository(spec.clone()), &options)
        .unwrap();
    assert_eq!(rendered.version, "1.2.0");
    assert_eq!(config_data(&rendered.objects)["greeting"], "hello");

    // What the right password fetched and rendered is not served to a
    // render with a wrong password or none, from either cache.
    spec.credentials = Some(Credentials::new("reader", "wrong-battery"));
    spec.version = "1.2.0".into();
    let error = renderer
        .render(&ChartSource::Repository(spec.clone()), &options)
        .unwrap_err();
    assert!(error.to_string().contains("401"), "{error}");
    spec.credentials = None;
    let error = renderer
        .render(&ChartSource::Repository(spec), &options)
        .unwrap_err();
    assert!(error.to_string().contains("401"), "{error}");

    // Each private Helm home (with the credentials written into it) is gone.
    let homes = std::fs::read_dir(work.path().join("helm-work/tmp"))
        .unwrap()
        .count();
    assert_eq!(homes, 0, "a sandbox was left behind");
}

#[test]
fn a_missing_version_names_chart_repository_and_the_versions_there() {
    let (repo, work) = repo_with_web(None);
    let renderer = renderer(work.path());
    let options = TemplateOptions::new("web");
    for wanted in ["1.1.0", "^3.0"] {
        let chart = ChartSource::Repository(RepoChart::new(repo.url(), "web", wanted));
        let error = renderer.render(&chart, &options).unwrap_err();
        assert!(matches!(error, HelmError::NoSuchVersion { .. }), "{error}");
        let text = error.to_string();
        assert!(
            text.contains(&format!("chart web in {}", repo.url())),
            "{text}"
        );
        assert!(
            text.contains(&format!("no version matches {wanted}")),
            "{text}"
        );
        assert!(text.contains("available: 2.0.0, 1.2.0, 1.0.0"), "{text}");
    }
    let missing = ChartSource::Repository(RepoChart::new(repo.url(), "nope", "1.0.0"));
    let text = renderer.render(&missing, &options).unwrap_err().to_string();
    assert!(
        text.contains("chart nope") && text.contains("available: none"),
        "{text}"
    );
}

#[test]
fn a_missing_value_file_fails_or_is_skipped_when_asked() {
    let (repo, work) = repo_with_web(None);
    let renderer = renderer(work.path());
    let chart = ChartSource::Repository(RepoChart::new(repo.url(), "web", "2.0.0"));
    let mut options = TemplateOptions::new("web");
    options.value_files = vec![FileRef::Chart("values-missing.yaml".into())];
    let error = renderer.render(&chart, &options).unwrap_err().to_string();
    assert!(
        error.contains("chart web") && error.contains("values-missing.yaml"),
        "{error}"
    );

    options.ignore_missing_value_files = true;
    let rendered = renderer.render(&chart, &options).unwrap();
    assert_eq!(rendered.skipped_value_files, ["values-missing.yaml"]);
    assert_eq!(config_data(&rendered.objects)["greeting"], "hello");
}

#[test]
fn value_files_cannot_leave_the_chart() {
    let (repo, work) = repo_with_web(None);
    let renderer = renderer(work.path());
    let chart = ChartSource::Repository(RepoChart::new(repo.url(), "web", "2.0.0"));
    for escaping in [
        "../../../../../../etc/passwd",
        "/etc/passwd",
        "https://evil.example/v.yaml",
    ] {
        let mut options = TemplateOptions::new("web");
        options.value_files = vec![FileRef::Chart(escaping.into())];
        let error = renderer.render(&chart, &options).unwrap_err().to_string();
        assert!(error.contains("chart web"), "{error}");
        assert!(
            error.contains("outside the repository root")
                || error.contains("URLs are not supported"),
            "{escaping}: {error}"
        );
    }
}

#[test]
fn a_template_error_names_chart_version_and_file() {
    let repo = ChartRepo::start(None);
    let work = tempfile::tempdir().unwrap();
    let templates = &[("bad.yaml", "kind: {{ .Values.missing.deeper }}\n")];
    let broken = driftless_testkit::helm::ChartSpec::new("broken", "0.1.0", "", templates);
    repo.add(&broken.package(&work.path().join("packages")));
    let renderer = renderer(work.path());
    let source = ChartSource::Repository(RepoChart::new(repo.url(), "broken", "0.1.0"));
    let error = renderer
        .render(&source, &TemplateOptions::new("r"))
        .unwrap_err();
    assert!(
        matches!(
            error,
            HelmError::Helm {
                step: "template",
                ..
            }
        ),
        "{error}"
    );
    let text = error.to_string();
    assert!(text.contains("chart broken version 0.1.0"), "{text}");
    assert!(text.contains("templates/bad.yaml"), "{text}");
}

#[test]
fn schema_validation_runs_unless_skipped() {
    let repo = ChartRepo::start(None);
    let work = tempfile::tempdir().unwrap();
    let chart = web_chart(work.path(), "3.0.0");
    std::fs::write(
        chart.join("values.schema.json"),
        r#"{"type":"object","properties":{"port":{"type":"integer"}}}"#,
    )
    .unwrap();
    repo.add(&package(&chart, &work.path().join("packages")));
    let renderer = renderer(work.path());
    let source = ChartSource::Repository(RepoChart::new(repo.url(), "web", "3.0.0"));
    let mut options = TemplateOptions::new("web");
    options.parameters = vec![Parameter {
        force_string: true,
        ..Parameter::new("port", "eighty")
    }];
    let error = renderer.render(&source, &options).unwrap_err();
    assert!(
        matches!(
            error,
            HelmError::Helm {
                step: "template",
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("schema"), "{error}");

    options.skip_schema_validation = true;
    let rendered = renderer.render(&source, &options).unwrap();
    assert_eq!(config_data(&rendered.objects)["port"], "eighty");
}

const BAD_CHART: &[u8] = b"apiVersion: v2\nname: bad\nversion: 1.0.0\n";
const BAD_TEMPLATE: &[u8] = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n";

#[test]
fn an_archive_with_entries_leaving_the_chart_is_refused_and_writes_nothing_outside() {
    let repo = ChartRepo::start(None);
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("bad-1.0.0.tgz");
    // From helm's untar directory, six `..` lead to the test's directory.
    let escaping = format!("bad/{}escaped.txt", "../".repeat(6));
    driftless_testkit::helm::write_raw_archive(
        &archive,
        &[
            ("bad/Chart.yaml", BAD_CHART),
            ("bad/templates/cm.yaml", BAD_TEMPLATE),
            (&escaping, b"written outside"),
        ],
    );
    repo.serve_unchecked(&archive, "bad", "1.0.0");
    let renderer = renderer(work.path());
    let source = ChartSource::Repository(RepoChart::new(repo.url(), "bad", "1.0.0"));
    let error = renderer
        .render(&source, &TemplateOptions::new("bad"))
        .unwrap_err();
    assert!(
        matches!(error.fetch_error(), Some(FetchError::Archive { .. })),
        "{error}"
    );
    let text = error.to_string();
    assert!(text.contains("chart bad version 1.0.0"), "{text}");
    assert!(
        text.contains(&escaping) && text.contains("the path leaves the chart"),
        "{text}"
    );
    assert!(
        !work.path().join("escaped.txt").exists(),
        "an entry was written outside"
    );
}

#[test]
fn a_chart_bomb_is_refused_with_the_file_named() {
    let repo = ChartRepo::start(None);
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("bad-1.0.0.tgz");
    // 6 MiB of zeros: a few KiB compressed, more than helm unpacks per file.
    let bomb = vec![0u8; 6 << 20];
    driftless_testkit::helm::write_raw_archive(
        &archive,
        &[
            ("bad/Chart.yaml", BAD_CHART),
            ("bad/templates/cm.yaml", BAD_TEMPLATE),
            ("bad/files/bomb.bin", &bomb),
        ],
    );
    assert!(std::fs::metadata(&archive).unwrap().len() < 64 << 10);
    repo.serve_unchecked(&archive, "bad", "1.0.0");
    let renderer = renderer(work.path());
    let source = ChartSource::Repository(RepoChart::new(repo.url(), "bad", "1.0.0"));
    let text = renderer
        .render(&source, &TemplateOptions::new("bad"))
        .unwrap_err()
        .to_string();
    assert!(text.contains("chart bad version 1.0.0"), "{text}");
    assert!(text.contains("bad/files/bomb.bin"), "{text}");
    assert!(text.contains("larger than the maximum file size"), "{text}");
}

#[test]
fn concurrent_renders_of_one_chart_share_the_cache_safely() {
    let (repo, work) = repo_with_web(None);
    let renderer = renderer(work.path());
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let renderer = &renderer;
                let url = repo.url().to_string();
                scope.spawn(move || {
                    let chart = ChartSource::Repository(RepoChart::new(url, "web", "2.0.0"));
                    let mut options = TemplateOptions::new("web");
                    options.parameters = vec![Parameter::new("greeting", format!("hi-{i}"))];
                    renderer.render(&chart, &options)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, result) in results.into_iter().enumerate() {
        let rendered = result.unwrap();
        assert_eq!(rendered.version, "2.0.0");
        assert_eq!(
            config_data(&rendered.objects)["greeting"],
            format!("hi-{i}")
        );
    }
}
