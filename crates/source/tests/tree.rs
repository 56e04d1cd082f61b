//! A commit's files through the render crate's FileTree trait, symlinks,
//! size limits and changed paths, against a real Git server.

mod common;

use driftless_render::tree::{EntryKind, FileTree, MAX_FILE_BYTES, TreeError};
use driftless_source::SourceError;
use driftless_testkit::git::GitServer;

use common::*;

#[tokio::test]
async fn reads_files_dirs_and_inner_symlinks() {
    let server = GitServer::start().await;
    let repo = server.create_repo("tree");
    repo.write("base/kustomization.yaml", "resources: [cm.yaml]\n");
    repo.write("base/cm.yaml", "kind: ConfigMap\n");
    repo.write(
        "overlays/dev/kustomization.yaml",
        "resources: [../../base]\n",
    );
    repo.symlink("overlays/dev/cm-link.yaml", "../../base/cm.yaml");
    repo.symlink("shared", "base");
    repo.symlink("overlays/loop", "loop");
    repo.symlink("overlays/dangling", "nowhere.yaml");
    let sha = repo.commit("tree");
    let (_d, cache) = cache();
    let url = server.git_url("tree");
    let r = cache.resolve(&url, "main", false).await.unwrap();
    let tree = cache.tree(&url, &r.sha).unwrap();
    assert_eq!(tree.commit(), sha);

    assert_eq!(tree.read("base/cm.yaml").unwrap(), b"kind: ConfigMap\n");
    assert_eq!(tree.read("./base//cm.yaml").unwrap(), b"kind: ConfigMap\n");
    assert_eq!(
        tree.read("overlays/dev/cm-link.yaml").unwrap(),
        b"kind: ConfigMap\n"
    );
    assert_eq!(tree.read("shared/cm.yaml").unwrap(), b"kind: ConfigMap\n");
    assert_eq!(tree.entry("shared").unwrap(), Some(EntryKind::Dir));
    assert_eq!(tree.entry("base/cm.yaml").unwrap(), Some(EntryKind::File));
    assert_eq!(tree.entry("base/missing.yaml").unwrap(), None);
    assert_eq!(tree.entry("").unwrap(), Some(EntryKind::Dir));
    assert_eq!(
        tree.list("").unwrap(),
        vec![
            ("base".to_string(), EntryKind::Dir),
            ("overlays".to_string(), EntryKind::Dir),
            ("shared".to_string(), EntryKind::Dir),
        ]
    );
    assert_eq!(
        tree.list("overlays/dev").unwrap(),
        vec![
            ("cm-link.yaml".to_string(), EntryKind::File),
            ("kustomization.yaml".to_string(), EntryKind::File),
        ]
    );
    assert!(matches!(
        tree.read("base"),
        Err(TreeError::WrongKind { .. })
    ));
    assert!(matches!(
        tree.list("base/cm.yaml"),
        Err(TreeError::WrongKind { .. })
    ));
    assert!(matches!(
        tree.read("nope.yaml"),
        Err(TreeError::NotFound { .. })
    ));
    assert!(matches!(
        tree.read("overlays/dangling"),
        Err(TreeError::NotFound { .. })
    ));
    assert!(matches!(
        tree.read("overlays/loop"),
        Err(TreeError::Io { .. })
    ));
    assert!(matches!(
        tree.read("../etc/passwd"),
        Err(TreeError::Escapes { .. })
    ));

    // Where a path leads once its symlinks are followed (a render that read
    // it depends on that file too).
    let real = |p: &str| tree.read_resolved(p).ok().and_then(|(_, real)| real);
    assert_eq!(
        real("overlays/dev/cm-link.yaml").as_deref(),
        Some("base/cm.yaml")
    );
    assert_eq!(real("shared/cm.yaml").as_deref(), Some("base/cm.yaml"));
    assert_eq!(real("./base//cm.yaml"), None, "no symlink on the way");
    assert_eq!(real("overlays/dangling"), None);

    // The tree can be used from a blocking task, as the render does.
    let tree: Box<dyn FileTree> = Box::new(tree);
    let n = tokio::task::spawn_blocking(move || tree.list("base").unwrap().len())
        .await
        .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test]
async fn symlinks_out_of_the_tree_are_refused() {
    let server = GitServer::start().await;
    let repo = server.create_repo("escape");
    repo.write("app/ok.yaml", "a: 1\n");
    repo.symlink("app/passwd", "/etc/passwd");
    repo.symlink("app/up", "../../outside.yaml");
    repo.symlink("app/dir-out", "../..");
    let sha = repo.commit("escape");
    let (_d, cache) = cache();
    let url = server.git_url("escape");
    cache.resolve(&url, &sha, false).await.unwrap();
    let tree = cache.tree(&url, &sha).unwrap();
    for path in ["app/passwd", "app/up", "app/dir-out/etc/passwd"] {
        match tree.read(path) {
            Err(TreeError::Escapes { path: p }) => assert_eq!(p, path),
            other => panic!("{path}: expected Escapes, got {other:?}"),
        }
    }
    assert!(matches!(
        tree.entry("app/passwd"),
        Err(TreeError::Escapes { .. })
    ));
    // Listings leave escaping entries out.
    assert_eq!(
        tree.list("app").unwrap(),
        vec![("ok.yaml".to_string(), EntryKind::File)]
    );
    // ... and name them, with their targets, for a warning.
    let skipped: Vec<(String, String)> = tree
        .skipped_links("app")
        .unwrap()
        .into_iter()
        .map(|l| (l.name, l.target))
        .collect();
    assert_eq!(
        skipped,
        [
            ("dir-out".to_string(), "../..".to_string()),
            ("passwd".to_string(), "/etc/passwd".to_string()),
            ("up".to_string(), "../../outside.yaml".to_string()),
        ]
    );
}

#[tokio::test]
async fn files_over_the_limit_are_refused() {
    let server = GitServer::start().await;
    let repo = server.create_repo("big");
    repo.write_bytes("big.bin", &vec![b'x'; MAX_FILE_BYTES as usize + 1]);
    repo.write("small.yaml", "a: 1\n");
    let sha = repo.commit("big");
    let (_d, cache) = cache();
    let url = server.git_url("big");
    cache.resolve(&url, "main", false).await.unwrap();
    let tree = cache.tree(&url, &sha).unwrap();
    match tree.read("big.bin") {
        Err(TreeError::TooLarge { path, size, limit }) => {
            assert_eq!(path, "big.bin");
            assert_eq!(size, MAX_FILE_BYTES + 1);
            assert_eq!(limit, MAX_FILE_BYTES);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(tree.read("small.yaml").unwrap(), b"a: 1\n");
}

#[tokio::test]
async fn changed_paths_between_commits() {
    let server = GitServer::start().await;
    let (repo, first) = seeded(&server, "changes");
    repo.write("app/config.yaml", "replicas: 2\n");
    repo.write("app/new.yaml", "new: true\n");
    repo.remove("base/cm.yaml");
    repo.write("other/x.yaml", "x: 1\n");
    let second = repo.commit("change");
    let (_d, cache) = cache();
    let url = server.git_url("changes");
    cache.resolve(&url, "main", false).await.unwrap();
    let changed = cache.changed_paths(&url, &first, &second).await.unwrap();
    assert_eq!(
        &changed[..],
        [
            "app/config.yaml",
            "app/new.yaml",
            "base/cm.yaml",
            "other/x.yaml"
        ]
    );
    // A directory replaced by a file, a file by a symlink, a mode change
    // and a new nested directory: the same names `git diff` gives.
    repo.write("app/run.sh", "echo\n");
    let before = repo.commit("a script");
    repo.remove("other");
    repo.write("other", "now a file\n");
    repo.remove("app/config.yaml");
    repo.symlink("app/config.yaml", "new.yaml");
    let script = repo.work_path().join("app/run.sh");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    repo.write("deep/a/b/c.yaml", "c: 1\n");
    repo.write("deep/a/d.yaml", "d: 1\n");
    let after = repo.commit("reshaped");
    cache.resolve(&url, "main", true).await.unwrap();
    let reshaped = cache.changed_paths(&url, &before, &after).await.unwrap();
    let git = std::process::Command::new("git")
        .current_dir(repo.work_path())
        .args(["diff", "--name-only", "--no-renames", &before, &after])
        .output()
        .unwrap();
    let mut by_git: Vec<&str> = std::str::from_utf8(&git.stdout).unwrap().lines().collect();
    by_git.sort_unstable();
    assert_eq!(
        by_git,
        [
            "app/config.yaml",
            "app/run.sh",
            "deep/a/b/c.yaml",
            "deep/a/d.yaml",
            "other",
            "other/x.yaml"
        ]
    );
    assert_eq!(&reshaped[..], by_git);
    assert!(
        cache
            .changed_paths(&url, &second, &second)
            .await
            .unwrap()
            .is_empty()
    );
    let short = cache
        .changed_paths(&url, &first[..8], &second[..8])
        .await
        .unwrap();
    assert_eq!(short, changed);
    let err = cache
        .changed_paths(&url, &first, "0000000000000000000000000000000000000001")
        .await
        .unwrap_err();
    assert!(
        matches!(err, SourceError::RevisionNotFound { .. }),
        "{err:?}"
    );
    // A tree of a commit the mirror lacks is a clear error too.
    let err = cache
        .tree(&url, "0000000000000000000000000000000000000001")
        .unwrap_err();
    assert!(
        matches!(err, SourceError::RevisionNotFound { .. }),
        "{err:?}"
    );
}
