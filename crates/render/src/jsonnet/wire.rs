//! The messages between the controller and its Jsonnet evaluator child
//! process: one JSON document a line on the child's stdin and stdout.
//!
//! The parent writes a [`Job`]; the child asks for files ([`Ask`]) and the
//! parent answers each ([`Answer`]), until the child sends [`Ask::Done`].

use std::io::{BufRead, Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::tree::{EntryKind, TreeError};

/// What to evaluate: the first line the parent writes.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Job {
    /// The Jsonnet file, a tree path.
    pub(crate) file: String,
    /// The application's directory (the first search path).
    pub(crate) app_dir: String,
    /// `extVars`, each `(name, value, code)`.
    pub(crate) ext_vars: Vec<(String, String, bool)>,
    /// `tlas`, each `(name, value, code)`.
    pub(crate) tlas: Vec<(String, String, bool)>,
    /// `libs`.
    pub(crate) libs: Vec<String>,
}

/// A line from the child.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Ask {
    /// What is at this tree path?
    Entry(String),
    /// The bytes of this file.
    Read(String),
    /// The evaluation ended: the JSON text, or why it failed.
    Done(Result<String, String>),
}

/// The parent's answer to an [`Ask::Entry`] or [`Ask::Read`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Answer {
    /// `Some(true)` a file, `Some(false)` a directory, `None` nothing.
    Entry(Result<Option<bool>, TreeError>),
    /// The file's bytes, base64.
    Read(Result<String, TreeError>),
}

impl Answer {
    pub(crate) fn entry(found: Result<Option<EntryKind>, TreeError>) -> Answer {
        Answer::Entry(found.map(|kind| kind.map(|k| k == EntryKind::File)))
    }

    pub(crate) fn read(found: Result<Vec<u8>, TreeError>) -> Answer {
        Answer::Read(found.map(|bytes| STANDARD.encode(bytes)))
    }
}

/// Decodes the bytes of an [`Answer::Read`].
pub(crate) fn decode(path: &str, text: &str) -> Result<Vec<u8>, TreeError> {
    STANDARD.decode(text).map_err(|e| TreeError::Io {
        path: path.to_string(),
        message: format!("evaluator pipe: {e}"),
    })
}

/// Writes `message` as one line.
pub(crate) fn send<T: Serialize>(to: &mut impl Write, message: &T) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message)?;
    line.push(b'\n');
    to.write_all(&line)?;
    to.flush()
}

/// Reads one line of at most `limit` bytes as a `T`; `Ok(None)` at the end
/// of the stream.
pub(crate) fn receive<T: DeserializeOwned>(
    from: &mut impl BufRead,
    limit: u64,
) -> std::io::Result<Option<T>> {
    let mut line = Vec::new();
    from.take(limit + 1).read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Ok(None);
    }
    if line.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "a message longer than {limit} bytes"
        )));
    }
    serde_json::from_slice(&line)
        .map(Some)
        .map_err(std::io::Error::other)
}
