//! Requests through the API, as Argo CD's and Flux's own tools make them:
//! `sync` (an Application's `operation`), `reconcile` and `refresh`
//! (`reconcile.fluxcd.io/requestedAt`, `argocd.argoproj.io/refresh`),
//! `suspend` and `resume`.

mod revisions;

use std::time::Duration;

use driftless_api::flux::RECONCILE_REQUESTED_AT;
use driftless_api::flux::kustomize::v1::Kustomization;
use driftless_api::flux::source::v1::GitRepository;
use driftless_api::{Application, ApplicationSource, OperationPhase, SyncOperationResource};
use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};
use serde_json::json;

use crate::cluster::{Cluster, KubeFlags, block_on};
use crate::controller::parse_duration;
use crate::error::{CliError, Subject};
use crate::kinds::{self, Found};
use crate::wait::{self, Goal};
use revisions::Asked;

/// The annotation `argocd app get --refresh` sets.
pub(crate) const REFRESH_ANNOTATION: &str = "argocd.argoproj.io/refresh";

/// Arguments of `driftless sync`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  driftless sync guestbook --wait                     # sync to the target revision, show progress
  driftless sync guestbook --revision v1.2.0 --prune  # sync an older tag and delete what left Git
  driftless sync web --revision 2.1.0 --source-position 1  # several sources: the first at 2.1.0
  driftless sync guestbook --resource apps:Deployment:web --resource :Service:web
  driftless sync guestbook --dry-run                  # what would be applied (see the operation state)
  driftless sync ks/podinfo --wait                    # a Flux Kustomization: a reconcile")]
pub(crate) struct SyncArgs {
    /// The Application (or `ks/NAME`, a Kustomization).
    name: String,
    /// Sync this revision (branch, tag or commit; a chart version) instead
    /// of the target revision. With `--source-position`, repeatable: one
    /// per position.
    #[arg(long, alias = "revisions")]
    revision: Vec<String>,
    /// For an Application with several sources: the position (from 1, in
    /// `spec.sources` order) the `--revision` at the same place is for;
    /// the other sources sync at their target revision. Repeatable.
    #[arg(long = "source-position", alias = "source-positions", value_name = "N")]
    source_positions: Vec<usize>,
    /// Delete the objects that left Git.
    #[arg(long)]
    prune: bool,
    /// Only report what the sync would do.
    #[arg(long)]
    dry_run: bool,
    /// Sync only this object, `GROUP:KIND:NAME` or `GROUP:KIND:NAMESPACE/NAME`
    /// (empty group for the core API: `:ConfigMap:settings`); repeatable.
    #[arg(long = "resource", value_name = "GROUP:KIND:NAME", value_parser = parse_resource)]
    resources: Vec<SyncOperationResource>,
    /// Wait for the sync to finish and the objects to become healthy, showing progress.
    #[arg(long)]
    wait: bool,
    /// How long `--wait` waits, e.g. `90s`, `5m`.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    timeout: Duration,
    #[command(flatten)]
    kube: KubeFlags,
}

/// Parses Argo CD's `GROUP:KIND:NAME` / `GROUP:KIND:NAMESPACE/NAME`.
fn parse_resource(text: &str) -> Result<SyncOperationResource, String> {
    let parts: Vec<&str> = text.splitn(3, ':').collect();
    let [group, kind, name] = parts[..] else {
        return Err(format!(
            "{text:?} is not GROUP:KIND:NAME (e.g. apps:Deployment:web, :ConfigMap:settings)"
        ));
    };
    let (namespace, name) = match name.split_once('/') {
        Some((ns, n)) => (Some(ns.to_string()), n),
        None => (None, name),
    };
    if kind.is_empty() || name.is_empty() {
        return Err(format!(
            "{text:?}: the kind and the name are required (GROUP:KIND:NAME)"
        ));
    }
    Ok(SyncOperationResource {
        group: group.to_string(),
        kind: kind.to_string(),
        name: name.to_string(),
        namespace,
    })
}

/// Who asks, for `operation.initiatedBy.username` (as `argocd app sync` records it).
fn username() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "driftless-cli".into())
}

/// A value unique to this request, to recognise its outcome.
pub(crate) fn request_token() -> String {
    k8s_openapi::jiff::Timestamp::now().to_string()
}

/// Runs `sync`.
pub(crate) fn sync(args: &SyncArgs) -> anyhow::Result<()> {
    block_on(async {
        let cluster = Cluster::connect(&args.kube).await?;
        match kinds::find(&cluster, &args.name).await? {
            Found::App(app) => sync_app(&cluster, &app, args).await,
            Found::Ks(ks) => {
                if !args.revision.is_empty()
                    || !args.source_positions.is_empty()
                    || args.prune
                    || args.dry_run
                    || !args.resources.is_empty()
                {
                    return Err(CliError::Usage(format!(
                        "Kustomization {}: --revision, --prune, --dry-run and --resource are \
                         Application options; a Kustomization is reconciled as its spec says",
                        ks.name_any()
                    ))
                    .into());
                }
                reconcile_ks(&cluster, &ks, false, args.wait.then_some(args.timeout)).await
            }
        }
    })?
}

async fn sync_app(cluster: &Cluster, app: &Application, args: &SyncArgs) -> anyhow::Result<()> {
    let name = app.name_any();
    let running = app
        .status
        .as_ref()
        .and_then(|s| s.operation_state.as_ref())
        .is_some_and(|o| o.phase == OperationPhase::Running);
    if app.spec.operation.is_some() || running {
        return Err(CliError::Failed(format!(
            "Application {name}: another operation is already in progress \
             (see `driftless get app {name} -o wide`)"
        ))
        .into());
    }
    let asked = revisions::asked(&app.spec.spec, &args.revision, &args.source_positions)
        .map_err(|why| CliError::Usage(format!("Application {name}: {why}")))?;
    let token = request_sync_with(cluster, &name, &asked, Definitions::default(), args).await?;
    if args.wait {
        let goal = Goal::Operation {
            token,
            dry_run: args.dry_run,
            resources: args.resources.clone(),
        };
        wait::wait_app(cluster, &name, goal, args.timeout).await?;
    }
    Ok(())
}

/// The source definitions a sync carries instead of the Application's
/// (`operation.sync.source`/`sources`): a rollback's, the ones a history
/// entry recorded. None (the default) syncs `spec`'s.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Definitions<'a> {
    /// The single source to sync instead of `spec.source`.
    pub(crate) source: Option<&'a ApplicationSource>,
    /// The sources to sync instead of `spec.sources` (one per revision).
    pub(crate) sources: &'a [ApplicationSource],
}

async fn request_sync_with(
    cluster: &Cluster,
    name: &str,
    asked: &Asked,
    definitions: Definitions<'_>,
    args: &SyncArgs,
) -> Result<String, CliError> {
    let token = request_token();
    let to = match asked {
        Asked::Target => String::new(),
        Asked::One(r) => format!(" to {r}"),
        Asked::PerSource(all) => format!(" to {}", all.join(", ")),
    };
    let patch = sync_patch(&token, asked, definitions, args);
    let subject = kinds::app_subject(&cluster.namespace, Some(name));
    merge_patch::<Application>(cluster, &subject, &patch).await?;
    eprintln!("Application {name}: sync requested{to}");
    Ok(token)
}

/// The merge patch requesting a sync: `operation` with `asked`'s revision(s)
/// and `definitions` (a field left out is written as `null`, so nothing of
/// an earlier request stays).
fn sync_patch(
    token: &str,
    asked: &Asked,
    definitions: Definitions<'_>,
    args: &SyncArgs,
) -> serde_json::Value {
    let (revision, revisions) = match asked {
        Asked::Target => (None, &[][..]),
        Asked::One(r) => (Some(r), &[][..]),
        Asked::PerSource(all) => (None, all.as_slice()),
    };
    let sources = (!definitions.sources.is_empty()).then_some(definitions.sources);
    json!({"operation": {
        "initiatedBy": {"username": username()},
        "info": [{"name": "Requested-By", "value": format!("driftless-cli {token}")}],
        "sync": {
            "revision": revision,
            "revisions": revisions,
            "source": definitions.source,
            "sources": sources,
            "prune": args.prune,
            "dryRun": args.dry_run,
            "resources": args.resources,
        },
    }})
}

/// Requests a sync of `name` to `revision` (the target revision when
/// `None`), or for several sources to `revisions` (one per source, when not
/// empty), of `definitions` (`spec`'s when empty); returns the token `wait`
/// recognises its outcome by.
pub(crate) async fn request_sync(
    cluster: &Cluster,
    name: &str,
    revision: Option<&str>,
    revisions: &[String],
    definitions: Definitions<'_>,
    prune: bool,
) -> Result<String, CliError> {
    let args = SyncArgs {
        name: name.to_string(),
        revision: Vec::new(),
        source_positions: Vec::new(),
        prune,
        dry_run: false,
        resources: Vec::new(),
        wait: false,
        timeout: Duration::from_secs(0),
        kube: KubeFlags::default(),
    };
    let asked = match (revision, revisions) {
        (_, [_, ..]) => Asked::PerSource(revisions.to_vec()),
        (Some(r), []) => Asked::One(r.to_string()),
        (None, []) => Asked::Target,
    };
    request_sync_with(cluster, name, &asked, definitions, &args).await
}

/// A JSON merge patch of one object.
pub(crate) async fn merge_patch<K>(
    cluster: &Cluster,
    subject: &Subject,
    patch: &serde_json::Value,
) -> Result<K, CliError>
where
    K: kinds::Namespaced,
{
    let api: Api<K> = Api::namespaced(cluster.client.clone(), &subject.namespace);
    let name = subject.name.as_deref().unwrap_or_default();
    api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map_err(|e| CliError::from_kube(e, subject, &cluster.server))
}

/// Arguments of `driftless reconcile`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  driftless reconcile podinfo                 # a Kustomization: reconcile now, wait for the result
  driftless reconcile podinfo --with-source   # fetch its GitRepository first (after a push)
  driftless reconcile app/guestbook           # an Application: compare with Git now (a refresh)")]
pub(crate) struct ReconcileArgs {
    /// The Kustomization or Application.
    name: String,
    /// Reconcile the Kustomization's GitRepository first (for an Application: a hard refresh).
    #[arg(long)]
    with_source: bool,
    /// How long to wait for the result.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    timeout: Duration,
    #[command(flatten)]
    kube: KubeFlags,
}

/// Runs `reconcile`.
pub(crate) fn reconcile(args: &ReconcileArgs) -> anyhow::Result<()> {
    block_on(async {
        let cluster = Cluster::connect(&args.kube).await?;
        match kinds::find(&cluster, &args.name).await? {
            Found::Ks(ks) => {
                reconcile_ks(&cluster, &ks, args.with_source, Some(args.timeout)).await
            }
            Found::App(app) => refresh_app(&cluster, &app, args.with_source, args.timeout).await,
        }
    })?
}

/// Annotates `requestedAt` (the source's first, when asked) and, with a
/// `timeout`, waits for the Kustomization to handle it.
pub(crate) async fn reconcile_ks(
    cluster: &Cluster,
    ks: &Kustomization,
    with_source: bool,
    timeout: Option<Duration>,
) -> anyhow::Result<()> {
    let name = ks.name_any();
    if ks.spec.suspend {
        return Err(CliError::Failed(format!(
            "Kustomization {name} is suspended: `driftless resume {name}` first"
        ))
        .into());
    }
    if with_source {
        let (ns, source) = kinds::source_of(ks)?;
        let token = request_token();
        let subject = kinds::source_subject(&ns, Some(&source));
        merge_patch::<GitRepository>(cluster, &subject, &requested_at(&token)).await?;
        eprintln!("GitRepository {ns}/{source}: reconcile requested");
        // As `flux reconcile --with-source`: the Kustomization is asked once
        // its source has the new revision (without a wait it is asked at once).
        if let Some(timeout) = timeout {
            wait::wait_source(cluster, &subject, &token, timeout).await?;
        }
    }
    let token = request_token();
    let subject = kinds::ks_subject(&cluster.namespace, Some(&name));
    merge_patch::<Kustomization>(cluster, &subject, &requested_at(&token)).await?;
    eprintln!("Kustomization {name}: reconcile requested");
    match timeout {
        Some(timeout) => wait::wait_ks(cluster, &name, Some(&token), timeout).await,
        None => Ok(()),
    }
}

fn requested_at(token: &str) -> serde_json::Value {
    json!({"metadata": {"annotations": {RECONCILE_REQUESTED_AT: token}}})
}

/// Arguments of `driftless refresh`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  driftless refresh guestbook          # compare with Git now
  driftless refresh guestbook --hard   # and render again, bypassing the render cache")]
pub(crate) struct RefreshArgs {
    /// The Application (or a Kustomization: a reconcile).
    name: String,
    /// Render again even when the commit did not change (for a Kustomization: fetch its source too).
    #[arg(long)]
    hard: bool,
    /// How long to wait for the controller to handle the refresh.
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    timeout: Duration,
    #[command(flatten)]
    kube: KubeFlags,
}

/// Runs `refresh`.
pub(crate) fn refresh(args: &RefreshArgs) -> anyhow::Result<()> {
    block_on(async {
        let cluster = Cluster::connect(&args.kube).await?;
        match kinds::find(&cluster, &args.name).await? {
            Found::App(app) => refresh_app(&cluster, &app, args.hard, args.timeout).await,
            Found::Ks(ks) => reconcile_ks(&cluster, &ks, args.hard, Some(args.timeout)).await,
        }
    })?
}

async fn refresh_app(
    cluster: &Cluster,
    app: &Application,
    hard: bool,
    timeout: Duration,
) -> anyhow::Result<()> {
    let name = app.name_any();
    let value = if hard { "hard" } else { "normal" };
    let patch = json!({"metadata": {"annotations": {REFRESH_ANNOTATION: value}}});
    merge_patch::<Application>(
        cluster,
        &kinds::app_subject(&cluster.namespace, Some(&name)),
        &patch,
    )
    .await?;
    eprintln!("Application {name}: {value} refresh requested");
    wait::wait_app(cluster, &name, Goal::Refreshed, timeout).await
}

/// Arguments of `driftless suspend` and `driftless resume`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  driftless suspend podinfo     # a Kustomization: spec.suspend=true (Flux stops reconciling it)
  driftless suspend guestbook   # an Application: automated sync disabled (syncPolicy.automated.enabled=false)
  driftless resume guestbook")]
pub(crate) struct SuspendArgs {
    /// The Application or Kustomization.
    name: String,
    #[command(flatten)]
    kube: KubeFlags,
}

/// Runs `suspend` (`suspend = true`) or `resume`.
pub(crate) fn suspend(args: &SuspendArgs, suspend: bool) -> anyhow::Result<()> {
    block_on(async {
        let cluster = Cluster::connect(&args.kube).await?;
        match kinds::find(&cluster, &args.name).await? {
            Found::Ks(ks) => {
                let name = ks.name_any();
                let patch = json!({"spec": {"suspend": suspend}});
                merge_patch::<Kustomization>(
                    &cluster,
                    &kinds::ks_subject(&cluster.namespace, Some(&name)),
                    &patch,
                )
                .await?;
                println!(
                    "Kustomization {name} {}",
                    if suspend { "suspended" } else { "resumed" }
                );
                Ok(())
            }
            Found::App(app) => set_automated(&cluster, &app, !suspend).await,
        }
    })?
}

/// Suspends or resumes an Application's automated sync through
/// `syncPolicy.automated.enabled` (Argo CD 2.14+), which keeps its `prune`
/// and `selfHeal` settings for when it is resumed.
pub(crate) async fn set_automated(
    cluster: &Cluster,
    app: &Application,
    enabled: bool,
) -> anyhow::Result<()> {
    let name = app.name_any();
    let automated = app
        .spec
        .spec
        .sync_policy
        .as_ref()
        .and_then(|p| p.automated.as_ref());
    let Some(automated) = automated else {
        return Err(CliError::Failed(format!(
            "Application {name} has no automated sync policy (spec.syncPolicy.automated) to {}",
            if enabled { "resume" } else { "suspend" }
        ))
        .into());
    };
    if automated.enabled.unwrap_or(true) == enabled {
        println!(
            "Application {name}: automated sync is already {}",
            if enabled { "enabled" } else { "disabled" }
        );
        return Ok(());
    }
    let patch = json!({"spec": {"syncPolicy": {"automated": {"enabled": enabled}}}});
    merge_patch::<Application>(
        cluster,
        &kinds::app_subject(&cluster.namespace, Some(&name)),
        &patch,
    )
    .await?;
    println!(
        "Application {name}: automated sync {}",
        if enabled {
            "enabled (resumed)"
        } else {
            "disabled (suspended; `driftless resume` enables it again)"
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_like_argocd() {
        let r = parse_resource("apps:Deployment:web").unwrap();
        assert_eq!(
            (r.group.as_str(), r.kind.as_str(), r.name.as_str()),
            ("apps", "Deployment", "web")
        );
        assert_eq!(r.namespace, None);
        let r = parse_resource(":ConfigMap:prod/settings").unwrap();
        assert_eq!(
            (r.group.as_str(), r.namespace.as_deref(), r.name.as_str()),
            ("", Some("prod"), "settings")
        );
        assert!(parse_resource("Deployment/web").is_err());
        assert!(parse_resource("apps::web").is_err());
    }

    fn args() -> SyncArgs {
        SyncArgs {
            name: "web".into(),
            revision: Vec::new(),
            source_positions: Vec::new(),
            prune: false,
            dry_run: false,
            resources: Vec::new(),
            wait: false,
            timeout: Duration::from_secs(0),
            kube: KubeFlags::default(),
        }
    }

    fn source(path: &str) -> ApplicationSource {
        ApplicationSource {
            repo_url: "https://git/a".into(),
            path: Some(path.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_plain_sync_clears_any_source_definitions() {
        let patch = sync_patch(
            "t",
            &Asked::One("v1".into()),
            Definitions::default(),
            &args(),
        );
        let sync = &patch["operation"]["sync"];
        assert_eq!(sync["revision"], "v1");
        assert!(
            sync["source"].is_null() && sync["sources"].is_null(),
            "{sync}"
        );
        assert!(sync.as_object().unwrap().contains_key("source"));
    }

    #[test]
    fn a_sync_carries_the_source_definitions_it_is_given() {
        let old = source("old");
        let one = Definitions {
            source: Some(&old),
            sources: &[],
        };
        let patch = sync_patch("t", &Asked::One("abc".into()), one, &args());
        assert_eq!(patch["operation"]["sync"]["source"]["path"], "old");
        let both = [source("a"), source("b")];
        let several = Definitions {
            source: None,
            sources: &both,
        };
        let asked = Asked::PerSource(vec!["1".into(), "2".into()]);
        let sync = &sync_patch("t", &asked, several, &args())["operation"]["sync"];
        assert_eq!(sync["sources"][1]["path"], "b");
        assert_eq!(sync["revisions"], json!(["1", "2"]));
        assert!(
            sync["source"].is_null() && sync["revision"].is_null(),
            "{sync}"
        );
    }
}
