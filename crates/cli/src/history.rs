//! `driftless history NAME` (the Application's `status.history`) and
//! `driftless rollback NAME [ID]`: a sync of a history entry's recorded
//! source definitions at its revision(s), as Argo CD's rollback, with
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

/// What a rollback to `entry` syncs: the source definitions it recorded
/// (`sources` for several, else `source`; `spec`'s when it recorded none),
/// which the sync operation carries for itself, leaving `spec` unchanged.
fn recorded(entry: &RevisionHistory) -> ops::Definitions<'_> {
    match entry.sources.as_slice() {
        [] => ops::Definitions {
            source: entry.source.as_ref(),
            sources: &[],
        },
        all => ops::Definitions {
            source: None,
            sources: all,
        },
    }
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
        let token = ops::request_sync(
            &cluster,
            &name,
            Some(&entry.revision),
            &entry.revisions,
            recorded(&entry),
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

    fn source(repo: &str) -> ApplicationSource {
        ApplicationSource {
            repo_url: repo.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_rollback_syncs_the_recorded_sources_of_a_multi_source_entry() {
        let mut two = entry(3);
        two.revisions = vec!["1".repeat(40), "2".repeat(40)];
        two.source = Some(source("a"));
        two.sources = vec![source("a"), source("b")];
        let definitions = recorded(&two);
        assert_eq!(definitions.sources, [source("a"), source("b")]);
        assert_eq!(definitions.source, None, "sources, not the leading one");
        assert_eq!(revisions_text(&two), "revisions 1111111,2222222");
    }

    #[test]
    fn a_rollback_syncs_the_recorded_source_of_a_single_source_entry() {
        let mut one = entry(1);
        one.source = Some(source("a"));
        let definitions = recorded(&one);
        assert_eq!(definitions.source, Some(&source("a")));
        assert!(definitions.sources.is_empty());
        assert_eq!(revisions_text(&one), format!("revision {}", "0".repeat(7)));
        let bare = entry(2);
        let none = recorded(&bare);
        assert!(none.source.is_none() && none.sources.is_empty(), "spec's");
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
