//! Jsonnet evaluations that would never end, or never stop allocating, end
//! with an error naming the file and the limit: the evaluator child process
//! is stopped at its deadline or its memory limit, and the caller goes on.

use std::time::Duration;

use driftless_render::DiskTree;
use driftless_render::RenderError;
use driftless_render::jsonnet::{JsonnetLimits, JsonnetOptions, evaluate_limited, set_evaluator};

fn limits() -> JsonnetLimits {
    JsonnetLimits {
        timeout: Duration::from_secs(4),
        memory_bytes: 512 << 20,
    }
}

/// Evaluates `main.jsonnet` holding `text` within [`limits`].
fn run(text: &str) -> Result<serde_json::Value, RenderError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.jsonnet"), text).unwrap();
    let tree = DiskTree::new(dir.path()).unwrap();
    set_evaluator(env!("CARGO_BIN_EXE_driftless-jsonnet"));
    evaluate_limited(
        &tree,
        "main.jsonnet",
        "",
        &JsonnetOptions::default(),
        &limits(),
    )
}

fn message(result: Result<serde_json::Value, RenderError>) -> String {
    let error = result.expect_err("the evaluation must fail");
    let text = error.to_string();
    assert!(text.starts_with("main.jsonnet: jsonnet: "), "{text}");
    text
}

#[test]
fn endless_recursion_is_an_error_naming_the_file() {
    let text = message(run("local f(x) = f(x + 1); f(0)\n"));
    assert!(text.contains("max stack frames exceeded"), "{text}");
}

#[test]
fn deep_recursion_is_an_error_naming_the_file_and_line() {
    let text = message(run(
        "local depth(n) = if n == 0 then 0 else 1 + depth(n - 1);\n{ d: depth(1000000) }\n",
    ));
    assert!(text.contains("max stack frames exceeded"), "{text}");
    assert!(text.contains("(at main.jsonnet:"), "{text}");
}

#[test]
fn an_endless_loop_is_stopped_at_the_time_limit() {
    let text = message(run(
        "local spin(n) = if n < 0 then n else spin(n + 1) tailstrict;\n{ x: spin(0) }\n",
    ));
    assert!(
        text.contains("did not finish within the time limit of 4 s"),
        "{text}"
    );
}

#[test]
fn a_huge_allocation_is_stopped_at_the_memory_limit() {
    let text = message(run("{ big: std.range(1, 1000000000) }\n"));
    assert!(
        text.contains("exceeded the memory limit of 512 MiB"),
        "{text}"
    );
}

#[test]
fn a_huge_string_is_stopped_at_the_memory_limit() {
    let text = message(run(
        "local grow(s, n) = if n == 0 then s else grow(s + s, n - 1) tailstrict;\n{ s: std.length(grow('x', 40)) }\n",
    ));
    assert!(
        text.contains("exceeded the memory limit of 512 MiB"),
        "{text}"
    );
}

#[test]
fn a_normal_file_still_evaluates_within_the_limits() {
    let value = run("{ a: std.length(std.range(1, 1000)), b: 'x' }\n").unwrap();
    assert_eq!(value, serde_json::json!({"a": 1000, "b": "x"}));
}
