//! CEL expressions over Kubernetes objects, as Flux's Kustomization uses
//! them: `healthCheckExprs` (`current`, `inProgress`, `failed` over one
//! object's fields) and `dependsOn[].readyExpr` (over `self` and `dep`).
//!
//! Expressions are compiled once ([`Expression::compile`]), with errors
//! naming the expression, and evaluated against `serde_json::Value` objects.

use std::collections::HashMap;

use serde_json::Value as Json;

/// Why an expression could not be compiled or evaluated. Every variant
/// names the expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    /// The expression is not valid CEL.
    #[error("invalid CEL expression {expression:?}: {message}")]
    Compile {
        /// The expression as written.
        expression: String,
        /// What the parser said.
        message: String,
    },
    /// Evaluating it failed (e.g. a field that does not exist: guard it with `has()`).
    #[error("evaluating CEL expression {expression:?}: {message}")]
    Evaluate {
        /// The expression as written.
        expression: String,
        /// What the interpreter said.
        message: String,
    },
    /// It evaluated to something other than a boolean.
    #[error("CEL expression {expression:?} must evaluate to a bool, got {got}")]
    NotBool {
        /// The expression as written.
        expression: String,
        /// The type it returned.
        got: String,
    },
}

/// A compiled CEL expression and its source text.
pub struct Expression {
    source: String,
    program: cel::Program,
}

impl std::fmt::Debug for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Expression").field(&self.source).finish()
    }
}

impl Expression {
    /// Compiles `source`.
    pub fn compile(source: &str) -> Result<Self, ExprError> {
        let program = cel::Program::compile(source).map_err(|e| ExprError::Compile {
            expression: source.to_string(),
            message: e.to_string(),
        })?;
        Ok(Self {
            source: source.to_string(),
            program,
        })
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates the expression with `variables` bound, expecting a bool.
    pub fn evaluate_bool(&self, variables: &[(&str, &Json)]) -> Result<bool, ExprError> {
        let mut context = cel::Context::default();
        for (name, value) in variables {
            context.add_variable_from_value(*name, to_cel(value));
        }
        match self.program.execute(&context) {
            Ok(cel::Value::Bool(result)) => Ok(result),
            Ok(other) => Err(ExprError::NotBool {
                expression: self.source.clone(),
                got: format!("{:?}", other.type_of()),
            }),
            Err(e) => Err(ExprError::Evaluate {
                expression: self.source.clone(),
                message: e.to_string(),
            }),
        }
    }
}

/// A JSON value as a CEL value. Integers that fit `i64` become `int` (as
/// Kubernetes' own CEL sees them), so `status.replicas > 0` compares ints.
fn to_cel(value: &Json) -> cel::Value {
    match value {
        Json::Null => cel::Value::Null,
        Json::Bool(b) => cel::Value::Bool(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => cel::Value::Int(i),
            (None, Some(u)) => cel::Value::UInt(u),
            _ => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => cel::Value::from(s.as_str()),
        Json::Array(items) => cel::Value::from(items.iter().map(to_cel).collect::<Vec<_>>()),
        Json::Object(map) => cel::Value::from(
            map.iter()
                .map(|(k, v)| (k.clone(), to_cel(v)))
                .collect::<HashMap<String, cel::Value>>(),
        ),
    }
}

/// The health of an object as `healthCheckExprs` tell it (kstatus' words).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Reconciled and healthy.
    Current,
    /// Still progressing.
    InProgress,
    /// Failed.
    Failed,
}

/// The fields of a Kubernetes object bound as variables, even when absent
/// (as an empty map), so `has(status.conditions)` works on a new object.
const OBJECT_FIELDS: [&str; 5] = ["apiVersion", "kind", "metadata", "spec", "status"];

/// One `healthCheckExprs` entry, compiled.
#[derive(Debug)]
pub struct HealthCheckExprs {
    current: Expression,
    in_progress: Option<Expression>,
    failed: Option<Expression>,
}

impl HealthCheckExprs {
    /// Compiles the entry's expressions (`current` is required by the CRD).
    pub fn compile(
        current: &str,
        in_progress: Option<&str>,
        failed: Option<&str>,
    ) -> Result<Self, ExprError> {
        let optional = |source: Option<&str>| {
            source
                .filter(|s| !s.trim().is_empty())
                .map(Expression::compile)
                .transpose()
        };
        Ok(Self {
            current: Expression::compile(current)?,
            in_progress: optional(in_progress)?,
            failed: optional(failed)?,
        })
    }

    /// The health of `object`. As Flux does: `inProgress` is checked first,
    /// then `failed`, then `current`; when none holds, the object is still
    /// in progress. The object's top-level fields are the variables
    /// (`status.conditions`, `metadata.generation`, …).
    pub fn evaluate(&self, object: &Json) -> Result<Health, ExprError> {
        let empty = Json::Object(serde_json::Map::new());
        let mut variables: Vec<(&str, &Json)> = Vec::new();
        if let Json::Object(map) = object {
            variables.extend(map.iter().map(|(k, v)| (k.as_str(), v)));
        }
        for field in OBJECT_FIELDS {
            if !variables.iter().any(|(name, _)| *name == field) {
                variables.push((field, &empty));
            }
        }
        if let Some(expr) = &self.in_progress
            && expr.evaluate_bool(&variables)?
        {
            return Ok(Health::InProgress);
        }
        if let Some(expr) = &self.failed
            && expr.evaluate_bool(&variables)?
        {
            return Ok(Health::Failed);
        }
        if self.current.evaluate_bool(&variables)? {
            return Ok(Health::Current);
        }
        Ok(Health::InProgress)
    }
}

/// A `dependsOn[].readyExpr`, compiled.
#[derive(Debug)]
pub struct ReadyExpr(Expression);

impl ReadyExpr {
    /// Compiles the expression.
    pub fn compile(source: &str) -> Result<Self, ExprError> {
        Expression::compile(source).map(Self)
    }

    /// Whether the dependency counts as ready: the expression over `self`
    /// (the dependent Kustomization) and `dep` (the dependency), both as
    /// the API server returns them.
    pub fn evaluate(&self, this: &Json, dep: &Json) -> Result<bool, ExprError> {
        self.0.evaluate_bool(&[("self", this), ("dep", dep)])
    }
}

#[cfg(test)]
mod tests;
