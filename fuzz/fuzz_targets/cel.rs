//! CEL expressions (Flux's healthCheckExprs and readyExpr): any text
//! compiles or fails, and a compiled expression evaluates or fails against
//! an object, never panics.
#![no_main]

use driftless_expr::Expression;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(expression) = Expression::compile(text) else {
        return;
    };
    let object = serde_json::json!({
        "metadata": {"name": "web", "generation": 3, "labels": {"app": "web"}},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 3, "conditions": [{"type": "Ready", "status": "True"}]}
    });
    let _ = expression.evaluate_bool(&[("self", &object), ("dep", &object)]);
});
