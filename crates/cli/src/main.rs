//! `driftless`: a GitOps controller for Kubernetes that speaks Argo CD's
//! `Application` API. Subcommands: `controller`, `render`, `crd`.

mod controller;
mod crd;
mod logging;
mod render;

use clap::{Parser, Subcommand};

/// The driftless command line.
#[derive(Debug, Parser)]
#[command(
    name = "driftless",
    version,
    about = "GitOps for Kubernetes: Git is the only way in"
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
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    let result = match cli.command {
        Command::Controller(args) => controller::run(&args),
        Command::Crd(args) => crd::run(&args),
        Command::Render(args) => render::run(&args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
