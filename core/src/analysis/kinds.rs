//! Which actions carry which kind of resource (`docs/semantics.md` §2.9), as far as the
//! kind checks need to know: shell commands and paths, built in (`execute:shell`,
//! `*:file`) and declared by the set's `resourceKinds`.

use crate::glob::Glob;
use crate::model::{ResourceKind, Rule};

use super::Set;
use super::implies::actions;
use super::lang::{lang_subset, of_globs, witness};

/// The action whose resource is a shell command unless declared otherwise.
pub(super) const SHELL_ACTION: &str = "execute:shell";

/// The action patterns of each kind.
#[derive(Debug)]
pub(super) struct Kinds {
    /// Actions whose resource is a shell command.
    shell: Vec<Glob>,
    /// Actions whose resource is a path.
    path: Vec<Glob>,
}

impl Kinds {
    /// The kinds of the set's actions: the built-in ones and every declaration.
    pub(super) fn of(set: &Set<'_>) -> Kinds {
        let glob = |p: &str| Glob::new(p).ok();
        let mut kinds = Kinds {
            shell: glob(SHELL_ACTION).into_iter().collect(),
            path: glob("*:file").into_iter().collect(),
        };
        for d in set.policies.iter().flat_map(|e| &e.policy.resource_kinds) {
            match d.kind {
                ResourceKind::Shell => kinds.shell.extend(d.actions.iter().cloned()),
                ResourceKind::Path => kinds.path.extend(d.actions.iter().cloned()),
                _ => {}
            }
        }
        kinds
    }

    /// A shell action `rule` matches, if it matches one (`execute:shell` for `execute:*`).
    pub(super) fn shell_action(&self, rule: &Rule) -> Option<String> {
        witness(&actions(rule), &of_globs(&self.shell))
    }

    /// Whether `rule` matches some action whose resource is a path.
    pub(super) fn on_paths(&self, rule: &Rule) -> bool {
        witness(&actions(rule), &of_globs(&self.path)).is_some()
    }

    /// Whether every action `rule` matches carries paths or shell commands (so its
    /// resources are never URLs).
    pub(super) fn never_urls(&self, rule: &Rule) -> bool {
        let both = of_globs(self.shell.iter().chain(&self.path));
        lang_subset(&actions(rule), &both)
    }
}
