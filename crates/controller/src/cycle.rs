//! App of Apps safety: an Application that renders itself, or a cycle of
//! Applications rendering each other, is reported instead of flapping.

use std::collections::{BTreeMap, BTreeSet};

/// An Application's identity: (namespace, name).
pub type AppId = (String, String);

/// Which Applications each Application renders (its children).
#[derive(Clone, Debug, Default)]
pub struct AppGraph {
    children: BTreeMap<AppId, BTreeSet<AppId>>,
}

impl AppGraph {
    /// Records the children `parent` renders now (replacing earlier ones).
    pub fn set_children(&mut self, parent: AppId, children: BTreeSet<AppId>) {
        if children.is_empty() {
            self.children.remove(&parent);
        } else {
            self.children.insert(parent, children);
        }
    }

    /// Forgets an Application (deleted).
    pub fn remove(&mut self, app: &AppId) {
        self.children.remove(app);
    }

    /// The Applications that render `child`.
    pub fn parents_of(&self, child: &AppId) -> Vec<AppId> {
        self.children
            .iter()
            .filter(|(_, c)| c.contains(child))
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// The cycle through `start`, if any, as the list of Applications from
    /// `start` back to it (`[start]` when it renders itself).
    pub fn cycle_through(&self, start: &AppId) -> Option<Vec<AppId>> {
        let mut path = vec![start.clone()];
        let mut seen = BTreeSet::new();
        self.dfs(start, start, &mut path, &mut seen)
    }

    fn dfs(
        &self,
        start: &AppId,
        node: &AppId,
        path: &mut Vec<AppId>,
        seen: &mut BTreeSet<AppId>,
    ) -> Option<Vec<AppId>> {
        for child in self.children.get(node).into_iter().flatten() {
            if child == start {
                return Some(path.clone());
            }
            if seen.insert(child.clone()) {
                path.push(child.clone());
                if let Some(cycle) = self.dfs(start, child, path, seen) {
                    return Some(cycle);
                }
                path.pop();
            }
        }
        None
    }
}

/// A message naming every Application of a cycle.
pub fn describe(cycle: &[AppId]) -> String {
    if cycle.len() == 1 {
        let (ns, name) = &cycle[0];
        return format!("application {ns}/{name} manages itself; its own manifest is not applied");
    }
    let names: Vec<String> = cycle.iter().map(|(ns, n)| format!("{ns}/{n}")).collect();
    format!(
        "applications form a cycle: {} -> {}; the cycle is not applied",
        names.join(" -> "),
        names[0]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str) -> AppId {
        ("argocd".into(), name.into())
    }

    #[test]
    fn tree_has_no_cycle() {
        let mut g = AppGraph::default();
        g.set_children(id("root"), [id("dev"), id("staging"), id("prod")].into());
        assert_eq!(g.cycle_through(&id("root")), None);
        assert_eq!(g.cycle_through(&id("dev")), None);
        assert_eq!(g.parents_of(&id("prod")), [id("root")]);
    }

    #[test]
    fn self_and_indirect_cycles() {
        let mut g = AppGraph::default();
        g.set_children(id("root"), [id("root")].into());
        let c = g.cycle_through(&id("root")).unwrap();
        assert_eq!(c, [id("root")]);
        assert!(describe(&c).contains("argocd/root manages itself"));

        g.set_children(id("root"), [id("a")].into());
        g.set_children(id("a"), [id("b")].into());
        g.set_children(id("b"), [id("root")].into());
        let c = g.cycle_through(&id("a")).unwrap();
        assert_eq!(c, [id("a"), id("b"), id("root")]);
        assert!(describe(&c).contains("argocd/a -> argocd/b -> argocd/root -> argocd/a"));
        g.remove(&id("b"));
        assert_eq!(g.cycle_through(&id("a")), None);
    }
}
