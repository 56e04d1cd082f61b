//! The `Link` header of a paginated answer (RFC 8288), as the distribution
//! API sends it on `tags/list`: `</v2/name/tags/list?last=x&n=2>; rel="next"`.

use hyper::HeaderMap;
use url::Url;

/// The target of the first `rel="next"` link among `headers`' `Link`
/// values, resolved against `base` (the URL that answered). A link that is
/// not a URL is no link.
pub(crate) fn next_page(headers: &HeaderMap, base: &Url) -> Option<Url> {
    headers
        .get_all(hyper::header::LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(next_target)
        .and_then(|target| base.join(target).ok())
}

/// The target of the `rel="next"` link in one header value, which may hold
/// several comma-separated links.
fn next_target(value: &str) -> Option<&str> {
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let close = after.find('>')?;
        let target = &after[..close];
        let params = &after[close + 1..];
        let end = params.find('<').unwrap_or(params.len());
        if is_next(&params[..end]) {
            return Some(target);
        }
        rest = &params[end..];
    }
    None
}

/// Whether `; rel="next"` (or `rel=next`, or `rel="prev next"`) is among
/// the link's parameters.
fn is_next(params: &str) -> bool {
    params
        .split(';')
        .filter_map(|param| param.split_once('='))
        .filter(|(key, _)| key.trim().eq_ignore_ascii_case("rel"))
        .any(|(_, value)| {
            value
                .trim()
                .trim_end_matches(',')
                .trim()
                .trim_matches('"')
                .split_ascii_whitespace()
                .any(|rel| rel.eq_ignore_ascii_case("next"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(hyper::header::LINK, value.parse().unwrap());
        }
        map
    }

    fn next(values: &[&str]) -> Option<String> {
        let base = Url::parse("http://127.0.0.1:5000/v2/charts/web/tags/list?n=2").unwrap();
        next_page(&headers(values), &base).map(String::from)
    }

    #[test]
    fn the_distribution_form_resolves_against_the_answering_url() {
        assert_eq!(
            next(&[r#"</v2/charts/web/tags/list?last=0.2.0&n=2>; rel="next""#]).as_deref(),
            Some("http://127.0.0.1:5000/v2/charts/web/tags/list?last=0.2.0&n=2")
        );
    }

    #[test]
    fn next_is_found_among_several_links_and_spellings() {
        let first = r#"<https://r.example/v2/a/tags/list?last=a>; rel="prev", <https://r.example/v2/a/tags/list?last=z>; rel="next""#;
        assert_eq!(
            next(&[first]).as_deref(),
            Some("https://r.example/v2/a/tags/list?last=z")
        );
        assert_eq!(
            next(&["<?last=b>;rel=next"]).as_deref(),
            Some("http://127.0.0.1:5000/v2/charts/web/tags/list?last=b")
        );
        assert_eq!(
            next(&[
                r#"<x>; rel="prev""#,
                r#"<y?p=2>; title="t"; REL="first next""#
            ])
            .as_deref(),
            Some("http://127.0.0.1:5000/v2/charts/web/tags/y?p=2")
        );
    }

    #[test]
    fn no_next_link_is_no_next_page() {
        assert_eq!(next(&[]), None);
        assert_eq!(next(&[r#"</v2/a/tags/list?last=a>; rel="prev""#]), None);
        assert_eq!(next(&[r#"</v2/a/tags/list; rel="next""#]), None);
        assert_eq!(next(&["garbage"]), None);
    }
}
