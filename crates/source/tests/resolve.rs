//! Revision resolution, fetching and the shared mirror against a real Git server.

mod common;

use std::sync::Arc;

use driftless_render::tree::FileTree;
use driftless_source::SourceError;
use driftless_testkit::git::GitServer;

use common::*;

#[tokio::test]
async fn resolves_every_revision_form() {
    let server = GitServer::start().await;
    let (repo, first) = seeded(&server, "forms");
    repo.tag("v1.0.0");
    repo.tag_annotated("v1.0.1", "annotated");
    repo.branch("feature");
    repo.write("app/config.yaml", "replicas: 2\n");
    let on_feature = repo.commit("on feature");
    repo.checkout("main");
    repo.write("app/config.yaml", "replicas: 3\n");
    let main = repo.commit("second on main");

    let (_dir, cache) = cache();
    let url = server.git_url("forms");
    let sha = |r: &str| {
        let cache = &cache;
        let url = url.clone();
        let r = r.to_string();
        async move {
            cache
                .resolve(&url, &r, false)
                .await
                .unwrap_or_else(|e| panic!("{r}: {e}"))
                .sha
        }
    };
    assert_eq!(sha("HEAD").await, main);
    assert_eq!(sha("").await, main);
    assert_eq!(sha("main").await, main);
    assert_eq!(sha("feature").await, on_feature);
    assert_eq!(sha("v1.0.0").await, first);
    assert_eq!(
        sha("v1.0.1").await,
        first,
        "annotated tags peel to their commit"
    );
    assert_eq!(sha("refs/heads/feature").await, on_feature);
    assert_eq!(sha("refs/tags/v1.0.0").await, first);
    assert_eq!(sha(&first).await, first);
    assert_eq!(sha(&first[..7]).await, first);
    assert_eq!(sha(&first.to_uppercase()).await, first);

    // HEAD follows the server's default branch.
    repo.set_default_branch("feature");
    let r = cache.resolve(&url, "HEAD", true).await.unwrap();
    assert_eq!(r.sha, on_feature);

    // The tree of a resolved commit reads its files.
    let tree = cache.tree(&url, &on_feature).unwrap();
    assert_eq!(tree.read("app/config.yaml").unwrap(), b"replicas: 2\n");
}

#[tokio::test]
async fn missing_revision_is_a_clear_error() {
    let server = GitServer::start().await;
    seeded(&server, "missing");
    let (_dir, cache) = cache();
    let url = server.git_url("missing");
    for rev in [
        "no-such-branch",
        "refs/heads/nope",
        "deadbeef",
        &"ab".repeat(20),
    ] {
        match cache.resolve(&url, rev, true).await {
            Err(e @ SourceError::RevisionNotFound { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(rev) && msg.contains("missing.git"), "{msg}");
            }
            other => panic!("{rev}: expected RevisionNotFound, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn fetch_after_push_sees_new_commit() {
    let server = GitServer::start().await;
    let (repo, first) = seeded(&server, "moving");
    let (_dir, cache) = cache();
    let url = server.http_url("moving");
    let (_d2, cache_http) = cache_with(http_credentials(&server), options());
    for (cache, url) in [(&cache, server.git_url("moving")), (&cache_http, url)] {
        assert_eq!(cache.resolve(&url, "main", true).await.unwrap().sha, first);
    }
    repo.write("app/config.yaml", "replicas: 9\n");
    let second = repo.commit("second");
    for (cache, url) in [
        (&cache, server.git_url("moving")),
        (&cache_http, server.http_url("moving")),
    ] {
        // Without refresh the mirror answers from what it has.
        assert_eq!(cache.resolve(&url, "main", false).await.unwrap().sha, first);
        let r = cache.resolve(&url, "main", true).await.unwrap();
        assert_eq!(r.sha, second);
        assert!(r.fetched);
        let tree = cache.tree(&url, &r.sha).unwrap();
        assert_eq!(tree.read("app/config.yaml").unwrap(), b"replicas: 9\n");
        // The old commit is still readable.
        let old = cache.tree(&url, &first).unwrap();
        assert_eq!(old.read("app/config.yaml").unwrap(), b"replicas: 1\n");
        // A full SHA already present is not fetched again.
        let fetches = cache.stats(&url).unwrap().fetches;
        let again = cache.resolve(&url, &second, true).await.unwrap();
        assert!(!again.fetched);
        assert_eq!(cache.stats(&url).unwrap().fetches, fetches);
    }
}

#[tokio::test]
async fn two_applications_share_one_mirror() {
    let server = GitServer::start().await;
    let (_repo, sha) = seeded(&server, "shared");
    let (dir, cache) = cache();
    let url = server.git_url("shared");
    let spellings = [
        url.clone(),
        format!("{url}/"),
        url.trim_end_matches(".git").to_string(),
    ];
    for spelling in &spellings {
        assert_eq!(
            cache.resolve(spelling, "main", false).await.unwrap().sha,
            sha
        );
        assert_eq!(
            cache.mirror_path(spelling).unwrap(),
            cache.mirror_path(&url).unwrap()
        );
    }
    assert_eq!(cache.stats(&url).unwrap().fetches, 1);
    assert_eq!(cache.all_stats().len(), 1);
    let mirrors: Vec<_> = std::fs::read_dir(dir.path().join("mirrors"))
        .unwrap()
        .collect();
    assert_eq!(mirrors.len(), 1, "one mirror directory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_resolves_cause_one_fetch() {
    let server = GitServer::start().await;
    let (_repo, sha) = seeded(&server, "busy");
    let (_dir, cache) = cache();
    let cache = Arc::new(cache);
    let url = server.http_url("busy");
    let (_d, cache_http) = cache_with(http_credentials(&server), options());
    let cache_http = Arc::new(cache_http);
    for (cache, url) in [(cache.clone(), server.git_url("busy")), (cache_http, url)] {
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let cache = cache.clone();
                let url = url.clone();
                tokio::spawn(async move { cache.resolve(&url, "main", false).await })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap().sha, sha);
        }
        let stats = cache.stats(&url).unwrap();
        assert_eq!(stats.fetches, 1, "{stats:?}");
        assert_eq!(stats.clones, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_coalesce() {
    let server = GitServer::start().await;
    let (repo, _) = seeded(&server, "refreshing");
    let (_dir, cache) = cache();
    let url = server.git_url("refreshing");
    cache.resolve(&url, "main", false).await.unwrap();
    let head = repo.commit("new");
    // 20 refreshes asked at once (before any fetch starts) share one fetch.
    let calls: Vec<_> = (0..20).map(|_| cache.resolve(&url, "main", true)).collect();
    for result in futures::future::join_all(calls).await {
        assert_eq!(result.unwrap().sha, head);
    }
    let stats = cache.stats(&url).unwrap();
    assert_eq!(stats.fetches, 2, "one clone and one refresh: {stats:?}");
    // A refresh asked later fetches again.
    cache.resolve(&url, "main", true).await.unwrap();
    assert_eq!(cache.stats(&url).unwrap().fetches, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_repo_does_not_delay_another() {
    let server = GitServer::start().await;
    seeded(&server, "slow");
    let (_fast_repo, fast_sha) = seeded(&server, "fast");
    let (_dir, cache) = cache_with(http_credentials(&server), options());
    let cache = Arc::new(cache);
    server.stall("slow");
    let slow = {
        let cache = cache.clone();
        let url = server.http_url("slow");
        tokio::spawn(async move { cache.resolve(&url, "main", false).await })
    };
    // Wait until the slow fetch has really started (it holds its repo's slot).
    while cache.stats(&server.http_url("slow")).unwrap().fetches == 0 {
        tokio::task::yield_now().await;
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let fast = cache
        .resolve(&server.http_url("fast"), "main", false)
        .await
        .unwrap();
    assert_eq!(fast.sha, fast_sha);
    assert!(
        !slow.is_finished(),
        "the stalled fetch finished before it was released"
    );
    server.unstall("slow");
    assert!(slow.await.unwrap().is_ok());
}

#[tokio::test]
async fn corrupt_cache_is_recloned() {
    let server = GitServer::start().await;
    let (repo, sha) = seeded(&server, "fragile");
    let url = server.git_url("fragile");
    let dir = tempfile::tempdir().unwrap();
    let mirrors = dir.path().join("mirrors");
    let path = {
        let cache = driftless_source::MirrorCache::new(
            &mirrors,
            Arc::new(driftless_source::credentials::NoCredentials),
            options(),
        )
        .unwrap();
        cache.resolve(&url, "main", false).await.unwrap();
        cache.mirror_path(&url).unwrap()
    };
    // Simulate a crash that lost the objects: delete them all.
    std::fs::remove_dir_all(path.join("objects")).unwrap();
    std::fs::create_dir_all(path.join("objects/pack")).unwrap();
    let second = repo.commit("after crash");
    let cache = driftless_source::MirrorCache::new(
        &mirrors,
        Arc::new(driftless_source::credentials::NoCredentials),
        options(),
    )
    .unwrap();
    let r = cache.resolve(&url, "main", false).await.unwrap();
    assert_eq!(r.sha, second);
    let stats = cache.stats(&url).unwrap();
    assert_eq!(stats.recoveries, 1, "{stats:?}");
    assert_eq!(
        cache
            .tree(&url, &sha)
            .unwrap()
            .read("base/cm.yaml")
            .unwrap(),
        b"kind: ConfigMap\n"
    );

    // Garbage in HEAD and refs: also recovered.
    std::fs::write(path.join("HEAD"), "garbage").unwrap();
    let cache = driftless_source::MirrorCache::new(
        &mirrors,
        Arc::new(driftless_source::credentials::NoCredentials),
        options(),
    )
    .unwrap();
    assert_eq!(
        cache.resolve(&url, "main", false).await.unwrap().sha,
        second
    );
    assert_eq!(cache.stats(&url).unwrap().recoveries, 1);
}

#[tokio::test]
async fn last_good_mirror_survives_a_failed_fetch() {
    let server = GitServer::start().await;
    let (_repo, sha) = seeded(&server, "flaky");
    let (_dir, cache) = cache_with(http_credentials(&server), options());
    let url = server.http_url("flaky");
    assert_eq!(cache.resolve(&url, "main", true).await.unwrap().sha, sha);
    // The repository disappears from the server: the refresh fails, the
    // mirror still answers and says so.
    let moved = server.base_dir().join("flaky-moved.git");
    std::fs::rename(server.base_dir().join("flaky.git"), &moved).unwrap();
    let r = cache.resolve(&url, "main", true).await.unwrap();
    assert_eq!(r.sha, sha);
    assert!(r.stale.is_some(), "{r:?}");
    assert!(
        cache
            .tree(&url, &sha)
            .unwrap()
            .read("app/config.yaml")
            .is_ok()
    );
    assert_eq!(cache.stats(&url).unwrap().failures, 1);
    // A revision the mirror lacks fails with the fetch error.
    assert!(cache.resolve(&url, "other-branch", true).await.is_err());
}

#[tokio::test]
async fn deleted_branches_and_moved_tags_follow_the_server() {
    let server = GitServer::start().await;
    let (repo, first) = seeded(&server, "pruned");
    repo.tag("release");
    repo.branch("temp");
    let on_temp = repo.commit("temp work");
    repo.checkout("main");
    let (_dir, cache) = cache();
    let url = server.git_url("pruned");
    assert_eq!(
        cache.resolve(&url, "temp", false).await.unwrap().sha,
        on_temp
    );
    assert_eq!(
        cache.resolve(&url, "release", false).await.unwrap().sha,
        first
    );

    repo.delete_branch("temp");
    let second = repo.commit("second");
    repo.move_tag("release");
    assert_eq!(
        cache.resolve(&url, "release", true).await.unwrap().sha,
        second
    );
    match cache.resolve(&url, "temp", true).await {
        Err(SourceError::RevisionNotFound { .. }) => {}
        other => panic!("a deleted branch still resolves: {other:?}"),
    }
}

#[tokio::test]
async fn packs_are_merged_and_history_stays_readable() {
    let server = GitServer::start().await;
    let (repo, first) = seeded(&server, "busy-history");
    let opts = driftless_source::Options {
        max_packs: 4,
        ..options()
    };
    let (_dir, cache) = cache_with(Arc::new(driftless_source::credentials::NoCredentials), opts);
    let url = server.git_url("busy-history");
    cache.resolve(&url, "main", false).await.unwrap();
    let mut shas = vec![first];
    for i in 0..12 {
        repo.write(&format!("app/file-{i}.yaml"), &format!("n: {i}\n"));
        let sha = repo.commit(&format!("commit {i}"));
        let r = cache.resolve(&url, "main", true).await.unwrap();
        assert_eq!(r.stale, None, "commit {i}");
        assert_eq!(r.sha, sha, "commit {i}");
        // Read at once, through a read handle kept from before the fetch
        // (and from before a merge of the packs).
        let name = format!("app/file-{i}.yaml");
        let tree = cache.tree(&url, &sha).unwrap();
        assert_eq!(tree.read(&name).unwrap(), format!("n: {i}\n").into_bytes());
        drop(tree);
        shas.push(sha);
    }
    let stats = cache.stats(&url).unwrap();
    assert!(stats.repacks >= 1, "{stats:?}");
    let packs = std::fs::read_dir(cache.mirror_path(&url).unwrap().join("objects/pack"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
        .count();
    assert!(packs <= 4, "{packs} packs left");
    for (i, sha) in shas.iter().enumerate().skip(1) {
        let tree = cache.tree(&url, sha).unwrap();
        let name = format!("app/file-{}.yaml", i - 1);
        assert_eq!(
            tree.read(&name).unwrap(),
            format!("n: {}\n", i - 1).into_bytes()
        );
    }
    assert!(
        cache
            .tree(&url, &shas[0])
            .unwrap()
            .read("base/cm.yaml")
            .is_ok()
    );
}
