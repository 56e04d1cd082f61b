//! Log output of every subcommand: to stderr (stdout is `render`'s and
//! `crd`'s output), as text or as JSON lines, filtered by `RUST_LOG`
//! (default `info` for the controller, `warn` for the other commands).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines; coloured only when stderr is a terminal (and
    /// `NO_COLOR` is not set).
    #[default]
    Text,
    /// One JSON object per line, for log pipelines.
    Json,
}

/// Installs the global subscriber.
///
/// `default` is the filter when `RUST_LOG` is unset: `info` for the
/// controller; the operator commands print their own one-line errors, so
/// they log warnings only and nothing of the kube client.
pub(crate) fn init(format: LogFormat, default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.with_ansi(colours_wanted()).init(),
    }
}

/// Colours only for a person at a terminal.
fn colours_wanted() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
