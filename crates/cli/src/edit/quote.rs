//! Scalars written as kustomize writes them (through `sigs.k8s.io/yaml`,
//! that is go-yaml v2): plain when that reads back as the same string,
//! double-quoted when plain would read as a number, bool or null,
//! single-quoted when plain is not allowed at all.

/// go-yaml v2's boolean and null words (YAML 1.1).
const NOT_STRINGS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
    "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "~", "null", "Null", "NULL", "<<",
    ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN",
    ".NAN",
];

/// Whether go-yaml v2 would read `s` (plain) as something other than a string.
fn resolves_to_non_string(s: &str) -> bool {
    if s.is_empty() || NOT_STRINGS.contains(&s) {
        return true;
    }
    if !s.starts_with(|c: char| c.is_ascii_digit() || "+-.".contains(c)) {
        return false;
    }
    is_int(&s.replace('_', "")) || is_yaml_float(s) || is_base60_float(s)
}

fn is_int(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (radix, body) = if let Some(b) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, b)
    } else if let Some(b) = digits
        .strip_prefix("0b")
        .or_else(|| digits.strip_prefix("0B"))
    {
        (2, b)
    } else if let Some(b) = digits
        .strip_prefix("0o")
        .or_else(|| digits.strip_prefix("0O"))
    {
        (8, b)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    !body.is_empty() && body.chars().all(|c| c.is_digit(radix))
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (main, frac) = match s.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (s, None),
    };
    let mut parts = main.split(':');
    let head = parts.next().unwrap_or_default();
    let head_ok = head.starts_with(|c: char| c.is_ascii_digit())
        && head.chars().all(|c| c.is_ascii_digit() || c == '_');
    let rest: Vec<&str> = parts.collect();
    let sixty = |p: &&str| {
        (1..=2).contains(&p.len())
            && p.chars().all(|c| c.is_ascii_digit())
            && (p.len() == 1 || p.as_bytes()[0] <= b'5')
    };
    head_ok
        && !rest.is_empty()
        && rest.iter().all(sixty)
        && frac.is_none_or(|f| f.chars().all(|c| c.is_ascii_digit() || c == '_'))
}

/// Whether the emitter allows `s` as a plain scalar in block context.
fn plain_allowed(s: &str) -> bool {
    let first = s.chars().next().unwrap_or(' ');
    let second = s.chars().nth(1);
    let followed_by_space = |c: Option<char>| c.is_none_or(|c| c == ' ');
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    if "#,[]{}&*!|>'\"%@`".contains(first) {
        return false;
    }
    if "-?:".contains(first) && followed_by_space(second) {
        return false;
    }
    if s.starts_with(' ')
        || s.ends_with(' ')
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
    {
        return false;
    }
    s.chars().all(|c| !c.is_control())
}

/// `s` as go-yaml v2 writes a string value.
pub(crate) fn scalar(s: &str) -> String {
    if resolves_to_non_string(s) || s.chars().any(char::is_control) {
        return serde_json::to_string(s).unwrap_or_default();
    }
    if plain_allowed(s) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

#[cfg(test)]
mod tests {
    use super::scalar;

    #[test]
    fn like_go_yaml_v2() {
        for (given, want) in [
            ("latest", "latest"),
            ("1.25.3", "1.25.3"),
            ("v1.2", "v1.2"),
            ("1.25", "\"1.25\""),
            ("8", "\"8\""),
            ("20240101", "\"20240101\""),
            ("0x1F", "\"0x1F\""),
            ("1e3", "\"1e3\""),
            ("yes", "\"yes\""),
            ("on", "\"on\""),
            ("null", "\"null\""),
            ("1:20", "\"1:20\""),
            ("sha256:24a0c4b4", "sha256:24a0c4b4"),
            ("reg:5000/team/app", "reg:5000/team/app"),
            ("-dev", "-dev"),
            ("*weird", "'*weird'"),
        ] {
            assert_eq!(scalar(given), want, "{given:?}");
        }
    }
}
