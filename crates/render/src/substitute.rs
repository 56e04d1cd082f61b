//! Flux's `postBuild` variable substitution over rendered objects.
//!
//! As Flux's kustomize-controller does (with `drone/envsubst`): each object
//! is serialized to YAML, `${name}` references in the text are replaced, and
//! the text is parsed back, so `replicas: ${REPLICAS}` becomes a number.
//!
//! - `${var}` is the variable's value; undefined is an empty string, or an
//!   error in [`Mode::Strict`] (Flux's `StrictPostBuildSubstitutions`).
//! - `${var:=default}`, `${var:-default}`, `${var=default}` and
//!   `${var-default}` give `default` when the value is empty or undefined
//!   (Flux looks variables up through a function that returns `""` for an
//!   undefined one, so the four spellings behave alike). The default may
//!   itself hold `${other}`.
//! - `$${var}` is an escape and leaves `${var}`; `$var` without braces, and
//!   `${` not followed by a variable name, are left as written.
//! - envsubst's string functions (`${var^^}`, `${var#x}`, `${var/a/b}`,
//!   `${var:1:2}`, `${#var}`, …) are refused with an error naming the object
//!   and the variable, not silently mangled.
//! - An object labelled or annotated `kustomize.toolkit.fluxcd.io/substitute:
//!   disabled` is left untouched.
//! - In [`Mode::Lenient`] (Flux's default), nothing is substituted when no
//!   variable is defined at all.
//!
//! Variable names must match `^[_[:alpha:]][_[:alpha:][:digit:]]*$`; values
//! lose their newlines. Errors never quote a value (they may come from a Secret).

use std::collections::BTreeMap;

use crate::object::Object;

/// The label or annotation that turns substitution off for one object.
pub const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";
/// Its value that does so.
pub const DISABLED: &str = "disabled";

/// What failed while substituting. Every variant names what it concerns;
/// none carries a variable's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubstituteError {
    /// A variable name that Flux refuses.
    #[error(
        "{origin}: variable name {name:?} is invalid, it must match ^[_[:alpha:]][_[:alpha:][:digit:]]*$"
    )]
    InvalidName {
        /// Where the variable came from (`spec.postBuild.substitute`, `ConfigMap/vars`).
        origin: String,
        /// The name.
        name: String,
    },
    /// A variable without a default that is not defined (strict mode only).
    #[error("{object}: variable {variable:?} is not set and has no default (strict substitution)")]
    Undefined {
        /// The object (`Kind namespace/name`).
        object: String,
        /// The variable.
        variable: String,
    },
    /// An envsubst string function that driftless does not implement.
    #[error(
        "{object}: ${{{variable}{operator}…}}: the {operator:?} operator is not supported; use ${{{variable}}} or ${{{variable}:=default}}"
    )]
    Unsupported {
        /// The object.
        object: String,
        /// The variable.
        variable: String,
        /// The operator found after the name.
        operator: String,
    },
    /// `${` with a name but no closing `}`.
    #[error("{object}: ${{{variable} is not closed with }}")]
    Unclosed {
        /// The object.
        object: String,
        /// The variable.
        variable: String,
    },
    /// The object could not be written as YAML.
    #[error("{object}: cannot serialize for substitution: {message}")]
    Serialize {
        /// The object.
        object: String,
        /// What the serializer said.
        message: String,
    },
    /// After substitution the text is no longer one YAML object.
    #[error("{object}: after variable substitution the object is not valid YAML{message}")]
    Reparse {
        /// The object.
        object: String,
        /// What the parser said (left out for Secrets, whose text holds values).
        message: String,
    },
}

/// Whether an undefined variable without a default is an error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Undefined variables become empty strings (Flux's default).
    #[default]
    Lenient,
    /// Undefined variables fail the build (Flux's `StrictPostBuildSubstitutions`).
    Strict,
}

/// The variables of one Kustomization, gathered in Flux's order (each
/// `substituteFrom` entry, then `substitute`; later ones win).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Variables {
    values: BTreeMap<String, String>,
}

impl std::fmt::Debug for Variables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may come from Secrets: only the names are printed.
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl Variables {
    /// No variables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `vars` from `origin` (named in errors), overriding earlier ones
    /// of the same name. Newlines are removed from values, as Flux does.
    pub fn extend_from<I, K, V>(&mut self, origin: &str, vars: I) -> Result<(), SubstituteError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: AsRef<str>,
    {
        for (name, value) in vars {
            let name = name.into();
            if !is_valid_name(&name) {
                return Err(SubstituteError::InvalidName {
                    origin: origin.to_string(),
                    name,
                });
            }
            self.values.insert(name, value.as_ref().replace('\n', ""));
        }
        Ok(())
    }

    /// Whether no variable is defined.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The value of `name`, if defined.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
}

/// Whether `name` matches `^[_[:alpha:]][_[:alpha:][:digit:]]*$`.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Whether substitution is turned off for `object` by its label or annotation.
pub fn is_disabled(object: &Object) -> bool {
    object.label(SUBSTITUTE_KEY) == Some(DISABLED)
        || object.annotation(SUBSTITUTE_KEY) == Some(DISABLED)
}

/// Substitutes `vars` into every object (see the module docs), in order.
pub fn substitute_objects(
    objects: Vec<Object>,
    vars: &Variables,
    mode: Mode,
) -> Result<Vec<Object>, SubstituteError> {
    if vars.is_empty() && mode == Mode::Lenient {
        return Ok(objects);
    }
    objects
        .into_iter()
        .map(|object| substitute_object(object, vars, mode))
        .collect()
}

/// Substitutes `vars` into one object's YAML text and parses it back;
/// objects with substitution disabled come back unchanged.
pub fn substitute_object(
    object: Object,
    vars: &Variables,
    mode: Mode,
) -> Result<Object, SubstituteError> {
    if is_disabled(&object) {
        return Ok(object);
    }
    let name = object.key().to_string();
    let text = serde_saphyr::to_string(&object).map_err(|e| SubstituteError::Serialize {
        object: name.clone(),
        message: e.to_string(),
    })?;
    if !text.contains("${") {
        return Ok(object);
    }
    let replaced = substitute_text(&text, vars, mode, &name)?;
    let reparse_error = |message: String| SubstituteError::Reparse {
        object: name.clone(),
        message: if object.kind() == "Secret" {
            String::new()
        } else {
            format!(": {message}")
        },
    };
    let value =
        crate::yaml::parse_one(&replaced, &name).map_err(|e| reparse_error(e.to_string()))?;
    Object::from_value(value).ok_or_else(|| reparse_error("not a mapping".to_string()))
}

/// Replaces the `${…}` references of `text`; `object` names it in errors.
pub fn substitute_text(
    text: &str,
    vars: &Variables,
    mode: Mode,
    object: &str,
) -> Result<String, SubstituteError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(escaped) = after.strip_prefix("${") {
            // `$${` is an escape for a literal `${`.
            out.push_str("${");
            rest = escaped;
        } else if let Some(inner) = after.strip_prefix('{').filter(|s| starts_with_name(s)) {
            let (value, consumed) = expand(inner, vars, mode, object)?;
            out.push_str(&value);
            rest = &inner[consumed..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn starts_with_name(text: &str) -> bool {
    text.chars()
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
}

/// Expands one reference; `inner` follows its `${`. Returns the value and
/// how much of `inner` it used, up to and including the closing `}`.
fn expand(
    inner: &str,
    vars: &Variables,
    mode: Mode,
    object: &str,
) -> Result<(String, usize), SubstituteError> {
    let name_len = inner
        .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
        .unwrap_or(inner.len());
    let variable = &inner[..name_len];
    let after = &inner[name_len..];
    let unclosed = || SubstituteError::Unclosed {
        object: object.to_string(),
        variable: variable.to_string(),
    };
    if after.starts_with('}') {
        let value = match (vars.get(variable), mode) {
            (Some(value), _) => value.to_string(),
            (None, Mode::Lenient) => String::new(),
            (None, Mode::Strict) => {
                return Err(SubstituteError::Undefined {
                    object: object.to_string(),
                    variable: variable.to_string(),
                });
            }
        };
        return Ok((value, name_len + 1));
    }
    let Some(operator) = [":=", ":-", "=", "-"]
        .into_iter()
        .find(|op| after.starts_with(op))
    else {
        if after.is_empty() {
            return Err(unclosed());
        }
        let operator: String = after.chars().take_while(|&c| c != '}').take(2).collect();
        return Err(SubstituteError::Unsupported {
            object: object.to_string(),
            variable: variable.to_string(),
            operator,
        });
    };
    let default_start = name_len + operator.len();
    let default_len = closing_brace(&inner[default_start..]).ok_or_else(unclosed)?;
    let value = match vars.get(variable).filter(|v| !v.is_empty()) {
        Some(value) => value.to_string(),
        None => substitute_text(
            &inner[default_start..default_start + default_len],
            vars,
            mode,
            object,
        )?,
    };
    Ok((value, default_start + default_len + 1))
}

/// The offset of the `}` that closes a default, skipping nested `${…}`.
fn closing_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'{' if i > 0 && bytes[i - 1] == b'$' => depth += 1,
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests;
