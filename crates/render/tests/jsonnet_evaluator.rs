//! The Jsonnet evaluator program is what the process set, never guessed:
//! before it is set an evaluation is an error saying so (and naming the
//! file); a program that cannot be started is an error naming it; the
//! program set is the one that evaluates. One test, so that nothing else in
//! this process sets the evaluator first.

use driftless_render::jsonnet::{self, JsonnetOptions};
use driftless_render::{DiskTree, RenderError};

fn evaluate(tree: &DiskTree) -> Result<serde_json::Value, RenderError> {
    jsonnet::evaluate(tree, "app/main.jsonnet", "app", &JsonnetOptions::default())
}

#[test]
fn the_evaluator_is_the_program_this_process_set() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("app/main.jsonnet"), "{ a: 1 + 2 }\n").unwrap();
    let tree = DiskTree::new(dir.path()).unwrap();

    let unset = evaluate(&tree).expect_err("no evaluator is set yet");
    let text = unset.to_string();
    assert!(text.starts_with("app/main.jsonnet: jsonnet: "), "{text}");
    assert!(
        text.contains("no Jsonnet evaluator program is set for this process"),
        "{text}"
    );

    let missing = dir.path().join("no-such-evaluator");
    jsonnet::set_evaluator(&missing);
    let text = evaluate(&tree).expect_err("a missing program").to_string();
    assert!(text.starts_with("app/main.jsonnet: jsonnet: "), "{text}");
    assert!(text.contains(&missing.display().to_string()), "{text}");

    jsonnet::set_evaluator(env!("CARGO_BIN_EXE_driftless-jsonnet"));
    let value = evaluate(&tree).expect("evaluated by driftless-jsonnet");
    assert_eq!(value, serde_json::json!({"a": 3}));
}
