//! Reading a chart repository without helm: the index and the archive over
//! HTTP from a real repository on 127.0.0.1, and what goes wrong (a digest
//! that does not match, a corrupt archive, an unreachable repository, an
//! archive on another host with and without `passCredentials`).

mod common;

use common::{config_data, renderer, web_chart};
use driftless_helm::{ChartSource, Credentials, FetchError, HelmError, RepoChart, TemplateOptions};
use driftless_testkit::helm::{ChartRepo, package};

/// A repository serving `web` 1.0.0 (digest in the index, as `helm repo
/// index` writes it).
fn repo_with_web(auth: Option<(&str, &str)>) -> (ChartRepo, tempfile::TempDir) {
    let repo = ChartRepo::start(auth);
    let work = tempfile::tempdir().unwrap();
    let chart = web_chart(&work.path().join("src"), "1.0.0");
    repo.add(&package(&chart, &work.path().join("packages")));
    (repo, work)
}

fn render(work: &std::path::Path, spec: RepoChart) -> Result<driftless_helm::Rendered, HelmError> {
    renderer(work).render(&ChartSource::Repository(spec), &TemplateOptions::new("web"))
}

#[test]
fn a_digest_mismatch_is_refused_naming_the_archive() {
    let (repo, work) = repo_with_web(None);
    let index_file = repo.dir().join("index.yaml");
    let index = std::fs::read_to_string(&index_file).unwrap();
    let (before, after) = index.split_once("digest: ").expect("helm writes a digest");
    let digest = &after[..64];
    let tampered = format!("{before}digest: {}{}", "0".repeat(64), &after[64..]);
    std::fs::write(&index_file, tampered).unwrap();

    let error = render(work.path(), RepoChart::new(repo.url(), "web", "1.0.0")).unwrap_err();
    assert!(
        matches!(error.fetch_error(), Some(FetchError::Digest { .. })),
        "{error}"
    );
    let text = error.to_string();
    assert!(text.contains("chart web version 1.0.0"), "{text}");
    assert!(
        text.contains("web-1.0.0.tgz") && text.contains(digest),
        "{text}"
    );

    // With the right digest back, the same renderer fetches and renders.
    std::fs::write(&index_file, index).unwrap();
    let rendered = render(work.path(), RepoChart::new(repo.url(), "web", "1.0.0")).unwrap();
    assert_eq!(config_data(&rendered.objects)["chart"], "1.0.0");
}

#[test]
fn a_corrupt_archive_is_refused_naming_it() {
    let repo = ChartRepo::start(None);
    let work = tempfile::tempdir().unwrap();
    let chart = web_chart(&work.path().join("src"), "1.0.0");
    let archive = package(&chart, &work.path().join("packages"));
    let bytes = std::fs::read(&archive).unwrap();
    std::fs::write(&archive, &bytes[..bytes.len() / 2]).unwrap();
    repo.serve_unchecked(&archive, "web", "1.0.0");

    let error = render(work.path(), RepoChart::new(repo.url(), "web", "1.0.0")).unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error.fetch_error(), Some(FetchError::Archive { .. })),
        "{text}"
    );
    assert!(text.contains("chart web version 1.0.0"), "{text}");
    assert!(text.contains("web-1.0.0.tgz"), "{text}");
    let charts = work.path().join("helm-work/charts");
    assert!(
        !charts.exists() || walk_files(&charts) == 0,
        "nothing half-unpacked was kept in the chart cache"
    );
}

#[test]
fn an_unreachable_repository_is_named() {
    let url = {
        let repo = ChartRepo::start(None);
        repo.url().to_string()
    };
    let work = tempfile::tempdir().unwrap();
    let error = render(work.path(), RepoChart::new(&url, "web", "^1")).unwrap_err();
    assert!(
        matches!(error.fetch_error(), Some(FetchError::Unreachable { .. })),
        "{error}"
    );
    let text = error.to_string();
    assert!(text.contains("chart web version ^1"), "{text}");
    assert!(text.contains(&format!("{url}/index.yaml")), "{text}");
}

#[test]
fn credentials_reach_another_host_only_with_pass_credentials() {
    let credentials = ("reader", "correct-horse");
    let (charts, work) = repo_with_web(Some(credentials));
    // The index lives on another origin and points at the archive on
    // `charts` by absolute URL; both need the same credentials.
    let index_host = ChartRepo::start(Some(credentials));
    let index = std::fs::read_to_string(charts.dir().join("index.yaml")).unwrap();
    let absolute = index.replace(
        "- web-1.0.0.tgz",
        &format!("- {}/web-1.0.0.tgz", charts.url()),
    );
    assert_ne!(absolute, index, "the index names the archive relatively");
    std::fs::write(index_host.dir().join("index.yaml"), absolute).unwrap();

    let mut spec = RepoChart::new(index_host.url(), "web", "1.0.0");
    spec.credentials = Some(Credentials::new(credentials.0, credentials.1));
    let error = render(work.path(), spec.clone()).unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(
            error.fetch_error(),
            Some(FetchError::Status { status: 401, .. })
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}/web-1.0.0.tgz", charts.url())),
        "{text}"
    );
    assert!(!text.contains("correct-horse"), "{text}");

    spec.pass_credentials = true;
    let rendered = render(work.path(), spec).unwrap();
    assert_eq!(rendered.version, "1.0.0");
    assert_eq!(config_data(&rendered.objects)["greeting"], "hello");
}

#[test]
fn an_archive_larger_than_the_download_limit_is_refused() {
    let repo = ChartRepo::start(None);
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("web-1.0.0.tgz");
    // 40 MiB: more than any chart archive may be (32 MiB), refused while
    // it is being read, before anything is unpacked.
    std::fs::write(&archive, vec![0x1f; 40 << 20]).unwrap();
    repo.serve_unchecked(&archive, "web", "1.0.0");
    let error = render(work.path(), RepoChart::new(repo.url(), "web", "1.0.0")).unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error.fetch_error(), Some(FetchError::TooLarge { .. })),
        "{text}"
    );
    assert!(text.contains("chart web version 1.0.0"), "{text}");
    assert!(text.contains("web-1.0.0.tgz"), "{text}");
}

/// A helm that logs each command's first argument to `log`, then runs the
/// pinned helm.
fn counting_helm(dir: &std::path::Path, log: &std::path::Path) -> std::path::PathBuf {
    let shim = dir.join("counting-helm");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\necho \"$1\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            driftless_testkit::helm::binaries().helm.display()
        ),
    )
    .unwrap();
    let mut permissions = std::fs::metadata(&shim).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&shim, permissions).unwrap();
    shim
}

#[test]
fn a_cold_render_runs_helm_once_from_a_repository_and_a_registry() {
    use driftless_helm::{Helm, OciChart, Renderer};
    use driftless_testkit::helm::{OciRegistry, push};
    let (repo, work) = repo_with_web(None);
    let registry = OciRegistry::start(false);
    let chart = web_chart(&work.path().join("oci-src"), "2.0.0");
    push(
        &package(&chart, &work.path().join("oci-packages")),
        &registry.url("charts"),
        None,
    );
    let log = work.path().join("helm-commands.log");
    let renderer = Renderer::new(
        Helm::new(counting_helm(work.path(), &log)),
        work.path().join("counted"),
    );
    let options = TemplateOptions::new("web");
    let from_repo = ChartSource::Repository(RepoChart::new(repo.url(), "web", "^1"));
    let rendered = renderer.render(&from_repo, &options).unwrap();
    assert_eq!(rendered.version, "1.0.0");
    let mut oci = OciChart::new(registry.url("charts"), "web", "^2");
    oci.plain_http = true;
    let rendered = renderer.render(&ChartSource::Oci(oci), &options).unwrap();
    assert_eq!(config_data(&rendered.objects)["chart"], "2.0.0");
    let commands = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        commands.lines().collect::<Vec<_>>(),
        ["template", "template"],
        "one helm process per cold render"
    );
}

fn walk_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() { walk_files(&path) } else { 1 }
                })
                .sum()
        })
        .unwrap_or(0)
}
