//! The operator commands as a user runs them: the built binary against the
//! real control plane, a real Git server and the Application controller.

mod common;

use common::{World, configmap, run_cli};

/// `get` (table and `-o json`), `diff` exit codes, `sync --wait`, `wait`,
/// `diff --local` and `diff --path`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn get_diff_sync_wait() {
    let mut w = World::new("cli-sync").await;
    let repo = w.git.create_repo("cli/sync");
    repo.write("app/one.yaml", &configmap("one", "first"));
    repo.commit("first");
    w.start_controller().await;
    w.apply(&w.app("web", "cli/sync", "app", false));
    w.wait_for("web", "{.status.sync.status}", "OutOfSync")
        .await;

    let table = w.cli(&["get", "apps"]).await;
    assert_eq!(table.code, 0, "{table}");
    let header = table.stdout.lines().next().unwrap_or_default();
    for column in [
        "NAME", "SYNC", "HEALTH", "REVISION", "PATH", "AGE", "MESSAGE",
    ] {
        assert!(header.contains(column), "{column} missing: {table}");
    }
    let row = table.stdout.lines().nth(1).unwrap_or_default();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[..3], ["web", "OutOfSync", "Missing"], "{table}");

    let json = w.cli(&["get", "apps", "-o", "json"]).await;
    let list: serde_json::Value = serde_json::from_str(&json.stdout).expect("get -o json is JSON");
    assert_eq!(list["kind"], "List", "{json}");
    assert_eq!(list["items"][0]["metadata"]["name"], "web", "{json}");
    assert_eq!(
        list["items"][0]["status"]["sync"]["status"], "OutOfSync",
        "{json}"
    );

    let diff = w.cli(&["diff", "web"]).await;
    assert_eq!(diff.code, 1, "OutOfSync: {diff}");
    assert!(diff.stdout.contains("+  value: first"), "{diff}");

    let sync = w.cli(&["sync", "web", "--wait", "--timeout", "90s"]).await;
    assert_eq!(sync.code, 0, "{sync}");
    assert!(sync.stdout.contains("web: Synced Healthy"), "{sync}");
    assert!(
        sync.stdout.contains("ConfigMap"),
        "per-object progress: {sync}"
    );
    assert_eq!(
        w.kubectl(&[
            "-n",
            &w.dest,
            "get",
            "configmap",
            "one",
            "-o",
            "jsonpath={.data.value}"
        ]),
        "first"
    );

    let wait = w.cli(&["wait", "web", "--timeout", "60s"]).await;
    assert_eq!(wait.code, 0, "{wait}");
    let same = w.cli(&["diff", "web"]).await;
    assert_eq!(
        (same.code, same.stdout.as_str()),
        (0, ""),
        "in sync: {same}"
    );

    // A working copy with a change: --local sees it before any push.
    let local = tempfile::tempdir().expect("temp dir");
    std::fs::write(local.path().join("one.yaml"), configmap("one", "second")).expect("write");
    let dir = local.path().display().to_string();
    let what_if = w.cli(&["diff", "web", "--local", &dir]).await;
    assert_eq!(what_if.code, 1, "{what_if}");
    assert!(
        what_if.stdout.contains("-  value: first") && what_if.stdout.contains("+  value: second"),
        "{what_if}"
    );

    // --path, no Application: the destination is -n; with the same tracking name it is in sync.
    let args = |app: &str| {
        vec![
            "diff".to_string(),
            "--path".into(),
            dir.clone(),
            "--app".into(),
            app.into(),
            "--kubeconfig".into(),
            w.cp.kubeconfig_path().display().to_string(),
            "-n".into(),
            w.dest.clone(),
        ]
    };
    std::fs::write(local.path().join("one.yaml"), configmap("one", "first")).expect("write");
    let path_same = run_cli(&args("web"), None).await;
    assert_eq!(path_same.code, 0, "{path_same}");
    let path_other = run_cli(&args("someone-else"), None).await;
    assert_eq!(
        path_other.code, 1,
        "another tracking name differs: {path_other}"
    );

    // A Secret: the diff names its keys, never its values.
    std::fs::write(
        local.path().join("secret.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: hunter2-cli\n",
    )
    .expect("write");
    let secret = run_cli(&args("web"), None).await;
    assert_eq!(secret.code, 1, "{secret}");
    assert!(secret.stdout.contains("password:"), "{secret}");
    assert!(
        !secret.stdout.contains("hunter2-cli") && !secret.stderr.contains("hunter2-cli"),
        "{secret}"
    );
    w.stop_controller().await;
}

/// A sync whose manifest the API server refuses fails `sync --wait` with
/// the reason; a sync nobody handles times out.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sync_wait_fails_and_times_out() {
    let mut w = World::new("cli-fail").await;
    let repo = w.git.create_repo("cli/fail");
    repo.write(
        "app/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: broken\nspec:\n  template:\n    metadata:\n      labels: {app: x}\n    spec:\n      containers: [{name: x, image: x}]\n",
    );
    repo.commit("no selector");
    w.apply(&w.app("broken", "cli/fail", "app", false));

    // No controller yet: the requested operation is never handled.
    let timeout = w
        .cli(&["sync", "broken", "--wait", "--timeout", "2s"])
        .await;
    assert_ne!(timeout.code, 0, "{timeout}");
    assert!(timeout.stderr.contains("timed out after 2s"), "{timeout}");
    assert_eq!(
        timeout.stderr.lines().count(),
        2,
        "request line and one error line: {timeout}"
    );

    w.start_controller().await;
    w.wait_for("broken", "{.status.operationState.phase}", "Failed")
        .await;
    let again = w
        .cli(&["sync", "broken", "--wait", "--timeout", "90s"])
        .await;
    assert_ne!(again.code, 0, "{again}");
    assert!(again.stderr.contains("sync Failed"), "{again}");
    assert!(
        again.stderr.contains("selector"),
        "the API server's reason: {again}"
    );
    w.stop_controller().await;
}

/// suspend/resume flip `automated.enabled`; refresh waits for the
/// controller to handle the annotation.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn suspend_resume_refresh() {
    let mut w = World::new("cli-susp").await;
    let repo = w.git.create_repo("cli/susp");
    repo.write("app/one.yaml", &configmap("one", "first"));
    repo.commit("first");
    w.start_controller().await;
    w.apply(&w.app("auto", "cli/susp", "app", true));
    w.wait_for("auto", "{.status.sync.status}", "Synced").await;

    let suspend = w.cli(&["suspend", "auto"]).await;
    assert_eq!(suspend.code, 0, "{suspend}");
    assert!(
        suspend.stdout.contains("automated sync disabled"),
        "{suspend}"
    );
    let enabled = "{.spec.syncPolicy.automated.enabled}";
    w.wait_for("auto", enabled, "false").await;
    let prune = "{.spec.syncPolicy.automated.prune}";
    w.wait_for("auto", prune, "true").await;
    let wide = w.cli(&["get", "apps", "auto", "-o", "wide"]).await;
    assert!(wide.stdout.contains("Disabled"), "{wide}");

    // Suspended: a push is seen (refresh) but not synced.
    repo.write("app/one.yaml", &configmap("one", "second"));
    repo.commit("second");
    let refresh = w.cli(&["refresh", "auto", "--timeout", "60s"]).await;
    assert_eq!(refresh.code, 0, "{refresh}");
    w.wait_for("auto", "{.status.sync.status}", "OutOfSync")
        .await;

    let resume = w.cli(&["resume", "auto"]).await;
    assert_eq!(resume.code, 0, "{resume}");
    w.wait_for("auto", enabled, "true").await;
    w.wait_for("auto", "{.status.sync.status}", "Synced").await;
    assert_eq!(
        w.kubectl(&[
            "-n",
            &w.dest,
            "get",
            "configmap",
            "one",
            "-o",
            "jsonpath={.data.value}"
        ]),
        "second"
    );

    // Deleting with the cascade (the default): the controller deletes the objects first.
    let delete = w.cli(&["delete", "auto", "--yes"]).await;
    assert_eq!(delete.code, 0, "{delete}");
    let started = std::time::Instant::now();
    while w
        .cp
        .kubectl(&["-n", &w.dest, "get", "configmap", "one"])
        .is_ok()
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the ConfigMap stays"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    w.stop_controller().await;
}

/// Unknown names, an unreachable cluster and RBAC refusals: one line on
/// stderr, a non-zero exit, no panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_one_clear_line() {
    let w = World::new("cli-bad").await;
    for args in [
        &["get", "apps", "nope"][..],
        &["sync", "nope"],
        &["wait", "nope"],
        &["diff", "nope"],
    ] {
        let run = w.cli(args).await;
        assert_ne!(run.code, 0, "{args:?}: {run}");
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {run}");
        assert!(
            run.stderr.contains("\"nope\"") && run.stderr.contains("not found")
                || run
                    .stderr
                    .contains("no Application or Kustomization named \"nope\""),
            "{args:?}: {run}"
        );
        assert!(!run.stderr.contains("panicked"), "{run}");
    }

    let kubeconfig = std::fs::read_to_string(w.cp.kubeconfig_path()).expect("kubeconfig");
    let dir = tempfile::tempdir().expect("temp dir");
    let server = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .expect("a server line")
        .to_string();
    let dead = dir.path().join("dead.kubeconfig");
    std::fs::write(&dead, kubeconfig.replace(&server, "https://127.0.0.1:1")).expect("write");
    let run = run_cli(
        &[
            "get".into(),
            "apps".into(),
            "--kubeconfig".into(),
            dead.display().to_string(),
        ],
        None,
    )
    .await;
    assert_ne!(run.code, 0, "{run}");
    assert_eq!(run.stderr.lines().count(), 1, "{run}");
    assert!(
        run.stderr
            .contains("cannot reach the cluster at https://127.0.0.1:1"),
        "{run}"
    );

    // A ServiceAccount without any role.
    w.kubectl(&["-n", &w.ns, "create", "serviceaccount", "nobody"]);
    let token = w.kubectl(&["-n", &w.ns, "create", "token", "nobody"]);
    let run = run_cli(
        &[
            "get".into(),
            "apps".into(),
            "--kubeconfig".into(),
            w.cp.kubeconfig_path().display().to_string(),
            "-n".into(),
            w.ns.clone(),
        ],
        None,
    )
    .await;
    assert_eq!(run.code, 0, "admin may list: {run}");
    let limited = dir.path().join("nobody.kubeconfig");
    std::fs::write(
        &limited,
        token_kubeconfig(&kubeconfig, &server, token.trim()),
    )
    .expect("write");
    let run = run_cli(
        &[
            "get".into(),
            "apps".into(),
            "--kubeconfig".into(),
            limited.display().to_string(),
            "-n".into(),
            w.ns.clone(),
        ],
        None,
    )
    .await;
    assert_ne!(run.code, 0, "{run}");
    assert_eq!(run.stderr.lines().count(), 1, "{run}");
    assert!(run.stderr.contains("forbidden"), "{run}");
    assert!(
        run.stderr.contains("system:serviceaccount:") && run.stderr.contains(":nobody"),
        "names who: {run}"
    );
}

/// A kubeconfig for `server` (certificate authority taken from `admin`)
/// that authenticates with `token`.
fn token_kubeconfig(admin: &str, server: &str, token: &str) -> String {
    let ca = admin
        .lines()
        .find_map(|l| l.trim().strip_prefix("certificate-authority-data: "))
        .map(|ca| format!("    certificate-authority-data: {ca}\n"))
        .unwrap_or_else(|| "    insecure-skip-tls-verify: true\n".into());
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: {server}
{ca}contexts:
- name: c
  context: {{cluster: c, user: nobody}}
current-context: c
users:
- name: nobody
  user:
    token: {token}
"
    )
}

/// `get --watch` prints a line when the Application changes; `sync
/// --resource` syncs one object, `--dry-run` none, `--prune` deletes what
/// left Git.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn watch_partial_dry_run_and_prune() {
    use tokio::io::AsyncBufReadExt;

    let mut w = World::new("cli-part").await;
    let repo = w.git.create_repo("cli/part");
    repo.write("app/one.yaml", &configmap("one", "first"));
    repo.write("app/two.yaml", &configmap("two", "first"));
    repo.commit("first");
    w.start_controller().await;
    w.apply(&w.app("part", "cli/part", "app", false));
    w.wait_for("part", "{.status.sync.status}", "OutOfSync")
        .await;

    let mut watch = tokio::process::Command::new(env!("CARGO_BIN_EXE_driftless"))
        .args(["get", "apps", "part", "--watch", "--kubeconfig"])
        .arg(w.cp.kubeconfig_path())
        .args(["-n", &w.ns])
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starting get --watch");
    let mut lines = tokio::io::BufReader::new(watch.stdout.take().expect("stdout")).lines();
    let header = lines.next_line().await.expect("read").unwrap_or_default();
    assert!(header.starts_with("NAME"), "{header}");
    let first = lines.next_line().await.expect("read").unwrap_or_default();
    assert!(
        first.starts_with("part") && first.contains("OutOfSync"),
        "{first}"
    );

    let dry = w
        .cli(&["sync", "part", "--dry-run", "--wait", "--timeout", "60s"])
        .await;
    assert_eq!(dry.code, 0, "{dry}");
    assert!(dry.stdout.contains("dry run succeeded"), "{dry}");
    let absent = w.cp.kubectl(&["-n", &w.dest, "get", "configmap", "one"]);
    assert!(absent.is_err(), "a dry run writes nothing: {absent:?}");

    let one = w
        .cli(&[
            "sync",
            "part",
            "--resource",
            ":ConfigMap:one",
            "--wait",
            "--timeout",
            "60s",
        ])
        .await;
    assert_eq!(one.code, 0, "{one}");
    w.kubectl(&["-n", &w.dest, "get", "configmap", "one"]);
    assert!(
        w.cp.kubectl(&["-n", &w.dest, "get", "configmap", "two"])
            .is_err(),
        "only one was selected"
    );

    repo.remove("app/one.yaml");
    repo.commit("one leaves Git");
    let all = w
        .cli(&["sync", "part", "--prune", "--wait", "--timeout", "60s"])
        .await;
    assert_eq!(all.code, 0, "{all}");
    assert!(
        w.cp.kubectl(&["-n", &w.dest, "get", "configmap", "one"])
            .is_err(),
        "pruned"
    );
    w.kubectl(&["-n", &w.dest, "get", "configmap", "two"]);

    let synced = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.starts_with("part") && line.contains("Synced") {
                return line;
            }
        }
        String::new()
    })
    .await
    .expect("get --watch printed the change");
    assert!(synced.contains("Healthy"), "{synced}");
    watch.kill().await.expect("stopping get --watch");
    w.stop_controller().await;
}

/// `--context` picks a context other than the current one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_flag() {
    let w = World::new("cli-ctx").await;
    let text = std::fs::read_to_string(w.cp.kubeconfig_path()).expect("kubeconfig");
    let mut config: serde_json::Value = serde_saphyr::from_str(&text).expect("YAML");
    let good = config["current-context"]
        .as_str()
        .expect("a current context")
        .to_string();
    let mut dead_cluster = config["clusters"][0].clone();
    dead_cluster["name"] = "dead".into();
    dead_cluster["cluster"]["server"] = "https://127.0.0.1:1".into();
    let mut dead_context = config["contexts"][0].clone();
    dead_context["name"] = "dead".into();
    dead_context["context"]["cluster"] = "dead".into();
    config["clusters"]
        .as_array_mut()
        .expect("clusters")
        .push(dead_cluster);
    config["contexts"]
        .as_array_mut()
        .expect("contexts")
        .push(dead_context);
    config["current-context"] = "dead".into();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("two.kubeconfig");
    std::fs::write(&path, config.to_string()).expect("write");
    let run = |context: Option<&str>| {
        let mut args = vec![
            "get".to_string(),
            "apps".into(),
            "--kubeconfig".into(),
            path.display().to_string(),
            "-n".into(),
            w.ns.clone(),
        ];
        if let Some(c) = context {
            args.extend(["--context".into(), c.to_string()]);
        }
        args
    };
    let current = run_cli(&run(None), None).await;
    assert!(
        current.code != 0
            && current
                .stderr
                .contains("cannot reach the cluster at https://127.0.0.1:1"),
        "{current}"
    );
    let chosen = run_cli(&run(Some(&good)), None).await;
    assert_eq!(chosen.code, 0, "{chosen}");
    let unknown = run_cli(&run(Some("nope")), None).await;
    assert!(
        unknown.code != 0
            && unknown.stderr.starts_with("error: kubeconfig:")
            && unknown.stderr.contains("nope"),
        "{unknown}"
    );
    assert_eq!(unknown.stderr.lines().count(), 1, "{unknown}");
}

/// `refresh --hard` asks for a hard refresh (Argo CD's annotation value
/// `hard`, which makes the controller render again instead of using its
/// render cache) and waits until the controller has handled it; without a
/// controller it times out and the request stays for the next one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hard_refresh() {
    let mut w = World::new("cli-hard").await;
    let repo = w.git.create_repo("cli/hard");
    repo.write("app/one.yaml", &configmap("one", "first"));
    repo.commit("first");
    w.apply(&w.app("hard", "cli/hard", "app", false));
    let annotation = "{.metadata.annotations.argocd\\.argoproj\\.io/refresh}";

    let waiting = w
        .cli(&["refresh", "hard", "--hard", "--timeout", "2s"])
        .await;
    assert_ne!(waiting.code, 0, "no controller handles it: {waiting}");
    assert!(
        waiting
            .stderr
            .contains("Application hard: hard refresh requested"),
        "{waiting}"
    );
    assert!(waiting.stderr.contains("timed out after 2s"), "{waiting}");
    w.wait_for("hard", annotation, "hard").await;

    // The controller handles the pending request (and removes it); a new
    // hard refresh then completes.
    w.start_controller().await;
    w.wait_for("hard", annotation, "").await;
    w.wait_for("hard", "{.status.sync.status}", "OutOfSync")
        .await;
    let done = w
        .cli(&["refresh", "hard", "--hard", "--timeout", "60s"])
        .await;
    assert_eq!(done.code, 0, "{done}");
    assert!(done.stdout.contains("(refreshed)"), "{done}");
    w.wait_for("hard", annotation, "").await;
    w.stop_controller().await;
}
