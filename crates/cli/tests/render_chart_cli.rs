//! `driftless render` of a Helm chart directory, as a user runs it: the
//! built binary with the pinned helm, compared with `helm template` run
//! directly on the same chart with the same inputs.

use std::ffi::OsStr;
use std::process::{Command, Output};

use driftless_render::Object;
use driftless_testkit::helm::{ChartRepo, ChartSpec, binaries, run_helm, write_chart};

const TEMPLATE: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  \
    name: {{ .Release.Name }}-config\n  namespace: {{ .Release.Namespace }}\ndata:\n  \
    greeting: {{ .Values.greeting | quote }}\n  port: {{ .Values.port | quote }}\n  \
    portType: {{ kindOf .Values.port | quote }}\n  tags: {{ toJson .Values.tags | quote }}\n";

fn driftless_render(args: &[&OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_driftless"))
        .arg("render")
        .args(args)
        .arg("--helm")
        .arg(binaries().helm)
        .output()
        .expect("running driftless render")
}

fn parse(text: &str, what: &str) -> Vec<Object> {
    driftless_render::yaml::parse_documents(text, what)
        .expect("parsing the output")
        .into_iter()
        .map(|v| Object::from_value(v).expect("an object"))
        .collect()
}

fn rendered(out: &Output) -> Vec<Object> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "driftless render failed: {stderr}");
    parse(&String::from_utf8_lossy(&out.stdout), "driftless render")
}

#[test]
fn a_chart_renders_as_helm_template_does() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let chart = write_chart(
        dir.path(),
        "web",
        "1.2.0",
        "greeting: hello\nport: 80\ntags: []\n",
        &[("configmap.yaml", TEMPLATE)],
    );
    let values = dir.path().join("prod.yaml");
    std::fs::write(&values, "greeting: hello-prod\n").expect("writing values");
    let inputs: Vec<&OsStr> = vec![
        OsStr::new("--values"),
        values.as_os_str(),
        OsStr::new("--set"),
        OsStr::new("port=8443,tags={a,b}"),
        OsStr::new("--set-string"),
        OsStr::new("greeting=42"),
        OsStr::new("--namespace"),
        OsStr::new("prod"),
    ];
    let mut ours: Vec<&OsStr> = vec![chart.as_os_str(), OsStr::new("--release-name")];
    ours.push(OsStr::new("shop"));
    ours.extend(&inputs);
    let got = rendered(&driftless_render(&ours));

    let home = tempfile::tempdir().expect("helm home");
    let mut theirs: Vec<&OsStr> = vec![OsStr::new("template"), OsStr::new("shop")];
    theirs.push(chart.as_os_str());
    theirs.extend(&inputs);
    theirs.push(OsStr::new("--include-crds"));
    let expected = parse(&run_helm(home.path(), &theirs), "helm template");

    assert_eq!(got, expected);
    assert_eq!(got.len(), 1);
    let data = &got[0].0["data"];
    assert_eq!(data["greeting"], "42", "{data}");
    assert_eq!(data["port"], "8443", "{data}");
    assert_eq!(data["portType"], "int64", "{data}");
    assert_eq!(data["tags"], "[\"a\",\"b\"]", "{data}");
    assert_eq!(got[0].0["metadata"]["namespace"], "prod");
}

#[test]
fn the_default_release_name_is_helms() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let chart = write_chart(
        dir.path(),
        "web",
        "1.2.0",
        "greeting: hi\nport: 1\ntags: []\n",
        &[("configmap.yaml", TEMPLATE)],
    );
    let got = rendered(&driftless_render(&[chart.as_os_str()]));
    let home = tempfile::tempdir().expect("helm home");
    let expected = parse(
        &run_helm(home.path(), &[OsStr::new("template"), chart.as_os_str()]),
        "helm template",
    );
    assert_eq!(got, expected);
    assert_eq!(got[0].name(), "release-name-config");
}

#[test]
fn dependencies_are_fetched_from_their_chart_repository() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let cache = [(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cache\ndata:\n  \
         size: {{ .Values.size | quote }}\n",
    )];
    let repo = ChartRepo::serve(
        &[ChartSpec::new("cache", "0.3.1", "size: 5\n", &cache)],
        None,
    );
    let chart = write_chart(
        dir.path(),
        "web",
        "1.2.0",
        "greeting: hi\nport: 1\ntags: []\n",
        &[("configmap.yaml", TEMPLATE)],
    );
    std::fs::write(
        chart.join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: web\nversion: 1.2.0\ndependencies:\n  - name: cache\n    \
             version: 0.3.1\n    repository: {}\n",
            repo.url()
        ),
    )
    .expect("writing Chart.yaml");
    let got = rendered(&driftless_render(&[
        chart.as_os_str(),
        OsStr::new("--set"),
        OsStr::new("cache.size=9"),
    ]));
    let cache = got
        .iter()
        .find(|o| o.name() == "release-name-cache")
        .unwrap_or_else(|| panic!("no dependency object in {got:?}"));
    assert_eq!(cache.0["data"]["size"], "9");
    assert!(repo.requests() > 0, "the chart repository was never asked");
}

#[test]
fn a_broken_template_names_its_file() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let chart = write_chart(
        dir.path(),
        "web",
        "1.2.0",
        "greeting: hi\n",
        &[
            ("configmap.yaml", TEMPLATE),
            (
                "broken.yaml",
                "kind: ConfigMap\ndata: {{ .Values.greeting | nosuchfunc }}\n",
            ),
        ],
    );
    let out = driftless_render(&[chart.as_os_str()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a broken chart rendered: {stderr}");
    assert!(stderr.contains("templates/broken.yaml"), "{stderr}");
    assert!(stderr.contains("nosuchfunc"), "{stderr}");
    assert!(out.stdout.is_empty(), "printed output for a broken chart");
}

#[test]
fn values_for_a_directory_that_is_no_chart_are_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(
        dir.path().join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
    )
    .expect("writing a manifest");
    let out = driftless_render(&[
        dir.path().as_os_str(),
        OsStr::new("--set"),
        OsStr::new("a=b"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("one holding Chart.yaml"), "{stderr}");
}
