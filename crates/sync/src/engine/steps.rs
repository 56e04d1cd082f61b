//! The plan of a sync: phases in order (PreSync, Sync, PostSync), within a
//! phase the waves in order, each wave with its ordinary objects and its
//! hooks. SyncFail hooks form a plan of their own, run when a sync fails.
//! Pure.

use std::collections::BTreeMap;

use crate::hooks::HookType;
use crate::model::{Comparison, Hook, ResourceDiff, ResourceState, Target};
use crate::order::Phase;

impl Comparison {
    /// Whether [`crate::SyncEngine::sync`] of this comparison for `target`
    /// never waits: no hooks to run, everything to apply in one phase and
    /// wave, no CustomResourceDefinition to wait for. Such a sync has no
    /// progress to report while it runs.
    pub fn syncs_without_waiting(&self, target: &Target) -> bool {
        if target.hooks && target.resources.is_none() && !self.hooks.is_empty() {
            return false;
        }
        let to_apply: Vec<&ResourceDiff> = self
            .resources
            .iter()
            .filter(|r| target.selects(&r.key) && r.state != ResourceState::RequiresPruning)
            .collect();
        let crd = to_apply
            .iter()
            .any(|r| r.key.kind == "CustomResourceDefinition" && r.state != ResourceState::Synced);
        !crd && plan(to_apply, &[]).len() <= 1
    }
}

/// One wave of one phase.
pub(super) struct Step<'a> {
    pub phase: Phase,
    pub wave: i64,
    /// Ordinary objects, in sync order.
    pub resources: Vec<&'a ResourceDiff>,
    /// Hooks, each with the hook type it runs as here.
    pub hooks: Vec<(HookType, &'a Hook)>,
}

/// The phase a hook type runs in during a sync (`None`: not during a sync).
fn phase_of(t: HookType) -> Option<Phase> {
    match t {
        HookType::PreSync => Some(Phase::PreSync),
        HookType::Sync => Some(Phase::Sync),
        HookType::PostSync => Some(Phase::PostSync),
        HookType::SyncFail => Some(Phase::SyncFail),
        HookType::PreDelete | HookType::PostDelete | HookType::Skip => None,
    }
}

/// The steps of a sync of `resources` (in sync order) with `hooks`;
/// SyncFail hooks are left out (see [`sync_fail`]).
pub(super) fn plan<'a>(resources: Vec<&'a ResourceDiff>, hooks: &'a [Hook]) -> Vec<Step<'a>> {
    let mut steps: BTreeMap<(Phase, i64), Step<'a>> = BTreeMap::new();
    for r in resources {
        step(&mut steps, r.phase, r.wave).resources.push(r);
    }
    for h in hooks {
        for &t in &h.spec.types {
            match phase_of(t) {
                Some(phase) if phase != Phase::SyncFail => {
                    step(&mut steps, phase, h.wave).hooks.push((t, h));
                }
                _ => {}
            }
        }
    }
    steps.into_values().collect()
}

fn step<'m, 'a>(
    steps: &'m mut BTreeMap<(Phase, i64), Step<'a>>,
    phase: Phase,
    wave: i64,
) -> &'m mut Step<'a> {
    steps.entry((phase, wave)).or_insert_with(|| Step {
        phase,
        wave,
        resources: Vec::new(),
        hooks: Vec::new(),
    })
}

/// The SyncFail hooks of `hooks`, by wave.
pub(super) fn sync_fail(hooks: &[Hook]) -> Vec<Step<'_>> {
    of_type(hooks, HookType::SyncFail)
}

/// The hooks of `hooks` of type `t`, by wave (PreDelete and PostDelete
/// hooks are reported in the Sync phase: they run outside a sync).
pub(super) fn of_type(hooks: &[Hook], t: HookType) -> Vec<Step<'_>> {
    let phase = phase_of(t).unwrap_or(Phase::Sync);
    let mut steps: BTreeMap<i64, Step<'_>> = BTreeMap::new();
    for h in hooks.iter().filter(|h| h.spec.is(t)) {
        steps
            .entry(h.wave)
            .or_insert_with(|| Step {
                phase,
                wave: h.wave,
                resources: Vec::new(),
                hooks: Vec::new(),
            })
            .hooks
            .push((t, h));
    }
    steps.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::{DeletePolicy, HookSpec};
    use crate::options::SyncOptions;
    use driftless_render::{Object, ObjectKey};
    use serde_json::json;

    fn key(kind: &str, name: &str) -> ObjectKey {
        ObjectKey {
            group: String::new(),
            kind: kind.into(),
            namespace: "ns".into(),
            name: name.into(),
        }
    }

    fn resource(name: &str, wave: i64) -> ResourceDiff {
        ResourceDiff {
            key: key("ConfigMap", name),
            version: "v1".into(),
            state: ResourceState::Missing,
            error: None,
            diff: String::new(),
            desired: None,
            live: None,
            health: crate::health::missing(),
            phase: Phase::Sync,
            wave,
            options: SyncOptions::default(),
            shared_with: None,
            resolved: None,
            blocked: false,
        }
    }

    fn hook(name: &str, types: &[HookType], wave: i64) -> Hook {
        Hook {
            key: key("Pod", name),
            version: "v1".into(),
            spec: HookSpec {
                types: types.to_vec(),
                policies: vec![DeletePolicy::BeforeHookCreation],
            },
            wave,
            generated: false,
            object: Object::from_value(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name}}))
            .unwrap(),
            error: None,
            resolved: None,
        }
    }

    fn names(step: &Step<'_>) -> Vec<String> {
        let mut out: Vec<String> = step.resources.iter().map(|r| r.key.name.clone()).collect();
        out.extend(
            step.hooks
                .iter()
                .map(|(t, h)| format!("{}:{}", t.as_str(), h.key.name)),
        );
        out
    }

    #[test]
    fn phases_then_waves_with_hooks_beside_objects() {
        let (a, b, c) = (resource("a", 0), resource("b", 1), resource("c", 0));
        let hooks = [
            hook("migrate", &[HookType::PreSync], 5),
            hook("smoke", &[HookType::PostSync], -1),
            hook("seed", &[HookType::Sync], 1),
            hook("both", &[HookType::PreSync, HookType::PostSync], 0),
            hook("notify", &[HookType::SyncFail], 0),
            hook("cleanup", &[HookType::PreDelete], 0),
        ];
        let steps = plan(vec![&a, &c, &b], &hooks);
        let shape: Vec<(Phase, i64, Vec<String>)> =
            steps.iter().map(|s| (s.phase, s.wave, names(s))).collect();
        assert_eq!(
            shape,
            [
                (Phase::PreSync, 0, vec!["PreSync:both".to_string()]),
                (Phase::PreSync, 5, vec!["PreSync:migrate".into()]),
                (Phase::Sync, 0, vec!["a".into(), "c".into()]),
                (Phase::Sync, 1, vec!["b".into(), "Sync:seed".into()]),
                (Phase::PostSync, -1, vec!["PostSync:smoke".into()]),
                (Phase::PostSync, 0, vec!["PostSync:both".into()]),
            ]
        );
        let fail = sync_fail(&hooks);
        assert_eq!(fail.len(), 1);
        assert_eq!(names(&fail[0]), ["SyncFail:notify"]);
        assert_eq!(fail[0].phase, Phase::SyncFail);
        let cleanup = of_type(&hooks, HookType::PreDelete);
        assert_eq!(names(&cleanup[0]), ["PreDelete:cleanup"]);
        assert!(of_type(&hooks, HookType::PostDelete).is_empty());
    }

    #[test]
    fn no_hooks_no_change() {
        let (a, b) = (resource("a", 0), resource("b", 2));
        let steps = plan(vec![&a, &b], &[]);
        assert_eq!(steps.len(), 2);
        assert!(sync_fail(&[]).is_empty());
    }

    #[test]
    fn only_a_sync_of_one_wave_without_hooks_or_crds_never_waits() {
        let cmp = |resources: Vec<ResourceDiff>, hooks: Vec<Hook>| Comparison {
            resources,
            hooks,
            ..Default::default()
        };
        let target = Target {
            hooks: true,
            ..Target::default()
        };
        let one_wave = cmp(vec![resource("a", 0), resource("b", 0)], vec![]);
        assert!(one_wave.syncs_without_waiting(&target));
        assert!(cmp(vec![], vec![]).syncs_without_waiting(&target));

        let two_waves = cmp(vec![resource("a", 0), resource("b", 1)], vec![]);
        assert!(!two_waves.syncs_without_waiting(&target));
        let with_hook = cmp(
            vec![resource("a", 0)],
            vec![hook("smoke", &[HookType::PostSync], 0)],
        );
        assert!(!with_hook.syncs_without_waiting(&target));
        // Hooks that do not run (Target::hooks off) make no wait.
        let no_hooks = Target {
            hooks: false,
            ..Target::default()
        };
        assert!(with_hook.syncs_without_waiting(&no_hooks));

        let mut crd = resource("widgets.example.com", 0);
        crd.key.kind = "CustomResourceDefinition".into();
        let new_crd = cmp(vec![crd.clone(), resource("a", 0)], vec![]);
        assert!(!new_crd.syncs_without_waiting(&target));
        crd.state = ResourceState::Synced;
        let unchanged_crd = cmp(vec![crd, resource("a", 0)], vec![]);
        assert!(unchanged_crd.syncs_without_waiting(&target));

        // An object to prune in another wave is no step of its own.
        let mut pruned = resource("old", 3);
        pruned.state = ResourceState::RequiresPruning;
        let with_prune = cmp(vec![resource("a", 0), pruned], vec![]);
        assert!(with_prune.syncs_without_waiting(&target));
    }
}
