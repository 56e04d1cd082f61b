//! Image arguments and the `images:` list, with `kustomize edit set image`'s
//! semantics: `[NAME=]NEWNAME[:TAG][@DIGEST]`, `*` keeps a value from the
//! file, every entry is merged by name and the list is sorted by name.

use std::collections::BTreeMap;

/// One `images:` entry of a kustomization.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Image {
    /// The image name the entry matches (without tag).
    #[serde(default)]
    pub name: String,
    /// The replacement name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub new_name: String,
    /// A suffix for the original tag.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tag_suffix: String,
    /// The replacement tag.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub new_tag: String,
    /// The replacement digest (wins over the tag).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub digest: String,
}

/// `*` as a new name, tag or digest: keep the file's value.
const PRESERVE: &str = "*";

/// kustomize's message for an argument it cannot read.
pub(crate) const INVALID: &str = "invalid format of image, use one of the following options:
- <image>=<newimage>:<newtag>
- <image>=<newimage>@<digest>
- <image>=<newimage>:<newtag>@<digest>
- <image>=<newimage>
- <image>:<newtag>
- <image>:<newtag>@<digest>
- <image>@<digest>";

/// Splits `[host[:port]/]path[:tag][@digest]` into name, tag and digest,
/// as kustomize's `image.Split` does (a `:` before the first `/` is a port).
pub(crate) fn split(image: &str) -> (&str, &str, &str) {
    let offset = match image.find('/') {
        Some(i) if i > 0 => i,
        _ => 0,
    };
    let search = &image[offset..];
    let at = search.find('@').map(|i| i + offset);
    let colon = search.find(':').map(|i| i + offset);
    match (colon, at) {
        (None, None) => (image, "", ""),
        (c, Some(a)) if c.is_none_or(|c| a < c) => (&image[..a], "", &image[a + 1..]),
        (Some(c), Some(a)) => (&image[..c], &image[c + 1..a], &image[a + 1..]),
        (Some(c), None) => (&image[..c], &image[c + 1..], ""),
        (None, Some(_)) => unreachable!("handled by the digest-only arm"),
    }
}

/// Parses one argument of `edit set image`.
pub(crate) fn parse_arg(arg: &str) -> Result<Image, String> {
    let (key, value) = match arg.split_once('=') {
        Some((k, v)) => (Some(k), v),
        None => (None, arg),
    };
    let (name, tag, digest) = split(value);
    if name == arg {
        return Err(format!("{arg:?}: {INVALID}"));
    }
    let mut image = Image {
        new_tag: tag.to_string(),
        digest: digest.to_string(),
        ..Image::default()
    };
    match key {
        Some(k) => {
            image.name = k.to_string();
            image.new_name = name.to_string();
        }
        None => image.name = name.to_string(),
    }
    Ok(image)
}

fn keep(new: &mut String, old: &str) {
    if new == PRESERVE {
        *new = old.to_string();
    }
}

/// The `images:` list after setting `args` over `existing`: entries merged
/// by name (an argument replaces the file's entry; `*` keeps its value;
/// later duplicates win), sorted by name.
pub(crate) fn merge(existing: &[Image], args: &[Image]) -> Vec<Image> {
    let mut by_name: BTreeMap<String, Image> =
        args.iter().map(|a| (a.name.clone(), a.clone())).collect();
    for old in existing {
        match by_name.get_mut(&old.name) {
            Some(new) if args.iter().any(|a| a.name == old.name) => {
                keep(&mut new.new_name, &old.new_name);
                keep(&mut new.new_tag, &old.new_tag);
                keep(&mut new.digest, &old.digest);
            }
            _ => {
                by_name.insert(old.name.clone(), old.clone());
            }
        }
    }
    by_name
        .into_values()
        .map(|mut image| {
            for field in [&mut image.new_name, &mut image.new_tag, &mut image.digest] {
                keep(field, "");
            }
            image
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_kustomize() {
        assert_eq!(split("nginx"), ("nginx", "", ""));
        assert_eq!(split("nginx:1.25"), ("nginx", "1.25", ""));
        assert_eq!(split("nginx@sha256:abc"), ("nginx", "", "sha256:abc"));
        assert_eq!(
            split("nginx:1.25@sha256:abc"),
            ("nginx", "1.25", "sha256:abc")
        );
        assert_eq!(split("reg:5000/team/app"), ("reg:5000/team/app", "", ""));
        assert_eq!(
            split("reg:5000/team/app:v2"),
            ("reg:5000/team/app", "v2", "")
        );
    }

    #[test]
    fn arguments() {
        let i = parse_arg("web=registry.example.com/web:1.4.2").unwrap();
        assert_eq!(
            (i.name.as_str(), i.new_name.as_str(), i.new_tag.as_str()),
            ("web", "registry.example.com/web", "1.4.2")
        );
        let i = parse_arg("node:8.15.0").unwrap();
        assert_eq!(
            (i.name.as_str(), i.new_name.as_str(), i.new_tag.as_str()),
            ("node", "", "8.15.0")
        );
        let i = parse_arg("mysql=mariadb").unwrap();
        assert_eq!(
            (i.name.as_str(), i.new_name.as_str(), i.new_tag.as_str()),
            ("mysql", "mariadb", "")
        );
        assert!(
            parse_arg("nginx")
                .unwrap_err()
                .contains("invalid format of image")
        );
    }

    #[test]
    fn merged_by_name_and_sorted() {
        let old = vec![
            Image {
                name: "web".into(),
                new_name: "reg/web".into(),
                new_tag: "1".into(),
                ..Image::default()
            },
            Image {
                name: "api".into(),
                new_tag: "2".into(),
                ..Image::default()
            },
        ];
        let args = vec![Image {
            name: "web".into(),
            new_name: "*".into(),
            new_tag: "3".into(),
            ..Image::default()
        }];
        let merged = merge(&old, &args);
        assert_eq!(
            merged.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
            ["api", "web"]
        );
        assert_eq!(
            (merged[1].new_name.as_str(), merged[1].new_tag.as_str()),
            ("reg/web", "3")
        );
        let fresh = merge(
            &[],
            &[Image {
                name: "x".into(),
                new_tag: "*".into(),
                ..Image::default()
            }],
        );
        assert_eq!(fresh[0].new_tag, "");
    }
}
