//! Where things are in policy text.
//!
//! Every diagnostic points at a [`Span`]: 1-based lines and columns counted in Unicode
//! scalar values, which is what editors and terminals show. Bindings that need UTF-16
//! columns (JavaScript) convert at their boundary.

use serde::{Deserialize, Serialize};

/// A position in a source text (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct Pos {
    /// Line, counting from 1.
    pub line: u32,
    /// Column, counting from 1, in characters.
    pub column: u32,
}

/// A range of source text, from `start` (inclusive) to `end` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Span {
    /// First character of the range.
    pub start: Pos,
    /// Just past the last character of the range.
    pub end: Pos,
}

impl Span {
    /// A zero-width span at `pos`.
    pub fn at(pos: Pos) -> Span {
        Span {
            start: pos,
            end: pos,
        }
    }

    /// The span at the very start of a text, for problems that concern the whole file.
    pub fn file_start() -> Span {
        Span::at(Pos { line: 1, column: 1 })
    }
}

/// The text formats a policy file can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// YAML 1.2; one file may hold several documents separated by `---`.
    Yaml,
    /// JSON; one policy per file.
    Json,
}

impl Format {
    /// Picks the format from a file name: `.json` is JSON, everything else YAML.
    pub fn from_name(name: &str) -> Format {
        if name.to_ascii_lowercase().ends_with(".json") {
            Format::Json
        } else {
            Format::Yaml
        }
    }
}

/// Whether a file found in a policy directory is a policy file: `.yaml`, `.yml` or
/// `.json`, in any letter case (`X.YAML` too), and not hidden (a name starting with `.`:
/// editors' lock and temporary files such as `.#x.yaml`). Every host that scans a
/// directory asks this one function, so the CLI and the gateway load the same set.
/// Takes the file name, not a path: directories given outright are the host's business.
pub fn is_policy_file_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !name.starts_with('.')
        && [".yaml", ".yml", ".json"]
            .iter()
            .any(|e| lower.ends_with(e))
}

/// One policy text and the name diagnostics refer to it by (usually its file path).
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// File name or label shown in diagnostics; also decides the format by extension.
    pub name: &'a str,
    /// The policy text.
    pub text: &'a str,
}

impl<'a> Source<'a> {
    /// A source whose format follows from its name.
    pub fn new(name: &'a str, text: &'a str) -> Self {
        Source { name, text }
    }

    /// The format, chosen by file extension.
    pub fn format(&self) -> Format {
        Format::from_name(self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::is_policy_file_name;

    #[test]
    fn policy_file_names() {
        for yes in ["a.yaml", "a.yml", "a.json", "X.YAML", "b.Json", "10-x.yaml"] {
            assert!(is_policy_file_name(yes), "{yes}");
        }
        for no in [
            ".hidden.yaml",
            ".#a.yaml",
            "a.yaml.swp",
            "a.yaml~",
            "a.txt",
            "yaml",
            ".yaml",
        ] {
            assert!(!is_policy_file_name(no), "{no}");
        }
    }
}
