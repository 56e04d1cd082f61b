//! The arguments of `helm template`, built from the render options and the
//! files prepared in the sandbox. Pure, so every flag is unit-tested.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::{Parameter, TemplateOptions};

/// The files a render passes to helm, all inside its sandbox.
#[derive(Debug, Default)]
pub(crate) struct PreparedFiles {
    /// `--values` files, in order (value files, then the inline values).
    pub(crate) values: Vec<PathBuf>,
    /// `--set-file NAME=PATH` pairs.
    pub(crate) file_parameters: Vec<(String, PathBuf)>,
}

/// `template RELEASE CHART_DIR ...` with the options' flags, in Argo CD's
/// order: namespace, Kubernetes version and API versions, value files (the
/// inline values last), `--set`/`--set-string`, `--set-file`, then CRDs and
/// schema validation.
pub(crate) fn template_args(
    options: &TemplateOptions,
    chart_dir: PathBuf,
    files: &PreparedFiles,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "template".into(),
        options.release_name.clone().into(),
        chart_dir.into(),
    ];
    // `--flag=value`, one argument: a value can never be read as a flag.
    let mut flag = |name: &str, value: OsString| {
        let mut arg = OsString::from(format!("{name}="));
        arg.push(value);
        args.push(arg);
    };
    if let Some(namespace) = &options.namespace {
        flag("--namespace", namespace.into());
    }
    if let Some(version) = &options.kube_version {
        flag("--kube-version", version.into());
    }
    for api in &options.api_versions {
        flag("--api-versions", api.into());
    }
    for file in &files.values {
        flag("--values", file.into());
    }
    for parameter in &options.parameters {
        let name = if parameter.force_string {
            "--set-string"
        } else {
            "--set"
        };
        flag(name, set_argument(parameter).into());
    }
    for (name, path) in &files.file_parameters {
        let mut value = OsString::from(format!("{name}="));
        value.push(path);
        flag("--set-file", value);
    }
    args.push(
        if options.skip_crds {
            "--skip-crds"
        } else {
            "--include-crds"
        }
        .into(),
    );
    if options.skip_schema_validation {
        args.push("--skip-schema-validation".into());
    }
    if options.skip_tests {
        args.push("--skip-tests".into());
    }
    if options.no_hooks {
        args.push("--no-hooks".into());
    }
    args
}

/// `NAME=VALUE` for `--set`, with the commas of the value escaped (helm
/// would split on them) unless the value is a `{a,b}` list, as Argo CD does.
fn set_argument(parameter: &Parameter) -> String {
    let value = &parameter.value;
    if value.starts_with('{') && value.ends_with('}') {
        return format!("{}={value}", parameter.name);
    }
    let mut escaped = String::with_capacity(value.len());
    let mut previous = None;
    for c in value.chars() {
        if c == ',' && previous != Some('\\') {
            escaped.push('\\');
        }
        escaped.push(c);
        previous = Some(c);
    }
    format!("{}={escaped}", parameter.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[OsString]) -> Vec<String> {
        args.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn minimal_options_include_crds() {
        let options = TemplateOptions::new("web");
        let args = template_args(&options, "/s/chart".into(), &PreparedFiles::default());
        assert_eq!(
            strings(&args),
            ["template", "web", "/s/chart", "--include-crds"]
        );
    }

    #[test]
    fn every_option_becomes_its_flag_in_order() {
        let mut options = TemplateOptions::new("web");
        options.namespace = Some("prod".into());
        options.kube_version = Some("1.34.0".into());
        options.api_versions = vec!["monitoring.coreos.com/v1".into(), "v1/Service".into()];
        options.parameters = vec![
            Parameter::new("image.tag", "1.2.3"),
            Parameter {
                force_string: true,
                ..Parameter::new("port", "8080")
            },
        ];
        options.skip_crds = true;
        options.skip_schema_validation = true;
        options.skip_tests = true;
        options.no_hooks = true;
        let files = PreparedFiles {
            values: vec!["/s/v0.yaml".into(), "/s/inline.yaml".into()],
            file_parameters: vec![("config".into(), "/s/f0".into())],
        };
        let args = template_args(&options, "/s/chart".into(), &files);
        assert_eq!(
            strings(&args),
            [
                "template",
                "web",
                "/s/chart",
                "--namespace=prod",
                "--kube-version=1.34.0",
                "--api-versions=monitoring.coreos.com/v1",
                "--api-versions=v1/Service",
                "--values=/s/v0.yaml",
                "--values=/s/inline.yaml",
                "--set=image.tag=1.2.3",
                "--set-string=port=8080",
                "--set-file=config=/s/f0",
                "--skip-crds",
                "--skip-schema-validation",
                "--skip-tests",
                "--no-hooks",
            ]
        );
    }

    #[test]
    fn values_that_look_like_flags_stay_values() {
        let mut options = TemplateOptions::new("web");
        options.parameters = vec![Parameter::new("x", "--post-renderer=/bin/sh")];
        options.namespace = Some("--post-renderer".into());
        let args = strings(&template_args(
            &options,
            "/c".into(),
            &PreparedFiles::default(),
        ));
        // Each value is part of its flag's argument, never an argument of its own.
        assert_eq!(
            args[3..],
            [
                "--namespace=--post-renderer",
                "--set=x=--post-renderer=/bin/sh",
                "--include-crds"
            ]
        );
    }

    #[test]
    fn commas_in_set_values_are_escaped_except_in_lists() {
        assert_eq!(set_argument(&Parameter::new("a", "x,y")), r"a=x\,y");
        assert_eq!(set_argument(&Parameter::new("a", r"x\,y")), r"a=x\,y");
        assert_eq!(set_argument(&Parameter::new("a", "{x,y}")), "a={x,y}");
        assert_eq!(set_argument(&Parameter::new("a", "")), "a=");
    }
}
