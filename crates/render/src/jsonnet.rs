//! Jsonnet files of a plain directory, evaluated in-process as Argo CD's
//! repo-server evaluates them (`directory.jsonnet`): `extVars` and `tlas`
//! (a string, or Jsonnet code with `code: true`), imports looked up beside
//! the importing file, then in the `libs` directories (last first) and the
//! application's directory, as go-jsonnet's `FileImporter` with Argo CD's
//! search paths does. Every import is read through the [`FileTree`]: an
//! import leaving the repository (`../../etc/passwd`, an absolute path) is
//! an error naming the file, never a read from the disk.
//!
//! The result is a JSON document: an array of objects or one object.
//!
//! The evaluation runs in a child process, the evaluator program this
//! process set with [`set_evaluator`] (see [`child`]), within
//! [`JsonnetLimits`]: a repository cannot make the
//! controller loop or allocate without bound; at the deadline the child is
//! killed and the error names the file and the limit.

mod child;
mod program;
mod sandbox;
mod wire;

use std::collections::HashMap;
use std::time::Duration;

use rsjsonnet_lang::arena::Arena;
use rsjsonnet_lang::program::{
    Callbacks, EvalError, EvalStackTraceItem, ImportError, NativeError, Program, Thunk, Value,
};
use rsjsonnet_lang::span::{SpanContextId, SpanId};

use crate::error::RenderError;
use crate::tree::{EntryKind, FileTree, TreeError, join};

/// Argo CD's `directory.jsonnet`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JsonnetOptions {
    /// `extVars`: read with `std.extVar(name)`.
    pub ext_vars: Vec<JsonnetVar>,
    /// `tlas`: the arguments of a top-level function.
    pub tlas: Vec<JsonnetVar>,
    /// `libs`: library directories, relative to the repository root.
    pub libs: Vec<String>,
}

/// One external variable or top-level argument.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JsonnetVar {
    /// The name.
    pub name: String,
    /// A string, or Jsonnet code when `code` is set.
    pub value: String,
    /// Evaluate `value` as Jsonnet code instead of passing it as a string.
    pub code: bool,
}

pub use child::{SUBCOMMAND, serve_if_child};
pub use program::set_evaluator;

/// The deepest call stack an evaluation may reach: go-jsonnet's default.
const MAX_STACK: usize = 500;

/// How long, and with how much memory, one Jsonnet file may be evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonnetLimits {
    /// Wall-clock time before the evaluation is stopped.
    pub timeout: Duration,
    /// The evaluator process's address space, in bytes.
    pub memory_bytes: u64,
}

impl Default for JsonnetLimits {
    /// 60 s and 1 GiB: far beyond any real manifest, short of harm.
    fn default() -> Self {
        JsonnetLimits {
            timeout: Duration::from_secs(60),
            memory_bytes: 1 << 30,
        }
    }
}

/// Evaluates the Jsonnet file `file` of `tree` for the application
/// directory `app_dir` within the default [`JsonnetLimits`]; the JSON value
/// it produces.
pub fn evaluate(
    tree: &dyn FileTree,
    file: &str,
    app_dir: &str,
    options: &JsonnetOptions,
) -> Result<serde_json::Value, RenderError> {
    evaluate_limited(tree, file, app_dir, options, &JsonnetLimits::default())
}

/// [`evaluate`] within `limits`, in a child process killed at the deadline.
pub fn evaluate_limited(
    tree: &dyn FileTree,
    file: &str,
    app_dir: &str,
    options: &JsonnetOptions,
    limits: &JsonnetLimits,
) -> Result<serde_json::Value, RenderError> {
    let failed = |message: String| RenderError::Jsonnet {
        file: file.to_string(),
        message,
    };
    let vars = |vars: &[JsonnetVar]| {
        vars.iter()
            .map(|v| (v.name.clone(), v.value.clone(), v.code))
            .collect()
    };
    let job = wire::Job {
        file: file.to_string(),
        app_dir: app_dir.to_string(),
        ext_vars: vars(&options.ext_vars),
        tlas: vars(&options.tlas),
        libs: options.libs.clone(),
    };
    let json = sandbox::evaluate(tree, &job, limits).map_err(|e| failed(e.to_string()))?;
    serde_json::from_str(&json).map_err(|e| failed(format!("output is not JSON: {e}")))
}

/// Evaluates in this process, without limits: the JSON text (what the
/// evaluator child runs).
fn evaluate_here(
    tree: &dyn FileTree,
    file: &str,
    app_dir: &str,
    options: &JsonnetOptions,
) -> Result<String, RenderError> {
    let failed = |message: String| RenderError::Jsonnet {
        file: file.to_string(),
        message,
    };
    let mut search = vec![app_dir.to_string()];
    for lib in &options.libs {
        search.push(join("", lib).map_err(|e| failed(format!("libs: {e}")))?);
    }
    let arena = Arena::new();
    let mut program = Program::new(&arena);
    program.set_max_stack(MAX_STACK);
    let mut imports = Imports {
        tree,
        search,
        sources: HashMap::new(),
        loaded: HashMap::new(),
        failure: None,
    };
    let bytes = tree.read(file)?;
    let main = imports
        .load(&mut program, file, bytes)
        .map_err(|_| failed(imports.take_failure()))?;
    for var in &options.ext_vars {
        let thunk = imports
            .argument(&mut program, var, "extVar")
            .map_err(|_| failed(imports.take_failure()))?;
        let name = program.intern_str(&var.name);
        program.add_ext_var(name, &thunk);
    }
    let value = program
        .eval_value(&main, &mut imports)
        .map_err(|e| failed(imports.describe(&program, &e)))?;
    let value = if value.is_function() {
        let func = program.value_to_thunk(&value);
        let mut named = Vec::new();
        for var in &options.tlas {
            let thunk = imports
                .argument(&mut program, var, "tla")
                .map_err(|_| failed(imports.take_failure()))?;
            named.push((program.intern_str(&var.name), thunk));
        }
        program
            .eval_call(&func, &[], &named, &mut imports)
            .map_err(|e| failed(imports.describe(&program, &e)))?
    } else {
        value
    };
    program
        .manifest_json(&value, false)
        .map_err(|e| failed(imports.describe(&program, &e)))
}

/// Imports through the tree, remembering each loaded file's source.
struct Imports<'t, 'p> {
    tree: &'t dyn FileTree,
    /// `[app dir, libs...]`, searched last first after the importer's own directory.
    search: Vec<String>,
    /// Each loaded source: its tree path and text, for messages and imports.
    sources: HashMap<SpanContextId, (String, Vec<u8>)>,
    /// Files already loaded, by tree path.
    loaded: HashMap<String, Thunk<'p>>,
    /// Why the last import failed (the evaluator's error carries no text).
    failure: Option<String>,
}

impl<'p> Imports<'_, 'p> {
    /// Parses `bytes` as the file `path`.
    fn load(
        &mut self,
        program: &mut Program<'p>,
        path: &str,
        bytes: Vec<u8>,
    ) -> Result<Thunk<'p>, ImportError> {
        if let Some(thunk) = self.loaded.get(path) {
            return Ok(thunk.clone());
        }
        let (ctx, _) = program
            .span_manager_mut()
            .insert_source_context(bytes.len());
        let loaded = program.load_source(ctx, &bytes, true, path);
        self.sources.insert(ctx, (path.to_string(), bytes));
        match loaded {
            Ok(thunk) => {
                self.loaded.insert(path.to_string(), thunk.clone());
                Ok(thunk)
            }
            Err(error) => {
                self.failure = Some(format!("{path}: syntax error: {error:?}"));
                Err(ImportError)
            }
        }
    }

    /// An `extVar` or `tla` as a thunk: a string, or code parsed as Jsonnet.
    fn argument(
        &mut self,
        program: &mut Program<'p>,
        var: &JsonnetVar,
        what: &str,
    ) -> Result<Thunk<'p>, ImportError> {
        if !var.code {
            return Ok(program.value_to_thunk(&Value::string(&var.value)));
        }
        let label = format!("<{what}:{}>", var.name);
        self.load(program, &label, var.value.clone().into_bytes())
    }

    /// The tree path `path` names when imported from the source of `from`.
    fn resolve(
        &mut self,
        program: &Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<String, ImportError> {
        let importer = self.importer(program, from);
        let own_dir = if importer.starts_with('<') {
            self.search[0].clone()
        } else {
            importer
                .rsplit_once('/')
                .map(|(d, _)| d.to_string())
                .unwrap_or_default()
        };
        let bases = std::iter::once(own_dir).chain(self.search.iter().rev().cloned());
        for base in bases {
            let candidate = match join(&base, path) {
                Ok(candidate) => candidate,
                Err(error) => return Err(self.fail(&importer, path, &error.to_string())),
            };
            match self.tree.entry(&candidate) {
                Ok(Some(EntryKind::File)) => return Ok(candidate),
                Ok(_) => {}
                Err(error) => return Err(self.fail(&importer, path, &error.to_string())),
            }
        }
        Err(self.fail(&importer, path, "no such file in the repository"))
    }

    fn read(&mut self, importer: &str, path: &str) -> Result<Vec<u8>, ImportError> {
        self.tree
            .read(path)
            .map_err(|e: TreeError| self.fail(importer, path, &e.to_string()))
    }

    fn fail(&mut self, importer: &str, path: &str, why: &str) -> ImportError {
        self.failure = Some(format!("{importer}: import {path:?}: {why}"));
        ImportError
    }

    fn take_failure(&mut self) -> String {
        self.failure
            .take()
            .unwrap_or_else(|| "import failed".into())
    }

    /// ` (at FILE:LINE)` for a span, or nothing.
    fn at(&self, program: &Program<'p>, span: Option<SpanId>) -> String {
        let Some(span) = span else {
            return String::new();
        };
        let (ctx, start, _) = program.span_manager().get_span(span);
        match self.sources.get(&ctx) {
            Some((path, bytes)) => {
                let line = 1 + bytes[..start.min(bytes.len())]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count();
                format!(" (at {path}:{line})")
            }
            None => String::new(),
        }
    }

    /// A message for an evaluation error: what, and where.
    fn describe(&mut self, program: &Program<'p>, error: &EvalError) -> String {
        if let Some(failure) = self.failure.take() {
            return failure;
        }
        let span = error.stack_trace.iter().find_map(|item| match item {
            EvalStackTraceItem::Expr { span }
            | EvalStackTraceItem::Variable { span, .. }
            | EvalStackTraceItem::Import { span } => Some(*span),
            EvalStackTraceItem::Call { span, .. }
            | EvalStackTraceItem::ArrayItem { span, .. }
            | EvalStackTraceItem::ObjectField { span, .. } => *span,
            _ => None,
        });
        let (what, span) = match &error.kind {
            rsjsonnet_lang::program::EvalErrorKind::ExplicitError { message, span } => {
                (format!("error: {message}"), Some(*span))
            }
            rsjsonnet_lang::program::EvalErrorKind::StackOverflow => {
                (format!("max stack frames exceeded ({MAX_STACK})"), span)
            }
            other => (format!("{other:?}"), span),
        };
        format!("{what}{}", self.at(program, span))
    }
}

impl<'p> Callbacks<'p> for Imports<'_, 'p> {
    fn import(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<Thunk<'p>, ImportError> {
        let importer = self.importer(program, from);
        let found = self.resolve(program, from, path)?;
        let bytes = self.read(&importer, &found)?;
        self.load(program, &found, bytes)
    }

    fn import_str(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<String, ImportError> {
        let importer = self.importer(program, from);
        let found = self.resolve(program, from, path)?;
        let bytes = self.read(&importer, &found)?;
        String::from_utf8(bytes).map_err(|_| self.fail(&importer, &found, "not UTF-8 text"))
    }

    fn import_bin(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<Vec<u8>, ImportError> {
        let importer = self.importer(program, from);
        let found = self.resolve(program, from, path)?;
        self.read(&importer, &found)
    }

    fn trace(&mut self, _: &mut Program<'p>, message: &str, _: &[EvalStackTraceItem]) {
        tracing::debug!(message, "jsonnet std.trace");
    }

    fn native_call(
        &mut self,
        _: &mut Program<'p>,
        _: rsjsonnet_lang::interner::InternedStr<'p>,
        _: &[Value<'p>],
    ) -> Result<Value<'p>, NativeError> {
        Err(NativeError)
    }
}

impl<'p> Imports<'_, 'p> {
    fn importer(&self, program: &Program<'p>, from: SpanId) -> String {
        let (ctx, _, _) = program.span_manager().get_span(from);
        self.sources
            .get(&ctx)
            .map(|(p, _)| p.clone())
            .unwrap_or_default()
    }
}
