//! The Jsonnet evaluator alone: what [`driftless_render::jsonnet`] starts
//! (`driftless-jsonnet __jsonnet-eval MEMORY_BYTES CPU_SECONDS`, the job on
//! stdin) when a process sets it with
//! [`driftless_render::jsonnet::set_evaluator`]. Test binaries, which cannot
//! serve as the evaluator themselves, use it; the driftless binary is its
//! own evaluator and needs it not.

use std::process::ExitCode;

fn main() -> ExitCode {
    driftless_render::jsonnet::serve_if_child();
    eprintln!(
        "driftless-jsonnet is started by driftless_render as `driftless-jsonnet {} \
         MEMORY_BYTES CPU_SECONDS` with its job on stdin",
        driftless_render::jsonnet::SUBCOMMAND
    );
    ExitCode::from(2)
}
