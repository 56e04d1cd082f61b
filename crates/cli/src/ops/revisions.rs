//! `driftless sync NAME --revision R --source-position N`: the
//! `operation.sync.revisions` of a multi-source Application, as `argocd app
//! sync --revisions R --source-positions N` asks Argo CD's server for them:
//! the given revision at each named position (1-based, in `spec.sources`
//! order), every other source at its `targetRevision`. Pure.

use driftless_api::ApplicationSpec;

/// What the operation names: `revision` (one source, or the first
/// rendering one) or `revisions` (one per entry of `spec.sources`).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Asked {
    /// The target revision (nothing given).
    Target,
    /// `operation.sync.revision`.
    One(String),
    /// `operation.sync.revisions`.
    PerSource(Vec<String>),
}

/// The revisions `revisions` at `positions` ask of an Application with
/// `spec`; an error says which flag is wrong and why.
pub(super) fn asked(
    spec: &ApplicationSpec,
    revisions: &[String],
    positions: &[usize],
) -> Result<Asked, String> {
    if positions.is_empty() {
        return match revisions {
            [] => Ok(Asked::Target),
            [one] => Ok(Asked::One(one.clone())),
            _ => Err("several --revision flags need a --source-position each".into()),
        };
    }
    if revisions.len() != positions.len() {
        return Err(format!(
            "{} --revision and {} --source-position flags: give one position per revision",
            revisions.len(),
            positions.len()
        ));
    }
    let sources = &spec.sources;
    if sources.is_empty() {
        return Err(
            "--source-position is for an Application with spec.sources; \
             this one has a single spec.source (use --revision alone)"
                .into(),
        );
    }
    let mut per_source: Vec<Option<String>> = vec![None; sources.len()];
    for (revision, &position) in revisions.iter().zip(positions) {
        let slot = position
            .checked_sub(1)
            .and_then(|i| per_source.get_mut(i))
            .ok_or_else(|| {
                format!(
                    "--source-position {position}: the Application has sources 1 to {} \
                     (counting from 1, in spec.sources order)",
                    sources.len()
                )
            })?;
        if slot.replace(revision.clone()).is_some() {
            return Err(format!("--source-position {position} is given twice"));
        }
    }
    Ok(Asked::PerSource(
        per_source
            .into_iter()
            .zip(sources)
            .map(|(given, s)| {
                given.unwrap_or_else(|| s.target_revision.clone().unwrap_or_default())
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_api::ApplicationSource;

    fn spec(revisions: &[Option<&str>]) -> ApplicationSpec {
        ApplicationSpec {
            sources: revisions
                .iter()
                .map(|r| ApplicationSource {
                    repo_url: "https://git/x".into(),
                    target_revision: r.map(str::to_string),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn positions_fill_their_slots_and_the_rest_keep_their_target() {
        let spec = spec(&[Some("1.0.0"), None, Some("main")]);
        let asked = asked(&spec, &strings(&["v2", "abc"]), &[3, 1]).unwrap();
        assert_eq!(asked, Asked::PerSource(strings(&["abc", "", "v2"])));
    }

    #[test]
    fn without_positions_one_revision_is_the_classic_form() {
        let spec = spec(&[Some("main")]);
        assert_eq!(asked(&spec, &[], &[]).unwrap(), Asked::Target);
        assert_eq!(
            asked(&spec, &strings(&["v1"]), &[]).unwrap(),
            Asked::One("v1".into())
        );
        let error = asked(&spec, &strings(&["a", "b"]), &[]).unwrap_err();
        assert!(error.contains("--source-position each"), "{error}");
    }

    #[test]
    fn bad_positions_are_named() {
        let two = spec(&[None, None]);
        for (revisions, positions, expected) in [
            (
                strings(&["a"]),
                vec![3],
                "--source-position 3: the Application has sources 1 to 2",
            ),
            (strings(&["a"]), vec![0], "--source-position 0"),
            (
                strings(&["a", "b"]),
                vec![1, 1],
                "--source-position 1 is given twice",
            ),
            (
                strings(&["a"]),
                vec![1, 2],
                "1 --revision and 2 --source-position",
            ),
        ] {
            let error = asked(&two, &revisions, &positions).unwrap_err();
            assert!(error.contains(expected), "{error}");
        }
        let single = ApplicationSpec {
            source: Some(ApplicationSource::default()),
            ..Default::default()
        };
        let error = asked(&single, &strings(&["a"]), &[1]).unwrap_err();
        assert!(error.contains("single spec.source"), "{error}");
    }
}
