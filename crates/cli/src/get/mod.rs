//! `driftless get [apps|kustomizations|sources] [NAME]`: a table like
//! kubectl's, `-o wide|yaml|json`, `--watch`.

mod rows;

use driftless_api::Application;
use driftless_api::flux::kustomize::v1::Kustomization;
use driftless_api::flux::source::v1::GitRepository;
use futures::StreamExt;
use kube::api::ListParams;
use kube::runtime::watcher;
use kube::{Api, ResourceExt};
use serde::Serialize;

use crate::cluster::{Cluster, KubeFlags, block_on};
use crate::error::{CliError, Subject};
use crate::kinds;
use crate::output::table::Table;
use crate::output::{self, Format, color};
use rows::{AppRows, KsRows, SourceRows};

/// Arguments of `driftless get`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  driftless get                       # Applications and Kustomizations of the namespace
  driftless get apps -A               # every Application of the cluster
  driftless get ks podinfo -o yaml    # one Kustomization as YAML
  driftless get sources -o wide       # GitRepositories with their URL
  driftless get apps --watch          # a new line each time an Application changes")]
pub(crate) struct Args {
    /// What to list: `apps` (Argo CD Applications), `kustomizations` (`ks`,
    /// Flux) or `sources` (Flux GitRepositories); both APIs' objects when omitted.
    #[arg(value_parser = parse_what)]
    what: Option<What>,
    /// One object's name.
    name: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    output: Format,
    /// After listing, print a line each time an object changes (until Ctrl-C).
    #[arg(short, long)]
    watch: bool,
    #[command(flatten)]
    kube: KubeFlags,
}

/// The kinds `get` lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum What {
    Apps,
    Kustomizations,
    Sources,
}

fn parse_what(text: &str) -> Result<What, String> {
    match text.to_ascii_lowercase().as_str() {
        "app" | "apps" | "application" | "applications" => Ok(What::Apps),
        "ks" | "kustomization" | "kustomizations" => Ok(What::Kustomizations),
        "source" | "sources" | "gitrepo" | "gitrepos" | "gitrepository" | "gitrepositories" => {
            Ok(What::Sources)
        }
        _ => Err(format!(
            "{text:?} is not a kind driftless lists: use apps, kustomizations (ks) or sources"
        )),
    }
}

/// Runs `get`.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    block_on(async {
        let cluster = Cluster::connect(&args.kube).await?;
        match args.what {
            Some(what) => get_one_kind(&cluster, what, args).await,
            None => get_both(&cluster, args).await,
        }
    })?
}

async fn get_one_kind(cluster: &Cluster, what: What, args: &Args) -> anyhow::Result<()> {
    match what {
        What::Apps => show::<Application>(cluster, &AppRows, args).await,
        What::Kustomizations => show::<Kustomization>(cluster, &KsRows, args).await,
        What::Sources => show::<GitRepository>(cluster, &SourceRows, args).await,
    }
}

/// Without a kind: Applications, then Kustomizations, leaving out a kind
/// whose CRD is not installed (an error only when neither is).
async fn get_both(cluster: &Cluster, args: &Args) -> anyhow::Result<()> {
    if args.watch {
        anyhow::bail!("--watch needs a kind: driftless get apps --watch, or get ks --watch");
    }
    let apps = list::<Application>(cluster, &AppRows, args.name.as_deref()).await;
    let kss = list::<Kustomization>(cluster, &KsRows, args.name.as_deref()).await;
    let (apps, kss) = match (apps, kss) {
        (Err(CliError::CrdMissing { .. }), Err(CliError::CrdMissing { .. })) => {
            anyhow::bail!(
                "neither the Application (argoproj.io) nor the Kustomization \
                 (kustomize.toolkit.fluxcd.io) CustomResourceDefinition is installed in this cluster"
            )
        }
        (Err(CliError::CrdMissing { .. }), k) => (Vec::new(), k?),
        (a, Err(CliError::CrdMissing { .. })) => (a?, Vec::new()),
        (a, k) => (a?, k?),
    };
    if matches!(args.output, Format::Yaml | Format::Json) {
        let mut items = values(&apps)?;
        items.extend(values(&kss)?);
        return output::print_objects(items, args.output, args.name.is_some());
    }
    if apps.is_empty() && kss.is_empty() {
        not_found(cluster, args.name.as_deref())?;
        return Ok(());
    }
    let colored = color::stdout_wants_color();
    let wide = args.output == Format::Wide;
    let mut printed = false;
    if !apps.is_empty() {
        print!(
            "{}",
            table(&AppRows, &apps, cluster.all_namespaces, wide).render(colored)
        );
        printed = true;
    }
    if !kss.is_empty() {
        if printed {
            println!();
        }
        print!(
            "{}",
            table(&KsRows, &kss, cluster.all_namespaces, wide).render(colored)
        );
    }
    Ok(())
}

fn not_found(cluster: &Cluster, name: Option<&str>) -> anyhow::Result<()> {
    match name {
        Some(name) => Err(CliError::NoSuchApp {
            name: name.to_string(),
            namespace: cluster.namespace.clone(),
        }
        .into()),
        None => {
            eprintln!("No resources found in {} namespace.", cluster.namespace);
            Ok(())
        }
    }
}

/// How one kind becomes table rows.
pub(crate) trait Rows<K> {
    /// The subject of requests (kind and CRD names).
    fn subject(&self, namespace: &str, name: Option<&str>) -> Subject;
    /// The column names (`wide` adds some).
    fn header(&self, wide: bool) -> Vec<&'static str>;
    /// One object's cells, in the header's order (without NAMESPACE).
    fn row(&self, obj: &K, wide: bool) -> Vec<String>;
}

fn table<K: ResourceExt>(rows: &dyn Rows<K>, objs: &[K], all_ns: bool, wide: bool) -> Table {
    let mut header = rows.header(wide);
    if all_ns {
        header.insert(0, "NAMESPACE");
    }
    let mut t = Table::new(&header).status_columns(&["SYNC", "HEALTH", "READY"]);
    for obj in objs {
        t.push(row_of(rows, obj, all_ns, wide));
    }
    t
}

fn row_of<K: ResourceExt>(rows: &dyn Rows<K>, obj: &K, all_ns: bool, wide: bool) -> Vec<String> {
    let mut row = rows.row(obj, wide);
    if all_ns {
        row.insert(0, obj.namespace().unwrap_or_default());
    }
    row
}

fn values<K: Serialize>(objs: &[K]) -> anyhow::Result<Vec<serde_json::Value>> {
    objs.iter()
        .map(|o| serde_json::to_value(o).map_err(anyhow::Error::from))
        .collect()
}

/// Lists (or gets, with a name) the objects of one kind.
async fn list<K>(
    cluster: &Cluster,
    rows: &dyn Rows<K>,
    name: Option<&str>,
) -> Result<Vec<K>, CliError>
where
    K: kinds::Namespaced,
{
    let subject = rows.subject(&cluster.namespace, name);
    if name.is_some() {
        return Ok(kinds::get_opt::<K>(cluster, &subject)
            .await?
            .into_iter()
            .collect());
    }
    let api: Api<K> = if cluster.all_namespaces {
        Api::all(cluster.client.clone())
    } else {
        Api::namespaced(cluster.client.clone(), &cluster.namespace)
    };
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|e| CliError::from_kube(e, &subject, &cluster.server))?;
    Ok(list.items)
}

async fn show<K>(cluster: &Cluster, rows: &dyn Rows<K>, args: &Args) -> anyhow::Result<()>
where
    K: kinds::Namespaced + Serialize + Send + 'static,
{
    let objs = list(cluster, rows, args.name.as_deref()).await?;
    if let (Some(name), true) = (&args.name, objs.is_empty()) {
        let subject = rows.subject(&cluster.namespace, Some(name));
        return Err(CliError::NotFound {
            kind: subject.kind,
            name: name.clone(),
            namespace: cluster.namespace.clone(),
        }
        .into());
    }
    if matches!(args.output, Format::Yaml | Format::Json) {
        output::print_objects(values(&objs)?, args.output, args.name.is_some())?;
    } else if objs.is_empty() && !args.watch {
        eprintln!("No resources found in {} namespace.", cluster.namespace);
    } else {
        let t = table(
            rows,
            &objs,
            cluster.all_namespaces,
            args.output == Format::Wide,
        );
        print!("{}", t.render(color::stdout_wants_color()));
    }
    if args.watch {
        watch(cluster, rows, args).await?;
    }
    Ok(())
}

/// Prints a row (or the object, with `-o yaml|json`) each time one changes.
async fn watch<K>(cluster: &Cluster, rows: &dyn Rows<K>, args: &Args) -> anyhow::Result<()>
where
    K: kinds::Namespaced + Serialize + Send + 'static,
{
    use std::io::Write;
    let api: Api<K> = if cluster.all_namespaces {
        Api::all(cluster.client.clone())
    } else {
        Api::namespaced(cluster.client.clone(), &cluster.namespace)
    };
    let mut config = watcher::Config::default();
    if let Some(name) = &args.name {
        config = config.fields(&format!("metadata.name={name}"));
    }
    let wide = args.output == Format::Wide;
    let colored = color::stdout_wants_color();
    let mut t = table(rows, &[], cluster.all_namespaces, wide);
    let mut initial = true;
    let mut events = std::pin::pin!(watcher(api, config));
    while let Some(event) = events.next().await {
        let obj = match event {
            Ok(watcher::Event::InitDone) => {
                initial = false;
                continue;
            }
            Ok(watcher::Event::Apply(obj) | watcher::Event::Delete(obj)) if !initial => obj,
            Ok(_) => continue,
            Err(e) => {
                let subject = rows.subject(&cluster.namespace, args.name.as_deref());
                return Err(match e {
                    watcher::Error::InitialListFailed(e) | watcher::Error::WatchFailed(e) => {
                        CliError::from_kube(e, &subject, &cluster.server).into()
                    }
                    other => anyhow::anyhow!("watching {}s: {other}", subject.kind),
                });
            }
        };
        if matches!(args.output, Format::Yaml | Format::Json) {
            output::print_objects(values(&[obj])?, args.output, true)?;
        } else {
            t.push(row_of(rows, &obj, cluster.all_namespaces, wide));
            print!("{}", t.render_last(colored));
        }
        std::io::stdout().flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_their_names() {
        assert_eq!(parse_what("apps"), Ok(What::Apps));
        assert_eq!(parse_what("KS"), Ok(What::Kustomizations));
        assert_eq!(parse_what("gitrepositories"), Ok(What::Sources));
        assert!(parse_what("pods").unwrap_err().contains("\"pods\""));
    }
}
