//! `driftless`: a GitOps controller for Kubernetes that speaks Argo CD's
//! `Application` and Flux's `Kustomization` APIs, and the command line to
//! operate it: `get`, `diff`, `sync`, `wait`, `history`, `rollback`,
//! `edit set image`, `promote`, ... Installed as `kubectl-driftless`, it is
//! also a kubectl plugin (`kubectl driftless get apps`).

mod charts;
mod cluster;
mod controller;
mod crd;
mod delete;
mod diff;
mod edit;
mod error;
mod get;
mod history;
mod kinds;
mod logging;
mod malloc;
mod ops;
mod output;
mod progress;
mod promote;
mod render;
mod tree;
mod wait;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// The driftless command line.
#[derive(Debug, Parser)]
#[command(
    name = "driftless",
    version,
    about = "GitOps for Kubernetes: Git is the only way in",
    after_help = "Examples:
  driftless get apps -A
  driftless diff guestbook || echo 'guestbook differs from Git'
  driftless sync guestbook --wait
  driftless edit set image web=registry.example.com/web:1.4.2 --dir overlays/prod"
)]
struct Cli {
    /// How log lines (on stderr) are written: `text`, or `json` (one JSON
    /// object per line, for log pipelines).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t,
        env = "DRIFTLESS_LOG_FORMAT"
    )]
    log_format: logging::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Application controller (in a Pod, or outside the cluster with a kubeconfig).
    Controller(controller::Args),
    /// Print the CustomResourceDefinitions (Application, AppProject), or write them to a directory.
    Crd(crd::Args),
    /// Render a Kustomize overlay or a plain directory of manifests, like `kubectl kustomize`.
    Render(render::Args),
    /// List Applications, Kustomizations or sources, like `kubectl get`.
    Get(get::Args),
    /// Show how the live objects differ from Git (exit 0 same, 1 different, 2 error).
    Diff(diff::Args),
    /// Sync an Application now (Argo CD's `operation`), optionally waiting for it.
    Sync(ops::SyncArgs),
    /// Reconcile a Kustomization now (Flux's `requestedAt`), optionally its source first.
    Reconcile(ops::ReconcileArgs),
    /// Compare an Application with Git now (`--hard`: render again).
    Refresh(ops::RefreshArgs),
    /// Wait until an Application is Synced and Healthy, or a Kustomization Ready.
    Wait(wait::Args),
    /// Stop automated syncs (Application) or reconciles (Kustomization).
    Suspend(ops::SuspendArgs),
    /// Undo `suspend`.
    Resume(ops::SuspendArgs),
    /// Edit a kustomization file (`edit set image`, as kustomize does).
    Edit(edit::Args),
    /// Copy image tags from one overlay to another, show the diff, optionally commit.
    Promote(promote::Args),
    /// Show the objects an Application or Kustomization manages, as a tree.
    Tree(tree::Args),
    /// List an Application's past syncs.
    History(history::HistoryArgs),
    /// Sync an Application back to an earlier revision (automated sync is paused first).
    Rollback(history::RollbackArgs),
    /// Delete an Application or Kustomization (asks first on a terminal).
    Delete(delete::Args),
    /// Print a shell completion script.
    Completion(CompletionArgs),
}

/// Arguments of `driftless completion`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  source <(driftless completion bash)
  driftless completion zsh > \"${fpath[1]}/_driftless\"
  driftless completion fish > ~/.config/fish/completions/driftless.fish")]
struct CompletionArgs {
    /// The shell.
    shell: clap_complete::Shell,
}

/// The program name users typed: `kubectl driftless` when run as the
/// kubectl plugin `kubectl-driftless`, else `driftless`.
fn program_name() -> &'static str {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let file = std::path::Path::new(&argv0)
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    if file.starts_with("kubectl-driftless") {
        "kubectl driftless"
    } else {
        "driftless"
    }
}

fn completion(args: &CompletionArgs) -> anyhow::Result<()> {
    let mut command = Cli::command();
    let name = program_name().replace(' ', "-");
    clap_complete::generate(args.shell, &mut command, name, &mut std::io::stdout());
    Ok(())
}

fn main() -> ExitCode {
    // The hidden `__jsonnet-eval` subcommand: this binary as the sandboxed
    // Jsonnet evaluator of its own controller (never returns when it is).
    driftless_render::jsonnet::serve_if_child();
    // ... and so the evaluator this process starts is this binary (without
    // it, a Jsonnet render is an error saying no evaluator is set).
    if let Ok(exe) = std::env::current_exe() {
        driftless_render::jsonnet::set_evaluator(exe);
    }
    let matches = Cli::command().bin_name(program_name()).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let default_log = match cli.command {
        Command::Controller(_) | Command::Render(_) | Command::Crd(_) => "info",
        Command::Edit(_) | Command::Promote(_) | Command::Completion(_) => "warn",
        _ => "warn,kube_client=off",
    };
    logging::init(cli.log_format, default_log);
    let result = match cli.command {
        Command::Controller(args) => controller::run(&args),
        Command::Crd(args) => crd::run(&args),
        Command::Render(args) => render::run(&args),
        Command::Get(args) => get::run(&args),
        Command::Diff(args) => return diff::run(&args),
        Command::Sync(args) => ops::sync(&args),
        Command::Reconcile(args) => ops::reconcile(&args),
        Command::Refresh(args) => ops::refresh(&args),
        Command::Wait(args) => wait::run(&args),
        Command::Suspend(args) => ops::suspend(&args, true),
        Command::Resume(args) => ops::suspend(&args, false),
        Command::Edit(args) => edit::run(&args),
        Command::Promote(args) => promote::run(&args),
        Command::Tree(args) => tree::run(&args),
        Command::History(args) => history::history(&args),
        Command::Rollback(args) => history::rollback(&args),
        Command::Delete(args) => delete::run(&args),
        Command::Completion(args) => completion(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
