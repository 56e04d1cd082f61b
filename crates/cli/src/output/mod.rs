//! Output helpers: tables like kubectl's, ages, colors, `-o yaml|json`.

pub(crate) mod color;
pub(crate) mod table;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// `-o` of `get`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// A table (the default).
    #[default]
    Table,
    /// A table with more columns.
    Wide,
    /// The objects as YAML.
    Yaml,
    /// The objects as JSON.
    Json,
}

/// kubectl's age format: `45s`, `3m12s`, `25m`, `4h12m`, `20h`, `3d4h`, `12d`, `2y34d`.
pub(crate) fn human_age(seconds: i64) -> String {
    let s = seconds.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86_400);
    match s {
        _ if s < 120 => format!("{s}s"),
        _ if m < 10 => format!("{m}m{}s", s % 60),
        _ if h < 3 => format!("{m}m"),
        _ if h < 8 => format!("{h}h{}m", m % 60),
        _ if h < 48 => format!("{h}h"),
        _ if d < 8 => format!("{d}d{}h", h % 24),
        _ if d < 365 * 2 => format!("{d}d"),
        _ => format!("{}y{}d", d / 365, d % 365),
    }
}

/// The age of an object created at `created`, or `<unknown>`.
pub(crate) fn age(created: Option<&Time>) -> String {
    match created {
        Some(t) => human_age(Timestamp::now().duration_since(t.0).as_secs()),
        None => "<unknown>".into(),
    }
}

/// A commit SHA shortened to 7 characters; Flux revisions
/// (`main@sha1:<sha>`) keep their ref and algorithm.
pub(crate) fn short_revision(revision: &str) -> String {
    let (prefix, sha) = match revision.rfind(':') {
        Some(i) => revision.split_at(i + 1),
        None => ("", revision),
    };
    let hex = sha.len() >= 12 && sha.chars().all(|c| c.is_ascii_hexdigit());
    if hex {
        format!("{prefix}{}", &sha[..7])
    } else {
        revision.to_string()
    }
}

/// A message on one line, cut to `max` characters.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max {
        line
    } else {
        let cut: String = line.chars().take(max.saturating_sub(3)).collect();
        format!("{cut}...")
    }
}

/// Prints `items` as kubectl does for `-o yaml|json`: one object as itself,
/// several as a `List`.
pub(crate) fn print_objects(
    items: Vec<serde_json::Value>,
    format: Format,
    single: bool,
) -> anyhow::Result<()> {
    let doc = if single && items.len() == 1 {
        items.into_iter().next().unwrap_or_default()
    } else {
        serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items})
    };
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&doc)?),
        _ => print!("{}", serde_saphyr::to_string(&doc)?),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_like_kubectl() {
        assert_eq!(human_age(5), "5s");
        assert_eq!(human_age(119), "119s");
        assert_eq!(human_age(192), "3m12s");
        assert_eq!(human_age(25 * 60), "25m");
        assert_eq!(human_age(4 * 3600 + 12 * 60), "4h12m");
        assert_eq!(human_age(20 * 3600), "20h");
        assert_eq!(human_age(3 * 86_400 + 4 * 3600), "3d4h");
        assert_eq!(human_age(12 * 86_400), "12d");
        assert_eq!(human_age(800 * 86_400), "2y70d");
    }

    #[test]
    fn revisions_are_shortened() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(short_revision(sha), "0123456");
        assert_eq!(
            short_revision(&format!("main@sha1:{sha}")),
            "main@sha1:0123456"
        );
        assert_eq!(short_revision("v1.2.3"), "v1.2.3");
    }

    #[test]
    fn messages_fit_one_line() {
        assert_eq!(one_line("a\n  b", 10), "a b");
        assert_eq!(one_line("abcdefghijkl", 8), "abcde...");
    }
}
