//! `helm template`'s output as objects.

use driftless_render::{Object, RenderError, yaml};

use crate::HelmError;

/// Parses the YAML documents helm printed into objects.
pub(crate) fn parse(output: &[u8], chart: &str, version: &str) -> Result<Vec<Object>, HelmError> {
    let failed = |source| HelmError::Output {
        chart: chart.to_string(),
        version: version.to_string(),
        source: Box::new(source),
    };
    let text = std::str::from_utf8(output)
        .map_err(|_| failed(RenderError::resource("output", "not UTF-8")))?;
    yaml::parse_documents(text, "output")
        .map_err(failed)?
        .into_iter()
        .map(|value| {
            Object::from_value(value).ok_or_else(|| {
                failed(RenderError::resource(
                    "output",
                    "a document is not a mapping (not an object)",
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_become_objects_in_order() {
        let text = "---\n# Source: web/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# Source: web/templates/empty.yaml\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n";
        let objects = parse(text.as_bytes(), "web", "1.0.0").unwrap();
        let names: Vec<_> = objects.iter().map(|o| (o.kind(), o.name())).collect();
        assert_eq!(names, [("ConfigMap", "a"), ("Service", "b")]);
    }

    #[test]
    fn a_scalar_document_is_an_error_naming_the_chart() {
        let error = parse(b"just text\n", "web", "1.0.0")
            .unwrap_err()
            .to_string();
        assert!(error.contains("chart web version 1.0.0"), "{error}");
        assert!(error.contains("not a mapping"), "{error}");
    }
}
