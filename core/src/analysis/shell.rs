//! Shell allows that admit arbitrary code (`shell-allow-admits-code`).
//!
//! A shell allow is a list of commands the agent may run. Some commands run whatever
//! their arguments say: an interpreter with `-c`/`-e` (`python -c …`, `node -e …`), a
//! shell with a script, `git -c core.pager=…`, `find … -exec`, package scripts (`npm run
//! …`, `npx …`), `make` with any target, `xargs` and `env`. An allow whose `startsWith`,
//! `matches` or `equals` admits such a command with open arguments admits any command at
//! all, whatever the denies list, unless a deny already catches that form.
//!
//! The check is a proof by example: the rule must accept a concrete dangerous command
//! (`python -c x`, `find . -exec x {} ;`) under all its resource tests, and no deny
//! (or approval) rule that decides whenever it matches may catch it. `cargo` is a note:
//! building runs the project's own build scripts, which is usually what is meant.

use crate::glob::{Glob, Shape};
use crate::model::{Effect, ResourceTest, Rule, RuleOrder};

use super::implies::scope_implied;
use super::kinds::Kinds;
use super::lang::{admits, prefix};
use super::{Entry, Finding, RuleRef, Set, Severity, operand_span, operands};

/// A tool that runs code from its arguments.
struct Tool {
    /// Its command names.
    names: &'static [&'static str],
    /// Arguments that make it run anything (after the name and a space).
    probe: &'static str,
    /// The same, as shown in messages.
    shown: &'static str,
    /// Whether the dangerous arguments may come anywhere after the name (`find . -exec`),
    /// not only right after it (`python -c`).
    anywhere: bool,
    /// What the admitted command does.
    does: &'static str,
    /// What to write instead; `{name}` is the command name.
    help: &'static str,
    severity: Severity,
}

const TOOLS: &[Tool] = &[
    Tool {
        names: &["python", "python3", "python2"],
        probe: "-c x",
        shown: "-c …",
        anywhere: false,
        does: "runs any code given on the command line",
        help: "narrow it to the commands meant (such as `{name} -m pytest`), or add a deny for \
               `{name} -c`",
        severity: Severity::Warning,
    },
    Tool {
        names: &["node", "nodejs"],
        probe: "-e x",
        shown: "-e …",
        anywhere: false,
        does: "runs any JavaScript given on the command line",
        help: "narrow it to the scripts meant (such as `{name} scripts/build.js`), or add a \
               deny for `{name} -e` and `{name} -p`",
        severity: Severity::Warning,
    },
    Tool {
        names: &["perl"],
        probe: "-e x",
        shown: "-e …",
        anywhere: false,
        does: "runs any Perl given on the command line",
        help: "narrow it to the scripts meant, or add a deny for `{name} -e` and `{name} -E`",
        severity: Severity::Warning,
    },
    Tool {
        names: &["ruby"],
        probe: "-e x",
        shown: "-e …",
        anywhere: false,
        does: "runs any Ruby given on the command line",
        help: "narrow it to the scripts meant, or add a deny for `{name} -e`",
        severity: Severity::Warning,
    },
    Tool {
        names: &["bash", "sh", "zsh", "dash", "ksh"],
        probe: "x.sh",
        shown: "script.sh",
        anywhere: false,
        does: "runs whatever the script file says",
        help: "narrow it to the scripts meant (such as `{name} scripts/test.sh`), or remove it",
        severity: Severity::Warning,
    },
    Tool {
        names: &["git"],
        probe: "-c core.pager=x log",
        shown: "-c core.pager=… log",
        anywhere: false,
        does: "runs any command given as configuration (so does `-c alias.x=!…`)",
        help: "narrow it to the subcommands meant (such as `git status`, `git diff`, `git log`), \
               or add a deny for `git -c`",
        severity: Severity::Warning,
    },
    Tool {
        names: &["find"],
        probe: "-exec x {} ;",
        shown: "-exec … {} ;",
        anywhere: true,
        does: "runs any command on the files it finds (and `-delete` removes them)",
        help: "add a deny that `contains` `-exec`, `-execdir`, `-ok` and `-delete`, or allow \
               exact commands with `equals`",
        severity: Severity::Warning,
    },
    Tool {
        names: &["npm"],
        probe: "run x",
        shown: "run …",
        anywhere: false,
        does: "runs any script in `package.json` (and `npm exec` runs any package)",
        help: "narrow it to the scripts meant (such as `npm test`, `npm run build`)",
        severity: Severity::Warning,
    },
    Tool {
        names: &["npx"],
        probe: "x",
        shown: "…",
        anywhere: false,
        does: "downloads and runs any package",
        help: "narrow it to the tools meant (such as `npx tsc`, `npx eslint`)",
        severity: Severity::Warning,
    },
    Tool {
        names: &["yarn", "pnpm"],
        probe: "run x",
        shown: "run …",
        anywhere: false,
        does: "runs any script in `package.json` (and `{name} dlx` runs any package)",
        help: "narrow it to the scripts meant (such as `{name} test`, `{name} run build`)",
        severity: Severity::Warning,
    },
    Tool {
        names: &["make"],
        probe: "--eval=x",
        shown: "--eval=…",
        anywhere: false,
        does: "runs any command (and any target runs its recipe)",
        help: "narrow it to the targets meant (such as `make test`, `make build`)",
        severity: Severity::Warning,
    },
    Tool {
        names: &["cargo"],
        probe: "run",
        shown: "run",
        anywhere: false,
        does: "runs the project's programs (and any build runs its build scripts)",
        help: "narrow it to the subcommands meant (such as `cargo test`, `cargo check`) if the \
               agent may not run the project's code",
        severity: Severity::Note,
    },
    Tool {
        names: &["xargs", "env"],
        probe: "sh -c x",
        shown: "sh -c …",
        anywhere: true,
        does: "runs any command it is given",
        help: "allow the commands it would run instead, each on its own",
        severity: Severity::Warning,
    },
];

/// Every `shell-allow-admits-code` finding.
pub(super) fn check(set: &Set<'_>, kinds: &Kinds) -> Vec<Finding> {
    let mut out = Vec::new();
    for (r, entry, rule) in set.rules() {
        if rule.effect != Effect::Allow {
            continue;
        }
        let Some(action) = kinds.shell_action(rule) else {
            continue;
        };
        for test in &rule.conditions.resource {
            if matches!(test, ResourceTest::EndsWith(_) | ResourceTest::Contains(_)) {
                continue;
            }
            for operand in operands(test) {
                let Some((tool, name, command)) = admitted(rule, &shapes(test, operand)) else {
                    continue;
                };
                if blocked(set, r, &action, &command) {
                    continue;
                }
                out.push(finding(entry, rule, test, operand, tool, name));
            }
        }
    }
    out
}

/// The strings one operand of a resource test accepts.
fn shapes<'a>(test: &'a ResourceTest, operand: &'a str) -> Vec<Shape<'a>> {
    match test {
        ResourceTest::Matches(globs) => globs
            .globs()
            .iter()
            .filter(|g| g.as_str() == operand)
            .flat_map(Glob::shapes)
            .collect(),
        ResourceTest::StartsWith(_) => vec![Shape::Prefix(operand)],
        ResourceTest::Equals(_) => vec![Shape::Exact(operand)],
        ResourceTest::EndsWith(_) => vec![Shape::Suffix(operand)],
        ResourceTest::Contains(_) => vec![Shape::Infix(operand)],
    }
}

/// The first dangerous command an operand (its `shapes`) admits that passes every
/// resource test of `rule`, with its tool and name.
fn admitted(rule: &Rule, mine: &[Shape<'_>]) -> Option<(&'static Tool, &'static str, String)> {
    for tool in TOOLS {
        for name in tool.names {
            let mut commands = vec![format!("{name} {}", tool.probe)];
            if tool.anywhere {
                for shape in mine {
                    let start = prefix(shape);
                    if start.starts_with(&format!("{name} ")) {
                        let sep = if start.ends_with(' ') { "" } else { " " };
                        commands.push(format!("{start}{sep}{}", tool.probe));
                    }
                }
            }
            for command in commands {
                let by_operand = mine.iter().any(|s| s.matches(&command));
                let by_rule = rule.conditions.resource.iter().all(|t| admits(t, &command));
                if by_operand && by_rule {
                    return Some((tool, name, command));
                }
            }
        }
    }
    None
}

/// Whether the allow `r` can never let `command` on `action` through, because of a
/// policy that applies whenever the allow's does (the allow's own included):
/// - a conditional deny or approval rule there, with only resource conditions, all of
///   which accept the command (within a policy both are conditional and the stronger
///   wins; across policies the stronger wins);
/// - an unconditional deny or approval rule of another such policy that no weaker
///   conditional rule of its own can set aside (across policies the stronger wins: the
///   allow never decides at all, which `outranked-rule` reports);
/// - `humanInTheLoop.requireApproval` listing the action there (every allow of it needs
///   approval, docs/semantics.md §4 step 5).
fn blocked(set: &Set<'_>, r: RuleRef, action: &str, command: &str) -> bool {
    let Some(allow_entry) = set.policies.get(r.policy) else {
        return false;
    };
    let approval = set.policies.iter().any(|e| {
        e.policy.require_approval.iter().any(|g| g.matches(action))
            && scope_implied(e.policy, allow_entry.policy)
    });
    let catches = |d: &Rule| {
        !d.conditions.resource.is_empty()
            && d.conditions.context.is_empty()
            && d.conditions.time.is_none()
            && d.conditions.agent.is_none()
            && d.conditions.resource.iter().all(|t| admits(t, command))
    };
    let guards = |d_entry: &Entry<'_>, d: &Rule| {
        !d.conditions.is_conditional()
            && d_entry.policy.rules.iter().all(|c| {
                !c.conditions.is_conditional()
                    || c.effect.rank() >= d.effect.rank()
                    || !c.actions.iter().any(|g| g.matches(action))
            })
    };
    approval
        || set.rules().any(|(d_ref, d_entry, d)| {
            d.effect != Effect::Allow
                && d.actions.iter().any(|g| g.matches(action))
                && first_candidate(d_entry, d_ref.rule, action)
                && scope_implied(d_entry.policy, allow_entry.policy)
                && (catches(d) || (d_ref.policy != r.policy && guards(d_entry, d)))
        })
}

/// Whether rule `index` of a policy is a candidate when it matches: in a specific-first
/// policy always; in a first-match policy when no earlier rule of it can match the action
/// (an allow of the same policy included).
fn first_candidate(entry: &Entry<'_>, index: usize, action: &str) -> bool {
    entry.policy.rule_order == RuleOrder::SpecificFirst
        || entry
            .policy
            .rules
            .iter()
            .take(index)
            .all(|e| !e.actions.iter().any(|g| g.matches(action)))
}

fn finding(
    entry: &Entry<'_>,
    rule: &Rule,
    test: &ResourceTest,
    operand: &str,
    tool: &Tool,
    name: &str,
) -> Finding {
    let op = test.operator();
    let admitted = if tool.anywhere {
        format!("`{name} … {}`", tool.shown)
    } else {
        format!("`{name} {}`", tool.shown)
    };
    Finding::new(
        entry,
        operand_span(rule, test, operand),
        tool.severity,
        "shell-allow-admits-code",
        format!(
            "`{op}: {operand}` admits {admitted}, which {}",
            tool.does.replace("{name}", name)
        ),
        tool.help.replace("{name}", name),
    )
}
