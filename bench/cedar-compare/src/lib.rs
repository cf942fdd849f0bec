//! MeshGuard against `cedar-policy` 4.x on the Claude Code dev-assistant mix.
//!
//! The issue's target: on this mix a MeshGuard decision, shell parsing included, takes
//! ≤ 300 ns median and is ≥ 50× faster than Cedar deciding the same requests in the same
//! run. Both engines get the same policy (`policies/claude-code-dev-assistant.yaml`, and
//! [`CEDAR_POLICY`], its hand translation) and the sixteen requests of
//! `core/benches/data/claude-code-mix.json`, one decision at a time.
//!
//! What is timed per decision (the binary and `benches/compare.rs` time the same calls):
//!
//! - `meshguard`: `PolicySet::decide(&req, false)` on a prebuilt request (the issue's
//!   definition; shell splitting, path and URL canonical forms are inside `decide`).
//! - `meshguard-built`: the same, building the `Request` from the strings first, as a host
//!   does; the counterpart of `cedar`.
//! - `cedar`: what a Cedar host does per request: build the principal and resource
//!   entities, the `Entities` store and the `Request` from the strings, then
//!   `Authorizer::is_authorized`. The shell line is one resource (split-free).
//! - `cedar-prebuilt`: `is_authorized` alone on prebuilt requests and entities: Cedar's
//!   lowest possible cost, the conservative side of the ratio.
//! - `cedar-per-part`: as `cedar`, but the host first splits a shell line (naively, see
//!   [`naive_parts`]) and asks Cedar once per part, so that Cedar decides compound lines
//!   as MeshGuard does; what a host needs to reach MeshGuard's semantics.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet as CedarSet, Request as CedarRequest, RestrictedExpression,
};
use meshguard_core::{Agent, Effect, PolicySet, Request, Source};

/// The agent's tags: the policy's `appliesTo` selects either.
pub const TAGS: [&str; 2] = ["claude-code", "dev-assistant"];
/// The agent's id.
pub const AGENT_ID: &str = "bench-agent";

/// The repository root (this package lives at `bench/cedar-compare`).
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// One request of the mix, as the host receives it: two strings.
#[derive(Debug, Clone)]
pub struct Item {
    /// A MeshGuard action (`read:file`, `execute:shell`, ...).
    pub action: String,
    /// The resource as written (a path, a command line, a URL, a query).
    pub resource: String,
}

/// The sixteen requests of `core/benches/data/claude-code-mix.json`, in file order.
pub fn mix() -> Vec<Item> {
    let path = format!("{ROOT}/core/benches/data/claude-code-mix.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let items: Vec<serde_json::Value> = serde_json::from_str(&text).expect("mix JSON");
    items
        .iter()
        .map(|v| Item {
            action: v["action"].as_str().expect("action").to_owned(),
            resource: v["resource"].as_str().expect("resource").to_owned(),
        })
        .collect()
}

/// The dev-assistant policy compiled alone, as `core/benches/evaluate.rs` does.
pub fn meshguard_set() -> PolicySet {
    let name = "claude-code-dev-assistant.yaml";
    let path = format!("{ROOT}/policies/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    PolicySet::compile([Source::new(name, &text)]).expect("the policy compiles")
}

/// The MeshGuard request for `item`, from the tagged bench agent.
pub fn meshguard_request(item: &Item) -> Request {
    Request {
        action: item.action.clone(),
        resource: Some(item.resource.clone()),
        agent: Some(Agent {
            id: Some(AGENT_ID.to_owned()),
            tags: TAGS.iter().map(|t| (*t).to_owned()).collect(),
            ..Agent::default()
        }),
        ..Request::default()
    }
}

/// Whether MeshGuard allows `req`.
pub fn meshguard_allows(set: &PolicySet, req: &Request) -> bool {
    set.decide(req, false).effect == Effect::Allow
}

/// `policies/claude-code-dev-assistant.yaml` by hand, one Cedar policy per rule.
///
/// Entities: principal `Agent::"<id>"` with `tags: Set<String>`; action
/// `Action::"<meshguard action>"`; resource `Resource::"<resource as written>"` with
/// `text` (what allow rules test: the resource, or one part of a shell line) and, for
/// `execute:shell`, `line` (the whole line as written, which MeshGuard's restricting
/// `contains` rules test). Glob `*` and `**` are Cedar's `like` `*` (both match any run,
/// `/` included); `startsWith: x` is `like "x*"`; `contains: x` is `like "*x*"`.
///
/// Where the translation differs from MeshGuard:
///
/// - Precedence. MeshGuard, within a policy: a matching conditional rule sets aside the
///   unconditional ones, then deny beats allow; across policies deny wins; no match → the
///   policy's `defaultEffect`. Cedar: any matching `forbid` wins, else any `permit`, else
///   deny. The only unconditional rule here (`read:web_search`) shares its action with no
///   other rule and the default is deny, so on this policy the two agree on every request.
///   In general "a conditional allow beats an unconditional deny" needs the deny rewritten
///   as `forbid ... unless { <the policy's conditional allows> }`.
/// - `appliesTo` becomes a tag test repeated in every rule (Cedar has no policy scope
///   over attributes).
/// - `**/x` (which may also match `x` itself) becomes `like "*/x" || like "x"`, written
///   as the single `like "*x"` where that is the same set (`**/*.pem` → `*.pem`).
/// - Resources are matched as written: Cedar has no path canonical form (`./../etc`
///   stays, so `./**` admits it; MeshGuard reads `../etc` and denies), no URL reading
///   (MeshGuard tests host patterns such as `*github.com*` against the URL's host alone,
///   so `https://evil.example/?q=github.com` is denied; Cedar admits it) and no shell
///   splitting: split-free, `git status; rm -fr /` is allowed by its `git ` prefix.
///   The `cedar-per-part` variant splits in the host with [`naive_parts`] instead.
/// - Deny reasons are `@reason` annotations; the timed Cedar path does not look them up
///   (MeshGuard's decision carries them), which only flatters Cedar.
pub const CEDAR_POLICY: &str = r#"
// --- File access ---
@id("read-workspace")
permit (principal, action == Action::"read:file", resource)
when {
  principal.tags.containsAny(["claude-code", "dev-assistant"]) &&
  resource.text like "./*"
};

@id("write-source-tests-docs")
permit (principal, action == Action::"write:file", resource)
when {
  principal.tags.containsAny(["claude-code", "dev-assistant"]) &&
  (resource.text like "./src/*" || resource.text like "./tests/*" ||
   resource.text like "./docs/*" || resource.text like "./*.md" ||
   resource.text like "./*.json")
};

@id("credentials")
@reason("Credential file access is blocked by security policy")
forbid (principal, action in [Action::"read:file", Action::"write:file"], resource)
when {
  principal.tags.containsAny(["claude-code", "dev-assistant"]) &&
  (resource.text like "*/.env*" || resource.text like ".env*" ||
   resource.text like "*.pem" || resource.text like "*.key" ||
   resource.text like "*/.ssh/*" || resource.text like ".ssh/*" ||
   resource.text like "*/.aws/*" || resource.text like ".aws/*")
};

@id("system-paths")
@reason("System file access is prohibited")
forbid (principal, action in [Action::"read:file", Action::"write:file"], resource)
when {
  principal.tags.containsAny(["claude-code", "dev-assistant"]) &&
  (resource.text like "/etc/*" || resource.text like "/var/*" ||
   resource.text like "/usr/*")
};

// --- Shell commands ---
@id("dev-tooling")
permit (principal, action == Action::"execute:shell", resource)
when {
  principal.tags.containsAny(["claude-code", "dev-assistant"]) &&
  (resource.text like "git *" || resource.text like "npm *" ||
   resource.text like "npx *" || resource.text like "python*" ||
   resource.text like "pip*" || resource.text like "pytest *" ||
   resource.text like "make *" || resource.text like "cargo *" ||
   resource.text like "ls *" || resource.text like "cat *" ||
   resource.text like "grep *" || resource.text like "find *")
};

@id("destructive")
@reason("Destructive or privileged command blocked by policy")
forbid (principal, action == Action::"execute:shell", resource)
when {
  principal.tags.containsAny(["claude-code", "dev-assistant"]) &&
  (resource.line like "*rm -rf*" || resource.line like "*sudo *" ||
   resource.line like "*chmod 777*" || resource.line like "*npm publish*" ||
   resource.line like "*> /dev/*")
};

@id("network")
@reason("Network commands require explicit approval")
forbid (principal, action == Action::"execute:shell", resource)
when {
  principal.tags.containsAny(["claude-code", "dev-assistant"]) &&
  (resource.line like "*curl *" || resource.line like "*wget *" ||
   resource.line like "*nc *" || resource.line like "*ssh *" ||
   resource.line like "*scp *")
};

// --- Web access ---
@id("web-search")
permit (principal, action == Action::"read:web_search", resource)
when { principal.tags.containsAny(["claude-code", "dev-assistant"]) };

@id("docs-and-code-sites")
permit (principal, action in [Action::"read:web_fetch", Action::"read:web_browse"], resource)
when {
  principal.tags.containsAny(["claude-code", "dev-assistant"]) &&
  (resource.text like "*docs.*" || resource.text like "*github.com*" ||
   resource.text like "*stackoverflow.com*" || resource.text like "*npmjs.com*" ||
   resource.text like "*pypi.org*")
};

@id("social-media")
@reason("Social media access is not allowed during work sessions")
forbid (principal, action in [Action::"read:web_fetch", Action::"read:web_browse"], resource)
when {
  principal.tags.containsAny(["claude-code", "dev-assistant"]) &&
  (resource.text like "*twitter.com*" || resource.text like "*facebook.com*" ||
   resource.text like "*reddit.com*")
};
"#;

/// A Cedar host: the authorizer, the parsed policy set and the entity type names, all
/// built once at start-up (as a host would); everything per request is built per call.
#[derive(Debug)]
pub struct Cedar {
    authorizer: Authorizer,
    policies: CedarSet,
    agent: EntityTypeName,
    action: EntityTypeName,
    resource: EntityTypeName,
}

/// A request and its entity store, built ahead for [`Cedar::authorize`].
#[derive(Debug)]
pub struct Prebuilt {
    request: CedarRequest,
    entities: Entities,
}

impl Default for Cedar {
    fn default() -> Self {
        let name = |s: &str| EntityTypeName::from_str(s).expect("entity type name");
        Cedar {
            authorizer: Authorizer::new(),
            policies: CedarSet::from_str(CEDAR_POLICY).expect("the Cedar policy parses"),
            agent: name("Agent"),
            action: name("Action"),
            resource: name("Resource"),
        }
    }
}

impl Cedar {
    /// The request and entities a host builds for one question: the agent with its tags,
    /// the resource with `text` (and `line` for a shell line), the action, no context.
    fn build(&self, action: &str, text: &str, line: Option<&str>) -> Prebuilt {
        let uid = |t: &EntityTypeName, id: &str| {
            EntityUid::from_type_name_and_id(t.clone(), EntityId::new(id))
        };
        let string = |s: &str| RestrictedExpression::new_string(s.to_owned());
        let principal = uid(&self.agent, AGENT_ID);
        let tags = RestrictedExpression::new_set(TAGS.iter().map(|t| string(t)));
        let agent = Entity::new(
            principal.clone(),
            HashMap::from([("tags".to_owned(), tags)]),
            HashSet::new(),
        )
        .expect("agent entity");
        let resource = uid(&self.resource, text);
        let mut attrs = HashMap::from([("text".to_owned(), string(text))]);
        if let Some(line) = line {
            attrs.insert("line".to_owned(), string(line));
        }
        let target = Entity::new(resource.clone(), attrs, HashSet::new()).expect("resource");
        let entities = Entities::from_entities([agent, target], None).expect("entities");
        let request = CedarRequest::new(
            principal,
            uid(&self.action, action),
            resource,
            Context::empty(),
            None,
        )
        .expect("request");
        Prebuilt { request, entities }
    }

    /// Builds ahead what [`Cedar::decide`] builds per call.
    pub fn prebuild(&self, item: &Item) -> Prebuilt {
        self.build(&item.action, &item.resource, shell_line(item))
    }

    /// `is_authorized` alone.
    pub fn authorize(&self, p: &Prebuilt) -> bool {
        self.authorizer
            .is_authorized(&p.request, &self.policies, &p.entities)
            .decision()
            == Decision::Allow
    }

    /// One decision as a host makes it: build, then authorize; a shell line is one
    /// resource (Cedar has no shell splitting).
    pub fn decide(&self, item: &Item) -> bool {
        self.authorize(&self.build(&item.action, &item.resource, shell_line(item)))
    }

    /// As [`Cedar::decide`], but a shell line is split by the host and every part must be
    /// allowed (each part is `text`, the whole line `line`); stops at the first denied part.
    pub fn decide_per_part(&self, item: &Item) -> bool {
        match shell_line(item) {
            Some(line) => naive_parts(line)
                .all(|part| self.authorize(&self.build(&item.action, part, Some(line)))),
            None => self.decide(item),
        }
    }
}

/// The whole command line of an `execute:shell` request.
fn shell_line(item: &Item) -> Option<&str> {
    (item.action == "execute:shell").then_some(item.resource.as_str())
}

/// The commands of a shell line as a host without a shell parser would find them: split
/// at `;`, `&`, `|` and newlines, leading `NAME=value` words dropped. No quoting, no
/// subshells, no `sh -c`: enough for this mix, not a sandbox boundary (MeshGuard's
/// splitter is a real parser; its cost is inside the `meshguard` figure).
pub fn naive_parts(line: &str) -> impl Iterator<Item = &str> {
    line.split(['\n', ';', '&', '|'])
        .map(|s| drop_assignments(s.trim()))
        .filter(|s| !s.is_empty())
}

fn drop_assignments(mut s: &str) -> &str {
    while let Some((word, rest)) = s.split_once(' ') {
        let assignment = word.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric())
        });
        if !assignment {
            break;
        }
        s = rest.trim_start();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_split() {
        let parts: Vec<_> =
            naive_parts("RUST_LOG=debug cargo test && git diff | tail -5; ls").collect();
        assert_eq!(parts, ["cargo test", "git diff", "tail -5", "ls"]);
    }

    #[test]
    fn both_engines_decide_the_mix() {
        let (set, cedar) = (meshguard_set(), Cedar::default());
        for item in mix() {
            let m = meshguard_allows(&set, &meshguard_request(&item));
            let c = cedar.decide(&item);
            assert_eq!(c, cedar.authorize(&cedar.prebuild(&item)));
            // Off the shell, the translation must agree exactly.
            if item.action != "execute:shell" {
                assert_eq!(m, c, "{item:?}");
            }
        }
    }
}
