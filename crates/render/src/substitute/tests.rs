use serde_json::json;

use super::*;

fn vars(pairs: &[(&str, &str)]) -> Variables {
    let mut vars = Variables::new();
    vars.extend_from("test", pairs.iter().copied())
        .expect("valid names");
    vars
}

fn text(input: &str, vars: &Variables) -> String {
    substitute_text(input, vars, Mode::Lenient, "ConfigMap default/x").expect("substitutes")
}

fn object(value: serde_json::Value) -> Object {
    Object::from_value(value).expect("an object")
}

#[test]
fn plain_references_take_the_value() {
    let v = vars(&[("cluster_env", "prod"), ("REGION", "eu-1")]);
    assert_eq!(text("env: ${cluster_env}", &v), "env: prod");
    assert_eq!(text("${REGION}-${cluster_env}", &v), "eu-1-prod");
    assert_eq!(text("a${REGION}b", &v), "aeu-1b");
}

#[test]
fn undefined_is_empty_when_lenient_and_an_error_when_strict() {
    let v = vars(&[("a", "1")]);
    assert_eq!(text("x=${missing}.", &v), "x=.");
    let err = substitute_text("x=${missing}", &v, Mode::Strict, "Deployment apps/web").unwrap_err();
    assert_eq!(
        err,
        SubstituteError::Undefined {
            object: "Deployment apps/web".into(),
            variable: "missing".into()
        }
    );
    assert!(err.to_string().contains("Deployment apps/web") && err.to_string().contains("missing"));
}

#[test]
fn defaults_apply_when_unset_or_empty() {
    let v = vars(&[("set", "yes"), ("empty", "")]);
    for op in [":=", ":-", "=", "-"] {
        assert_eq!(text(&format!("${{set{op}no}}"), &v), "yes", "{op}");
        assert_eq!(text(&format!("${{unset{op}dflt}}"), &v), "dflt", "{op}");
        assert_eq!(text(&format!("${{empty{op}dflt}}"), &v), "dflt", "{op}");
    }
    // A strict build accepts an undefined variable that has a default.
    assert_eq!(
        substitute_text("${unset:=ok}", &v, Mode::Strict, "x").unwrap(),
        "ok"
    );
    // Defaults may be empty, contain spaces and colons, and nest references.
    assert_eq!(text("[${unset:=}]", &v), "[]");
    assert_eq!(text("${unset:=http://a:80/x y}", &v), "http://a:80/x y");
    assert_eq!(text("${unset:=${set}-suffix}", &v), "yes-suffix");
    assert_eq!(text("${unset:=${other:=deep}}!", &v), "deep!");
}

#[test]
fn escapes_and_non_references_are_left_alone() {
    let v = vars(&[("var", "value")]);
    assert_eq!(text("$${var}", &v), "${var}");
    assert_eq!(text("$var and $$var", &v), "$var and $$var");
    assert_eq!(
        text("cost: 5$ ${ } ${1abc} ${-x}", &v),
        "cost: 5$ ${ } ${1abc} ${-x}"
    );
    assert_eq!(text("echo $HOME; ${var}", &v), "echo $HOME; value");
    assert_eq!(text("trailing $", &v), "trailing $");
    assert_eq!(text("no references", &v), "no references");
}

#[test]
fn unsupported_functions_and_unclosed_references_are_errors() {
    let v = vars(&[("var", "value")]);
    for (input, operator) in [
        ("${var^^}", "^^"),
        ("${var,}", ","),
        ("${var#pre}", "#p"),
        ("${var/a/b}", "/a"),
        ("${var:1:2}", ":1"),
    ] {
        let err = substitute_text(input, &v, Mode::Lenient, "ConfigMap ns/cm").unwrap_err();
        assert_eq!(
            err,
            SubstituteError::Unsupported {
                object: "ConfigMap ns/cm".into(),
                variable: "var".into(),
                operator: operator.into()
            },
            "{input}"
        );
    }
    for input in ["${var", "${var:=default", "${var:=${x}"] {
        let err = substitute_text(input, &v, Mode::Lenient, "ConfigMap ns/cm").unwrap_err();
        assert!(
            matches!(err, SubstituteError::Unclosed { ref variable, .. } if variable == "var"),
            "{input}: {err}"
        );
    }
}

#[test]
fn names_follow_fluxs_pattern() {
    for good in ["a", "_", "A_1", "cluster_env", "_x9"] {
        assert!(is_valid_name(good), "{good}");
    }
    for bad in ["", "1a", "a-b", "a.b", "tls.crt", "é", "a b"] {
        assert!(!is_valid_name(bad), "{bad}");
    }
    let mut v = Variables::new();
    let err = v
        .extend_from("Secret/creds", [("tls.crt", "secret-value")])
        .unwrap_err();
    assert_eq!(
        err,
        SubstituteError::InvalidName {
            origin: "Secret/creds".into(),
            name: "tls.crt".into()
        }
    );
    assert!(!err.to_string().contains("secret-value"));
}

#[test]
fn later_sources_win_and_values_lose_newlines() {
    let mut v = Variables::new();
    v.extend_from("ConfigMap/a", [("x", "from-a"), ("y", "line1\nline2\n")])
        .unwrap();
    v.extend_from("spec.postBuild.substitute", [("x", "inline")])
        .unwrap();
    assert_eq!(v.get("x"), Some("inline"));
    assert_eq!(v.get("y"), Some("line1line2"));
    assert_eq!(format!("{v:?}"), r#"{"x", "y"}"#, "Debug shows names only");
}

#[test]
fn objects_are_substituted_through_yaml_so_numbers_become_numbers() {
    let v = vars(&[("REPLICAS", "3"), ("ENV", "prod"), ("ENABLED", "true")]);
    let deployment = object(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web-${ENV}", "namespace": "apps"},
        "spec": {"replicas": "${REPLICAS}", "paused": "${ENABLED}", "template": {"metadata": {"labels": {"quoted": "'${ENV}'"}}}}
    }));
    let out = substitute_objects(vec![deployment], &v, Mode::Lenient).unwrap();
    let out = out[0].clone().into_value();
    assert_eq!(out["metadata"]["name"], json!("web-prod"));
    assert_eq!(out["spec"]["replicas"], json!(3));
    assert_eq!(out["spec"]["paused"], json!(true));
    assert_eq!(
        out["spec"]["template"]["metadata"]["labels"]["quoted"],
        json!("'prod'")
    );
}

#[test]
fn the_opt_out_label_or_annotation_leaves_the_object_untouched() {
    let v = vars(&[("ENV", "prod")]);
    for place in ["labels", "annotations"] {
        let original = object(json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "script", place: {SUBSTITUTE_KEY: DISABLED}},
            "data": {"run.sh": "echo ${ENV}"}
        }));
        let out = substitute_objects(vec![original.clone()], &v, Mode::Strict).unwrap();
        assert_eq!(out, vec![original], "{place}");
    }
    let enabled = object(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "script", "labels": {SUBSTITUTE_KEY: "enabled"}},
        "data": {"run.sh": "echo ${ENV}"}
    }));
    let out = substitute_objects(vec![enabled], &v, Mode::Lenient).unwrap();
    assert_eq!(
        out[0].clone().into_value()["data"]["run.sh"],
        json!("echo prod")
    );
}

#[test]
fn without_variables_a_lenient_build_changes_nothing() {
    let original = object(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x"},
        "data": {"a": "${kept}"}
    }));
    let out = substitute_objects(vec![original.clone()], &Variables::new(), Mode::Lenient).unwrap();
    assert_eq!(out, vec![original.clone()]);
    let err = substitute_objects(vec![original], &Variables::new(), Mode::Strict).unwrap_err();
    assert!(
        matches!(err, SubstituteError::Undefined { ref object, ref variable } if object == "ConfigMap/x" && variable == "kept"),
        "{err}"
    );
}

#[test]
fn a_value_that_breaks_the_yaml_is_an_error_naming_the_object_without_secret_text() {
    let v = vars(&[("BAD", "[unclosed")]);
    let config = object(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cm", "namespace": "ns"},
        "data": {"a": "${BAD}"}
    }));
    let err = substitute_objects(vec![config], &v, Mode::Lenient).unwrap_err();
    assert!(
        matches!(err, SubstituteError::Reparse { ref object, .. } if object.contains("ns/cm")),
        "{err}"
    );
    let secret = object(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "s", "namespace": "ns"},
        "stringData": {"a": "${BAD}"}
    }));
    let err = substitute_objects(vec![secret], &v, Mode::Lenient).unwrap_err();
    assert!(!err.to_string().contains("unclosed"), "{err}");
}
