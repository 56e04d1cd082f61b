//! `history`, `rollback`, `tree` and `delete` against the real control
//! plane, and the terminal output of `sync --wait` and `get` under a
//! pseudo-terminal (`script`) compared with the piped output.

mod common;

use common::{World, configmap};

async fn configmap_value(w: &World, name: &str) -> String {
    w.kubectl(&[
        "-n",
        &w.dest,
        "get",
        "configmap",
        name,
        "-o",
        "jsonpath={.data.value}",
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn history_rollback_tree_delete() {
    let mut w = World::new("cli-roll").await;
    let repo = w.git.create_repo("cli/roll");
    repo.write("app/one.yaml", &configmap("one", "first"));
    let first = repo.commit("first");
    w.start_controller().await;
    w.apply(&w.app("roll", "cli/roll", "app", true));
    w.wait_for("roll", "{.status.sync.revision}", &first).await;
    w.wait_for("roll", "{.status.sync.status}", "Synced").await;

    repo.write("app/one.yaml", &configmap("one", "second"));
    repo.write("moved/one.yaml", &configmap("one", "moved"));
    let second = repo.commit("second");
    let refresh = w.cli(&["refresh", "roll", "--timeout", "60s"]).await;
    assert_eq!(refresh.code, 0, "{refresh}");
    w.wait_for("roll", "{.status.history[1].revision}", &second)
        .await;
    assert_eq!(configmap_value(&w, "one").await, "second");

    let history = w.cli(&["history", "roll"]).await;
    assert_eq!(history.code, 0, "{history}");
    let rows: Vec<&str> = history.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{history}");
    assert!(
        rows[0].contains(&first[..7]) && rows[1].contains(&second[..7]),
        "{history}"
    );
    assert!(rows[0].contains("automated"), "who started it: {history}");

    let bad = w.cli(&["rollback", "roll", "42"]).await;
    assert_ne!(bad.code, 0, "{bad}");
    assert!(bad.stderr.contains("no history ID 42"), "{bad}");

    // spec.source.path moves to another directory of the same commit; the
    // automated sync deploys it (a sync of other definitions is not one
    // already done at that revision).
    let patch = r#"{"spec":{"source":{"path":"moved"}}}"#;
    w.kubectl(&[
        "-n",
        &w.ns,
        "patch",
        "application",
        "roll",
        "--type",
        "merge",
        "-p",
        patch,
    ]);
    w.wait_for("roll", "{.status.history[2].source.path}", "moved")
        .await;
    assert_eq!(configmap_value(&w, "one").await, "moved");

    let rollback = w
        .cli(&["rollback", "roll", "--wait", "--timeout", "90s"])
        .await;
    assert_eq!(rollback.code, 0, "{rollback}");
    assert!(
        rollback.stdout.contains("automated sync paused"),
        "{rollback}"
    );
    // To the entry before the latest: the old path at the same commit,
    // although spec.source names `moved`.
    assert_eq!(configmap_value(&w, "one").await, "second", "rolled back");
    let synced = "{.status.operationState.syncResult.source.path} \
                  {.status.operationState.syncResult.revision}";
    w.wait_for("roll", synced, &format!("app {second}")).await;
    w.wait_for("roll", "{.status.history[3].source.path}", "app")
        .await;
    w.wait_for("roll", "{.spec.source.path}", "moved").await;
    w.wait_for("roll", "{.spec.syncPolicy.automated.enabled}", "false")
        .await;
    w.wait_for("roll", "{.status.sync.status}", "OutOfSync")
        .await;
    w.wait_for("roll", "{.status.sync.revision}", &second).await;

    let tree = w.cli(&["tree", "roll"]).await;
    assert_eq!(tree.code, 0, "{tree}");
    let lines: Vec<&str> = tree.stdout.lines().collect();
    assert!(
        lines[0].starts_with("Application roll  OutOfSync Healthy"),
        "{tree}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("└── ConfigMap {}/one  OutOfSync Healthy", w.dest))),
        "{tree}"
    );

    let refused = w.cli(&["delete", "roll"]).await;
    assert_ne!(refused.code, 0, "{refused}");
    assert!(refused.stderr.contains("pass --yes"), "{refused}");
    w.kubectl(&["-n", &w.ns, "get", "application", "roll"]);

    // On a terminal it asks; "n" keeps the Application.
    let kept = tokio::task::block_in_place(|| under_pty_with_input(&w, "delete roll", "n\n"));
    assert!(
        kept.contains("Delete Application roll in namespace") && kept.contains("[y/N]"),
        "{kept:?}"
    );
    assert!(kept.contains("Application roll not deleted"), "{kept:?}");
    w.kubectl(&["-n", &w.ns, "get", "application", "roll"]);

    let delete = w.cli(&["delete", "roll", "--no-cascade", "--yes"]).await;
    assert_eq!(delete.code, 0, "{delete}");
    let gone = w.cli(&["get", "apps", "roll"]).await;
    assert_ne!(gone.code, 0, "{gone}");
    assert_eq!(
        configmap_value(&w, "one").await,
        "second",
        "--no-cascade keeps the objects"
    );
    w.stop_controller().await;
}

/// Runs `driftless <args>` under a pseudo-terminal, returning what the terminal received.
fn under_pty(w: &World, args: &str) -> String {
    let (ok, text) = pty_run(w, args, "");
    assert!(ok, "{args} under a terminal: {text}");
    text
}

/// Like [`under_pty`], typing `input`; the exit status may be a failure.
fn under_pty_with_input(w: &World, args: &str, input: &str) -> String {
    pty_run(w, args, input).1
}

fn pty_run(w: &World, args: &str, input: &str) -> (bool, String) {
    use std::io::Write;
    let command = format!(
        "'{}' {args} --kubeconfig '{}' -n '{}'",
        env!("CARGO_BIN_EXE_driftless"),
        w.cp.kubeconfig_path().display(),
        w.ns
    );
    let mut child = std::process::Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("running script");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("typing");
    let out = child.wait_with_output().expect("waiting for script");
    drop(stdin);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn progress_on_a_terminal_and_plain_when_piped() {
    let mut w = World::new("cli-tty").await;
    let repo = w.git.create_repo("cli/tty");
    repo.write("app/one.yaml", &configmap("one", "first"));
    repo.write("app/two.yaml", &configmap("two", "first"));
    repo.commit("first");
    w.start_controller().await;
    w.apply(&w.app("tty", "cli/tty", "app", false));
    w.wait_for("tty", "{.status.sync.status}", "OutOfSync")
        .await;

    let tty = {
        let w = &w;
        tokio::task::block_in_place(|| under_pty(w, "sync tty --wait --timeout 90s"))
    };
    assert!(
        tty.contains("\r\x1b[2K"),
        "the status line is redrawn in place: {tty:?}"
    );
    assert!(
        ["⠙", "⠹", "⠸"].iter().any(|s| tty.contains(s)),
        "a spinner: {tty:?}"
    );
    assert!(
        tty.contains("healthy") && tty.contains("[#"),
        "a bar: {tty:?}"
    );
    assert!(
        tty.contains("\x1b[32m✓ tty: Synced Healthy"),
        "a green summary: {tty:?}"
    );
    assert!(
        tty.contains("\x1b[32mSynced\x1b[0m"),
        "colored object states: {tty:?}"
    );

    let local = tempfile::tempdir().expect("temp dir");
    std::fs::write(local.path().join("one.yaml"), configmap("one", "changed")).expect("write");
    std::fs::write(local.path().join("two.yaml"), configmap("two", "first")).expect("write");
    let diff_args = format!("diff tty --local '{}'", local.path().display());
    let diff = tokio::task::block_in_place(|| under_pty_with_input(&w, &diff_args, ""));
    assert!(
        diff.contains("\x1b[31m-  value: first\x1b[0m"),
        "removals red: {diff:?}"
    );
    assert!(
        diff.contains("\x1b[32m+  value: changed\x1b[0m"),
        "additions green: {diff:?}"
    );
    let piped_diff = w
        .cli(&[
            "diff",
            "tty",
            "--local",
            &local.path().display().to_string(),
        ])
        .await;
    assert_eq!(piped_diff.code, 1, "{piped_diff}");
    assert!(
        piped_diff.stdout.contains("\n-  value: first\n") && !piped_diff.stdout.contains('\x1b'),
        "{piped_diff}"
    );

    let table = tokio::task::block_in_place(|| under_pty(&w, "get apps"));
    assert!(
        table.contains("\x1b[32mSynced\x1b[0m") && table.contains("\x1b[1mNAME\x1b[0m"),
        "{table:?}"
    );

    repo.write("app/one.yaml", &configmap("one", "second"));
    repo.commit("second");
    let piped = w.cli(&["sync", "tty", "--wait", "--timeout", "90s"]).await;
    assert_eq!(piped.code, 0, "{piped}");
    assert!(
        !piped.stdout.contains('\x1b') && !piped.stdout.contains('\r'),
        "plain lines: {piped:?}"
    );
    assert!(
        piped
            .stdout
            .contains(&format!("  ConfigMap {}/one: ", w.dest)),
        "{piped}"
    );
    assert!(
        piped
            .stdout
            .lines()
            .last()
            .unwrap_or_default()
            .starts_with("✓ tty: Synced Healthy"),
        "{piped}"
    );
    let plain_table = w.cli(&["get", "apps"]).await;
    assert!(!plain_table.stdout.contains('\x1b'), "{plain_table}");
    w.stop_controller().await;
}

/// An App of Apps: the child Application's objects indented under it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn app_of_apps_tree() {
    let mut w = World::new("cli-aoa").await;
    let repo = w.git.create_repo("cli/aoa");
    repo.write("child/one.yaml", &configmap("one", "first"));
    let child = w.app("child", "cli/aoa", "child", true);
    repo.write("apps/child.yaml", &child);
    repo.commit("an App of Apps");
    w.start_controller().await;
    let root = w.app("root", "cli/aoa", "apps", true).replace(
        &format!("    namespace: {}\n", w.dest),
        &format!("    namespace: {}\n", w.ns),
    );
    w.apply(&root);
    w.wait_for("root", "{.status.sync.status}", "Synced").await;
    w.wait_for("child", "{.status.health.status}", "Healthy")
        .await;

    let tree = w.cli(&["tree", "root"]).await;
    assert_eq!(tree.code, 0, "{tree}");
    let lines: Vec<&str> = tree.stdout.lines().collect();
    assert!(lines[0].starts_with("Application root  Synced"), "{tree}");
    assert!(
        lines[1].starts_with("└── Application child  Synced Healthy"),
        "{tree}"
    );
    assert!(
        lines[2].starts_with(&format!("    └── ConfigMap {}/one  Synced Healthy", w.dest)),
        "the child's objects one level deeper: {tree}"
    );
    w.stop_controller().await;
}
