//! Colors, only on a terminal and never with `NO_COLOR` set.

use std::io::IsTerminal;

/// An ANSI color.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Color {
    /// Good: Synced, Healthy, Ready.
    Green,
    /// Attention: OutOfSync, Progressing.
    Yellow,
    /// Bad: Degraded, Failed, not Ready.
    Red,
    /// Neutral emphasis (headers, names).
    Bold,
    /// De-emphasis (Unknown, Suspended).
    Dim,
}

impl Color {
    fn code(self) -> &'static str {
        match self {
            Color::Green => "32",
            Color::Yellow => "33",
            Color::Red => "31",
            Color::Bold => "1",
            Color::Dim => "2",
        }
    }
}

/// Whether stdout should be colored.
pub(crate) fn stdout_wants_color() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

/// `text` in `color` when `enabled`.
pub(crate) fn paint(text: &str, color: Color, enabled: bool) -> String {
    if enabled {
        format!("\x1b[{}m{text}\x1b[0m", color.code())
    } else {
        text.to_string()
    }
}

/// The color of a status word (Synced, OutOfSync, Healthy, Degraded, True, False, ...).
pub(crate) fn of_status(word: &str) -> Option<Color> {
    match word {
        "Synced" | "Healthy" | "True" | "Succeeded" => Some(Color::Green),
        "OutOfSync" | "Progressing" | "Running" | "Missing" => Some(Color::Yellow),
        "Degraded" | "False" | "Failed" | "Error" | "SyncFailed" => Some(Color::Red),
        "Unknown" | "Suspended" => Some(Color::Dim),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn painting_is_optional() {
        assert_eq!(paint("Synced", Color::Green, false), "Synced");
        assert_eq!(paint("Synced", Color::Green, true), "\x1b[32mSynced\x1b[0m");
        assert_eq!(of_status("Degraded"), Some(Color::Red));
        assert_eq!(of_status("web"), None);
    }
}
