//! `driftless delete NAME [--cascade|--no-cascade] [--yes]`: deletes an
//! Application (with or without the objects it manages, through Argo CD's
//! finalizer) or a Kustomization (Flux's `deletionPolicy`), after a
//! confirmation on a terminal.

use std::io::{BufRead, IsTerminal, Write};

use driftless_api::flux::kustomize::v1::Kustomization;
use driftless_api::{Application, RESOURCES_FINALIZER};
use kube::api::DeleteParams;
use kube::{Api, ResourceExt};
use serde_json::json;

use crate::cluster::{Cluster, KubeFlags, block_on};
use crate::error::CliError;
use crate::kinds::{self, Found};
use crate::ops::merge_patch;

/// Arguments of `driftless delete`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  driftless delete guestbook               # asks, then deletes it and the objects it manages
  driftless delete guestbook --no-cascade  # keep the objects running (orphan them)
  driftless delete ks/podinfo --yes        # no question (for scripts)")]
pub(crate) struct Args {
    /// The Application or Kustomization.
    name: String,
    /// Delete the objects it manages too (the default).
    #[arg(long, conflicts_with = "no_cascade")]
    cascade: bool,
    /// Leave the objects it manages in the cluster.
    #[arg(long)]
    no_cascade: bool,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(short = 'y', long)]
    yes: bool,
    #[command(flatten)]
    kube: KubeFlags,
}

/// Runs `delete`.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    block_on(async {
        let cluster = Cluster::connect(&args.kube).await?;
        let found = kinds::find(&cluster, &args.name).await?;
        let cascade = !args.no_cascade;
        let what = match &found {
            Found::App(app) => format!("Application {}", app.name_any()),
            Found::Ks(ks) => format!("Kustomization {}", ks.name_any()),
        };
        confirm(&what, &cluster.namespace, cascade, args.yes)?;
        match found {
            Found::App(app) => delete_app(&cluster, &app, cascade).await?,
            Found::Ks(ks) => delete_ks(&cluster, &ks, cascade).await?,
        }
        println!(
            "{what} deleted{}",
            if cascade {
                " (its objects are being deleted)"
            } else {
                " (its objects are kept)"
            }
        );
        Ok(())
    })?
}

fn confirm(what: &str, namespace: &str, cascade: bool, yes: bool) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(format!(
            "refusing to delete {what} without confirmation: stdin is not a terminal (pass --yes)"
        )));
    }
    let objects = if cascade {
        "and every object it manages"
    } else {
        "(its objects are kept)"
    };
    eprint!("Delete {what} in namespace {namespace} {objects}? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(CliError::Failed(format!("{what} not deleted")))
    }
}

/// As `argocd app delete`: the resources finalizer makes the controller
/// delete the managed objects first; without it they are orphaned.
async fn delete_app(cluster: &Cluster, app: &Application, cascade: bool) -> Result<(), CliError> {
    let name = app.name_any();
    let subject = kinds::app_subject(&cluster.namespace, Some(&name));
    let mut finalizers: Vec<String> = app.finalizers().to_vec();
    let has = finalizers
        .iter()
        .any(|f| f.starts_with(RESOURCES_FINALIZER));
    if cascade && !has {
        finalizers.push(RESOURCES_FINALIZER.to_string());
    } else if !cascade && has {
        finalizers.retain(|f| !f.starts_with(RESOURCES_FINALIZER));
    }
    if finalizers != app.finalizers() {
        let patch = json!({"metadata": {"finalizers": finalizers}});
        merge_patch::<Application>(cluster, &subject, &patch).await?;
    }
    let api: Api<Application> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    api.delete(&name, &DeleteParams::default())
        .await
        .map_err(|e| CliError::from_kube(e, &subject, &cluster.server))?;
    Ok(())
}

/// As Flux: `deletionPolicy: Orphan` keeps the objects, `Delete` removes them.
async fn delete_ks(cluster: &Cluster, ks: &Kustomization, cascade: bool) -> Result<(), CliError> {
    let name = ks.name_any();
    let subject = kinds::ks_subject(&cluster.namespace, Some(&name));
    let policy = if cascade { "Delete" } else { "Orphan" };
    merge_patch::<Kustomization>(
        cluster,
        &subject,
        &json!({"spec": {"deletionPolicy": policy}}),
    )
    .await?;
    let api: Api<Kustomization> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    api.delete(&name, &DeleteParams::default())
        .await
        .map_err(|e| CliError::from_kube(e, &subject, &cluster.server))?;
    Ok(())
}
