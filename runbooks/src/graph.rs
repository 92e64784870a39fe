//! The step DAG of one step list: `needs` resolved to indices (absent `needs` = the
//! previous step), unknown names, cycles, topological order and ancestors.

use std::collections::{BTreeSet, HashMap};

use crate::schema::Step;

/// A resolved step list.
#[derive(Debug, Clone)]
pub(crate) struct Graph {
    /// Dependencies of each step (indices into the list).
    pub deps: Vec<Vec<usize>>,
    /// `(step index, needs index, name)` of every name not in the list.
    pub unknown: Vec<(usize, usize, String)>,
}

impl Graph {
    pub(crate) fn build(steps: &[Step]) -> Self {
        let index: HashMap<&str, usize> = steps
            .iter()
            .enumerate()
            .rev()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        let mut deps = Vec::with_capacity(steps.len());
        let mut unknown = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let mut d = Vec::new();
            match &step.needs {
                None if i > 0 => d.push(i - 1),
                None => {}
                Some(names) => {
                    for (j, name) in names.iter().enumerate() {
                        match index.get(name.as_str()) {
                            Some(&k) => {
                                if !d.contains(&k) {
                                    d.push(k);
                                }
                            }
                            None => unknown.push((i, j, name.clone())),
                        }
                    }
                }
            }
            deps.push(d);
        }
        Graph { deps, unknown }
    }

    /// Steps in an order where every step comes after its dependencies; steps on or
    /// behind a cycle are left out.
    pub(crate) fn topo_order(&self) -> Vec<usize> {
        let n = self.deps.len();
        let mut done = vec![false; n];
        let mut order = Vec::with_capacity(n);
        loop {
            let before = order.len();
            for i in 0..n {
                if !done[i] && self.deps[i].iter().all(|&d| done[d]) {
                    done[i] = true;
                    order.push(i);
                }
            }
            if order.len() == before {
                return order;
            }
        }
    }

    /// Each cycle once, as the steps on it in `needs` order, starting at its first step.
    pub(crate) fn cycles(&self) -> Vec<Vec<usize>> {
        let n = self.deps.len();
        let mut color = vec![0u8; n];
        let mut stack = Vec::new();
        let mut cycles = Vec::new();
        for start in 0..n {
            self.dfs(start, &mut color, &mut stack, &mut cycles);
        }
        cycles
    }

    fn dfs(
        &self,
        i: usize,
        color: &mut [u8],
        stack: &mut Vec<usize>,
        cycles: &mut Vec<Vec<usize>>,
    ) {
        match color[i] {
            2 => return,
            1 => {
                if let Some(pos) = stack.iter().position(|&s| s == i) {
                    let mut cycle = stack[pos..].to_vec();
                    let min = cycle.iter().copied().min().unwrap_or(i);
                    while cycle[0] != min {
                        cycle.rotate_left(1);
                    }
                    if !cycles.contains(&cycle) {
                        cycles.push(cycle);
                    }
                }
                return;
            }
            _ => {}
        }
        color[i] = 1;
        stack.push(i);
        for &d in &self.deps[i] {
            self.dfs(d, color, stack, cycles);
        }
        stack.pop();
        color[i] = 2;
    }

    /// Every step `i` transitively needs.
    pub(crate) fn ancestors(&self, i: usize) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut todo = self.deps[i].clone();
        while let Some(d) = todo.pop() {
            if seen.insert(d) {
                todo.extend(self.deps[d].iter().copied());
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(id: &str, needs: Option<&[&str]>) -> Step {
        serde_json::from_value(serde_json::json!({
            "id": id, "uses": "sleep",
            "needs": needs.map(|n| n.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        }))
        .unwrap()
    }

    #[test]
    fn sequential_by_default_and_cycles() {
        let g = Graph::build(&[
            step("a", None),
            step("b", None),
            step("c", Some(&["a", "x"])),
        ]);
        assert_eq!(g.deps, vec![vec![], vec![0], vec![0]]);
        assert_eq!(g.unknown, vec![(2, 1, "x".to_string())]);
        assert_eq!(g.topo_order(), vec![0, 1, 2]);
        let g = Graph::build(&[
            step("a", Some(&["c"])),
            step("b", None),
            step("c", None),
            step("d", None),
        ]);
        assert_eq!(g.cycles(), vec![vec![0, 2, 1]]);
        assert!(g.topo_order().is_empty());
        assert_eq!(g.ancestors(3), BTreeSet::from([0, 1, 2]));
    }
}
