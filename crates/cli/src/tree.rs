//! `driftless tree NAME`: the objects an Application or Kustomization
//! manages, each with its sync and health; the children of an App of Apps
//! and a Kustomization's `dependsOn` chain indented under it.

use driftless_api::flux::condition::{find_condition, types};
use driftless_api::flux::kustomize::v1::Kustomization;
use driftless_api::{Application, ResourceStatus};
use kube::ResourceExt;

use crate::cluster::{Cluster, KubeFlags, block_on};
use crate::kinds::{self, Found};
use crate::output::color::{self, Color};

/// How deep App of Apps and `dependsOn` chains are followed (cycles stop here too).
const MAX_DEPTH: usize = 8;

/// Arguments of `driftless tree`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  driftless tree root-app     # an App of Apps: each child Application's objects under it
  driftless tree ks/apps      # a Kustomization, its objects and what it depends on")]
pub(crate) struct Args {
    /// The Application or Kustomization.
    name: String,
    #[command(flatten)]
    kube: KubeFlags,
}

/// Runs `tree`.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    block_on(async {
        let cluster = Cluster::connect(&args.kube).await?;
        let colored = color::stdout_wants_color();
        let mut out = String::new();
        match kinds::find(&cluster, &args.name).await? {
            Found::App(app) => app_tree(&cluster, &app, 0, colored, &mut out).await,
            Found::Ks(ks) => ks_tree(&cluster, &ks, 0, colored, &mut out).await,
        }
        print!("{out}");
        Ok(())
    })?
}

fn words(text: &str, colored: bool) -> String {
    text.split(' ')
        .map(|w| match color::of_status(w) {
            Some(c) => color::paint(w, c, colored),
            None => w.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn line(out: &mut String, depth: usize, label: &str, state: &str, colored: bool) {
    let indent = "    ".repeat(depth.saturating_sub(1));
    let branch = if depth == 0 { "" } else { "└── " };
    out.push_str(&format!(
        "{indent}{branch}{label}  {}\n",
        words(state, colored)
    ));
}

fn resource_label(r: &ResourceStatus) -> String {
    match r.namespace.as_deref().filter(|n| !n.is_empty()) {
        Some(ns) => format!("{} {ns}/{}", r.kind, r.name),
        None => format!("{} {}", r.kind, r.name),
    }
}

fn app_tree<'a>(
    cluster: &'a Cluster,
    app: &'a Application,
    depth: usize,
    colored: bool,
    out: &'a mut String,
) -> futures::future::BoxFuture<'a, ()> {
    Box::pin(async move {
        let status = app.status.clone().unwrap_or_default();
        let state = format!(
            "{:?} {:?}",
            status.sync.map(|s| s.status).unwrap_or_default(),
            status.health.map(|h| h.status).unwrap_or_default()
        );
        let label = color::paint(
            &format!("Application {}", app.name_any()),
            Color::Bold,
            colored,
        );
        line(out, depth, &label, &state, colored);
        for r in &status.resources {
            let health = r
                .health
                .as_ref()
                .map(|h| format!("{:?}", h.status))
                .unwrap_or_else(|| "-".into());
            let child = r.group == "argoproj.io" && r.kind == "Application";
            if child && depth < MAX_DEPTH {
                let ns = r
                    .namespace
                    .clone()
                    .unwrap_or_else(|| cluster.namespace.clone());
                let subject = kinds::app_subject(&ns, Some(&r.name));
                if let Ok(Some(child_app)) = kinds::get_opt::<Application>(cluster, &subject).await
                {
                    app_tree(cluster, &child_app, depth + 1, colored, out).await;
                    continue;
                }
            }
            line(
                out,
                depth + 1,
                &resource_label(r),
                &format!("{:?} {health}", r.status),
                colored,
            );
        }
    })
}

fn ks_state(ks: &Kustomization) -> String {
    let conditions = ks.status.clone().unwrap_or_default().conditions;
    match find_condition(&conditions, types::READY) {
        Some(c) if c.status == "True" => "Ready True".into(),
        Some(c) => format!(
            "Ready {} {}",
            c.status,
            crate::output::one_line(&c.message, 60)
        ),
        None => "Ready Unknown".into(),
    }
}

/// Parses Flux's inventory id `<namespace>_<name>_<group>_<kind>`.
fn inventory_label(id: &str) -> String {
    let parts: Vec<&str> = id.rsplitn(3, '_').collect();
    match parts[..] {
        [kind, _group, rest] => match rest.split_once('_') {
            Some(("", name)) => format!("{kind} {}", name.replace("__", ":")),
            Some((ns, name)) => format!("{kind} {ns}/{}", name.replace("__", ":")),
            None => id.to_string(),
        },
        _ => id.to_string(),
    }
}

fn ks_tree<'a>(
    cluster: &'a Cluster,
    ks: &'a Kustomization,
    depth: usize,
    colored: bool,
    out: &'a mut String,
) -> futures::future::BoxFuture<'a, ()> {
    Box::pin(async move {
        let label = color::paint(
            &format!("Kustomization {}", ks.name_any()),
            Color::Bold,
            colored,
        );
        line(out, depth, &label, &ks_state(ks), colored);
        let inventory = ks
            .status
            .as_ref()
            .and_then(|s| s.inventory.clone())
            .unwrap_or_default();
        for entry in &inventory.entries {
            line(out, depth + 1, &inventory_label(&entry.id), "", colored);
        }
        for dep in &ks.spec.depends_on {
            let ns = dep
                .namespace
                .clone()
                .or_else(|| ks.namespace())
                .unwrap_or_default();
            let subject = kinds::ks_subject(&ns, Some(&dep.name));
            match kinds::get_opt::<Kustomization>(cluster, &subject).await {
                Ok(Some(d)) if depth < MAX_DEPTH => {
                    out.push_str(&format!("{}└── depends on:\n", "    ".repeat(depth)));
                    ks_tree(cluster, &d, depth + 2, colored, out).await;
                }
                _ => line(
                    out,
                    depth + 1,
                    &format!("depends on Kustomization {ns}/{}", dep.name),
                    "Missing",
                    colored,
                ),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_ids() {
        assert_eq!(
            inventory_label("web_api_apps_Deployment"),
            "Deployment web/api"
        );
        assert_eq!(
            inventory_label("_web_rbac.authorization.k8s.io_ClusterRole"),
            "ClusterRole web"
        );
        assert_eq!(
            inventory_label("web_settings__ConfigMap"),
            "ConfigMap web/settings"
        );
        assert_eq!(
            inventory_label("_system__read_rbac.authorization.k8s.io_ClusterRole"),
            "ClusterRole system:read"
        );
    }
}
