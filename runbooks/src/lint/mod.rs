//! The linter: [`parse_and_lint`] parses, then runs every rule group over the typed
//! runbook. One file per group: `structure` (ids, needs, cycles), `params`,
//! `templates`, `safety` (timeouts, retries, approvals, concurrency), `inputs`
//! (`uses` and `with` schemas) and `drill`.

mod drill;
mod inputs;
mod params;
mod safety;
mod structure;
mod templates;

use crate::catalogue::{Builtin, DrillEffect, PluginSchemas, Uses, resolve_uses};
use crate::diagnostic::{Diagnostic, LintReport, Severity};
use crate::graph::Graph;
use crate::schema::{Runbook, Step, StepList};
use crate::spans::{Node, Path, Pos, Target};

/// Collects diagnostics, turning paths into positions.
pub(crate) struct Sink {
    file: String,
    tree: Option<Node>,
    diags: Vec<Diagnostic>,
}

/// Lets a rule attach a hint to the diagnostic it just pushed.
pub(crate) struct Hint<'a>(&'a mut Diagnostic);

impl Hint<'_> {
    pub(crate) fn hint(self, hint: &str) {
        self.0.hint = Some(hint.to_string());
    }
}

impl Sink {
    fn new(file: &str) -> Self {
        Sink {
            file: file.to_string(),
            tree: None,
            diags: Vec::new(),
        }
    }

    pub(crate) fn set_tree(&mut self, tree: Node) {
        self.tree = Some(tree);
    }

    fn push(&mut self, severity: Severity, code: &str, message: &str, pos: Pos) -> Hint<'_> {
        self.diags.push(Diagnostic {
            severity,
            code: code.to_string(),
            message: message.to_string(),
            file: self.file.clone(),
            line: pos.line.max(1),
            column: pos.column.max(1),
            len: pos.len.max(1),
            hint: None,
        });
        let last = self.diags.len() - 1;
        Hint(&mut self.diags[last])
    }

    fn locate(&self, path: &Path, target: Target) -> Pos {
        self.tree.as_ref().map_or(
            Pos {
                line: 1,
                column: 1,
                len: 1,
            },
            |t| t.locate(path, target),
        )
    }

    pub(crate) fn error_at(&mut self, code: &str, message: &str, pos: Pos) -> Hint<'_> {
        self.push(Severity::Error, code, message, pos)
    }

    pub(crate) fn error(
        &mut self,
        code: &str,
        message: &str,
        path: &Path,
        target: Target,
    ) -> Hint<'_> {
        let pos = self.locate(path, target);
        self.push(Severity::Error, code, message, pos)
    }

    pub(crate) fn warning(
        &mut self,
        code: &str,
        message: &str,
        path: &Path,
        target: Target,
    ) -> Hint<'_> {
        let pos = self.locate(path, target);
        self.push(Severity::Warning, code, message, pos)
    }
}

/// One step list with its graph.
pub(crate) struct List<'a> {
    pub kind: StepList,
    pub steps: &'a [Step],
    pub graph: Graph,
}

/// What every rule gets.
pub(crate) struct Ctx<'a> {
    pub rb: &'a Runbook,
    pub plugins: &'a dyn PluginSchemas,
    pub lists: Vec<List<'a>>,
}

/// What the linter knows about a step's effect.
pub(crate) struct Effect {
    pub builtin: Option<&'static Builtin>,
    pub mutating: bool,
    pub drill: DrillEffect,
}

impl Ctx<'_> {
    pub(crate) fn step_path(list: StepList, i: usize) -> Path {
        list.path().index(i)
    }

    /// Every step with its path.
    pub(crate) fn steps(&self) -> impl Iterator<Item = (&List<'_>, usize, &Step, Path)> {
        self.lists.iter().flat_map(|l| {
            l.steps
                .iter()
                .enumerate()
                .map(move |(i, s)| (l, i, s, Self::step_path(l.kind, i)))
        })
    }

    /// Mutating? Production-only? Plugins not registered count as mutating.
    pub(crate) fn effect(&self, step: &Step) -> Effect {
        match resolve_uses(&step.uses) {
            Uses::Builtin(b) => Effect {
                builtin: Some(b),
                mutating: b.is_mutating(&step.with),
                drill: b.drill,
            },
            Uses::Plugin { name, digest } => match self.plugins.schema(name, digest) {
                Some(p) => Effect {
                    builtin: None,
                    mutating: p.mutating,
                    drill: if p.production_only {
                        DrillEffect::ProductionOnly
                    } else {
                        DrillEffect::None
                    },
                },
                None => Effect {
                    builtin: None,
                    mutating: true,
                    drill: DrillEffect::None,
                },
            },
            Uses::UnpinnedPlugin(_) | Uses::Unknown => Effect {
                builtin: None,
                mutating: true,
                drill: DrillEffect::None,
            },
        }
    }
}

/// Parses `yaml` and runs every lint rule. `source_name` is used in diagnostics;
/// `plugins` supplies registered plugins' input schemas (use [`crate::NoPlugins`] offline).
#[must_use]
pub fn parse_and_lint(source_name: &str, yaml: &str, plugins: &dyn PluginSchemas) -> LintReport {
    let mut sink = Sink::new(source_name);
    let parsed = crate::parse::parse(yaml, &mut sink);
    if let Some(rb) = &parsed.runbook {
        let mut lists = vec![List {
            kind: StepList::Steps,
            steps: &rb.spec.steps,
            graph: Graph::build(&rb.spec.steps),
        }];
        lists.push(List {
            kind: StepList::Finally,
            steps: &rb.spec.finally,
            graph: Graph::build(&rb.spec.finally),
        });
        if let Some(d) = &rb.spec.drill {
            lists.push(List {
                kind: StepList::Cleanup,
                steps: &d.cleanup,
                graph: Graph::build(&d.cleanup),
            });
        }
        let ctx = Ctx { rb, plugins, lists };
        structure::check(&ctx, &mut sink);
        params::check(&ctx, &mut sink);
        templates::check(&ctx, &mut sink);
        safety::check(&ctx, &mut sink);
        inputs::check(&ctx, &mut sink);
        drill::check(&ctx, &mut sink);
    }
    let mut diagnostics = sink.diags;
    diagnostics.sort_by(|a, b| (a.line, a.column, &a.code).cmp(&(b.line, b.column, &b.code)));
    diagnostics.dedup();
    LintReport {
        runbook: parsed.runbook,
        diagnostics,
    }
}
