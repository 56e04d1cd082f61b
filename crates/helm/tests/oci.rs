//! Charts from a real OCI registry on 127.0.0.1 (distribution, pushed with
//! the pinned helm), with and without auth.

mod common;

use common::{config_data, renderer, web_chart};
use driftless_helm::{ChartSource, Credentials, FetchError, OciChart, TemplateOptions};
use driftless_testkit::helm::{OciRegistry, REGISTRY_PASSWORD, REGISTRY_USER, package, push};

#[test]
fn a_chart_from_a_registry_with_auth_renders_and_is_cached() {
    let registry = OciRegistry::start(true);
    let work = tempfile::tempdir().unwrap();
    for version in ["0.1.0", "0.2.0"] {
        let chart = web_chart(&work.path().join(version), version);
        let archive = package(&chart, &work.path().join("packages"));
        push(
            &archive,
            &registry.url("charts"),
            Some((REGISTRY_USER, REGISTRY_PASSWORD)),
        );
    }
    let renderer = renderer(work.path());
    let mut spec = OciChart::new(registry.url("charts"), "web", "0.2.0");
    spec.plain_http = true;
    let options = TemplateOptions::new("oci-web");

    let error = renderer
        .render(&ChartSource::Oci(spec.clone()), &options)
        .unwrap_err();
    assert!(
        matches!(
            error.fetch_error(),
            Some(FetchError::Status { status: 401, .. })
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains("chart web version 0.2.0"),
        "{error}"
    );

    spec.credentials = Some(Credentials::new(REGISTRY_USER, "not-the-password"));
    let error = renderer
        .render(&ChartSource::Oci(spec.clone()), &options)
        .unwrap_err()
        .to_string();
    assert!(
        !error.contains("not-the-password"),
        "the password leaked: {error}"
    );
    assert!(error.contains("401"), "{error}");

    spec.credentials = Some(Credentials::new(REGISTRY_USER, REGISTRY_PASSWORD));
    let rendered = renderer
        .render(&ChartSource::Oci(spec.clone()), &options)
        .unwrap();
    assert_eq!(rendered.version, "0.2.0");
    assert!(!rendered.cached);
    let data = config_data(&rendered.objects);
    assert_eq!(data["chart"], "0.2.0");
    assert_eq!(data["greeting"], "hello");

    let again = renderer
        .render(&ChartSource::Oci(spec.clone()), &options)
        .unwrap();
    assert!(again.cached);

    spec.version = "0.1.0".into();
    let older = renderer
        .render(&ChartSource::Oci(spec.clone()), &options)
        .unwrap();
    assert_eq!(config_data(&older.objects)["chart"], "0.1.0");

    // A range is resolved from the registry's tags.
    spec.version = ">=0.1.0 <1.0.0".into();
    let ranged = renderer.render(&ChartSource::Oci(spec), &options).unwrap();
    assert_eq!(ranged.version, "0.2.0");
    assert_eq!(config_data(&ranged.objects)["chart"], "0.2.0");
}

#[test]
fn a_missing_tag_names_the_reference() {
    let registry = OciRegistry::start(false);
    let work = tempfile::tempdir().unwrap();
    let chart = web_chart(work.path(), "1.0.0");
    push(
        &package(&chart, &work.path().join("p")),
        &registry.url("charts"),
        None,
    );
    let renderer = renderer(work.path());
    let mut spec = OciChart::new(registry.url("charts"), "web", "9.9.9");
    spec.plain_http = true;
    let error = renderer
        .render(&ChartSource::Oci(spec), &TemplateOptions::new("web"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("chart web version 9.9.9"), "{error}");
    assert!(error.contains(&registry.url("charts/web")), "{error}");
}
