use serde_json::json;

use super::*;

/// Flux's documented example for a custom kind (a SealedSecret).
fn sealed_secret_check() -> HealthCheckExprs {
    HealthCheckExprs::compile(
        "status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'True')",
        None,
        Some("status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'False')"),
    )
    .expect("compiles")
}

fn sealed_secret(status: &str) -> serde_json::Value {
    json!({
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "s", "generation": 2},
        "status": {"conditions": [{"type": "Synced", "status": status}]}
    })
}

#[test]
fn flux_example_current_and_failed() {
    let check = sealed_secret_check();
    assert_eq!(check.evaluate(&sealed_secret("True")), Ok(Health::Current));
    assert_eq!(check.evaluate(&sealed_secret("False")), Ok(Health::Failed));
    assert_eq!(
        check.evaluate(&sealed_secret("Unknown")),
        Ok(Health::InProgress)
    );
}

#[test]
fn in_progress_is_checked_before_failed_and_current() {
    let check = HealthCheckExprs::compile(
        "status.phase == 'Ready'",
        Some("metadata.generation != status.observedGeneration"),
        Some("status.phase == 'Failed'"),
    )
    .unwrap();
    let object = |generation: i64, observed: i64, phase: &str| json!({"metadata": {"generation": generation}, "status": {"observedGeneration": observed, "phase": phase}});
    assert_eq!(
        check.evaluate(&object(2, 1, "Ready")),
        Ok(Health::InProgress)
    );
    assert_eq!(
        check.evaluate(&object(2, 1, "Failed")),
        Ok(Health::InProgress)
    );
    assert_eq!(check.evaluate(&object(2, 2, "Failed")), Ok(Health::Failed));
    assert_eq!(check.evaluate(&object(2, 2, "Ready")), Ok(Health::Current));
    assert_eq!(
        check.evaluate(&object(2, 2, "Pending")),
        Ok(Health::InProgress)
    );
}

#[test]
fn absent_top_level_fields_are_empty_maps_so_has_works() {
    let check = HealthCheckExprs::compile(
        "has(status.readyReplicas) && status.readyReplicas >= spec.replicas",
        None,
        None,
    )
    .unwrap();
    assert_eq!(
        check.evaluate(&json!({"kind": "Deployment"})),
        Ok(Health::InProgress)
    );
    let ready = json!({"spec": {"replicas": 2}, "status": {"readyReplicas": 2}});
    assert_eq!(check.evaluate(&ready), Ok(Health::Current));
    let short = json!({"spec": {"replicas": 3}, "status": {"readyReplicas": 2}});
    assert_eq!(check.evaluate(&short), Ok(Health::InProgress));
}

#[test]
fn integers_compare_with_int_literals() {
    let expr = Expression::compile("x > 0 && x == 5 && y < 0 && z == 1.5").unwrap();
    let (x, y, z) = (json!(5), json!(-1), json!(1.5));
    assert_eq!(
        expr.evaluate_bool(&[("x", &x), ("y", &y), ("z", &z)]),
        Ok(true)
    );
}

#[test]
fn ready_expr_over_self_and_dep() {
    // Flux's documented readyExpr example.
    let expr = ReadyExpr::compile(
        "dep.metadata.generation == dep.status.observedGeneration && \
         dep.status.lastAppliedRevision == self.status.lastAppliedRevision && \
         dep.status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')",
    )
    .unwrap();
    let this = json!({"status": {"lastAppliedRevision": "main@sha1:abc"}});
    let dep = |revision: &str, ready: &str, observed: i64| {
        json!({
            "metadata": {"generation": 3},
            "status": {
                "observedGeneration": observed,
                "lastAppliedRevision": revision,
                "conditions": [{"type": "Ready", "status": ready}]
            }
        })
    };
    assert_eq!(
        expr.evaluate(&this, &dep("main@sha1:abc", "True", 3)),
        Ok(true)
    );
    assert_eq!(
        expr.evaluate(&this, &dep("main@sha1:old", "True", 3)),
        Ok(false)
    );
    assert_eq!(
        expr.evaluate(&this, &dep("main@sha1:abc", "False", 3)),
        Ok(false)
    );
    assert_eq!(
        expr.evaluate(&this, &dep("main@sha1:abc", "True", 2)),
        Ok(false)
    );
}

#[test]
fn compile_errors_name_the_expression() {
    let err = Expression::compile("status.conditions.filter(e, ").unwrap_err();
    assert!(
        matches!(err, ExprError::Compile { ref expression, .. } if expression == "status.conditions.filter(e, ")
    );
    assert!(
        err.to_string().contains("status.conditions.filter(e, "),
        "{err}"
    );
    let err = HealthCheckExprs::compile("true", None, Some("&&")).unwrap_err();
    assert!(matches!(err, ExprError::Compile { ref expression, .. } if expression == "&&"));
}

#[test]
fn evaluation_errors_and_non_bools_name_the_expression() {
    let missing = Expression::compile("status.phase == 'Ready'").unwrap();
    let status = json!({});
    let err = missing.evaluate_bool(&[("status", &status)]).unwrap_err();
    assert!(
        matches!(err, ExprError::Evaluate { ref expression, .. } if expression == "status.phase == 'Ready'"),
        "{err}"
    );
    let number = Expression::compile("1 + 2").unwrap();
    let err = number.evaluate_bool(&[]).unwrap_err();
    assert!(
        matches!(err, ExprError::NotBool { ref expression, .. } if expression == "1 + 2"),
        "{err}"
    );
}

#[test]
fn compiled_expressions_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<HealthCheckExprs>();
    assert_send_sync::<ReadyExpr>();
}
