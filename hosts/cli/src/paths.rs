//! Paths as policies see them: inside the workspace, relative (`./src/main.rs`); outside
//! it, absolute (`/etc/passwd`).
//!
//! Claude Code's tools, and the MCP server's callers, name files by absolute path, while
//! the seed policies speak of the workspace as `./**` (`read:file` on `./**` is allowed,
//! `write:file` on `./src/**`). So a path under the workspace root (Claude Code's `cwd`, the
//! MCP server's `--root`) is rewritten as `./` plus the rest, after `.`/`..` and `//` are
//! resolved lexically by the core's own canonicaliser (so `/work/app/../../etc/passwd`
//! is outside, and stays absolute). Symbolic links are not followed: the policy sees the
//! path that was asked for.
//!
//! The rewrite must never let a path dodge a restricting rule written for its absolute
//! spelling (`/etc/**` when the workspace is `/etc`), so callers also decide the absolute
//! form and let a deny or approval *rule* that matches it win; see [`stricter`].

use meshguard_core::{Decision, Effect, canonicalize};

/// A path relative to `root` when it lies under it (`./…`, or `./` for the root
/// itself), else its canonical absolute form. Relative `path`s are taken from `root`.
/// `~` paths and `root`s that are not absolute are left to the core as written.
pub fn workspace_relative(path: &str, root: &str) -> String {
    let absolute = absolute(path, root);
    if !absolute.starts_with('/') || !root.starts_with('/') {
        return absolute;
    }
    let root = canonicalize(root);
    let root = root.trim_end_matches('/');
    if absolute == root || (root.is_empty() && absolute == "/") {
        return "./".to_owned();
    }
    match absolute
        .strip_prefix(root)
        .and_then(|r| r.strip_prefix('/'))
    {
        Some(rest) => format!("./{rest}"),
        None => absolute,
    }
}

/// The canonical absolute form of `path` (taken from `root` when relative); `~` paths
/// as written.
pub fn absolute(path: &str, root: &str) -> String {
    if path.starts_with('/') || path.starts_with('~') || !root.starts_with('/') {
        return canonicalize(path).into_owned();
    }
    let joined = format!("{}/{path}", root.trim_end_matches('/'));
    canonicalize(&joined).into_owned()
}

/// `relative`, unless `absolute` was decided by an explicit deny or approval rule that
/// outranks it: the absolute spelling may only make the answer stricter.
pub fn stricter(relative: Decision, absolute: Decision) -> Decision {
    let explicit = matches!(
        absolute.origin,
        meshguard_core::Origin::Rule | meshguard_core::Origin::HumanInTheLoop
    );
    if explicit && rank(absolute.effect) > rank(relative.effect) {
        absolute
    } else {
        relative
    }
}

fn rank(effect: Effect) -> u8 {
    match effect {
        Effect::Allow => 0,
        Effect::RequireApproval => 1,
        Effect::Deny => 2,
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
pub fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_the_root_becomes_relative() {
        let root = "/home/dev/app";
        assert_eq!(
            workspace_relative("/home/dev/app/src/main.rs", root),
            "./src/main.rs"
        );
        assert_eq!(workspace_relative("/home/dev/app", root), "./");
        assert_eq!(workspace_relative("/home/dev/app/", root), "./");
        assert_eq!(workspace_relative("src/lib.rs", root), "./src/lib.rs");
        assert_eq!(workspace_relative("./.env", "/home/dev/app/"), "./.env");
    }

    #[test]
    fn outside_the_root_stays_absolute_and_canonical() {
        let root = "/home/dev/app";
        assert_eq!(workspace_relative("/etc/passwd", root), "/etc/passwd");
        assert_eq!(
            workspace_relative("/home/dev/app/../../../etc/shadow", root),
            "/etc/shadow"
        );
        assert_eq!(
            workspace_relative("/home/dev/application/x", root),
            "/home/dev/application/x"
        );
        assert_eq!(workspace_relative("../other/x", root), "/home/dev/other/x");
        assert_eq!(workspace_relative("~/.ssh/id_rsa", root), "~/.ssh/id_rsa");
    }

    #[test]
    fn root_of_the_filesystem() {
        assert_eq!(workspace_relative("/etc/passwd", "/"), "./etc/passwd");
        assert_eq!(absolute("etc/passwd", "/"), "/etc/passwd");
    }

    #[test]
    fn truncates_on_a_character_boundary() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("aé", 2), "a");
        assert_eq!(truncate("aé", 3), "aé");
    }
}
