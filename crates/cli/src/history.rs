//! `driftless history NAME` (the Application's `status.history`) and
//! `driftless rollback NAME [ID]`: a sync to an earlier revision, with
//! automated sync paused first, as Argo CD requires.

use std::time::Duration;

use driftless_api::{Application, ApplicationSource, RevisionHistory};
use kube::ResourceExt;

use crate::cluster::{Cluster, KubeFlags, block_on};
use crate::controller::parse_duration;
use crate::error::CliError;
use crate::kinds::{self, Found};
use crate::ops;
use crate::output::table::Table;
use crate::output::{self, color};
use crate::wait::{self, Goal};

/// Arguments of `driftless history`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:
  driftless history guestbook     # ID, when, revision and who started each sync")]
pub(crate) struct HistoryArgs {
    /// The Application.
    name: String,
    #[command(flatten)]
    kube: KubeFlags,
}

/// Arguments of `driftless rollback`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Automated sync would undo a rollback at once, so it is paused first
(syncPolicy.automated.enabled=false, as `driftless suspend` does); `driftless resume NAME`
turns it back on, which syncs the target revision again.

Examples:
  driftless rollback guestbook          # to the sync before the current one
  driftless rollback guestbook 3 --wait # to history ID 3 (see `driftless history`)"
)]
pub(crate) struct RollbackArgs {
    /// The Application.
    name: String,
    /// The history ID to return to (default: the one before the latest).
    id: Option<i64>,
    /// Wait for the sync to finish and the objects to become healthy.
    #[arg(long)]
    wait: bool,
    /// How long `--wait` waits.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    timeout: Duration,
    #[command(flatten)]
    kube: KubeFlags,
}

async fn app_only(cluster: &Cluster, name: &str) -> anyhow::Result<Application> {
    match kinds::find(cluster, name).await? {
        Found::App(app) => Ok(*app),
        Found::Ks(ks) => Err(CliError::Usage(format!(
            "Kustomization {}: Flux keeps no sync history; roll back by reverting the commit in Git",
            ks.name_any()
        ))
        .into()),
    }
}

/// Runs `history`.
pub(crate) fn history(args: &HistoryArgs) -> anyhow::Result<()> {
    block_on(async {
        let cluster = Cluster::connect(&args.kube).await?;
        let app = app_only(&cluster, &args.name).await?;
        let entries = app.status.clone().unwrap_or_default().history;
        if entries.is_empty() {
            println!("Application {} has not been synced yet", app.name_any());
            return Ok(());
        }
        print!(
            "{}",
            history_table(&entries).render(color::stdout_wants_color())
        );
        Ok(())
    })?
}

fn history_table(entries: &[RevisionHistory]) -> Table {
    let mut t = Table::new(&["ID", "DEPLOYED", "REVISION", "SOURCE", "INITIATED BY"]);
    for h in entries {
        let describe =
            |s: &ApplicationSource| format!("{} {} ({})", s.repo_url, s.path(), s.revision());
        let source = match h.sources.as_slice() {
            [] => h.source.as_ref().map(describe).unwrap_or_default(),
            all => all.iter().map(describe).collect::<Vec<_>>().join(", "),
        };
        let who = match &h.initiated_by {
            Some(i) if i.automated => "automated".to_string(),
            Some(i) => i.username.clone().unwrap_or_default(),
            None => String::new(),
        };
        let deployed = h
            .deployed_at
            .as_ref()
            .map(|t| format!("{} ago", output::age(Some(t))))
            .unwrap_or_default();
        t.push(vec![
            h.id.to_string(),
            deployed,
            short_revisions(h),
            source,
            who,
        ]);
    }
    t
}

/// The revision of `entry`, or each source's, shortened and comma-separated.
fn short_revisions(entry: &RevisionHistory) -> String {
    match entry.revisions.as_slice() {
        [] => output::short_revision(&entry.revision),
        all => all
            .iter()
            .map(|r| output::short_revision(r))
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// The entry to roll back to: `id`, or the one before the latest.
fn pick(
    entries: &[RevisionHistory],
    id: Option<i64>,
    name: &str,
) -> Result<RevisionHistory, CliError> {
    match id {
        Some(id) => entries.iter().find(|h| h.id == id).cloned().ok_or_else(|| {
            let ids: Vec<String> = entries.iter().map(|h| h.id.to_string()).collect();
            CliError::Usage(format!(
                "Application {name} has no history ID {id} (IDs: {})",
                if ids.is_empty() {
                    "none".into()
                } else {
                    ids.join(", ")
                }
            ))
        }),
        None if entries.len() >= 2 => Ok(entries[entries.len() - 2].clone()),
        None => Err(CliError::Usage(format!(
            "Application {name} has no earlier sync to roll back to (see `driftless history {name}`)"
        ))),
    }
}

/// A multi-source `entry` is rolled back by syncing the current
/// `spec.sources` at its revisions, so their number must not have changed.
fn check_sources(app: &Application, entry: &RevisionHistory) -> Result<(), CliError> {
    let now = app.spec.spec.sources.len();
    let then = entry.revisions.len();
    if then == 0 || then == now {
        return Ok(());
    }
    Err(CliError::Failed(format!(
        "Application {}: history ID {} synced {then} sources but spec.sources now has {now}; \
         a rollback syncs the current sources at the recorded revisions, so it needs the same \
         number of sources (restore spec.sources or sync a revision per source with \
         `driftless sync --revision R --source-position N`)",
        app.name_any(),
        entry.id
    )))
}

/// `revision R`, or for several sources `revisions R1,R2` (short SHAs).
fn revisions_text(entry: &RevisionHistory) -> String {
    let plural = if entry.revisions.is_empty() { "" } else { "s" };
    format!("revision{plural} {}", short_revisions(entry))
}

/// Runs `rollback`.
pub(crate) fn rollback(args: &RollbackArgs) -> anyhow::Result<()> {
    block_on(async {
        let cluster = Cluster::connect(&args.kube).await?;
        let app = app_only(&cluster, &args.name).await?;
        let name = app.name_any();
        let entries = app.status.clone().unwrap_or_default().history;
        let entry = pick(&entries, args.id, &name)?;
        let automated = app
            .spec
            .spec
            .sync_policy
            .as_ref()
            .and_then(|p| p.automated.as_ref());
        if automated.is_some_and(|a| a.enabled != Some(false)) {
            ops::set_automated(&cluster, &app, false).await?;
            println!(
                "Application {name}: automated sync paused for the rollback (`driftless resume {name}` turns it back on)"
            );
        }
        check_sources(&app, &entry)?;
        let token = ops::request_sync(
            &cluster,
            &name,
            Some(&entry.revision),
            &entry.revisions,
            false,
        )
        .await?;
        println!(
            "Application {name}: rolling back to history ID {} ({})",
            entry.id,
            revisions_text(&entry)
        );
        if args.wait {
            wait::wait_app(
                &cluster,
                &name,
                Goal::Operation {
                    token,
                    dry_run: false,
                    resources: Vec::new(),
                },
                args.timeout,
            )
            .await?;
        }
        Ok(())
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64) -> RevisionHistory {
        RevisionHistory {
            id,
            revision: format!("{id:040}"),
            ..RevisionHistory::default()
        }
    }

    #[test]
    fn a_multi_source_entry_needs_as_many_sources_as_it_recorded() {
        let source = |repo: &str| driftless_api::ApplicationSource {
            repo_url: repo.into(),
            ..Default::default()
        };
        let mut app = Application::new("web", Default::default());
        app.spec.spec.sources = vec![source("a"), source("b")];
        let mut two = entry(3);
        two.revisions = vec!["1".repeat(40), "2".repeat(40)];
        assert!(check_sources(&app, &two).is_ok());
        assert!(check_sources(&app, &entry(1)).is_ok(), "one source");
        assert_eq!(revisions_text(&two), "revisions 1111111,2222222");
        assert_eq!(
            revisions_text(&entry(1)),
            format!("revision {}", "0".repeat(7))
        );

        app.spec.spec.sources.push(source("c"));
        let err = check_sources(&app, &two).unwrap_err().to_string();
        assert!(
            err.contains("history ID 3 synced 2 sources but spec.sources now has 3"),
            "{err}"
        );
    }

    #[test]
    fn rollback_targets() {
        let entries = [entry(1), entry(2), entry(5)];
        assert_eq!(pick(&entries, None, "a").unwrap().id, 2);
        assert_eq!(pick(&entries, Some(1), "a").unwrap().id, 1);
        let err = pick(&entries, Some(4), "a").unwrap_err().to_string();
        assert!(err.contains("no history ID 4 (IDs: 1, 2, 5)"), "{err}");
        assert!(pick(&entries[..1], None, "a").is_err());
    }
}
