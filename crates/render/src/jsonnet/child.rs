//! The Jsonnet evaluator child process: the program set with
//! [`super::set_evaluator`] (the driftless binary itself, or this crate's
//! `driftless-jsonnet` in tests), started as `<program> __jsonnet-eval
//! MEMORY CPU_SECONDS` with an empty environment; its `main` calls
//! [`serve_if_child`] first thing. It limits itself (address space,
//! CPU time, no core file, no file written, killed with its parent), reads
//! one [`Job`] on stdin, evaluates it reading every file through the parent
//! (which owns the repository tree), and writes [`Ask::Done`].
//!
//! Nothing from the repository is executed: Jsonnet is evaluated by this
//! crate's own code, the same as in-process, only in a process the parent can
//! kill at its deadline.

use std::ffi::OsStr;
use std::io::{BufReader, Stdin, Stdout};
use std::sync::Mutex;

use super::wire::{self, Answer, Ask, Job};
use super::{JsonnetOptions, JsonnetVar};
use crate::error::RenderError;
use crate::tree::{EntryKind, FileTree, TreeError};

/// The hidden subcommand that makes a process the evaluator.
pub const SUBCOMMAND: &str = "__jsonnet-eval";

/// The longest answer the child accepts from its parent (a file is at most
/// the tree's own file size limit, base64-encoded).
const MAX_ANSWER: u64 = 512 << 20;

/// When this process was started as the Jsonnet evaluator
/// (`<exe> __jsonnet-eval ...`), serves the job on stdin and exits;
/// otherwise returns at once. An evaluator program calls it first thing in
/// `main` (nothing runs before `main` on its behalf).
pub fn serve_if_child() {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(OsStr::new(SUBCOMMAND)) {
        return;
    }
    let number = |arg: Option<std::ffi::OsString>| {
        arg.and_then(|a| a.to_str().and_then(|s| s.parse::<u64>().ok()))
    };
    let (Some(memory), Some(cpu)) = (number(args.next()), number(args.next())) else {
        eprintln!("usage: driftless {SUBCOMMAND} MEMORY_BYTES CPU_SECONDS");
        std::process::exit(2);
    };
    if let Err(e) = limit_self(memory, cpu) {
        eprintln!("jsonnet evaluator: cannot set its limits: {e}");
        std::process::exit(3);
    }
    std::process::exit(match serve() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("jsonnet evaluator: {e}");
            4
        }
    })
}

/// Address space `memory` bytes, `cpu` seconds of CPU, no core file, no
/// file written, and death with the parent.
fn limit_self(memory: u64, cpu: u64) -> std::io::Result<()> {
    let set = |resource, value: u64| {
        let limit = libc::rlimit {
            rlim_cur: value,
            rlim_max: value,
        };
        // SAFETY: setrlimit only reads the struct passed by reference.
        if unsafe { libc::setrlimit(resource, &limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    };
    set(libc::RLIMIT_AS, memory)?;
    set(libc::RLIMIT_CPU, cpu)?;
    set(libc::RLIMIT_CORE, 0)?;
    set(libc::RLIMIT_FSIZE, 0)?;
    // SAFETY: PR_SET_PDEATHSIG takes a signal number and touches no memory.
    #[cfg(target_os = "linux")]
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Reads the job, evaluates it, answers [`Ask::Done`].
fn serve() -> std::io::Result<()> {
    let mut input = BufReader::new(std::io::stdin());
    let job: Job = wire::receive(&mut input, MAX_ANSWER)?
        .ok_or_else(|| std::io::Error::other("no job on stdin"))?;
    let tree = PipeTree {
        io: Mutex::new((input, std::io::stdout())),
    };
    let vars = |vars: Vec<(String, String, bool)>| {
        vars.into_iter()
            .map(|(name, value, code)| JsonnetVar { name, value, code })
            .collect()
    };
    let options = JsonnetOptions {
        ext_vars: vars(job.ext_vars),
        tlas: vars(job.tlas),
        libs: job.libs,
    };
    let done = match super::evaluate_here(&tree, &job.file, &job.app_dir, &options) {
        Ok(json) => Ok(json),
        Err(RenderError::Jsonnet { message, .. }) => Err(message),
        Err(other) => Err(other.to_string()),
    };
    let mut io = tree.io.into_inner().unwrap_or_else(|p| p.into_inner());
    wire::send(&mut io.1, &Ask::Done(done))
}

/// The repository, read through the parent.
struct PipeTree {
    io: Mutex<(BufReader<Stdin>, Stdout)>,
}

impl PipeTree {
    fn ask(&self, path: &str, ask: Ask) -> Result<Answer, TreeError> {
        let broken = |e: std::io::Error| TreeError::Io {
            path: path.to_string(),
            message: format!("evaluator pipe: {e}"),
        };
        let mut io = self.io.lock().unwrap_or_else(|p| p.into_inner());
        wire::send(&mut io.1, &ask).map_err(broken)?;
        wire::receive(&mut io.0, MAX_ANSWER)
            .map_err(broken)?
            .ok_or_else(|| broken(std::io::Error::other("closed by the controller")))
    }
}

impl FileTree for PipeTree {
    fn entry(&self, path: &str) -> Result<Option<EntryKind>, TreeError> {
        match self.ask(path, Ask::Entry(path.to_string()))? {
            Answer::Entry(found) => Ok(found?.map(|file| match file {
                true => EntryKind::File,
                false => EntryKind::Dir,
            })),
            Answer::Read(_) => Err(out_of_step(path)),
        }
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, TreeError> {
        match self.ask(path, Ask::Read(path.to_string()))? {
            Answer::Read(found) => wire::decode(path, &found?),
            Answer::Entry(_) => Err(out_of_step(path)),
        }
    }

    fn list(&self, path: &str) -> Result<Vec<(String, EntryKind)>, TreeError> {
        Err(TreeError::Io {
            path: path.to_string(),
            message: "the Jsonnet evaluator lists no directory".into(),
        })
    }
}

fn out_of_step(path: &str) -> TreeError {
    TreeError::Io {
        path: path.to_string(),
        message: "evaluator pipe: answer out of step".into(),
    }
}
