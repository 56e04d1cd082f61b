//! Sync options, as Argo CD spells them: the Application's
//! `syncPolicy.syncOptions` and the per-resource
//! `argocd.argoproj.io/sync-options` annotation (comma separated).
//!
//! Every field is an `Option`: `None` means "not said here", so a resource's
//! annotation can be laid over the Application's options with
//! [`SyncOptions::overlay`]. The accessors give the effective value.

/// The per-resource annotation holding comma-separated sync options.
pub const SYNC_OPTIONS_ANNOTATION: &str = "argocd.argoproj.io/sync-options";

/// How dependents of a pruned object are deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PropagationPolicy {
    /// Dependents first, then the object (Argo CD's default).
    #[default]
    Foreground,
    /// The object now, dependents by the garbage collector.
    Background,
    /// The object only; dependents are left behind.
    Orphan,
}

impl PropagationPolicy {
    /// The policy as the API server spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Foreground => "Foreground",
            Self::Background => "Background",
            Self::Orphan => "Orphan",
        }
    }
}

/// Parsed sync options. `None` fields were not given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncOptions {
    /// `CreateNamespace=true`: create the destination namespace when missing.
    pub create_namespace: Option<bool>,
    /// `PrunePropagationPolicy=foreground|background|orphan`.
    pub prune_propagation_policy: Option<PropagationPolicy>,
    /// `PruneLast=true`: prune after every wave was applied.
    pub prune_last: Option<bool>,
    /// `Prune=false` (or `Prune=confirm`): never prune this object.
    pub prune: Option<bool>,
    /// `Delete=false` (or `Delete=confirm`): keep this object when the Application is deleted.
    pub delete: Option<bool>,
    /// `ApplyOutOfSyncOnly=true` (always the behaviour here: only what differs is written).
    pub apply_out_of_sync_only: Option<bool>,
    /// `ServerSideApply=true` (always on).
    pub server_side_apply: Option<bool>,
    /// `Replace=true`: an object whose update is refused (immutable field) is deleted and recreated.
    pub replace: Option<bool>,
    /// `Force=true`: as `Replace=true` for immutable fields.
    pub force: Option<bool>,
    /// `Validate=false`: skip schema validation of the applied object.
    pub validate: Option<bool>,
    /// `FailOnSharedResource=true`: an object tracked by another Application fails the sync.
    pub fail_on_shared_resource: Option<bool>,
    /// `RespectIgnoreDifferences=true`: fields named by `ignoreDifferences` are not written on sync.
    pub respect_ignore_differences: Option<bool>,
    /// `SkipDryRunOnMissingResource=true`: an object of a kind the server does not know yet is not an error in the diff.
    pub skip_dry_run_on_missing_resource: Option<bool>,
}

impl SyncOptions {
    /// `self` with every option `over` sets replacing this one's.
    pub fn overlay(&self, over: &SyncOptions) -> SyncOptions {
        SyncOptions {
            create_namespace: over.create_namespace.or(self.create_namespace),
            prune_propagation_policy: over
                .prune_propagation_policy
                .or(self.prune_propagation_policy),
            prune_last: over.prune_last.or(self.prune_last),
            prune: over.prune.or(self.prune),
            delete: over.delete.or(self.delete),
            apply_out_of_sync_only: over.apply_out_of_sync_only.or(self.apply_out_of_sync_only),
            server_side_apply: over.server_side_apply.or(self.server_side_apply),
            replace: over.replace.or(self.replace),
            force: over.force.or(self.force),
            validate: over.validate.or(self.validate),
            fail_on_shared_resource: over
                .fail_on_shared_resource
                .or(self.fail_on_shared_resource),
            respect_ignore_differences: over
                .respect_ignore_differences
                .or(self.respect_ignore_differences),
            skip_dry_run_on_missing_resource: over
                .skip_dry_run_on_missing_resource
                .or(self.skip_dry_run_on_missing_resource),
        }
    }

    /// Whether the destination namespace is created when missing.
    pub fn creates_namespace(&self) -> bool {
        self.create_namespace.unwrap_or(false)
    }

    /// The propagation policy for pruning (foreground by default).
    pub fn propagation_policy(&self) -> PropagationPolicy {
        self.prune_propagation_policy.unwrap_or_default()
    }

    /// Whether this object is pruned after everything else.
    pub fn prunes_last(&self) -> bool {
        self.prune_last.unwrap_or(false)
    }

    /// Whether this object may be pruned (`Prune=false` says no).
    pub fn allows_prune(&self) -> bool {
        self.prune.unwrap_or(true)
    }

    /// Whether this object may be deleted with its Application (`Delete=false` says no).
    pub fn allows_delete(&self) -> bool {
        self.delete.unwrap_or(true)
    }

    /// Whether an object whose update is refused is deleted and recreated.
    pub fn replaces_on_conflict(&self) -> bool {
        self.replace.unwrap_or(false) || self.force.unwrap_or(false)
    }

    /// Whether the API server validates fields (`Validate=false` says no).
    pub fn validates(&self) -> bool {
        self.validate.unwrap_or(true)
    }

    /// Whether a resource shared with another Application fails the sync.
    pub fn fails_on_shared_resource(&self) -> bool {
        self.fail_on_shared_resource.unwrap_or(false)
    }

    /// Whether ignored differences are also left alone when applying.
    pub fn respects_ignore_differences(&self) -> bool {
        self.respect_ignore_differences.unwrap_or(false)
    }

    /// Whether an unknown kind is tolerated in the diff.
    pub fn skips_dry_run_on_missing_resource(&self) -> bool {
        self.skip_dry_run_on_missing_resource.unwrap_or(false)
    }
}

/// Parses a list of `Key=value` sync options. Options that are unknown, or
/// whose value is not understood, are returned as warnings (one message
/// each) and otherwise ignored.
pub fn parse_sync_options<S: AsRef<str>>(opts: &[S]) -> (SyncOptions, Vec<String>) {
    let mut parsed = SyncOptions::default();
    let mut warnings = Vec::new();
    for raw in opts {
        let raw = raw.as_ref().trim();
        if raw.is_empty() {
            continue;
        }
        if let Err(message) = apply_one(&mut parsed, raw) {
            warnings.push(message);
        }
    }
    (parsed, warnings)
}

/// Parses the value of the `argocd.argoproj.io/sync-options` annotation
/// (comma-separated options).
pub fn parse_annotation(value: &str) -> (SyncOptions, Vec<String>) {
    let opts: Vec<&str> = value.split(',').collect();
    parse_sync_options(&opts)
}

fn apply_one(opts: &mut SyncOptions, raw: &str) -> Result<(), String> {
    let Some((key, value)) = raw.split_once('=') else {
        return Err(format!("sync option {raw:?} is not of the form Key=value"));
    };
    let (key, value) = (key.trim(), value.trim());
    let flag = || parse_bool(key, value);
    match key {
        "CreateNamespace" => opts.create_namespace = Some(flag()?),
        "PrunePropagationPolicy" => {
            opts.prune_propagation_policy = Some(match value.to_ascii_lowercase().as_str() {
                "foreground" => PropagationPolicy::Foreground,
                "background" => PropagationPolicy::Background,
                "orphan" => PropagationPolicy::Orphan,
                _ => {
                    return Err(format!(
                        "sync option PrunePropagationPolicy={value} is not one of foreground, background, orphan"
                    ));
                }
            })
        }
        "PruneLast" => opts.prune_last = Some(flag()?),
        // `confirm` asks a person to confirm in Argo CD; without a UI we never do it.
        "Prune" if value == "confirm" => opts.prune = Some(false),
        "Prune" => opts.prune = Some(flag()?),
        "Delete" if value == "confirm" => opts.delete = Some(false),
        "Delete" => opts.delete = Some(flag()?),
        "ApplyOutOfSyncOnly" => opts.apply_out_of_sync_only = Some(flag()?),
        "ServerSideApply" => opts.server_side_apply = Some(flag()?),
        "Replace" => opts.replace = Some(flag()?),
        "Force" => opts.force = Some(flag()?),
        "Validate" => opts.validate = Some(flag()?),
        "FailOnSharedResource" => opts.fail_on_shared_resource = Some(flag()?),
        "RespectIgnoreDifferences" => opts.respect_ignore_differences = Some(flag()?),
        "SkipDryRunOnMissingResource" => opts.skip_dry_run_on_missing_resource = Some(flag()?),
        _ => {
            return Err(format!(
                "sync option {key} is not supported and was ignored"
            ));
        }
    }
    Ok(())
}

fn parse_bool(key: &str, value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!(
            "sync option {key}={value} is neither true nor false"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_options() {
        let (opts, warnings) = parse_sync_options(&[
            "CreateNamespace=true",
            "PrunePropagationPolicy=background",
            "PruneLast=true",
            "Prune=false",
            "Delete=confirm",
            "ApplyOutOfSyncOnly=true",
            "ServerSideApply=true",
            "Replace=true",
            "Force=false",
            "Validate=false",
            "FailOnSharedResource=true",
            "RespectIgnoreDifferences=true",
            "SkipDryRunOnMissingResource=true",
        ]);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(opts.creates_namespace());
        assert_eq!(opts.propagation_policy(), PropagationPolicy::Background);
        assert!(opts.prunes_last());
        assert!(!opts.allows_prune());
        assert!(!opts.allows_delete());
        assert!(opts.replaces_on_conflict());
        assert!(!opts.validates());
        assert!(opts.fails_on_shared_resource());
        assert!(opts.respects_ignore_differences());
        assert!(opts.skips_dry_run_on_missing_resource());
    }

    #[test]
    fn defaults() {
        let opts = SyncOptions::default();
        assert!(!opts.creates_namespace());
        assert_eq!(opts.propagation_policy(), PropagationPolicy::Foreground);
        assert!(opts.allows_prune() && opts.allows_delete() && opts.validates());
        assert!(!opts.replaces_on_conflict() && !opts.fails_on_shared_resource());
    }

    #[test]
    fn unknown_and_malformed_options_warn() {
        let (opts, warnings) = parse_sync_options(&[
            "Frobnicate=true",
            "CreateNamespace=yes",
            "PruneLast",
            "PrunePropagationPolicy=sideways",
            "",
        ]);
        assert_eq!(opts, SyncOptions::default());
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(warnings[0].contains("Frobnicate"));
        assert!(warnings[1].contains("CreateNamespace=yes"));
    }

    #[test]
    fn annotation_overlays_application_options() {
        let (app, _) = parse_sync_options(&["Prune=true", "PrunePropagationPolicy=orphan"]);
        let (res, warnings) = parse_annotation("Prune=false, Replace=true");
        assert!(warnings.is_empty());
        let eff = app.overlay(&res);
        assert!(!eff.allows_prune());
        assert!(eff.replaces_on_conflict());
        assert_eq!(eff.propagation_policy(), PropagationPolicy::Orphan);
    }
}
