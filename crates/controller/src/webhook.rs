//! Which Applications a Git push affects: same repository, a matching
//! revision, and a changed file under the rendered path or among the files
//! the last render read (bases included). Pure, except
//! [`refresh_git_repositories`].

use driftless_source::webhook::PushEvent;

use crate::context::{AppMemory, Context, RefSourceMemory};

/// Triggers a reconcile now of every watched Flux GitRepository whose
/// `spec.url` is the pushed repository (same URL normalisation as for
/// Applications) and whose `spec.ref` the pushed ref can move (not one on
/// another branch, a tag, a semver range on a branch push, a commit); no
/// path filter: each reconcile fetches anyway. Returns them as
/// `namespace/name`.
pub(crate) fn refresh_git_repositories(push: &PushEvent, ctx: &Context) -> Vec<String> {
    ctx.git_repositories.trigger_where(|repo| {
        names_repo(push, &repo.spec.url) && crate::gitrepository::moved_by(repo, &push.git_ref)
    })
}

/// Whether `push` is about the repository at `url` (any of its spellings:
/// scheme case, `.git`, trailing slash, default port).
pub(crate) fn names_repo(push: &PushEvent, url: &str) -> bool {
    let Ok(repo) = driftless_source::normalize_url(url) else {
        return false;
    };
    push.repo_urls
        .iter()
        .filter_map(|u| driftless_source::normalize_url(u).ok())
        .any(|u| u == repo)
}

/// Whether `push` affects the Application remembered as `app`: its own
/// source, or a file its last render read from one of its `ref` sources.
pub fn affects(push: &PushEvent, app: &AppMemory) -> bool {
    affects_source(push, app) || app.ref_sources.iter().any(|r| affects_ref(push, r))
}

/// Whether `push` changes a file the last render read from the ref source `r`.
fn affects_ref(push: &PushEvent, r: &RefSourceMemory) -> bool {
    if r.files.is_empty()
        || !names_repo(push, &r.repo)
        || !revision_matches(push, &r.target_revision)
    {
        return false;
    }
    match &push.changed_files {
        None => true,
        Some(changed) => changed.iter().any(|file| {
            let file = file.trim_start_matches('/');
            r.files.iter().any(|f| {
                f == file || f == "/" || (f.ends_with('/') && file.starts_with(f.as_str()))
            })
        }),
    }
}

fn affects_source(push: &PushEvent, app: &AppMemory) -> bool {
    if app.repo.is_empty() {
        return false;
    }
    if !names_repo(push, &app.repo) || !revision_matches(push, &app.target_revision) {
        return false;
    }
    let Some(changed) = &push.changed_files else {
        return true;
    };
    let prefix = if app.path.is_empty() {
        String::new()
    } else {
        format!("{}/", app.path)
    };
    changed.iter().any(|file| {
        let file = file.trim_start_matches('/');
        file.starts_with(&prefix) || app.files_read.iter().any(|r| r == file)
    })
}

fn revision_matches(push: &PushEvent, target: &str) -> bool {
    let target = target.trim();
    match target {
        "" | "HEAD" => true,
        t if t == push.git_ref => true,
        t => push.branch() == Some(t) || push.tag() == Some(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_source::webhook::Provider;

    fn push(files: Option<&[&str]>) -> PushEvent {
        PushEvent {
            provider: Provider::Generic,
            repo_urls: vec!["https://git.example/org/apps.git".into()],
            git_ref: "refs/heads/main".into(),
            before: None,
            after: None,
            changed_files: files.map(|f| f.iter().map(|s| s.to_string()).collect()),
        }
    }

    fn app(path: &str, rev: &str) -> AppMemory {
        AppMemory {
            repo: "https://git.example/org/apps".into(),
            path: path.into(),
            target_revision: rev.into(),
            files_read: vec![
                "base/deployment.yaml".into(),
                "overlays/dev/kustomization.yaml".into(),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn gitrepositories_match_any_spelling_of_the_pushed_url() {
        let p = push(None);
        for url in [
            "https://git.example/org/apps.git",
            "https://git.example/org/apps",
            "https://GIT.example/org/apps/",
            "https://git.example:443/org/apps.git",
        ] {
            assert!(names_repo(&p, url), "{url}");
        }
        for url in [
            "https://git.example/org/apps-old",
            "https://git.example/other/apps",
            "not a url",
        ] {
            assert!(!names_repo(&p, url), "{url}");
        }
    }

    #[test]
    fn matches_path_bases_and_revision() {
        let dev = app("overlays/dev", "main");
        assert!(affects(&push(Some(&["overlays/dev/patch.yaml"])), &dev));
        assert!(
            affects(&push(Some(&["base/deployment.yaml"])), &dev),
            "a base it reads"
        );
        assert!(!affects(&push(Some(&["overlays/prod/patch.yaml"])), &dev));
        assert!(
            !affects(&push(Some(&["overlays/dev-old/x.yaml"])), &dev),
            "prefix must end at a slash"
        );
        assert!(affects(&push(None), &dev), "no file list: refresh");
        assert!(
            !affects(&push(None), &app("overlays/dev", "release")),
            "other branch"
        );
        assert!(affects(&push(None), &app("overlays/dev", "HEAD")));
        assert!(!affects(&push(None), &AppMemory::default()));
    }

    #[test]
    fn a_ref_source_counts_only_for_the_files_read_from_it() {
        // A chart from a Helm repository, its values from the pushed repository.
        let chart = AppMemory {
            repo: "https://charts.example".into(),
            target_revision: "1.2.0".into(),
            ref_sources: vec![RefSourceMemory {
                repo: "https://git.example/org/apps.git".into(),
                target_revision: "main".into(),
                files: vec!["values/shop.yaml".into()],
            }],
            ..Default::default()
        };
        assert!(affects(&push(Some(&["values/shop.yaml"])), &chart));
        assert!(!affects(&push(Some(&["values/blog.yaml"])), &chart));
        assert!(affects(&push(None), &chart), "no file list: refresh");
        let mut other_branch = chart.clone();
        other_branch.ref_sources[0].target_revision = "release".into();
        assert!(!affects(&push(Some(&["values/shop.yaml"])), &other_branch));
        let mut directory = chart.clone();
        directory.ref_sources[0].files = vec!["manifests/".into()];
        assert!(affects(&push(Some(&["manifests/new.yaml"])), &directory));
        assert!(!affects(&push(Some(&["manifestsx/a.yaml"])), &directory));
        directory.ref_sources[0].files = vec!["/".into()];
        assert!(
            affects(&push(Some(&["any/file.yaml"])), &directory),
            "the root"
        );
        let mut unused = chart;
        unused.ref_sources[0].files.clear();
        assert!(
            !affects(&push(None), &unused),
            "a ref nothing was read from"
        );
    }
}
