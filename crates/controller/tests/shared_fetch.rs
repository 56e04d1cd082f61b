//! Applications of one repository share its fetches: a periodic refresh
//! reads the mirror as it is when another Application of that repository
//! fetched it less than half a refresh interval ago (as Argo CD's revision
//! cache does), so N Applications make about one fetch per refresh, not N.
//! A commit pushed without a webhook is still picked up by the refreshes;
//! an Application whose files the commit did not change takes its last
//! render over instead of rendering again. Real control plane and Git
//! server.

mod common;

use std::time::Duration;

use common::{Harness, eventually};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

/// Applications in the test, all from one repository.
const APPS: usize = 8;
/// The refresh interval (fetches are shared for half of it).
const REFRESH: Duration = Duration::from_secs(2);
/// How long fetches are counted.
const WINDOW: Duration = Duration::from_secs(8);

fn config_map(i: usize, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm{i}\ndata:\n  value: {value}\n")
}

/// Fetches the controller made so far (its fetch-duration histogram's count).
async fn fetches(h: &Harness) -> u64 {
    let metrics = h.get("/metrics").await.1;
    metrics
        .lines()
        .filter(|l| l.starts_with("driftless_git_fetch_duration_seconds_count"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Render requests that ended as `outcome` so far.
async fn renders(h: &Harness, outcome: &str) -> u64 {
    let metrics = h.get("/metrics").await.1;
    let wanted = format!("driftless_renders_total{{outcome=\"{outcome}\"}}");
    metrics
        .lines()
        .filter(|l| l.starts_with(&wanted))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

async fn value_of(cms: &Api<ConfigMap>, i: usize) -> Option<String> {
    let cm = cms.get_opt(&format!("cm{i}")).await.ok()??;
    cm.data?.get("value").cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn applications_of_one_repository_share_its_fetches() {
    let mut h = Harness::new("sharedfetch").await;
    h.start_controller_with(h.config(REFRESH)).await;
    let dest = h.namespace("sharedfetch-dest").await;
    let repo = h.git.create_repo("shared/apps");
    for i in 0..APPS {
        repo.write(&format!("app{i}/cm.yaml"), &config_map(i, "one"));
    }
    // The last app's file is a link to a file outside its path.
    let last = APPS - 1;
    repo.remove(&format!("app{last}/cm.yaml"));
    repo.write(&format!("shared/cm{last}.yaml"), &config_map(last, "one"));
    repo.symlink(
        &format!("app{last}/cm.yaml"),
        &format!("../shared/cm{last}.yaml"),
    );
    repo.commit("apps");
    let url = h.git.git_url("shared/apps");
    for i in 0..APPS {
        let automated = "  syncPolicy:\n    automated: {}\n";
        let path = format!("app{i}");
        h.apply(&common::application_yaml(
            &format!("app{i}"),
            &h.apps_ns,
            &url,
            &path,
            &dest,
            automated,
        ));
    }
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    eventually("every Application applied", || async {
        for i in 0..APPS {
            value_of(&cms, i).await.filter(|v| v == "one")?;
        }
        Some(())
    })
    .await;

    // Each Application is refreshed every 2 s: 32 refreshes in 8 s, each
    // of which fetched on its own before. Shared, a fetch is due once a
    // second at most (plus the odd one racing an earlier one in flight).
    let before = fetches(&h).await;
    tokio::time::sleep(WINDOW).await;
    let made = fetches(&h).await - before;
    let refreshes = APPS as u64 * WINDOW.as_secs() / REFRESH.as_secs();
    eprintln!("{made} fetches for {refreshes} refreshes");
    assert!(
        made >= 1,
        "the repository is still fetched by the refreshes"
    );
    assert!(
        made <= refreshes / 2,
        "{made} fetches for {refreshes} refreshes of {APPS} Applications of one repository"
    );

    // A push without a webhook reaches every Application at a refresh.
    for i in 0..APPS {
        repo.write(&format!("app{i}/cm.yaml"), &config_map(i, "two"));
    }
    repo.commit("two");
    eventually("the new commit applied by every Application", || async {
        for i in 0..APPS {
            value_of(&cms, i).await.filter(|v| v == "two")?;
        }
        Some(())
    })
    .await;

    // A commit that changes app0's file and the file the last app's link
    // leads to: those two render it, the others take their render at the
    // commit before over.
    let (rendered, carried) = (renders(&h, "rendered").await, renders(&h, "carried").await);
    repo.write("app0/cm.yaml", &config_map(0, "three"));
    repo.write(&format!("shared/cm{last}.yaml"), &config_map(last, "three"));
    repo.write("README.md", "not part of any app\n");
    let third = repo.commit("three");
    for i in 0..APPS {
        h.wait_app(&format!("app{i}"), "at the third commit", |app| {
            common::revision_of(app) == Some(third.as_str())
        })
        .await;
    }
    assert_eq!(value_of(&cms, 0).await.as_deref(), Some("three"));
    eventually("the linked file's change applied", || async {
        value_of(&cms, last).await.filter(|v| v == "three")
    })
    .await;
    let rendered = renders(&h, "rendered").await - rendered;
    let carried = renders(&h, "carried").await - carried;
    assert_eq!(
        (rendered, carried),
        (2, APPS as u64 - 2),
        "renders of the third commit: app0 and the linked app rendered, the others carried over"
    );
}

/// New Applications share a fetch made after they were created instead of
/// each fetching on its own; an Application created right after a push
/// still reads that push, even when the repository was fetched in the same
/// second (creation times are whole seconds).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn new_applications_share_a_fetch_made_after_they_exist() {
    const NEW: usize = 6;
    let mut h = Harness::new("newfetch").await;
    let dest = h.namespace("newfetch-dest").await;
    let repo = h.git.create_repo("shared/new");
    for i in 0..=NEW {
        repo.write(&format!("app{i}/cm.yaml"), &config_map(i, "one"));
    }
    let first = repo.commit("apps");
    let url = h.git.git_url("shared/new");
    let ns = h.apps_ns.clone();
    let app = |i: usize| {
        common::application_yaml(
            &format!("app{i}"),
            &ns,
            &url,
            &format!("app{i}"),
            &dest,
            "  syncPolicy:\n    automated: {}\n",
        )
    };
    // Created while no controller runs, and reconciled one at a time more
    // than a second later: the first reconcile clones the mirror, after
    // every Application was created, so the others need no fetch.
    for i in 0..NEW {
        h.apply(&app(i));
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut config = h.config(Duration::from_secs(600));
    config.concurrency = 1;
    h.start_controller_with(config).await;
    for i in 0..NEW {
        h.wait_synced_healthy(&format!("app{i}"), Some(&first))
            .await;
    }
    let made = fetches(&h).await;
    assert!(
        made <= 1,
        "{made} fetches for {NEW} new Applications created before one fetch"
    );

    // app0 fetches (a refresh asks it to); a push and a new Application
    // follow at once, most likely within the same second: the new one must
    // not take app0's fetch for its own.
    let before = fetches(&h).await;
    h.kubectl(&[
        "annotate",
        "application",
        "app0",
        "-n",
        &h.apps_ns,
        "argocd.argoproj.io/refresh=normal",
    ]);
    eventually("app0's refresh fetched", || async {
        (fetches(&h).await > before).then_some(())
    })
    .await;
    repo.write(&format!("app{NEW}/cm.yaml"), &config_map(NEW, "two"));
    let second = repo.commit("two");
    h.apply(&app(NEW));
    h.wait_synced_healthy(&format!("app{NEW}"), Some(&second))
        .await;
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    assert_eq!(value_of(&cms, NEW).await.as_deref(), Some("two"));
}
